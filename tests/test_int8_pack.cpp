// The int8 path's per-call quantisation micro-kernels (kernels/native/int8_pack.hpp, shared by
// int8-flash-vnni and int8-flash-amx) against variants/precision.cpp's arithmetic bit for bit:
// the channel means (key_means), the codes and scales (int8_codes on the smoothed key tile and
// on the query tile, as quantize_qk_int8 calls it), the packing (words of 4 codes per key
// column, q + 128 per query row), padding past D and past the last key, column sums. The
// end-to-end tests compare outputs, where one wrong code in thousands hides inside the bf16
// tolerance; these do not.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "aligned_buffer.hpp"
#include "precision.hpp"
#include "ukernels.hpp"

using namespace attn;

namespace {
constexpr int kRows = 64;  // a key / query tile

// Gaussian values with a per-channel offset (what smoothing removes).
std::vector<float> rows_of(long n, int D, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<std::size_t>(n) * D);
  for (long j = 0; j < n; ++j)
    for (int d = 0; d < D; ++d) x[j * D + d] = normal(rng) + 0.25f * static_cast<float>(d % 7) - 0.5f;
  return x;
}

int8_t byte_of(const uint32_t* words, std::size_t word, int e) { return static_cast<int8_t>(words[word] >> (8 * e)); }

// The VNNI path's words per row (ceil(D / 4)) and the AMX path's (whole 64-dim tiles).
std::vector<int> quads_for(int D) {
  const int D4 = (D + 3) / 4;
  return {D4, (D4 + 15) / 16 * 16};
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, 4) == 0; }
}  // namespace

TEST_CASE("int8 pack micro-kernels are listed exactly when the CPU has avx512bf16") {
  CHECK(ukernels().int8_pack.size() == (cpu_supports(Isa::avx512bf16) ? 1u : 0u));
}

TEST_CASE("int8 pack: channel means bit for bit precision.cpp's key_means, nothing written past D") {
  for (const Int8PackUkernel& uk : ukernels().int8_pack)
    for (int D : {1, 3, 16, 40, 80, 129, 256})
      for (long n : {1L, 7L, 300L}) {
        CAPTURE(uk.name);
        INFO("D=", D, " n=", n);
        const auto k = rows_of(n, D, 3);
        std::vector<float> got(D + 1, NAN), ref(D);
        got[D] = 42.0f;
        uk.means(k.data(), n, D, got.data());
        key_means(k.data(), n, D, ref.data());
        int differ = 0;
        for (int d = 0; d < D; ++d) differ += !same_bits(got[d], ref[d]);
        CHECK(differ == 0);
        CHECK(got[D] == 42.0f);
      }
}

TEST_CASE("int8 pack: key tiles hold quantize_qk_int8's codes and scale as words per key, zeros past D and kn") {
  int tiles = 0;
  for (const Int8PackUkernel& uk : ukernels().int8_pack)
    for (int D : {1, 2, 3, 5, 33, 40, 64, 80, 128, 256})
      for (int kn : {1, 17, 63, 64})
        for (int D4 : quads_for(D)) {
          CAPTURE(uk.name);
          INFO("D=", D, " kn=", kn, " D4=", D4);
          // The means over more keys than the tile, as for any tile of a head.
          const long head_keys = kn + 5;
          const auto k = rows_of(head_keys, D, 11 + D);
          std::vector<float> mean(D);
          key_means(k.data(), head_keys, D, mean.data());
          // precision.cpp's smoothing and quantisation of the tile (quantize_qk_int8's steps).
          std::vector<float> smooth(static_cast<std::size_t>(kn) * D), codes(smooth.size());
          for (int j = 0; j < kn; ++j)
            for (int d = 0; d < D; ++d) smooth[j * D + d] = k[j * D + d] - mean[d];
          const float s = int8_codes(smooth.data(), static_cast<long>(kn) * D, 1, codes.data());
          REQUIRE(s > 0.0f);

          const std::size_t words = static_cast<std::size_t>(D4 + 2) * kRows;
          AlignedBuffer out(words);
          auto* dst = reinterpret_cast<uint32_t*>(out.data());
          std::fill(dst, dst + words, 0xA5A5A5A5u);
          std::vector<int8_t> scratch(static_cast<std::size_t>(kRows) * 4 * D4, int8_t{99});  // stale bytes
          uk.keys(k.data(), mean.data(), kn, D, D4, scratch.data(), dst);

          const auto* colsum = reinterpret_cast<const int32_t*>(dst + static_cast<std::size_t>(D4) * kRows);
          const auto* sk = reinterpret_cast<const float*>(colsum + kRows);
          int wrong_codes = 0, wrong_sums = 0, wrong_scales = 0, nonzero = 0;
          for (int j = 0; j < kRows; ++j) {
            long sum = 0;
            for (int d = 0; d < 4 * D4; ++d) {
              const int want = j < kn && d < D ? static_cast<int>(codes[j * D + d]) : 0;
              wrong_codes += byte_of(dst, static_cast<std::size_t>(d / 4) * kRows + j, d % 4) != want;
              sum += want, nonzero += want != 0;
            }
            wrong_sums += colsum[j] != sum;
            wrong_scales += !same_bits(sk[j], s);
          }
          CHECK(wrong_codes == 0);
          CHECK(wrong_sums == 0);
          CHECK(wrong_scales == 0);
          CHECK(nonzero > 0);
          ++tiles;
        }
  if (cpu_supports(Isa::avx512bf16)) CHECK(tiles == 10 * 4 * 2);
}

TEST_CASE("int8 pack: query tiles hold quantize_q_int8's codes + 128 and the scale per row, 128 past D") {
  for (const Int8PackUkernel& uk : ukernels().int8_pack)
    for (int D : {1, 2, 3, 5, 33, 40, 64, 80, 128, 256})
      for (int n : {1, 17, 64})
        for (int D4 : quads_for(D))
          for (bool zeros : {false, true}) {
            CAPTURE(uk.name);
            INFO("D=", D, " n=", n, " D4=", D4, " zeros=", zeros);
            auto q = rows_of(n, D, 5 + D);
            if (zeros) std::fill(q.begin(), q.end(), 0.0f);  // scale 0, every code 0
            std::vector<float> codes(q.size());
            const float s = int8_codes(q.data(), static_cast<long>(n) * D, 1, codes.data());
            const std::size_t row = static_cast<std::size_t>(D4) + 1;
            std::vector<uint32_t> dst(n * row + 1, 0xA5A5A5A5u);  // + a guard word past the last row
            uk.queries(q.data(), n, D, D4, dst.data());
            int wrong_codes = 0, wrong_scales = 0;
            for (int r = 0; r < n; ++r) {
              for (int d = 0; d < 4 * D4; ++d) {
                const int want = (d < D ? static_cast<int>(codes[r * D + d]) : 0) + 128;
                wrong_codes += static_cast<uint8_t>(byte_of(dst.data(), r * row + d / 4, d % 4)) != want;
              }
              float got;
              std::memcpy(&got, &dst[r * row + D4], 4);
              wrong_scales += !same_bits(got, s);
            }
            CHECK(wrong_codes == 0);
            CHECK(wrong_scales == 0);
            CHECK(dst[n * row] == 0xA5A5A5A5u);
            CHECK((s == 0.0f) == zeros);
          }
}
