// Two runs of the same cases side by side (attnbench compare): per case_id the ratio of median
// times NEW/BASE and a verdict that calls a change only when it exceeds the runs' own spread.
#pragma once
#include <string>
#include <vector>

#include "table_records.hpp"

namespace attn {

enum class Verdict { Faster, Slower, Same };
const char* verdict_name(Verdict v);

// A record without a measured spread (cv absent or null, or fewer than 2 repetitions) is
// taken to vary by this much: one timing says nothing about its noise.
constexpr double kUnknownCv = 0.05;

// The rule, documented in `attnbench compare --help` and the README:
//   noise = max(threshold, 2 cv_base, 2 cv_new)
//   slower: ratio > 1 + noise        and new's fastest repetition is above base's median
//   faster: ratio < 1 / (1 + noise)  and base's fastest repetition is above new's median
//   same otherwise. (The second condition is asv's "the intervals [min, median] do not overlap".)
double noise_band(const CaseRecord& base, const CaseRecord& now, double threshold);
Verdict judge(const CaseRecord& base, const CaseRecord& now, double threshold);

struct CaseComparison {
  CaseRecord base, now;
  double ratio = 1;  // now.time_ms / base.time_ms
  double noise = 0;
  Verdict verdict = Verdict::Same;
};

struct RunComparison {
  std::vector<CaseComparison> cases;  // in BASE's order
  std::vector<std::string> only_base, only_new;  // case_ids (ok records) in one run only
  std::vector<std::string> not_measured;         // in both, but skipped in one or both
  int faster = 0, slower = 0, same = 0;
  double geomean_ratio = 1;  // over the compared cases
};

// Duplicate case_ids within a run should have been dropped already (the first is kept).
RunComparison compare_runs(const std::vector<CaseRecord>& base, const std::vector<CaseRecord>& now, double threshold);

// The case's parameters other than the variant, short: "B1 H8 Hkv2 N1k D64 causal t4 avx512".
std::string case_shape(const CaseRecord& r);

}  // namespace attn
