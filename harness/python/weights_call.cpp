// attnbench.weights(): `attnbench run --weights` on arrays (Variant::weights, float64 inside).
#include "array_inputs.hpp"
#include "calls.hpp"
#include "errors.hpp"
#include "index_list.hpp"
#include "memory.hpp"
#include "variant.hpp"

namespace attn::py_module {

namespace {

// None: all of [0, count); "A:B" or "0,3" as on the command line; or a sequence of ints.
std::vector<long> indices(const py::object& selection, long count, const std::string& name) {
  if (selection.is_none()) return parse_index_list("", count, name);
  if (py::isinstance<py::str>(selection)) return parse_index_list(selection.cast<std::string>(), count, name);
  std::string text;
  if (py::isinstance<py::int_>(selection)) {
    text = std::to_string(selection.cast<long>());
  } else {
    for (const py::handle item : py::iter(selection)) text += (text.empty() ? "" : ",") + std::to_string(item.cast<long>());
    if (text.empty()) throw UserError(name + ": selects nothing (an empty list)");
  }
  return parse_index_list(text, count, name);
}

}  // namespace

py::object weights(const py::object& q, const py::object& k, const py::object& v, const std::string& variant,
                   bool causal, std::optional<double> scale, const py::object& heads, const py::object& rows,
                   const py::object& lens) {
  const auto var = make_variant(variant);
  if (!var->has_weights()) throw UserError(var->spec() + " cannot give attention weights");
  const ArrayInputs in = array_inputs(q, k, v, lens);
  Problem p = in.problem;
  set_flags(p, causal, scale, "f32");
  check_problem(*var, p);
  check_input_range(*var, p, in.tensors());

  std::vector<int> head_list;
  for (long h : indices(heads, p.H, "heads")) head_list.push_back(static_cast<int>(h));
  const std::vector<long> row_list = indices(rows, p.Nq, "rows");
  const auto nh = static_cast<py::ssize_t>(head_list.size()), nr = static_cast<py::ssize_t>(row_list.size());
  require_memory(sizeof(float) * static_cast<std::size_t>(p.B) * nh * nr * p.Nk, "weights");

  // [B, heads, rows, Nk], less the leading dimensions Q did not have.
  py::array_t<float> out(ArrayInputs::trailing({p.B, nh, nr, p.Nk}, in.q_rank));
  float* data = out.mutable_data();
  {
    py::gil_scoped_release release;
    var->weights(p, in.tensors(), head_list, row_list, data);
  }
  return std::move(out);
}

}  // namespace attn::py_module
