// block_topk's selection rule (SPEC "More variants"), shared by the timed plan (float32 scores)
// and the float64 reference: per head and query block, the local blocks (those holding the block's
// positions), the first `sink` blocks and the `topk` best other candidates (ties: lower block).
#pragma once
#include <algorithm>
#include <utility>

#include "problem.hpp"

namespace attn::topk {

struct Params {
  long block = 64, topk = 8, sink = 1;
};

// Where query block qb of batch item b sits: its valid rows [i0, i1), its local key blocks
// [local_lo, local_hi] (empty when lo > hi), and the candidates [0, cand_end).
struct BlockGeom {
  long i0 = 0, i1 = 0, local_lo = 0, local_hi = -1, cand_end = 0, k_blocks = 0;
  bool empty() const { return i1 <= i0; }
};

inline BlockGeom geometry(const Problem& p, const Params& o, int b, long qb) {
  BlockGeom g;
  const long vq = p.valid_q(b), vk = p.valid_k(b);
  g.i0 = qb * o.block;
  g.i1 = std::min({g.i0 + o.block, static_cast<long>(p.Nq), vq});
  g.k_blocks = (vk + o.block - 1) / o.block;
  if (g.empty()) return g;
  const long first = p.position(g.i0), last = p.position(g.i1 - 1);
  const long lo = std::max(first, 0L), hi = std::min(last, vk - 1);
  if (lo <= hi) g.local_lo = lo / o.block, g.local_hi = hi / o.block;
  // With causal, a candidate's first key is at or before the block's last position.
  g.cand_end = !p.causal ? g.k_blocks : last < 0 ? 0 : std::min(g.k_blocks, last / o.block + 1);
  return g;
}

// Most blocks one query block can select (sink + local + topk, within the key blocks).
inline long max_selected(const Params& o, long k_blocks) {
  return std::min(k_blocks, o.sink + o.topk + 2);  // rows of one block hold at most 2 key blocks
}

// Writes the selected key blocks of g, ascending, to out (room for max_selected) and returns
// their count. score(J) ranks the candidates; cand is scratch for g.cand_end (score, block) pairs.
template <class T, class Score>
long select_blocks(const Params& o, const BlockGeom& g, const Score& score, std::pair<T, long>* cand, long* out) {
  if (g.empty()) return 0;
  long n = 0, c = 0;
  for (long j = 0; j < std::min(o.sink, g.k_blocks); ++j) out[n++] = j;
  for (long j = std::max(g.local_lo, 0L); j <= g.local_hi; ++j)
    if (j >= o.sink) out[n++] = j;
  for (long j = o.sink; j < g.cand_end; ++j)
    if (j < g.local_lo || j > g.local_hi) cand[c++] = {score(j), j};
  const long k = std::min(o.topk, c);
  // Larger score first; ties: lower block.
  auto better = [](const std::pair<T, long>& x, const std::pair<T, long>& y) {
    return x.first > y.first || (x.first == y.first && x.second < y.second);
  };
  if (k < c) std::nth_element(cand, cand + k, cand + c, better);
  for (long t = 0; t < k; ++t) out[n++] = cand[t].second;
  std::sort(out, out + n);
  return n;
}

}  // namespace attn::topk
