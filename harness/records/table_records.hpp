// Sweep records read back from JSONL for tables, and the checks that keep merged
// shards honest: duplicate case_ids, and cases expected but absent.
#pragma once
#include <cmath>
#include <string>
#include <vector>

#include "jsonl_reader.hpp"

namespace attn {

struct CaseRecord {
  std::string source;  // "FILE:LINE", for messages
  std::string case_id, variant, name, isa;
  // Case parameters newer records carry (defaults for older ones): part of a table's setting.
  std::string dtype = "f32", pass = "fwd", inputs = "gaussian", lens;
  long batch = 0, heads = 0, kv_heads = 0, seq_q = 0, seq_kv = 0, head_dim = 0, threads = 0;
  bool causal = false;
  bool skipped = false;  // "status": "skipped"
  std::string reason;    // why it was skipped
  double time_ms = 0;    // median over repetitions (absent on skipped records)
  double workspace_bytes = 0;
  // Optional in older records (-1: absent).
  double tokens_per_s = -1, pct_bandwidth = -1;
  // The run's spread and quality, for compare and the plain table (-1 / 0: absent or null).
  double time_ms_min = -1, cv = -1, gflops = -1, pct_peak = -1, rel_err = -1;
  // The precision preset's: the implementation that ran and the other errors against float64
  // (NaN: absent or null; cos_sim may be negative).
  std::string impl;
  double cos_sim = NAN, rel_l1 = NAN, rmse = NAN;
  // Sparsity and what it keeps, accuracy against exact attention (-1: absent or null): the dynamic
  // and LRA presets' columns.
  double density = -1, approx_err = -1, mass_recall = -1, mass_recall_min = -1;
  // Data-dependent variants: the selection step's median and its share of the call (-1: absent).
  double select_ms = -1, select_share = -1;
  long repetitions = 0;
};

// The shape part of a case, short: "B1 H8 Hkv2 N1k D64 causal" (Nq1 Nk4k when they differ; then
// inputs and lens when not the default).
std::string shape_label(const CaseRecord& r);

// Throws UserError "FILE:LINE: ..." if a field a table needs is missing or has the wrong type.
CaseRecord case_record_from_json(const json::Line& line);
// A partial last line (a writer killed mid-line) is left out and described in `problems`.
std::vector<CaseRecord> read_case_records(const std::vector<std::string>& paths, std::vector<std::string>& problems);

// One line per problem: "case_id X appears 2 times (a.jsonl:3, b.jsonl:9)".
// Only the first record of each case_id is kept in `records`.
std::vector<std::string> drop_duplicate_cases(std::vector<CaseRecord>& records);

struct ExpectedCase {
  std::string case_id;
  std::string description;  // the rest of the line, e.g. the case's parameters
};
// Expected cases, one per line, case_id first (the output of `attnbench sweep --dry-run`:
// "ID  PARAMETERS"); JSON-object lines contribute their "case_id"; blank and '#' lines are skipped.
std::vector<ExpectedCase> read_expected_cases(const std::string& path);
// "missing case X" for each expected id without a record, "unexpected case X" for the reverse.
std::vector<std::string> compare_with_expected(const std::vector<CaseRecord>& records,
                                               const std::vector<ExpectedCase>& expected);

}  // namespace attn
