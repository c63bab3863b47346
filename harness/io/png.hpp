// A minimal PNG writer: 8-bit grayscale, compressed with zlib.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace attn {

// The bytes of a PNG image, `pixels` row by row (width * height bytes, 0 black .. 255 white).
std::string encode_png_gray8(int width, int height, const std::vector<uint8_t>& pixels);

}  // namespace attn
