// .npy files (NumPy format 1.0-3.0): a careful reader for user input and an atomic writer.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace attn {

struct NpyArray {
  std::vector<long> shape;
  std::vector<float> data;  // C order
  long size() const;
};

struct NpyInts {
  std::vector<long> shape;
  std::vector<long> data;
};

// Parses .npy bytes. Accepts little-endian float32 and float64 (converted to float32),
// C or Fortran order (Fortran is reordered to C). Throws UserError naming `what` and the problem.
NpyArray parse_npy_floats(const std::string& bytes, const std::string& what);
// Integer arrays (int32/int64/uint8 ...), e.g. lengths or block layouts.
NpyInts parse_npy_ints(const std::string& bytes, const std::string& what);

NpyArray read_npy_floats(const std::string& path);
NpyInts read_npy_ints(const std::string& path);

// Writes to a temporary file beside `path`, then renames it: never a partly written file.
void write_npy(const std::string& path, const std::vector<long>& shape, const float* data);
void write_npy_u8(const std::string& path, const std::vector<long>& shape, const uint8_t* data);
// Reads a whole file; throws UserError if it cannot.
std::string read_file_bytes(const std::string& path);
// Throws UserError unless `path` names a file this process can create or replace (checked
// before long computations, so an unwritable --out fails at once).
void require_writable_path(const std::string& path);
// Writes bytes atomically (temporary file + rename).
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace attn
