// block_topk: MoBA/NSA-style dynamic block selection (SPEC "More variants"). The selection
// depends on Q and K, so the plan computes it inside run() (timed): key-block means per K/V head,
// query-block means, the top-k per (item, head, query block), written as a per-call tile plan
// into buffers sized at plan time; then the tiled engine runs on it.
#include <omp.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "block_topk_select.hpp"
#include "errors.hpp"
#include "masked_softmax_plan.hpp"
#include "reference.hpp"
#include "reference_backward.hpp"

namespace attn {

namespace {
using topk::Params;

// The selection of one batch item in float64, as a mask: what reference() and weights() apply.
class SelectedBlocks final : public AttentionMask {
 public:
  SelectedBlocks(const Problem& p, const Params& o, const Tensors& t, int b) : o_(o) {
    q_blocks_ = (p.Nq + o.block - 1) / o.block, k_blocks_ = (p.Nk + o.block - 1) / o.block;
    on_.assign(static_cast<std::size_t>(p.H) * q_blocks_ * k_blocks_, 0);
    const long vk = p.valid_k(b), D = p.D;
    std::vector<double> kbar(static_cast<std::size_t>(p.Hkv) * k_blocks_ * D, 0.0), qbar(D);
    for (int g = 0; g < p.Hkv; ++g)
      for (long j = 0; j < vk; ++j)
        for (long d = 0; d < D; ++d)
          kbar[(g * k_blocks_ + j / o.block) * D + d] +=
              t.k[((static_cast<long>(b) * p.Hkv + g) * p.Nk + j) * D + d] /
              static_cast<double>(std::min(o.block, vk - j / o.block * o.block));
    std::vector<std::pair<double, long>> cand(k_blocks_);
    std::vector<long> sel(k_blocks_);
    for (int h = 0; h < p.H; ++h)
      for (long qb = 0; qb < q_blocks_; ++qb) {
        const topk::BlockGeom geom = topk::geometry(p, o, b, qb);
        std::fill(qbar.begin(), qbar.end(), 0.0);
        for (long i = geom.i0; i < geom.i1; ++i)
          for (long d = 0; d < D; ++d)
            qbar[d] += t.q[((static_cast<long>(b) * p.H + h) * p.Nq + i) * D + d] / double(geom.i1 - geom.i0);
        const double* kb = kbar.data() + static_cast<std::size_t>(p.kv_head(h)) * k_blocks_ * D;
        auto score = [&](long J) {
          double s = 0;
          for (long d = 0; d < D; ++d) s += qbar[d] * kb[J * D + d];
          return s;
        };
        const long n = topk::select_blocks<double>(o, geom, score, cand.data(), sel.data());
        for (long s = 0; s < n; ++s) on_[(h * q_blocks_ + qb) * k_blocks_ + sel[s]] = 1;
      }
  }
  bool has_holes() const override { return true; }
  int layout_heads() const override { return static_cast<int>(on_.size() / (q_blocks_ * k_blocks_)); }
  bool visible(int h, long i, long j) const override {
    return on_[(h * q_blocks_ + i / o_.block) * k_blocks_ + j / o_.block] != 0;
  }

 private:
  Params o_;
  long q_blocks_, k_blocks_;
  std::vector<uint8_t> on_;
};

// One item's selection as a KeyPattern (owns the problem: VisibleKeys refers to it).
class SelectionPattern final : public KeyPattern {
 public:
  SelectionPattern(const Problem& p, const Params& o, const Tensors& t, int b)
      : p_(p), mask_(p_, o, t, b), keys_(p_, mask_) {}
  int layout_heads() const override { return p_.H; }
  void mark_row(int h, long i, uint8_t* row) const override { keys_.mark_row(h, i, 0, p_.Nk, row); }

 private:
  Problem p_;
  SelectedBlocks mask_;
  VisibleKeys keys_;
};

// Sizes of the per-call buffers. A block is `tiles` whole engine tiles (block = 64 m), so a
// selection is a list of whole key tiles and needs no element mask beyond causal and lengths.
struct Sizes {
  long tiles, q_tiles, k_tiles, q_blocks, k_blocks, slots, cap;
  Sizes(const Problem& p, const Params& o)
      : tiles(o.block / kTileK),
        q_tiles((p.Nq + kTileQ - 1) / kTileQ),
        k_tiles((p.Nk + kTileK - 1) / kTileK),
        q_blocks((p.Nq + o.block - 1) / o.block),
        k_blocks((p.Nk + o.block - 1) / o.block),
        slots(static_cast<long>(p.B) * p.H * q_tiles),
        cap(topk::max_selected(o, k_blocks) * tiles) {}
  // kbar^T per item and K/V head, the plan's begin and refs (twice with a backward: the
  // transposed plan and its fill cursors), per thread: qbar, candidates, ids.
  std::size_t bytes(const Problem& p, int threads) const {
    const std::size_t key_plan = p.pass == Pass::fwd ? 0
                                 : sizeof(uint32_t) * (2 * static_cast<std::size_t>(p.B) * p.H * k_tiles + 1) +
                                       sizeof(QueryTileRef) * slots * cap;
    return sizeof(float) * static_cast<std::size_t>(p.B) * p.Hkv * p.D * k_blocks + key_plan +
           sizeof(uint32_t) * (slots + 1) + sizeof(TileRef) * slots * cap +
           static_cast<std::size_t>(threads) *
               (sizeof(float) * (p.D + k_blocks) + sizeof(std::pair<float, long>) * k_blocks + sizeof(long) * cap);
  }
};

class BlockTopkPlan final : public MaskedSoftmaxPlan {
 public:
  BlockTopkPlan(const MaskedSoftmaxVariant& v, const Problem& p, const FlashForwardImpl& impl, const Params& o,
                const FlashBackwardImpl* backward = nullptr)
      : MaskedSoftmaxPlan(v, p, impl, false, backward), o_(o), n_(problem(), o) {
    const Problem& P = problem();
    kbar_t_.assign(static_cast<std::size_t>(P.B) * P.Hkv * P.D * n_.k_blocks, 0.0f);
    begin_.assign(n_.slots + 1, 0);
    refs_.assign(static_cast<std::size_t>(n_.slots) * n_.cap, TileRef{0, TileKind::empty});
    count_.assign(n_.slots, 0);
    qbar_.assign(static_cast<std::size_t>(threads()) * (P.D + n_.k_blocks), 0.0f);
    cand_.assign(static_cast<std::size_t>(threads()) * n_.k_blocks, {0.0f, 0L});
    ids_.assign(static_cast<std::size_t>(threads()) * n_.cap, 0);
    if (backward) {  // room for the transposed plan, so the timed call allocates nothing
      const std::size_t begins = static_cast<std::size_t>(P.B) * P.H * n_.k_tiles + 1;
      key_plan_.begin.reserve(begins);
      key_next_.reserve(begins);
      key_plan_.refs.reserve(static_cast<std::size_t>(n_.slots) * n_.cap);
    }
  }
  std::size_t workspace_bytes() const override {
    return MaskedSoftmaxPlan::workspace_bytes() + n_.bytes(problem(), threads());
  }

 protected:
  TilePlanView call_plan(const Tensors& in) override {
    const Problem& P = problem();
    const long D = P.D, K = n_.k_blocks, block = o_.block;
    const long selections = static_cast<long>(P.B) * P.H * n_.q_blocks;
#pragma omp parallel num_threads(threads())
    {
      // Key-block means, stored transposed ([d][J]) so the scores below run over J in
      // contiguous lanes: plain loops the compiler vectorises at -O3.
#pragma omp for schedule(static)
      for (long t = 0; t < static_cast<long>(P.B) * P.Hkv * K; ++t) {
        const long J = t % K, bg = t / K, vk = P.valid_k(static_cast<int>(bg / P.Hkv));
        const long j0 = J * block, j1 = std::min<long>(j0 + block, vk);
        float* kb = kbar_t_.data() + bg * D * K;
        float* acc = qbar_.data() + omp_get_thread_num() * (D + K);
        std::fill(acc, acc + D, 0.0f);
        const float* k = in.k + bg * P.Nk * D;
        for (long j = j0; j < j1; ++j)
          for (long d = 0; d < D; ++d) acc[d] += k[j * D + d];
        const float inv = j1 > j0 ? 1.0f / static_cast<float>(j1 - j0) : 0.0f;
        for (long d = 0; d < D; ++d) kb[d * K + J] = acc[d] * inv;
      }
#pragma omp for schedule(dynamic, 4)
      for (long s = 0; s < selections; ++s) select(in, s, omp_get_thread_num());
    }
    // Pack the slots' lists into one run (each slot wrote up to cap refs at s * cap).
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

  // The backward walks the same selection by key tile: selected again from Q and K (the
  // backward's own per-call work), then transposed.
  KeyTilePlanView call_key_plan(const Tensors& in) override {
    const TilePlanView v = call_plan(in);
    transpose_tile_plan(v, v.begin[n_.slots], key_plan_, key_next_);
    return key_plan_.view();
  }

 private:
  // Selection s = (b, h, query block): its query mean, the candidates' scores, the selection,
  // written as the key-tile lists of the block's query tiles.
  void select(const Tensors& in, long s, int thread) {
    const Problem& P = problem();
    const long D = P.D, K = n_.k_blocks;
    const long qb = s % n_.q_blocks, bh = s / n_.q_blocks;
    const int b = static_cast<int>(bh / P.H), h = static_cast<int>(bh % P.H);
    const long qt0 = qb * n_.tiles, qt1 = std::min(qt0 + n_.tiles, n_.q_tiles);
    const long slot0 = bh * n_.q_tiles;
    for (long qt = qt0; qt < qt1; ++qt) count_[slot0 + qt] = 0;
    const topk::BlockGeom g = topk::geometry(P, o_, b, qb);
    if (g.empty()) return;
    float* qbar = qbar_.data() + thread * (D + K);
    float* score = qbar + D;
    std::fill(qbar, qbar + D, 0.0f);
    const float* q = in.q + bh * P.Nq * D;
    for (long i = g.i0; i < g.i1; ++i)
      for (long d = 0; d < D; ++d) qbar[d] += q[i * D + d];
    // The mean's 1/rows does not change the order: scores use the row sum.
    const float* kb = kbar_t_.data() + (static_cast<long>(b) * P.Hkv + P.kv_head(h)) * D * K;
    const long n_cand = g.cand_end;
    std::fill(score, score + n_cand, 0.0f);
    for (long d = 0; d < D; ++d) {
      const float qd = qbar[d];
      const float* row = kb + d * K;
      for (long J = 0; J < n_cand; ++J) score[J] += qd * row[J];
    }
    long* ids = ids_.data() + thread * n_.cap;
    const long n = topk::select_blocks<float>(o_, g, [&](long J) { return score[J]; },
                                              cand_.data() + thread * K, ids);
    for (long qt = qt0; qt < qt1; ++qt) {
      const long i0 = qt * kTileQ, i1 = std::min<long>(i0 + kTileQ, P.Nq);
      TileRef* out = refs_.data() + (slot0 + qt) * n_.cap;
      uint32_t& count = count_[slot0 + qt];
      for (long t = 0; t < n; ++t)
        for (long kt = ids[t] * n_.tiles; kt < std::min((ids[t] + 1) * n_.tiles, n_.k_tiles); ++kt) {
          const long j0 = kt * kTileK;
          const TileKind kind = keys().classify(h, i0, i1, j0, std::min<long>(j0 + kTileK, P.Nk));
          if (kind != TileKind::empty) out[count++] = {static_cast<int32_t>(kt), kind};
        }
    }
  }

  Params o_;
  Sizes n_;
  std::vector<float> kbar_t_;
  std::vector<uint32_t> begin_;
  std::vector<TileRef> refs_;
  std::vector<uint32_t> count_;
  std::vector<float> qbar_;  // per thread: qbar [D], then scores [k_blocks]
  std::vector<std::pair<float, long>> cand_;
  std::vector<long> ids_;
  KeyTilePlan key_plan_;  // with a backward
  std::vector<uint32_t> key_next_;
};

class BlockTopk final : public MaskedSoftmaxVariant {
 public:
  explicit BlockTopk(Params o) : o_(o) {}
  bool data_dependent() const override { return true; }
  Rule rule(const Problem&) const override { return {}; }  // none without Q and K
  // No holes: VisibleKeys adds causal and the key count, the plan picks the tiles per call.
  std::unique_ptr<AttentionMask> make_mask(const Problem&) const override {
    return std::make_unique<AttentionMask>();
  }
  int layout_heads(const Problem& p) const override { return p.H; }
  // float32, forward and backward (the selection is constant almost everywhere: no gradient
  // flows through it, as in MoBA).
  bool implemented(DType d, Pass) const override { return d == DType::f32; }

  std::unique_ptr<Plan> plan_with(const Problem& p, const FlashForwardImpl& impl) const override {
    return std::make_unique<BlockTopkPlan>(*this, p, impl, o_);
  }
  std::unique_ptr<Plan> plan(const Problem& p, Isa max_isa) const override {
    return std::make_unique<BlockTopkPlan>(*this, p, flash_impl(p, max_isa), o_, flash_backward_impl(p, max_isa));
  }

  std::size_t workspace_bytes(const Problem& p, Isa isa) const override {
    const int threads = omp_get_max_threads();
    std::size_t engine = flash_impl(p, isa).workspace(p, threads);
    if (const FlashBackwardImpl* bwd = flash_backward_impl(p, isa)) engine = std::max(engine, bwd->workspace(p, threads));
    return engine + Sizes(p, o_).bytes(p, threads);
  }
  WorkspaceRange workspace_range(const Problem& p, Isa isa) const override {
    const double w = static_cast<double>(workspace_bytes(p, isa));
    return {w, w};
  }

  // Shapes alone cannot tell which blocks win: this counts a selection of the same size with
  // the lowest candidates (only a ragged last key block or causal cuts make the counts differ).
  double visible_pairs(const Problem& p) const override {
    const long q_blocks = (p.Nq + o_.block - 1) / o_.block, k_blocks = (p.Nk + o_.block - 1) / o_.block;
    std::vector<std::pair<int, long>> cand(k_blocks);
    std::vector<long> sel(k_blocks);
    double total = 0;
    for (int b = 0; b < (p.has_lens() ? p.B : 1); ++b) {
      const long vk = p.valid_k(b);
      for (long qb = 0; qb < q_blocks; ++qb) {
        const topk::BlockGeom g = topk::geometry(p, o_, b, qb);
        const long n = topk::select_blocks<int>(o_, g, [](long) { return 0; }, cand.data(), sel.data());
        for (long i = g.i0; i < g.i1; ++i) {
          const long end = p.causal ? std::min(vk, p.position(i) + 1) : vk;
          for (long s = 0; s < n; ++s)
            total += std::max(0L, std::min(end, (sel[s] + 1) * o_.block) - sel[s] * o_.block);
        }
      }
    }
    return total * p.H * (p.has_lens() ? 1 : p.B);
  }

  void reference(const Problem& p, const Tensors& t, const std::vector<long>& rows, double* out) const override {
    const ProblemModifiers mods(modifiers(), p);
    const std::size_t per_item = static_cast<std::size_t>(p.H) * rows.size() * p.D;
    for (int b = 0; b < p.B; ++b) {
      const SelectedBlocks mask(p, o_, t, b);
      reference_softmax_items(p, t, VisibleKeys(p, mask), b, b + 1, rows, out + b * per_item, &mods.view());
    }
  }

  // The float64 gradients under each item's float64 selection, group by group.
  void reference_backward(const Problem& p, const Tensors& t, const float* dout, const std::vector<long>& groups,
                          const GradientsF64& out) const override {
    const ProblemModifiers mods(modifiers(), p);
    const std::size_t qg = static_cast<std::size_t>(p.H / p.Hkv) * p.Nq * p.D, kg = static_cast<std::size_t>(p.Nk) * p.D;
    std::vector<long> all(static_cast<std::size_t>(p.B) * p.Hkv);
    std::iota(all.begin(), all.end(), 0L);
    const std::vector<long>& wanted = groups.empty() ? all : groups;
    for (int b = 0; b < p.B; ++b) {
      std::vector<long> mine;
      std::vector<std::size_t> at;  // positions of item b's groups in `wanted`
      for (std::size_t w = 0; w < wanted.size(); ++w)
        if (wanted[w] / p.Hkv == b) mine.push_back(wanted[w]), at.push_back(w);
      if (mine.empty()) continue;
      const SelectedBlocks mask(p, o_, t, b);
      const VisibleKeys keys(p, mask);
      std::vector<double> dq(mine.size() * qg), dk(mine.size() * kg), dv(mine.size() * kg);
      reference_softmax_backward(p, t, keys, dout, mine, {dq.data(), dk.data(), dv.data()}, &mods.view());
      for (std::size_t m = 0; m < mine.size(); ++m) {
        std::copy_n(dq.begin() + m * qg, qg, out.dq + at[m] * qg);
        std::copy_n(dk.begin() + m * kg, kg, out.dk + at[m] * kg);
        std::copy_n(dv.begin() + m * kg, kg, out.dv + at[m] * kg);
      }
    }
  }

  void weights(const Problem& p, const Tensors& t, const std::vector<int>& heads, const std::vector<long>& rows,
               float* out) const override {
    const ProblemModifiers mods(modifiers(), p);
    const std::size_t per_item = heads.size() * rows.size() * p.Nk;
    for (int b = 0; b < p.B; ++b) {
      const SelectedBlocks mask(p, o_, t, b);
      reference_weights(p, t, VisibleKeys(p, mask), b, b + 1, heads, rows, out + b * per_item, &mods.view());
    }
  }

  // Which keys a row reads depends on Q and K: without them (`attnbench mask`) every key stands
  // in; mass_recall asks key_pattern_for() with the inputs, one float64 selection per item.
  std::unique_ptr<KeyPattern> key_pattern(const Problem& p) const override { return all_keys_pattern(p); }
  std::unique_ptr<KeyPattern> key_pattern_for(const Problem& p, const Tensors& t, int b) const override {
    return std::make_unique<SelectionPattern>(p, o_, t, b);
  }

 private:
  Params o_;
};
}  // namespace

VariantInfo variant_info_block_topk() {
  return {"block_topk",
          "MoBA/NSA-style dynamic block selection: each query block sees its local blocks, sink blocks and the top-k key "
          "blocks by mean(q).mean(k)",
          {{"block", "64", "block size in rows/keys: a multiple of 64 (whole engine tiles)"},
           {"topk", "8", "key blocks selected per query block besides the local and sink blocks"},
           {"sink", "1", "leading key blocks every query block sees"}},
          [](const Options& o) -> std::unique_ptr<Variant> {
            Params params;
            params.block = o.get_int("block", 1, 1L << 20);
            // Smaller or ragged blocks would cut engine tiles with per-item holes, which the
            // engine's element masks (per head, not per batch item) cannot express.
            if (params.block % kTileK != 0)
              throw UserError("block_topk: block must be a multiple of " + std::to_string(kTileK) +
                              " (whole engine tiles), got " + std::to_string(params.block));
            params.topk = o.get_int("topk", 0, 1L << 20);
            params.sink = o.get_int("sink", 0, 1L << 20);
            return std::make_unique<BlockTopk>(params);
          },
          true};
}

}  // namespace attn
