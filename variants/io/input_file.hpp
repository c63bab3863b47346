// Reading user files in bounded amounts: every reader says how much it may take, so
// /dev/zero, a pipe that never ends or a multi-gigabyte "config" is refused instead of
// being read until memory runs out.
#pragma once
#include <sys/types.h>

#include <cstddef>
#include <string>

namespace attn {

// Documented caps (README "Reliability").
constexpr std::size_t kMaxJsonlBytes = std::size_t(1) << 30;      // a JSONL file (table, --resume)
constexpr std::size_t kMaxJsonlLineBytes = std::size_t(1) << 20;  // one JSONL record
constexpr std::size_t kMaxConfigBytes = std::size_t(1) << 20;     // sweep --config / --preset

// "a directory", "a character device", "a FIFO", ... for messages about what a path is.
std::string file_kind_name(mode_t mode);

// An open input: a regular file or a pipe. Directories, devices and sockets are refused
// before they are opened (opening some devices has side effects); a FIFO is opened without
// blocking, so one with no writer reads as empty instead of hanging.
class InputFile {
 public:
  InputFile(const std::string& path, const std::string& what);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  bool regular() const { return regular_; }
  // The size of a regular file (0 for a pipe).
  std::size_t size() const { return size_; }
  // Appends up to n more bytes to `out`, fewer only at end of file. Throws UserError on a
  // read error, naming its cause.
  void read_up_to(std::size_t n, std::string& out);

 private:
  std::string path_;
  int fd_ = -1;
  bool regular_ = false;
  std::size_t size_ = 0;
};

// The whole file, refused with one line ("PATH: WHAT is over the N limit") if it holds more than
// max_bytes; a regular file is judged by its size before anything is read. With max_line > 0, a
// line longer than that is refused as soon as it is read (a pipe of zeros stops after max_line).
std::string read_file_capped(const std::string& path, std::size_t max_bytes, const std::string& what,
                             std::size_t max_line = 0);

// "1 MiB", "1 GiB", "512 bytes": a cap in words.
std::string format_bytes(std::size_t bytes);

}  // namespace attn
