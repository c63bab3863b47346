// .npy files: the library's careful reader (variants/io/npy_read.hpp) and the harness's
// atomic writer.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "npy_read.hpp"

namespace attn {

// Write through output_file.hpp's AtomicFile: the target is checked (regular file or absent, not
// read-only), written to a temporary file beside it and renamed, never left partly written.
void write_npy(const std::string& path, const std::vector<long>& shape, const float* data);
void write_npy_u8(const std::string& path, const std::vector<long>& shape, const uint8_t* data);

}  // namespace attn
