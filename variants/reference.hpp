// float64 references: the definitions of SPEC.md written as plainly as possible, for tests
// and for the accuracy columns of a sweep.
#pragma once
#include <vector>

#include "attention_mask.hpp"
#include "problem.hpp"

namespace attn {

// Softmax attention over the keys `keys` lets each row see (rows that see none give 0).
// out is [B, H, rows.size(), D]; rows at or past an item's length give 0.
// mods (optional): score modifiers applied as SPEC defines them (softcap, ALiBi, sinks).
void reference_softmax(const Problem& p, const Tensors& t, const VisibleKeys& keys, const std::vector<long>& rows,
                       double* out, const ScoreModifiers* mods = nullptr);
// The same for items [b0, b1) only, out [b1 - b0, H, rows.size(), D]: for variants whose visible
// keys depend on each item's inputs (one VisibleKeys per item).
void reference_softmax_items(const Problem& p, const Tensors& t, const VisibleKeys& keys, int b0, int b1,
                             const std::vector<long>& rows, double* out, const ScoreModifiers* mods = nullptr);

// Attention weights (float32) of items [b0, b1), the given heads and rows over all Nk keys:
// out [b1 - b0, heads.size(), rows.size(), Nk] (`attnbench run --weights`, mass_recall).
void reference_weights(const Problem& p, const Tensors& t, const VisibleKeys& keys, int b0, int b1,
                       const std::vector<int>& heads, const std::vector<long>& rows, float* out,
                       const ScoreModifiers* mods = nullptr);

// Softmax probabilities of one query row over all Nk keys, in float64 (0 where invisible).
// Returns the row's log-sum-exp, ln sum_j e^(s_j) over its visible keys (-inf if none). With
// mods, the scores are modified as SPEC says, and a sink joins the denominator (the weights
// then sum to less than 1, and the log-sum-exp includes it).
double reference_softmax_weights(const Problem& p, const Tensors& t, const VisibleKeys& keys, int b, int h, long i,
                                 double* weights, const ScoreModifiers* mods = nullptr);

}  // namespace attn
