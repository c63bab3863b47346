// attnbench sweep and peak, driven through the binary: records carry every SPEC field with
// sane values, shards partition the grid, --resume adds nothing twice, formats render, bad
// options fail before any case runs, SIGINT keeps the file whole.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "cli_util.hpp"
#include "isa.hpp"
#include "sweep_records.hpp"
#include "variant.hpp"

using namespace attn;
using attn::test::run_attnbench;
using attn::test::temp_path;
using attn::test::has_field;
using attn::test::num_field;
using attn::test::raw_field;
using attn::test::read_lines;

namespace {
const char* const kFast = attn::test::kFastTiming;

// case_ids printed by --dry-run (first column).
std::set<std::string> dry_run_ids(const std::string& args) {
  const auto r = run_attnbench("sweep --dry-run " + args);
  REQUIRE(r.exit_code == 0);
  std::set<std::string> ids;
  std::istringstream in(r.output);
  std::string line;
  while (std::getline(in, line))
    if (line.size() > 16 && line[16] == ' ' && line.find_first_not_of("0123456789abcdef") == 16)
      ids.insert(line.substr(0, 16));
  return ids;
}

const char* kSpecFields[] = {"case_id", "variant", "name", "batch", "heads", "kv_heads", "seq_q", "seq_kv",
                             "head_dim", "causal", "threads", "isa", "time_ms", "time_ms_min", "cv", "repetitions",
                             "flops", "gflops", "tokens_per_s", "peak_gflops", "pct_peak", "density",
                             "workspace_bytes", "max_abs_err", "rel_err", "approx_err", "machine"};
}  // namespace

TEST_CASE("sweep records every SPEC field with sane values for every registered variant") {
  const std::string out = temp_path("sweep_fields.jsonl");
  std::remove(out.c_str());
  std::string variants;
  for (const auto& info : variant_registry()) variants += " --variant " + info.name;
  const auto r = run_attnbench("sweep" + variants + " --seq 64,100 --head-dim 16 --heads 2 --causal both --out " + out +
                               kFast);
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  const auto lines = read_lines(out);
  CHECK(lines.size() == variant_registry().size() * 4);
  int measured = 0;
  for (const auto& line : lines) {
    CAPTURE(line);
    CHECK(line.find("nan") == std::string::npos);
    CHECK(line.find(": inf") == std::string::npos);  // values, not names ("linformer")
    CHECK(line.find(": -inf") == std::string::npos);
    if (raw_field(line, "status") != "ok") {
      CHECK(raw_field(line, "status") == "skipped");
      CHECK(!raw_field(line, "reason").empty());
      continue;
    }
    ++measured;
    for (const char* field : kSpecFields) CHECK_MESSAGE(has_field(line, field), field);
    CHECK(raw_field(line, "case_id").size() == 16);
    const double pct = num_field(line, "pct_peak");
    CHECK(pct > 0);
    CHECK(pct <= 100);
    CHECK(num_field(line, "time_ms") > 0);
    CHECK(num_field(line, "time_ms_min") <= num_field(line, "time_ms") * (1 + 1e-9));
    CHECK(num_field(line, "repetitions") == 2);
    const double density = num_field(line, "density");
    CHECK(density > 0);
    CHECK(density <= 1);
    const double n = num_field(line, "seq_q"), gflops = num_field(line, "gflops");
    CHECK(gflops == doctest::Approx(num_field(line, "flops") / num_field(line, "time_ms") * 1e-6).epsilon(1e-3));
    CHECK(num_field(line, "tokens_per_s") == doctest::Approx(n / num_field(line, "time_ms") * 1e3).epsilon(1e-3));
    CHECK(raw_field(line, "err_rows") == "all");
    CHECK(line.find("\"machine\": {\"cpu\": ") != std::string::npos);
    if (make_variant(raw_field(line, "variant"))->exact()) {
      CHECK(num_field(line, "rel_err") < 1e-5);
      CHECK(num_field(line, "approx_err") < 1e-5);
      CHECK(density == doctest::Approx(raw_field(line, "causal") == "true" ? (n + 1) / (2 * n) : 1.0));
    }
  }
  CHECK(measured >= 3 * 4);  // dense, naive, dense_blas at least
}

TEST_CASE("sweep shards partition the grid by case_id, and dry-run lists every case") {
  const std::string grid = "--variant dense --variant naive --seq 32,64,1k --head-dim 8,16 --batch 1,2 --causal both";
  const auto all = dry_run_ids(grid);
  CHECK(all.size() == 2 * 3 * 2 * 2 * 2);
  std::set<std::string> joined;
  std::size_t total = 0;
  for (int i = 1; i <= 3; ++i) {
    const auto part = dry_run_ids(grid + " --shard " + std::to_string(i) + "/3");
    CHECK(!part.empty());
    total += part.size();
    joined.insert(part.begin(), part.end());
  }
  CHECK(total == all.size());  // disjoint
  CHECK(joined == all);        // union is the grid
  // case_ids do not depend on the rest of the grid or on the order of the lists.
  const auto one = dry_run_ids("--variant naive --seq 1k --head-dim 16 --batch 2 --causal 1");
  REQUIRE(one.size() == 1);
  CHECK(all.count(*one.begin()) == 1);
  CHECK(dry_run_ids("--variant naive --variant dense --seq 1k,64,32 --head-dim 16,8 --batch 2,1 --causal both") == all);
  // --filter keeps the cases whose parameter string matches.
  CHECK(dry_run_ids(grid + " --filter 'naive.*causal=1'").size() == 12);
}

TEST_CASE("sweep --resume skips finished cases and repairs a partial last line") {
  const std::string out = temp_path("sweep_resume.jsonl");
  std::remove(out.c_str());
  const std::string args = "sweep --variant dense --seq 32,48 --head-dim 8 --out " + out + kFast;
  REQUIRE(run_attnbench(args).exit_code == 0);
  REQUIRE(read_lines(out).size() == 2);
  const auto again = run_attnbench(args + " --resume");
  CHECK(again.exit_code == 0);
  CHECK(again.output.find("2 of 2 cases already") != std::string::npos);
  CHECK(read_lines(out).size() == 2);
  // A killed run may leave half a line: it is dropped and the case it held runs again.
  {
    std::ofstream f(out, std::ios::app);
    f << "{\"case_id\": \"0123456789abcdef\", \"status\": \"ok\", \"vari";
  }
  const auto grown = run_attnbench("sweep --variant dense --seq 32,48,64 --head-dim 8 --resume --out " + out + kFast);
  CHECK(grown.exit_code == 0);
  CHECK(grown.output.find("partial last line") != std::string::npos);
  const auto lines = read_lines(out);
  CHECK(lines.size() == 3);
  for (const auto& line : lines) CHECK(line.back() == '}');
}

TEST_CASE("sweep renders every format") {
  const std::string args = "sweep --variant dense --seq 32 --head-dim 8" + std::string(kFast);
  const std::pair<const char*, const char*> formats[] = {
      {"table", "median ms"}, {"md", "| variant |"}, {"csv", "schema_version,case_id,"},
      {"json", "\"case_id\": "}, {"latex", "\\begin{tabular}"}};
  for (const auto& [format, marker] : formats) {
    CAPTURE(format);
    const auto r = run_attnbench(args + " --format " + format);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find(marker) != std::string::npos);
    CHECK(r.output.find("dense") != std::string::npos);
  }
}

TEST_CASE("sweep rejects bad options with one line before running anything") {
  const std::string base = "sweep --variant dense --seq 32 --head-dim 8 ";
  for (const char* bad : {"--shard 0/3", "--shard 4/3", "--shard x", "--seq 1q", "--seq 32,,64", "--variant nope",
                          "--filter '('", "--out /nonexistent_dir/x.jsonl", "--heads 4 --kv-heads 3", "--causal 2",
                          "--format xml", "--isa avx9", "--threads 0", "--head-dim 300", "--resume",
                          "--config /nonexistent.cfg"}) {
    CAPTURE(bad);
    const auto r = run_attnbench(base + bad);
    CHECK(r.exit_code == 2);
    CHECK(r.lines() == 1);
  }
}

TEST_CASE("sweep reads a config file and skips cases over the memory cap") {
  const std::string cfg = temp_path("sweep.cfg"), out = temp_path("sweep_cfg.jsonl");
  std::remove(out.c_str());
  {
    std::ofstream f(cfg);
    f << "# a preset\nvariant = dense\nvariant = naive\nseq = 32,2k\nhead-dim = 8\nmax-memory = 0.01\n";
  }
  const auto r = run_attnbench("sweep --config " + cfg + " --out " + out + kFast);
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  const auto lines = read_lines(out);
  REQUIRE(lines.size() == 4);
  int skipped = 0;
  for (const auto& line : lines)
    if (raw_field(line, "status") == "skipped") {
      ++skipped;
      CHECK(raw_field(line, "variant") == "naive");  // 2k x 2k scores = 16 MiB > 0.01 GiB
      CHECK(raw_field(line, "reason").find("GiB") != std::string::npos);
      CHECK(!has_field(line, "time_ms"));
    }
  CHECK(skipped == 1);
  // The shipped presets parse and name only registered variants.
  for (const char* preset : {"default", "lra", "flash", "decode", "dynamic", "precision"}) {
    CAPTURE(preset);
    CHECK(run_attnbench(std::string("sweep --dry-run --preset ") + preset).exit_code == 0);
  }
}

TEST_CASE("sweep stops cleanly on SIGINT after finishing the current case") {
  const std::string out = temp_path("sweep_sigint.jsonl");
  std::remove(out.c_str());
  const std::string cmd = std::string("sh -c '") + ATTNBENCH_BIN +
                          " sweep --variant dense --seq 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47 --head-dim 8"
                          " --batch 1,2,3 --min-time 0.05 --repetitions 2 --out " +
                          out + " >/dev/null 2>&1 & pid=$!; sleep 1; kill -INT $pid; wait $pid; echo rc=$?'";
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe);
  char buf[64] = {0};
  std::string got = fgets(buf, sizeof buf, pipe) ? buf : "";
  pclose(pipe);
  CHECK(got.rfind("rc=130", 0) == 0);
  const auto lines = read_lines(out);
  CHECK(!lines.empty());
  CHECK(lines.size() < 48);
  for (const auto& line : lines) CHECK(line.back() == '}');
}

TEST_CASE("peak reports a positive FMA peak") {
  const auto r = run_attnbench("peak --threads 1 --isa scalar");
  CHECK(r.exit_code == 0);
  CHECK(r.output.rfind("peak_gflops ", 0) == 0);
  CHECK(std::strtod(r.output.c_str() + 12, nullptr) > 0);
  CHECK(run_attnbench("peak --threads 0").exit_code == 2);
}

// SPEC: pct_peak is against the peak of the instruction the implementation multiplies with.
TEST_CASE("peak --dtype: the bf16 and int8 dot loops where the CPU has them, one-line refusals elsewhere") {
  const bool native = cpu_supports(Isa::avx512bf16), amx = cpu_supports(Isa::amx);
  for (const char* dtype : {"bf16", "int8"}) {
    CAPTURE(std::string(dtype));
    const bool bf16 = std::string(dtype) == "bf16";
    const auto r = test::run_attnbench(std::string("peak --dtype ") + dtype);
    if (native) {
      CHECK(r.exit_code == 0);
      CHECK(r.output.rfind("peak_gflops ", 0) == 0);
      CHECK(std::strtod(r.output.c_str() + 12, nullptr) > 0);
      // auto is the widest level: the tile instruction where the CPU has AMX.
      CHECK(r.output.find(amx ? (bf16 ? "tdpbf16ps" : "tdpbusd") : (bf16 ? "vdpbf16ps" : "vpdpbusd")) != std::string::npos);
      const auto dot = test::run_attnbench(std::string("peak --isa avx512bf16 --dtype ") + dtype);
      CHECK(dot.exit_code == 0);
      CHECK(dot.output.find(bf16 ? "vdpbf16ps" : "vpdpbusd") != std::string::npos);
    } else {
      CHECK(r.exit_code == 2);
      CHECK(r.lines() == 1);
      CHECK(r.output.find("this CPU lacks") != std::string::npos);
    }
    if (cpu_supports(Isa::avx512)) {
      const auto lower = run_attnbench(std::string("peak --isa avx512 --dtype ") + dtype);
      CHECK(lower.exit_code == 2);
      CHECK(lower.lines() == 1);
    }
  }
  for (const char* bad : {"f16", "fp8", ""}) {
    const auto r = run_attnbench(std::string("peak --dtype '") + bad + "'");
    CHECK(r.exit_code == 2);
    CHECK(r.lines() == 1);
  }
  if (!native) return;
  // A sweep's records: the native int8 case against the peak of its instruction (tdpbusd at amx,
  // vpdpbusd at avx512bf16), the emulated one and f32 against the FMA peak of the same threads.
  const std::string out = test::temp_path("peak_dtype.jsonl");
  std::remove(out.c_str());
  const auto s = run_attnbench("sweep --variant dense --seq 128 --head-dim 64 --dtype f32,int8 --isa auto,avx512 --out " +
                               out + test::kFastTiming);
  REQUIRE(s.exit_code == 0);
  const auto lines = read_lines(out);
  REQUIRE(lines.size() == 3);  // f32 at auto is the avx512 case: once
  double fma_peak = 0, vnni_peak = 0;
  int emulated = 0;
  for (const auto& line : lines) {
    const std::string impl = raw_field(line, "impl");
    const double peak = num_field(line, "peak_gflops");
    CHECK(num_field(line, "pct_peak") == doctest::Approx(100 * num_field(line, "gflops") / peak).epsilon(1e-3));
    if (impl.rfind(amx ? "int8-flash-amx" : "int8-flash-vnni-", 0) == 0) {
      CHECK(raw_field(line, "isa") == (amx ? "amx" : "avx512bf16"));
      vnni_peak = peak;
    } else {
      CHECK(raw_field(line, "isa") == "avx512");
      if (fma_peak > 0) CHECK(peak == fma_peak);
      fma_peak = peak;
      emulated += impl.find("-emulated-") != std::string::npos;
    }
  }
  CHECK(emulated == 1);
  CHECK(vnni_peak > 0);
  CHECK(fma_peak > 0);
  CHECK(vnni_peak != fma_peak);
  std::remove(out.c_str());
}
