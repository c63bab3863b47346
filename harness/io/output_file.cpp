#include "output_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "errors.hpp"
#include "input_file.hpp"
#include "temp_cleanup.hpp"

namespace attn {

namespace {

std::string dir_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// The directory a new file goes into must exist and be writable.
void check_directory(const std::string& name, const std::string& target) {
  const std::string dir = dir_of(target);
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) throw UserError(name + ": cannot write (directory " + dir + " does not exist)");
    throw UserError(name + ": cannot write in directory " + dir + " (" + std::strerror(err) + ")");
  }
  if (!S_ISDIR(st.st_mode)) throw UserError(name + ": cannot write (" + dir + " is not a directory)");
  if (::access(dir.c_str(), W_OK) != 0) {
    const int err = errno;
    throw UserError(name + ": cannot write (directory " + dir + " is not writable: " + std::strerror(err) + ")");
  }
}

// Who a path is: its inode if it exists, else its resolved directory and name, so "o.npy" and
// "./o.npy" are one file before either exists.
std::string identity(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) == 0)
    return "inode " + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  char* dir = ::realpath(dir_of(path).c_str(), nullptr);
  if (!dir) return "path " + path;
  const std::string id = "path " + std::string(dir) + "/" + base_of(path);
  std::free(dir);
  return id;
}

std::string temp_name_for(const std::string& target) {
  static std::atomic<unsigned> counter{0};
  const std::string unique = std::to_string(::getpid()) + "." + std::to_string(counter++);
  // A long name would overflow NAME_MAX with the suffix: fall back to a short hidden one.
  if (base_of(target).size() + 32 > NAME_MAX) return dir_of(target) + "/.attnbench." + unique + ".tmp";
  return target + ".tmp." + unique;
}

}  // namespace

std::string check_output_target(const std::string& path) {
  if (path.empty()) throw UserError("output path is empty");
  if (path.back() == '/') throw UserError(path + ": names a directory, not a file");
  std::string target = path, name = path;
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    // Write through the link (it keeps pointing at the new file), never replace the link itself.
    char* real = ::realpath(path.c_str(), nullptr);
    if (!real) {
      const int err = errno;
      if (err == ENOENT)
        throw UserError(path + ": is a dangling symbolic link (its target does not exist); not writing through it");
      throw UserError(path + ": cannot resolve the symbolic link (" + std::strerror(err) + ")");
    }
    target = real;
    std::free(real);
    name = path + " (-> " + target + ")";
  }
  if (::lstat(target.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode))
      throw UserError(name + ": is " + file_kind_name(st.st_mode) + ", not a regular file; refusing to replace it");
    // Root passes access(W_OK) on any file, so a file nobody may write is refused by its mode too.
    if ((st.st_mode & 0222) == 0)
      throw UserError(name + ": is read-only (mode " + octal_mode(st.st_mode) + "); refusing to replace it");
    if (::access(target.c_str(), W_OK) != 0) {
      const int err = errno;
      throw UserError(name + ": is not writable (" + std::strerror(err) + "); refusing to replace it");
    }
  } else if (errno != ENOENT) {
    const int err = errno;
    throw UserError(name + ": cannot write (" + std::strerror(err) + ")");
  }
  check_directory(name, target);
  return target;
}

void check_outputs(const std::vector<NamedPath>& outputs, const std::vector<NamedPath>& inputs) {
  std::vector<std::pair<std::string, const NamedPath*>> seen;  // identity, who
  for (const NamedPath& in : inputs)
    if (!in.path.empty()) seen.emplace_back(identity(in.path), &in);
  const std::size_t n_inputs = seen.size();
  for (const NamedPath& out : outputs) {
    if (out.flag.empty() || out.path.empty()) continue;
    const std::string id = identity(check_output_target(out.path));
    for (std::size_t i = 0; i < seen.size(); ++i) {
      if (seen[i].first != id) continue;
      const NamedPath& other = *seen[i].second;
      if (i < n_inputs)
        throw UserError(out.flag + " " + out.path + " is the input " + other.flag + " " + other.path +
                        ": write the output to another file");
      throw UserError(out.flag + " " + out.path + " is the same file as " + other.flag + " " + other.path +
                      ": give each output its own file");
    }
    seen.emplace_back(id, &out);
  }
}

void write_all(int fd, const char* data, std::size_t n, const std::string& name) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, std::min<std::size_t>(n, std::size_t(1) << 30));
    if (w < 0) {
      const int err = errno;  // before anything else can change it
      if (err == EINTR) continue;
      throw UserError("cannot write " + name + ": " + std::strerror(err));
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
}

AtomicFile::AtomicFile(const std::string& path) : path_(path), target_(check_output_target(path)) {
  struct stat st{};
  const bool exists = ::stat(target_.c_str(), &st) == 0;
  const mode_t mode = exists ? (st.st_mode & 0777) : 0644;
  for (int attempt = 0;; ++attempt) {
    temp_ = temp_name_for(target_);
    // Registered before it exists, so no moment leaves it unprotected from SIGINT/SIGTERM.
    slot_ = register_temp_file(temp_);
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd_ >= 0) break;
    const int err = errno;
    unregister_temp_file(slot_);
    slot_ = -1;
    if (err == EEXIST && attempt < 100) continue;  // left by a dead process with our pid
    temp_.clear();
    throw UserError("cannot write " + path + ": cannot create a temporary file beside it (" + std::strerror(err) + ")");
  }
  if (exists) {  // the replacement keeps the old file's mode (and owner, when we may set it)
    (void)::fchmod(fd_, mode);
    if (::geteuid() == 0) (void)!::fchown(fd_, st.st_uid, st.st_gid);
  }
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::discard() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
  temp_.clear();
  unregister_temp_file(slot_);
  slot_ = -1;
}

void AtomicFile::write(const char* data, std::size_t n) {
  if (fd_ < 0) throw UserError("cannot write " + path_ + ": the file is already closed");
  write_all(fd_, data, n, path_);
}

void AtomicFile::commit() {
  if (fd_ < 0) throw UserError("cannot write " + path_ + ": the file is already closed");
  if (::fsync(fd_) != 0) {
    const int err = errno;
    throw UserError("cannot write " + path_ + ": " + std::strerror(err));
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {  // some file systems report write errors only here
    const int err = errno;
    throw UserError("cannot write " + path_ + ": " + std::strerror(err));
  }
  // The target may have changed since it was checked (e.g. replaced by a FIFO): check again.
  if (check_output_target(path_) != target_)
    throw UserError("cannot write " + path_ + ": it changed while being written (now resolves elsewhere)");
  if (::rename(temp_.c_str(), target_.c_str()) != 0) {
    const int err = errno;
    throw UserError("cannot write " + path_ + ": cannot rename the temporary file over it (" + std::strerror(err) + ")");
  }
  committed_ = true;
  unregister_temp_file(slot_);
  slot_ = -1;
  temp_.clear();
  // Make the rename itself durable; a failure here loses nothing already visible.
  const int dir = ::open(dir_of(target_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    (void)::fsync(dir);
    ::close(dir);
  }
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  AtomicFile file(path);
  file.write(bytes);
  file.commit();
}

}  // namespace attn
