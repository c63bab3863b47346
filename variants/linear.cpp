// linear: linear attention (SPEC.md, "Linear attention"), O(N) in the sequence length.
//   O[i] = phi(q_i)^T S / (phi(q_i)^T z + eps),  S = sum_j phi(k_j) v_j^T,  z = sum_j phi(k_j)
// over all keys, or over j <= i when causal (Nq == Nk only). scale does not apply.
// Maps: elu1 (default), relu, favor (Performer's positive orthogonal random features; the
// stabilisers are described in kernels/linear_features.hpp). The SIMD kernel is
// kernels/linear_attention.hpp; reference() below is the formula written plainly in float64.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "errors.hpp"
#include "impl_list.hpp"
#include "variant.hpp"

namespace attn {

namespace {

constexpr double kEps = 1e-6;

// Performer's orthogonal random features: blocks of up to D rows made orthonormal by
// Gram-Schmidt on Gaussian rows, each row then scaled by the norm of an independent Gaussian
// D-vector (so row norms follow the chi distribution of unstructured Gaussian rows).
std::vector<float> orthogonal_random_features(int M, int D, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<float> w(static_cast<std::size_t>(M) * D);
  std::vector<std::vector<double>> block;
  for (int m = 0; m < M; ++m) {
    if (m % D == 0) block.clear();
    std::vector<double> row(D);
    for (;;) {
      for (double& x : row) x = normal(rng);
      for (const auto& prev : block) {
        const double dotp = std::inner_product(row.begin(), row.end(), prev.begin(), 0.0);
        for (int d = 0; d < D; ++d) row[d] -= dotp * prev[d];
      }
      const double norm = std::sqrt(std::inner_product(row.begin(), row.end(), row.begin(), 0.0));
      if (norm > 1e-6) {
        for (double& x : row) x /= norm;
        break;
      }
    }
    block.push_back(row);
    double chi = 0;
    for (int d = 0; d < D; ++d) chi += std::pow(normal(rng), 2);
    for (int d = 0; d < D; ++d) w[static_cast<std::size_t>(m) * D + d] = static_cast<float>(row[d] * std::sqrt(chi));
  }
  return w;
}

const LinearImpl& linear_impl(const Problem& p, Isa max_isa) {
  const LinearImpl* impl = select_impl(linear_impls(), p, max_isa);
  if (!impl)
    throw UserError(std::string("no linear attention implementation supports ") + dtype_name(p.dtype) + " " +
                    pass_name(p.pass) + " up to " + isa_name(max_isa));
  return *impl;
}

class Linear final : public Variant {
 public:
  Linear(FeatureMap map, int features, unsigned seed) : map_(map), features_(features), seed_(seed) {}

  bool exact() const override { return false; }
  // bf16: the inputs are rounded (store_inputs); the feature sums stay float32.
  bool implemented(DType d, Pass pass) const override {
    return (d == DType::f32 || d == DType::bf16) && pass == Pass::fwd;
  }

  std::string shape_reason(const Problem& p) const override {
    if (p.causal && p.Nq != p.Nk)
      return "causal linear attention needs Nq == Nk (got Nq=" + std::to_string(p.Nq) + ", Nk=" +
             std::to_string(p.Nk) + ")";
    return "";
  }

  // Every (query, key) pair contributes (all of them, or the causal triangle).
  double visible_pairs(const Problem& p) const override {
    double pairs = 0;
    for (int b = 0; b < p.B; ++b) {
      const double nq = p.valid_q(b), nk = p.valid_k(b);
      pairs += p.causal ? nq * (nq + 1) / 2 : nq * nk;
    }
    return pairs * p.H;
  }

  // 2 M D per key (state) and per query (output) and head: 4 B H N M D when Nq == Nk.
  double flops(const Problem& p) const override {
    double tokens = 0;
    for (int b = 0; b < p.B; ++b) tokens += p.valid_q(b) + p.valid_k(b);
    return 2.0 * p.H * tokens * feature_dim(p) * p.D;
  }

  std::size_t workspace_bytes(const Problem& p, Isa isa) const override {
    const std::size_t w = map_ == FeatureMap::favor ? sizeof(float) * feature_dim(p) * p.D : 0;
    return w + linear_impl(p, isa).workspace(args(p, Tensors{}, nullptr, nullptr));
  }

  // The random features (favor) are drawn here, once; run() is the kernel alone.
  std::unique_ptr<Plan> plan(const Problem& p, Isa max_isa) const override {
    const LinearImpl& impl = linear_impl(p, max_isa);
    std::vector<float> w;
    if (map_ == FeatureMap::favor) w = orthogonal_random_features(feature_dim(p), p.D, seed_);
    const std::size_t bytes = workspace_bytes(p, max_isa);
    return std::make_unique<FunctionPlan>(
        p, impl.name, omp_get_max_threads(), bytes,
        [this, &impl, w = std::move(w)](const Problem& q, const Tensors& t, const Outputs& out) {
          impl.run(args(q, t, out.o, w.data()));
        });
  }

  void reference(const Problem& p, const Tensors& t, const std::vector<long>& rows, double* out) const override;

  // phi(x) <= |x| + 1 elementwise (elu1, relu; favor's features are stabilised to <= 1), so
  // |phi(q).S| and phi(q).z are at most (|q| + sqrt(M)) (|k| + sqrt(M)) Nk max(|v|, 1).
  double intermediate_bound(const Problem& p, const InputMagnitudes& m) const override {
    const double root_m = std::sqrt(static_cast<double>(feature_dim(p)));
    return (m.q_norm + root_m) * (m.k_norm + root_m) * p.Nk * std::max(m.v_abs, 1.0);
  }

  // The weights linear attention implies: phi(q_i).phi(k_j) / sum_j' phi(q_i).phi(k_j') over the
  // keys the row reads (j' <= i when causal), without eps so each row sums to 1. A row whose
  // denominator is 0 (relu features all 0) gets all-zero weights, as its output is 0.
  bool has_weights() const override { return true; }
  void weights(const Problem& p, const Tensors& t, const std::vector<int>& heads, const std::vector<long>& rows,
               float* out) const override;

 private:
  int feature_dim(const Problem& p) const { return map_ == FeatureMap::favor && features_ > 0 ? features_ : p.D; }
  double favor_x_scale(const Problem& p) const { return std::pow(static_cast<double>(p.D), -0.25); }

  LinearAttentionArgs args(const Problem& p, const Tensors& t, float* out, const float* w) const {
    LinearAttentionArgs a;
    a.B = p.B, a.H = p.H, a.Hkv = p.Hkv, a.Nq = p.Nq, a.Nk = p.Nk, a.D = p.D;
    a.causal = p.causal;
    a.eps = static_cast<float>(kEps);
    a.q = t.q, a.k = t.k, a.v = t.v, a.o = out;
    a.lens = p.has_lens() ? p.lens.data() : nullptr;
    a.map = map_;
    a.M = feature_dim(p);
    a.favor_w = w;
    a.favor_x_scale = static_cast<float>(favor_x_scale(p));
    return a;
  }

  // Features of n rows x (stride D) in float64, [n][M]. is_key selects the favor stabiliser.
  std::vector<double> features(const Problem& p, const std::vector<float>& w, const float* x, long n,
                               bool is_key) const;

  FeatureMap map_;
  int features_;
  unsigned seed_;
};

std::vector<double> Linear::features(const Problem& p, const std::vector<float>& w, const float* x, long n,
                                     bool is_key) const {
  const int D = p.D, M = feature_dim(p);
  std::vector<double> phi(static_cast<std::size_t>(n) * M);
  if (map_ != FeatureMap::favor) {
    for (long i = 0; i < n * D; ++i) {
      const double v = x[i];
      phi[i] = map_ == FeatureMap::elu1 ? (v > 0 ? v + 1 : std::exp(v)) : std::max(v, 0.0);
    }
    return phi;
  }
  const double xs = favor_x_scale(p);
  for (long i = 0; i < n; ++i) {
    double sq = 0;
    for (int d = 0; d < D; ++d) sq += std::pow(xs * x[i * D + d], 2);
    for (int m = 0; m < M; ++m) {
      double proj = 0;
      for (int d = 0; d < D; ++d) proj += static_cast<double>(w[static_cast<std::size_t>(m) * D + d]) * xs * x[i * D + d];
      phi[i * M + m] = proj - sq / 2;
    }
  }
  // Stabilisers: a query's own max; for keys one max over the whole head.
  const double head_max = n > 0 ? *std::max_element(phi.begin(), phi.end()) : 0.0;
  for (long i = 0; i < n; ++i) {
    double* row = &phi[i * M];
    const double c = is_key ? head_max : *std::max_element(row, row + M);
    for (int m = 0; m < M; ++m) row[m] = std::exp(row[m] - c) / std::sqrt(static_cast<double>(M));
  }
  return phi;
}

void Linear::reference(const Problem& p, const Tensors& t, const std::vector<long>& rows, double* out) const {
  const int D = p.D, M = feature_dim(p);
  const long nrows = static_cast<long>(rows.size());
  std::vector<float> w;
  if (map_ == FeatureMap::favor) w = orthogonal_random_features(M, D, seed_);
  // Requested rows in increasing order, so causal prefixes are built once per head.
  std::vector<long> order(nrows);
  std::iota(order.begin(), order.end(), 0L);
  std::sort(order.begin(), order.end(), [&](long x, long y) { return rows[x] < rows[y]; });
#pragma omp parallel for schedule(dynamic)
  for (long bh = 0; bh < static_cast<long>(p.B) * p.H; ++bh) {
    const int b = static_cast<int>(bh / p.H), h = static_cast<int>(bh % p.H);
    const long kvh = static_cast<long>(b) * p.Hkv + p.kv_head(h);
    const long nk = p.valid_k(b), nq = p.valid_q(b);
    const auto phik = features(p, w, t.k + kvh * p.Nk * D, nk, true);
    const auto phiq = features(p, w, t.q + bh * p.Nq * D, nq, false);
    const float* v = t.v + kvh * p.Nk * D;
    std::vector<double> S(static_cast<std::size_t>(M) * D, 0.0), z(M, 0.0);
    long added = 0;  // keys summed into S and z so far
    auto add_keys_until = [&](long end) {
      for (; added < end; ++added)
        for (int m = 0; m < M; ++m) {
          const double f = phik[added * M + m];
          z[m] += f;
          for (int d = 0; d < D; ++d) S[m * D + d] += f * v[added * D + d];
        }
    };
    if (!p.causal) add_keys_until(nk);
    for (long r : order) {
      const long i = rows[r];
      double* o = out + (bh * nrows + r) * D;
      std::fill(o, o + D, 0.0);
      if (i >= nq) continue;
      if (p.causal) add_keys_until(i + 1);
      double den = kEps;
      for (int m = 0; m < M; ++m) {
        const double f = phiq[i * M + m];
        den += f * z[m];
        for (int d = 0; d < D; ++d) o[d] += f * S[m * D + d];
      }
      for (int d = 0; d < D; ++d) o[d] /= den;
    }
  }
}

void Linear::weights(const Problem& p, const Tensors& t, const std::vector<int>& heads, const std::vector<long>& rows,
                     float* out) const {
  const int D = p.D, M = feature_dim(p);
  const long nh = static_cast<long>(heads.size()), nr = static_cast<long>(rows.size());
  std::vector<float> w;
  if (map_ == FeatureMap::favor) w = orthogonal_random_features(M, D, seed_);
#pragma omp parallel for schedule(dynamic)
  for (long bh = 0; bh < p.B * nh; ++bh) {
    const int b = static_cast<int>(bh / nh), h = heads[bh % nh];
    const long nk = p.valid_k(b), nq = p.valid_q(b);
    // The favor key stabiliser is one constant per head: it cancels in the ratio.
    const auto phik = features(p, w, t.k + (static_cast<long>(b) * p.Hkv + p.kv_head(h)) * p.Nk * D, nk, true);
    std::vector<double> score(nk);
    for (long r = 0; r < nr; ++r) {
      const long i = rows[r];
      float* o = out + (bh * nr + r) * p.Nk;
      std::fill(o, o + p.Nk, 0.0f);
      if (i >= nq) continue;
      const auto phiq = features(p, w, t.q + ((static_cast<long>(b) * p.H + h) * p.Nq + i) * D, 1, false);
      const long end = p.causal ? std::min(i + 1, nk) : nk;
      double total = 0;
      for (long j = 0; j < end; ++j) {
        score[j] = std::inner_product(phiq.begin(), phiq.end(), phik.begin() + j * M, 0.0);
        total += score[j];
      }
      if (total > 0)
        for (long j = 0; j < end; ++j) o[j] = static_cast<float>(score[j] / total);
    }
  }
}

}  // namespace

VariantInfo variant_info_linear() {
  return {"linear",
          "linear attention phi(Q) (phi(K)^T V), O(N); chunked SIMD kernel, causal via a running state",
          {{"map", "elu1", "feature map: elu1 (elu + 1), relu, or favor (Performer random features)"},
           {"features", "", "favor: number of random features M (default: D)"},
           {"seed", "", "favor: seed of the random projection (default: 0)"}},
          [](const Options& o) -> std::unique_ptr<Variant> {
            const std::string map = o.get_choice("map", {"elu1", "relu", "favor"});
            const FeatureMap fm = map == "elu1" ? FeatureMap::elu1 : map == "relu" ? FeatureMap::relu : FeatureMap::favor;
            if (fm != FeatureMap::favor && (o.has("features") || o.has("seed")))
              throw UserError("variant 'linear': options features and seed apply only to map=favor");
            const int features = o.has("features") ? static_cast<int>(o.get_int("features", 1, 4096)) : 0;
            const unsigned seed = o.has("seed") ? static_cast<unsigned>(o.get_int("seed", 0, 4294967295L)) : 0u;
            return std::make_unique<Linear>(fm, features, seed);
          }};
}

}  // namespace attn
