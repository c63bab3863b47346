// The Python module `attnbench`: attention, weights, variants, sweep, isas. Bad input raises
// attnbench.Error (a ValueError) with the one-line message `attnbench run` prints.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <boost/program_options/errors.hpp>

#include "attnbench/attnbench.hpp"
#include "calls.hpp"
#include "printable.hpp"
#include "score_mods.hpp"

#ifndef ATTNBENCH_VERSION
#define ATTNBENCH_VERSION "unknown"
#endif

namespace py = pybind11;
using namespace pybind11::literals;

namespace {

py::list variants() {
  py::list out;
  for (const attn::VariantInfo& info : attn::variant_registry()) {
    py::list options;
    auto add = [&options](const attn::OptionSpec& o) {
      options.append(py::dict("name"_a = o.key,
                              "default"_a = o.default_value.empty() ? py::object(py::none()) : py::str(o.default_value),
                              "help"_a = o.help));
    };
    for (const attn::OptionSpec& o : info.options) add(o);
    // Softmax variants also take softcap, alibi and sinks in their spec.
    if (info.score_modifiers)
      for (const attn::OptionSpec& o : attn::modifier_option_specs()) add(o);
    out.append(py::dict("name"_a = info.name, "summary"_a = info.summary, "options"_a = options,
                        "score_modifiers"_a = info.score_modifiers));
  }
  return out;
}

std::vector<std::string> isas() {
  std::vector<std::string> names;
  for (attn::Isa isa : attn::supported_isas()) names.push_back(attn::isa_name(isa));
  return names;
}

}  // namespace

PYBIND11_MODULE(attnbench, m) {
  m.doc() = "SIMD CPU attention kernels (dense, window, block_sparse, linear, ...) and their benchmark sweep.";
  m.attr("__version__") = ATTNBENCH_VERSION;
  static py::exception<attn::UserError> error(m, "Error", PyExc_ValueError);
  error.doc() = "Bad input: the one-line message `attnbench run` would print.";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const attn::UserError& e) {
      error(attn::printable(e.what()).c_str());
    } catch (const boost::program_options::error& e) {  // sweep options
      error(attn::printable(std::string(e.what()) + " (see attnbench sweep --help)").c_str());
    }
  });

  m.def("attention", &attn::py_module::attention, "q"_a, "k"_a, "v"_a, "variant"_a = "dense",
        "causal"_a = false, "scale"_a = py::none(), "dtype"_a = "f32", "threads"_a = py::none(), "isa"_a = "auto",
        "lens"_a = py::none(), "return_lse"_a = false,
        R"(Attention output O for Q [B,H,Nq,D], K and V [B,Hkv,Nk,D] (or 3-D [H,N,D], 2-D [N,D]).

float32 or float64 arrays (C-contiguous float32 is used without a copy); O is float32 with Q's
shape. variant is a spec as `attnbench list` shows ("window:left=64,right=0"); causal aligns
queries to the end of the keys when Nq != Nk; scale defaults to 1/sqrt(D); dtype is f32, bf16,
f16 or int8; threads is the OpenMP thread count (default: all cores); isa is auto, amx, avx512bf16, avx512, avx2,
sse2 or scalar; lens gives [B] lengths (Nq == Nk): item b uses its first lens[b] queries and
keys and its other rows are 0. return_lse=True returns (O, lse) with lse [B,H,Nq] (Q's rank
less one), the natural-log log-sum-exp of each row's scaled scores (-inf for a row that sees
no key), for variants whose plan gives it. Raises attnbench.Error on bad input.)");
  m.def("weights", &attn::py_module::weights, "q"_a, "k"_a, "v"_a, "variant"_a = "dense",
        "causal"_a = false, "scale"_a = py::none(), "heads"_a = py::none(), "rows"_a = py::none(),
        "lens"_a = py::none(),
        R"(Attention probabilities [B, heads, rows, Nk] (less the leading dimensions Q lacks), float64
inside. heads and rows select query heads and query rows: None (all), a list of indices, or
"A:B" / "0,3,7" as `attnbench run --weights-heads` takes. Variants without per-key
probabilities (linear) raise attnbench.Error.)");
  m.def("variants", &variants,
        "The registered variants as dicts: name, summary, options (dicts: name, default or None, help; the score\n"
        "modifiers softcap, alibi, sinks included for softmax variants) and score_modifiers (bool).");
  m.def("isas", &isas, "The instruction sets this CPU runs, widest first (values for isa=).");
  m.def("blas_description", &attn::blas_description, "The OpenBLAS that dense_blas runs (machine info).");
  m.def("sweep", &attn::py_module::sweep,
        R"(Runs `attnbench sweep` here and returns its records as dicts (the JSONL fields of the spec).

Keyword arguments are the command's options with '_' for '-': seq=[128, 256] or seq="128,256",
head_dim=64, variant=["dense", "window:left=32,right=0"], causal="both" (or True/False),
threads=[1, 2], min_time=0.01, repetitions=3, out="runs.jsonl", resume=True, dry_run=True, ...
Nothing is printed unless format= is given. Ctrl-C stops after the current case and raises
KeyboardInterrupt.)");
}
