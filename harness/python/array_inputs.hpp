// Q, K, V and lengths from Python objects, checked as `attnbench run` checks its .npy files.
// C-contiguous float32 arrays are used in place; other float arrays (float64, float16, strided,
// other byte order) are converted to float32 once.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <optional>
#include <string>
#include <vector>

#include "problem.hpp"

namespace attn::py_module {

namespace py = pybind11;
using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

struct ArrayInputs {
  Problem problem;  // shapes and lens; the caller sets the flags
  FloatArray q, k, v;
  int q_rank = 4;  // outputs keep Q's rank
  Tensors tensors() const { return {q.data(), k.data(), v.data()}; }
  // The last `rank` dimensions of `full`: what a rank-`rank` input's output looks like.
  static std::vector<py::ssize_t> trailing(const std::vector<py::ssize_t>& full, int rank);
};

// Needs the GIL. Throws UserError naming "q", "k", "v" or "lens".
ArrayInputs array_inputs(const py::handle& q, const py::handle& k, const py::handle& v, const py::object& lens);

// The flags every call shares: scale (None = 1/sqrt(D)), dtype, causal. Throws UserError.
void set_flags(Problem& p, bool causal, std::optional<double> scale, const std::string& dtype);

// Sets the OpenMP thread count for this call (None: the process default) and restores it after.
class ThreadCount {
 public:
  explicit ThreadCount(std::optional<long> threads);
  ~ThreadCount();
  ThreadCount(const ThreadCount&) = delete;
  ThreadCount& operator=(const ThreadCount&) = delete;

 private:
  std::optional<int> saved_;
};

}  // namespace attn::py_module
