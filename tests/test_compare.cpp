// attnbench compare: the noise-aware verdict on crafted record pairs, and the command's table,
// summary and exit status (0 nothing slower, 1 some case slower, 2 bad input).
#include <doctest/doctest.h>

#include <fstream>

#include "cli_util.hpp"
#include "run_compare.hpp"

using namespace attn;

namespace {

// One ok record: median `ms`, fastest repetition `min_ms`, coefficient of variation `cv`.
std::string timed(const std::string& id, double ms, double min_ms, double cv, int reps = 10) {
  return "{\"case_id\":\"" + id + "\",\"variant\":\"dense\",\"name\":\"dense\",\"batch\":1,\"heads\":2,\"kv_heads\":2,"
         "\"seq_q\":1024,\"seq_kv\":1024,\"head_dim\":64,\"causal\":false,\"threads\":1,\"isa\":\"avx2\",\"time_ms\":" +
         std::to_string(ms) + ",\"time_ms_min\":" + std::to_string(min_ms) + ",\"cv\":" + std::to_string(cv) +
         ",\"repetitions\":" + std::to_string(reps) + ",\"workspace_bytes\":0,\"machine\":{}}\n";
}

CaseRecord rec(double ms, double min_ms, double cv, long reps = 10) {
  CaseRecord r;
  r.time_ms = ms;
  r.time_ms_min = min_ms;
  r.cv = cv;
  r.repetitions = reps;
  return r;
}

std::string write_text(const std::string& name, const std::string& text) {
  const std::string path = test::temp_path(name);
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("compare verdict: a change counts only beyond the runs' spread") {
  const double t = 0.02;
  CHECK(judge(rec(10, 9.9, 0.005), rec(12, 11.9, 0.005), t) == Verdict::Slower);
  CHECK(judge(rec(10, 9.9, 0.005), rec(8, 7.9, 0.005), t) == Verdict::Faster);
  CHECK(judge(rec(10, 9.9, 0.005), rec(10.1, 10, 0.005), t) == Verdict::Same);  // 1% < 2% threshold
  // 20% slower, but each run varies by 15%: the noise band is 30%.
  CHECK(judge(rec(10, 8, 0.15), rec(12, 9, 0.15), t) == Verdict::Same);
  // Beyond the band, but NEW's fastest repetition beats BASE's median: the intervals overlap.
  CHECK(judge(rec(10, 9.9, 0.005), rec(12, 9.5, 0.005), t) == Verdict::Same);
  // A single repetition has no measured spread: 5% is assumed, so 8% is within 10%.
  CHECK(judge(rec(10, 10, 0, 1), rec(10.8, 10.8, 0, 1), t) == Verdict::Same);
  CHECK(judge(rec(10, 10, 0, 1), rec(12, 12, 0, 1), t) == Verdict::Slower);
  // A higher threshold swallows a 5% change.
  CHECK(judge(rec(10, 9.99, 0.001), rec(10.5, 10.49, 0.001), 0.1) == Verdict::Same);
  CHECK(noise_band(rec(1, 1, 0.03), rec(1, 1, 0.01), t) == doctest::Approx(0.06));
}

TEST_CASE("attnbench compare: table, summary, formats and exit status") {
  const auto base = write_text("cmp_base.jsonl", timed("a", 10, 9.9, 0.005) + timed("b", 10, 9.9, 0.005) +
                                                     timed("c", 10, 9.9, 0.005) + timed("gone", 5, 5, 0.01));
  const auto faster = write_text("cmp_faster.jsonl", timed("a", 5, 4.9, 0.005) + timed("b", 10.05, 10, 0.005) +
                                                         timed("c", 10, 9.9, 0.005) + timed("new", 1, 1, 0.01));
  const auto slower = write_text("cmp_slower.jsonl", timed("a", 5, 4.9, 0.005) + timed("b", 13, 12.9, 0.005));

  const auto ok = test::run_attnbench("compare " + base + " " + faster);
  CAPTURE(ok.output);
  CHECK(ok.exit_code == 0);
  CHECK(ok.output.find("verdict") != std::string::npos);
  CHECK(ok.output.find("0.500") != std::string::npos);
  CHECK(ok.output.find("B1 H2 N1k D64 t1 avx2") != std::string::npos);
  CHECK(ok.output.find("1 faster, 0 slower, 2 same, 1 only in base, 1 only in new") != std::string::npos);

  const auto bad = test::run_attnbench("compare " + base + " " + slower);
  CAPTURE(bad.output);
  CHECK(bad.exit_code == 1);
  CHECK(bad.output.find("slower") != std::string::npos);
  CHECK(bad.output.find("1 faster, 1 slower, 0 same, 2 only in base") != std::string::npos);
  // 30% slower stays "same" with a 50% threshold.
  CHECK(test::run_attnbench("compare " + base + " " + slower + " --threshold 50").exit_code == 0);

  const auto csv = test::run_attnbench("compare " + base + " " + slower + " --format csv", false);
  CHECK(csv.output.rfind("case,variant,shape,base ms,new ms,ratio,noise,verdict\n", 0) == 0);
  CHECK(csv.output.find("b,dense,B1 H2 N1k D64 t1 avx2,10,13,1.300,0.020,slower\n") != std::string::npos);
  CHECK(csv.lines() == 3);
  const auto md = test::run_attnbench("compare " + base + " " + faster + " --format md");
  CHECK(md.output.find("| a | dense |") != std::string::npos);

  const auto unrelated = write_text("cmp_unrelated.jsonl", timed("zzz", 1, 1, 0.01));
  for (const std::string& args : {std::string("compare"), "compare " + base, "compare " + base + " " + faster + " " + base,
                                  "compare " + base + " /nonexistent.jsonl", "compare " + base + " " + unrelated,
                                  "compare " + base + " " + faster + " --format html",
                                  "compare " + base + " " + faster + " --threshold -1"}) {
    CAPTURE(args);
    const auto r = test::run_attnbench(args);
    CAPTURE(r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.lines() == 1);
  }
}

TEST_CASE("attnbench --version and help COMMAND") {
  const auto v = test::run_attnbench("--version");
  CHECK(v.exit_code == 0);
  CHECK(v.lines() == 1);
  CHECK(v.output.rfind("attnbench ", 0) == 0);
  CHECK(v.output.find("commit ") != std::string::npos);

  const auto h = test::run_attnbench("help compare");
  CHECK(h.exit_code == 0);
  CHECK(h.output == test::run_attnbench("compare --help").output);
  CHECK(h.output.find("--threshold") != std::string::npos);
  for (const char* cmd : {"list", "run", "sweep", "peak", "table", "mask", "schema"})
    CHECK(test::run_attnbench(std::string("help ") + cmd).exit_code == 0);
  const auto all = test::run_attnbench("help");
  CHECK(all.exit_code == 0);
  CHECK(all.output.find("compare") != std::string::npos);

  const auto unknown = test::run_attnbench("help frobnicate");
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.lines() == 1);
  CHECK(unknown.output.find("unknown command 'frobnicate'") != std::string::npos);
  CHECK(test::run_attnbench("help run sweep").exit_code == 2);
}
