// The one check that float32 arithmetic cannot overflow on given inputs, shared by every
// variant and ISA: inputs whose bound is too large are refused before anything runs, so no
// path ever turns an overflow into a silently wrong row (a masked inf score plus the -inf mask
// is NaN; an inf max turns a whole row into zeros).
#pragma once
#include "problem.hpp"

namespace attn {

class Variant;

// Magnitudes of the inputs, measured in float64 over the valid rows of every head.
struct InputMagnitudes {
  double q_norm = 0;  // largest L2 norm of a query row
  double k_norm = 0;  // largest L2 norm of a key row
  double v_abs = 0;   // largest |value| element
};

InputMagnitudes measure_inputs(const Problem& p, const Tensors& t);

// Intermediates stay below this (float32 max is 2^128; the head-room covers rounding, the
// engine's 2^8 lazy-rescale factor and differences of two scores).
constexpr double kFloat32SafeBound = 0x1p125;

// Throws UserError ("inputs overflow float32 ...") if v.intermediate_bound() for these inputs
// exceeds kFloat32SafeBound. Cost: one pass over Q, K, V.
void check_input_range(const Variant& v, const Problem& p, const Tensors& t);

}  // namespace attn
