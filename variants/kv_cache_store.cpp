#include "kv_cache_store.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "precision.hpp"

namespace attn {

static_assert(kInt8Rows == kTileK, "the decode kernel applies one int8 K scale per key tile");

uint16_t bf16_bits(float x) {
  const float r = round_to_bf16(x);
  uint32_t bits;
  std::memcpy(&bits, &r, 4);
  return static_cast<uint16_t>(bits >> 16);
}

uint16_t f16_bits(float x) {
  const float r = round_to_f16(x);  // exactly a half: the conversion below only drops zero bits
  uint32_t bits;
  std::memcpy(&bits, &r, 4);
  const uint32_t sign = (bits >> 16) & 0x8000u, a = bits & 0x7FFFFFFFu;
  if (a >= 0x7F800000u) return static_cast<uint16_t>(sign | 0x7C00u);                 // inf (overflow)
  if (a < 0x38800000u) return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::abs(r) * 0x1p24f));  // subnormal: steps of 2^-24
  return static_cast<uint16_t>(sign | (((a >> 23) - 112) << 10) | ((a >> 13) & 0x3FFu));
}

namespace {
long key_tiles(const Problem& p) { return (p.Nk + kTileK - 1) / kTileK; }
// Elements of the tile-transposed K: whole tiles.
std::size_t k_elems(const Problem& p) {
  return static_cast<std::size_t>(p.B) * p.Hkv * key_tiles(p) * kv_cache_k_tile_elems(p.dtype, p.D);
}
// Element (key j, dim d) of one head's tile-transposed K.
std::size_t k_index(DType dtype, long j, int d, int D) {
  return static_cast<std::size_t>(j / kTileK * kv_cache_k_tile_elems(dtype, D) +
                                  kv_cache_k_tile_offset(dtype, static_cast<int>(j % kTileK), d));
}
}  // namespace

double KvCacheStore::bytes(const Problem& p) {
  const double k = static_cast<double>(k_elems(p)), v = static_cast<double>(p.kv_elems());
  const double heads = static_cast<double>(p.B) * p.Hkv;
  if (p.dtype == DType::int8) return k + v + sizeof(float) * heads * (key_tiles(p) + p.D);
  return sizeof(uint16_t) * (k + v);
}

long KvCacheStore::k_offset(DType dtype, long j, int d, int D) { return static_cast<long>(k_index(dtype, j, d, D)); }

KvCacheStore::KvCacheStore(const Problem& p, const Tensors& t) {
  const std::size_t n = p.kv_elems();
  const int D = p.D;
  const long heads = static_cast<long>(p.B) * p.Hkv, blocks = key_tiles(p);
  const std::size_t k_head = static_cast<std::size_t>(blocks) * kv_cache_k_tile_elems(p.dtype, D);  // per head
  view.dtype = p.dtype;
  if (p.dtype == DType::bf16 || p.dtype == DType::f16) {
    const auto bits = p.dtype == DType::bf16 ? bf16_bits : f16_bits;
    k16.assign(k_elems(p), 0), v16.resize(n);  // bits 0: the zero keys past Nk
#pragma omp parallel for schedule(static)
    for (long head = 0; head < heads; ++head)
      for (long j = 0; j < p.Nk; ++j)
        for (int d = 0; d < D; ++d) {
          const std::size_t i = (static_cast<std::size_t>(head) * p.Nk + j) * D + d;
          k16[head * k_head + k_index(p.dtype, j, d, D)] = bits(t.k[i]);
          v16[i] = bits(t.v[i]);
        }
    view.k = k16.data(), view.v = v16.data();
    return;
  }
  if (p.dtype != DType::int8) throw std::logic_error("KvCacheStore: no narrow cache for f32");
  k8.assign(k_elems(p), 0), v8.resize(n), k_scale.resize(heads * blocks), v_scale.resize(heads * D);
#pragma omp parallel
  {
    std::vector<float> mean(D), smooth(static_cast<std::size_t>(kTileK) * D), column(p.Nk);
#pragma omp for schedule(static)
    for (long head = 0; head < heads; ++head) {
      const float* k = t.k + head * p.Nk * D;
      const float* v = t.v + head * p.Nk * D;
      int8_t* k8h = k8.data() + head * k_head;
      int8_t* v8h = v8.data() + head * p.Nk * D;
      // K: smoothed, then one scale per block of kTileK keys (quantize_qk_int8's values).
      key_means(k, p.valid_k(static_cast<int>(head / p.Hkv)), D, mean.data());
      for (long b = 0; b < blocks; ++b) {
        const long rows = std::min<long>(kTileK, p.Nk - b * kTileK), count = rows * D;
        for (long j = 0; j < rows; ++j)
          for (int d = 0; d < D; ++d) smooth[j * D + d] = k[(b * kTileK + j) * D + d] - mean[d];
        k_scale[head * blocks + b] = int8_codes(smooth.data(), count, 1, smooth.data());
        for (long j = 0; j < rows; ++j)
          for (int d = 0; d < D; ++d) k8h[k_index(p.dtype, b * kTileK + j, d, D)] = static_cast<int8_t>(smooth[j * D + d]);
      }
      // V: one scale per channel over the keys (store_inputs' values).
      for (int d = 0; d < D; ++d) {
        for (long j = 0; j < p.Nk; ++j) column[j] = v[j * D + d];
        v_scale[head * D + d] = int8_codes(column.data(), p.Nk, 1, column.data());
        for (long j = 0; j < p.Nk; ++j) v8h[j * D + d] = static_cast<int8_t>(column[j]);
      }
    }
  }
  view.k = k8.data(), view.v = v8.data(), view.k_scale = k_scale.data(), view.v_scale = v_scale.data();
}

}  // namespace attn
