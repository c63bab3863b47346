// `attnbench table FILE...` without --preset: every record as one row, in file order, with
// what a reader of a results file asks first (what ran, how fast, how accurate).
#pragma once
#include <vector>

#include "table_presets.hpp"

namespace attn {

// Columns: variant, shape, dtype, pass, isa, threads, time_ms, gflops, pct_peak, rel_err, status.
// `plain_numbers` (CSV): full-precision numbers, empty cells for absent values and status
// "ok"/"skipped"; otherwise rounded for reading and the skip reason after the status.
Table plain_records_table(const std::vector<CaseRecord>& records, bool plain_numbers);

}  // namespace attn
