// float64 gradients of softmax attention, written from the definitions (FlashAttention-2's
// backward in exact arithmetic), for tests and the accuracy columns of a backward sweep.
#pragma once
#include <vector>

#include "attention_mask.hpp"
#include "masked_attention_args.hpp"
#include "problem.hpp"
#include "variant.hpp"

namespace attn {

// Gradients of sum(O * dO) for softmax attention over the keys `keys` lets each row see, for
// the (batch, key/value head) groups `groups` (layout: Variant::reference_backward). Per row i:
// P_i = softmax(scale q_i K^T) over its visible keys, O_i = P_i V, D_i = dO_i . O_i,
// dP_ij = dO_i . v_j, dS_ij = P_ij (dP_ij - D_i); dQ_i = scale sum_j dS_ij k_j,
// dK_j = scale sum_i dS_ij q_i, dV_j = sum_i P_ij dO_i (dK, dV summed over the group's heads).
// Rows that see no key and rows or keys past an item's length get zero gradients.
// Score modifiers (mods, optional): P is the modified softmax (a sink in its denominator, so
// D_i = dO_i . O_i still sums over the keys alone), ALiBi adds a constant to each score, and
// softcap s = C tanh(u / C) of u = scale q.k multiplies dS by ds/du = 1 - tanh(u / C)^2.
// Cost: about 6 Nq Nk D multiply-adds per query head.
void reference_softmax_backward(const Problem& p, const Tensors& t, const VisibleKeys& keys, const float* dout,
                                const std::vector<long>& groups, const GradientsF64& out,
                                const ScoreModifiers* mods = nullptr);

}  // namespace attn
