// run --grad-out dO.npy --dq DQ.npy --dk DK.npy --dv DV.npy: the backward of `run` (SPEC,
// "Cases: shapes, precision, direction"): the gradients of sum(O * dO), dK and dV summed over
// the query heads that share a key/value head.
#pragma once
#include <string>
#include <vector>

#include "attention_inputs.hpp"
#include "output_file.hpp"
#include "variant.hpp"

namespace attn {

struct GradientRequest {
  std::string dout, dq, dk, dv;  // empty: not given
  bool given() const { return !dout.empty() || !dq.empty() || !dk.empty() || !dv.empty(); }
  // The outputs, for the output-target checks.
  std::vector<NamedPath> outputs() const { return {{"--dq", dq}, {"--dk", dk}, {"--dv", dv}}; }
};

// --grad-out and at least one of --dq, --dk, --dv come together; throws UserError otherwise.
void check_gradient_request(const GradientRequest& g);

// Bytes the backward adds to a run: dO, the log-sum-exp and the three gradients, float32.
double gradient_bytes(const Problem& p);

// The forward and the backward in one plan (pass fwdbwd): writes O to out_path and the requested
// gradients. dO must have O's shape and be finite; every output is checked finite before any is
// written. Returns the implementation that ran.
std::string run_forward_backward(const Variant& v, const AttentionInputs& in, const GradientRequest& g, Isa isa,
                          const std::string& out_path);

}  // namespace attn
