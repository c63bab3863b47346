#include "reporters.hpp"

#include <cstdarg>
#include <vector>

#include "errors.hpp"
#include "printable.hpp"

namespace attn {

namespace {

struct Column {
  const char* title;
  int width;
  bool left;  // text columns align left, numbers right
};

// The columns every text format shows, in order.
const std::vector<Column> kColumns = {
    {"variant", 30, true}, {"B", 3, false},       {"H", 3, false},      {"N", 6, false},
    {"D", 4, false},       {"causal", 6, false},  {"threads", 7, false}, {"isa", 6, true},
    {"median ms", 10, false}, {"GFLOP/s", 8, false}, {"% peak", 6, false}, {"rel_err", 8, false},
    {"approx_err", 10, false}, {"density", 7, false},
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

std::vector<std::string> cells(const SweepRecord& r) {
  const SweepCase& c = r.c;
  const std::string n = c.seq_q == c.seq_kv ? std::to_string(c.seq_q) : fmt("%dx%d", c.seq_q, c.seq_kv);
  std::vector<std::string> v = {printable(c.variant), std::to_string(c.batch), std::to_string(c.heads), n,
                                std::to_string(c.head_dim), c.causal ? "1" : "0", std::to_string(c.threads),
                                c.isa_label()};
  if (r.status != "ok") {
    v.push_back("skipped: " + printable(r.reason));
    return v;
  }
  for (const std::string& s : {num(r.time_ms, "%.3f"), num(r.gflops, "%.1f"), num(r.pct_peak, "%.1f"),
                               num(r.rel_err, "%.1e"), num(r.approx_err, "%.1e"), num(r.density, "%.3f")})
    v.push_back(s);
  return v;
}

class TableReporter final : public Reporter {
 public:
  explicit TableReporter(std::FILE* out) : out_(out) {}
  void begin() override {
    std::vector<std::string> titles;
    for (const auto& col : kColumns) titles.push_back(col.title);
    line(titles);
  }
  void row(const SweepRecord& r) override { line(cells(r)); }

 private:
  void line(const std::vector<std::string>& v) {
    std::string s;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const Column& col = kColumns[std::min(i, kColumns.size() - 1)];
      const bool last = i + 1 == v.size();
      if (i) s += "  ";
      if (last && i + 1 < kColumns.size()) s += v[i];  // a skip reason spans the rest
      else s += fmt(col.left ? "%-*s" : "%*s", col.width, v[i].c_str());
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    std::fprintf(out_, "%s\n", s.c_str());
    std::fflush(out_);
  }
  std::FILE* out_;
};

class MarkdownReporter final : public Reporter {
 public:
  explicit MarkdownReporter(std::FILE* out) : out_(out) {}
  void begin() override {
    std::string head = "|", rule = "|";
    for (const auto& col : kColumns) {
      head += std::string(" ") + col.title + " |";
      rule += col.left ? " --- |" : " ---: |";
    }
    std::fprintf(out_, "%s\n%s\n", head.c_str(), rule.c_str());
  }
  void row(const SweepRecord& r) override {
    std::string s = "|";
    for (const auto& cell : cells(r)) {
      s += " ";
      for (char ch : cell) s += ch == '|' ? std::string("\\|") : std::string(1, ch);
      s += " |";
    }
    std::fprintf(out_, "%s\n", s.c_str());
    std::fflush(out_);
  }

 private:
  std::FILE* out_;
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
  void begin() override {
    std::string spec, head;
    for (const auto& col : kColumns) {
      spec += col.left ? "l" : "r";
      head += std::string(head.empty() ? "" : " & ") + latex_escape(col.title);
    }
    std::fprintf(out_, "\\begin{tabular}{%s}\n\\toprule\n%s \\\\\n\\midrule\n", spec.c_str(), head.c_str());
  }
  void row(const SweepRecord& r) override {
    const auto v = cells(r);
    std::string s;
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? " & " : "") + latex_escape(v[i]);
    if (v.size() < kColumns.size())
      s = s.substr(0, s.rfind(" & ")) + " & \\multicolumn{" + std::to_string(kColumns.size() - v.size() + 1) +
          "}{l}{" + latex_escape(v.back()) + "}";
    std::fprintf(out_, "%s \\\\\n", s.c_str());
    std::fflush(out_);
  }
  void end() override { std::fprintf(out_, "\\bottomrule\n\\end{tabular}\n"); }

 private:
  std::FILE* out_;
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
