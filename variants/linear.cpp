// linear: linear attention (SPEC.md, "Linear attention"), O(N) in the sequence length.
//   O[i] = phi(q_i)^T S / (phi(q_i)^T z + eps),  S = sum_j phi(k_j) v_j^T,  z = sum_j phi(k_j)
// over all keys, or over j <= i + Nk - Nq when causal (bottom-right aligned, as every variant:
// Nq < Nk is the decode form, the last Nq positions; with Nq > Nk the first Nq - Nk rows see no
// key and are 0). scale does not apply.
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

// Causal: row i sees keys [0, causal_end) (bottom-right aligned; 0 for the rows of Nq > Nk that
// precede every key). With lens Nq == Nk.
long causal_end(const Problem& p, long i, long nk) { return std::clamp(i + p.Nk - p.Nq + 1, 0L, nk); }

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

// The forward implementation (a bwd plan runs it too, for O).
const LinearImpl& linear_impl(const Problem& p, Isa max_isa) {
  Problem fwd = p;
  fwd.pass = Pass::fwd;
  const LinearImpl* impl = select_impl(linear_impls(), fwd, max_isa);
  if (!impl)
    throw UserError(std::string("no linear attention implementation supports ") + dtype_name(p.dtype) + " " +
                    pass_name(p.pass) + " up to " + isa_name(max_isa));
  return *impl;
}

// The backward implementation for p (null for a forward-only problem).
const LinearBackwardImpl* linear_backward_impl(const Problem& p, Isa max_isa) {
  if (p.pass == Pass::fwd) return nullptr;
  const LinearBackwardImpl* impl = select_impl(linear_backward_impls(), p, max_isa);
  if (!impl)
    throw UserError(std::string("no linear attention backward supports ") + dtype_name(p.dtype) + " " +
                    pass_name(p.pass) + " up to " + isa_name(max_isa));
  return impl;
}

class Linear final : public Variant {
 public:
  Linear(FeatureMap map, int features, unsigned seed) : map_(map), features_(features), seed_(seed) {}

  bool exact() const override { return false; }
  // bf16: the inputs are rounded (store_inputs); the feature sums stay float32. The backward:
  // float32, elu1 and relu (see shape_reason).
  bool implemented(DType d, Pass pass) const override {
    return pass == Pass::fwd ? d == DType::f32 || d == DType::bf16 : d == DType::f32;
  }

  std::string shape_reason(const Problem& p) const override {
    if (p.causal && p.Nq != p.Nk && p.pass != Pass::fwd)
      return "the backward of causal linear attention with Nq != Nk (decode form) is not implemented: the "
             "backward kernel's chunks pair query i with key i (got Nq=" + std::to_string(p.Nq) + ", Nk=" +
             std::to_string(p.Nk) + ")";
    if (p.pass != Pass::fwd && map_ == FeatureMap::favor)
      return "the backward of map=favor is not implemented (random-feature gradients): elu1 and relu only";
    return "";
  }

  // Every (query, key) pair contributes (all of them, or with causal the keys j <= i + Nk - Nq).
  double visible_pairs(const Problem& p) const override {
    double pairs = 0;
    for (int b = 0; b < p.B; ++b) {
      const long nq = p.valid_q(b), nk = p.valid_k(b);
      if (!p.causal) {
        pairs += static_cast<double>(nq) * nk;
        continue;
      }
      for (long i = 0; i < nq; ++i) pairs += static_cast<double>(causal_end(p, i, nk));
    }
    return pairs * p.H;
  }

  // 2 M D per key (state) and per query (output) and head: 4 B H N M D when Nq == Nk.
  double flops(const Problem& p) const override {
    double tokens = 0;
    for (int b = 0; b < p.B; ++b) tokens += p.valid_q(b) + p.valid_k(b);
    return 2.0 * p.H * tokens * feature_dim(p) * p.D;
  }

  // The forward's, or the larger of the forward's and the backward's (they never run at once).
  std::size_t workspace_bytes(const Problem& p, Isa isa) const override {
    const std::size_t w = map_ == FeatureMap::favor ? sizeof(float) * feature_dim(p) * p.D : 0;
    const LinearAttentionArgs a = args(p, Tensors{}, nullptr, nullptr);
    const LinearBackwardImpl* bwd = linear_backward_impl(p, isa);
    return w + std::max(linear_impl(p, isa).workspace(a), bwd ? bwd->workspace(a) : 0);
  }

  std::unique_ptr<Plan> plan(const Problem& p, Isa max_isa) const override;

  void reference(const Problem& p, const Tensors& t, const std::vector<long>& rows, double* out) const override;
  void reference_backward(const Problem& p, const Tensors& t, const float* dout, const std::vector<long>& groups,
                          const GradientsF64& out) const override;

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
  friend class LinearPlan;
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

// The random features (favor) are drawn once, in the plan; run() and run_backward() are the
// kernels alone.
class LinearPlan final : public Plan {
 public:
  LinearPlan(const Linear& v, const Problem& p, const LinearImpl& impl, const LinearBackwardImpl* bwd, std::size_t bytes)
      : Plan(p, bwd ? (p.pass == Pass::bwd ? bwd->name : impl.name + "+" + bwd->name) : impl.name,
             omp_get_max_threads()),
        v_(v), impl_(impl), bwd_(bwd), bytes_(bytes) {
    if (v.map_ == FeatureMap::favor) w_ = orthogonal_random_features(v.feature_dim(p), p.D, v.seed_);
  }
  std::size_t workspace_bytes() const override { return bytes_; }
  void run(const Tensors& in, const Outputs& out) override { impl_.run(v_.args(problem(), in, out.o, w_.data())); }
  bool gives_backward() const override { return bwd_ != nullptr; }
  void run_backward(const Tensors& in, const float* o, const float* lse, const float* dout,
                    const Gradients& g) override {
    if (!bwd_) return Plan::run_backward(in, o, lse, dout, g);
    LinearBackwardArgs a;
    a.fwd = v_.args(problem(), in, nullptr, w_.data());
    a.o = o, a.dout = dout, a.dq = g.dq, a.dk = g.dk, a.dv = g.dv;
    bwd_->run(a);
  }

 private:
  const Linear& v_;
  const LinearImpl& impl_;
  const LinearBackwardImpl* bwd_;
  std::size_t bytes_;
  std::vector<float> w_;
};

std::unique_ptr<Plan> Linear::plan(const Problem& p, Isa max_isa) const {
  return std::make_unique<LinearPlan>(*this, p, linear_impl(p, max_isa), linear_backward_impl(p, max_isa),
                                      workspace_bytes(p, max_isa));
}

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
      if (p.causal) add_keys_until(causal_end(p, i, nk));
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

// The gradients of sum(O * dO) in float64 for the elementwise maps (see
// kernels/linear_backward.hpp for the formulas), written per (batch, kv head) group with plain
// loops over its query heads: rows in order (causal: the state grows with them), then keys in
// reverse (causal: dS and dz sum the rows at or after the key; non-causal: every row).
void Linear::reference_backward(const Problem& p, const Tensors& t, const float* dout, const std::vector<long>& groups_in,
                                const GradientsF64& out) const {
  if (map_ == FeatureMap::favor) throw UserError(spec() + ": " + shape_reason(p));
  const int D = p.D, M = feature_dim(p), group = p.H / p.Hkv;
  std::vector<long> groups = groups_in;
  if (groups.empty())
    for (long g = 0; g < static_cast<long>(p.B) * p.Hkv; ++g) groups.push_back(g);
  auto slope = [&](double x) { return x > 0 ? 1.0 : map_ == FeatureMap::elu1 ? std::exp(x) : 0.0; };
  const std::vector<float> none;
#pragma omp parallel for schedule(dynamic)
  for (long gi = 0; gi < static_cast<long>(groups.size()); ++gi) {
    const long kvh = groups[gi];
    const int b = static_cast<int>(kvh / p.Hkv);
    const long nk = p.valid_k(b), nq = p.valid_q(b);
    const float* k = t.k + kvh * p.Nk * D;
    const float* v = t.v + kvh * p.Nk * D;
    const auto phik = features(p, none, k, nk, true);
    double* dk = out.dk + gi * p.Nk * D;
    double* dv = out.dv + gi * p.Nk * D;
    std::fill(dk, dk + static_cast<long>(p.Nk) * D, 0.0);
    std::fill(dv, dv + static_cast<long>(p.Nk) * D, 0.0);
    for (int hh = 0; hh < group; ++hh) {
      const long bh = static_cast<long>(b) * p.H + (kvh % p.Hkv) * group + hh;
      const float* q = t.q + bh * p.Nq * D;
      const float* go = dout + bh * p.Nq * D;
      double* dq = out.dq + (gi * group + hh) * p.Nq * D;
      std::fill(dq, dq + static_cast<long>(p.Nq) * D, 0.0);
      const auto phiq = features(p, none, q, nq, false);
      std::vector<double> S(static_cast<std::size_t>(M) * D, 0.0), z(M, 0.0);
      std::vector<double> G(static_cast<std::size_t>(nq) * D), c(nq);
      long added = 0;  // keys in S and z
      auto add_keys_until = [&](long end) {
        for (; added < end; ++added)
          for (int m = 0; m < M; ++m) {
            z[m] += phik[added * M + m];
            for (int d = 0; d < D; ++d) S[m * D + d] += phik[added * M + m] * v[added * D + d];
          }
      };
      if (!p.causal) add_keys_until(nk);
      for (long i = 0; i < nq; ++i) {
        if (p.causal) add_keys_until(std::min(i + 1, nk));
        double den = kEps, dot_o = 0;
        std::vector<double> num(D, 0.0);
        for (int m = 0; m < M; ++m) {
          den += phiq[i * M + m] * z[m];
          for (int d = 0; d < D; ++d) num[d] += phiq[i * M + m] * S[m * D + d];
        }
        for (int d = 0; d < D; ++d) dot_o += go[i * D + d] * num[d] / den;
        c[i] = -dot_o / den;
        for (int d = 0; d < D; ++d) G[i * D + d] = go[i * D + d] / den;
        for (int m = 0; m < M; ++m) {
          double dphi = c[i] * z[m];
          for (int d = 0; d < D; ++d) dphi += S[m * D + d] * G[i * D + d];
          dq[i * D + m] = slope(q[i * D + m]) * dphi;  // elementwise maps: M == D
        }
      }
      // dS = sum phi(q_i) G_i^T and dz = sum c_i phi(q_i) over the rows that read key j.
      std::vector<double> dS(static_cast<std::size_t>(M) * D, 0.0), dz(M, 0.0);
      long summed = nq;  // rows from here on are in dS and dz
      auto add_rows_from = [&](long first) {
        for (; summed > first; --summed) {
          const long i = summed - 1;
          for (int m = 0; m < M; ++m) {
            dz[m] += c[i] * phiq[i * M + m];
            for (int d = 0; d < D; ++d) dS[m * D + d] += phiq[i * M + m] * G[i * D + d];
          }
        }
      };
      if (!p.causal) add_rows_from(0);
      for (long j = nk - 1; j >= 0; --j) {
        if (p.causal) add_rows_from(j);
        for (int m = 0; m < M; ++m) {
          double dphi = dz[m];
          for (int d = 0; d < D; ++d) {
            dphi += dS[m * D + d] * v[j * D + d];
            dv[j * D + d] += phik[j * M + m] * dS[m * D + d];
          }
          dk[j * D + m] += slope(k[j * D + m]) * dphi;
        }
      }
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
      const long end = p.causal ? causal_end(p, i, nk) : nk;
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
