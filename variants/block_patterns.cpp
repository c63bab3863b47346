#include "block_patterns.hpp"

#include <algorithm>

#include "errors.hpp"

namespace attn {

namespace {
long floor_div(long a, long b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// splitmix64: a tiny generator whose output is the same on every compiler (std distributions
// are not), so a seed names the same layout everywhere.
uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The key blocks holding the positions of query block qb's first and last rows (clamped).
struct DiagonalBlocks {
  long lo, hi;
};
DiagonalBlocks diagonal_blocks(const Problem& p, long block, long qb, long k_blocks) {
  const long first = qb * block, last = std::min<long>(first + block, p.Nq) - 1;
  auto clamp = [&](long pos) { return std::clamp(floor_div(pos, block), 0L, k_blocks - 1); };
  return {clamp(p.position(first)), clamp(p.position(last))};
}

// Turns on `count` more key blocks of row (h, qb), drawn without replacement from the blocks
// 0..limit that are still off. Seeded per (seed, head, query block).
void add_random_blocks(BlockLayout& L, int h, long qb, long limit, long count, uint64_t seed) {
  std::vector<long> free_blocks;
  for (long kb = 0; kb <= limit; ++kb)
    if (!L.at(h, qb, kb)) free_blocks.push_back(kb);
  uint64_t state = seed * 0x2545F4914F6CDD1Dull + static_cast<uint64_t>(h) * 0x9E3779B97F4A7C15ull +
                   static_cast<uint64_t>(qb);
  const long n = std::min<long>(count, static_cast<long>(free_blocks.size()));
  for (long t = 0; t < n; ++t) {
    const long pick = t + static_cast<long>(splitmix64(state) % static_cast<uint64_t>(free_blocks.size() - t));
    std::swap(free_blocks[t], free_blocks[pick]);
    L.at(h, qb, free_blocks[t]) = 1;
  }
}
}  // namespace

const std::vector<std::string>& block_pattern_names() {
  static const std::vector<std::string> names = {"local", "strided", "fixed", "bigbird", "longformer", "random"};
  return names;
}

const std::vector<std::string>& block_pattern_options(const std::string& pattern) {
  static const std::vector<std::string> none, local = {"window"}, strided = {"stride"}, fixed = {"stride", "summary"},
                                              bigbird = {"window", "global", "random", "seed"},
                                              longformer = {"window", "global"}, random = {"random", "seed"};
  if (pattern == "local") return local;
  if (pattern == "strided") return strided;
  if (pattern == "fixed") return fixed;
  if (pattern == "bigbird") return bigbird;
  if (pattern == "longformer") return longformer;
  if (pattern == "random") return random;
  return none;
}

BlockLayout generate_block_layout(const BlockPatternParams& a, const Problem& p) {
  const std::string& name = a.pattern;
  const auto& names = block_pattern_names();
  if (std::find(names.begin(), names.end(), name) == names.end())
    throw UserError("block_sparse: unknown pattern '" + name +
                    "' (known: local, strided, fixed, bigbird, longformer, random)");
  if (name == "fixed" && a.summary > a.stride)
    throw UserError("block_sparse: pattern=fixed needs summary <= stride");
  BlockLayout L;
  L.heads = (name == "bigbird" || name == "random") ? p.H : 1;
  L.q_blocks = (p.Nq + a.block - 1) / a.block;
  L.k_blocks = (p.Nk + a.block - 1) / a.block;
  L.cells.assign(static_cast<std::size_t>(L.heads) * L.q_blocks * L.k_blocks, 0);
  for (long qb = 0; qb < L.q_blocks; ++qb) {
    const DiagonalBlocks d = diagonal_blocks(p, a.block, qb, L.k_blocks);
    const long limit = p.causal ? d.hi : L.k_blocks - 1;  // random blocks a causal row can use
    const bool global_row = d.lo < a.global;                // this query block holds global tokens
    for (long kb = 0; kb < L.k_blocks; ++kb) {
      bool on = false;
      if (name == "local") on = kb >= d.lo - a.window && kb <= d.hi + a.window;
      if (name == "strided")
        on = (kb >= d.lo - (a.stride - 1) && kb <= d.hi + (a.stride - 1)) || (d.hi - kb) % a.stride == 0;
      if (name == "fixed") {
        for (long dq = d.lo; dq <= d.hi; ++dq) on = on || kb / a.stride == dq / a.stride;
        on = on || kb % a.stride >= a.stride - a.summary;
      }
      if (name == "bigbird" || name == "longformer")
        on = global_row || kb < a.global || (kb >= d.lo - a.window && kb <= d.hi + a.window);
      for (int h = 0; h < L.heads; ++h) L.at(h, qb, kb) = on;
    }
    if (name == "bigbird" || name == "random")
      for (int h = 0; h < L.heads; ++h) add_random_blocks(L, h, qb, limit, a.random, a.seed);
  }
  return L;
}

}  // namespace attn
