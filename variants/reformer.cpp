// reformer: LSH attention (Kitaev et al. 2020; SPEC "More variants"). Per hash round, queries
// and keys get angular-LSH buckets from one shared random rotation (variants/lsh_hash.hpp);
// queries of each (item, head) and keys of each (item, kv head) are sorted by bucket (stably:
// ties keep position order) and cut into chunks of `chunk` rows; query chunk c attends to key
// chunks c - 1 and c of the sorted keys. Rounds are combined by their log-sum-exp weights
// (each round's softmax normalised over the keys it saw, then weighted by
// e^lse_r / sum_r' e^lse_r'), as Reformer does; a pair met in several rounds counts in each.
// One bucket and chunk >= Nk is exact attention. Self-attention only (Nq == Nk), non-causal.
//
// The timed call: hash (float32 projections with the ISA's small GEMM, float64 on near ties),
// counting sort, gather Q, K, V into sorted order, then the flash engine on the gathered problem
// (B x rounds items) with a static chunk-band mask, then scatter and combine the rounds.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "errors.hpp"
#include "kernel_table.hpp"
#include "lsh_hash.hpp"
#include "masked_softmax_plan.hpp"
#include "reference.hpp"
#include "reference_backward.hpp"

namespace attn {

namespace {

struct Params {
  int buckets = 32, rounds = 1;
  long chunk = 64;
  unsigned seed = 0;
};

// Keys a sorted query row at rank i sees, in sorted key order: chunks c - 1 and c.
KeyRange chunk_band(long rank, long chunk) {
  const long c = rank / chunk;
  return {(c - 1) * chunk, (c + 1) * chunk - 1};
}

// The gathered problem's mask: a band of two chunks (the engine clips it to [0, Nk)).
class ChunkBandMask final : public AttentionMask {
 public:
  explicit ChunkBandMask(long chunk) : chunk_(chunk) {}
  KeyRange key_range(long i) const override { return chunk_band(i, chunk_); }

 private:
  long chunk_;
};

// Internal (not registered): runs the engine on the gathered problem.
class ChunkBand final : public MaskedSoftmaxVariant {
 public:
  explicit ChunkBand(long chunk) : chunk_(chunk) {}
  std::unique_ptr<AttentionMask> make_mask(const Problem&) const override {
    return std::make_unique<ChunkBandMask>(chunk_);
  }
  Rule rule(const Problem&) const override {
    return [c = chunk_](int, long i, long j) { return j / c >= i / c - 1 && j / c <= i / c; };
  }

 private:
  long chunk_;
};

Problem gathered_problem(const Problem& p, int rounds) {
  Problem g;
  g.B = p.B * rounds, g.H = p.H, g.Hkv = p.Hkv, g.Nq = p.Nq, g.Nk = p.Nk, g.D = p.D;
  g.scale = p.effective_scale();
  g.pass = p.pass;
  return g;
}

// Band sizes of every sorted rank (the same for every head and round): sum and per-row cap.
double band_pairs(long n, long chunk, int rounds, bool distinct_cap) {
  double total = 0;
  for (long i = 0; i < n; ++i) {
    const KeyRange r = chunk_band(i, chunk);
    const double band = static_cast<double>(std::min(r.hi, n - 1) - std::max(r.lo, 0L) + 1);
    total += distinct_cap ? std::min(static_cast<double>(n), rounds * band) : rounds * band;
  }
  return total;
}

// The float64 definition for one batch item: buckets from bucket_f64, stable sorts, and per
// (round, head, query row) the keys its chunk band covers. reference() and key_pattern_for()
// are built on it; the timed plan is not.
class LshChunks {
 public:
  LshChunks(const Problem& p, const Params& o, const lsh::Rotations& R, const Tensors& t, int b) : p_(p), o_(o) {
    const long N = p.Nk;
    q_rank_.resize(static_cast<std::size_t>(o.rounds) * p.H * N);
    k_order_.resize(static_cast<std::size_t>(o.rounds) * p.Hkv * N);
    std::vector<int> bucket(N);
    std::vector<long> idx(N);
    auto sorted = [&](const float* x, int round) {
      for (long i = 0; i < N; ++i) bucket[i] = lsh::bucket_f64(R, x + i * p.D, round);
      std::iota(idx.begin(), idx.end(), 0L);
      std::stable_sort(idx.begin(), idx.end(), [&](long a, long c) { return bucket[a] < bucket[c]; });
      return idx;
    };
    for (int r = 0; r < o.rounds; ++r) {
      for (int h = 0; h < p.H; ++h) {
        const auto order = sorted(t.q + (static_cast<long>(b) * p.H + h) * p.Nq * p.D, r);
        for (long rank = 0; rank < N; ++rank) q_rank_[(static_cast<long>(r) * p.H + h) * N + order[rank]] = rank;
      }
      for (int g = 0; g < p.Hkv; ++g) {
        const auto order = sorted(t.k + (static_cast<long>(b) * p.Hkv + g) * p.Nk * p.D, r);
        std::copy(order.begin(), order.end(), k_order_.begin() + (static_cast<long>(r) * p.Hkv + g) * N);
      }
    }
  }
  long query_rank(int r, int h, long i) const { return q_rank_[(static_cast<long>(r) * p_.H + h) * p_.Nk + i]; }
  std::vector<long> key_order(int r, int g) const {
    const long* order = k_order_.data() + (static_cast<long>(r) * p_.Hkv + g) * p_.Nk;
    return std::vector<long>(order, order + p_.Nk);
  }
  // Keys (original indices) query row i of head h sees in round r.
  std::vector<long> keys(int r, int h, long i) const {
    const long N = p_.Nk;
    const KeyRange band = chunk_band(q_rank_[(static_cast<long>(r) * p_.H + h) * N + i], o_.chunk);
    const long* order = k_order_.data() + (static_cast<long>(r) * p_.Hkv + p_.kv_head(h)) * N;
    return std::vector<long>(order + std::max(band.lo, 0L), order + std::min(band.hi, N - 1) + 1);
  }

 private:
  const Problem& p_;
  Params o_;
  std::vector<long> q_rank_, k_order_;
};

class ReformerPattern final : public KeyPattern {
 public:
  ReformerPattern(const Problem& p, const Params& o, const Tensors& t, int b)
      : p_(p), o_(o), rot_(lsh::make_rotations(p.D, o.buckets, o.rounds, o.seed)), chunks_(p_, o, rot_, t, b) {}
  int layout_heads() const override { return p_.H; }
  void mark_row(int h, long i, uint8_t* row) const override {
    std::fill(row, row + p_.Nk, uint8_t{0});
    for (int r = 0; r < o_.rounds; ++r)
      for (long j : chunks_.keys(r, h, i)) row[j] = 1;
  }

 private:
  Problem p_;
  Params o_;
  lsh::Rotations rot_;
  LshChunks chunks_;
};

// Buffer sizes, in elements, of everything the plan holds besides the engine's plan.
struct Sizes {
  std::size_t rot, q_rows, k_rows, ids, gathered_q, gathered_kv, lse, proj, backward;
  Sizes(const Problem& p, const Params& o, int threads) {
    const std::size_t N = p.Nk, R = o.rounds;
    const int cols = (o.rounds * (o.buckets / 2) + 15) / 16 * 16;
    rot = static_cast<std::size_t>(p.D) * cols;
    q_rows = R * p.B * p.H * N, k_rows = R * p.B * p.Hkv * N;
    // Bucket, perm and rank per row and round (int32), plus a bucket count per thread.
    ids = 3 * (q_rows + k_rows) + static_cast<std::size_t>(threads) * (o.buckets + 1);
    gathered_q = q_rows * p.D, gathered_kv = k_rows * p.D;
    lse = q_rows;
    proj = static_cast<std::size_t>(threads) * lsh::kBlockRows * cols;
    // The backward's sorted dO, dQ, dK, dV.
    backward = p.pass == Pass::fwd ? 0 : 2 * gathered_q + 2 * gathered_kv;
  }
  std::size_t floats() const { return 2 * gathered_q + 2 * gathered_kv + lse + proj + backward; }
  // Gathered Q, K, V and output, lse, projections, backward buffers (float), ids (int32), rotations.
  std::size_t bytes() const { return sizeof(float) * (floats() + rot) + sizeof(int32_t) * ids; }
};

// The gathered problem's engine plan: forward only, or forward and the flash backward.
std::unique_ptr<Plan> engine_plan(const ChunkBand& band, const Problem& g, const FlashForwardImpl& impl, Isa max_isa) {
  if (g.pass == Pass::fwd) return band.plan_with(g, impl);
  return band.plan_backward_with(g, impl, *flash_backward_impl(g, max_isa));
}

// Records' impl: the hash GEMM's ISA, then what the engine runs (fwdbwd: forward + backward).
std::string plan_name(const Problem& g, const FlashForwardImpl& impl, Isa max_isa) {
  const FlashBackwardImpl* bwd = flash_backward_impl(g, max_isa);
  const std::string engine = !bwd ? impl.name : g.pass == Pass::bwd ? bwd->name : impl.name + "+" + bwd->name;
  return "f32-lsh-gemm-" + std::string(isa_name(impl.isa)) + "+" + engine;
}

class ReformerPlan final : public Plan {
 public:
  ReformerPlan(const Problem& p, const Params& o, const FlashForwardImpl& impl, Isa max_isa)
      : Plan(p, plan_name(gathered_problem(p, o.rounds), impl, max_isa), omp_get_max_threads()),
        o_(o),
        rot_(lsh::make_rotations(p.D, o.buckets, o.rounds, o.seed)),
        gemm_(kernel_table(impl.isa).gemm),
        band_(o.chunk),
        gp_(gathered_problem(p, o.rounds)),
        engine_(engine_plan(band_, gp_, impl, max_isa)),
        n_(p, o, threads()),
        ids_(n_.ids, 0),
        floats_(n_.floats()) {
    std::memset(floats_.data(), 0, n_.floats() * sizeof(float));  // touch the pages now
    float* f = floats_.data();
    for (float** slot : {&qs_, &os_, &dos_, &dqs_}) {
      *slot = f;
      f += slot == &dos_ || slot == &dqs_ ? (n_.backward ? n_.gathered_q : 0) : n_.gathered_q;
    }
    for (float** slot : {&ks_, &vs_, &dks_, &dvs_}) {
      *slot = f;
      f += slot == &dks_ || slot == &dvs_ ? (n_.backward ? n_.gathered_kv : 0) : n_.gathered_kv;
    }
    lse_ = f, f += n_.lse;
    proj_ = f;
  }
  std::size_t workspace_bytes() const override { return n_.bytes() + engine_->workspace_bytes(); }
  // One round: the engine's log-sum-exp of each row is the row's.
  bool gives_lse() const override { return o_.rounds == 1; }
  void run(const Tensors& in, const Outputs& out) override;
  bool gives_backward() const override { return engine_->gives_backward(); }
  void run_backward(const Tensors& in, const float* o, const float* lse, const float* dout,
                    const Gradients& g) override;

 private:
  // ids_: [q bucket | q perm | q rank] over q_rows, [k bucket | k perm | k rank] over k_rows,
  // each as [round][slice][N]; then one bucket count per thread.
  int32_t* q_ids(int which) { return ids_.data() + which * n_.q_rows; }
  int32_t* k_ids(int which) { return ids_.data() + 3 * n_.q_rows + which * n_.k_rows; }
  int32_t* counts(int thread) { return ids_.data() + 3 * (n_.q_rows + n_.k_rows) + thread * (o_.buckets + 1); }

  // Hashes and sorts rows slice s (of `slices`, N rows each) of x, every round.
  void hash_slice(const float* x, long s, long slices, int32_t* const ids[3], int thread) {
    const long N = problem().Nk;
    float* proj = proj_ + static_cast<std::size_t>(thread) * lsh::kBlockRows * rot_.cols;
    lsh::hash_rows(rot_, gemm_, x + s * N * problem().D, N, proj, ids[0] + s * N, slices * N);
    for (int r = 0; r < o_.rounds; ++r) {
      const long at = (r * slices + s) * N;
      lsh::sort_by_bucket(ids[0] + at, N, o_.buckets, counts(thread), ids[1] + at, ids[2] + at);
    }
  }
  // Hash, sort and gather Q, K, V into sorted order (gathered item r * B + b is round r of b).
  void sort_inputs(const Tensors& in);

  Params o_;
  lsh::Rotations rot_;
  lsh::GemmFn gemm_;
  ChunkBand band_;
  Problem gp_;
  std::unique_ptr<Plan> engine_;
  Sizes n_;
  std::vector<int32_t> ids_;
  AlignedBuffer floats_;
  float *qs_, *ks_, *vs_, *os_, *lse_, *proj_, *dos_, *dqs_, *dks_, *dvs_;
};

// Copies rows: dst[perm[i]] = src[i] (scatter) or dst[i] = src[perm[i]] (gather), n rows of D.
void move_rows(const float* src, float* dst, const int32_t* perm, long n, long D, bool scatter) {
  const std::size_t bytes = sizeof(float) * D;
  if (scatter)
    for (long i = 0; i < n; ++i) std::memcpy(dst + perm[i] * D, src + i * D, bytes);
  else
    for (long i = 0; i < n; ++i) std::memcpy(dst + i * D, src + perm[i] * D, bytes);
}

void ReformerPlan::sort_inputs(const Tensors& in) {
  const Problem& P = problem();
  const long N = P.Nk, D = P.D, R = o_.rounds;
  const long q_slices = static_cast<long>(P.B) * P.H, k_slices = static_cast<long>(P.B) * P.Hkv;
  int32_t* const q[3] = {q_ids(0), q_ids(1), q_ids(2)};
  int32_t* const k[3] = {k_ids(0), k_ids(1), k_ids(2)};
#pragma omp parallel num_threads(threads())
  {
    const int thread = omp_get_thread_num();
#pragma omp for schedule(dynamic)
    for (long s = 0; s < q_slices + k_slices; ++s) {
      if (s < q_slices) hash_slice(in.q, s, q_slices, q, thread);
      else hash_slice(in.k, s - q_slices, k_slices, k, thread);
    }
#pragma omp for schedule(static)
    for (long t = 0; t < R * (q_slices + k_slices); ++t) {
      const long r = t / (q_slices + k_slices), s = t % (q_slices + k_slices);
      if (s < q_slices) {
        const long at = (r * q_slices + s) * N;
        move_rows(in.q + s * N * D, qs_ + at * D, q[1] + at, N, D, false);
      } else {
        const long g = s - q_slices, at = (r * k_slices + g) * N;
        move_rows(in.k + g * N * D, ks_ + at * D, k[1] + at, N, D, false);
        move_rows(in.v + g * N * D, vs_ + at * D, k[1] + at, N, D, false);
      }
    }
  }
}

void ReformerPlan::run(const Tensors& in, const Outputs& out) {
  const Problem& P = problem();
  const long N = P.Nk, D = P.D, R = o_.rounds;
  const long q_slices = static_cast<long>(P.B) * P.H;
  sort_inputs(in);
  engine_->run({qs_, ks_, vs_}, {os_, lse_});
  const int32_t* rank = q_ids(2);
  // Scatter back and combine the rounds: weights e^lse_r / sum_r' e^lse_r'.
#pragma omp parallel for schedule(static) num_threads(threads())
  for (long s = 0; s < q_slices; ++s) {
    if (R == 1) {
      move_rows(os_ + s * N * D, out.o + s * N * D, q_ids(1) + s * N, N, D, true);
      if (out.lse)
        for (long i = 0; i < N; ++i) out.lse[s * N + i] = lse_[s * N + rank[s * N + i]];
      continue;
    }
    for (long i = 0; i < N; ++i) {
      float* o = out.o + (s * N + i) * D;
      float m = -INFINITY;
      for (long r = 0; r < R; ++r) m = std::max(m, lse_[(r * q_slices + s) * N + rank[(r * q_slices + s) * N + i]]);
      float total = 0;
      std::fill(o, o + D, 0.0f);
      for (long r = 0; r < R; ++r) {
        const long at = (r * q_slices + s) * N + rank[(r * q_slices + s) * N + i];
        const float w = std::exp(lse_[at] - m);
        total += w;
        const float* os = os_ + at * D;
        for (long d = 0; d < D; ++d) o[d] += w * os[d];
      }
      for (long d = 0; d < D; ++d) o[d] /= total;
    }
  }
}

// One round (the plan refuses more for a backward): gradients of the gathered problem, whose
// keys are a permutation of the original ones, scattered back. The buckets are piecewise
// constant in Q and K, so no gradient flows through the hashing (as in Reformer).
void ReformerPlan::run_backward(const Tensors& in, const float* o, const float* lse, const float* dout,
                                const Gradients& g) {
  if (!gives_backward()) return Plan::run_backward(in, o, lse, dout, g);
  const Problem& P = problem();
  const long N = P.Nk, D = P.D;
  const long q_slices = static_cast<long>(P.B) * P.H, k_slices = static_cast<long>(P.B) * P.Hkv;
  sort_inputs(in);  // the permutation is part of the backward's work too
  const int32_t* q_perm = q_ids(1);
  const int32_t* k_perm = k_ids(1);
#pragma omp parallel for schedule(static) num_threads(threads())
  for (long s = 0; s < q_slices; ++s) {
    move_rows(o + s * N * D, os_ + s * N * D, q_perm + s * N, N, D, false);
    move_rows(dout + s * N * D, dos_ + s * N * D, q_perm + s * N, N, D, false);
    move_rows(lse + s * N, lse_ + s * N, q_perm + s * N, N, 1, false);
  }
  engine_->run_backward({qs_, ks_, vs_}, os_, lse_, dos_, {dqs_, dks_, dvs_});
#pragma omp parallel for schedule(static) num_threads(threads())
  for (long s = 0; s < q_slices + k_slices; ++s) {
    if (s < q_slices) {
      move_rows(dqs_ + s * N * D, g.dq + s * N * D, q_perm + s * N, N, D, true);
    } else {
      const long t = s - q_slices;
      move_rows(dks_ + t * N * D, g.dk + t * N * D, k_perm + t * N, N, D, true);
      move_rows(dvs_ + t * N * D, g.dv + t * N * D, k_perm + t * N, N, D, true);
    }
  }
}

// Reformer's visibility in the original order for one item (one round): what the backward's
// float64 reference applies.
class ChunkBandsInOrder final : public AttentionMask {
 public:
  ChunkBandsInOrder(const Problem& p, const Params& o, const lsh::Rotations& R, const Tensors& t, int b)
      : p_(p), chunk_(o.chunk), k_rank_(static_cast<std::size_t>(p.Hkv) * p.Nk), q_band_(static_cast<std::size_t>(p.H) * p.Nq) {
    const LshChunks chunks(p, o, R, t, b);
    for (int g = 0; g < p.Hkv; ++g) {
      const auto order = chunks.key_order(0, g);
      for (long rank = 0; rank < p.Nk; ++rank) k_rank_[g * p.Nk + order[rank]] = rank;
    }
    for (int h = 0; h < p.H; ++h)
      for (long i = 0; i < p.Nq; ++i) q_band_[h * p.Nq + i] = chunk_band(chunks.query_rank(0, h, i), chunk_);
  }
  bool has_holes() const override { return true; }
  int layout_heads() const override { return p_.H; }
  bool visible(int h, long i, long j) const override {
    const long rank = k_rank_[p_.kv_head(h) * p_.Nk + j];
    const KeyRange band = q_band_[h * p_.Nq + i];
    return rank >= band.lo && rank <= band.hi;
  }

 private:
  const Problem& p_;
  long chunk_;
  std::vector<long> k_rank_;
  std::vector<KeyRange> q_band_;
};

class Reformer final : public Variant {
 public:
  explicit Reformer(Params o) : o_(o) {}
  bool exact() const override { return false; }
  bool data_dependent() const override { return true; }
  // A head's queries are sorted together: one query's hash moves the others between chunks.
  bool mixes_query_rows() const override { return true; }
  // float32; the backward with one round (shape_reason).
  bool implemented(DType d, Pass) const override { return d == DType::f32; }

  std::string shape_reason(const Problem& p) const override {
    if (p.Nq != p.Nk)
      return "reformer sorts queries and keys into one chunk order (self-attention): needs Nq == Nk, got Nq=" +
             std::to_string(p.Nq) + " Nk=" + std::to_string(p.Nk);
    if (p.causal) return "causal reformer (a position mask inside the sorted chunks) is not implemented";
    if (p.has_lens()) return "reformer with --lens (variable lengths) is not implemented";
    if (p.pass != Pass::fwd && o_.rounds > 1)
      return "the reformer backward is implemented for rounds=1 only (not through the rounds' log-sum-exp weights)";
    return "";
  }

  // Distinct keys per row are at most rounds x (two chunks), and at most Nk.
  double visible_pairs(const Problem& p) const override {
    return band_pairs(p.Nk, o_.chunk, o_.rounds, true) * p.B * p.H;
  }
  // 4 D per pair each round attends to, plus the hash projections (2 D per rotation column,
  // for every query head's rows and every kv head's rows).
  double flops(const Problem& p) const override {
    const double attend = 4.0 * p.D * band_pairs(p.Nk, o_.chunk, o_.rounds, false) * p.B * p.H;
    const double hash = o_.buckets == 1 ? 0.0
                                        : 2.0 * p.D * (o_.buckets / 2) * o_.rounds * static_cast<double>(p.Nk) * p.B *
                                              (p.H + p.Hkv);
    return attend + hash;
  }

  std::size_t workspace_bytes(const Problem& p, Isa isa) const override {
    const Problem g = gathered_problem(p, o_.rounds);
    return Sizes(p, o_, omp_get_max_threads()).bytes() + ChunkBand(o_.chunk).workspace_bytes(g, isa);
  }
  WorkspaceRange workspace_range(const Problem& p, Isa isa) const override {
    const Problem g = gathered_problem(p, o_.rounds);
    const double own = static_cast<double>(Sizes(p, o_, omp_get_max_threads()).bytes());
    const WorkspaceRange e = ChunkBand(o_.chunk).workspace_range(g, isa);
    return {own + e.floor, own + e.bound};
  }

  std::unique_ptr<Plan> plan(const Problem& p, Isa max_isa) const override {
    return std::make_unique<ReformerPlan>(p, o_, flash_impl(gathered_problem(p, o_.rounds), max_isa), max_isa);
  }

  // float64: each round's softmax over its chunk band (LshChunks), combined by e^lse.
  void reference(const Problem& p, const Tensors& t, const std::vector<long>& rows, double* out) const override {
    const lsh::Rotations rot = lsh::make_rotations(p.D, o_.buckets, o_.rounds, o_.seed);
    const long nr = static_cast<long>(rows.size()), D = p.D;
    const double scale = p.effective_scale();
    for (int b = 0; b < p.B; ++b) {
      const LshChunks chunks(p, o_, rot, t, b);
#pragma omp parallel for schedule(dynamic)
      for (long task = 0; task < p.H * nr; ++task) {
        const int h = static_cast<int>(task / nr);
        const long i = rows[task % nr];
        const long kvh = static_cast<long>(b) * p.Hkv + p.kv_head(h);
        const float* q = t.q + ((static_cast<long>(b) * p.H + h) * p.Nq + i) * D;
        std::vector<double> lse(o_.rounds), o_r(static_cast<std::size_t>(o_.rounds) * D, 0.0);
        for (int r = 0; r < o_.rounds; ++r) {
          const std::vector<long> keys = chunks.keys(r, h, i);
          std::vector<double> s(keys.size());
          double mx = -INFINITY;
          for (std::size_t n = 0; n < keys.size(); ++n) {
            const float* k = t.k + (kvh * p.Nk + keys[n]) * D;
            double dot = 0;
            for (long d = 0; d < D; ++d) dot += static_cast<double>(q[d]) * k[d];
            s[n] = dot * scale;
            mx = std::max(mx, s[n]);
          }
          double sum = 0;
          for (double& x : s) sum += (x = std::exp(x - mx));
          for (std::size_t n = 0; n < keys.size(); ++n) {
            const float* v = t.v + (kvh * p.Nk + keys[n]) * D;
            for (long d = 0; d < D; ++d) o_r[r * D + d] += s[n] / sum * v[d];
          }
          lse[r] = mx + std::log(sum);
        }
        const double m = *std::max_element(lse.begin(), lse.end());
        double total = 0;
        for (double x : lse) total += std::exp(x - m);
        double* o = out + ((static_cast<long>(b) * p.H + h) * nr + task % nr) * D;
        std::fill(o, o + D, 0.0);
        for (int r = 0; r < o_.rounds; ++r)
          for (long d = 0; d < D; ++d) o[d] += std::exp(lse[r] - m) / total * o_r[r * D + d];
      }
    }
  }

  // float64 gradients (one round): softmax attention under each item's chunk bands, in the
  // original order (variants/reference_backward.hpp), item by item.
  void reference_backward(const Problem& p, const Tensors& t, const float* dout, const std::vector<long>& groups_in,
                          const GradientsF64& out) const override {
    if (o_.rounds != 1) throw UserError(spec() + ": " + shape_reason(p));
    std::vector<long> groups = groups_in;
    if (groups.empty())
      for (long g = 0; g < static_cast<long>(p.B) * p.Hkv; ++g) groups.push_back(g);
    const lsh::Rotations rot = lsh::make_rotations(p.D, o_.buckets, o_.rounds, o_.seed);
    const long per_q = static_cast<long>(p.H / p.Hkv) * p.Nq * p.D, per_kv = static_cast<long>(p.Nk) * p.D;
    Problem one = p;
    one.B = 1;
    for (std::size_t first = 0; first < groups.size();) {
      const int b = static_cast<int>(groups[first] / p.Hkv);
      std::size_t last = first;
      std::vector<long> mine;
      for (; last < groups.size() && groups[last] / p.Hkv == b; ++last) mine.push_back(groups[last] % p.Hkv);
      const Tensors tb{t.q + static_cast<long>(b) * p.H * p.Nq * p.D, t.k + static_cast<long>(b) * p.Hkv * per_kv,
                       t.v + static_cast<long>(b) * p.Hkv * per_kv};
      const ChunkBandsInOrder mask(one, o_, rot, tb, 0);
      reference_softmax_backward(one, tb, VisibleKeys(one, mask), dout + static_cast<long>(b) * p.H * p.Nq * p.D, mine,
                                 {out.dq + first * per_q, out.dk + first * per_kv, out.dv + first * per_kv});
      first = last;
    }
  }

  std::unique_ptr<KeyPattern> key_pattern(const Problem& p) const override { return all_keys_pattern(p); }
  std::unique_ptr<KeyPattern> key_pattern_for(const Problem& p, const Tensors& t, int b) const override {
    return std::make_unique<ReformerPattern>(p, o_, t, b);
  }

 private:
  Params o_;
};

}  // namespace

VariantInfo variant_info_reformer() {
  return {"reformer",
          "LSH attention (Reformer): shared random rotations hash q and k into buckets, rows sorted by bucket, each "
          "chunk attends to itself and the previous chunk",
          {{"buckets", "32", "hash buckets per round (1 or even, at most 4096): argmax over [xR; -xR], R random [D, buckets/2]"},
           {"rounds", "1", "hash rounds (at most 16), combined by their log-sum-exp"},
           {"chunk", "64", "rows per chunk of the sorted order; a chunk attends to itself and the previous one"},
           {"seed", "0", "seed of the random rotations"}},
          [](const Options& o) -> std::unique_ptr<Variant> {
            Params params;
            params.buckets = static_cast<int>(o.get_int("buckets", 1, 4096));
            if (params.buckets != 1 && params.buckets % 2 != 0)
              throw UserError("variant 'reformer': buckets must be 1 or even (argmax over [xR; -xR]), got " +
                              std::to_string(params.buckets));
            params.rounds = static_cast<int>(o.get_int("rounds", 1, 16));
            params.chunk = o.get_int("chunk", 1, 1L << 40);
            params.seed = static_cast<unsigned>(o.get_int("seed", 0, 4294967295L));
            return std::make_unique<Reformer>(params);
          }};
}

}  // namespace attn
