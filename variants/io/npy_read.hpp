// Reading .npy files (NumPy format 1.0-3.0) carefully: user input for `run`, block layouts for
// block_sparse. Part of the library; the atomic writer is the harness's (harness/io/npy.hpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
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

// Parses .npy bytes. Accepts little-endian float32, float64 and float16 (converted to float32;
// a half converts exactly, inf and NaN included),
// C or Fortran order (Fortran is reordered to C). Throws UserError naming `what` and the problem.
NpyArray parse_npy_floats(const std::string& bytes, const std::string& what);
// Integer arrays (int32/int64/uint8 ...), e.g. lengths or block layouts.
NpyInts parse_npy_ints(const std::string& bytes, const std::string& what);

constexpr std::size_t kNoLimit = std::numeric_limits<std::size_t>::max();

// Read a file (or pipe) in bounded steps: the header first (at most 1 MiB), then exactly the
// data it declares (+1 byte to catch trailing data), checked first against the file's size and
// the memory available; never more. `max_elements` caps what a caller accepts (block layouts).
NpyArray read_npy_floats(const std::string& path);
NpyInts read_npy_ints(const std::string& path, std::size_t max_elements = kNoLimit);

}  // namespace attn
