#include <string>
#include <vector>

#include "npy.hpp"
#include "output_file.hpp"

namespace attn {

namespace {
std::string npy_header(const std::vector<long>& shape, const char* descr) {
  std::string dims;
  for (long d : shape) dims += std::to_string(d) + ",";
  if (shape.size() > 1) dims.pop_back();  // (3,) keeps its comma, (2,3) has none
  std::string dict = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Pad so the data starts on a 64-byte boundary, ending the header with '\n'.
  const std::size_t total = ((10 + dict.size() + 1 + 63) / 64) * 64;
  dict.append(total - 10 - dict.size() - 1, ' ');
  dict.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(dict.size() & 0xff));
  out.push_back(static_cast<char>(dict.size() >> 8));
  return out + dict;
}

// Header and data straight from the caller's buffer: no second copy of a large array.
void write_npy_bytes(const std::string& path, const std::vector<long>& shape, const char* descr, const void* data,
                     std::size_t item) {
  std::size_t n = 1;
  for (long d : shape) n *= static_cast<std::size_t>(d);
  AtomicFile file(path);
  file.write(npy_header(shape, descr));
  file.write(static_cast<const char*>(data), n * item);
  file.commit();
}
}  // namespace

void write_npy(const std::string& path, const std::vector<long>& shape, const float* data) {
  write_npy_bytes(path, shape, "<f4", data, sizeof(float));
}

void write_npy_u8(const std::string& path, const std::vector<long>& shape, const uint8_t* data) {
  write_npy_bytes(path, shape, "|u1", data, 1);
}

}  // namespace attn
