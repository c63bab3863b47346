// attnbench sweep: the case grid, each case timed (Google Benchmark) and checked (float64
// references) once, one JSON line appended per finished case, and a console report.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include "case_filter.hpp"
#include "commands.hpp"
#include "errors.hpp"
#include "jsonl_output.hpp"
#include "machine_info.hpp"
#include "output_file.hpp"
#include "printable.hpp"
#include "reporters.hpp"
#include "sweep_case.hpp"
#include "sweep_options.hpp"
#include "sweep_progress.hpp"
#include "sweep_resume.hpp"
#include "variant.hpp"

namespace attn {

namespace {

volatile sig_atomic_t g_interrupted = 0;
void on_sigint(int) { g_interrupted = 1; }

// SIGINT finishes the current case, then stops; a second SIGINT kills as usual. The previous
// handler comes back when the sweep ends (Python's, when the module runs a sweep).
class SigintHandler {
 public:
  SigintHandler() {
    g_interrupted = 0;
    struct sigaction sa{};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, &previous_);
  }
  ~SigintHandler() { sigaction(SIGINT, &previous_, nullptr); }
  SigintHandler(const SigintHandler&) = delete;
  SigintHandler& operator=(const SigintHandler&) = delete;

 private:
  struct sigaction previous_{};
};

std::vector<SweepCase> select_cases(const SweepOptions& opt) {
  std::vector<SweepCase> selected;
  const CaseFilter filter(opt.filter);
  for (const SweepCase& c : build_grid(opt.grid)) {
    if (!filter.matches(c.canonical())) continue;
    if (!in_shard(c, opt.shard)) continue;
    selected.push_back(c);
  }
  return selected;
}

// Shape errors (D out of range, Hkv not dividing H) stop the sweep before it starts;
// a variant that merely does not support a shape is skipped when its turn comes.
void check_cases(const std::vector<SweepCase>& cases) {
  for (const SweepCase& c : cases) {
    const auto variant = make_variant(c.variant);
    const Problem p = case_problem(c);
    if (!variant->unsupported_reason(p).empty()) continue;
    check_problem(*variant, p);
  }
}

// Once per sweep, before any timing: a dense_blas baseline on narrower kernels than the ISA
// asked for would make the fused kernels look better than they are.
void warn_if_blas_narrow(const std::vector<SweepCase>& cases, const SweepOptions& opt) {
  const bool has_blas = std::any_of(cases.begin(), cases.end(), [](const SweepCase& c) {
    return c.variant == "dense_blas" || c.variant.rfind("dense_blas:", 0) == 0;
  });
  if (!has_blas || opt.grid.isas.empty()) return;
  const Isa widest = *std::max_element(opt.grid.isas.begin(), opt.grid.isas.end());
  const std::string warning = blas_width_warning(machine_info().blas, widest);
  if (!warning.empty()) std::fprintf(stderr, "attnbench sweep: warning: %s\n", warning.c_str());
}

}  // namespace

int cmd_sweep(int argc, const char* const* argv) {
  const SweepOptions opt = parse_sweep_options(argc, argv);
  if (opt.help) {
    std::cout << opt.help_text << "\n";
    return 0;
  }
  return run_sweep(opt, nullptr);
}

int run_sweep(const SweepOptions& opt, Reporter* custom_reporter) {
  // --out is judged before it is read (--resume) or appended to: a FIFO would block the read,
  // a device or a read-only file must not be written.
  if (!opt.out.empty() && (opt.resume || !opt.dry_run)) check_output_target(opt.out);
  std::vector<SweepCase> cases = select_cases(opt);
  check_cases(cases);
  std::unique_ptr<Reporter> console;
  if (!custom_reporter) console = make_reporter(opt.format, stdout);
  Reporter* reporter = custom_reporter ? custom_reporter : console.get();

  if (opt.resume) {
    const FinishedCases done = finished_cases(opt.out);
    if (done.unreadable > 0)
      std::fprintf(stderr, "attnbench sweep: --resume: ignored %zu unreadable line(s) in %s (torn or corrupt records; "
                   "their cases run again)\n", done.unreadable, opt.out.c_str());
    std::vector<SweepCase> todo;
    for (const auto& c : cases)
      if (!done.ids.count(c.case_id())) todo.push_back(c);
    std::fprintf(stderr, "attnbench sweep: --resume: %zu of %zu cases already in %s\n", cases.size() - todo.size(),
                 cases.size(), printable(opt.out).c_str());
    cases.swap(todo);
  }
  if (opt.dry_run) {
    for (const auto& c : cases) std::printf("%s  %s\n", c.case_id().c_str(), printable(c.canonical()).c_str());
    std::fprintf(stderr, "attnbench sweep: %zu cases (dry run, nothing measured)\n", cases.size());
    return 0;
  }

  std::unique_ptr<JsonlOutput> out;
  if (!opt.out.empty()) {
    out = std::make_unique<JsonlOutput>(opt.out);
    if (out->repair() == JsonlOutput::Repair::partial_line_dropped)
      std::fprintf(stderr, "attnbench sweep: dropped a partial last line from %s\n", printable(opt.out).c_str());
    if (out->repair() == JsonlOutput::Repair::newline_added)
      std::fprintf(stderr, "attnbench sweep: added the missing newline after the last record of %s\n",
                   printable(opt.out).c_str());
  }
  machine_info();  // the load average and clock before this sweep's own load
  warn_if_blas_narrow(cases, opt);
  init_benchmark_library(opt.timing);
  const SigintHandler sigint;
  SweepState state;
  const SweepProgress progress(cases, opt.timing);
  const auto started = std::chrono::steady_clock::now();
  reporter->plan(cases);
  reporter->begin();
  std::size_t done = 0, skipped = 0, noisy = 0;
  for (const SweepCase& c : cases) {
    if (g_interrupted) break;
    progress.show(done, state.cost);
    const SweepRecord record = run_sweep_case(c, opt, state);
    progress.clear();
    if (out) out->append(record_json(record));
    if (record.status != "ok")
      std::fprintf(stderr, "attnbench sweep: skipped %s: %s\n", printable(c.canonical()).c_str(),
                   printable(record.reason).c_str());
    reporter->row(record);
    ++done;
    skipped += record.status != "ok";
    noisy += record.status == "ok" && record.cv && *record.cv > kNoisyCv;
  }
  reporter->end();
  // One line a log or a CI job can grep, apart from the table on stdout.
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::fprintf(stderr, "attnbench sweep: %zu case%s run, %zu skipped, %zu noisy (cv > %.2f), %.1f s wall time\n",
               done - skipped, done - skipped == 1 ? "" : "s", skipped, noisy, kNoisyCv, wall_s);
  if (g_interrupted) {
    std::fprintf(stderr, "attnbench sweep: interrupted after %zu of %zu cases%s\n", done, cases.size(),
                 out ? (" (all written to " + printable(opt.out) + ")").c_str() : "");
    return 130;
  }
  return 0;
}

}  // namespace attn
