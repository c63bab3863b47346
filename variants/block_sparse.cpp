// block_sparse: attention through a block layout L[1 or H][ceil(Nq/b)][ceil(Nk/b)]: query row i
// of head h sees key j iff L[h or 0][i / b][j / b] != 0 (and causal, when on). The layout comes
// from a .npy file (layout=FILE.npy) or a generator (pattern=..., see block_patterns.hpp).
// The block size b need not divide 64 or N: the engine's 64 x 64 tiles ask the layout which
// blocks they overlap.
#include <algorithm>
#include <memory>

#include "block_patterns.hpp"
#include "errors.hpp"
#include "masked_softmax_variant.hpp"
#include "npy_read.hpp"

namespace attn {

namespace {
class BlockLayoutMask final : public AttentionMask {
 public:
  BlockLayoutMask(std::shared_ptr<const BlockLayout> layout, long block) : L_(std::move(layout)), block_(block) {}
  bool has_holes() const override { return true; }
  int layout_heads() const override { return L_->heads; }
  bool visible(int h, long i, long j) const override { return L_->at(head(h), i / block_, j / block_) != 0; }
  // One fill per layout block the keys overlap, not one visible() per key.
  void mark_holes(int h, long i, long j0, long j1, uint8_t* out) const override {
    const long qb = i / block_;
    for (long j = j0; j < j1;) {
      const long end = std::min(j1, (j / block_ + 1) * block_);
      std::fill(out + (j - j0), out + (end - j0), static_cast<uint8_t>(L_->at(head(h), qb, j / block_) != 0));
      j = end;
    }
  }
  // A tile is full iff every layout block it overlaps is on, empty iff none is.
  TileKind classify_holes(int h, long i0, long i1, long j0, long j1) const override {
    long on = 0, total = 0;
    for (long qb = i0 / block_; qb <= (i1 - 1) / block_; ++qb)
      for (long kb = j0 / block_; kb <= (j1 - 1) / block_; ++kb, ++total) on += L_->at(head(h), qb, kb) != 0;
    if (on == 0) return TileKind::empty;
    return on == total ? TileKind::full : TileKind::partial;
  }

 private:
  int head(int h) const { return L_->heads == 1 ? 0 : h; }
  std::shared_ptr<const BlockLayout> L_;
  long block_;
};

long blocks(long n, long b) { return (n + b - 1) / b; }
constexpr long kMaxLayoutCells = 1L << 28;  // 256 MiB of layout bytes

class BlockSparse final : public MaskedSoftmaxVariant {
 public:
  // From a generator.
  explicit BlockSparse(BlockPatternParams params) : params_(std::move(params)) {}
  // From a file: shape [heads, q_blocks, k_blocks] (or [q_blocks, k_blocks]), checked per problem.
  BlockSparse(long block, const std::string& path) {
    params_.block = block;
    const NpyInts a = read_npy_ints(path, kMaxLayoutCells);  // the same cap as a generated layout
    if (a.shape.size() != 2 && a.shape.size() != 3)
      throw UserError(path + ": a block layout must be 3-D [1 or H, q_blocks, k_blocks], got " +
                      std::to_string(a.shape.size()) + "-D");
    auto file = std::make_shared<BlockLayout>();
    file->heads = a.shape.size() == 3 ? static_cast<int>(a.shape[0]) : 1;
    file->q_blocks = a.shape[a.shape.size() - 2];
    file->k_blocks = a.shape.back();
    file->cells.resize(a.data.size());
    std::transform(a.data.begin(), a.data.end(), file->cells.begin(), [](long x) { return x != 0; });
    file_ = std::move(file);
    path_ = path;
  }

  std::vector<std::string> input_files() const override {
    std::vector<std::string> files = MaskedSoftmaxVariant::input_files();
    if (!path_.empty()) files.push_back(path_);
    return files;
  }

  // A generated layout holds one byte per block, per head for the random patterns; a file's is
  // loaded once, with the variant.
  int layout_heads(const Problem& p) const override {
    if (file_) return file_->heads;
    return params_.pattern == "bigbird" || params_.pattern == "random" ? p.H : 1;
  }
  std::size_t mask_bytes(const Problem& p) const override {
    return file_ ? 0 : static_cast<std::size_t>(layout_cells(p));
  }

  std::string shape_reason(const Problem& p) const override {
    const long b = params_.block, qb = blocks(p.Nq, b), kb = blocks(p.Nk, b);
    if (!file_) {
      const double cells = layout_cells(p);
      if (cells > kMaxLayoutCells)
        return "block=" + std::to_string(b) + " makes a layout of " + std::to_string(static_cast<long>(cells)) +
               " blocks for this problem (limit " + std::to_string(kMaxLayoutCells) + "); use a larger block";
      return "";
    }
    if ((file_->heads != 1 && file_->heads != p.H) || file_->q_blocks != qb || file_->k_blocks != kb)
      return "layout " + path_ + " has shape [" + std::to_string(file_->heads) + ", " +
             std::to_string(file_->q_blocks) + ", " + std::to_string(file_->k_blocks) + "] but block=" +
             std::to_string(b) + " with H=" + std::to_string(p.H) + ", Nq=" + std::to_string(p.Nq) +
             ", Nk=" + std::to_string(p.Nk) + " needs [1 or " + std::to_string(p.H) + ", " + std::to_string(qb) +
             ", " + std::to_string(kb) + "]";
    return "";
  }

  // L[h or 0][i / b][j / b] != 0 on the layout (file or generated) for this problem.
  Rule rule(const Problem& p) const override {
    auto layout = file_ ? file_ : std::make_shared<BlockLayout>(generate_block_layout(params_, p));
    return [layout, b = params_.block](int h, long i, long j) {
      return layout->at(layout->heads == 1 ? 0 : h, i / b, j / b) != 0;
    };
  }

  std::unique_ptr<AttentionMask> make_mask(const Problem& p) const override {
    const std::string why = unsupported_reason(p);
    if (!why.empty()) throw UserError("block_sparse: " + why);
    if (file_) return std::make_unique<BlockLayoutMask>(file_, params_.block);
    return std::make_unique<BlockLayoutMask>(std::make_shared<BlockLayout>(generate_block_layout(params_, p)),
                                             params_.block);
  }

 private:
  double layout_cells(const Problem& p) const {
    return double(layout_heads(p)) * blocks(p.Nq, params_.block) * blocks(p.Nk, params_.block);
  }

  BlockPatternParams params_;
  std::shared_ptr<const BlockLayout> file_;
  std::string path_;
};

std::unique_ptr<Variant> make_block_sparse(const Options& o) {
  const long block = o.get_int("block", 1, 1L << 30);
  if (o.has("layout")) {
    for (const char* key : {"pattern", "window", "stride", "summary", "global", "random", "seed"})
      if (o.has(key))
        throw UserError("block_sparse: option " + std::string(key) + " does not apply with layout=FILE.npy");
    return std::make_unique<BlockSparse>(block, o.get_string("layout"));
  }
  BlockPatternParams params;
  params.block = block;
  params.pattern = o.has("pattern") ? o.get_choice("pattern", block_pattern_names()) : "bigbird";
  o.record("pattern", params.pattern);
  const auto& used = block_pattern_options(params.pattern);
  for (const char* key : {"window", "stride", "summary", "global", "random", "seed"})
    if (o.has(key) && std::find(used.begin(), used.end(), key) == used.end())
      throw UserError("block_sparse: option " + std::string(key) + " does not apply to pattern=" + params.pattern);
  // Only the pattern's own options are read, so only they enter the canonical spec.
  auto get = [&](const char* key, long fallback, long min) {
    const bool applies = std::find(used.begin(), used.end(), key) != used.end();
    return applies ? o.get_int_or(key, fallback, min, key == std::string("seed") ? 1L << 62 : 1L << 30) : fallback;
  };
  params.window = get("window", params.pattern == "longformer" ? 2 : 1, 0);
  params.stride = get("stride", params.stride, 1);
  params.summary = get("summary", params.summary, 1);
  params.global = get("global", params.global, 0);
  params.random = get("random", params.pattern == "random" ? 3 : 2, 0);
  params.seed = static_cast<uint64_t>(get("seed", 0, 0));
  if (params.pattern == "fixed" && params.summary > params.stride)
    throw UserError("block_sparse: pattern=fixed needs summary <= stride");
  return std::make_unique<BlockSparse>(params);
}
}  // namespace

VariantInfo variant_info_block_sparse() {
  return {"block_sparse",
          "block-sparse attention over a b x b block layout (a generator pattern or layout=FILE.npy)",
          {{"block", "64", "block size b in rows/keys (any b >= 1)"},
           {"pattern", "", "local|strided|fixed|bigbird|longformer|random (default bigbird)"},
           {"layout", "", "int/bool .npy [1 or H, ceil(Nq/b), ceil(Nk/b)] instead of a pattern"},
           {"window", "", "local/bigbird/longformer: key blocks each side of the query's block (default 1; longformer 2)"},
           {"stride", "", "strided: every stride-th block back plus stride-1 neighbours; fixed: chunk length (default 4)"},
           {"summary", "", "fixed: last blocks of every chunk that all queries see (default 1)"},
           {"global", "", "bigbird/longformer: leading key blocks seen by all and seeing all (default 1)"},
           {"random", "", "bigbird/random: random key blocks per query block, different per head (default 2; random 3)"},
           {"seed", "", "bigbird/random: seed of the random blocks (default 0)"}},
          make_block_sparse,
          true};
}

}  // namespace attn
