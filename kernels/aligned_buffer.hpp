// A 64-byte aligned float buffer that is not zero-filled on resize (kernels overwrite it); from
// 2 MiB on it is huge-page aligned and advised (kernels/large_pages.hpp).
#pragma once
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>

#include "large_pages.hpp"

namespace attn {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t n) { resize(n); }
  // Contents are unspecified after a resize that grows the buffer.
  void resize(std::size_t n) {
    if (n <= capacity_) {
      size_ = n;
      return;
    }
    data_.reset(static_cast<float*>(allocate_large(n * sizeof(float))));
    size_ = capacity_ = n;
  }
  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  std::size_t size() const { return size_; }
  float& operator[](std::size_t i) { return data_.get()[i]; }
  const float& operator[](std::size_t i) const { return data_.get()[i]; }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> data_;
  std::size_t size_ = 0, capacity_ = 0;
};

}  // namespace attn
