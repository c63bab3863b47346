// Sweep parameters that change what is measured rather than how: mass_recall in every record,
// --inputs gaussian|local and --lens (variable-length batches), driven through the binary.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "cli_util.hpp"
#include "csv_util.hpp"
#include "sweep_records.hpp"

using namespace attn;
using attn::test::run_attnbench;
using attn::test::temp_path;
using attn::test::has_field;
using attn::test::num_field;
using attn::test::raw_field;
using attn::test::read_lines;

namespace {
const char* const kFast = attn::test::kFastTiming;

// Runs a sweep into a fresh file and returns its lines.
std::vector<std::string> sweep(const std::string& name, const std::string& args) {
  const std::string out = temp_path(name);
  std::remove(out.c_str());
  const auto r = run_attnbench("sweep " + args + " --out " + out + kFast);
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  return read_lines(out);
}

// variant spec -> mass_recall (and _min) of a one-shape sweep.
std::map<std::string, std::pair<double, double>> recalls(const std::vector<std::string>& lines) {
  std::map<std::string, std::pair<double, double>> m;
  for (const auto& line : lines) m[raw_field(line, "variant")] = {num_field(line, "mass_recall"), num_field(line, "mass_recall_min")};
  return m;
}

std::vector<std::string> dry_run(const std::string& args) {
  const auto r = run_attnbench("sweep --dry-run " + args);
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  std::vector<std::string> lines;
  std::istringstream in(r.output);
  std::string line;
  while (std::getline(in, line))
    if (line.size() > 17 && line[16] == ' ' && line.find_first_not_of("0123456789abcdef") == 16) lines.push_back(line);
  return lines;
}

const char* kWindow = "window:left=8,right=0";
const char* kBigbird = "block_sparse:block=16,global=1,pattern=bigbird,random=1,seed=2,window=1";  // canonical spec

const char* kSpecFields[] = {"case_id", "variant", "name", "batch", "heads", "kv_heads", "seq_q", "seq_kv",
                             "head_dim", "causal", "threads", "isa", "time_ms", "time_ms_min", "cv", "repetitions",
                             "flops", "gflops", "tokens_per_s", "peak_gflops", "pct_peak", "density",
                             "workspace_bytes", "max_abs_err", "rel_err", "approx_err", "mass_recall",
                             "mass_recall_min", "machine"};
}  // namespace

TEST_CASE("sweep records mass_recall: 1 for dense, below 1 for window and bigbird, higher on local inputs") {
  const std::string grid = std::string(" --variant dense --variant ") + kWindow + " --variant " + kBigbird +
                           " --seq 256 --head-dim 64 --heads 2 --batch 2";
  const auto gaussian = recalls(sweep("sm_gauss.jsonl", grid));
  const auto local = recalls(sweep("sm_local.jsonl", grid + " --inputs local"));
  for (const auto* m : {&gaussian, &local}) {
    REQUIRE(m->size() == 3);
    CHECK(m->at("dense").first == doctest::Approx(1.0).epsilon(1e-12));
    CHECK(m->at("dense").second == doctest::Approx(1.0).epsilon(1e-12));
    for (const char* sparse : {kWindow, kBigbird}) {
      CAPTURE(sparse);
      CHECK(m->at(sparse).first < 0.99);
      CHECK(m->at(sparse).first > 0.0);
      CHECK(m->at(sparse).second <= m->at(sparse).first);
    }
  }
  // A 9-key window sees about 9/256 of the mass on Gaussian inputs, about half on local ones.
  CHECK(gaussian.at(kWindow).first < 0.1);
  CHECK(local.at(kWindow).first > gaussian.at(kWindow).first + 0.3);
}

TEST_CASE("--inputs: part of the case only when not gaussian, so earlier case_ids stay") {
  const std::string grid = " --variant dense --seq 64,128 --head-dim 16";
  const auto plain = dry_run(grid), gaussian = dry_run(grid + " --inputs gaussian"), local = dry_run(grid + " --inputs local");
  REQUIRE(plain.size() == 2);
  CHECK(plain == gaussian);
  REQUIRE(local.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(local[i].substr(0, 16) != plain[i].substr(0, 16));
    CHECK(local[i].find("|inputs=local") != std::string::npos);
    CHECK(plain[i].find("inputs=") == std::string::npos);
  }
  // The same id from the config file as from the command line.
  const std::string cfg = temp_path("sm_inputs.cfg");
  std::ofstream(cfg) << "inputs = local\n";
  CHECK(dry_run(grid + " --config " + cfg) == local);
  // A LIST runs both: the same ids as the two single runs, and a repeated value once.
  auto both = plain;
  both.insert(both.end(), local.begin(), local.end());
  auto listed = dry_run(grid + " --inputs gaussian,local,local");
  std::sort(both.begin(), both.end()), std::sort(listed.begin(), listed.end());
  CHECK(listed == both);
  // inputs= keeps its place before the listed parameters (dtype), so those case_ids stay too.
  for (const auto& line : dry_run(grid + " --inputs local --dtype bf16"))
    CHECK(line.find("|inputs=local|dtype=bf16") != std::string::npos);
}

TEST_CASE("--lens records: every SPEC field, FLOPs, density and tokens/s over real tokens only") {
  const int D = 8, H = 2;
  const std::vector<long> lens = {100, 37, 1};
  long tokens = 0;
  double pairs = 0, causal_pairs = 0, window_pairs = 0;
  for (long l : lens) {
    tokens += l, pairs += l * l, causal_pairs += l * (l + 1) / 2;
    for (long i = 0; i < l; ++i) window_pairs += std::min(i, 8L) + 1;
  }
  const auto lines = sweep("sm_lens.jsonl", std::string("--variant dense --variant naive --variant dense_blas ") +
                                                "--variant linear --variant " + kWindow +
                                                " --batch 3 --heads 2 --seq 100 --head-dim 8 --causal both --lens 100,37,1");
  REQUIRE(lines.size() == 10);
  for (const auto& line : lines) {
    CAPTURE(line);
    for (const char* key : kSpecFields) CHECK_MESSAGE(raw_field(line, key) != "", key);
    for (const char* key : {"time_ms", "flops", "gflops", "tokens_per_s", "density", "rel_err", "approx_err"})
      CHECK(raw_field(line, key) != "null");
    CHECK(raw_field(line, "lens") == "100,37,1");
    CHECK(raw_field(line, "case").find("|lens=100,37,1") != std::string::npos);
    CHECK(num_field(line, "tokens") == tokens);
    CHECK(num_field(line, "rel_err") < 1e-4);
    // tokens/s counts real query tokens per median forward.
    CHECK(num_field(line, "tokens_per_s") * num_field(line, "time_ms") * 1e-3 == doctest::Approx(tokens).epsilon(1e-6));
    const std::string variant = raw_field(line, "variant");
    const bool causal = raw_field(line, "causal") == "true";
    const double flops = num_field(line, "flops"), density = num_field(line, "density");
    if (raw_field(line, "name") == "linear") {
      CHECK(flops == doctest::Approx(4.0 * H * tokens * D * D));
    } else if (variant == kWindow) {
      CHECK(flops == doctest::Approx(4.0 * D * H * window_pairs));
      CHECK(density == doctest::Approx(window_pairs / pairs));
      CHECK(num_field(line, "mass_recall") < 1.0);
    } else {
      CHECK(flops == doctest::Approx(4.0 * D * H * (causal ? causal_pairs : pairs)));
      CHECK(density == doctest::Approx(causal ? causal_pairs / pairs : 1.0));
      CHECK(num_field(line, "mass_recall") == doctest::Approx(1.0).epsilon(1e-12));
    }
  }
}

TEST_CASE("--lens uniform:MIN: seeded lengths in [MIN, N], the same for every variant of a shape") {
  const std::string grid = std::string("--variant dense --variant ") + kWindow + " --batch 4 --seq 96 --head-dim 8";
  const auto lines = sweep("sm_uniform.jsonl", grid + " --lens uniform:40");
  REQUIRE(lines.size() == 2);
  const double tokens = num_field(lines[0], "tokens");
  CHECK(tokens >= 4 * 40);
  CHECK(tokens < 4 * 96);  // four draws all equal to N would be a broken generator
  CHECK(num_field(lines[1], "tokens") == tokens);
  CHECK(raw_field(lines[0], "lens") == "uniform:40");
  // Same case ids on a rerun; none shared with the full-length cases.
  const auto once = dry_run(grid + " --lens uniform:40"), again = dry_run(grid + " --lens uniform:40");
  CHECK(once == again);
  const auto full = dry_run(grid);
  REQUIRE(full.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) CHECK(once[i].substr(0, 16) != full[i].substr(0, 16));
}

TEST_CASE("csv output carries inputs, lens and mass_recall") {
  const auto r = run_attnbench(std::string("sweep --variant ") + kWindow +
                               " --seq 64 --head-dim 8 --batch 2 --lens 64,3 --inputs local --format csv" + kFast,
                               false);  // the CSV alone: stderr ends with the sweep's summary line
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  const auto rows = test::csv_records(r.output);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].at("err_rows") == "all");
  CHECK(rows[0].at("inputs") == "local");
  CHECK(rows[0].at("lens") == "64,3");
  CHECK(std::stod(rows[0].at("mass_recall")) > 0);
  CHECK(std::stod(rows[0].at("mass_recall_min")) > 0);
  CHECK(rows[0].at("reason").empty());
}

TEST_CASE("bad --inputs and --lens values: one line, exit 2, nothing run") {
  const std::string grid = " --variant dense --seq 64,100 --head-dim 8 --batch 3";
  for (const std::string bad : {"--inputs uniform", "--inputs ''", "--inputs local,uniform", "--lens uniform:0", "--lens uniform:",
                                "--lens uniform:x", "--lens uniform:101", "--lens 5,5", "--lens 0,1,2",
                                "--lens 64,1,65", "--lens 1,2,3,4", "--lens foo:3", "--lens 3,,4", "--lens -3"}) {
    CAPTURE(bad);
    const std::string out = temp_path("sm_bad.jsonl");
    std::remove(out.c_str());
    const auto r = run_attnbench("sweep" + grid + " " + bad + " --out " + out);
    CHECK(r.exit_code == 2);
    CHECK(r.lines() == 1);
    CHECK(!std::ifstream(out).good());
  }
}
