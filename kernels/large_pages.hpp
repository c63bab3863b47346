// Memory for tensors and workspaces: buffers of 2 MiB or more are 2 MiB aligned and advised as
// transparent huge pages (madvise MADV_HUGEPAGE), as NumPy and PyTorch do for large arrays.
// Why: the flash engine's packed K/V tiles of one head and the decode path's KV streams span
// megabytes, and 2 MiB pages keep them in a few TLB entries. The advice is best effort: the kernel
// may not grant huge pages (THP "never"), and then nothing but the alignment changes.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <new>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace attn {

constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

// 64-byte aligned memory for `bytes` (> 0); 2 MiB aligned and advised as huge pages from
// kHugePageBytes on. Free with std::free. Throws std::bad_alloc.
inline void* allocate_large(std::size_t bytes) {
  if (bytes == 0) bytes = 64;
  const bool huge = bytes >= kHugePageBytes;
  const std::size_t align = huge ? kHugePageBytes : 64;
  const std::size_t rounded = (bytes + align - 1) / align * align;
  void* p = std::aligned_alloc(align, rounded);
  if (!p) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (huge) madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure leaves 4 KiB pages
#endif
  return p;
}

// std::vector storage through allocate_large (value-initialises like any std::vector).
template <class T>
struct LargePageAllocator {
  using value_type = T;
  LargePageAllocator() = default;
  template <class U>
  LargePageAllocator(const LargePageAllocator<U>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(allocate_large(n * sizeof(T))); }
  void deallocate(T* p, std::size_t) { std::free(p); }
  template <class U>
  bool operator==(const LargePageAllocator<U>&) const { return true; }
  template <class U>
  bool operator!=(const LargePageAllocator<U>&) const { return false; }
};

template <class T>
using LargeVector = std::vector<T, LargePageAllocator<T>>;

}  // namespace attn
