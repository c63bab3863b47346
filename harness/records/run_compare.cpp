#include "run_compare.hpp"

#include <algorithm>
#include <cmath>
#include <map>


namespace attn {

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::Faster: return "faster";
    case Verdict::Slower: return "slower";
    default: return "same";
  }
}

namespace {

double spread(const CaseRecord& r) { return r.cv >= 0 && r.repetitions >= 2 ? r.cv : kUnknownCv; }

// The fastest repetition, or the median when an older record lacks it.
double fastest(const CaseRecord& r) { return r.time_ms_min > 0 ? r.time_ms_min : r.time_ms; }

}  // namespace

double noise_band(const CaseRecord& base, const CaseRecord& now, double threshold) {
  return std::max({threshold, 2 * spread(base), 2 * spread(now)});
}

Verdict judge(const CaseRecord& base, const CaseRecord& now, double threshold) {
  const double ratio = now.time_ms / base.time_ms, noise = noise_band(base, now, threshold);
  if (ratio > 1 + noise && fastest(now) > base.time_ms) return Verdict::Slower;
  if (ratio < 1 / (1 + noise) && fastest(base) > now.time_ms) return Verdict::Faster;
  return Verdict::Same;
}

RunComparison compare_runs(const std::vector<CaseRecord>& base, const std::vector<CaseRecord>& now, double threshold) {
  std::map<std::string, const CaseRecord*> in_new, in_base;
  for (const auto& r : now) in_new.emplace(r.case_id, &r);
  for (const auto& r : base) in_base.emplace(r.case_id, &r);
  RunComparison out;
  double log_sum = 0;
  for (const auto& b : base) {
    const auto it = in_new.find(b.case_id);
    if (it == in_new.end()) {
      if (!b.skipped) out.only_base.push_back(b.case_id);
      continue;
    }
    const CaseRecord& n = *it->second;
    if (b.skipped || n.skipped) {
      out.not_measured.push_back(b.case_id);
      continue;
    }
    CaseComparison c{b, n, n.time_ms / b.time_ms, noise_band(b, n, threshold), judge(b, n, threshold)};
    (c.verdict == Verdict::Faster ? out.faster : c.verdict == Verdict::Slower ? out.slower : out.same)++;
    log_sum += std::log(c.ratio);
    out.cases.push_back(std::move(c));
  }
  for (const auto& n : now)
    if (!in_base.count(n.case_id) && !n.skipped) out.only_new.push_back(n.case_id);
  if (!out.cases.empty()) out.geomean_ratio = std::exp(log_sum / static_cast<double>(out.cases.size()));
  return out;
}

std::string case_shape(const CaseRecord& r) {
  std::string s = shape_label(r);
  if (r.dtype != "f32") s += " " + r.dtype;
  if (r.pass != "fwd") s += " " + r.pass;
  return s + " t" + std::to_string(r.threads) + " " + r.isa;
}

}  // namespace attn
