// The command line as a new user meets it: config errors that point at a line, presets named
// when one is unknown, defaults where one is expected, and `run` saying what it ran.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "cli_util.hpp"
#include "config_file.hpp"
#include "errors.hpp"
#include "sweep_options.hpp"

using namespace attn;

namespace {
std::string write_text(const std::string& name, const std::string& text) {
  const std::string path = test::temp_path(name);
  std::ofstream(path) << text;
  return path;
}

// The number after `key` on the line that starts with `line_start`, or NaN.
double number_after(const std::string& output, const std::string& line_start, const std::string& key) {
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(line_start, 0) != 0) continue;
    const auto at = line.find(key + " ");
    if (at == std::string::npos) break;
    return std::strtod(line.c_str() + at + key.size() + 1, nullptr);
  }
  return std::nan("");
}
}  // namespace

TEST_CASE("config errors name the file and the line") {
  struct Bad {
    const char* text;
    const char* message;  // after "FILE:"
  };
  const Bad bad[] = {
      {"variant = dense\nseq = 64\nrepetition = 3\n", ":3: unrecognised option 'repetition'"},
      {"# comment\n\nseq = 64\nseq = 128\n", ":4: 'seq' is already set on line 3"},
      {"seq = 64\n[section]\n", ":2: sections ([...]) are not supported"},
      {"seq 64\n", ":1: the options configuration file contains an invalid line"},
      {"seq = 64\nrepetitions = many\n", ":2: the argument ('many') for option 'repetitions' is invalid"},
  };
  for (const Bad& b : bad) {
    CAPTURE(b.text);
    const std::string cfg = write_text("bad.cfg", b.text);
    const auto r = test::run_attnbench("sweep --dry-run --config " + cfg);
    CHECK(r.exit_code == 2);
    CHECK(r.lines() == 1);
    CHECK(r.output.find(cfg + b.message) != std::string::npos);
  }
  // Repeatable options add up over lines; the command line still wins over the file.
  const std::string cfg = write_text("good.cfg", "variant = dense\nvariant = naive  # baseline\nseq = 64\nhead-dim = 8\n");
  const auto r = test::run_attnbench("sweep --dry-run --config " + cfg + " --seq 32", false);
  REQUIRE(r.exit_code == 0);
  CHECK(r.lines() == 2);
  CHECK(r.output.find("dense|B=1|H=1|Hkv=1|Nq=32|Nk=32|D=8|") != std::string::npos);
  CHECK(r.output.find("naive|B=1|H=1|Hkv=1|Nq=32|Nk=32|D=8|") != std::string::npos);
  // The library call the fuzz target uses names its source "config".
  CHECK_THROWS_WITH_AS(parse_config_text("seq = 64\nbogus = 1\n"), "config:2: unrecognised option 'bogus'", UserError);
}

TEST_CASE("an unknown preset lists the shipped ones") {
  const auto r = test::run_attnbench("sweep --preset nope");
  CHECK(r.exit_code == 2);
  CHECK(r.lines() == 1);
  CHECK(r.output.find("unknown preset 'nope' (presets: ") != std::string::npos);
  const auto names = preset_names();
  for (const char* shipped : {"default", "lra", "flash", "decode"}) {
    CAPTURE(shipped);
    CHECK(std::find(names.begin(), names.end(), shipped) != names.end());
    CHECK(r.output.find(shipped) != std::string::npos);
  }
}

TEST_CASE("sweep --head-dim defaults to 64") {
  const auto r = test::run_attnbench("sweep --variant dense --seq 32 --dry-run", false);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("|D=64|") != std::string::npos);
  CHECK(test::run_attnbench("sweep --variant dense --seq 32 --head-dim 16 --dry-run", false).output.find("|D=16|") !=
        std::string::npos);
}

TEST_CASE("run names the implementation; --time and --check measure without --out") {
  const auto q = test::write_tensor("rr_q.npy", {1, 2, 70, 16});
  const auto k = test::write_tensor("rr_k.npy", {1, 2, 70, 16}, 0.3f);
  const std::string in = " --q " + q + " --k " + k + " --v " + k + " --threads 1";

  const auto scalar = test::run_attnbench("run --variant dense --isa scalar --check" + in, false);
  REQUIRE_MESSAGE(scalar.exit_code == 0, scalar.output);
  CHECK(scalar.output.find("dense  impl f32-flash-4x2v-scalar  (1 thread)") != std::string::npos);
  const double dense_rel = number_after(scalar.output, "check", "rel_err");
  CHECK(dense_rel >= 0);
  CHECK(dense_rel < 1e-5);
  CHECK(number_after(scalar.output, "check", "approx_err") < 1e-5);

  // A window sees part of the keys: its own reference agrees, exact dense does not.
  const auto window = test::run_attnbench("run --variant window:left=4,right=0 --check" + in, false);
  REQUIRE_MESSAGE(window.exit_code == 0, window.output);
  CHECK(number_after(window.output, "check", "rel_err") < 1e-5);
  CHECK(number_after(window.output, "check", "approx_err") > 1e-3);

  const auto timed = test::run_attnbench("run --variant dense --time --repetitions 2 --min-time 0.001" + in, false);
  REQUIRE_MESSAGE(timed.exit_code == 0, timed.output);
  CHECK(number_after(timed.output, "time", "median") > 0);
  CHECK(timed.output.find("(2 repetitions x ") != std::string::npos);

  // Without --out, --time or --check there is nothing to do; --time does not combine with gradients.
  for (const std::string& bad : {std::string("run --variant dense") + in,
                                 "run --variant dense --time --grad-out " + q + " --dq " + test::temp_path("rr_dq.npy") + in,
                                 "run --variant dense --time --repetitions 0" + in}) {
    CAPTURE(bad);
    const auto r = test::run_attnbench(bad);
    CHECK(r.exit_code == 2);
    CHECK(r.lines() == 1);
  }
}

TEST_CASE("the README's --filter example: an escaped | keeps one case, a bare one means 'or'") {
  const auto escaped = test::run_attnbench("sweep --preset default --dry-run --filter '^window:.*\\|Nq=1024\\|'", false);
  REQUIRE(escaped.exit_code == 0);
  CHECK(escaped.lines() == 1);
  CHECK(escaped.output.find("window:left=256,right=0|B=1|H=1|Hkv=1|Nq=1024|") != std::string::npos);
  const auto bare = test::run_attnbench("sweep --preset default --dry-run --filter 'window|Nq=1024'", false);
  REQUIRE(bare.exit_code == 0);
  CHECK(bare.lines() > 1);
}
