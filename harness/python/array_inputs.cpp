#include "array_inputs.hpp"

#include <omp.h>

#include <cmath>

#include "attention_inputs.hpp"
#include "errors.hpp"

namespace attn::py_module {

namespace {

// Floats only: an int or bool array is more likely a mistake than attention inputs.
FloatArray float_array(const py::handle& obj, const char* name) {
  const py::array any = py::array::ensure(obj);
  if (!any) throw UserError(std::string(name) + ": expected a numpy array (or nested lists) of floats");
  if (any.dtype().kind() != 'f')
    throw UserError(std::string(name) + ": dtype " + py::str(any.dtype()).cast<std::string>() +
                    " is not a float type (use float32 or float64)");
  return FloatArray::ensure(any);  // the same object when already C-contiguous float32
}

std::vector<long> shape_of(const py::array& a) { return std::vector<long>(a.shape(), a.shape() + a.ndim()); }

}  // namespace

std::vector<py::ssize_t> ArrayInputs::trailing(const std::vector<py::ssize_t>& full, int rank) {
  return std::vector<py::ssize_t>(full.end() - rank, full.end());
}

ArrayInputs array_inputs(const py::handle& q, const py::handle& k, const py::handle& v, const py::object& lens) {
  ArrayInputs in;
  in.q = float_array(q, "q"), in.k = float_array(k, "k"), in.v = float_array(v, "v");
  require_finite(in.q.data(), static_cast<std::size_t>(in.q.size()), "q");
  require_finite(in.k.data(), static_cast<std::size_t>(in.k.size()), "k");
  require_finite(in.v.data(), static_cast<std::size_t>(in.v.size()), "v");
  in.problem = problem_from_shapes(shape_of(in.q), shape_of(in.k), shape_of(in.v), "q", "k", "v");
  in.q_rank = static_cast<int>(in.q.ndim());
  if (!lens.is_none()) {
    const py::array any = py::array::ensure(lens);
    if (!any || (any.dtype().kind() != 'i' && any.dtype().kind() != 'u'))
      throw UserError("lens: expected integer lengths, one per batch item");
    const auto ints = py::array_t<long, py::array::c_style | py::array::forcecast>::ensure(any);
    in.problem.lens = checked_lens(shape_of(ints), std::vector<long>(ints.data(), ints.data() + ints.size()),
                                   in.problem, "lens");
  }
  return in;
}

void set_flags(Problem& p, bool causal, std::optional<double> scale, const std::string& dtype) {
  p.causal = causal;
  if (scale) {
    const float s = static_cast<float>(*scale);
    if (!std::isfinite(s) || s == 0.0f) throw UserError("scale must be a finite non-zero number");
    p.scale = s;
  }
  if (!parse_dtype(dtype, p.dtype)) throw UserError("dtype '" + dtype + "' is not one of f32, bf16, f16, int8");
}

ThreadCount::ThreadCount(std::optional<long> threads) {
  if (!threads) return;
  if (*threads < 1 || *threads > 1024)
    throw UserError("threads must be between 1 and 1024, got " + std::to_string(*threads));
  saved_ = omp_get_max_threads();
  omp_set_num_threads(static_cast<int>(*threads));
}

ThreadCount::~ThreadCount() {
  if (saved_) omp_set_num_threads(*saved_);
}

}  // namespace attn::py_module
