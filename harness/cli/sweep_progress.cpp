#include "sweep_progress.hpp"

#include <unistd.h>

#include <cstdio>

#include "errors.hpp"
#include "printable.hpp"

namespace attn {

std::optional<double> eta_seconds(const std::vector<SweepCase>& cases, const std::vector<double>& flops,
                                  std::size_t done, double elapsed, const CaseCostModel& cost,
                                  const TimingOptions& timing) {
  double before = 0, after = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::optional<double> wall = cost.wall_seconds(cases[i], flops[i], timing);
    if (!wall) return std::nullopt;
    (i < done ? before : after) += *wall;
  }
  if (before <= 0) return std::nullopt;
  return elapsed * after / before;
}

SweepProgress::SweepProgress(const std::vector<SweepCase>& cases, const TimingOptions& timing)
    : cases_(cases), timing_(timing), on_(isatty(STDERR_FILENO)), start_(clock::now()) {
  if (!on_) return;
  for (const SweepCase& c : cases_) {
    double f = 0;
    try {
      f = case_flops(c);
    } catch (const UserError&) {
      // a case its variant cannot take is skipped in no time
    }
    flops_.push_back(f);
  }
}

void SweepProgress::show(std::size_t done, const CaseCostModel& cost) const {
  if (!on_) return;
  const double elapsed = std::chrono::duration<double>(clock::now() - start_).count();
  const std::optional<double> eta = done > 0 ? eta_seconds(cases_, flops_, done, elapsed, cost, timing_) : std::nullopt;
  const std::string eta_text = eta ? std::to_string(static_cast<long>(*eta + 0.5)) + " s" : "?";
  std::fprintf(stderr, "\r\033[K[%zu/%zu] ETA %s  %s", done + 1, cases_.size(), eta_text.c_str(),
               printable(cases_[done].canonical()).c_str());
  std::fflush(stderr);
}

void SweepProgress::clear() const {
  if (on_) std::fprintf(stderr, "\r\033[K");
}

}  // namespace attn
