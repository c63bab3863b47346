// A minimal PNG writer: 8-bit grayscale, deflate "stored" blocks (no compression library).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace attn {

// The bytes of a PNG image, `pixels` row by row (width * height bytes, 0 black .. 255 white).
std::string encode_png_gray8(int width, int height, const std::vector<uint8_t>& pixels);

uint32_t crc32(const uint8_t* data, std::size_t n, uint32_t crc = 0);
uint32_t adler32(const uint8_t* data, std::size_t n);

}  // namespace attn
