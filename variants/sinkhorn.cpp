// sinkhorn: Sparse Sinkhorn attention (Tay et al. 2020; SPEC "More variants"). Keys are cut into
// blocks of `block`; a Sinkhorn-balanced permutation pi of the blocks (variants/sinkhorn_sort.hpp,
// one per item and kv head, from the key block means) sorts them; query block I attends to its
// own key block I and to key block pi(I), the block sorted into its place (once if pi(I) = I).
// Self-attention only (Nq == Nk), non-causal; block a multiple of 64 (the engine's tile).
//
// The sorting depends on K, so the plan computes it inside run() (timed): block means, logits,
// Sinkhorn iterations and the hard permutation in float64 (O(N D + nb D^2 + iters nb^2) per kv
// head, small beside the attention), then a per-call tile plan for the tiled engine, as block_topk.
#include <omp.h>

#include <algorithm>
#include <vector>

#include "errors.hpp"
#include "masked_softmax_plan.hpp"
#include "reference.hpp"
#include "sinkhorn_sort.hpp"

namespace attn {

namespace {

struct Params {
  long block = 64;
  int iters = 8;
  unsigned seed = 0;
};

long block_count(const Problem& p, const Params& o) { return (p.Nk + o.block - 1) / o.block; }

// The selection of one batch item (float64, from the definition), as a mask per head.
class SortedBlocks final : public AttentionMask {
 public:
  SortedBlocks(const Problem& p, const Params& o, const Tensors& t, int b) : H_(p.H), block_(o.block) {
    const long nb = block_count(p, o);
    nb_ = nb;
    pi_.assign(static_cast<std::size_t>(p.H) * nb, 0);
    const auto w = sinkhorn::sorting_weights(p.D, o.seed);
    std::vector<double> scratch(sinkhorn::scratch_doubles(nb, p.D));
    std::vector<int> pi(nb);
    for (int g = 0; g < p.Hkv; ++g) {
      sinkhorn::permutation(t.k + (static_cast<long>(b) * p.Hkv + g) * p.Nk * p.D, p.Nk, p.D, o.block, o.iters,
                            w.data(), scratch.data(), pi.data());
      for (int h = 0; h < p.H; ++h)
        if (p.kv_head(h) == g) std::copy(pi.begin(), pi.end(), pi_.begin() + h * nb);
    }
  }
  bool has_holes() const override { return true; }
  int layout_heads() const override { return H_; }
  bool visible(int h, long i, long j) const override {
    const long I = i / block_, J = j / block_;
    return J == I || J == pi_[h * nb_ + I];
  }

 private:
  int H_;
  long block_, nb_ = 0;
  std::vector<int> pi_;
};

class SortedPattern final : public KeyPattern {
 public:
  SortedPattern(const Problem& p, const Params& o, const Tensors& t, int b)
      : p_(p), mask_(p_, o, t, b), keys_(p_, mask_) {}
  int layout_heads() const override { return p_.H; }
  void mark_row(int h, long i, uint8_t* row) const override { keys_.mark_row(h, i, 0, p_.Nk, row); }

 private:
  Problem p_;
  SortedBlocks mask_;
  VisibleKeys keys_;
};

// Per-call buffers: pi per (item, kv head), the tile plan, per-thread sorting scratch.
struct Sizes {
  long nb, q_tiles, k_tiles, tiles_per_block, slots, cap;
  std::size_t scratch;  // doubles per thread
  Sizes(const Problem& p, const Params& o)
      : nb(block_count(p, o)),
        q_tiles((p.Nq + kTileQ - 1) / kTileQ),
        k_tiles((p.Nk + kTileK - 1) / kTileK),
        tiles_per_block(o.block / kTileK),
        slots(static_cast<long>(p.B) * p.H * q_tiles),
        cap(2 * tiles_per_block),
        scratch(sinkhorn::scratch_doubles(nb, p.D)) {}
  std::size_t bytes(const Problem& p, int threads) const {
    return sizeof(int) * static_cast<std::size_t>(p.B) * p.Hkv * nb + sizeof(uint32_t) * (slots + 1) +
           sizeof(TileRef) * slots * cap + sizeof(uint32_t) * slots + sizeof(double) * threads * scratch +
           sizeof(float) * static_cast<std::size_t>(p.D) * p.D;
  }
};

class SinkhornPlan final : public MaskedSoftmaxPlan {
 public:
  SinkhornPlan(const MaskedSoftmaxVariant& v, const Problem& p, const FlashForwardImpl& impl, const Params& o)
      : MaskedSoftmaxPlan(v, p, impl, false), o_(o), n_(problem(), o), w_(sinkhorn::sorting_weights(p.D, o.seed)) {
    const Problem& P = problem();
    pi_.assign(static_cast<std::size_t>(P.B) * P.Hkv * n_.nb, 0);
    begin_.assign(n_.slots + 1, 0);
    refs_.assign(static_cast<std::size_t>(n_.slots) * n_.cap, TileRef{0, TileKind::empty});
    count_.assign(n_.slots, 0);
    scratch_.assign(static_cast<std::size_t>(threads()) * n_.scratch, 0.0);
  }
  std::size_t workspace_bytes() const override {
    return MaskedSoftmaxPlan::workspace_bytes() + n_.bytes(problem(), threads());
  }

 protected:
  TilePlanView call_plan(const Tensors& in) override {
    const Problem& P = problem();
#pragma omp parallel num_threads(threads())
    {
#pragma omp for schedule(dynamic)
      for (long bg = 0; bg < static_cast<long>(P.B) * P.Hkv; ++bg)
        sinkhorn::permutation(in.k + bg * P.Nk * P.D, P.Nk, P.D, o_.block, o_.iters, w_.data(),
                              scratch_.data() + omp_get_thread_num() * n_.scratch, pi_.data() + bg * n_.nb);
#pragma omp for schedule(static)
      for (long s = 0; s < n_.slots; ++s) fill_slot(s);
    }
    uint32_t at = 0;
    for (long s = 0; s < n_.slots; ++s) {
      begin_[s] = at;
      std::copy_n(refs_.begin() + s * n_.cap, count_[s], refs_.begin() + at);
      at += count_[s];
    }
    begin_[n_.slots] = at;
    TilePlanView v{P.H, static_cast<int>(n_.q_tiles), static_cast<int>(n_.k_tiles), begin_.data(), refs_.data()};
    v.items = P.B;
    return v;
  }

 private:
  // Slot s = (b, h, query tile): the key tiles of block I and of block pi(I), ascending.
  void fill_slot(long s) {
    const Problem& P = problem();
    const long qt = s % n_.q_tiles, bh = s / n_.q_tiles;
    const int b = static_cast<int>(bh / P.H), h = static_cast<int>(bh % P.H);
    const long I = qt * kTileQ / o_.block;
    const long sorted = pi_[(static_cast<long>(b) * P.Hkv + P.kv_head(h)) * n_.nb + I];
    long blocks[2] = {std::min(I, sorted), std::max(I, sorted)};
    const int nblocks = I == sorted ? 1 : 2;
    const long i0 = qt * kTileQ, i1 = std::min<long>(i0 + kTileQ, P.Nq);
    TileRef* out = refs_.data() + s * n_.cap;
    count_[s] = 0;
    for (int n = 0; n < nblocks; ++n)
      for (long kt = blocks[n] * n_.tiles_per_block; kt < std::min((blocks[n] + 1) * n_.tiles_per_block, n_.k_tiles);
           ++kt) {
        const TileKind kind = keys().classify(h, i0, i1, kt * kTileK, std::min<long>((kt + 1) * kTileK, P.Nk));
        if (kind != TileKind::empty) out[count_[s]++] = {static_cast<int32_t>(kt), kind};
      }
  }

  Params o_;
  Sizes n_;
  std::vector<float> w_;
  std::vector<int> pi_;
  std::vector<uint32_t> begin_;
  std::vector<TileRef> refs_;
  std::vector<uint32_t> count_;
  std::vector<double> scratch_;
};

class Sinkhorn final : public MaskedSoftmaxVariant {
 public:
  explicit Sinkhorn(Params o) : o_(o) {}
  bool data_dependent() const override { return true; }
  Rule rule(const Problem&) const override { return {}; }  // none without K
  // No holes: VisibleKeys adds the key count, the plan picks the tiles per call.
  std::unique_ptr<AttentionMask> make_mask(const Problem&) const override { return std::make_unique<AttentionMask>(); }
  int layout_heads(const Problem& p) const override { return p.H; }
  bool implemented(DType d, Pass pass) const override { return d == DType::f32 && pass == Pass::fwd; }
  std::string shape_reason(const Problem& p) const override {
    if (o_.block % kTileK != 0)
      return "block must be a multiple of 64 (the engine's tile), got " + std::to_string(o_.block);
    if (p.Nq != p.Nk)
      return "sinkhorn pairs query block I with key blocks I and pi(I) (self-attention): needs Nq == Nk, got Nq=" +
             std::to_string(p.Nq) + " Nk=" + std::to_string(p.Nk);
    if (p.causal) return "causal sinkhorn (sorting restricted to past blocks) is not implemented";
    if (p.has_lens()) return "sinkhorn with --lens (variable lengths) is not implemented";
    return "";
  }

  std::unique_ptr<Plan> plan_with(const Problem& p, const FlashForwardImpl& impl) const override {
    return std::make_unique<SinkhornPlan>(*this, p, impl, o_);
  }
  std::size_t workspace_bytes(const Problem& p, Isa isa) const override {
    const int threads = omp_get_max_threads();
    return flash_impl(p, isa).workspace(p, threads) + Sizes(p, o_).bytes(p, threads);
  }
  WorkspaceRange workspace_range(const Problem& p, Isa isa) const override {
    const double w = static_cast<double>(workspace_bytes(p, isa));
    return {w, w};
  }

  // Shapes alone cannot tell pi: this counts pi(I) = I + 1 (mod nb), a permutation with no fixed
  // block (the count differs from the real one only through the short last block, or when pi
  // keeps blocks in place).
  double visible_pairs(const Problem& p) const override {
    const long nb = block_count(p, o_);
    auto len = [&](long J) { return std::min(o_.block, static_cast<long>(p.Nk) - J * o_.block); };
    double total = 0;
    for (long I = 0; I < nb; ++I) total += static_cast<double>(len(I)) * (len(I) + (nb > 1 ? len((I + 1) % nb) : 0));
    return total * p.B * p.H;
  }
  // 4 D per pair, plus the sorting: kbar W (2 nb D^2) and the logits (2 nb^2 D) per kv head.
  double flops(const Problem& p) const override {
    const double nb = static_cast<double>(block_count(p, o_));
    return 4.0 * p.D * visible_pairs(p) + p.B * p.Hkv * (2.0 * nb * p.D * p.D + 2.0 * nb * nb * p.D);
  }

  void reference(const Problem& p, const Tensors& t, const std::vector<long>& rows, double* out) const override {
    const std::size_t per_item = static_cast<std::size_t>(p.H) * rows.size() * p.D;
    for (int b = 0; b < p.B; ++b) {
      const SortedBlocks mask(p, o_, t, b);
      reference_softmax_items(p, t, VisibleKeys(p, mask), b, b + 1, rows, out + b * per_item);
    }
  }

  void weights(const Problem& p, const Tensors& t, const std::vector<int>& heads, const std::vector<long>& rows,
               float* out) const override {
    const std::size_t per_item = heads.size() * rows.size() * p.Nk;
    for (int b = 0; b < p.B; ++b) {
      const SortedBlocks mask(p, o_, t, b);
      reference_weights(p, t, VisibleKeys(p, mask), b, b + 1, heads, rows, out + b * per_item);
    }
  }

  // Which blocks a row reads depends on K: without inputs (`attnbench mask`) every key stands in.
  std::unique_ptr<KeyPattern> key_pattern(const Problem& p) const override { return all_keys_pattern(p); }
  std::unique_ptr<KeyPattern> key_pattern_for(const Problem& p, const Tensors& t, int b) const override {
    return std::make_unique<SortedPattern>(p, o_, t, b);
  }

 private:
  Params o_;
};
}  // namespace

VariantInfo variant_info_sinkhorn() {
  return {"sinkhorn",
          "Sparse Sinkhorn attention: key blocks sorted by a Sinkhorn-balanced permutation of block means; query block "
          "I attends to key block I and the block sorted into place I",
          {{"block", "64", "block size in rows/keys (a multiple of 64: the engine's tile)"},
           {"iters", "8", "Sinkhorn balancing iterations (row then column normalisation)"},
           {"seed", "0", "seed of the random sorting weights W [D, D]"}},
          [](const Options& o) -> std::unique_ptr<Variant> {
            Params params;
            params.block = o.get_int("block", 1, 1L << 20);
            params.iters = static_cast<int>(o.get_int("iters", 0, 1000));
            params.seed = static_cast<unsigned>(o.get_int("seed", 0, 4294967295L));
            return std::make_unique<Sinkhorn>(params);
          }};
}

}  // namespace attn
