#include <doctest/doctest.h>

#include "errors.hpp"
#include "options.hpp"
#include "variant.hpp"

using namespace attn;

TEST_CASE("variant specs parse and bad ones are refused") {
  const ParsedSpec s = parse_spec("window:left=256, right=0");
  CHECK(s.name == "window");
  REQUIRE(s.options.size() == 2);
  CHECK(s.options[1].first == "right");
  CHECK(s.options[1].second == "0");
  CHECK_THROWS_AS(parse_spec(":a=1"), UserError);
  CHECK_THROWS_AS(parse_spec("x:a"), UserError);
  CHECK_THROWS_AS(parse_spec("x:a=1,a=2"), UserError);
  CHECK_THROWS_AS(parse_spec("x:a=1,"), UserError);
  CHECK_THROWS_AS(make_variant("no_such_variant"), UserError);
  CHECK_THROWS_AS(make_variant("dense:bogus=1"), UserError);
  CHECK(make_variant("dense")->spec() == "dense");
}

TEST_CASE("typed option values are range-checked") {
  const std::vector<OptionSpec> specs = {{"n", "4", "a count"}, {"mode", "a", "a choice"}};
  const Options o("t", specs, {{"n", "12"}});
  CHECK(o.get_int("n", 1, 100) == 12);
  CHECK_THROWS_AS(o.get_int("n", 1, 10), UserError);
  CHECK(o.get_choice("mode", {"a", "b"}) == "a");
  const Options bad("t", specs, {{"n", "1x"}});
  CHECK_THROWS_AS(bad.get_int("n", 0, 100), UserError);
}
