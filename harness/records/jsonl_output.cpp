#include "jsonl_output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "errors.hpp"
#include "input_file.hpp"
#include "jsonl_reader.hpp"
#include "output_file.hpp"

namespace attn {

namespace {
[[noreturn]] void fail(const std::string& what, const std::string& path, int err) {
  throw UserError("cannot " + what + " --out " + path + ": " + std::strerror(err));
}

[[noreturn]] void short_read(const std::string& path, ssize_t n) {
  if (n < 0) fail("read", path, errno);
  throw UserError("cannot read --out " + path + ": it shrank while being read (another writer?)");
}

// Size of the file up to and including its last '\n' (0 if it has none).
off_t complete_prefix(int fd, off_t size, const std::string& path) {
  char buf[4096];
  off_t end = size;
  while (end > 0) {
    const off_t start = end > static_cast<off_t>(sizeof buf) ? end - static_cast<off_t>(sizeof buf) : 0;
    const ssize_t n = pread(fd, buf, static_cast<size_t>(end - start), start);
    if (n != end - start) short_read(path, n);
    for (ssize_t i = n - 1; i >= 0; --i)
      if (buf[i] == '\n') return start + i + 1;
    end = start;
  }
  return 0;
}

bool is_whole_record(const std::string& line) {
  try {
    return json::parse(line).kind == json::Value::Kind::Object;
  } catch (const UserError&) {
    return false;
  }
}
}  // namespace

JsonlOutput::JsonlOutput(const std::string& path) : path_(path) {
  const std::string target = check_output_target(path);
  // O_NONBLOCK: should the path have become a FIFO since the check, open() must not wait.
  fd_ = ::open(target.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK, 0644);
  if (fd_ < 0) fail("open", path, errno);
  struct stat st{};
  if (fstat(fd_, &st) != 0) fail("stat", path, errno);
  if (!S_ISREG(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    throw UserError("--out " + path + " is " + file_kind_name(st.st_mode) + ", not a regular file");
  }
  (void)::fcntl(fd_, F_SETFL, O_APPEND);  // back to blocking writes (O_NONBLOCK was for open only)
  repair_last_line(st.st_size);
}

void JsonlOutput::repair_last_line(off_t size) {
  const off_t keep = complete_prefix(fd_, size, path_);
  if (keep == size) return;
  // A whole record that lacks only its newline is kept (it counted as finished for --resume).
  const off_t tail = size - keep;
  if (tail <= static_cast<off_t>(kMaxJsonlLineBytes)) {
    std::string line(static_cast<std::size_t>(tail), '\0');
    const ssize_t n = pread(fd_, &line[0], line.size(), keep);
    if (n != tail) short_read(path_, n);
    if (is_whole_record(line)) {
      write_all(fd_, "\n", 1, "--out " + path_);
      if (fdatasync(fd_) != 0) fail("sync", path_, errno);
      repair_ = Repair::newline_added;
      return;
    }
  }
  if (ftruncate(fd_, keep) != 0) fail("repair", path_, errno);
  repair_ = Repair::partial_line_dropped;
}

JsonlOutput::~JsonlOutput() {
  if (fd_ >= 0) ::close(fd_);
}

void JsonlOutput::append(const std::string& line) {
  const std::string bytes = line + "\n";
  struct stat st{};
  if (fstat(fd_, &st) != 0) fail("stat", path_, errno);
  try {
    write_all(fd_, bytes.data(), bytes.size(), "--out " + path_);  // one write() unless the disk is full
  } catch (const UserError&) {
    (void)!ftruncate(fd_, st.st_size);  // never leave half a line behind
    throw;
  }
  if (fdatasync(fd_) != 0) fail("sync", path_, errno);
}

}  // namespace attn
