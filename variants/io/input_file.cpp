#include "input_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "errors.hpp"

namespace attn {

std::string file_kind_name(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a regular file";
}

std::string format_bytes(std::size_t bytes) {
  if (bytes >= (std::size_t(1) << 30) && bytes % (std::size_t(1) << 30) == 0)
    return std::to_string(bytes >> 30) + " GiB";
  if (bytes >= (std::size_t(1) << 20) && bytes % (std::size_t(1) << 20) == 0)
    return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}

namespace {
[[noreturn]] void fail(const std::string& path, const std::string& doing, int err) {
  throw UserError(path + ": " + doing + " (" + std::strerror(err) + ")");
}

void refuse_kind(const std::string& path, const std::string& what, mode_t mode) {
  if (S_ISREG(mode) || S_ISFIFO(mode)) return;
  throw UserError(path + ": is " + file_kind_name(mode) + "; a " + what + " must be a regular file or a pipe");
}
}  // namespace

InputFile::InputFile(const std::string& path, const std::string& what) : path_(path) {
  if (path.empty()) throw UserError(what + ": the path is empty");
  struct stat st{};
  // stat first: a device is refused without being opened.
  if (::stat(path.c_str(), &st) != 0) fail(path, "cannot open for reading", errno);
  refuse_kind(path, what, st.st_mode);
  fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) fail(path, "cannot open for reading", errno);
  // Judge what was opened, not what was stat'ed: the path may have changed in between.
  if (::fstat(fd_, &st) != 0) {
    const int err = errno;
    ::close(fd_);
    fail(path, "cannot stat", err);
  }
  try {
    refuse_kind(path, what, st.st_mode);
  } catch (...) {
    ::close(fd_);
    throw;
  }
  regular_ = S_ISREG(st.st_mode);
  size_ = regular_ ? static_cast<std::size_t>(st.st_size) : 0;
  // O_NONBLOCK only kept open() from waiting for a FIFO's writer; reads may block as usual.
  const int flags = ::fcntl(fd_, F_GETFL);
  if (flags >= 0) (void)::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK);
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

void InputFile::read_up_to(std::size_t n, std::string& out) {
  // Grows in chunks: a pipe that claims much and delivers little costs little memory.
  constexpr std::size_t kChunk = std::size_t(1) << 20;
  while (n > 0) {
    const std::size_t want = std::min(n, kChunk);
    const std::size_t old = out.size();
    out.resize(old + want);
    const ssize_t got = ::read(fd_, &out[old], want);
    if (got < 0) {
      const int err = errno;
      out.resize(old);
      if (err == EINTR) continue;
      fail(path_, "read error", err);
    }
    out.resize(old + static_cast<std::size_t>(got));
    if (got == 0) return;  // end of file
    n -= static_cast<std::size_t>(got);
  }
}

std::string read_file_capped(const std::string& path, std::size_t max_bytes, const std::string& what,
                             std::size_t max_line) {
  InputFile in(path, what);
  const std::string over = path + ": " + what + " is over the " + format_bytes(max_bytes) + " limit";
  if (in.regular() && in.size() > max_bytes) throw UserError(over + " (" + std::to_string(in.size()) + " bytes)");
  std::string bytes;
  std::size_t line_start = 0, lines = 1;
  for (;;) {  // one byte more than the cap tells a file at the cap from one past it
    const std::size_t old = bytes.size();
    in.read_up_to(std::min<std::size_t>(std::size_t(1) << 20, max_bytes + 1 - old), bytes);
    if (bytes.size() > max_bytes) throw UserError(over);
    if (max_line > 0) {
      const auto too_long = [&](std::size_t end) {
        if (end - line_start > max_line)
          throw UserError(path + ":" + std::to_string(lines) + ": line is over the " + format_bytes(max_line) +
                          " limit (" + what + ")");
      };
      for (std::size_t i = old; (i = bytes.find('\n', i)) != std::string::npos; ++i) {
        too_long(i);
        line_start = i + 1, ++lines;
      }
      too_long(bytes.size());  // the line still being read
    }
    if (bytes.size() == old) return bytes;  // end of file
  }
}

}  // namespace attn
