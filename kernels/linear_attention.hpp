// Linear attention (SPEC.md): O[i] = phi(q_i)^T S / (phi(q_i)^T z + eps), S = sum_j phi(k_j) v_j^T,
// z = sum_j phi(k_j), written once against simd::Vec<Arch>.
//
// Non-causal: one pass over the keys builds S [M x D] and z per key/value head, then every query
// chunk is a product with S. Causal: chunks of kLinearChunk tokens. Inside a chunk a
// small masked product (phi(Q_c) phi(K_c)^T, lower triangle) times V_c; across chunks the running
// state S, z (float32) from the chunks before. All work is matrix-shaped (small_gemm.hpp), so it
// runs at SIMD speed instead of one token at a time.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "aligned_buffer.hpp"
#include "linear_attention_args.hpp"
#include "linear_features.hpp"
#include "simd.hpp"
#include "small_gemm.hpp"

namespace attn::kernels {

struct LinearDims {
  int W, Mp, Dp;
  LinearDims(const LinearAttentionArgs& a, int W_) : W(W_), Mp(padded_features(a.M, W_)), Dp((a.D + W_ - 1) / W_ * W_) {}
};

// Per-thread buffers for one chunk plus the running state.
struct LinearScratch {
  AlignedBuffer xs, phiq, phik, phikt, vc, amat, oc, s, z;
  explicit LinearScratch(const LinearAttentionArgs& a, const LinearDims& dm) {
    const std::size_t T = kLinearChunk;
    xs.resize(T * a.D);
    phiq.resize(T * dm.Mp);
    phik.resize(T * dm.Mp);
    phikt.resize(T * dm.Mp);
    vc.resize(T * dm.Dp);
    amat.resize(T * T);
    oc.resize(T * dm.Dp);
    s.resize(static_cast<std::size_t>(dm.Mp) * dm.Dp);
    z.resize(dm.Mp);
  }
  static std::size_t floats(const LinearAttentionArgs& a, const LinearDims& dm) {
    const std::size_t T = kLinearChunk;
    return T * a.D + 3 * T * dm.Mp + 2 * T * dm.Dp + T * T + static_cast<std::size_t>(dm.Mp) * (dm.Dp + 1);
  }
};

inline int linear_valid_q(const LinearAttentionArgs& a, int b) { return a.lens ? a.lens[b] : a.Nq; }
inline int linear_valid_k(const LinearAttentionArgs& a, int b) { return a.lens ? a.lens[b] : a.Nk; }

// vc [T][Dp] = rows of v (stride D), zero-padded in rows and columns.
inline void pack_value_chunk(const float* v, int rows, int D, int Dp, float* vc) {
  for (int r = 0; r < kLinearChunk; ++r) {
    float* dst = vc + static_cast<std::size_t>(r) * Dp;
    if (r < rows) {
      std::memcpy(dst, v + static_cast<long>(r) * D, sizeof(float) * D);
      std::fill(dst + D, dst + Dp, 0.0f);
    } else {
      std::fill(dst, dst + Dp, 0.0f);
    }
  }
}

// phikt [Mp][T] = phik transposed: the causal chunk's Q K^T product needs keys contiguous.
inline void transpose_key_features(int Mp, LinearScratch& ws) {
  const float* src = ws.phik.data();
  float* dst = ws.phikt.data();
  for (int m = 0; m < Mp; ++m)
    for (int t = 0; t < kLinearChunk; ++t) dst[m * kLinearChunk + t] = src[t * Mp + m];
}

// S += phi(K_c)^T V_c and z += sum of phi(K_c) rows, for `rows` keys of the chunk
// (phi(K_c)^T read in place from the row-major phik).
template <class V>
inline void update_state(const LinearDims& dm, int rows, LinearScratch& ws) {
  constexpr int W = static_cast<int>(V::size);
  gemm<V>(dm.Mp, dm.Dp, rows, ws.phik.data(), 1, ws.vc.data(), dm.Dp, ws.s.data(), dm.Dp, true, dm.Mp);
  for (int m = 0; m < dm.Mp; m += W) {
    V acc = V::load_aligned(ws.z.data() + m);
    for (int t = 0; t < rows; ++t) acc = acc + V::load_aligned(ws.phik.data() + t * dm.Mp + m);
    acc.store_aligned(ws.z.data() + m);
  }
}

// S, z = the state of keys [0, n) of one key/value head (zeroed first), a chunk at a time.
template <class V>
inline void key_state(const FeatureWork& fw, const LinearDims& dm, long kvhead, int n, const float* key_shift,
                      LinearScratch& ws) {
  const LinearAttentionArgs& a = *fw.args;
  std::fill(ws.s.data(), ws.s.data() + static_cast<std::size_t>(dm.Mp) * dm.Dp, 0.0f);
  std::fill(ws.z.data(), ws.z.data() + dm.Mp, 0.0f);
  for (int c0 = 0; c0 < n; c0 += kLinearChunk) {
    const int rows = std::min(kLinearChunk, n - c0);
    chunk_features<V>(fw, a.k + (kvhead * a.Nk + c0) * a.D, rows, ws.phik.data(), key_shift);
    pack_value_chunk(a.v + (kvhead * a.Nk + c0) * a.D, rows, a.D, dm.Dp, ws.vc.data());
    update_state<V>(dm, rows, ws);
  }
}

template <class V>
inline float dot(const float* x, const float* y, int n) {  // n: a multiple of the vector width
  constexpr int W = static_cast<int>(V::size);
  V acc(0.0f);
  for (int i = 0; i < n; i += W) acc = simd::vfma(V::load_unaligned(x + i), V::load_unaligned(y + i), acc);
  return simd::hsum(acc);
}

template <class V>
inline float row_sum(const float* x, int n) {  // n: a multiple of the vector width
  constexpr int W = static_cast<int>(V::size);
  V acc(0.0f);
  for (int i = 0; i < n; i += W) acc = acc + V::load_unaligned(x + i);
  return simd::hsum(acc);
}

// favor: per key/value head, the max exponent over its valid keys (the key stabiliser).
template <class V>
void favor_key_shifts(const LinearAttentionArgs& a, const LinearDims& dm, const float* wt, std::vector<float>& shift) {
  const int chunks = (a.Nk + kLinearChunk - 1) / kLinearChunk;
  const long heads = static_cast<long>(a.B) * a.Hkv;
  std::vector<float> chunk_max(heads * chunks, -std::numeric_limits<float>::infinity());
#pragma omp parallel
  {
    AlignedBuffer xs(static_cast<std::size_t>(kLinearChunk) * a.D), e(static_cast<std::size_t>(kLinearChunk) * dm.Mp);
    const FeatureWork fw{&a, dm.Mp, wt, xs.data()};
#pragma omp for schedule(static)
    for (long task = 0; task < heads * chunks; ++task) {
      const long head = task / chunks;
      const int c0 = static_cast<int>(task % chunks) * kLinearChunk;
      const int rows = std::min(kLinearChunk, linear_valid_k(a, static_cast<int>(head / a.Hkv)) - c0);
      if (rows <= 0) continue;
      favor_exponents<V>(fw, a.k + (head * a.Nk + c0) * a.D, rows, e.data());
      float mx = -std::numeric_limits<float>::infinity();
      for (int r = 0; r < rows; ++r) mx = std::max(mx, *std::max_element(e.data() + r * dm.Mp, e.data() + r * dm.Mp + a.M));
      chunk_max[task] = mx;
    }
  }
  shift.assign(heads, 0.0f);
  for (long head = 0; head < heads; ++head)
    shift[head] = *std::max_element(chunk_max.begin() + head * chunks, chunk_max.begin() + (head + 1) * chunks);
}

// out rows [0, rows) = oc / (phi(q) . z + extra[r] + eps), D columns.
template <class V>
inline void write_rows(const LinearAttentionArgs& a, const LinearDims& dm, const LinearScratch& ws, int rows,
                       const float* extra, float* out) {
  for (int r = 0; r < rows; ++r) {
    const float den = dot<V>(ws.phiq.data() + r * dm.Mp, ws.z.data(), dm.Mp) + (extra ? extra[r] : 0.0f) + a.eps;
    const float inv = 1.0f / den;
    const float* src = ws.oc.data() + static_cast<std::size_t>(r) * dm.Dp;
    for (int d = 0; d < a.D; ++d) out[static_cast<long>(r) * a.D + d] = src[d] * inv;
  }
}

// Causal with bottom-right alignment (SPEC): query i sits at position i + Nk - Nq and sees keys
// j <= i + Nk - Nq. Decode form (Nq < Nk): the first Nk - Nq keys are summed into a state
// once per key/value head (a plain state pass, as non-causal; every query head of a GQA group
// starts from it), then the last Nq positions run the chunked loop with their own keys. Nq > Nk: the first Nq - Nk rows see no key and are 0 (phi(q) . 0 over
// eps), the rest is the square problem. With lens Nq == Nk, so the offsets are 0.
struct CausalOffsets {
  int q0, k0, n;  // rows [0, q0) are zero; row q0 + t pairs with key k0 + t, t < n
  CausalOffsets(int nq, int nk) : q0(std::max(0, nq - nk)), k0(std::max(0, nk - nq)), n(std::min(nq, nk)) {}
};

template <class V>
void linear_causal(const LinearAttentionArgs& a, const LinearDims& dm, const float* wt, const std::vector<float>& shift) {
  constexpr int T = kLinearChunk, R = GemmBlocking<V>::R;
  const int W = dm.W, Mp = dm.Mp, Dp = dm.Dp, D = a.D, group = a.H / a.Hkv;
  const long kv_heads = static_cast<long>(a.B) * a.Hkv;
  const std::size_t state = static_cast<std::size_t>(Mp) * (Dp + 1);
  const bool prefix = a.Nk > a.Nq;  // (lens imply Nq == Nk)
  AlignedBuffer prefix_states(prefix ? kv_heads * state : 0);  // per key/value head: S [Mp][Dp] then z [Mp]
#pragma omp parallel
  {
    LinearScratch ws(a, dm);
    const FeatureWork fw{&a, Mp, wt, ws.xs.data()};
    float intra[T];
    if (prefix) {
#pragma omp for schedule(dynamic, 1)
      for (long kvhead = 0; kvhead < kv_heads; ++kvhead) {
        key_state<V>(fw, dm, kvhead, a.Nk - a.Nq, a.map == FeatureMap::favor ? &shift[kvhead] : nullptr, ws);
        std::memcpy(prefix_states.data() + kvhead * state, ws.s.data(), sizeof(float) * (state - Mp));
        std::memcpy(prefix_states.data() + kvhead * state + (state - Mp), ws.z.data(), sizeof(float) * Mp);
      }
    }
#pragma omp for schedule(dynamic, 1)
    for (long bh = 0; bh < static_cast<long>(a.B) * a.H; ++bh) {
      const int b = static_cast<int>(bh / a.H), h = static_cast<int>(bh % a.H);
      const long kvhead = static_cast<long>(b) * a.Hkv + h / group;
      const int nq = linear_valid_q(a, b);
      const CausalOffsets at(nq, linear_valid_k(a, b));
      const int n = at.n;
      const float* k = a.k + (kvhead * a.Nk + at.k0) * D;
      const float* v = a.v + (kvhead * a.Nk + at.k0) * D;
      float* o = a.o + bh * a.Nq * D;
      std::memset(o, 0, sizeof(float) * at.q0 * D);  // rows before the first key
      std::memset(o + static_cast<long>(nq) * D, 0, sizeof(float) * (a.Nq - nq) * D);
      const float* q = a.q + (bh * a.Nq + at.q0) * D;
      o += static_cast<long>(at.q0) * D;
      const float* key_shift = a.map == FeatureMap::favor ? &shift[kvhead] : nullptr;
      if (at.k0 > 0) {  // decode form: start from the state of the keys before the first position
        std::memcpy(ws.s.data(), prefix_states.data() + kvhead * state, sizeof(float) * (state - Mp));
        std::memcpy(ws.z.data(), prefix_states.data() + kvhead * state + (state - Mp), sizeof(float) * Mp);
      } else {
        std::fill(ws.s.data(), ws.s.data() + static_cast<std::size_t>(Mp) * Dp, 0.0f);
        std::fill(ws.z.data(), ws.z.data() + Mp, 0.0f);
      }
      for (int c0 = 0; c0 < n; c0 += T) {
        const int rows = std::min(T, n - c0);
        const int rows_r = (rows + R - 1) / R * R;
        chunk_features<V>(fw, q + static_cast<long>(c0) * D, rows, ws.phiq.data(), nullptr);
        chunk_features<V>(fw, k + static_cast<long>(c0) * D, rows, ws.phik.data(), key_shift);
        transpose_key_features(Mp, ws);
        pack_value_chunk(v + static_cast<long>(c0) * D, rows, D, Dp, ws.vc.data());
        // Earlier chunks through the state, then this chunk's lower triangle directly.
        gemm<V>(rows_r, Dp, a.M, ws.phiq.data(), Mp, ws.s.data(), Dp, ws.oc.data(), Dp, false);
        float* am = ws.amat.data();
        gemm_lower_n<V>(rows_r, T, a.M, ws.phiq.data(), Mp, ws.phikt.data(), T, am, T);
        for (int i = 0; i < rows_r; ++i) {
          std::fill(am + i * T + i + 1, am + i * T + T, 0.0f);
          intra[i] = row_sum<V>(am + i * T, std::min(T, (i + W) / W * W));
        }
        gemm_lower_k<V>(rows_r, Dp, am, T, ws.vc.data(), Dp, ws.oc.data(), Dp, true);
        write_rows<V>(a, dm, ws, rows, intra, o + static_cast<long>(c0) * D);
        update_state<V>(dm, rows, ws);
      }
    }
  }
}

template <class V>
void linear_noncausal(const LinearAttentionArgs& a, const LinearDims& dm, const float* wt,
                      const std::vector<float>& shift) {
  constexpr int T = kLinearChunk, R = GemmBlocking<V>::R;
  const int Mp = dm.Mp, Dp = dm.Dp, D = a.D, group = a.H / a.Hkv;
  const long kv_heads = static_cast<long>(a.B) * a.Hkv;
  const std::size_t state = static_cast<std::size_t>(Mp) * (Dp + 1);
  AlignedBuffer states(kv_heads * state);  // per key/value head: S [Mp][Dp] then z [Mp]
  const int q_chunks = (a.Nq + T - 1) / T;
#pragma omp parallel
  {
    LinearScratch ws(a, dm);
    const FeatureWork fw{&a, Mp, wt, ws.xs.data()};
#pragma omp for schedule(dynamic, 1)
    for (long kvhead = 0; kvhead < kv_heads; ++kvhead) {
      const int n = linear_valid_k(a, static_cast<int>(kvhead / a.Hkv));
      key_state<V>(fw, dm, kvhead, n, a.map == FeatureMap::favor ? &shift[kvhead] : nullptr, ws);
      std::memcpy(states.data() + kvhead * state, ws.s.data(), sizeof(float) * (state - Mp));
      std::memcpy(states.data() + kvhead * state + (state - Mp), ws.z.data(), sizeof(float) * Mp);
    }
#pragma omp for schedule(dynamic, 1)
    for (long task = 0; task < static_cast<long>(a.B) * a.H * q_chunks; ++task) {
      const long bh = task / q_chunks;
      const int c0 = static_cast<int>(task % q_chunks) * T;
      const int b = static_cast<int>(bh / a.H), h = static_cast<int>(bh % a.H);
      const long kvhead = static_cast<long>(b) * a.Hkv + h / group;
      const int chunk_rows = std::min(T, a.Nq - c0);
      const int rows = std::max(0, std::min(chunk_rows, linear_valid_q(a, b) - c0));
      float* o = a.o + (bh * a.Nq + c0) * D;
      std::memset(o + static_cast<long>(rows) * D, 0, sizeof(float) * (chunk_rows - rows) * D);
      if (rows == 0) continue;
      const float* s = states.data() + kvhead * state;
      std::memcpy(ws.z.data(), s + (state - Mp), sizeof(float) * Mp);
      chunk_features<V>(fw, a.q + (bh * a.Nq + c0) * D, rows, ws.phiq.data(), nullptr);
      gemm<V>((rows + R - 1) / R * R, Dp, a.M, ws.phiq.data(), Mp, s, Dp, ws.oc.data(), Dp, false);
      write_rows<V>(a, dm, ws, rows, nullptr, o);
    }
  }
}

// The favor projection transposed to [D][Mp] (zero past M), so features are one product.
inline void pack_favor_projection(const LinearAttentionArgs& a, int Mp, AlignedBuffer& wt) {
  wt.resize(static_cast<std::size_t>(a.D) * Mp);
  for (int d = 0; d < a.D; ++d)
    for (int m = 0; m < Mp; ++m) wt[static_cast<std::size_t>(d) * Mp + m] = m < a.M ? a.favor_w[static_cast<long>(m) * a.D + d] : 0.0f;
}

template <class Arch>
void linear_attention(const LinearAttentionArgs& a) {
  using V = simd::Vec<Arch>;
  const LinearDims dm(a, static_cast<int>(V::size));
  AlignedBuffer wt;
  std::vector<float> shift;
  if (a.map == FeatureMap::favor) {
    pack_favor_projection(a, dm.Mp, wt);
    favor_key_shifts<V>(a, dm, wt.data(), shift);
  }
  if (a.causal)
    linear_causal<V>(a, dm, wt.data(), shift);
  else
    linear_noncausal<V>(a, dm, wt.data(), shift);
}

// Extra memory linear_attention allocates: per-thread chunk scratch and state, the non-causal
// (or decode-form prefix) states of every key/value head, and for favor the packed projection
// and stabilisers.
inline std::size_t linear_attention_workspace(const LinearAttentionArgs& a, int W) {
  const LinearDims dm(a, W);
  const std::size_t heads = static_cast<std::size_t>(a.B) * a.Hkv;
  std::size_t floats = LinearScratch::floats(a, dm) * omp_get_max_threads();
  if (!a.causal || a.Nk > a.Nq) floats += heads * dm.Mp * (dm.Dp + 1);
  if (a.map == FeatureMap::favor) {
    const std::size_t chunks = (a.Nk + kLinearChunk - 1) / kLinearChunk;
    floats += static_cast<std::size_t>(a.D) * dm.Mp + heads * (chunks + 1) +
              (static_cast<std::size_t>(kLinearChunk) * (a.D + dm.Mp)) * omp_get_max_threads();
  }
  return sizeof(float) * floats;
}

}  // namespace attn::kernels
