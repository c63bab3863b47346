#include "sweep_options.hpp"

#include <boost/program_options.hpp>
#include <algorithm>
#include <climits>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "case_filter.hpp"
#include "case_inputs.hpp"
#include "config_file.hpp"
#include "errors.hpp"
#include "input_file.hpp"
#include "isa_choice.hpp"
#include "list_parsing.hpp"
#include "run_options.hpp"
#include "variant.hpp"

#ifndef ATTNBENCH_SOURCE_DIR
#define ATTNBENCH_SOURCE_DIR "."
#endif

namespace po = boost::program_options;

namespace attn {

namespace {
std::string presets_dir() { return std::string(ATTNBENCH_SOURCE_DIR) + "/harness/presets"; }
}  // namespace

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(presets_dir(), ec))
    if (entry.path().extension() == ".cfg") names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string preset_path(const std::string& name) {
  const std::vector<std::string> names = preset_names();
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    throw UserError("unknown preset '" + name + "' (presets: " + (known.empty() ? "none found in " + presets_dir() : known) +
                    ")");
  }
  return presets_dir() + "/" + name + ".cfg";
}

namespace {

struct RawOptions {
  std::vector<std::string> variants;
  std::string seq, seq_q, seq_kv, head_dim = "64", batch = "1", heads = "1", kv_heads, causal = "0", threads = "1",
      isa = "auto", dtype = "f32", pass = "fwd", inputs = "gaussian";
};

std::vector<Isa> parse_isa_list(const std::string& text) {
  std::vector<Isa> isas;
  for (const auto& name : split_list(text, "--isa")) {
    const Isa isa = resolve_isa(name);
    if (std::find(isas.begin(), isas.end(), isa) == isas.end()) isas.push_back(isa);
  }
  return isas;
}

std::vector<bool> parse_causal(const std::string& text) {
  if (text == "0") return {false};
  if (text == "1") return {true};
  if (text == "both") return {false, true};
  throw UserError("--causal '" + text + "' must be 0, 1 or both");
}

// --seq alone: Nq = Nk pairs. --seq-q / --seq-kv (each falling back to --seq): every pair.
std::vector<std::pair<int, int>> parse_seq_pairs(const std::string& seq, const std::string& seq_q,
                                                 const std::string& seq_kv) {
  if (seq.empty() && (seq_q.empty() || seq_kv.empty()))
    throw UserError("sweep needs --seq LIST, or --seq-q LIST and --seq-kv LIST");
  std::vector<std::pair<int, int>> pairs;
  if (seq_q.empty() && seq_kv.empty()) {
    for (int n : parse_int_list(seq, "--seq", 1, 1 << 24)) pairs.push_back({n, n});
    return pairs;
  }
  const auto nqs = parse_int_list(seq_q.empty() ? seq : seq_q, seq_q.empty() ? "--seq" : "--seq-q", 1, 1 << 24);
  const auto nks = parse_int_list(seq_kv.empty() ? seq : seq_kv, seq_kv.empty() ? "--seq" : "--seq-kv", 1, 1 << 24);
  for (int nq : nqs)
    for (int nk : nks) pairs.push_back({nq, nk});
  return pairs;
}

// A LIST option whose values become a case parameter (only non-default values, so earlier
// case_ids stay the same). One list value per case: a list of two doubles the grid.
template <class Valid>
void add_choice_param(const std::string& text, const char* option, const char* key, const char* fallback,
                      GridSpec& grid, const Valid& valid) {
  std::vector<std::string> values;
  for (const auto& v : split_list(text, option)) {
    if (!valid(v)) throw UserError(std::string(option) + " '" + v + "' is not one of the accepted values (see --help)");
    if (std::find(values.begin(), values.end(), v) == values.end()) values.push_back(v);
  }
  grid.choices.push_back({key, fallback, values});
}

void check_positive(double value, const char* option) {
  if (!std::isfinite(value) || value < 0) throw UserError(std::string(option) + " must be a number >= 0");
}

}  // namespace

namespace {
// The command line, then the text of a config file (`config_text`, when given) as if it had
// been read through --config, then --config/--preset files the command line names.
SweepOptions parse(int argc, const char* const* argv, const std::string* config_text) {
  SweepOptions o;
  RawOptions raw;
  std::string shard = "1/1", config, preset;
  po::options_description grid("case grid (LIST is comma-separated; 1k = 1024)");
  grid.add_options()
      ("variant", po::value(&raw.variants)->composing(), "variant spec, repeatable (default: every registered variant)")
      ("seq", po::value(&raw.seq), "LIST of sequence lengths N (Nq = Nk = N)")
      ("seq-q", po::value(&raw.seq_q), "LIST of query counts Nq (with --seq-kv: every combination; decode: 1,4,16)")
      ("seq-kv", po::value(&raw.seq_kv), "LIST of key counts Nk (with --seq-q: every combination)")
      ("dtype", po::value(&raw.dtype), "LIST of f32|bf16|f16|int8 (default f32)")
      ("pass", po::value(&raw.pass), "LIST of fwd|bwd|fwdbwd (default fwd)")
      ("head-dim", po::value(&raw.head_dim), "LIST of head sizes D (1..256; default 64)")
      ("batch", po::value(&raw.batch), "LIST of batch sizes (default 1)")
      ("heads", po::value(&raw.heads), "LIST of query head counts (default 1)")
      ("kv-heads", po::value(&raw.kv_heads), "LIST of key/value head counts (default: = heads); must divide heads")
      ("causal", po::value(&raw.causal), "0, 1 or both (default 0)")
      ("threads", po::value(&raw.threads), "LIST of OpenMP thread counts (default 1)")
      ("isa", po::value(&raw.isa), "LIST of auto|amx|avx512bf16|avx512|avx2|sse2|scalar (default auto = the widest)")
      ("inputs", po::value(&raw.inputs),
       "LIST of how Q, K, V are generated: gaussian (default), local (nearby keys score higher)")
      ("lens", po::value(&o.lens),
       "variable-length batch: uniform:MIN (seeded lengths in [MIN, N] per item) or a LIST of B lengths, each 1..N");
  po::options_description run("running and output");
  run.add_options()
      ("out", po::value(&o.out), "append one JSON line per case to FILE.jsonl")
      ("format", po::value(&o.format), "console output: table (default), md, csv, json, latex")
      ("shard", po::value(&shard), "run slice I of N (I/N, 1-based) of the grid, chosen by case_id")
      ("resume", po::bool_switch(&o.resume), "skip cases already measured in --out")
      ("dry-run", po::bool_switch(&o.dry_run), "list the cases (case_id and parameters) without running them")
      ("filter", po::value(&o.filter), "run only cases whose parameter string matches this RE2 regex (at most 4096 characters)")
      ("min-time", po::value(&o.timing.min_time), "seconds per timed repetition (default 0.05)")
      ("warmup", po::value(&o.timing.warmup_time), "seconds of untimed warm-up runs per case (default 0.02)")
      ("repetitions", po::value(&o.timing.repetitions), "timed repetitions per case (default 5)")
      ("max-memory", po::value(&o.max_memory_gib), "skip cases needing more than this many GiB (default: what is available)")
      ("max-case-time", po::value(&o.max_case_seconds),
       "skip a case predicted to take longer than this many seconds per call (from a smaller N of the same variant "
       "and shape, else from a short run of the case at N <= 512)");
  po::options_description cmdline("attnbench sweep [--variant SPEC]... --seq LIST [--head-dim LIST] [options]");
  cmdline.add_options()("help,h", "this help")("config", po::value(&config), "read these options from FILE (name = value lines)")
      ("preset", po::value(&preset), "read the options of a shipped preset (harness/presets/NAME.cfg)");
  cmdline.add(grid).add(run);
  po::options_description in_file;
  in_file.add(grid).add(run);

  po::variables_map vm;
  store_command_line(argc, argv, cmdline, vm);
  if (config_text) store_config_text(*config_text, "config", in_file, vm);
  if (vm.count("help")) {
    std::ostringstream text;
    text << cmdline;
    o.help = true;
    o.help_text = text.str();
    return o;
  }
  // Command-line values win; repeated --variant lines from a file are added to those given.
  for (const std::string& file : {vm.count("config") ? vm["config"].as<std::string>() : std::string(),
                                  vm.count("preset") ? preset_path(vm["preset"].as<std::string>()) : std::string()}) {
    if (file.empty()) continue;
    // Bounded: not /dev/urandom.
    store_config_text(read_file_capped(file, kMaxConfigBytes, "config file"), file, in_file, vm);
  }
  po::notify(vm);

  if (raw.variants.empty())
    for (const auto& info : variant_registry()) raw.variants.push_back(info.name);
  for (const auto& spec : raw.variants) {
    const std::string canonical = make_variant(spec)->spec();
    if (std::find(o.grid.variants.begin(), o.grid.variants.end(), canonical) == o.grid.variants.end())
      o.grid.variants.push_back(canonical);
  }
  o.grid.seq = parse_seq_pairs(raw.seq, raw.seq_q, raw.seq_kv);
  o.grid.head_dim = parse_int_list(raw.head_dim, "--head-dim", 1, 256);
  o.grid.batch = parse_int_list(raw.batch, "--batch", 1, 1 << 16);
  o.grid.heads = parse_int_list(raw.heads, "--heads", 1, 1 << 16);
  if (!raw.kv_heads.empty()) o.grid.kv_heads = parse_int_list(raw.kv_heads, "--kv-heads", 1, 1 << 16);
  o.grid.causal = parse_causal(raw.causal);
  o.grid.threads = parse_int_list(raw.threads, "--threads", 1, 1024);
  o.grid.isas = parse_isa_list(raw.isa);
  o.shard = parse_shard(shard);
  // Further case parameters, only when not the default so earlier case_ids stay the same.
  add_choice_param(raw.dtype, "--dtype", "dtype", "f32", o.grid, [](const std::string& s) {
    DType d;
    return parse_dtype(s, d);
  });
  add_choice_param(raw.pass, "--pass", "pass", "fwd", o.grid, [](const std::string& s) {
    Pass p;
    return parse_pass(s, p);
  });
  // inputs= has always come first among the further parameters: it keeps that place.
  add_choice_param(raw.inputs, "--inputs", "inputs", "gaussian", o.grid, [](const std::string& s) {
    check_input_kind(s);  // names the known generators
    return true;
  });
  o.grid.choices.back().leading = true;
  if (!o.lens.empty()) {
    const std::string lens = canonical_lens(o.lens);
    // Lengths must fit the smallest N; each distinct batch size once (not batch x seq, which
    // made a 4 KB config file take minutes).
    int n = INT_MAX;
    for (const auto& [nq, nk] : o.grid.seq) {
      if (nq != nk) throw UserError("--lens needs Nq == Nk (self-attention); drop --seq-q/--seq-kv");
      n = std::min(n, nq);
    }
    std::vector<int> batches = o.grid.batch;
    std::sort(batches.begin(), batches.end());
    batches.erase(std::unique(batches.begin(), batches.end()), batches.end());
    for (int batch : batches) {
      Problem p;
      p.B = batch, p.Nq = p.Nk = n;
      case_lengths(lens, p);  // throws on a list of the wrong size or a length above N
    }
    o.grid.extra.push_back({"lens", lens});
  }
  CaseFilter{o.filter};  // refuses a bad pattern now, before any case runs
  if (o.timing.repetitions < 1 || o.timing.repetitions > 1000) throw UserError("--repetitions must be in 1..1000");
  check_positive(o.timing.min_time, "--min-time");
  check_positive(o.timing.warmup_time, "--warmup");
  check_positive(o.max_memory_gib, "--max-memory");
  check_positive(o.max_case_seconds, "--max-case-time");
  if (o.resume && o.out.empty()) throw UserError("--resume needs --out FILE.jsonl");
  return o;
}
}  // namespace

SweepOptions parse_sweep_options(int argc, const char* const* argv) { return parse(argc, argv, nullptr); }

SweepOptions parse_config_text(const std::string& text) {
  const char* argv[] = {"sweep"};
  return parse(1, argv, &text);
}

}  // namespace attn
