#include "sweep_case.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "accuracy.hpp"
#include "case_inputs.hpp"
#include "machine_info.hpp"
#include "mass_recall.hpp"
#include "memory.hpp"
#include "precision.hpp"
#include "timing.hpp"
#include "variant.hpp"
#include "workspace_fit.hpp"

namespace attn {

Problem case_problem(const SweepCase& c) {
  Problem p;
  p.B = c.batch, p.H = c.heads, p.Hkv = c.kv_heads, p.Nq = c.seq_q, p.Nk = c.seq_kv, p.D = c.head_dim;
  p.causal = c.causal;
  // Listed parameters; sweep_options accepted only valid names.
  parse_dtype(c.param("dtype", "f32"), p.dtype);
  parse_pass(c.param("pass", "fwd"), p.pass);
  return p;
}

namespace {
// Q, K, V, O and the float64 accuracy buffers, in O(1) (no row list yet) and in double so that
// absurd grids cannot overflow.
double fixed_bytes(const Problem& p) {
  const double q = static_cast<double>(p.B) * p.H * p.Nq * p.D, kv = static_cast<double>(p.B) * p.Hkv * p.Nk * p.D;
  const double rows = static_cast<double>(accuracy_row_count(p));
  return sizeof(float) * (2 * q + 2 * kv) + 3.0 * sizeof(double) * p.B * p.H * rows * p.D;
}

// Query tokens of one forward, and (query, key) pairs: padding past --lens does not count.
double real_tokens(const Problem& p) {
  double tokens = 0;
  for (int b = 0; b < p.B; ++b) tokens += p.valid_q(b);
  return tokens;
}
double real_pairs(const Problem& p) {
  double pairs = 0;
  for (int b = 0; b < p.B; ++b) pairs += static_cast<double>(p.valid_q(b)) * p.valid_k(b);
  return pairs * p.H;
}

// Bytes a computation cannot avoid moving: Q, K, V and O (and for a backward dO, dQ, dK, dV) in
// their stored precision, each once.
double least_bytes(const Problem& p) {
  const double element = p.dtype == DType::f32 ? 4 : p.dtype == DType::int8 ? 1 : 2;
  const double q = static_cast<double>(p.q_elems()), kv = static_cast<double>(p.kv_elems());
  const double fwd = element * (q + 2 * kv) + 4.0 * q;  // O is float32
  if (p.pass == Pass::fwd) return fwd;
  const double grads = 4.0 * (2 * q + 2 * kv);  // dO and dQ, dK and dV
  return fwd + grads;  // bwd reads Q, K, V, O too; fwdbwd writes O once more, within the same order
}

SweepRecord skipped(SweepRecord r, const std::string& reason) {
  r.status = "skipped";
  r.reason = reason;
  return r;
}
}  // namespace

SweepRecord run_sweep_case(const SweepCase& c, const SweepOptions& opt, SweepState& state) {
  SweepRecord r;
  r.c = c;
  r.machine_json = machine_json(machine_info());
  const auto variant = make_variant(c.variant);
  r.name = variant->name();
  CaseInputs in;
  in.problem = case_problem(c);
  const std::string lens = c.param("lens", "");
  if (!lens.empty()) {
    in.lens = case_lengths(lens, in.problem);
    in.problem.lens = in.lens;
  }
  const Problem& p = in.problem;
  omp_set_num_threads(c.threads);  // workspace sizes may depend on it

  const std::string unsupported = variant->unsupported_reason(p);
  if (!unsupported.empty()) return skipped(r, unsupported);

  // Memory: inputs, output, the float64 accuracy buffers and the variant's workspace, decided in
  // O(1) when the case plainly cannot fit, before any plan, layout or row list is built.
  double limit = static_cast<double>(available_memory_bytes());
  if (opt.max_memory_gib > 0) limit = std::min(limit, opt.max_memory_gib * 1073741824.0);
  const WorkspaceFit fit = fit_workspace(*variant, p, c.isa, fixed_bytes(p), limit);
  if (!fit.fits)
    return skipped(r, "needs " + std::string(fit.exact ? "" : "at least ") + gib_text(fit.need) + ", limit " +
                          gib_text(limit));
  const double workspace = static_cast<double>(variant->workspace_bytes(p, c.isa));
  const std::vector<long> rows = accuracy_rows(p);

  const double flops = variant->flops(p);
  const std::string family = c.family();
  if (opt.max_case_seconds > 0) {
    const auto it = state.last_in_family.find(family);
    if (it != state.last_in_family.end() && it->second.flops > 0) {
      const double estimate = it->second.seconds * flops / it->second.flops;
      if (estimate > opt.max_case_seconds) {
        char why[128];
        std::snprintf(why, sizeof why, "estimated %.1f s per run exceeds --max-case-time %g", estimate,
                      opt.max_case_seconds);
        return skipped(r, why);
      }
    }
  }

  const std::string kind = c.param("inputs", "gaussian");
  generate_inputs(kind, input_seed(p, kind), in);
  std::vector<float> out(p.q_elems());
  const Tensors t = in.tensors();
  check_input_range(*variant, p, t);
  // What a model holds in the case's precision is converted before timing (SPEC).
  const auto convert_start = std::chrono::steady_clock::now();
  const StoredInputs stored = store_inputs(p, t);
  const double convert_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - convert_start).count();
  const Tensors run_in = stored.tensors();
  // Plan once, outside the timed region; the timed call is run() alone.
  const auto plan_start = std::chrono::steady_clock::now();
  const std::unique_ptr<Plan> plan = variant->plan(p, c.isa);
  r.plan_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - plan_start).count();
  r.impl = plan->impl();
  plan->run(run_in, {out.data(), nullptr});
  const Accuracy acc = measure_accuracy(*variant, p, t, out.data());
  const MassRecall recall = measure_mass_recall(*variant, p, t, rows);

  const double peak = state.peaks.get(c.threads, c.isa);
  const Timing timing = time_case(
      c.canonical(), [&] { plan->run(run_in, {out.data(), nullptr}); }, c.threads, opt.timing);
  const double seconds = timing.median_ms * 1e-3;
  state.last_in_family[family] = {flops, seconds};

  r.time_ms = timing.median_ms;
  r.time_ms_min = timing.min_ms;
  r.time_ms_mean = timing.mean_ms;
  r.cv = timing.cv;
  r.repetitions = timing.repetitions;
  r.iterations = timing.iterations_per_repetition;
  r.flops = flops;
  if (seconds > 0) {
    r.gflops = flops / seconds * 1e-9;
    r.tokens_per_s = real_tokens(p) / seconds;
  }
  r.peak_gflops = peak;
  if (r.gflops && peak > 0) r.pct_peak = 100.0 * *r.gflops / peak;
  r.density = variant->visible_pairs(p) / real_pairs(p);
  r.workspace_bytes = static_cast<double>(plan->workspace_bytes());
  r.max_abs_err = acc.max_abs_err;
  r.rel_err = acc.rel_err;
  r.approx_err = acc.approx_err;
  r.err_rows = acc.rows;
  r.note = acc.note;
  r.extra.push_back({"mass_recall", recall.mean});
  r.extra.push_back({"mass_recall_min", recall.min});
  if (p.has_lens()) r.extra.push_back({"tokens", real_tokens(p)});
  // Bytes: the least the computation must move (SPEC); the rate against the measured read bandwidth.
  const double bytes = least_bytes(p);
  const double bandwidth = state.peaks.bandwidth(c.threads);
  r.extra.push_back({"convert_ms", convert_ms});
  r.extra.push_back({"bytes", bytes});
  r.extra.push_back({"gbytes_per_s", seconds > 0 ? std::optional<double>(bytes / seconds * 1e-9) : std::nullopt});
  r.extra.push_back({"bandwidth_gbs", bandwidth});
  r.extra.push_back({"pct_bandwidth", seconds > 0 && bandwidth > 0 ? std::optional<double>(100.0 * bytes / seconds * 1e-9 / bandwidth)
                                                                    : std::nullopt});
  return r;
}

}  // namespace attn
