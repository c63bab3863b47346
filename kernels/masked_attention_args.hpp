// What the tiled online-softmax engine needs: tensors, shapes, and a block plan that lists,
// per query tile, the key tiles to visit. Arch-independent; shared by every ISA build.
#pragma once
#include <cstddef>
#include <cstdint>

#include "problem.hpp"

namespace attn {

// Engine tile sizes. Block plans and masks are built at this granularity.
constexpr int kTileQ = 64;
constexpr int kTileK = 64;
// The decode path (kernels/decode_attention.hpp) takes problems with at most this many queries.
constexpr int kDecodeMaxQ = 16;
// A decode task with at most this many query rows (the rows of one GQA group it serves) runs the
// few-rows tile (kernels/decode_rows.hpp): K and V read in place, nothing copied per tile. More
// rows amortise the prefill engine's transposed key tile and 6-row micro-kernels.
constexpr int kDecodeFewRows = 8;

// Which tiles the tasks of a decode problem run (decode_attention.hpp's task rows): with a
// layout shared by every head (layout_heads = 1) a task is up to kTileQ rows of a GQA group's
// (H / Hkv) x Nq; with per-head layouts a task is one head's Nq rows.
struct DecodeTiles {
  bool few_rows = false;    // some task has at most kDecodeFewRows rows
  bool transposed = false;  // some task has more
};
inline DecodeTiles decode_tiles(const Problem& p, int layout_heads) {
  if (layout_heads != 1) return {p.Nq <= kDecodeFewRows, p.Nq > kDecodeFewRows};
  const int rows = p.H / p.Hkv * p.Nq;
  const int last = rows - (rows - 1) / kTileQ * kTileQ;  // the last chunk's rows; the others have kTileQ
  return {last <= kDecodeFewRows, rows > kTileQ || last > kDecodeFewRows};
}

// empty: skipped. full: no element mask. band: each row sees one interval of keys (the band of
// causal/window/lengths cut it, holes do not), set by ElementMask::row_bands. partial: holes cut
// it, ElementMask::mark_row marks each row.
enum class TileKind : uint8_t { empty, partial, full, band };

struct TileRef {
  int32_t k_tile;
  TileKind kind;
};

// For batch item b, head h and query tile qt, the key tiles are
// refs[begin[slot(b, h, qt)] .. begin[slot(b, h, qt) + 1]).
struct TilePlanView {
  int layout_heads = 1;  // 1 (shared by every head) or H
  int q_tiles = 0;
  int k_tiles = 0;
  const uint32_t* begin = nullptr;
  const TileRef* refs = nullptr;
  int items = 1;  // 1 (shared by every batch item) or B (data-dependent plans such as block_topk)
  std::size_t slot(int b, int h, int qt) const {
    const std::size_t lh = (items == 1 ? 0 : static_cast<std::size_t>(b) * layout_heads) + (layout_heads == 1 ? 0 : h);
    return lh * q_tiles + qt;
  }
};

// Element visibility inside band and partial tiles.
class ElementMask {
 public:
  virtual ~ElementMask() = default;
  // visible[t] = 1 if query row i of head h sees key j0 + t, else 0, for t < n.
  virtual void mark_row(int h, long i, long j0, int n, uint8_t* visible) const = 0;
  // The bands of rows i0 .. i0 + n - 1 (holes ignored): row i0 + r may see keys [lo[r], hi[r])
  // (lo >= hi: none). Exact for every row of a band tile. The engine asks once per query tile
  // and clips the bands to each key tile itself.
  virtual void row_bands(long i0, int n, long* lo, long* hi) const = 0;
};

// Score modifiers (SPEC "More variants"), applied in registers after scaling, before the mask:
// softcap s = C tanh(s / C); ALiBi s += slope_h (j - p) (p the query's position); a learned sink
// logit per head joins the softmax denominator: O_i = sum_j e^s_ij v_j / (e^sink_h + sum_j e^s_ij).
struct ScoreModifiers {
  float softcap = 0.0f;            // C; 0: off
  const float* alibi = nullptr;    // [H] slopes, or null
  const float* sinks = nullptr;    // [H] sink logits, or null
  bool any() const { return softcap != 0.0f || alibi || sinks; }
};

struct MaskedAttentionArgs {
  const Problem* p = nullptr;  // shapes, causal, scale, lengths (rows past a length are zeros)
  Tensors in;
  Outputs out;
  TilePlanView plan;
  const ElementMask* mask = nullptr;  // needed only if the plan has band or partial tiles
  // The plan's buffer of masked_attention_workspace(p, threads) bytes, 64-byte aligned: packed
  // K (and V), then each thread's tile scratch. The engine allocates nothing itself.
  void* workspace = nullptr;
  int threads = 1;  // OpenMP threads the workspace was sized for
  // bf16 and int8 precision (SPEC): P is rounded to bf16 before P.V, the online softmax stays
  // float32. Q, K, V hold the stored precision's values already (variants/precision.hpp).
  bool round_p_bf16 = false;
  ScoreModifiers mods;
};

}  // namespace attn
