// The precision preset (issue 17): what each dtype buys and costs. One table per setting but the
// dtype and the head size (so gaussian and local inputs, and the decode shape, get their own),
// rows = variant x D x N x dtype, columns = the implementation that ran, the median, the speed-up
// over f32 (f32 median / this median: the same setting and N, so the same run of the preset) and
// the four error metrics against the float64 reference on the original float32 inputs.
#include <algorithm>
#include <cmath>

#include "impl_list.hpp"  // case_isa
#include "table_grid.hpp"

namespace attn {

namespace {

// The ISA an f32 case asked for the same --isa ran at: the sweep runs bf16 and int8 at
// avx512bf16 where an f32 case of the same request is an avx512 case (case_isa), and both
// belong in one table, the f32 record as the other's reference.
std::string f32_isa(const std::string& isa) {
  Isa parsed;
  return parse_isa(isa, parsed) ? isa_name(case_isa(DType::f32, parsed)) : isa;
}

int dtype_rank(const std::string& dtype) {
  static const char* order[] = {"f32", "bf16", "f16", "int8"};
  for (int i = 0; i < 4; ++i)
    if (dtype == order[i]) return i;
  return 4;
}

// The f32 grid of the same setting and head size as `g` (at the f32 level of its ISA), if the
// records hold one.
const Grid* f32_twin(const std::vector<const Grid*>& group, const Grid& g) {
  Setting s = g.setting;
  s.dtype = "f32";
  s.isa = f32_isa(s.isa);
  for (const Grid* other : group)
    if (other->setting == s) return other;
  return nullptr;
}

// f32 median / this record's median, or a negative number when either is missing or skipped.
double speedup_over_f32(const std::vector<const Grid*>& group, const Grid& g, const std::string& variant, const Column& c) {
  const Grid* base = f32_twin(group, g);
  const CaseRecord* f32 = base ? base->measured(variant, c) : nullptr;
  const CaseRecord* r = g.measured(variant, c);
  return f32 && r ? f32->time_ms / r->time_ms : -1;
}

// rel_err is -1 when the record has none (CaseRecord), the other metrics NaN: a dash either way.
std::string metric(double x, const char* fmt) { return x < 0 ? std::string(kDash) : printf_string(fmt, x); }

void add_group_table(std::vector<const Grid*> group, PresetOutput& out) {
  std::stable_sort(group.begin(), group.end(), [](const Grid* a, const Grid* b) {
    return std::make_tuple(a->setting.head_dim, dtype_rank(a->setting.dtype), a->setting.dtype) <
           std::make_tuple(b->setting.head_dim, dtype_rank(b->setting.dtype), b->setting.dtype);
  });
  std::vector<std::string> variants;
  std::vector<long> dims;
  std::vector<Column> columns;
  for (const Grid* g : group) {
    for (const auto& v : g->variants)
      if (std::find(variants.begin(), variants.end(), v) == variants.end()) variants.push_back(v);
    if (std::find(dims.begin(), dims.end(), g->setting.head_dim) == dims.end()) dims.push_back(g->setting.head_dim);
    for (const auto& c : g->columns)
      if (std::find(columns.begin(), columns.end(), c) == columns.end()) columns.push_back(c);
  }
  std::stable_partition(variants.begin(), variants.end(), [](const std::string& v) { return v == "dense"; });
  std::sort(columns.begin(), columns.end(),
            [](const Column& a, const Column& b) { return std::tie(a.second, a.first) < std::tie(b.second, b.first); });

  Setting s = group.front()->setting;
  s.dtype = "f32";  // neither the dtype nor the head size belongs to the whole table: the rows say them
  std::vector<std::string> isas;  // e.g. avx512 (f32, f16) and avx512bf16 (bf16, int8)
  for (const Grid* g : group)
    if (std::find(isas.begin(), isas.end(), g->setting.isa) == isas.end()) isas.push_back(g->setting.isa);
  std::sort(isas.begin(), isas.end());
  s.isa.clear();
  for (const auto& isa : isas) s.isa += (s.isa.empty() ? "" : "/") + isa;
  const std::string title = "Precision: speed-up over f32 and error against float64, " + s.describe(false);
  Table t{title, {}, {"variant", "D", "N", "dtype", "impl", "ms", "vs f32", "rel_err", "cos_sim", "rel_l1", "rmse"}, {}};
  bool missing_f32 = false;
  for (const auto& v : variants)
    for (long d : dims)
      for (const auto& c : columns)
        for (const Grid* g : group) {
          if (g->setting.head_dim != d || std::find(g->columns.begin(), g->columns.end(), c) == g->columns.end() ||
              std::find(g->variants.begin(), g->variants.end(), v) == g->variants.end())
            continue;
          std::vector<std::string> row{v, std::to_string(d), column_label(c), g->setting.dtype};
          const CaseRecord* r = g->at(v, c);
          if (!r || r->skipped) {
            row.push_back(kDash);  // no implementation ran
            row.resize(t.header.size(), r ? skipped_cell(*r) : kDash);
            t.rows.push_back(row);
            continue;
          }
          const double speedup = speedup_over_f32(group, *g, v, c);
          missing_f32 |= speedup < 0;
          row.push_back(r->impl.empty() ? kDash : r->impl);
          row.push_back(format_ms(r->time_ms));
          row.push_back(speedup < 0 ? kDash : printf_string("%.2fx", speedup));
          row.push_back(metric(r->rel_err, "%.2e"));
          row.push_back(metric(r->cos_sim, "%.8f"));  // f16's is 1 - 7e-8
          row.push_back(metric(r->rel_l1, "%.2e"));
          row.push_back(metric(r->rmse, "%.2e"));
          t.rows.push_back(row);
        }
  t.notes = {"ms = median (time_ms); vs f32 = f32 median / this median at the same setting, D and N; " + sources_note(group),
             "errors against the float64 reference on the original float32 inputs (rounding and quantisation count), on "
             "the rows the sweep checked: rel_err = max|O - O_ref| / max|O_ref|, cos_sim = cosine similarity of O and "
             "O_ref, rel_l1 = sum|O - O_ref| / sum|O_ref|, rmse = root mean square of O - O_ref; impl = the "
             "implementation that ran, with its ISA (-emulated: float32 kernels on the stored values)"};
  if (missing_f32) out.problems.push_back("precision: some cells have no measured f32 record to compare with (" + title + ")");
  out.tables.push_back(std::move(t));
}

}  // namespace

void add_precision_tables(const std::vector<Grid>& grids, PresetOutput& out) {
  const auto groups = group_grids_by(grids, [](Setting& s) { s.dtype.clear(), s.head_dim = 0, s.isa = f32_isa(s.isa); });
  for (const auto& group : groups) add_group_table(group, out);
  out.flat.header = flat_header_start();
  out.flat.header.insert(out.flat.header.end(), {"impl", "time_ms", "speedup_vs_f32", "rel_err", "cos_sim", "rel_l1", "rmse"});
  for (const auto& group : groups)
    for (const Grid* g : group)
      for (const auto& v : g->variants)
        for (const auto& c : g->columns) {
          const CaseRecord* r = g->measured(v, c);
          std::vector<std::string> row = flat_row_start(g->setting, v, c, g->at(v, c));
          const double speedup = r ? speedup_over_f32(group, *g, v, c) : -1;
          row.push_back(r ? r->impl : "");
          row.push_back(flat_number(r, r ? r->time_ms : 0));
          row.push_back(flat_number(speedup >= 0, speedup));
          row.push_back(flat_number(r && r->rel_err >= 0, r ? r->rel_err : 0));
          for (double x : {r ? r->cos_sim : NAN, r ? r->rel_l1 : NAN, r ? r->rmse : NAN}) row.push_back(flat_number(true, x));
          out.flat.rows.push_back(std::move(row));
        }
}

}  // namespace attn
