// linformer, nystrom, synthesizer (LRA Table 2 rows): each against its own float64 reference on
// odd shapes and every ISA within an error bound derived from its arithmetic, the exactness
// limit (nystrom, landmarks = Nk, pinv=exact is dense attention), refusals, weights, FLOPs and
// workspace, and the command line.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>

#include "cli_util.hpp"
#include "errors.hpp"
#include "lra_args.hpp"
#include "lra_random.hpp"
#include "pinv_f64.hpp"
#include "test_util.hpp"

using namespace attn;

namespace {

constexpr double kU = 0x1p-24;  // float32 unit roundoff

struct Shape {
  int B, H, Hkv, Nq, Nk, D;
};
// N = 1, N not a multiple of any tile, D in {1, 40, 80, 256}, Nq != Nk both ways, GQA, MQA.
const Shape kShapes[] = {
    {1, 1, 1, 1, 1, 1},     {1, 2, 1, 1, 37, 40},    {2, 4, 2, 77, 77, 80}, {1, 1, 1, 130, 65, 256},
    {1, 3, 1, 65, 200, 16}, {2, 2, 2, 129, 129, 1},  {1, 4, 4, 200, 31, 40}, {1, 4, 1, 150, 100, 40},
};

double max_abs(const float* x, std::size_t n) {
  double m = 0;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::abs(static_cast<double>(x[i])));
  return m;
}

double max_abs_err(const std::vector<float>& out, const std::vector<double>& ref) {
  double e = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const double d = std::abs(out[i] - ref[i]);
    e = std::isnan(d) ? INFINITY : std::max(e, d);
  }
  return e;
}

// synthesizer: O = sum_j p_j v_j, p from a float32 softmax over at most Nk keys (each p_j off by
// (Nk + 8) u relatively: exp, the sum, the division), summed in float32 (gamma_Nk):
// |dO| <= (2 Nk + 8) u max|V|; doubled for the order of the vector sums.
double synthesizer_bound(const test::Inputs& in) {
  return 2 * (2.0 * in.p.Nk + 8) * kU * max_abs(in.v.data(), in.v.size());
}

// linformer: V' = F V and K' = E K summed in float32 over Nk keys: |dV'| <= Nk u (|F||V|),
// |dK'| <= Nk u (|E||K|). A score q.K' then moves by at most (Nk + D) u s ||q||_1 max(|E||K|),
// which moves the probabilities by at most twice that in l1; the engine's P.V over k keys adds
// (k + 8) u max|V'|. Doubled for the order of the vector sums.
double linformer_bound(const test::Inputs& in, int k, unsigned seed) {
  const Problem& p = in.p;
  const auto ef = linformer_projections(k, p.Nk, seed);
  const float* e = ef.data();
  const float* f = e + static_cast<std::size_t>(k) * p.Nk;
  double abs_fv = 0, abs_ek = 0, vp = 0;
  for (long h = 0; h < static_cast<long>(p.B) * p.Hkv; ++h)
    for (int l = 0; l < k; ++l)
      for (int d = 0; d < p.D; ++d) {
        double fv = 0, ek = 0, v = 0;
        for (long j = 0; j < p.Nk; ++j) {
          const std::size_t at = (h * p.Nk + j) * p.D + d;
          fv += std::abs(f[l * p.Nk + j] * in.v[at]);
          ek += std::abs(e[l * p.Nk + j] * in.k[at]);
          v += static_cast<double>(f[l * p.Nk + j]) * in.v[at];
        }
        abs_fv = std::max(abs_fv, fv), abs_ek = std::max(abs_ek, ek), vp = std::max(vp, std::abs(v));
      }
  double q1 = 0;
  for (std::size_t r = 0; r < in.q.size() / p.D; ++r) {
    double s = 0;
    for (int d = 0; d < p.D; ++d) s += std::abs(in.q[r * p.D + d]);
    q1 = std::max(q1, s);
  }
  const double score = (p.Nk + p.D) * kU * p.effective_scale() * q1 * abs_ek;
  return 2 * (p.Nk * kU * abs_fv + 2 * score * (vp + p.Nk * kU * abs_fv) + (k + 8) * kU * vp);
}

// Nystromformer's quantities of one head in float64, for error bounds: the landmarks, A,
// b = softmax(s Ql K^T) V, and the largest |s q . k| summed in absolute value for each score
// kind (what rounding in a score is relative to).
struct NystromHead {
  int m = 0;
  std::vector<double> a, b;      // [m][m], [m][D]
  double abs_a = 0, abs_3 = 0, abs_1 = 0;  // Ql Kl^T, Ql K^T, Q Kl^T
};

NystromHead nystrom_head(const test::Inputs& in, long bh, int m) {
  const Problem& p = in.p;
  const int D = p.D;
  const double s = p.effective_scale();
  const long kvh = bh / p.H * p.Hkv + p.kv_head(static_cast<int>(bh % p.H));
  const float* q = &in.q[bh * p.Nq * D];
  const float* k = &in.k[kvh * p.Nk * D];
  const float* v = &in.v[kvh * p.Nk * D];
  auto means = [&](const float* x, long n) {
    std::vector<double> out(static_cast<std::size_t>(m) * D, 0.0);
    for (int l = 0; l < m; ++l) {
      const long r0 = segment_begin(l, n, m), r1 = segment_begin(l + 1, n, m);
      for (long r = r0; r < r1; ++r)
        for (int d = 0; d < D; ++d) out[l * D + d] += x[r * D + d] / static_cast<double>(r1 - r0);
    }
    return out;
  };
  const auto ql = means(q, p.Nq), kl = means(k, p.Nk);
  // softmax(s x . y_j) over n rows y, and the largest s sum |x_d y_jd|.
  auto softmax = [&](const double* x, auto y_at, long n, double* w, double& abs_max) {
    double mx = -INFINITY, total = 0;
    for (long j = 0; j < n; ++j) {
      double dot = 0, abs_dot = 0;
      for (int d = 0; d < D; ++d) dot += x[d] * y_at(j, d), abs_dot += std::abs(x[d] * y_at(j, d));
      w[j] = s * dot, mx = std::max(mx, w[j]), abs_max = std::max(abs_max, s * abs_dot);
    }
    for (long j = 0; j < n; ++j) total += w[j] = std::exp(w[j] - mx);
    for (long j = 0; j < n; ++j) w[j] /= total;
  };
  NystromHead h;
  h.m = m;
  h.a.resize(static_cast<std::size_t>(m) * m);
  h.b.assign(static_cast<std::size_t>(m) * D, 0.0);
  std::vector<double> w(std::max<long>(p.Nk, m)), x(D);
  for (int l = 0; l < m; ++l) {
    softmax(&ql[l * D], [&](long j, int d) { return kl[j * D + d]; }, m, &h.a[l * m], h.abs_a);
    softmax(&ql[l * D], [&](long j, int d) { return static_cast<double>(k[j * D + d]); }, p.Nk, w.data(), h.abs_3);
    for (long j = 0; j < p.Nk; ++j)
      for (int d = 0; d < D; ++d) h.b[l * D + d] += w[j] * v[j * D + d];
  }
  for (long i = 0; i < p.Nq; ++i) {
    for (int d = 0; d < D; ++d) x[d] = q[i * D + d];
    softmax(x.data(), [&](long j, int d) { return kl[j * D + d]; }, m, w.data(), h.abs_1);
  }
  return h;
}

// Y = pinv(A) b with the variant's pseudo-inverse, in float64: [m][D].
std::vector<double> mixed_values(const std::vector<double>& a, const std::vector<double>& b, int m, int D, bool exact) {
  std::vector<double> z(a.size());
  if (exact)
    pinv_exact(a.data(), m, m, z.data(), m, pinv_rtol_f32(m));
  else
    z = pinv_iterative_f64(a, m, 6);
  std::vector<double> y(b.size(), 0.0);
  for (int i = 0; i < m; ++i)
    for (int c = 0; c < m; ++c)
      for (int d = 0; d < D; ++d) y[i * D + d] += z[i * m + c] * b[c * D + d];
  return y;
}

double inf_norm(const std::vector<double>& z, int m) {
  double n = 0;
  for (int i = 0; i < m; ++i) {
    double s = 0;
    for (int j = 0; j < m; ++j) s += std::abs(z[i * m + j]);
    n = std::max(n, s);
  }
  return n;
}

// nystrom: O = K1 Y, Y = Z b, b = K3 V, Z ~ pinv(A); K1, K3, A softmax rows. A float32 sum of
// n terms is off by (n + 8) u times the sum of their magnitudes; a score by (D + N / m + 2) u
// times its absolute-value sum (the means add N / m), which moves a softmax row by twice that
// in l1. So b is off by e_b = ((Nk + 8) u + 2 e_3) max|V| per entry, each row of A by
// e_a = (m + 8) u + 2 e_A, and the last stage adds ((m + 8) u + 2 e_1) max|Y| + ||Z|| e_b.
// How far an A-perturbation of size e_a moves Y = pinv(A) b is measured, not derived: the
// largest change over 4 random sign perturbations, times 4 (random directions see less than
// the worst); the iterative pinv's own rounding, 24 rounds of m-term products, adds
// 24 (m + 8) u ||Z|| max|b|. Doubled for the order of the vector sums.
double nystrom_bound(const test::Inputs& in, int m, bool exact) {
  const Problem& p = in.p;
  const int D = p.D;
  const double v = max_abs(in.v.data(), in.v.size());
  const double n_over_m = std::max(p.Nq, p.Nk) / m + 1;
  std::mt19937 rng(5);
  double worst = 0;
  for (long bh = 0; bh < static_cast<long>(p.B) * p.H; ++bh) {
    const NystromHead h = nystrom_head(in, bh, m);
    const auto score = [&](double abs_max) { return (D + n_over_m + 2) * kU * abs_max; };
    const double eb = ((p.Nk + 8) * kU + 2 * score(h.abs_3)) * v, ea = (m + 8) * kU + 2 * score(h.abs_a);
    const auto y = mixed_values(h.a, h.b, m, D, exact);
    double y_max = 0, moved = 0;
    for (double e : y) y_max = std::max(y_max, std::abs(e));
    for (int trial = 0; trial < 4; ++trial) {
      auto a = h.a;
      for (double& e : a) e += (rng() % 2 ? ea : -ea) / m;  // each row moves by e_a in l1
      const auto y2 = mixed_values(a, h.b, m, D, exact);
      for (std::size_t i = 0; i < y.size(); ++i) moved = std::max(moved, std::abs(y2[i] - y[i]));
    }
    std::vector<double> z(h.a.size());
    pinv_exact(h.a.data(), m, m, z.data(), m, pinv_rtol_f32(m));
    const double z_norm = exact ? inf_norm(z, m) : inf_norm(pinv_iterative_f64(h.a, m, 6), m);
    const double own = exact ? 0.0 : 24.0 * (m + 8) * kU * z_norm * v;
    const double bound = ((m + 8) * kU + 2 * score(h.abs_1)) * y_max + z_norm * eb + 4 * moved + own;
    worst = std::max(worst, 2 * bound);
  }
  return worst;
}

// What the errors are in practice: rounding errors of n-term sums grow like sqrt(n) u, not
// n u (Higham, Accuracy and Stability, 2.8), so the worst-case bounds above sit 10^3..10^5
// above the errors seen. This tighter check catches subtle mistakes (a key off by one moves
// the output by ~1/N): max|O - O_ref| <= kTypical max|O_ref|, times ||pinv(A)||_inf for
// nystrom:pinv=exact (an exact inverse amplifies its input's rounding by the condition number).
constexpr double kTypical = 2e-5;

double pinv_amplification(const test::Inputs& in, int m) {
  double z_norm = 1;
  for (long bh = 0; bh < static_cast<long>(in.p.B) * in.p.H; ++bh) {
    const auto a = nystrom_head(in, bh, m).a;
    std::vector<double> z(a.size());
    pinv_exact(a.data(), m, m, z.data(), m, pinv_rtol_f32(m));
    z_norm = std::max(z_norm, inf_norm(z, m));
  }
  return z_norm;
}

// Runs spec on every shape (and causal where it is supported) on every ISA against its
// reference: the error must lie within the derived bound and within typical * amplification
// relative to the reference. Returns the largest error / bound and error / typical seen.
std::pair<double, double> check_against_reference(const std::string& spec,
                                                  const std::function<double(const test::Inputs&)>& bound,
                                                  const std::function<double(const test::Inputs&)>& amplification) {
  const auto v = make_variant(spec);
  double worst = 0, worst_typical = 0;
  int checked = 0;
  for (const Shape& s : kShapes)
    for (bool causal : {false, true}) {
      auto in = test::make_inputs(s.B, s.H, s.Hkv, s.Nq, s.Nk, s.D, causal, 11);
      if (!v->unsupported_reason(in.p).empty()) continue;
      const auto ref = test::reference(*v, in);
      double ref_max = 0;
      for (double r : ref) ref_max = std::max(ref_max, std::abs(r));
      const double b = bound(in), typical = kTypical * amplification(in) * ref_max;
      for (Isa isa : supported_isas()) {
        INFO(spec, " on ", isa_name(isa), ": B=", s.B, " H=", s.H, " Hkv=", s.Hkv, " Nq=", s.Nq, " Nk=", s.Nk,
             " D=", s.D, " causal=", causal, " bound=", b, " typical=", typical);
        const double err = max_abs_err(test::run(*v, in, isa), ref);
        CHECK(err <= b);
        CHECK(err <= typical);
        worst = std::max(worst, err / b);
        worst_typical = std::max(worst_typical, err / typical);
        ++checked;
      }
    }
  CHECK(checked > 0);
  return {worst, worst_typical};
}

}  // namespace

TEST_CASE("linformer: every ISA matches its float64 reference within the derived bound on odd shapes") {
  for (int k : {1, 7, 64, 300}) {  // k = 300 > every Nk here: more projected rows than keys
    for (unsigned seed : {0u, 5u}) {
      const std::string spec = "linformer:k=" + std::to_string(k) + ",seed=" + std::to_string(seed);
      const auto [worst, typical] = check_against_reference(
          spec, [&](const test::Inputs& in) { return linformer_bound(in, k, seed); }, [](const test::Inputs&) { return 1.0; });
      MESSAGE(spec, ": largest error / derived bound = ", worst, ", / typical = ", typical);
    }
  }
}

TEST_CASE("nystrom: every ISA matches its float64 reference within the derived bound on odd shapes") {
  for (int m : {1, 5, 16, 31}) {
    for (bool exact : {false, true}) {
      const std::string spec = "nystrom:landmarks=" + std::to_string(m) + ",pinv=" + (exact ? "exact" : "iterative");
      const auto [worst, typical] = check_against_reference(
          spec, [&](const test::Inputs& in) { return nystrom_bound(in, m, exact); },
          [&](const test::Inputs& in) { return exact ? pinv_amplification(in, m) : 1.0; });
      MESSAGE(spec, ": largest error / derived bound = ", worst, ", / typical = ", typical);
    }
  }
}

TEST_CASE("synthesizer: every ISA matches its float64 reference within the derived bound, causal included") {
  for (const std::string spec : {"synthesizer", "synthesizer:seed=9"}) {
    const auto [worst, typical] =
        check_against_reference(spec, synthesizer_bound, [](const test::Inputs&) { return 1.0; });
    MESSAGE(spec, ": largest error / derived bound = ", worst, ", / typical = ", typical);
  }
}

TEST_CASE("the checks catch wrong arithmetic: another seed, landmark count or alignment lies far outside them") {
  auto in = test::make_inputs(1, 2, 1, 77, 100, 40, false, 4);
  // max|O - O_ref| / (kTypical max|O_ref|) when run_spec runs and ref_spec is the reference.
  const auto wrong = [&](const std::string& run_spec, const std::string& ref_spec, const test::Inputs& run_in) {
    const auto ref = test::reference(*make_variant(ref_spec), in);
    double ref_max = 0;
    for (double r : ref) ref_max = std::max(ref_max, std::abs(r));
    const auto out = test::run(*make_variant(run_spec), run_in, best_isa());
    double e = 0;
    for (std::size_t i = 0; i < out.size(); ++i) e = std::max(e, std::abs(out[i] - ref[i]));
    return e / (kTypical * ref_max);
  };
  CHECK(wrong("linformer:k=16,seed=1", "linformer:k=16,seed=0", in) > 100);
  CHECK(wrong("nystrom:landmarks=8", "nystrom:landmarks=7", in) > 100);
  CHECK(wrong("nystrom:landmarks=8,pinv=exact", "nystrom:landmarks=8", in) > 100);
  CHECK(wrong("synthesizer:seed=1", "synthesizer", in) > 100);
  // One key of 100 zeroed (a kernel that skipped the last key would do that): caught.
  auto dropped = in;
  for (int d = 0; d < 40; ++d) dropped.k[99 * 40 + d] = 0, dropped.v[99 * 40 + d] = 0;
  CHECK(wrong("linformer:k=16", "linformer:k=16", dropped) > 100);
  CHECK(wrong("nystrom:landmarks=8", "nystrom:landmarks=8", dropped) > 100);
  // Causal synthesizer: the same R rows shifted by one key (bottom-right alignment) is caught.
  in.p.causal = true;
  CHECK(wrong("synthesizer", "synthesizer", in) <= 1);
  auto shifted = in;
  shifted.p.Nq = 76;
  shifted.q.resize(static_cast<std::size_t>(2) * 76 * 40);
  const auto ref = test::reference(*make_variant("synthesizer"), in);
  const auto out = test::run(*make_variant("synthesizer"), shifted, best_isa());
  double diff = 0, ref_max = 0;
  for (std::size_t i = 0; i < 76 * 40; ++i) diff = std::max(diff, std::abs(out[i] - ref[i])), ref_max = std::max(ref_max, std::abs(ref[i]));
  CHECK(diff > 100 * kTypical * ref_max);
}

TEST_CASE("nystrom: landmarks = Nk with pinv=exact is dense attention within 1e-4 on every ISA") {
  // Nq >= Nk (a landmark per key, means of Nq / Nk queries), GQA, odd sizes; D >= 16 keeps the
  // landmark kernel well conditioned (its condition number is printed on failure).
  const Shape shapes[] = {{1, 1, 1, 48, 48, 64}, {1, 2, 1, 100, 50, 40}, {2, 4, 2, 33, 33, 80}, {1, 1, 1, 20, 20, 256},
                          {1, 2, 2, 77, 13, 16}};
  const auto dense = make_variant("dense");
  for (const Shape& s : shapes) {
    auto in = test::make_inputs(s.B, s.H, s.Hkv, s.Nq, s.Nk, s.D, false, 21);
    const auto v = make_variant("nystrom:pinv=exact,landmarks=" + std::to_string(s.Nk));
    REQUIRE(v->unsupported_reason(in.p).empty());
    const auto want = test::reference(*dense, in);
    double z_norm = 0;
    for (long bh = 0; bh < static_cast<long>(s.B) * s.H; ++bh) {
      const auto a = nystrom_head(in, bh, s.Nk).a;
      std::vector<double> z(a.size());
      pinv_exact(a.data(), s.Nk, s.Nk, z.data(), s.Nk, pinv_rtol_f32(s.Nk));
      z_norm = std::max(z_norm, inf_norm(z, s.Nk));
    }
    // Its own float64 reference is dense attention to float64 precision.
    CHECK(max_abs_err(std::vector<float>(want.begin(), want.end()), test::reference(*v, in)) < 1e-5);
    for (Isa isa : supported_isas()) {
      INFO("Nq=", s.Nq, " Nk=", s.Nk, " D=", s.D, " on ", isa_name(isa), ", ||pinv(A)||_inf=", z_norm);
      CHECK(test::rel_err(test::run(*v, in, isa), want) < 1e-4);
    }
  }
  // The iterative pinv is an approximation: with 6 rounds it is not exact at landmarks = Nk.
  auto in = test::make_inputs(1, 1, 1, 48, 48, 64, false, 21);
  CHECK(test::rel_err(test::run(*make_variant("nystrom:landmarks=48"), in, best_isa()),
                      test::reference(*make_variant("dense"), in)) > 1e-3);
}

TEST_CASE("pinv_exact meets the four Penrose conditions, full rank and rank-deficient") {
  for (int rank : {7, 4, 1}) {
    const int m = 7;
    std::vector<double> a(m * m, 0.0), z(m * m);
    // a = sum of `rank` outer products of fixed vectors: rank exactly `rank`.
    for (int r = 0; r < rank; ++r)
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < m; ++j) a[i * m + j] += std::sin(1.0 + i * (r + 1) + 0.3 * r) * std::cos(0.7 * j * (r + 2) + r);
    pinv_exact(a.data(), m, m, z.data(), m, 1e-12);
    auto mul = [m](const std::vector<double>& x, const std::vector<double>& y) {
      std::vector<double> c(m * m, 0.0);
      for (int i = 0; i < m; ++i)
        for (int k = 0; k < m; ++k)
          for (int j = 0; j < m; ++j) c[i * m + j] += x[i * m + k] * y[k * m + j];
      return c;
    };
    const auto az = mul(a, z), za = mul(z, a), aza = mul(az, a), zaz = mul(za, z);
    double e = 0;
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < m; ++j)
        e = std::max({e, std::abs(aza[i * m + j] - a[i * m + j]), std::abs(zaz[i * m + j] - z[i * m + j]),
                      std::abs(az[i * m + j] - az[j * m + i]), std::abs(za[i * m + j] - za[j * m + i])});
    CAPTURE(rank);
    CHECK(e < 1e-9);
    double trace = 0;  // trace(A Z) = rank: the projector onto A's range
    for (int i = 0; i < m; ++i) trace += az[i * m + i];
    CHECK(trace == doctest::Approx(rank).epsilon(1e-9));
  }
}

TEST_CASE("linformer, nystrom, synthesizer say plainly what they do not support") {
  auto in = test::make_inputs(2, 2, 1, 40, 40, 16, true, 1);
  const auto reason = [&](const std::string& spec, const Problem& p) { return make_variant(spec)->unsupported_reason(p); };
  CHECK(reason("linformer", in.p).find("causal is not defined") != std::string::npos);
  CHECK(reason("nystrom:landmarks=8", in.p).find("causal is not defined") != std::string::npos);
  CHECK(reason("synthesizer", in.p).empty());
  Problem lens = in.p;
  lens.causal = false;
  lens.lens = {40, 20};
  for (const char* spec : {"linformer", "nystrom:landmarks=8", "synthesizer"})
    CHECK(reason(spec, lens).find("--lens is not supported") != std::string::npos);
  Problem few = in.p;
  few.causal = false;
  few.Nq = 7;
  CHECK(reason("nystrom:landmarks=8", few) == "landmarks=8 needs at least that many queries and keys (Nq=7, Nk=40)");
  few.Nq = 40, few.Nk = 7;
  CHECK(!reason("nystrom:landmarks=8", few).empty());
  Problem other = in.p;
  other.causal = false;
  for (const char* spec : {"linformer", "nystrom:landmarks=8", "synthesizer"}) {
    other.dtype = DType::bf16;
    CHECK(reason(spec, other).find("bf16 fwd is not implemented") != std::string::npos);
    other.dtype = DType::f32, other.pass = Pass::bwd;
    CHECK(reason(spec, other).find("f32 bwd is not implemented") != std::string::npos);
    other.pass = Pass::fwd;
    CHECK_THROWS_AS(check_problem(*make_variant(spec), lens), UserError);
  }
  CHECK_THROWS_WITH_AS(make_variant("nystrom:pinv=svd"), doctest::Contains("pinv"), UserError);
  CHECK_THROWS_AS(make_variant("nystrom:landmarks=0"), UserError);
  CHECK_THROWS_AS(make_variant("linformer:k=0"), UserError);
  CHECK_THROWS_AS(make_variant("linformer:map=elu1"), UserError);
  CHECK_THROWS_AS(make_variant("synthesizer:seed=-1"), UserError);
  // What the spec records: every option with its default.
  CHECK(make_variant("linformer")->spec() == "linformer:k=256,seed=0");
  CHECK(make_variant("nystrom")->spec() == "nystrom:landmarks=64,pinv=iterative");
  CHECK(make_variant("synthesizer")->spec() == "synthesizer:seed=0");
}

TEST_CASE("synthesizer: Q and K are not read; its weights are softmax(R) and give its output") {
  for (bool causal : {false, true})
    for (auto [nq, nk] : {std::pair{30, 45}, std::pair{45, 30}}) {
      auto in = test::make_inputs(2, 4, 2, nq, nk, 24, causal, 8);
      const auto v = make_variant("synthesizer:seed=3");
      const auto out = test::run(*v, in, best_isa());
      auto other = in;
      for (float& x : other.q) x = -3 * x;
      for (float& x : other.k) x = x + 1;
      CHECK(test::run(*v, other, best_isa()) == out);
      const std::vector<int> heads = {0, 3};
      const auto rows = test::all_rows(in.p);
      std::vector<float> w(static_cast<std::size_t>(in.p.B) * heads.size() * nq * nk);
      v->weights(in.p, in.tensors(), heads, rows, w.data());
      // O[b, h] = W V[b, kv(h)] for the heads asked; rows sum to 1 (0 for a row that sees no key).
      double worst = 0;
      for (int b = 0; b < in.p.B; ++b)
        for (std::size_t hi = 0; hi < heads.size(); ++hi)
          for (int i = 0; i < nq; ++i) {
            const float* wr = &w[((b * heads.size() + hi) * nq + i) * nk];
            double sum = 0;
            for (int j = 0; j < nk; ++j) sum += wr[j];
            const long p = i + nk - nq;
            CHECK(sum == doctest::Approx(causal && p < 0 ? 0.0 : 1.0).epsilon(1e-5));
            if (causal)
              for (long j = std::max(0L, p + 1); j < nk; ++j) CHECK(wr[j] == 0.0f);
            const int h = heads[hi], kvh = b * in.p.Hkv + in.p.kv_head(h);
            for (int d = 0; d < 24; ++d) {
              double o = 0;
              for (int j = 0; j < nk; ++j) o += wr[j] * static_cast<double>(in.v[(kvh * nk + j) * 24 + d]);
              worst = std::max(worst, std::abs(o - out[((b * in.p.H + h) * nq + i) * 24 + d]));
            }
          }
      CHECK(worst <= synthesizer_bound(in));
    }
}

TEST_CASE("linformer, nystrom, synthesizer: FLOPs by their formulas, density 1, workspace as planned") {
  Problem p;
  p.B = 2, p.H = 4, p.Hkv = 2, p.Nq = 300, p.Nk = 200, p.D = 40;
  const double B = 2, H = 4, Hkv = 2, Nq = 300, Nk = 200, D = 40;
  CHECK(make_variant("linformer:k=32")->flops(p) == doctest::Approx(4 * B * Hkv * 32 * Nk * D + 4 * B * H * Nq * 32 * D));
  const double m = 16;
  CHECK(make_variant("nystrom:landmarks=16")->flops(p) ==
        doctest::Approx(B * H * (4 * m * Nk * D + 4 * Nq * m * D + 4 * m * m * D + 48 * m * m * m + Nq * D) + B * Hkv * Nk * D));
  CHECK(make_variant("nystrom:landmarks=16,pinv=exact")->flops(p) ==
        doctest::Approx(B * H * (4 * m * Nk * D + 4 * Nq * m * D + 4 * m * m * D + 2 * m * m * m + Nq * D) + B * Hkv * Nk * D));
  CHECK(make_variant("synthesizer")->flops(p) == doctest::Approx(2 * D * B * H * Nq * Nk));
  p.causal = true;  // rows i see keys j <= i + Nk - Nq: the first 100 rows none
  double pairs = 0;
  for (int i = 0; i < 300; ++i) pairs += std::clamp(i - 100 + 1, 0, 200);
  CHECK(make_variant("synthesizer")->visible_pairs(p) == doctest::Approx(B * H * pairs));
  p.causal = false;
  for (const char* spec : {"linformer:k=32", "nystrom:landmarks=16", "nystrom:landmarks=16,pinv=exact", "synthesizer"}) {
    const auto v = make_variant(spec);
    CHECK(v->visible_pairs(p) == doctest::Approx(B * H * Nq * Nk));
    for (Isa isa : supported_isas()) {
      CAPTURE(spec);
      CAPTURE(isa_name(isa));
      const auto plan = v->plan(p, isa);
      CHECK(plan->workspace_bytes() == v->workspace_bytes(p, isa));
      CHECK(plan->impl().find(isa_name(isa)) != std::string::npos);
    }
  }
}

TEST_CASE("attnbench run: linformer, nystrom, synthesizer write O; refusals are one line and exit non-zero") {
  const std::string q = test::write_tensor("lra_a_q.npy", {2, 30, 16}), k = test::write_tensor("lra_a_k.npy", {2, 40, 16}, 0.3f);
  const std::string out = test::temp_path("lra_a_o.npy"), w = test::temp_path("lra_a_w.npy");
  const std::string io = " --q " + q + " --k " + k + " --v " + k + " --out " + out;
  for (const char* spec : {"linformer:k=8", "nystrom:landmarks=6", "nystrom:landmarks=6,pinv=exact", "synthesizer"}) {
    const auto r = test::run_attnbench(std::string("run --variant ") + spec + io);
    CHECK_MESSAGE(r.exit_code == 0, r.output);
  }
  auto r = test::run_attnbench("run --variant synthesizer --causal --weights " + w + io);
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  for (const char* spec : {"linformer", "nystrom:landmarks=6"}) {
    r = test::run_attnbench(std::string("run --variant ") + spec + " --causal" + io);
    CHECK(r.exit_code != 0);
    CHECK(r.lines() == 1);
    CHECK(r.output.find("causal is not defined") != std::string::npos);
  }
  r = test::run_attnbench("run --variant nystrom:landmarks=31" + io);
  CHECK(r.exit_code != 0);
  CHECK(r.output.find("landmarks=31 needs at least") != std::string::npos);
  r = test::run_attnbench("run --variant linformer --weights " + w + io);
  CHECK(r.exit_code != 0);
  CHECK(r.lines() == 1);
  for (const std::string& f : {q, k, out, w}) std::remove(f.c_str());
}
