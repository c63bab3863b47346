// The --out JSONL file: append-only, one complete line per record written with a single
// write() and flushed to disk, so a killed sweep keeps every finished case.
#pragma once
#include <set>
#include <string>

namespace attn {

class JsonlOutput {
 public:
  // Opens (creating) `path` for appending; a partial last line left by a killed run is cut
  // off first. Throws UserError if the file cannot be opened or repaired.
  explicit JsonlOutput(const std::string& path);
  ~JsonlOutput();
  JsonlOutput(const JsonlOutput&) = delete;
  JsonlOutput& operator=(const JsonlOutput&) = delete;
  // Appends line + '\n' in one write(), then fsync().
  void append(const std::string& line);
  // True if open() had to drop a partial last line.
  bool repaired() const { return repaired_; }

 private:
  std::string path_;
  int fd_ = -1;
  bool repaired_ = false;
};

// case_ids of the complete records with status "ok" in `path` (empty if it does not exist).
std::set<std::string> finished_case_ids(const std::string& path);

}  // namespace attn
