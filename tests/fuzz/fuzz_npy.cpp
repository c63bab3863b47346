// libFuzzer target: the .npy reader on arbitrary bytes. Any input must either parse or throw
// attn::UserError; anything else (another exception, a sanitizer report, a hang) is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "errors.hpp"
#include "npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    const attn::NpyArray a = attn::parse_npy_floats(bytes, "fuzz");
    // A parsed array must be self-consistent.
    std::size_t n = 1;
    for (long d : a.shape) n *= static_cast<std::size_t>(d);
    if (n != a.data.size()) __builtin_trap();
  } catch (const attn::UserError&) {
  }
  try {
    const attn::NpyInts a = attn::parse_npy_ints(bytes, "fuzz");
    std::size_t n = 1;
    for (long d : a.shape) n *= static_cast<std::size_t>(d);
    if (n != a.data.size()) __builtin_trap();
  } catch (const attn::UserError&) {
  }
  return 0;
}
