// Large buffers (kernels/large_pages.hpp): 2 MiB aligned from 2 MiB on, 64-byte aligned below,
// usable to their last byte, and the same through AlignedBuffer and LargeVector.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "aligned_buffer.hpp"
#include "large_pages.hpp"

using namespace attn;

namespace {
std::uintptr_t address(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }
}  // namespace

TEST_CASE("large_pages: alignment follows the size, every byte is writable") {
  for (std::size_t bytes : {std::size_t{1}, std::size_t{64}, kHugePageBytes - 1, kHugePageBytes, 3 * kHugePageBytes + 5}) {
    void* p = allocate_large(bytes);
    const std::size_t align = bytes >= kHugePageBytes ? kHugePageBytes : 64;
    CHECK(address(p) % align == 0);
    std::memset(p, 0xA5, bytes);
    CHECK(static_cast<unsigned char*>(p)[bytes - 1] == 0xA5);
    std::free(p);
  }
}

TEST_CASE("large_pages: AlignedBuffer and LargeVector of 2 MiB and more are huge-page aligned") {
  AlignedBuffer small(16), big(kHugePageBytes / sizeof(float));
  CHECK(address(small.data()) % 64 == 0);
  CHECK(address(big.data()) % kHugePageBytes == 0);
  LargeVector<float> v(kHugePageBytes / sizeof(float) + 1, 1.5f);
  CHECK(address(v.data()) % kHugePageBytes == 0);
  CHECK(v.back() == 1.5f);  // value-initialised like any std::vector
}
