#include "jsonl_output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "errors.hpp"
#include "record.hpp"

namespace attn {

namespace {
[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw UserError("cannot " + what + " --out " + path + ": " + std::strerror(errno));
}

// Size of the file up to and including its last '\n' (0 if it has none).
off_t complete_prefix(int fd, off_t size) {
  char buf[4096];
  off_t end = size;
  while (end > 0) {
    const off_t start = end > static_cast<off_t>(sizeof buf) ? end - static_cast<off_t>(sizeof buf) : 0;
    const ssize_t n = pread(fd, buf, static_cast<size_t>(end - start), start);
    if (n != end - start) return -1;
    for (ssize_t i = n - 1; i >= 0; --i)
      if (buf[i] == '\n') return start + i + 1;
    end = start;
  }
  return 0;
}
}  // namespace

JsonlOutput::JsonlOutput(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("open", path);
  struct stat st{};
  if (fstat(fd_, &st) != 0) fail("stat", path);
  if (!S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw UserError("--out " + path + " is not a regular file");
  }
  const off_t keep = complete_prefix(fd_, st.st_size);
  if (keep < 0) fail("read", path);
  if (keep != st.st_size) {
    if (ftruncate(fd_, keep) != 0) fail("repair", path);
    repaired_ = true;
  }
}

JsonlOutput::~JsonlOutput() {
  if (fd_ >= 0) ::close(fd_);
}

void JsonlOutput::append(const std::string& line) {
  const std::string bytes = line + "\n";
  const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
  if (n != static_cast<ssize_t>(bytes.size())) {
    // Never leave half a line behind: cut back what a short write added.
    struct stat st{};
    if (n > 0 && fstat(fd_, &st) == 0) (void)ftruncate(fd_, st.st_size - n);
    fail("write", path_);
  }
  fdatasync(fd_);
}

std::set<std::string> finished_case_ids(const std::string& path) {
  std::set<std::string> ids;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline: a partial line from a killed run
    if (json_string_field(line, "status") == "ok") ids.insert(json_string_field(line, "case_id"));
  }
  return ids;
}

}  // namespace attn
