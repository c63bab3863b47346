// sweep --filter through RE2: bad patterns are one-line errors, hostile ones neither crash nor
// hang, whether they come from the command line or a config file.
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "case_filter.hpp"
#include "cli_util.hpp"
#include "errors.hpp"

using attn::CaseFilter;
using attn::UserError;
using attn::test::run_attnbench;
using attn::test::temp_path;

namespace {
std::string nested(int depth, const std::string& inner = "") {
  return std::string(depth, '(') + inner + std::string(depth, ')');
}
}  // namespace

TEST_CASE("CaseFilter searches anywhere in the parameter string, like std::regex_search did") {
  const std::string c = "naive|B=1|H=1|Hkv=1|Nq=64|Nk=64|D=16|causal=1|threads=1|isa=avx2";
  CHECK(CaseFilter("").matches(c));
  CHECK(CaseFilter("naive.*causal=1").matches(c));
  CHECK(CaseFilter("Nq=64").matches(c));
  CHECK_FALSE(CaseFilter("^dense").matches(c));
  CHECK_FALSE(CaseFilter("causal=0").matches(c));
}

TEST_CASE("CaseFilter refuses bad and over-long patterns with one line") {
  for (const std::string& bad : std::vector<std::string>{"(", "[z-a]", "a**", "(?=x)", "x{1001}", std::string(attn::kMaxFilterChars + 1, 'a'),
                                nested(30000)}) {
    CAPTURE(bad.substr(0, 40));
    try {
      CaseFilter f(bad);
      FAIL("accepted");
    } catch (const UserError& e) {
      CHECK(std::string(e.what()).find('\n') == std::string::npos);
      CHECK(std::string(e.what()).find("--filter") != std::string::npos);
    }
  }
  CHECK_NOTHROW(CaseFilter(std::string(attn::kMaxFilterChars, 'a')));
}

TEST_CASE("CaseFilter: deep nesting under the cap and catastrophic-backtracking patterns are harmless") {
  const auto start = std::chrono::steady_clock::now();
  CHECK(CaseFilter(nested(2000, "dense")).matches("dense|B=1"));
  CHECK(CaseFilter(nested(1000, "?:")).matches("x"));
  // Exponential for a backtracking engine; linear for RE2.
  CHECK_FALSE(CaseFilter("(a*)*b").matches(std::string(100000, 'a')));
  CHECK_FALSE(CaseFilter("(a|aa)+$x").matches(std::string(100000, 'a')));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(30));  // hang guard only
}

TEST_CASE("sweep --filter with deep nesting runs from the command line and from a config file") {
  const std::string base = "sweep --dry-run --variant dense --seq 64 --head-dim 16 ";
  const std::string deep = nested(2000, "dense");
  auto r = run_attnbench(base + "--filter '" + deep + "'");
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("1 cases") != std::string::npos);

  const std::string cfg = temp_path("filter_deep.cfg");
  std::ofstream(cfg) << "filter = " << deep << "\n";
  r = run_attnbench(base + "--config " + cfg);
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("1 cases") != std::string::npos);

  // 30,000 levels (std::regex overflowed the stack here): refused by the length cap, one line.
  std::ofstream(cfg) << "filter = " << nested(30000) << "\n";
  r = run_attnbench(base + "--config " + cfg);
  CHECK(r.exit_code == 2);
  CHECK(r.lines() == 1);
  std::remove(cfg.c_str());
}
