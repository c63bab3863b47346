#include "png.hpp"

#include <zlib.h>

#include "errors.hpp"

namespace attn {

namespace {
void put_u32_be(std::string& out, uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((x >> s) & 0xFF));
}

// One chunk: length, type, data, CRC over type and data.
void put_chunk(std::string& out, const char type[4], const std::string& data) {
  put_u32_be(out, static_cast<uint32_t>(data.size()));
  std::string body(type, 4);
  body += data;
  out += body;
  put_u32_be(out, static_cast<uint32_t>(::crc32(0, reinterpret_cast<const Bytef*>(body.data()), body.size())));
}

// A zlib stream at the best compression: a two-colour mask (long runs) shrinks about 100-fold.
std::string zlib_compressed(const std::vector<uint8_t>& raw) {
  uLongf size = compressBound(raw.size());
  std::string z(size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(z.data()), &size, raw.data(), raw.size(), Z_BEST_COMPRESSION) != Z_OK)
    throw UserError("PNG: zlib could not compress the image");
  z.resize(size);
  return z;
}
}  // namespace

std::string encode_png_gray8(int width, int height, const std::vector<uint8_t>& pixels) {
  if (width < 1 || height < 1 || pixels.size() != static_cast<std::size_t>(width) * height)
    throw UserError("PNG image size does not match its pixels");
  // Each scanline starts with its filter type: 2 ("up") stores a row as its difference from the
  // row above, so the repeated rows of a block mask become zeros.
  std::vector<uint8_t> raw;
  raw.reserve(static_cast<std::size_t>(width + 1) * height);
  for (int y = 0; y < height; ++y) {
    const uint8_t* row = pixels.data() + static_cast<std::size_t>(y) * width;
    raw.push_back(2);
    for (int x = 0; x < width; ++x) raw.push_back(static_cast<uint8_t>(row[x] - (y > 0 ? row[x - width] : 0)));
  }
  std::string png = "\x89PNG\r\n\x1a\n";
  std::string ihdr;
  put_u32_be(ihdr, static_cast<uint32_t>(width));
  put_u32_be(ihdr, static_cast<uint32_t>(height));
  ihdr += std::string("\x08\x00\x00\x00\x00", 5);  // bit depth 8, grayscale, deflate, filter 0, no interlace
  put_chunk(png, "IHDR", ihdr);
  put_chunk(png, "IDAT", zlib_compressed(raw));
  put_chunk(png, "IEND", "");
  return png;
}

}  // namespace attn
