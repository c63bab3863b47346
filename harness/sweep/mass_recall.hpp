// mass_recall: the share of exact dense softmax probability mass that falls on the keys a
// variant visits, for sampled query rows (1 for exact variants). It says how much of the
// attention a sparse pattern can see at all, independently of the values.
#pragma once
#include <vector>

#include "variant.hpp"

namespace attn {

struct MassRecall {
  double mean = 1, min = 1;  // over the (batch, head, row) triples that see at least one key
};

// Dense probabilities in float64 (same causal rule and lengths as p) weighed by the variant's
// key_pattern(), for query rows `rows` of every batch item and head.
MassRecall measure_mass_recall(const Variant& v, const Problem& p, const Tensors& t, const std::vector<long>& rows);

}  // namespace attn
