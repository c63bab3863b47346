// Paper-style tables laid out from sweep records.
//   lra:   Long Range Arena (Tay et al. 2021) Table 2: rows = variants, columns = N,
//          speed relative to dense (dense time / variant time) and workspace relative to dense.
//   flash: FlashAttention (Dao et al. 2022) runtime-vs-N: rows = variants (by pass when the
//          records hold bwd or fwd+bwd), columns = N, median ms, "OOM" / "—" for skipped cases;
//          then dense's speed-up over the other variants (table_flash.cpp).
//   decode: new tokens/s and % of read bandwidth vs context length.
//   precision: rows = variant x D x N x dtype, speed-up over f32 and the four error metrics
//          against float64 (table_precision.cpp).
//   dynamic: block_topk against static patterns of the same density: rows = N x variant,
//          density, ms, % of dense's useful-FLOP rate, mass_recall (mean, min).
// Rows: dense first, then variants in the order they first appear in the records (the preset's
// order); columns by N; tables in setting order.
// Records are grouped by setting (batch, heads, kv_heads, head_dim, causal, threads, isa, dtype,
// pass, inputs, lens; table_grid.hpp); each setting gets its own table so no record is silently
// mixed with another, except where a preset compares settings (flash: passes; precision: dtypes).
#pragma once
#include <string>
#include <vector>

#include "table_records.hpp"

namespace attn {

struct Table {
  std::string title;
  std::vector<std::string> notes;                // printed under the table
  std::vector<std::string> header;               // first column names the rows
  std::vector<std::vector<std::string>> rows;
};

struct PresetOutput {
  std::vector<Table> tables;
  // The same cells for CSV (and pandas): one header, one row per (setting, variant, Nq, Nk) with
  // a status (ok, oom, skipped, missing) and the preset's quantities as plain numbers, empty where
  // the tables print a dash or OOM. No title or notes.
  Table flat;
  std::vector<std::string> problems;  // cells with no record (the merge must not hide them)
};

const std::vector<std::string>& table_preset_names();
// Throws UserError for an unknown preset or when no record is left to tabulate.
PresetOutput build_preset_tables(const std::string& preset, const std::vector<CaseRecord>& records);

// "1k" for 1024, "1.5k" for 1536, "100" for 100.
std::string seq_label(long n);

}  // namespace attn
