// Accuracy of a backward case (SPEC: rel_err_dq, rel_err_dk, rel_err_dv), measured once and
// outside the timing, against the variant's float64 gradients (Variant::reference_backward).
// dK and dV need every query row, so the unit checked is a (batch, kv head) group: every group
// when the reference is cheap, otherwise as many whole groups as a fixed budget of float64
// multiply-adds allows (at least one, spread with a fixed seed), and none (nulls and a note)
// when a single group is beyond a hard cap.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "problem.hpp"
#include "variant.hpp"

namespace attn {

struct BackwardAccuracy {
  // Empty (null in JSON) when undefined: NaN/Inf in a gradient, an all-zero reference, or no
  // group affordable.
  std::optional<double> rel_err_dq, rel_err_dk, rel_err_dv, max_abs_err;
  std::string groups;  // "all", "sample:K" (K of B x Hkv groups) or "none"
  std::string note;    // why a value is missing, if one is
  // The largest of the three (SPEC: rel_err for bwd), null if any is.
  std::optional<double> rel_err() const;
};

// The groups (b * Hkv + g, increasing) the accuracy checks; O(groups) memory.
std::vector<long> backward_groups(const Problem& p);
// backward_groups(p).size() in O(1), for memory checks.
long backward_group_count(const Problem& p);
// Bytes of float64 buffers measure_backward_accuracy allocates (reference and gathered gradients).
double backward_accuracy_bytes(const Problem& p);

// got: the variant's float32 gradients for inputs t and dO dout.
BackwardAccuracy measure_backward_accuracy(const Variant& v, const Problem& p, const Tensors& t, const float* dout,
                                           const Gradients& got);

}  // namespace attn
