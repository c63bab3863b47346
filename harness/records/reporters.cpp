#include "reporters.hpp"

#include <algorithm>
#include <cstdarg>
#include <sstream>
#include <vector>

#include "errors.hpp"
#include "printable.hpp"
#include "variant.hpp"

namespace attn {

namespace {

// The console's name for a variant: the canonical spec without the options at their defaults
// ("block_sparse:block=64,global=1,pattern=bigbird,random=2,seed=0,window=1" is "block_sparse"),
// so the first screen fits a terminal. Markdown, LaTeX, CSV and JSON keep the full spec.
std::string console_spec(const std::string& spec) {
  const auto colon = spec.find(':');
  if (colon == std::string::npos) return spec;
  const std::string name = spec.substr(0, colon);
  std::string defaults;
  try {
    defaults = make_variant(name)->spec();
  } catch (const std::exception&) {
    return spec;  // a variant with no default form: nothing to shorten against
  }
  const std::string default_options = "," + defaults.substr(defaults.find(':') == std::string::npos ? defaults.size() : defaults.find(':') + 1) + ",";
  std::string kept, option;
  std::istringstream options(spec.substr(colon + 1));
  while (std::getline(options, option, ','))
    if (default_options.find("," + option + ",") == std::string::npos) kept += (kept.empty() ? "" : ",") + option;
  return kept.empty() ? name : name + ":" + kept;
}

struct Column {
  const char* title;
  int width;
  bool left;  // text columns align left, numbers right
};

// Case parameters that get a column only when some case in the run sets them.
struct Optional {
  const char* title;
  int width;
  std::string (*value)(const SweepCase&);  // "" for the default
};

const Optional kOptional[] = {
    {"Hkv", 3, [](const SweepCase& c) { return c.kv_heads != c.heads ? std::to_string(c.kv_heads) : std::string(); }},
    {"dtype", 5, [](const SweepCase& c) { return c.param("dtype", ""); }},
    {"pass", 6, [](const SweepCase& c) { return c.param("pass", ""); }},
    {"inputs", 8, [](const SweepCase& c) { return c.param("inputs", ""); }},
    {"lens", 12, [](const SweepCase& c) { return c.param("lens", ""); }},
};
constexpr std::size_t kOptionalCount = sizeof kOptional / sizeof kOptional[0];
// The defaults shown in a column that some other case fills.
const char* const kOptionalDefault[kOptionalCount] = {"", "f32", "fwd", "gaussian", "-"};

// Which optional columns a run shows (plan()); none before it.
struct Layout {
  bool shown[kOptionalCount] = {};
  int variant_width = 30;  // the longest spec in the run, so long ones do not push the row out
  bool console = false;    // variants by console_spec()
  std::string variant_label(const std::string& spec) const { return printable(console ? console_spec(spec) : spec); }
  void plan(const std::vector<SweepCase>& cases) {
    variant_width = 7;
    for (const auto& c : cases) variant_width = std::max(variant_width, static_cast<int>(variant_label(c.variant).size()));
    variant_width = std::min(variant_width, 80);
    for (std::size_t i = 0; i < kOptionalCount; ++i) {
      shown[i] = false;
      for (const auto& c : cases) shown[i] = shown[i] || !kOptional[i].value(c).empty();
    }
  }
  // In order: variant B H [Hkv] N D causal [dtype pass inputs lens] threads isa, then measurements.
  std::vector<Column> columns() const {
    std::vector<Column> v = {{"variant", variant_width, true}, {"B", 3, false}, {"H", 3, false}};
    if (shown[0]) v.push_back({kOptional[0].title, kOptional[0].width, false});
    v.insert(v.end(), {{"N", 6, false}, {"D", 4, false}, {"causal", 6, false}});
    for (std::size_t i = 1; i < kOptionalCount; ++i)
      if (shown[i]) v.push_back({kOptional[i].title, kOptional[i].width, true});
    v.insert(v.end(), {{"threads", 7, false}, {"isa", 6, true}, {"median ms", 10, false}, {"cv", 6, false},
                       {"GFLOP/s", 8, false}, {"% peak", 6, false}, {"rel_err", 8, false}, {"approx_err", 10, false},
                       {"mass_recall", 11, false}, {"density", 7, false}});
    return v;
  }
};

std::string fmt(const char* f, ...) {
  char buf[128];
  va_list args;
  va_start(args, f);
  std::vsnprintf(buf, sizeof buf, f, args);
  va_end(args);
  return buf;
}

std::string num(const std::optional<double>& v, const char* f) { return v ? fmt(f, *v) : "-"; }

bool noisy(const SweepRecord& r) { return r.status == "ok" && r.cv && *r.cv > kNoisyCv; }

std::string optional_cell(std::size_t i, const SweepCase& c) {
  const std::string v = kOptional[i].value(c);
  if (!v.empty()) return printable(v);
  return i == 0 ? std::to_string(c.heads) : kOptionalDefault[i];
}

std::vector<std::string> cells(const SweepRecord& r, const Layout& layout) {
  const SweepCase& c = r.c;
  const std::string n = c.seq_q == c.seq_kv ? std::to_string(c.seq_q) : fmt("%dx%d", c.seq_q, c.seq_kv);
  std::vector<std::string> v = {layout.variant_label(c.variant), std::to_string(c.batch), std::to_string(c.heads)};
  if (layout.shown[0]) v.push_back(optional_cell(0, c));
  v.insert(v.end(), {n, std::to_string(c.head_dim), c.causal ? "1" : "0"});
  for (std::size_t i = 1; i < kOptionalCount; ++i)
    if (layout.shown[i]) v.push_back(optional_cell(i, c));
  v.insert(v.end(), {std::to_string(c.threads), c.isa_label()});
  if (r.status != "ok") {
    v.push_back("skipped: " + printable(r.reason));
    return v;
  }
  const std::string cv = r.cv ? fmt("%.3f", *r.cv) + (noisy(r) ? "*" : "") : "-";
  for (const std::string& s : {num(r.time_ms, "%.3f"), cv, num(r.gflops, "%.1f"), num(r.pct_peak, "%.1f"),
                               num(r.rel_err, "%.1e"), num(r.approx_err, "%.1e"), num(r.mass_recall, "%.3f"),
                               num(r.density, "%.3f")})
    v.push_back(s);
  return v;
}

const char* const kNoisyLegend = "* cv > 0.05: the repetitions varied by more than 5%; treat this time with care";
// What the accuracy columns mean, under every console table: a newcomer's first question is why a
// window's approx_err is 2.
const char* const kAccuracyLegend =
    "approx_err = ||O - O_dense|| / ||O_dense||, the distance from exact attention (0 = exact; sparse variants "
    "differ by design, less on --inputs local); mass_recall = share of the softmax mass on the keys read (1 = all)";

class TableReporter final : public Reporter {
 public:
  explicit TableReporter(std::FILE* out) : out_(out) { layout_.console = true; }
  void plan(const std::vector<SweepCase>& cases) override { layout_.plan(cases); }
  void begin() override {
    columns_ = layout_.columns();
    std::vector<std::string> titles;
    for (const auto& col : columns_) titles.push_back(col.title);
    line(titles);
  }
  void row(const SweepRecord& r) override {
    line(cells(r, layout_));
    any_noisy_ = any_noisy_ || noisy(r);
    any_ok_ = any_ok_ || r.status == "ok";
  }
  void end() override {
    if (any_noisy_) std::fprintf(out_, "%s\n", kNoisyLegend);
    if (any_ok_) std::fprintf(out_, "%s\n", kAccuracyLegend);
    std::fflush(out_);
  }

 private:
  void line(const std::vector<std::string>& v) {
    std::string s;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const Column& col = columns_[std::min(i, columns_.size() - 1)];
      const bool last = i + 1 == v.size();
      if (i) s += "  ";
      if (last && i + 1 < columns_.size()) s += v[i];  // a skip reason spans the rest
      else s += fmt(col.left ? "%-*s" : "%*s", col.width, v[i].c_str());
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    std::fprintf(out_, "%s\n", s.c_str());
    std::fflush(out_);
  }
  std::FILE* out_;
  Layout layout_;
  std::vector<Column> columns_;
  bool any_noisy_ = false, any_ok_ = false;
};

class MarkdownReporter final : public Reporter {
 public:
  explicit MarkdownReporter(std::FILE* out) : out_(out) {}
  void plan(const std::vector<SweepCase>& cases) override { layout_.plan(cases); }
  void begin() override {
    std::string head = "|", rule = "|";
    for (const auto& col : layout_.columns()) {
      head += std::string(" ") + col.title + " |";
      rule += col.left ? " --- |" : " ---: |";
    }
    std::fprintf(out_, "%s\n%s\n", head.c_str(), rule.c_str());
  }
  void row(const SweepRecord& r) override {
    any_noisy_ = any_noisy_ || noisy(r);
    any_ok_ = any_ok_ || r.status == "ok";
    std::string s = "|";
    for (const auto& cell : cells(r, layout_)) {
      s += " ";
      for (char ch : cell) s += ch == '|' ? std::string("\\|") : std::string(1, ch);
      s += " |";
    }
    std::fprintf(out_, "%s\n", s.c_str());
    std::fflush(out_);
  }
  void end() override {
    if (any_noisy_) std::fprintf(out_, "\n_%s_\n", kNoisyLegend);
    if (any_ok_) std::fprintf(out_, "\n_%s_\n", kAccuracyLegend);
    std::fflush(out_);
  }

 private:
  std::FILE* out_;
  Layout layout_;
  bool any_noisy_ = false, any_ok_ = false;
};

// CSV: one header line of schema field names (every field but the machine object), one row per
// record; numeric columns hold plain numbers or nothing, so pandas.read_csv reads it as is.
class CsvReporter final : public Reporter {
 public:
  explicit CsvReporter(std::FILE* out) : out_(out) {}
  void begin() override {
    std::string header;
    for (const Field* f : csv_columns()) header += (header.empty() ? "" : ",") + std::string(f->name);
    std::fprintf(out_, "%s\n", header.c_str());
  }
  void row(const SweepRecord& r) override {
    std::string line;
    bool first = true;
    for (const auto& cell : record_fields(r).csv_cells()) {
      line += (first ? "" : ",") + cell;
      first = false;
    }
    std::fprintf(out_, "%s\n", line.c_str());
    std::fflush(out_);
  }

 private:
  std::FILE* out_;
};

class JsonReporter final : public Reporter {
 public:
  explicit JsonReporter(std::FILE* out) : out_(out) {}
  void begin() override { std::fprintf(out_, "["); }
  void row(const SweepRecord& r) override {
    std::fprintf(out_, "%s\n  %s", first_ ? "" : ",", record_json(r).c_str());
    first_ = false;
    std::fflush(out_);
  }
  void end() override { std::fprintf(out_, "\n]\n"); }

 private:
  std::FILE* out_;
  bool first_ = true;
};

std::string latex_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '_' || ch == '%' || ch == '&' || ch == '#' || ch == '$' || ch == '{' || ch == '}') out += '\\';
    out += ch;
  }
  return out;
}

class LatexReporter final : public Reporter {
 public:
  explicit LatexReporter(std::FILE* out) : out_(out) {}
  void plan(const std::vector<SweepCase>& cases) override { layout_.plan(cases); }
  void begin() override {
    columns_ = layout_.columns();
    std::string spec, head;
    for (const auto& col : columns_) {
      spec += col.left ? "l" : "r";
      head += std::string(head.empty() ? "" : " & ") + latex_escape(col.title);
    }
    std::fprintf(out_, "\\begin{tabular}{%s}\n\\toprule\n%s \\\\\n\\midrule\n", spec.c_str(), head.c_str());
  }
  void row(const SweepRecord& r) override {
    const auto v = cells(r, layout_);
    std::string s;
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? " & " : "") + latex_escape(v[i]);
    if (v.size() < columns_.size())
      s = s.substr(0, s.rfind(" & ")) + " & \\multicolumn{" + std::to_string(columns_.size() - v.size() + 1) +
          "}{l}{" + latex_escape(v.back()) + "}";
    std::fprintf(out_, "%s \\\\\n", s.c_str());
    std::fflush(out_);
  }
  void end() override { std::fprintf(out_, "\\bottomrule\n\\end{tabular}\n"); }

 private:
  std::FILE* out_;
  Layout layout_;
  std::vector<Column> columns_;
};

}  // namespace

std::unique_ptr<Reporter> make_reporter(const std::string& format, std::FILE* out) {
  if (format == "table") return std::make_unique<TableReporter>(out);
  if (format == "md") return std::make_unique<MarkdownReporter>(out);
  if (format == "csv") return std::make_unique<CsvReporter>(out);
  if (format == "json") return std::make_unique<JsonReporter>(out);
  if (format == "latex") return std::make_unique<LatexReporter>(out);
  throw UserError("--format '" + format + "' is not one of table, md, csv, json, latex");
}

}  // namespace attn
