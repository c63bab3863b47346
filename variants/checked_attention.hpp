// `attnbench run`'s validated computation as one library call, for the C++ API and Python.
#pragma once
#include "isa.hpp"
#include "problem.hpp"
#include "variant.hpp"

namespace attn {

// check_problem, check_input_range, plan for max_isa, store_inputs (the problem's dtype), run,
// then every output element finite
// (finite inputs can still overflow float32). Inputs must be finite (callers check: they know
// the tensors' names). out.lse, when given, needs a plan that gives_lse(). Throws UserError with one line; out.o holds garbage after a throw.
// Returns the implementation that ran (Plan::impl()).
std::string run_checked(const Variant& v, const Problem& p, const Tensors& t, const Outputs& out, Isa max_isa);

}  // namespace attn
