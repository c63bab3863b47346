// The records of a preset table grouped into grids: one grid per setting (every case parameter
// but the variant and N), rows = variants, columns = (Nq, Nk); and the cell formatting every
// preset shares. Used by table_presets.cpp and the preset files beside it (table_flash.cpp,
// table_precision.cpp).
#pragma once
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "table_presets.hpp"

namespace attn {

extern const char* const kDash;  // "—": no number (skipped, missing, not finite)

// Every case parameter but the variant and N: records that differ in any of them (e.g. --inputs
// local and gaussian) land in different grids, never in one cell as "duplicates".
struct Setting {
  long batch = 0, heads = 0, kv_heads = 0, head_dim = 0, threads = 0;
  bool causal = false;
  std::string isa, dtype, pass, inputs, lens;
  auto key() const { return std::tie(batch, heads, kv_heads, head_dim, causal, threads, isa, dtype, pass, inputs, lens); }
  bool operator<(const Setting& o) const { return key() < o.key(); }
  bool operator==(const Setting& o) const { return key() == o.key(); }
  // Defaults of the newer parameters are left out, so titles name only what is special.
  std::string describe(bool with_head_dim = true) const;
};

Setting setting_of(const CaseRecord& r);

using Column = std::pair<long, long>;  // (seq_q, seq_kv)
std::string column_label(const Column& c);  // "1k", or "1x4k" when Nq != Nk

// One setting's records: variants in first-seen order (dense first), columns by (Nk, Nq).
struct Grid {
  Setting setting;
  std::vector<std::string> variants;
  std::vector<Column> columns;
  std::map<std::pair<std::string, Column>, const CaseRecord*> cells;
  std::size_t records = 0;
  std::set<std::string> files;

  const CaseRecord* at(const std::string& variant, const Column& c) const;
  // The measured record of the cell, or nullptr when it is missing or skipped.
  const CaseRecord* measured(const std::string& variant, const Column& c) const;
};

// Grids in setting order. Variants that ignore the ISA (isa "any") join every ISA's grid of the
// same setting. Cells without a record and second records for a cell go to `problems`.
std::vector<Grid> group_into_grids(const std::vector<CaseRecord>& records, std::vector<std::string>& problems);

// Grids whose settings agree once `blank` has cleared some fields (e.g. the pass, so that fwd,
// bwd and fwd+bwd share one table), in setting order; each group in the grids' order.
template <class Blank>
std::vector<std::vector<const Grid*>> group_grids_by(const std::vector<Grid>& grids, Blank blank) {
  std::map<Setting, std::vector<const Grid*>> groups;
  for (const Grid& g : grids) {
    Setting s = g.setting;
    blank(s);
    groups[s].push_back(&g);
  }
  std::vector<std::vector<const Grid*>> out;
  for (auto& [s, members] : groups) out.push_back(std::move(members));
  return out;
}

// Cell text. Every number goes through printf_string: one that is not finite is a dash.
std::string printf_string(const char* fmt, double x);
std::string format_ms(double ms);
std::string skipped_cell(const CaseRecord& r);  // "OOM" for lack of memory, else a dash
std::vector<std::string> header_for(const Grid& g, const std::string& corner);
std::string sources_note(const Grid& g);                      // "N records from FILES"
std::string sources_note(const std::vector<const Grid*>& gs);  // the same over several grids

// Ratio cell against the dense record of the same column; `ratio` formats the quantity.
template <class Ratio>
std::string relative_cell(const Grid& g, const std::string& variant, const Column& c, Ratio ratio) {
  const CaseRecord* r = g.at(variant, c);
  if (!r) return kDash;
  if (r->skipped) return skipped_cell(*r);
  const CaseRecord* dense = g.at("dense", c);
  if (!dense || dense->skipped) return kDash;
  return ratio(*dense, *r);
}

// CSV cells: a plain number, or empty when there is none (or it is not finite).
std::string flat_number(bool have, double x);
std::string flat_status(const CaseRecord* r);  // ok, oom, skipped or missing
// The names of the columns flat_row_start fills.
std::vector<std::string> flat_header_start();
// The setting's columns of a flat row and the cell's (variant, seq_q, seq_kv, status).
std::vector<std::string> flat_row_start(const Setting& s, const std::string& variant, const Column& c, const CaseRecord* r);

// The presets that lay several grids out in one table; each adds its tables, the flat table's
// header and its rows to `out`.
void add_flash_tables(const std::vector<Grid>& grids, PresetOutput& out);      // table_flash.cpp
void add_precision_tables(const std::vector<Grid>& grids, PresetOutput& out);  // table_precision.cpp

}  // namespace attn
