#include "sweep_case.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include "accuracy.hpp"
#include "backward_accuracy.hpp"
#include "case_inputs.hpp"
#include "large_pages.hpp"
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
// absurd grids cannot overflow. A backward adds dO, dQ, dK, dV, the log-sum-exp and the float64
// gradient buffers.
double fixed_bytes(const Problem& p) {
  const double q = static_cast<double>(p.B) * p.H * p.Nq * p.D, kv = static_cast<double>(p.B) * p.Hkv * p.Nk * p.D;
  const double rows = static_cast<double>(accuracy_row_count(p));
  const double fwd = sizeof(float) * (2 * q + 2 * kv) + 3.0 * sizeof(double) * p.B * p.H * rows * p.D + stored_bytes(p);
  if (p.pass == Pass::fwd) return fwd;
  return fwd + sizeof(float) * (2 * q + 2 * kv + static_cast<double>(p.B) * p.H * p.Nq) + backward_accuracy_bytes(p);
}

// What a backward case holds: dO (seeded from the shape, like Q, K, V), the forward's
// log-sum-exp, and the gradients; allocated as the inputs are (so dO is vector-aligned like Q and
// K, and the flash backward reads it in place as it would a framework's tensor).
struct BackwardBuffers {
  LargeVector<float> dout, lse, dq, dk, dv;
  BackwardBuffers(const Problem& p, std::uint64_t seed)
      : dout(p.q_elems()), lse(static_cast<std::size_t>(p.B) * p.H * p.Nq), dq(p.q_elems()), dk(p.kv_elems()),
        dv(p.kv_elems()) {
    std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ULL);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (float& x : dout) x = normal(rng);
  }
  Gradients grads() { return {dq.data(), dk.data(), dv.data()}; }
};

// Folds the gradients' accuracy into r: rel_err is their maximum (bwd), or also the forward's
// (fwdbwd, whose timed call writes O as well); max_abs_err likewise.
void add_backward_accuracy(SweepRecord& r, const BackwardAccuracy& b, Pass pass) {
  r.rel_err_dq = b.rel_err_dq, r.rel_err_dk = b.rel_err_dk, r.rel_err_dv = b.rel_err_dv;
  r.grad_groups = b.groups;
  auto larger = [](std::optional<double> x, std::optional<double> y) -> std::optional<double> {
    if (!x || !y) return std::nullopt;
    return std::max(*x, *y);
  };
  const bool both = pass == Pass::fwdbwd;
  r.rel_err = both ? larger(r.rel_err, b.rel_err()) : b.rel_err();
  r.max_abs_err = both ? larger(r.max_abs_err, b.max_abs_err) : b.max_abs_err;
  if (!b.note.empty()) r.note = r.note.empty() ? b.note : r.note + "; " + b.note;
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
  const std::vector<long> rows = accuracy_rows(p);

  const double flops = variant->flops(p) * pass_factor(p.pass);
  if (opt.max_case_seconds > 0) {
    const std::optional<double> estimate = state.cost.call_seconds(c, true);
    if (estimate && *estimate > opt.max_case_seconds) {
      char why[128];
      std::snprintf(why, sizeof why, "estimated %.1f s per run exceeds --max-case-time %g", *estimate,
                    opt.max_case_seconds);
      return skipped(r, why);
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
  const bool backward = p.pass != Pass::fwd;
  std::unique_ptr<BackwardBuffers> bb;
  if (backward) {
    if (!plan->gives_backward()) return skipped(r, plan->impl() + " has no backward");
    bb = std::make_unique<BackwardBuffers>(p, input_seed(p, kind));
  }
  // bwd: the forward runs once here, outside the timing, for O and the log-sum-exp.
  plan->run(run_in, {out.data(), backward ? bb->lse.data() : nullptr});
  const Accuracy acc = measure_accuracy(*variant, p, t, out.data());
  const MassRecall recall = measure_mass_recall(*variant, p, t, rows);
  BackwardAccuracy bacc;
  const auto backward_call = [&] {
    plan->run_backward(run_in, out.data(), bb->lse.data(), bb->dout.data(), bb->grads());
  };
  if (backward) {
    backward_call();
    bacc = measure_backward_accuracy(*variant, p, t, bb->dout.data(), bb->grads());
  }

  // Against the peak of the instruction the implementation's products use (SPEC).
  const double peak = state.peaks.get(c.threads, c.isa, plan->products());
  std::function<void()> timed = [&] { plan->run(run_in, {out.data(), nullptr}); };
  if (p.pass == Pass::bwd) timed = backward_call;
  if (p.pass == Pass::fwdbwd)
    timed = [&] { plan->run_forward_backward(run_in, {out.data(), bb->lse.data()}, bb->dout.data(), bb->grads()); };
  const Timing timing = time_case(c.canonical(), timed, c.threads, opt.timing);
  const double seconds = timing.median_ms * 1e-3;
  state.cost.measured(c, seconds);

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
  r.cos_sim = acc.cos_sim;
  r.rel_l1 = acc.rel_l1;
  r.rmse = acc.rmse;
  r.err_rows = acc.rows;
  r.note = acc.note;
  if (backward) add_backward_accuracy(r, bacc, p.pass);
  r.mass_recall = recall.mean;
  r.mass_recall_min = recall.min;
  if (p.has_lens()) r.tokens = real_tokens(p);
  // Bytes: the least the computation must move (SPEC); the rate against the measured read bandwidth.
  const double bytes = least_bytes(p);
  const double bandwidth = state.peaks.bandwidth(c.threads);
  r.convert_ms = convert_ms;
  r.bytes = bytes;
  r.bandwidth_gbs = bandwidth;
  if (seconds > 0) r.gbytes_per_s = bytes / seconds * 1e-9;
  if (r.gbytes_per_s && bandwidth > 0) r.pct_bandwidth = 100.0 * *r.gbytes_per_s / bandwidth;
  return r;
}

}  // namespace attn
