// attnbench's public C++ API: the one header a program that uses the installed library includes
// (#include <attnbench/attnbench.hpp>, link attnbench::attnbench or `pkg-config attnbench`).
//
//   attn::Problem p;                        // B, H, Hkv, Nq, Nk, D, causal, scale, lens, dtype, pass
//   auto v = attn::make_variant("window:left=64,right=0");   // any spec `attnbench list` shows
//   attn::run_checked(*v, p, {q, k, v_}, {o, nullptr}, attn::resolve_isa("auto"));
//
// run_checked() is `attnbench run`'s validated path. For repeated calls on one shape, do its
// steps once yourself: check_problem(), check_input_range(), store_inputs() (a copy in the
// problem's dtype; none for f32), v->plan(p, isa), then plan->run(stored.tensors(), outputs) as
// often as needed (plan->gives_lse() says whether Outputs::lse is filled). Bad input throws
// attn::UserError with a one-line message.
// The headers this one includes are installed beside it; include only this one.
#pragma once
#include <string>

#include "checked_attention.hpp"  // run_checked
#include "errors.hpp"             // UserError
#include "isa_choice.hpp"         // Isa, resolve_isa, supported_isas
#include "precision.hpp"          // store_inputs (bf16, f16, int8 inputs)
#include "problem.hpp"            // Problem, Tensors, Outputs, DType, Pass
#include "variant.hpp"            // Variant, Plan, make_variant, variant_registry, check_problem,
                                  // check_input_range

namespace attn {

// "OpenBLAS <kernel family>" that dense_blas runs, or "not loaded: <why>": machine info for
// records. Loads OpenBLAS on first use.
std::string blas_description();

}  // namespace attn

// The namespace under the library's own name, for code that prefers it.
namespace attnbench = attn;
