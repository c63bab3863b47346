// Uses the installed attnbench as a user would: dense attention (causal, GQA, Nq != Nk) on small
// random tensors through run_checked() and through plan()/run() with the log-sum-exp, each
// checked against a plain float64 loop. Exits 1 on any mismatch.
#include <attnbench/attnbench.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace {

// O and lse of one (b, h) row in float64, straight from the SPEC formula.
void reference_row(const attn::Problem& p, const std::vector<float>& q, const std::vector<float>& k,
                   const std::vector<float>& v, int b, int h, int i, double* o, double* lse) {
  const int hk = p.kv_head(h);
  const float* qi = &q[((static_cast<std::size_t>(b) * p.H + h) * p.Nq + i) * p.D];
  std::vector<double> s(p.Nk, -INFINITY);
  double m = -INFINITY;
  for (int j = 0; j < p.Nk; ++j) {
    if (p.causal && j > p.position(i)) continue;
    const float* kj = &k[((static_cast<std::size_t>(b) * p.Hkv + hk) * p.Nk + j) * p.D];
    double dot = 0;
    for (int d = 0; d < p.D; ++d) dot += static_cast<double>(qi[d]) * kj[d];
    s[j] = dot * p.effective_scale();
    m = std::max(m, s[j]);
  }
  double sum = 0;
  for (int d = 0; d < p.D; ++d) o[d] = 0;
  for (int j = 0; j < p.Nk; ++j) {
    if (s[j] == -INFINITY) continue;
    const double w = std::exp(s[j] - m);
    sum += w;
    const float* vj = &v[((static_cast<std::size_t>(b) * p.Hkv + hk) * p.Nk + j) * p.D];
    for (int d = 0; d < p.D; ++d) o[d] += w * vj[d];
  }
  for (int d = 0; d < p.D; ++d) o[d] = sum > 0 ? o[d] / sum : 0;
  *lse = sum > 0 ? m + std::log(sum) : -INFINITY;
}

// Runs dense on one shape both ways; returns the largest difference from the float64 loop.
double check_dense(const attn::Variant& dense, int nq, int nk, std::string& impl) {
  attn::Problem p;
  p.B = 2, p.H = 4, p.Hkv = 2, p.Nq = nq, p.Nk = nk, p.D = 12, p.causal = true;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  std::vector<float> q(p.q_elems()), k(p.kv_elems()), v(p.kv_elems());
  for (auto* t : {&q, &k, &v})
    for (float& x : *t) x = normal(rng);
  const attn::Tensors in{q.data(), k.data(), v.data()};
  const std::size_t rows = static_cast<std::size_t>(p.B) * p.H * p.Nq;

  std::vector<float> o1(p.q_elems()), o2(p.q_elems()), lse(rows);
  impl = attn::run_checked(dense, p, in, {o1.data(), nullptr}, attn::resolve_isa("auto"));
  // The same through a plan, as a benchmark loop would call it.
  auto plan = dense.plan(p, attn::resolve_isa("auto"));
  plan->run(in, {o2.data(), plan->gives_lse() ? lse.data() : nullptr});

  double worst = 0;
  std::vector<double> ref(p.D);
  for (int b = 0; b < p.B; ++b)
    for (int h = 0; h < p.H; ++h)
      for (int i = 0; i < p.Nq; ++i) {
        double ref_lse;
        reference_row(p, q, k, v, b, h, i, ref.data(), &ref_lse);
        const std::size_t row = (static_cast<std::size_t>(b) * p.H + h) * p.Nq + i;
        for (int d = 0; d < p.D; ++d) {
          worst = std::max(worst, std::abs(o1[row * p.D + d] - ref[d]));
          worst = std::max(worst, std::abs(o2[row * p.D + d] - ref[d]));
        }
        if (plan->gives_lse()) worst = std::max(worst, std::abs(lse[row] - ref_lse));
      }
  return worst;
}

}  // namespace

int main() {
  const auto dense = attn::make_variant("dense");
  double worst = 0;
  std::string impls;
  for (const auto& [nq, nk] : {std::pair{5, 9}, std::pair{37, 45}}) {  // a decode shape, a prefill shape
    std::string impl;
    const double err = check_dense(*dense, nq, nk, impl);
    impls += (impls.empty() ? "" : ", ") + impl;
    if (!(err < 1e-4)) {
      std::fprintf(stderr, "consumer: dense (%s, Nq=%d, Nk=%d) differs from the float64 loop by %g\n", impl.c_str(),
                   nq, nk, err);
      return 1;
    }
    worst = std::max(worst, err);
  }

  // Bad input is an attn::UserError with one line.
  attn::Problem bad;
  bad.D = 300;
  try {
    attn::check_problem(*dense, bad);
    std::fprintf(stderr, "consumer: D=300 was accepted\n");
    return 1;
  } catch (const attn::UserError& e) {
    std::printf("consumer: D=300 refused: %s\n", e.what());
  }
  std::printf("consumer: ok (%s), %zu variants, max |O - ref| = %.2e, %s\n", impls.c_str(),
              attn::variant_registry().size(), worst, attn::blas_description().c_str());
  return 0;
}
