// attnbench.attention(): the validated path of `attnbench run`, on arrays instead of files.
#include "array_inputs.hpp"
#include "calls.hpp"
#include "checked_attention.hpp"
#include "errors.hpp"
#include "isa_choice.hpp"
#include "memory.hpp"
#include "variant.hpp"
#include "workspace_fit.hpp"

namespace attn::py_module {

py::object attention(const py::object& q, const py::object& k, const py::object& v, const std::string& variant,
                     bool causal, std::optional<double> scale, const std::string& dtype, std::optional<long> threads,
                     const std::string& isa, const py::object& lens, bool return_lse) {
  const Isa max_isa = resolve_isa(isa);
  const ThreadCount thread_count(threads);  // plans and workspace sizes depend on it
  const auto var = make_variant(variant);
  const ArrayInputs in = array_inputs(q, k, v, lens);
  Problem p = in.problem;
  set_flags(p, causal, scale, dtype);
  check_problem(*var, p);

  const std::size_t rows = static_cast<std::size_t>(p.B) * p.H * p.Nq;
  const double out_bytes = static_cast<double>(rows) * (p.D + (return_lse ? 1 : 0)) * sizeof(float);
  // As `attnbench run`: the inputs are in memory; the outputs and the workspace must fit in what is left.
  const double limit = static_cast<double>(available_memory_bytes());
  const WorkspaceFit fit = fit_workspace(*var, p, max_isa, out_bytes, limit);
  if (!fit.fits)
    throw UserError(var->spec() + " needs " + (fit.exact ? "" : "at least ") + gib_text(fit.need) + " but only " +
                    gib_text(limit) + " is available");

  py::array_t<float> out(ArrayInputs::trailing({p.B, p.H, p.Nq, p.D}, in.q_rank));
  py::array_t<float> lse;
  if (return_lse) lse = py::array_t<float>(ArrayInputs::trailing({p.B, p.H, p.Nq}, in.q_rank - 1));
  const Outputs outputs{out.mutable_data(), return_lse ? lse.mutable_data() : nullptr};
  {
    py::gil_scoped_release release;
    run_checked(*var, p, in.tensors(), outputs, max_isa);
  }
  if (return_lse) return py::make_tuple(out, lse);
  return std::move(out);
}

}  // namespace attn::py_module
