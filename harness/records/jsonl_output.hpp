// The --out JSONL file: append-only, one complete line per record written with a single
// write() and flushed to disk, so a killed sweep keeps every finished case.
#pragma once
#include <string>

namespace attn {

class JsonlOutput {
 public:
  // Opens (creating) `path` for appending, after check_output_target (a regular file or nothing,
  // not read-only; a symbolic link is followed). A last line without its newline is repaired
  // first: a whole record gets its newline, a torn one (a killed writer) is cut off.
  // Throws UserError if the file cannot be opened or repaired.
  explicit JsonlOutput(const std::string& path);
  ~JsonlOutput();
  JsonlOutput(const JsonlOutput&) = delete;
  JsonlOutput& operator=(const JsonlOutput&) = delete;
  // Appends line + '\n' in one write(), then fdatasync(). A failed write is cut back.
  void append(const std::string& line);

  enum class Repair { none, newline_added, partial_line_dropped };
  // What opening had to do to the last line.
  Repair repair() const { return repair_; }

 private:
  void repair_last_line(off_t size);
  std::string path_;
  int fd_ = -1;
  Repair repair_ = Repair::none;
};

}  // namespace attn
