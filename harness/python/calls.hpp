// The module's functions, one file each; module.cpp binds them with their docstrings.
#pragma once
#include <pybind11/pybind11.h>

#include <optional>
#include <string>

namespace attn::py_module {

namespace py = pybind11;

// attention_call.cpp: `attnbench run` on arrays; O (and the log-sum-exp when return_lse).
py::object attention(const py::object& q, const py::object& k, const py::object& v, const std::string& variant,
                     bool causal, std::optional<double> scale, const std::string& dtype, std::optional<long> threads,
                     const std::string& isa, const py::object& lens, bool return_lse);

// weights_call.cpp: Variant::weights, the attention probabilities of selected heads and rows.
py::object weights(const py::object& q, const py::object& k, const py::object& v, const std::string& variant,
                   bool causal, std::optional<double> scale, const py::object& heads, const py::object& rows,
                   const py::object& lens);

// sweep_call.cpp: `attnbench sweep` in this process; its records as dicts.
py::list sweep(const py::kwargs& options);

}  // namespace attn::py_module
