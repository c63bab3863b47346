// attnbench table: lays sweep JSONL out as a paper-style table. Duplicate and missing cases
// are reported on stderr (an error with --strict), never silently dropped.
#include <boost/program_options.hpp>
#include <cstdio>

#include "commands.hpp"
#include "errors.hpp"
#include "output_file.hpp"
#include "printable.hpp"
#include "run_options.hpp"
#include "table_presets.hpp"
#include "table_records.hpp"
#include "table_plain.hpp"
#include "table_render.hpp"

namespace po = boost::program_options;

namespace attn {

namespace {

struct RecordFilter {
  po::variables_map const* vm;
  template <class T>
  bool keeps(const char* option, const T& value) const {
    return !vm->count(option) || (*vm)[option].as<T>() == value;
  }
  bool keeps(const CaseRecord& r) const {
    return keeps<long>("head-dim", r.head_dim) && keeps<long>("batch", r.batch) && keeps<long>("heads", r.heads) &&
           keeps<int>("causal", r.causal ? 1 : 0) && keeps<long>("threads", r.threads) && keeps<std::string>("isa", r.isa);
  }
};

void report(const std::vector<std::string>& problems) {
  const std::size_t shown = 50;
  for (std::size_t i = 0; i < problems.size() && i < shown; ++i)
    std::fprintf(stderr, "attnbench table: warning: %s\n", printable(problems[i]).c_str());
  if (problems.size() > shown)
    std::fprintf(stderr, "attnbench table: warning: ... and %zu more problems\n", problems.size() - shown);
}

}  // namespace

int cmd_table(int argc, const char* const* argv) {
  std::vector<std::string> files;
  std::string preset, format_name = "md", out_path, expect_path;
  po::options_description desc("attnbench table FILE.jsonl... [--preset lra|flash|decode|dynamic|precision] [--format md|csv|latex]\n"
                               "Without --preset: one plain table, a row per record in file order.");
  desc.add_options()("help,h", "this help")
      ("preset", po::value(&preset), "lra (speed and workspace relative to dense), flash (median ms vs N; fwd, bwd, "
                                     "fwd+bwd), decode (tokens/s vs context), dynamic (density, ms, % of dense's rate, "
                                     "mass_recall) or precision (speed-up over f32 and errors per dtype); rows in the "
                                     "order the variants first appear")
      ("format", po::value(&format_name), "md (default), csv (one flat table: a row per case, plain numbers) or latex")
      ("out", po::value(&out_path), "write the table to this file (atomically) instead of stdout")
      ("expect", po::value(&expect_path), "expected case_ids, one per line (attnbench sweep --dry-run): report missing and unexpected cases")
      ("strict", po::bool_switch(), "duplicate, missing or unexpected cases are an error, not a warning")
      ("head-dim", po::value<long>(), "only records with this head_dim")
      ("batch", po::value<long>(), "only records with this batch")
      ("heads", po::value<long>(), "only records with this number of heads")
      ("causal", po::value<int>(), "only causal (1) or non-causal (0) records")
      ("threads", po::value<long>(), "only records with this thread count")
      ("isa", po::value<std::string>(), "only records with this ISA");
  po::variables_map vm;
  if (!parse_command_line(argc, argv, desc, vm, files)) return 0;
  if (files.empty()) throw UserError("no JSONL files given");
  const TableFormat format = parse_table_format(format_name);
  if (!out_path.empty()) {  // before reading anything: a bad --out fails at once
    std::vector<NamedPath> inputs = {{"--expect", expect_path}};
    for (const auto& file : files) inputs.push_back({"input", file});
    check_outputs({{"--out", out_path}}, inputs);
  }

  std::vector<std::string> problems;
  std::vector<CaseRecord> records = read_case_records(files, problems);
  const auto duplicates = drop_duplicate_cases(records);
  problems.insert(problems.end(), duplicates.begin(), duplicates.end());
  if (!expect_path.empty()) {
    auto expected = compare_with_expected(records, read_expected_cases(expect_path));
    problems.insert(problems.end(), expected.begin(), expected.end());
  }
  std::vector<CaseRecord> chosen;
  const RecordFilter filter{&vm};
  for (const auto& r : records)
    if (filter.keeps(r)) chosen.push_back(r);
  if (chosen.empty() && !records.empty()) throw UserError("no record matches the --head-dim/--batch/--heads/--causal/--threads/--isa filters");
  std::string text;
  if (preset.empty()) {
    if (chosen.empty()) throw UserError("no records to tabulate");
    text = render_tables({plain_records_table(chosen, format == TableFormat::Csv)}, format);
  } else {
    PresetOutput out = build_preset_tables(preset, chosen);
    problems.insert(problems.end(), out.problems.begin(), out.problems.end());
    text = render_preset(out, format);
  }

  report(problems);
  if (vm["strict"].as<bool>() && !problems.empty())
    throw UserError(std::to_string(problems.size()) + " problem(s) with the case set (see the warnings above); no table written (--strict)");
  if (out_path.empty()) std::fwrite(text.data(), 1, text.size(), stdout);
  else write_file_atomic(out_path, text);
  return 0;
}

}  // namespace attn
