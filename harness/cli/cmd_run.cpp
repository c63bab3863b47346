// attnbench run: one variant on the user's .npy tensors, output written as .npy.
#include <omp.h>

#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>

#include "attention_inputs.hpp"
#include "attention_weights.hpp"
#include "commands.hpp"
#include "errors.hpp"
#include "gradient_outputs.hpp"
#include "isa_choice.hpp"
#include "memory.hpp"
#include "npy.hpp"
#include "precision.hpp"
#include "run_report.hpp"
#include "output_file.hpp"
#include "run_options.hpp"
#include "variant.hpp"
#include "workspace_fit.hpp"

namespace po = boost::program_options;

namespace attn {

namespace {
// Finite inputs can still overflow float32 scores (|q.k| > 3e38): say so instead of writing NaN.
void require_finite_output(const std::vector<float>& out, const Problem& p) {
  for (std::size_t i = 0; i < out.size(); ++i)
    if (!std::isfinite(out[i]))
      throw UserError("output row " + std::to_string(i / p.D) + " is not finite: the inputs overflow float32 " +
                      "(scale them down); nothing was written");
}
}  // namespace

int cmd_run(int argc, const char* const* argv) {
  std::string variant_spec, q_path, k_path, v_path, out_path, lens_path, isa_name_arg = "auto", dtype_arg = "f32";
  float scale = 0.0f;
  int threads = 0;
  WeightsRequest weights;
  GradientRequest grads;
  RunReportRequest report;
  po::options_description desc(
      "attnbench run --variant SPEC --q Q.npy --k K.npy --v V.npy [--out O.npy] [--time] [--check]\n"
      "Prints the implementation that ran; --out is needed unless --time or --check is given.");
  desc.add_options()("help,h", "this help")
      ("variant", po::value(&variant_spec)->required(), "variant spec, NAME[:key=value,...] (see attnbench list)")
      ("q", po::value(&q_path)->required(), "queries, float32 .npy [B,H,Nq,D] (or [H,Nq,D], [Nq,D])")
      ("k", po::value(&k_path)->required(), "keys, [B,Hkv,Nk,D]")
      ("v", po::value(&v_path)->required(), "values, same shape as K")
      ("out", po::value(&out_path), "output .npy, Q's shape")
      ("time", po::bool_switch(&report.time), "time the forward as a sweep does (median, min, cv, GFLOP/s)")
      ("check", po::bool_switch(&report.check), "compare the output with the float64 reference and exact dense attention")
      ("min-time", po::value(&report.timing.min_time), "--time: seconds per repetition (default 0.05)")
      ("repetitions", po::value(&report.timing.repetitions), "--time: repetitions (default 5)")
      ("causal", po::bool_switch(), "causal mask (bottom-right aligned when Nq != Nk)")
      ("scale", po::value(&scale), "score scale (default 1/sqrt(D))")
      ("dtype", po::value(&dtype_arg), "storage precision: f32 (default), bf16, f16, int8 (SPEC)")
      ("threads", po::value(&threads), "OpenMP threads (default: all cores)")
      ("isa", po::value(&isa_name_arg), "auto|amx|avx512bf16|avx512|avx2|sse2|scalar")
      ("lens", po::value(&lens_path), "int .npy [B]: item b uses its first len_b queries and keys")
      ("weights", po::value(&weights.path), "also write the attention weights, float32 .npy [B,heads,rows,Nk]")
      ("weights-heads", po::value(&weights.heads), "heads to keep: A:B (B excluded) or LIST (default all)")
      ("weights-rows", po::value(&weights.rows), "query rows to keep: A:B (B excluded) or LIST (default all)")
      ("weights-max-mb", po::value(&weights.max_mb), "refuse --weights larger than this (default 256 MiB)")
      ("grad-out", po::value(&grads.dout), "dO, float32 .npy of O's shape: also run the backward (gradients of sum(O*dO))")
      ("dq", po::value(&grads.dq), "write dQ, Q's shape (needs --grad-out)")
      ("dk", po::value(&grads.dk), "write dK, K's shape, summed over the query heads sharing a kv head (needs --grad-out)")
      ("dv", po::value(&grads.dv), "write dV, V's shape, likewise (needs --grad-out)");
  po::variables_map vm;
  if (!parse_command_line(argc, argv, desc, vm)) return 0;

  const Isa isa = resolve_isa(isa_name_arg);
  if (vm.count("threads")) set_thread_count(threads);
  if (vm.count("scale") && (!std::isfinite(scale) || scale == 0.0f))
    throw UserError("--scale must be a finite non-zero number");
  const auto variant = make_variant(variant_spec);
  check_gradient_request(grads);
  if (out_path.empty() && (grads.given() || (!report.time && !report.check)))
    throw UserError(grads.given() ? "--grad-out needs --out O.npy" : "give --out O.npy, or --time or --check to measure without writing");
  if (grads.given() && (report.time || report.check))
    throw UserError("--time and --check measure the forward; run them without --grad-out");
  if (report.timing.repetitions < 1 || report.timing.repetitions > 1000) throw UserError("--repetitions must be in 1..1000");
  if (!std::isfinite(report.timing.min_time) || report.timing.min_time < 0) throw UserError("--min-time must be a number >= 0");
  // Outputs are judged now, not after the computation; none may be an input or each other.
  std::vector<NamedPath> inputs = {{"--q", q_path}, {"--k", k_path}, {"--v", v_path}, {"--lens", lens_path},
                                   {"--grad-out", grads.dout}};
  for (const std::string& file : variant->input_files()) inputs.push_back({"--variant", file});
  std::vector<NamedPath> outputs = {{"--out", out_path}, {"--weights", weights.path}};
  for (const NamedPath& g : grads.outputs()) outputs.push_back(g);
  check_outputs(outputs, inputs);
  AttentionInputs in = load_attention_inputs(q_path, k_path, v_path, lens_path);
  in.problem.causal = vm["causal"].as<bool>();
  in.problem.scale = scale;
  if (!parse_dtype(dtype_arg, in.problem.dtype))
    throw UserError("--dtype '" + dtype_arg + "' must be f32, bf16, f16 or int8");
  if (grads.given()) in.problem.pass = Pass::fwdbwd;  // variants without a backward say why
  check_problem(*variant, in.problem);
  const Problem& p = in.problem;
  check_input_range(*variant, p, in.tensors());
  const std::size_t out_elems = static_cast<std::size_t>(p.B) * p.H * p.Nq * p.D;
  // The inputs are loaded already; the output and the workspace must fit in what is left.
  const double limit = static_cast<double>(available_memory_bytes());
  const double extra = static_cast<double>(out_elems) * sizeof(float) + (grads.given() ? gradient_bytes(p) : 0.0);
  const WorkspaceFit fit = fit_workspace(*variant, p, isa, extra, limit);
  if (!fit.fits)
    throw UserError(variant->spec() + " needs " + (fit.exact ? "" : "at least ") + gib_text(fit.need) +
                    " but only " + gib_text(limit) + " is available");
  if (weights.path.empty() && (vm.count("weights-heads") || vm.count("weights-rows") || vm.count("weights-max-mb")))
    throw UserError("--weights-heads, --weights-rows and --weights-max-mb need --weights FILE.npy");
  WeightsPlan weights_plan;
  if (!weights.path.empty()) weights_plan = plan_weights(*variant, p, weights);
  if (grads.given()) {
    const std::string impl = run_forward_backward(*variant, in, grads, isa, out_path);  // float32 only (check_problem)
    std::printf("%s\n", impl_line(*variant, impl, omp_get_max_threads()).c_str());
  } else {
    std::vector<float> out(out_elems);
    const StoredInputs stored = store_inputs(p, in.tensors());  // bf16/f16 rounding, int8 V scales
    const std::unique_ptr<Plan> plan = variant->plan(p, isa);
    plan->run(stored.tensors(), {out.data(), nullptr});
    require_finite_output(out, p);
    if (!out_path.empty()) write_npy(out_path, output_shape(in), out.data());
    std::printf("%s\n", impl_line(*variant, plan->impl(), omp_get_max_threads()).c_str());
    if (report.check) std::printf("%s\n", check_line(*variant, p, in.tensors(), out.data()).c_str());
    if (report.time) {
      std::vector<float> scratch(out_elems);  // the checked output stays as written
      std::printf("%s\n", time_line(*variant, p, *plan, stored.tensors(), scratch.data(), omp_get_max_threads(),
                                      report.timing).c_str());
    }
  }
  if (!weights.path.empty()) write_weights(*variant, p, in.tensors(), weights_plan);
  return 0;
}

}  // namespace attn
