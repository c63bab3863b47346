// The command line: a good run works and keeps Q's rank; every bad input gets exactly one
// line and a non-zero exit (never a signal).
#include <doctest/doctest.h>

#include <fstream>

#include "cli_util.hpp"
#include "errors.hpp"

using namespace attn;

namespace {
std::string qkv(const std::string& q, const std::string& k, const std::string& v) {
  return " --q " + q + " --k " + k + " --v " + v + " --out " + test::temp_path("out.npy");
}
}  // namespace

TEST_CASE("run writes an output with Q's rank") {
  const auto q = test::write_tensor("q3.npy", {2, 10, 8});
  const auto k = test::write_tensor("k3.npy", {1, 12, 8});
  const auto r = test::run_attnbench("run --variant dense --causal" + qkv(q, k, k));
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  const NpyArray o = read_npy_floats(test::temp_path("out.npy"));
  CHECK(o.shape == std::vector<long>{2, 10, 8});
}

TEST_CASE("list names every variant") {
  const auto r = test::run_attnbench("list");
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("dense") != std::string::npos);
  CHECK(r.output.find("naive") != std::string::npos);
}

TEST_CASE("bad input gets one line and a non-zero exit") {
  const auto q = test::write_tensor("q.npy", {1, 4, 10, 8});
  const auto k = test::write_tensor("k.npy", {1, 2, 12, 8});
  const auto k3 = test::write_tensor("k_h3.npy", {1, 3, 12, 8});
  const auto kd = test::write_tensor("k_d9.npy", {1, 2, 12, 9});
  const auto vshort = test::write_tensor("v_short.npy", {1, 2, 11, 8});
  const auto q5 = test::write_tensor("q5.npy", {1, 1, 1, 2, 8});
  const auto qbig = test::write_tensor("q_d300.npy", {1, 1, 2, 300});
  const auto not_npy = test::temp_path("garbage.npy");
  std::ofstream(not_npy) << "this is not a numpy file";
  const std::string good = qkv(q, k, k);
  const std::vector<std::string> bad = {
      "",
      "frobnicate",
      "run" + good,                                           // no --variant
      "run --variant nope" + good,                            // unknown variant
      "run --variant dense:x=1" + good,                       // unknown option
      "run --variant dense --isa avx9000" + good,             // unknown ISA
      "run --variant dense --threads 0" + good,               // bad thread count
      "run --variant dense --threads many" + good,            // not a number
      "run --variant dense --scale nan" + good,               // impossible scale
      "run --variant dense" + qkv(q, k3, k3),                 // H not a multiple of Hkv
      "run --variant dense" + qkv(q, kd, kd),                 // D differs
      "run --variant dense" + qkv(q, k, vshort),              // K and V differ
      "run --variant dense" + qkv(q5, k, k),                  // 5-D
      "run --variant dense" + qkv(qbig, qbig, qbig),          // D > 256
      "run --variant dense" + qkv(not_npy, k, k),             // not .npy
      "run --variant dense" + qkv("/nonexistent/q.npy", k, k),
      "run --variant dense --q " + q + " --k " + k + " --v " + k + " --out /nonexistent/dir/o.npy",
      "run --variant dense --lens " + q + good,               // lens not ints
  };
  for (const auto& args : bad) {
    CAPTURE(args);
    const auto r = test::run_attnbench(args);
    CAPTURE(r.output);
    CHECK(r.exit_code > 0);
    CHECK(r.lines() == 1);
  }
}
