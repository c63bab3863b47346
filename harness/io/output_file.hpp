// The one way attnbench writes output files (run --out/--weights, mask --out/--png,
// table --out, sweep --out). A target is judged before anything is computed:
//   - it must be a regular file or not exist yet: a directory, device, FIFO or socket is
//     refused untouched (`--out /dev/null` as root must not turn /dev/null into a file);
//   - a symbolic link is followed and its target judged and replaced; the link stays a link.
//     A dangling link is refused (like GNU cp), so no file appears somewhere unexpected;
//   - an existing file without write permission (for this user, or for anyone: root passes
//     access() checks) is refused rather than replaced;
//   - no output may be an input or another output of the same command.
// Whole files are written to a temporary file beside the target (O_EXCL, fsync'ed) and renamed
// over it; SIGINT/SIGTERM/SIGHUP remove the temporary file (temp_cleanup.hpp).
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace attn {

// A path with the option that named it, for messages: {"--out", "o.npy"}.
struct NamedPath {
  std::string flag;
  std::string path;
};

// Checks one output target as above; returns the path to replace (`path` itself, or what a
// symbolic link resolves to). Throws UserError naming the path and what is wrong with it.
std::string check_output_target(const std::string& path);

// Every non-empty output checked by check_output_target, then none the same file (by device
// and inode, or by resolved directory and name if it does not exist yet) as another output or
// an input. Empty paths are skipped (options not given).
void check_outputs(const std::vector<NamedPath>& outputs, const std::vector<NamedPath>& inputs);

// write() until all n bytes are out; throws UserError "cannot write NAME: <strerror>" with the
// errno of the write that failed.
void write_all(int fd, const char* data, std::size_t n, const std::string& name);

// A new file that replaces its target only when committed.
class AtomicFile {
 public:
  // Checks the target (check_output_target) and creates the temporary file.
  explicit AtomicFile(const std::string& path);
  ~AtomicFile();  // not committed: the temporary file is removed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const char* data, std::size_t n);
  void write(const std::string& bytes) { write(bytes.data(), bytes.size()); }
  // fsync, close and rename over the target (readers see the old file or the whole new one).
  void commit();
  const std::string& temp_path() const { return temp_; }

 private:
  void discard();
  std::string path_, target_, temp_;
  int fd_ = -1;
  int slot_ = -1;
  bool committed_ = false;
};

// An AtomicFile holding `bytes`.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace attn
