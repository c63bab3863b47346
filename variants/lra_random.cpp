#include "lra_random.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace attn {

std::vector<float> linformer_projections(int k, int Nk, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<float> ef(2 * static_cast<std::size_t>(k) * Nk);
  const double scale = 1.0 / std::sqrt(static_cast<double>(k));
  for (float& x : ef) x = static_cast<float>(std::clamp(normal(rng), -kProjectionSigmas, kProjectionSigmas) * scale);
  return ef;
}

std::vector<float> synthesizer_weights(int Nq, int Nk, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> r(static_cast<std::size_t>(Nq) * Nk);
  for (float& x : r) x = normal(rng);
  return r;
}

}  // namespace attn
