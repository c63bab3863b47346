// Widening loads from a narrow KV cache (kernels/kv_cache.hpp): W bf16, f16 or int8 elements
// into a float32 vector, exact (every bf16, f16 and int8 value is a float32). Plain shifts and
// sign extensions, no BF16/VNNI extension, so every ISA has them; the f16 exponent rebias is a
// multiply by 2^112 where the ISA has no F16C in its flags (AVX2 and below).
//
// Only include this from kernel templates (see simd.hpp).
#pragma once
#include <cstring>
#include <type_traits>

#include "kv_cache.hpp"
#include "simd.hpp"

namespace attn::simd {

// One element, for tails.
inline float widen_one(float x) { return x; }
inline float widen_one(int8_t x) { return static_cast<float>(x); }
inline float widen_one(Bf16Bits x) {
  const uint32_t bits = static_cast<uint32_t>(x.bits) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
// Sign, then exponent and mantissa shifted into float32 place: the float is the half times
// 2^-112 (normal and subnormal halves alike), so one multiply rebiases it; an all-ones
// exponent (inf, NaN) gets float32's.
inline float widen_one(F16Bits x) {
  const uint32_t em = static_cast<uint32_t>(x.bits & 0x7FFFu) << 13;
  float f;
  std::memcpy(&f, &em, 4);
  f *= 0x1p112f;
  if ((x.bits & 0x7C00u) == 0x7C00u) {
    const uint32_t special = em | 0x7F800000u;
    std::memcpy(&f, &special, 4);
  }
  return (x.bits & 0x8000u) ? -f : f;
}

template <class T>
inline Scalar1 load_widened(const T* p, Scalar1*) {
  return Scalar1(widen_one(*p));
}

template <class A>
inline xsimd::batch<float, A> load_widened(const float* p, xsimd::batch<float, A>*) {
  return xsimd::batch<float, A>::load_unaligned(p);
}

template <class A>
inline xsimd::batch<float, A> load_widened(const Bf16Bits* p, xsimd::batch<float, A>*) {
  if constexpr (std::is_base_of<xsimd::avx512f, A>::value) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  } else if constexpr (std::is_base_of<xsimd::avx2, A>::value) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  } else {
    static_assert(std::is_base_of<xsimd::sse2, A>::value, "load_widened: no bf16 load for this arch");
    const __m128i h = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
    return _mm_castsi128_ps(_mm_unpacklo_epi16(_mm_setzero_si128(), h));  // bits into the high half
  }
}

template <class A>
inline xsimd::batch<float, A> load_widened(const int8_t* p, xsimd::batch<float, A>*) {
  if constexpr (std::is_base_of<xsimd::avx512f, A>::value) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(b));
  } else if constexpr (std::is_base_of<xsimd::avx2, A>::value) {
    const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b));
  } else {
    static_assert(std::is_base_of<xsimd::sse2, A>::value, "load_widened: no int8 load for this arch");
    int32_t four;
    std::memcpy(&four, p, 4);
    __m128i b = _mm_cvtsi32_si128(four);
    b = _mm_unpacklo_epi8(b, b);
    b = _mm_unpacklo_epi16(b, b);  // each byte now in the top byte of its lane
    return _mm_cvtepi32_ps(_mm_srai_epi32(b, 24));
  }
}

template <class A>
inline xsimd::batch<float, A> load_widened(const F16Bits* p, xsimd::batch<float, A>*) {
  if constexpr (std::is_base_of<xsimd::avx512f, A>::value) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  } else if constexpr (std::is_base_of<xsimd::avx2, A>::value) {
    // widen_one's arithmetic, 8 lanes at a time (the AVX2 build has no F16C flag).
    const __m256i h = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    const __m256i em = _mm256_slli_epi32(_mm256_and_si256(h, _mm256_set1_epi32(0x7FFF)), 13);
    __m256 f = _mm256_mul_ps(_mm256_castsi256_ps(em), _mm256_set1_ps(0x1p112f));
    const __m256i exp = _mm256_and_si256(h, _mm256_set1_epi32(0x7C00));
    const __m256i is_special = _mm256_cmpeq_epi32(exp, _mm256_set1_epi32(0x7C00));
    f = _mm256_blendv_ps(f, _mm256_castsi256_ps(_mm256_or_si256(em, _mm256_set1_epi32(0x7F800000))),
                         _mm256_castsi256_ps(is_special));
    const __m256i sign = _mm256_slli_epi32(_mm256_and_si256(h, _mm256_set1_epi32(0x8000)), 16);
    return _mm256_or_ps(f, _mm256_castsi256_ps(sign));
  } else {
    static_assert(std::is_base_of<xsimd::sse2, A>::value, "load_widened: no f16 load for this arch");
    const __m128i h = _mm_unpacklo_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)), _mm_setzero_si128());
    const __m128i em = _mm_slli_epi32(_mm_and_si128(h, _mm_set1_epi32(0x7FFF)), 13);
    const __m128 f = _mm_mul_ps(_mm_castsi128_ps(em), _mm_set1_ps(0x1p112f));
    const __m128 is_special =
        _mm_castsi128_ps(_mm_cmpeq_epi32(_mm_and_si128(h, _mm_set1_epi32(0x7C00)), _mm_set1_epi32(0x7C00)));
    const __m128 special = _mm_castsi128_ps(_mm_or_si128(em, _mm_set1_epi32(0x7F800000)));
    const __m128 value = _mm_or_ps(_mm_and_ps(is_special, special), _mm_andnot_ps(is_special, f));
    const __m128i sign = _mm_slli_epi32(_mm_and_si128(h, _mm_set1_epi32(0x8000)), 16);
    return _mm_or_ps(value, _mm_castsi128_ps(sign));
  }
}

// W elements of p as a float32 vector V (xsimd batch or Scalar1).
template <class V, class T>
inline V widen(const T* p) {
  return load_widened(p, static_cast<V*>(nullptr));
}

// Byte E of each of W words of 4 signed bytes at p (the int8 cache's K, kernels/kv_cache.hpp),
// sign-extended: shifted to the top byte, then an arithmetic shift down.
template <int E>
inline Scalar1 load_word_byte(const int8_t* p, Scalar1*) {
  return Scalar1(static_cast<float>(p[E]));
}
template <int E, class A>
inline xsimd::batch<float, A> load_word_byte(const int8_t* p, xsimd::batch<float, A>*) {
  constexpr int up = 24 - 8 * E;
  if constexpr (std::is_base_of<xsimd::avx512f, A>::value) {
    const __m512i w = _mm512_loadu_si512(p);
    return _mm512_cvtepi32_ps(_mm512_srai_epi32(up ? _mm512_slli_epi32(w, up) : w, 24));
  } else if constexpr (std::is_base_of<xsimd::avx2, A>::value) {
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    return _mm256_cvtepi32_ps(_mm256_srai_epi32(up ? _mm256_slli_epi32(w, up) : w, 24));
  } else {
    static_assert(std::is_base_of<xsimd::sse2, A>::value, "load_word_byte: no int8 load for this arch");
    const __m128i w = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm_cvtepi32_ps(_mm_srai_epi32(up ? _mm_slli_epi32(w, up) : w, 24));
  }
}

// Keys [key0, key0 + W) of dim 4 d4 + E of one key tile of a narrow cache's K
// (kernels/kv_cache.hpp). Callers walk the dims four at a time (for_each_dim_of_quad), so the
// int8 byte position is a constant.
template <class V, int E, class T>
inline V widen_key(const T* tile, int d4, int key0) {
  return widen<V>(tile + static_cast<std::size_t>(4 * d4 + E) * kTileK + key0);
}
template <class V, int E>
inline V widen_key(const int8_t* tile, int d4, int key0) {
  return load_word_byte<E>(tile + (static_cast<std::size_t>(d4) * kTileK + key0) * 4, static_cast<V*>(nullptr));
}

// f(std::integral_constant<int, E>) for E = 0..3 while 4 d4 + E < D.
template <class F>
inline void for_each_dim_of_quad(int d4, int D, F&& f) {
  f(std::integral_constant<int, 0>{});
  if (4 * d4 + 1 < D) f(std::integral_constant<int, 1>{});
  if (4 * d4 + 2 < D) f(std::integral_constant<int, 2>{});
  if (4 * d4 + 3 < D) f(std::integral_constant<int, 3>{});
}

}  // namespace attn::simd
