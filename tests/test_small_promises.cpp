// Small promises of the command line: integers never wrap, every command refuses stray words,
// error lines stay one line whatever bytes they quote, duplicate .npy header keys are refused,
// and tables never print inf or nan.
#include <doctest/doctest.h>

#include <chrono>
#include <climits>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "case_grid.hpp"
#include "cli_util.hpp"
#include "errors.hpp"
#include "list_parsing.hpp"
#include "npy.hpp"
#include "printable.hpp"
#include "sweep_records.hpp"
#include "table_presets.hpp"

using namespace attn;
using attn::test::run_attnbench;

TEST_CASE("--shard parses with full range checks instead of wrapping") {
  const Shard s = parse_shard("2/3");
  CHECK(s.index == 2);
  CHECK(s.count == 3);
  CHECK(parse_shard("2147483647/2147483647").count == INT_MAX);
  for (const char* bad : {"4294967297/3", "1/4294967299", "2147483648/2147483649", "99999999999999999999/1", "-1/2",
                          "+1/2", " 1/2", "1/2 ", "1/2x", "1//2", "/2", "1/", "0/1", "2/1"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_shard(bad), UserError);
  }
}

TEST_CASE("parse_whole_number takes plain digits within range only") {
  long v = -1;
  CHECK(parse_whole_number("0", 0, 10, v));
  CHECK(v == 0);
  CHECK(parse_whole_number("999999999999999999", 0, LONG_MAX, v));
  for (const char* bad : {"", "-1", "+1", " 1", "1 ", "1e3", "0x10", "9999999999999999999", "11"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_whole_number(bad, 0, 10, v));
  }
}

TEST_CASE("every command refuses unknown options and stray words") {
  for (const char* args : {"list --bogus", "list extra", "peak extra", "peak --bogus", "table --preset lra --bogus",
                           "sweep --variant dense --seq 8 --head-dim 8 --dry-run extra",
                           "mask --variant dense --seq 8 --out /nonexistent/m.npy extra",
                           "run --variant dense --q a --k b --v c --out d extra"}) {
    CAPTURE(args);
    const auto r = run_attnbench(args);
    CHECK(r.exit_code == 2);
    CHECK(r.lines() == 1);
  }
  CHECK(run_attnbench("list").exit_code == 0);
}

namespace {
// A .npy file's bytes with the header dict given verbatim (padded as version 1 requires).
std::string npy_with_dict(std::string dict, const std::string& data) {
  while ((10 + dict.size() + 1) % 64) dict += ' ';
  dict += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(dict.size() & 0xff);
  bytes += static_cast<char>(dict.size() >> 8);
  return bytes + dict + data;
}

bool has_raw_control(const std::string& text) {
  for (char c : text)
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\n') || c == 0x7f) return true;
  return false;
}
}  // namespace

TEST_CASE("printable escapes control bytes and keeps the rest") {
  CHECK(printable("plain /path/ü.npy") == "plain /path/ü.npy");
  CHECK(printable("a\nb\rc\td") == "a\\nb\\rc\\td");
  CHECK(printable(std::string("\x1b[2J\x7f\x01", 6)) == "\\x1b[2J\\x7f\\x01");
  CHECK(printable(std::string("nul\0x", 5)) == "nul\\x00x");
}

TEST_CASE("error lines, sweep skip reasons and table warnings quote control bytes escaped") {
  // An error naming a file whose name holds a newline and a clear-screen sequence.
  auto r = run_attnbench("run --variant dense --q '/tmp/attnbench_test_no\nsuch\x1b[2J.npy' --k a --v b --out c");
  CHECK(r.exit_code == 2);
  CHECK(r.lines() == 1);
  CHECK_FALSE(has_raw_control(r.output));
  CHECK(r.output.find("no\\nsuch\\x1b[2J.npy") != std::string::npos);

  // A block layout of the wrong shape under such a name: the case is skipped, one line says why.
  const std::string layout = test::temp_path("lay\nout\x1b[2J.npy");
  std::ofstream(layout, std::ios::binary)
      << npy_with_dict("{'descr': '|u1', 'fortran_order': False, 'shape': (1, 2, 2), }", std::string(4, '\1'));
  r = run_attnbench("sweep --variant 'block_sparse:block=64,layout=" + layout + "' --seq 64 --head-dim 8" +
                    test::kFastTiming);
  std::remove(layout.c_str());
  CHECK(r.exit_code == 0);
  CHECK_FALSE(has_raw_control(r.output));
  CHECK(r.output.find("skipped") != std::string::npos);
  CHECK(r.output.find("lay\\nout\\x1b[2J.npy") != std::string::npos);

  // Table warnings name the file (here a duplicate case_id).
  const std::string jsonl = test::temp_path("tab\x1b[2J\nle.jsonl");
  const std::string rec =
      "{\"case_id\":\"x\",\"variant\":\"dense\",\"batch\":1,\"heads\":1,\"kv_heads\":1,\"seq_q\":64,\"seq_kv\":64,"
      "\"head_dim\":8,\"causal\":false,\"threads\":1,\"isa\":\"avx2\",\"time_ms\":1,\"workspace_bytes\":1}\n";
  std::ofstream(jsonl) << rec << rec;
  r = run_attnbench("table '" + jsonl + "' --preset flash");
  std::remove(jsonl.c_str());
  CHECK(r.exit_code == 0);
  CHECK_FALSE(has_raw_control(r.output));
  CHECK(r.output.find("warning: case_id x appears 2 times (" + test::temp_path("tab\\x1b[2J\\nle.jsonl")) !=
        std::string::npos);
}

TEST_CASE("a .npy header with a repeated key is refused") {
  const std::string data(8 * sizeof(float), '\0');
  CHECK_NOTHROW(parse_npy_floats(npy_with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }", data), "ok"));
  for (const char* dict : {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), 'shape': (1, 8), }",
                           "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }",
                           "{'descr': '<f4', 'fortran_order': False, \"fortran_order\": False, 'shape': (2, 4), }"}) {
    CAPTURE(dict);
    try {
      parse_npy_floats(npy_with_dict(dict, data), "dup.npy");
      FAIL("accepted");
    } catch (const UserError& e) {
      CHECK(std::string(e.what()).find("appears twice") != std::string::npos);
    }
  }
}

namespace {
std::string table_record(const std::string& variant, const std::string& ms, const std::string& workspace) {
  return "{\"case_id\":\"" + variant + "1k\",\"variant\":\"" + variant +
         "\",\"batch\":1,\"heads\":2,\"kv_heads\":2,\"seq_q\":1024,\"seq_kv\":1024,\"head_dim\":16,\"causal\":false,"
         "\"threads\":1,\"isa\":\"avx2\",\"time_ms\":" + ms + ",\"workspace_bytes\":" + workspace + "}\n";
}
}  // namespace

TEST_CASE("tables never print inf or nan: subnormal times are refused, overflowing ratios are dashes") {
  // 5e-324 ms (a subnormal) made dense / time = inf, printed "infx".
  const std::string tiny = test::temp_path("table_subnormal.jsonl");
  std::ofstream(tiny) << table_record("dense", "5e-324", "1000") << table_record("window", "1", "500");
  for (const char* preset : {"lra", "flash"}) {
    const auto r = run_attnbench("table " + tiny + " --preset " + preset);
    CHECK(r.exit_code == 2);
    CHECK(r.lines() == 1);
    CHECK(r.output.find("time_ms") != std::string::npos);
  }
  for (const char* bad : {"0", "-1", "2e-308"}) {
    std::ofstream(tiny) << table_record("dense", bad, "1000");
    CHECK(run_attnbench("table " + tiny + " --preset flash").exit_code == 2);
  }
  std::remove(tiny.c_str());

  // Normal numbers whose ratios overflow a double, in every format.
  const std::string huge = test::temp_path("table_overflow.jsonl");
  std::ofstream(huge) << table_record("dense", "1e300", "5e-324") << table_record("window", "1e-300", "1e300");
  for (const char* format : {"md", "csv", "latex"}) {
    CAPTURE(format);
    const auto r = run_attnbench("table " + huge + " --preset lra --format " + format);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("inf") == std::string::npos);
    CHECK(r.output.find("nan") == std::string::npos);
    CHECK(r.output.find("window") != std::string::npos);
  }
  std::remove(huge.c_str());
}

TEST_CASE("--lens is checked once per distinct batch size, not per batch x seq pair") {
  // 400 x 400 pairs of B = 65536 drew 10^10 seeded lengths: minutes for a 4 KB config file.
  const std::string cfg = test::temp_path("lens_lists.cfg");
  {
    std::ofstream f(cfg);
    f << "variant = dense\nhead-dim = 1\nlens = uniform:1\nseq = 1";
    for (int i = 2; i < 400; ++i) f << "," << i;
    f << "\nbatch = 65536";
    for (int i = 1; i < 400; ++i) f << "," << 65536 - i;
    f << "\n";
  }
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_attnbench("sweep --dry-run --filter 'Nq=1[|]' --config " + cfg);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(60));  // hang guard only
  CHECK(r.exit_code == 0);
  std::remove(cfg.c_str());
  // Still refused: a length above the smallest N, and a list of the wrong size for one batch.
  CHECK(run_attnbench("sweep --dry-run --variant dense --seq 64,8 --head-dim 8 --lens 10").exit_code == 2);
  CHECK(run_attnbench("sweep --dry-run --variant dense --seq 64 --head-dim 8 --batch 1,2 --lens 5").exit_code == 2);
}
