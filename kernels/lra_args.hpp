// What the kernels of the LRA low-rank variants need (variants/linformer.cpp, nystrom.cpp,
// synthesizer.cpp): tensors, shapes and the scratch sizes the variants report as workspace.
// Arch-independent; shared by every ISA build.
#pragma once
#include <cstddef>

namespace attn {

inline int round_up_to(int n, int w) { return (n + w - 1) / w * w; }

// Linformer's projections: keys_out[h] = E keys[h], values_out[h] = F values[h] for every
// key/value head h (E, F are [k, n]).
struct ProjectionArgs {
  int heads = 1;  // B * Hkv
  int n = 1;      // keys per head (Nk)
  int D = 1;
  int k = 1;                    // projected length
  const float* e = nullptr;     // [k, n]
  const float* f = nullptr;     // [k, n]
  const float* keys = nullptr;  // [heads, n, D]
  const float* values = nullptr;
  float* keys_out = nullptr;  // [heads, k, D]
  float* values_out = nullptr;
  int threads = 1;  // OpenMP threads (the plan's count: its workspace is sized for them)
};
// A task is kProjectRows rows of E (or F); the keys are packed kProjectChunk at a time.
constexpr int kProjectRows = 64, kProjectChunk = 256;
// Per-thread scratch of the projection kernel, in floats (W: floats per vector).
inline std::size_t projection_scratch_floats(int D, int W) {
  return static_cast<std::size_t>(kProjectChunk + kProjectRows) * round_up_to(D, W);
}

// Segment means (Nystromformer's landmarks): out[h][l] = mean of rows [l n / m, (l + 1) n / m)
// of x[h], for m <= n segments.
struct SegmentMeansArgs {
  int heads = 1, n = 1, D = 1, segments = 1;
  const float* x = nullptr;  // [heads, n, D]
  float* out = nullptr;      // [heads, segments, D]
};
inline long segment_begin(long l, long n, long m) { return l * n / m; }

// The landmark part of Nystromformer, per query head h of batch item b (m landmarks):
// A = softmax(scale Ql Kl^T) [m, m], Z = pinv(A), mixed = Z kernel3_v.
struct LandmarkMixArgs {
  int B = 1, H = 1, Hkv = 1, m = 1, D = 1;
  float scale = 1.0f;
  int iterations = 6;                  // the iterative pseudo-inverse's rounds
  bool exact_pinv = false;             // true: float64 SVD pseudo-inverse (kernels/pinv_f64.hpp)
  const float* q_landmarks = nullptr;  // [B, H, m, D]
  const float* k_landmarks = nullptr;  // [B, Hkv, m, D]
  const float* kernel3_v = nullptr;    // softmax(scale Ql K^T) V, [B, H, m, D]
  float* mixed = nullptr;              // [B, H, m, D]
  int threads = 1;                     // OpenMP threads (the plan's count)
};
// Per-thread scratch of the landmark kernel, in floats.
inline std::size_t landmark_scratch_floats(int m, int D, int W) {
  const std::size_t mp = round_up_to(m, W), Dp = round_up_to(D, W);
  return static_cast<std::size_t>(D) * mp + 5 * static_cast<std::size_t>(m) * mp + 2 * static_cast<std::size_t>(m) * Dp;
}

// The random synthesizer: O[b, h] = softmax(R) V[b, kv(h)], R [Nq, Nk] shared by every head;
// causal keeps keys j <= i + Nk - Nq (bottom-right alignment).
struct SynthesizerArgs {
  int B = 1, H = 1, Hkv = 1, Nq = 1, Nk = 1, D = 1;
  bool causal = false;
  const float* r = nullptr;  // [Nq, Nk]
  const float* v = nullptr;  // [B, Hkv, Nk, D]
  float* o = nullptr;        // [B, H, Nq, D]
  // Scratch of synthesizer_scratch_floats(): per thread a block of softmax(R) rows and of output
  // rows, then V zero-padded to whole vectors [B, Hkv, Nk, round_up(D, W)].
  float* weights = nullptr;
  float* out = nullptr;
  float* values = nullptr;
  int threads = 1;  // OpenMP threads: the scratch holds this many blocks
};
constexpr int kSynthesizerRows = 64;   // query rows per task
constexpr int kSynthesizerKeys = 256;  // keys per product chunk
inline std::size_t synthesizer_scratch_floats(const SynthesizerArgs& a, int W, int threads) {
  const std::size_t Dp = round_up_to(a.D, W);
  return static_cast<std::size_t>(threads) * kSynthesizerRows * (a.Nk + Dp) +
         static_cast<std::size_t>(a.B) * a.Hkv * a.Nk * Dp;
}

}  // namespace attn
