#include "checked_attention.hpp"

#include <cmath>
#include <string>

#include "errors.hpp"
#include "precision.hpp"

namespace attn {

std::string run_checked(const Variant& v, const Problem& p, const Tensors& t, const Outputs& out, Isa max_isa) {
  check_problem(v, p);
  check_input_range(v, p, t);
  const auto plan = v.plan(p, max_isa);
  // Asked for and not given, lse would stay whatever the caller's buffer held.
  if (out.lse && !plan->gives_lse())
    throw UserError(v.spec() + " (" + plan->impl() + ") gives no log-sum-exp");
  // bf16 / f16 / int8: the inputs as the precision stores them, as `attnbench run` does.
  const StoredInputs stored = store_inputs(p, t);
  plan->run(stored.tensors(), out);
  const std::size_t n = static_cast<std::size_t>(p.B) * p.H * p.Nq * p.D;
  for (std::size_t i = 0; i < n; ++i)
    if (!std::isfinite(out.o[i]))
      throw UserError("output row " + std::to_string(i / p.D) + " is not finite: the inputs overflow float32 " +
                      "(scale them down)");
  return plan->impl();
}

}  // namespace attn
