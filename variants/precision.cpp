#include "precision.hpp"

#include "kv_cache_store.hpp"

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

float int8_codes(const float* x, long n, long stride, float* codes) {
  float amax = 0;
  for (long i = 0; i < n; ++i) amax = std::max(amax, std::abs(x[i * stride]));
  if (amax == 0) {
    for (long i = 0; i < n; ++i) codes[i * stride] = 0.0f;
    return 0.0f;
  }
  const float inv = 127.0f / amax;
  for (long i = 0; i < n; ++i) codes[i * stride] = std::nearbyint(x[i * stride] * inv);
  return amax / 127.0f;
}

void key_means(const float* k, long valid, int D, float* mean) {
  std::fill(mean, mean + D, 0.0f);
  for (long j = 0; j < valid; ++j)
    for (int d = 0; d < D; ++d) mean[d] += k[j * D + d];
  for (int d = 0; d < D; ++d) mean[d] /= static_cast<float>(valid);
}

namespace {
// x[i] = round(x[i] / s) * s over n values (stride `stride`) in place: the emulated int8 value.
void quantize_in_place(float* x, long n, long stride) {
  const float s = int8_codes(x, n, stride, x);
  for (long i = 0; i < n; ++i) x[i * stride] *= s;
}
}  // namespace

Tensors StoredInputs::tensors() const {
  Tensors t = view;
  t.cache = cache ? &cache->view : nullptr;
  return t;
}

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
    for (long hd = 0; hd < heads * p.D; ++hd)
      quantize_in_place(s.v.data() + hd / p.D * p.Nk * p.D + hd % p.D, p.Nk, p.D);
  }
  if (reads_kv_cache(p)) s.cache = std::make_shared<const KvCacheStore>(p, t);
  return s;
}

double stored_bytes(const Problem& p) {
  const double q = static_cast<double>(p.q_elems()), kv = static_cast<double>(p.kv_elems());
  const double copies = p.dtype == DType::f32 ? 0 : p.dtype == DType::int8 ? kv : q + 2 * kv;
  return sizeof(float) * copies + (reads_kv_cache(p) ? KvCacheStore::bytes(p) : 0.0);
}

void quantize_q_int8(const Problem& p, const float* q, float* q_out) {
  const long q_heads = static_cast<long>(p.B) * p.H, q_blocks = (p.Nq + kInt8Rows - 1) / kInt8Rows;
  const long D = p.D;
#pragma omp parallel for schedule(static)
  for (long task = 0; task < q_heads * q_blocks; ++task) {
    const long head = task / q_blocks, r0 = task % q_blocks * kInt8Rows;
    const long n = std::min<long>(kInt8Rows, p.Nq - r0) * D;
    float* out = q_out + (head * p.Nq + r0) * D;
    std::copy(q + (head * p.Nq + r0) * D, q + (head * p.Nq + r0) * D + n, out);
    quantize_in_place(out, n, 1);
  }
}

void quantize_qk_int8(const Problem& p, const Tensors& t, float* q_out, float* k_out) {
  quantize_q_int8(p, t.q, q_out);
  const int D = p.D;
  const long kv_heads = static_cast<long>(p.B) * p.Hkv;
#pragma omp parallel
  {
    std::vector<float> mean(D);
#pragma omp for schedule(static)
    for (long head = 0; head < kv_heads; ++head) {
      const float* k = t.k + head * p.Nk * D;
      float* out = k_out + head * p.Nk * D;
      key_means(k, p.valid_k(static_cast<int>(head / p.Hkv)), D, mean.data());
      for (long j = 0; j < p.Nk; ++j)
        for (int d = 0; d < D; ++d) out[j * D + d] = k[j * D + d] - mean[d];
      for (long r0 = 0; r0 < p.Nk; r0 += kInt8Rows)
        quantize_in_place(out + r0 * D, std::min<long>(kInt8Rows, p.Nk - r0) * D, 1);
    }
  }
}

}  // namespace attn
