// The seeded random parameters of the LRA variants, drawn in their plans (never in the timed
// call) and again by their float64 references; tests use them to size error bounds.
#pragma once
#include <vector>

namespace attn {

// Linformer's projections: E then F, each [k, Nk] row-major, N(0, 1) / sqrt(k), entries cut at
// kProjectionSigmas standard deviations (never reached in practice; it makes the input-range
// bound strict).
constexpr double kProjectionSigmas = 8.0;
std::vector<float> linformer_projections(int k, int Nk, unsigned seed);

// The random synthesizer's R [Nq, Nk], N(0, 1).
std::vector<float> synthesizer_weights(int Nq, int Nk, unsigned seed);

}  // namespace attn
