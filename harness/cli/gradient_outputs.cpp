#include "gradient_outputs.hpp"

#include <cmath>

#include "errors.hpp"
#include "npy.hpp"

namespace attn {

namespace {
std::string dims(const std::vector<long>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

// Finite inputs can still overflow float32 (scores, or dO times large values).
void require_finite(const std::vector<float>& x, const std::string& what) {
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!std::isfinite(x[i]))
      throw UserError(what + " element " + std::to_string(i) + " is not finite: the inputs overflow float32 " +
                      "(scale them down); nothing was written");
}

std::vector<float> load_grad_out(const std::string& path, const AttentionInputs& in) {
  NpyArray g = read_npy_floats(path);
  const std::vector<long> want = output_shape(in);
  if (g.shape != want)
    throw UserError(path + ": dO must have O's shape " + dims(want) + " (Q's shape), got " + dims(g.shape));
  for (std::size_t i = 0; i < g.data.size(); ++i)
    if (!std::isfinite(g.data[i]))
      throw UserError(path + ": element " + std::to_string(i) + " is " + (std::isnan(g.data[i]) ? "NaN" : "infinite") +
                      " (inputs must be finite)");
  return std::move(g.data);
}
}  // namespace

void check_gradient_request(const GradientRequest& g) {
  const bool outputs = !g.dq.empty() || !g.dk.empty() || !g.dv.empty();
  if (!g.dout.empty() && !outputs) throw UserError("--grad-out needs at least one of --dq, --dk, --dv");
  if (outputs && g.dout.empty()) throw UserError("--dq, --dk and --dv need --grad-out dO.npy (the gradient of O)");
}

double gradient_bytes(const Problem& p) {
  const double q = static_cast<double>(p.q_elems()), kv = static_cast<double>(p.kv_elems());
  return sizeof(float) * (2 * q + 2 * kv + static_cast<double>(p.B) * p.H * p.Nq);
}

std::string run_forward_backward(const Variant& v, const AttentionInputs& in, const GradientRequest& g, Isa isa,
                          const std::string& out_path) {
  const Problem& p = in.problem;
  const std::vector<float> dout = load_grad_out(g.dout, in);
  std::vector<float> o(p.q_elems()), lse(static_cast<std::size_t>(p.B) * p.H * p.Nq);
  std::vector<float> dq(p.q_elems()), dk(p.kv_elems()), dv(p.kv_elems());
  const auto plan = v.plan(p, isa);
  plan->run_forward_backward(in.tensors(), {o.data(), lse.data()}, dout.data(), {dq.data(), dk.data(), dv.data()});
  require_finite(o, "output");
  require_finite(dq, "dQ");
  require_finite(dk, "dK");
  require_finite(dv, "dV");
  write_npy(out_path, output_shape(in), o.data());
  if (!g.dq.empty()) write_npy(g.dq, output_shape(in), dq.data());
  if (!g.dk.empty()) write_npy(g.dk, kv_shape(in), dk.data());
  if (!g.dv.empty()) write_npy(g.dv, kv_shape(in), dv.data());
  return plan->impl();
}

}  // namespace attn
