// attnbench compare BASE.jsonl NEW.jsonl: per case in both runs, NEW/BASE median time and a
// noise-aware verdict (run_compare.hpp). Exit 0: nothing slower; 1: some case slower; 2: bad input.
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>

#include "commands.hpp"
#include "errors.hpp"
#include "printable.hpp"
#include "run_compare.hpp"
#include "run_options.hpp"
#include "table_render.hpp"

namespace po = boost::program_options;

namespace attn {

namespace {

const char* kRule =
    "Verdict: noise = max(threshold, 2 cv_base, 2 cv_new) (cv counts as 5% when a record has no measured spread); "
    "slower when NEW/BASE > 1 + noise and NEW's fastest repetition is above BASE's median, faster when "
    "NEW/BASE < 1/(1 + noise) and BASE's fastest repetition is above NEW's median, else same. "
    "Exit status: 0 nothing slower, 1 some case slower, 2 bad input.";

std::vector<CaseRecord> read_run(const std::string& path) {
  std::vector<std::string> problems;
  std::vector<CaseRecord> records = read_case_records({path}, problems);
  const auto duplicates = drop_duplicate_cases(records);
  problems.insert(problems.end(), duplicates.begin(), duplicates.end());
  for (const auto& p : problems) std::fprintf(stderr, "attnbench compare: warning: %s\n", printable(p).c_str());
  return records;
}

std::string number(const char* f, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

Table comparison_table(const RunComparison& cmp, bool plain) {
  Table t;
  t.header = {"case", "variant", "shape", "base ms", "new ms", "ratio", "noise", "verdict"};
  for (const auto& c : cmp.cases)
    t.rows.push_back({c.base.case_id, c.base.variant, case_shape(c.base), number("%.4g", c.base.time_ms),
                      number("%.4g", c.now.time_ms), number("%.3f", c.ratio),
                      plain ? number("%.3f", c.noise) : number("%.1f%%", 100 * c.noise), verdict_name(c.verdict)});
  return t;
}

std::string summary(const RunComparison& cmp) {
  std::string s = std::to_string(cmp.faster) + " faster, " + std::to_string(cmp.slower) + " slower, " +
                  std::to_string(cmp.same) + " same, " + std::to_string(cmp.only_base.size()) + " only in base, " +
                  std::to_string(cmp.only_new.size()) + " only in new";
  if (!cmp.not_measured.empty()) s += ", " + std::to_string(cmp.not_measured.size()) + " skipped in base or new";
  return s + number("; geometric mean ratio %.3f", cmp.geomean_ratio);
}

}  // namespace

int cmd_compare(int argc, const char* const* argv) {
  std::vector<std::string> files;
  std::string format = "table";
  double threshold_pct = 2;
  po::options_description desc(std::string("attnbench compare BASE.jsonl NEW.jsonl [--threshold PCT] [--format table|md|csv]\n") + kRule);
  desc.add_options()("help,h", "this help")
      ("threshold", po::value(&threshold_pct)->default_value(2), "least change that counts, in percent (noise may raise it)")
      ("format", po::value(&format)->default_value("table"), "table (aligned text), md or csv (plain numbers; summary on stderr)");
  po::variables_map vm;
  if (!parse_command_line(argc, argv, desc, vm, files)) return 0;
  if (files.size() != 2) throw UserError("give two JSONL files, BASE and NEW (got " + std::to_string(files.size()) + ")");
  if (!std::isfinite(threshold_pct) || threshold_pct < 0 || threshold_pct > 1000)
    throw UserError("--threshold must be a percentage from 0 to 1000");
  TableFormat fmt;
  if (format == "table") fmt = TableFormat::Text;
  else if (format == "md") fmt = TableFormat::Markdown;
  else if (format == "csv") fmt = TableFormat::Csv;
  else throw UserError("--format '" + format + "' is not one of table, md, csv");

  const RunComparison cmp = compare_runs(read_run(files[0]), read_run(files[1]), threshold_pct / 100);
  if (cmp.cases.empty())
    throw UserError("no measured case is in both " + files[0] + " and " + files[1] + " (" + std::to_string(cmp.only_base.size()) +
                    " only in base, " + std::to_string(cmp.only_new.size()) + " only in new)");
  Table t = comparison_table(cmp, fmt == TableFormat::Csv);
  const std::string line = summary(cmp);
  if (fmt == TableFormat::Markdown) t.title = "compare: " + files[0] + " -> " + files[1];
  std::string text = render_tables({t}, fmt);
  if (fmt == TableFormat::Csv) std::fprintf(stderr, "attnbench compare: %s\n", line.c_str());
  else text += (fmt == TableFormat::Markdown ? "\n" : "") + line + "\n";
  std::fwrite(text.data(), 1, text.size(), stdout);
  return cmp.slower > 0 ? 1 : 0;
}

}  // namespace attn
