// reformer and sinkhorn (LRA Table 2's hashing and sorting rows): every ISA against the variants'
// own float64 references on odd shapes; against a second selection written here from SPEC
// (hash = argmax [xR; -xR] with stable sort and two-chunk bands; Sinkhorn balancing and the greedy
// permutation) fed to tests/independent_reference.hpp; the exactness limit (one bucket, chunk >=
// Nk: dense within 1e-4); the float32 hash with its float64 fallback equal to the definition on
// every ISA; reformer's backward (one round) against float64 gradients; what each variant refuses.
//
// Error bound: as tests/test_variants.cpp, 1e-5 relative to max |O_ref|. The engine sums D
// products per score and up to 2 chunks (or 2 blocks) of terms per output in float32 with
// online rescaling; each output's error is a few (D + log2 keys) u with u = 2^-24 (<= ~300 u =
// 1.8e-5 worst case at D = 256, typically far less as errors do not all align); the gathers and
// scatters are exact copies and combining rounds adds a few u.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <numeric>
#include <random>
#include <set>

#include "errors.hpp"
#include "independent_reference.hpp"
#include "kernel_table.hpp"
#include "lsh_hash.hpp"
#include "sinkhorn_sort.hpp"
#include "test_util.hpp"

using namespace attn;

namespace {
struct Shape {
  int B, H, Hkv, N, D;
};
// N = 1, N not a multiple of any tile or chunk, D in {1, 40, 80, 256}, GQA and MQA.
const Shape kShapes[] = {{1, 1, 1, 1, 1}, {1, 2, 1, 37, 40}, {2, 4, 2, 77, 80}, {1, 1, 1, 130, 256},
                         {1, 3, 1, 200, 16}, {2, 2, 2, 129, 1}, {1, 4, 4, 300, 40}};
constexpr double kBound = 1e-5;

void check_against_own_reference(const std::string& spec) {
  const auto variant = make_variant(spec);
  for (const Shape& s : kShapes) {
    auto in = test::make_inputs(s.B, s.H, s.Hkv, s.N, s.N, s.D, false, 11);
    REQUIRE(variant->unsupported_reason(in.p).empty());
    const auto ref = test::reference(*variant, in);
    for (Isa isa : supported_isas()) {
      INFO(spec, " isa=", isa_name(isa), " N=", s.N, " D=", s.D, " H=", s.H, " Hkv=", s.Hkv);
      CHECK(test::rel_err(test::run(*variant, in, isa), ref) < kBound);
    }
  }
}

// --- reformer's selection written again from SPEC (one round) ---------------------------------
struct Reformer1 {
  int buckets;
  long chunk;
  unsigned seed;
};

// Sorted order of n rows by bucket (stable): the rotation is drawn as lsh::make_rotations draws it
// (std::normal_distribution<float> on mt19937, column by column), the argmax written here.
std::vector<long> sorted_rows(const float* x, long n, int D, const Reformer1& r) {
  const int half = r.buckets / 2;
  std::mt19937 rng(r.seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<double> rot(static_cast<std::size_t>(half) * D);  // [m][d]
  for (int m = 0; m < half; ++m)
    for (int d = 0; d < D; ++d) rot[m * D + d] = normal(rng);
  std::vector<int> bucket(n, 0);
  for (long i = 0; i < n && r.buckets > 1; ++i) {
    double best = -INFINITY;
    for (int c = 0; c < 2 * half; ++c) {
      double proj = 0;
      for (int d = 0; d < D; ++d) proj += double(x[i * D + d]) * rot[(c % half) * D + d];
      if (c >= half) proj = -proj;
      if (proj > best) best = proj, bucket[i] = c;
    }
  }
  std::vector<long> order(n);
  std::iota(order.begin(), order.end(), 0L);
  std::stable_sort(order.begin(), order.end(), [&](long a, long b) { return bucket[a] < bucket[b]; });
  return order;
}

// visible(h, i, j) of reformer with one round, for batch item b.
std::function<bool(int, long, long)> reformer_rule(const test::Inputs& in, int b, const Reformer1& r) {
  const Problem& p = in.p;
  auto q_rank = std::make_shared<std::vector<long>>(static_cast<std::size_t>(p.H) * p.Nq);
  auto k_rank = std::make_shared<std::vector<long>>(static_cast<std::size_t>(p.Hkv) * p.Nk);
  for (int h = 0; h < p.H; ++h) {
    const auto order = sorted_rows(in.q.data() + (long(b) * p.H + h) * p.Nq * p.D, p.Nq, p.D, r);
    for (long rank = 0; rank < p.Nq; ++rank) (*q_rank)[h * p.Nq + order[rank]] = rank;
  }
  for (int g = 0; g < p.Hkv; ++g) {
    const auto order = sorted_rows(in.k.data() + (long(b) * p.Hkv + g) * p.Nk * p.D, p.Nk, p.D, r);
    for (long rank = 0; rank < p.Nk; ++rank) (*k_rank)[g * p.Nk + order[rank]] = rank;
  }
  return [=](int h, long i, long j) {
    const long cq = (*q_rank)[h * p.Nq + i] / r.chunk, ck = (*k_rank)[(h / (p.H / p.Hkv)) * p.Nk + j] / r.chunk;
    return ck == cq || ck == cq - 1;
  };
}

// Attention over each item's own rule, as one output.
std::vector<double> independent(const test::Inputs& in,
                                const std::function<std::function<bool(int, long, long)>(int)>& rule_of) {
  const Problem& p = in.p;
  std::vector<double> out;
  for (int b = 0; b < p.B; ++b) {
    test::Inputs one = in;
    one.p.B = 1;
    const std::size_t q = in.q.size() / p.B, kv = in.k.size() / p.B;
    one.q.assign(in.q.begin() + b * q, in.q.begin() + (b + 1) * q);
    one.k.assign(in.k.begin() + b * kv, in.k.begin() + (b + 1) * kv);
    one.v.assign(in.v.begin() + b * kv, in.v.begin() + (b + 1) * kv);
    const auto rule = rule_of(b);
    const auto r = test::spec_attention(one, rule);
    out.insert(out.end(), r.begin(), r.end());
  }
  return out;
}

// --- sinkhorn's permutation written again from SPEC -------------------------------------------
std::vector<long> sinkhorn_pi(const float* k, long n, int D, long block, int iters, unsigned seed) {
  const long nb = (n + block - 1) / block;
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> w(static_cast<std::size_t>(D) * D);
  for (double& x : w) x = static_cast<float>(normal(rng) / std::sqrt(double(D)));
  std::vector<std::vector<double>> mean(nb, std::vector<double>(D, 0.0));
  for (long J = 0; J < nb; ++J) {
    const long j1 = std::min(n, (J + 1) * block);
    for (long j = J * block; j < j1; ++j)
      for (int d = 0; d < D; ++d) mean[J][d] += k[j * D + d] / double(j1 - J * block);
  }
  std::vector<std::vector<double>> L(nb, std::vector<double>(nb, 0.0));
  for (long I = 0; I < nb; ++I)
    for (long J = 0; J < nb; ++J)
      for (int d = 0; d < D; ++d)
        for (int e = 0; e < D; ++e) L[I][J] += mean[I][d] * w[d * D + e] * mean[J][e];
  for (int it = 0; it < iters; ++it) {
    for (auto& row : L) {
      double s = 0;
      const double m = *std::max_element(row.begin(), row.end());
      for (double x : row) s += std::exp(x - m);
      for (double& x : row) x -= m + std::log(s);
    }
    for (long J = 0; J < nb; ++J) {
      double m = -INFINITY, s = 0;
      for (long I = 0; I < nb; ++I) m = std::max(m, L[I][J]);
      for (long I = 0; I < nb; ++I) s += std::exp(L[I][J] - m);
      for (long I = 0; I < nb; ++I) L[I][J] -= m + std::log(s);
    }
  }
  std::vector<long> pi(nb);
  std::vector<bool> taken(nb, false);
  for (long I = 0; I < nb; ++I) {
    long best = -1;
    for (long J = 0; J < nb; ++J)
      if (!taken[J] && (best < 0 || L[I][J] > L[I][best])) best = J;
    taken[best] = true;
    pi[I] = best;
  }
  return pi;
}

std::function<bool(int, long, long)> sinkhorn_rule(const test::Inputs& in, int b, long block, int iters) {
  const Problem& p = in.p;
  std::vector<std::vector<long>> pis;
  for (int g = 0; g < p.Hkv; ++g)
    pis.push_back(sinkhorn_pi(in.k.data() + (long(b) * p.Hkv + g) * p.Nk * p.D, p.Nk, p.D, block, iters, 0));
  return [=](int h, long i, long j) {
    const long I = i / block, J = j / block;
    return J == I || J == pis[h / (p.H / p.Hkv)][I];
  };
}
}  // namespace

TEST_CASE("reformer on every ISA matches its float64 reference on odd shapes") {
  for (const char* spec : {"reformer", "reformer:buckets=4,chunk=5,rounds=3", "reformer:buckets=2,chunk=1",
                           "reformer:buckets=8,chunk=16,seed=9", "reformer:buckets=1,chunk=7,rounds=2"})
    check_against_own_reference(spec);
}

TEST_CASE("sinkhorn on every ISA matches its float64 reference on odd shapes") {
  for (const char* spec : {"sinkhorn", "sinkhorn:block=128,iters=3", "sinkhorn:iters=0,seed=5"})
    check_against_own_reference(spec);
}

TEST_CASE("reformer and sinkhorn follow the selection written from SPEC") {
  const Shape shapes[] = {{2, 4, 2, 77, 40}, {1, 2, 1, 300, 16}, {1, 1, 1, 200, 80}};
  for (const Shape& s : shapes) {
    auto in = test::make_inputs(s.B, s.H, s.Hkv, s.N, s.N, s.D, false, 5);
    INFO("N=", s.N, " D=", s.D, " H=", s.H, " Hkv=", s.Hkv);
    for (const Reformer1& r : {Reformer1{4, 5, 0}, Reformer1{16, 16, 3}, Reformer1{2, 64, 1}}) {
      const std::string spec = "reformer:buckets=" + std::to_string(r.buckets) + ",chunk=" + std::to_string(r.chunk) +
                               ",seed=" + std::to_string(r.seed);
      const auto want = independent(in, [&](int b) { return reformer_rule(in, b, r); });
      const auto v = make_variant(spec);
      const auto own = test::reference(*v, in);
      double diff = 0;
      for (std::size_t x = 0; x < own.size(); ++x) diff = std::max(diff, std::abs(own[x] - want[x]));
      // Both float64 on the same selection; they differ only by scale: the variants use float32's
      // 1/sqrt(D) (relative error <= u = 6e-8 on every score, |score| < 40 here).
      CHECK(diff < 1e-6);
      for (Isa isa : supported_isas()) {
        INFO(spec, " isa=", isa_name(isa));
        CHECK(test::rel_err(test::run(*v, in, isa), want) < kBound);
      }
    }
    for (long block : {64L, 128L}) {
      const int iters = 5;
      const auto want = independent(in, [&](int b) { return sinkhorn_rule(in, b, block, iters); });
      const auto v = make_variant("sinkhorn:block=" + std::to_string(block) + ",iters=" + std::to_string(iters));
      for (Isa isa : supported_isas()) {
        INFO("sinkhorn block=", block, " isa=", isa_name(isa));
        CHECK(test::rel_err(test::run(*v, in, isa), want) < kBound);
      }
      // mass_recall's pattern is the same selection.
      const auto pattern = v->key_pattern_for(in.p, in.tensors(), 0);
      const auto rule = sinkhorn_rule(in, 0, block, iters);
      std::vector<uint8_t> row(s.N);
      long mismatches = 0;
      for (int h = 0; h < s.H; ++h)
        for (long i = 0; i < s.N; ++i) {
          pattern->mark_row(h, i, row.data());
          for (long j = 0; j < s.N; ++j) mismatches += (row[j] != 0) != rule(h, i, j);
        }
      CHECK(mismatches == 0);
    }
  }
}

TEST_CASE("reformer's key pattern (mass_recall) is the union of its rounds' chunk bands") {
  auto in = test::make_inputs(1, 2, 1, 150, 150, 24, false, 3);
  const Reformer1 r{8, 10, 4};
  const auto v = make_variant("reformer:buckets=8,chunk=10,seed=4");
  const auto pattern = v->key_pattern_for(in.p, in.tensors(), 0);
  const auto rule = reformer_rule(in, 0, r);
  std::vector<uint8_t> row(150);
  long mismatches = 0, seen = 0;
  for (int h = 0; h < 2; ++h)
    for (long i = 0; i < 150; ++i) {
      pattern->mark_row(h, i, row.data());
      for (long j = 0; j < 150; ++j) mismatches += (row[j] != 0) != rule(h, i, j), seen += row[j];
    }
  CHECK(mismatches == 0);
  CHECK(seen > 0);
}

TEST_CASE("reformer with one bucket and chunk >= Nk is exact attention") {
  for (const Shape& s : kShapes) {
    auto in = test::make_inputs(s.B, s.H, s.Hkv, s.N, s.N, s.D, false, 2);
    const auto dense = test::spec_attention(in);
    for (const std::string& spec : std::vector<std::string>{"reformer:buckets=1,chunk=" + std::to_string(s.N),
                                                            "reformer:buckets=1,chunk=100000,rounds=3"}) {
      const auto v = make_variant(spec);
      for (Isa isa : supported_isas()) {
        INFO(spec, " isa=", isa_name(isa), " N=", s.N, " D=", s.D);
        CHECK(test::rel_err(test::run(*v, in, isa), dense) < 1e-4);
      }
    }
  }
}

TEST_CASE("the float32 LSH hash with its float64 fallback equals the definition on every ISA") {
  for (int D : {1, 3, 40, 256})
    for (int buckets : {2, 6, 32}) {
      const auto rot = lsh::make_rotations(D, buckets, 3, 17);
      auto in = test::make_inputs(1, 1, 1, 700, 1, D, false, D + buckets);
      // Rows that put two projections in a tie or near one: zero rows, a rotation column
      // itself (its projection on the other columns differs) and the sum of two columns.
      for (int d = 0; d < D; ++d) {
        in.q[d] = 0.0f;
        in.q[D + d] = rot.r[static_cast<std::size_t>(d) * rot.cols];
        in.q[2 * D + d] = rot.r[static_cast<std::size_t>(d) * rot.cols] + (buckets > 2 ? rot.r[d * rot.cols + 1] : 0.0f);
      }
      std::vector<int32_t> want(3 * 700);
      for (int r = 0; r < 3; ++r)
        for (long i = 0; i < 700; ++i) want[r * 700 + i] = lsh::bucket_f64(rot, in.q.data() + i * D, r);
      for (Isa isa : supported_isas()) {
        std::vector<float> proj(static_cast<std::size_t>(lsh::kBlockRows) * rot.cols);
        std::vector<int32_t> got(3 * 700, -1);
        lsh::hash_rows(rot, kernel_table(isa).gemm, in.q.data(), 700, proj.data(), got.data(), 700);
        INFO("D=", D, " buckets=", buckets, " isa=", isa_name(isa));
        CHECK(got == want);
      }
      // Buckets cover the range and a sort by them is stable.
      std::vector<int32_t> count(buckets + 1), perm(700), rank(700);
      lsh::sort_by_bucket(want.data(), 700, buckets, count.data(), perm.data(), rank.data());
      for (long t = 1; t < 700; ++t) {
        const bool ordered = want[perm[t - 1]] < want[perm[t]] || (want[perm[t - 1]] == want[perm[t]] && perm[t - 1] < perm[t]);
        REQUIRE(ordered);
      }
      for (long i = 0; i < 700; ++i) REQUIRE(perm[rank[i]] == i);
    }
}

TEST_CASE("Sinkhorn balancing converges to a doubly stochastic matrix and gives a permutation") {
  auto in = test::make_inputs(1, 1, 1, 1, 640 + 17, 32, false, 8);
  const auto w = sinkhorn::sorting_weights(32, 0);
  const long n = 640 + 17, nb = 11;
  const auto P = sinkhorn::balanced(in.k.data(), n, 32, 64, 300, w.data());
  for (long I = 0; I < nb; ++I) {
    double row = 0, col = 0;
    for (long J = 0; J < nb; ++J) row += P[I * nb + J], col += P[J * nb + I];
    CHECK(row == doctest::Approx(1.0).epsilon(1e-6));
    CHECK(col == doctest::Approx(1.0).epsilon(1e-9));  // the last step normalises columns
  }
  std::vector<double> scratch(sinkhorn::scratch_doubles(nb, 32));
  std::vector<int> pi(nb);
  sinkhorn::permutation(in.k.data(), n, 32, 64, 4, w.data(), scratch.data(), pi.data());
  std::vector<int> sorted = pi;
  std::sort(sorted.begin(), sorted.end());
  for (long I = 0; I < nb; ++I) CHECK(sorted[I] == I);
  const auto want = sinkhorn_pi(in.k.data(), n, 32, 64, 4, 0);
  CHECK(std::vector<long>(pi.begin(), pi.end()) == want);
}

TEST_CASE("reformer and sinkhorn refuse what they do not implement, with a reason") {
  auto p = test::make_inputs(1, 2, 1, 100, 120, 16, false, 1).p;
  for (const char* spec : {"reformer:rounds=2", "sinkhorn"}) {
    const auto v = make_variant(spec);
    INFO(spec);
    CHECK(v->unsupported_reason(p).find("Nq == Nk") != std::string::npos);
    Problem q = p;
    q.Nq = q.Nk = 100;
    CHECK(v->unsupported_reason(q).empty());
    Problem c = q;
    c.causal = true;
    CHECK(v->unsupported_reason(c).find("causal") != std::string::npos);
    Problem l = q;
    l.B = 1, l.lens = {50};
    CHECK(v->unsupported_reason(l).find("lens") != std::string::npos);
    Problem d = q;
    d.dtype = DType::bf16;
    CHECK_FALSE(v->unsupported_reason(d).empty());
    Problem b = q;
    b.pass = Pass::bwd;
    CHECK_FALSE(v->unsupported_reason(b).empty());
  }
  CHECK(make_variant("sinkhorn:block=100")->unsupported_reason(test::make_inputs(1, 1, 1, 100, 100, 8, false, 1).p).find(
            "multiple of 64") != std::string::npos);
  CHECK_THROWS_AS(make_variant("reformer:buckets=3"), UserError);
  CHECK_THROWS_AS(make_variant("reformer:chunk=0"), UserError);
}

TEST_CASE("reformer backward (one round): every ISA against float64 gradients under the same chunk bands") {
  const Shape shapes[] = {{1, 1, 1, 1, 1}, {1, 2, 1, 37, 40}, {2, 4, 2, 77, 80}, {1, 2, 2, 129, 1}, {1, 3, 1, 200, 16},
                          {1, 1, 1, 130, 256}};
  std::mt19937 rng(41);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const char* spec : {"reformer", "reformer:buckets=4,chunk=5", "reformer:buckets=1,chunk=1000"}) {
    const auto v = make_variant(spec);
    for (const Shape& s : shapes) {
      auto in = test::make_inputs(s.B, s.H, s.Hkv, s.N, s.N, s.D, false, 13);
      in.p.pass = Pass::bwd;
      REQUIRE(v->unsupported_reason(in.p).empty());
      std::vector<float> dout(in.p.q_elems());
      for (float& x : dout) x = normal(rng);
      std::vector<double> rq(in.p.q_elems()), rk(in.p.kv_elems()), rv(in.p.kv_elems());
      v->reference_backward(in.p, in.tensors(), dout.data(), {}, {rq.data(), rk.data(), rv.data()});
      double mag = 0;
      for (double x : rv) mag = std::max(mag, std::abs(x));
      CHECK(mag > 0.1);  // not vacuous
      for (Isa isa : supported_isas()) {
        INFO(spec, " isa=", isa_name(isa), " N=", s.N, " D=", s.D, " H=", s.H, " Hkv=", s.Hkv);
        auto plan = v->plan(in.p, isa);
        REQUIRE(plan->gives_backward());
        REQUIRE(plan->gives_lse());
        std::vector<float> o(in.p.q_elems()), lse(static_cast<std::size_t>(s.B) * s.H * s.N);
        std::vector<float> dq(in.p.q_elems(), NAN), dk(in.p.kv_elems(), NAN), dv(in.p.kv_elems(), NAN);
        plan->run(in.tensors(), {o.data(), lse.data()});
        plan->run_backward(in.tensors(), o.data(), lse.data(), dout.data(), {dq.data(), dk.data(), dv.data()});
        // As tests/test_backward.cpp's flash backward bound: float32 products over two chunks of
        // keys (or rows), exp2 to ~2 ulp; the gathers and scatters are exact copies.
        CHECK(test::rel_err(dq, rq) <= 1e-5);
        CHECK(test::rel_err(dk, rk) <= 1e-5);
        CHECK(test::rel_err(dv, rv) <= 1e-5);
      }
    }
  }
  auto in = test::make_inputs(1, 1, 1, 50, 50, 8, false, 1);
  in.p.pass = Pass::fwdbwd;
  CHECK(make_variant("reformer:rounds=2")->unsupported_reason(in.p).find("rounds=1") != std::string::npos);
}
