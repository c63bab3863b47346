// Accuracy of one case, measured once and outside the timing: against the variant's own
// float64 reference (max_abs_err, rel_err, cos_sim, rel_l1, rmse) and against exact dense
// attention (approx_err), all on the same rows.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "problem.hpp"
#include "variant.hpp"

namespace attn {

struct Accuracy {
  // Empty (null in JSON) when undefined: NaN/Inf in the output, or an all-zero reference.
  std::optional<double> max_abs_err, rel_err, approx_err;
  std::optional<double> cos_sim, rel_l1, rmse;
  std::string rows;                           // "all" or "sample:K"
  std::string note;                           // why a value is missing, if one is
};

// Query rows the accuracy uses: all of them when the float64 references are cheap enough,
// otherwise `sample` distinct rows drawn with a fixed seed (sorted).
std::vector<long> accuracy_rows(const Problem& p, long sample = 256);
// accuracy_rows(p, sample).size() in O(1), for memory checks before any row list is built.
long accuracy_row_count(const Problem& p, long sample = 256);

// `out` is the variant's float32 output [B, H, Nq, D] for inputs `t`.
Accuracy measure_accuracy(const Variant& v, const Problem& p, const Tensors& t, const float* out);

}  // namespace attn
