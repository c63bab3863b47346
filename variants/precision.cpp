#include "precision.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace attn {

float round_to_bf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  bits = (bits + 0x7FFFu + ((bits >> 16) & 1u)) & 0xFFFF0000u;
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

// By bits, not through _Float16 (clang 14, the fuzz build's compiler, has no x86 _Float16).
float round_to_f16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  const uint32_t sign = bits & 0x80000000u;
  const float a = std::abs(x);
  float r;
  if (!(a < 65520.0f)) {
    r = a >= 65520.0f ? INFINITY : a;  // past the largest half (65504) and its rounding range; NaN stays
  } else if (a < 0x1p-14f) {
    r = std::nearbyint(a * 0x1p24f) * 0x1p-24f;  // subnormal halves: steps of 2^-24, ties to even
  } else {
    uint32_t m;
    std::memcpy(&m, &a, 4);
    m = (m + 0x0FFFu + ((m >> 13) & 1u)) & ~0x1FFFu;  // 10 mantissa bits, ties to even
    std::memcpy(&r, &m, 4);
  }
  uint32_t out;
  std::memcpy(&out, &r, 4);
  out |= sign;
  std::memcpy(&r, &out, 4);
  return r;
}

namespace {
// x[i] = round(x[i] / s) * s over n values, s = max|x| / 127 (all zeros stay zeros).
void quantize_block(const float* in, long n, float* out) {
  float amax = 0;
  for (long i = 0; i < n; ++i) amax = std::max(amax, std::abs(in[i]));
  if (amax == 0) {
    std::fill(out, out + n, 0.0f);
    return;
  }
  const float s = amax / 127.0f, inv = 127.0f / amax;
  for (long i = 0; i < n; ++i) out[i] = std::nearbyint(in[i] * inv) * s;
}
}  // namespace

StoredInputs store_inputs(const Problem& p, const Tensors& t) {
  StoredInputs s;
  s.view = t;
  if (p.dtype == DType::bf16 || p.dtype == DType::f16) {
    const auto round = p.dtype == DType::bf16 ? round_to_bf16 : round_to_f16;
    s.q.resize(p.q_elems()), s.k.resize(p.kv_elems()), s.v.resize(p.kv_elems());
    std::transform(t.q, t.q + p.q_elems(), s.q.begin(), round);
    std::transform(t.k, t.k + p.kv_elems(), s.k.begin(), round);
    std::transform(t.v, t.v + p.kv_elems(), s.v.begin(), round);
    s.view = {s.q.data(), s.k.data(), s.v.data()};
  } else if (p.dtype == DType::int8) {
    s.v.assign(t.v, t.v + p.kv_elems());
    s.view.v = s.v.data();
    // V per channel: one scale per (batch, kv head, channel) over the keys.
    const long heads = static_cast<long>(p.B) * p.Hkv;
#pragma omp parallel for schedule(static)
    for (long hd = 0; hd < heads * p.D; ++hd) {
      const long head = hd / p.D, d = hd % p.D;
      float* v = s.v.data() + head * p.Nk * p.D + d;
      float amax = 0;
      for (long j = 0; j < p.Nk; ++j) amax = std::max(amax, std::abs(v[j * p.D]));
      if (amax == 0) continue;
      const float sc = amax / 127.0f, inv = 127.0f / amax;
      for (long j = 0; j < p.Nk; ++j) v[j * p.D] = std::nearbyint(v[j * p.D] * inv) * sc;
    }
  }
  return s;
}

void quantize_qk_int8(const Problem& p, const Tensors& t, float* q_out, float* k_out) {
  const int D = p.D;
  const long q_heads = static_cast<long>(p.B) * p.H, kv_heads = static_cast<long>(p.B) * p.Hkv;
  const long q_blocks = (p.Nq + kInt8Block - 1) / kInt8Block;
#pragma omp parallel
  {
    std::vector<float> smooth(static_cast<std::size_t>(kInt8Block) * D), mean(D);
#pragma omp for schedule(static)
    for (long task = 0; task < q_heads * q_blocks; ++task) {
      const long head = task / q_blocks, r0 = task % q_blocks * kInt8Block;
      const long rows = std::min<long>(kInt8Block, p.Nq - r0);
      quantize_block(t.q + (head * p.Nq + r0) * D, rows * D, q_out + (head * p.Nq + r0) * D);
    }
#pragma omp for schedule(static)
    for (long head = 0; head < kv_heads; ++head) {
      const int b = static_cast<int>(head / p.Hkv);
      const long valid = p.valid_k(b);
      const float* k = t.k + head * p.Nk * D;
      std::fill(mean.begin(), mean.end(), 0.0f);
      for (long j = 0; j < valid; ++j)
        for (int d = 0; d < D; ++d) mean[d] += k[j * D + d];
      for (float& m : mean) m /= static_cast<float>(valid);
      for (long r0 = 0; r0 < p.Nk; r0 += kInt8Block) {
        const long rows = std::min<long>(kInt8Block, p.Nk - r0);
        for (long j = 0; j < rows; ++j)
          for (int d = 0; d < D; ++d) smooth[j * D + d] = k[(r0 + j) * D + d] - mean[d];
        quantize_block(smooth.data(), rows * D, k_out + (head * p.Nk + r0) * D);
      }
    }
  }
}

}  // namespace attn
