// Block layouts for block-sparse attention: L[h][qb][kb] != 0 lets query rows of block qb
// (rows qb*b .. qb*b+b-1, row indices, not positions) see keys of block kb.
// The generators place their windows around each query block's *position* (bottom-right
// alignment, p = i + Nk - Nq), so Nq != Nk works the way the windowed variants do.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "problem.hpp"

namespace attn {

struct BlockLayout {
  int heads = 1;  // 1 (shared by every head) or H
  long q_blocks = 0, k_blocks = 0;
  std::vector<uint8_t> cells;  // [heads, q_blocks, k_blocks], 0 or 1
  uint8_t& at(int h, long qb, long kb) { return cells[(static_cast<std::size_t>(h) * q_blocks + qb) * k_blocks + kb]; }
  uint8_t at(int h, long qb, long kb) const {
    return cells[(static_cast<std::size_t>(h) * q_blocks + qb) * k_blocks + kb];
  }
};

// Parameters of every generator, in blocks; each pattern reads the ones it names.
struct BlockPatternParams {
  std::string pattern;  // local, strided, fixed, bigbird, longformer, random
  long block = 64;
  long window = 1;      // local, bigbird, longformer: key blocks on each side of the query's blocks
  long stride = 4;      // strided: every stride-th block back; fixed: chunk length in blocks
  long summary = 1;     // fixed: the last `summary` blocks of every chunk are seen by all
  long global = 1;      // bigbird, longformer: the first `global` key blocks are global
  long random = 2;      // bigbird, random: random key blocks per query block and head
  uint64_t seed = 0;
};

// The pattern names, for option help and error messages.
const std::vector<std::string>& block_pattern_names();
// Which params each pattern reads (besides block and pattern).
const std::vector<std::string>& block_pattern_options(const std::string& pattern);

// Builds the layout for this problem's Nq, Nk, H and causal flag (random blocks are drawn only
// from key blocks a causal query block can see). Throws UserError for an unknown pattern.
BlockLayout generate_block_layout(const BlockPatternParams& params, const Problem& p);

}  // namespace attn
