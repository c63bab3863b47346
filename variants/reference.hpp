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

// Softmax probabilities of one query row over all Nk keys, in float64 (0 where invisible).
// Returns the row's log-sum-exp, ln sum_j e^(s_j) over its visible keys (-inf if none). With
// mods, the scores are modified as SPEC says, and a sink joins the denominator (the weights
// then sum to less than 1, and the log-sum-exp includes it).
double reference_softmax_weights(const Problem& p, const Tensors& t, const VisibleKeys& keys, int b, int h, long i,
                                 double* weights, const ScoreModifiers* mods = nullptr);

}  // namespace attn
