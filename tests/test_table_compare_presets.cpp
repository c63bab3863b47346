// The presets whose tables compare settings: flash with fwd / bwd / fwd+bwd rows (issue 18) and
// precision's speed-up over f32 with the error metrics (issue 17). Hand-made records with times
// chosen so that a ratio taken from the wrong record (other pass, dtype, D, N or inputs) shows.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>

#include "cli_util.hpp"
#include "csv_util.hpp"
#include "errors.hpp"
#include "jsonl_reader.hpp"
#include "table_presets.hpp"

using namespace attn;

namespace {

struct Rec {
  std::string variant = "dense", dtype = "f32", pass = "fwd", inputs = "gaussian", impl = "f32-flash-6x4v-avx512";
  long heads = 2, kv_heads = 2, seq_q = 1024, seq_kv = 1024, head_dim = 64;
  double ms = 1;
  std::string skipped_reason;  // non-empty: a skipped record
  // Errors as the JSON writes them ("null" when the sweep had none).
  std::string rel_err = "1e-06", cos_sim = "1", rel_l1 = "2e-07", rmse = "3e-07";
};

std::string json_of(const Rec& r) {
  const std::string id = r.variant + "|" + r.dtype + "|" + r.pass + "|" + r.inputs + "|" + std::to_string(r.heads) + "|" +
                         std::to_string(r.seq_q) + "x" + std::to_string(r.seq_kv) + "|" + std::to_string(r.head_dim);
  std::string s = "{\"case_id\":\"" + id + "\",\"variant\":\"" + r.variant + "\",\"name\":\"" + r.variant +
                  "\",\"batch\":1,\"heads\":" + std::to_string(r.heads) + ",\"kv_heads\":" + std::to_string(r.kv_heads) +
                  ",\"seq_q\":" + std::to_string(r.seq_q) + ",\"seq_kv\":" + std::to_string(r.seq_kv) +
                  ",\"head_dim\":" + std::to_string(r.head_dim) + ",\"causal\":false,\"threads\":1,\"isa\":\"" +
                  (r.variant == "dense" ? "avx512" : "any") + "\",\"dtype\":\"" + r.dtype + "\",\"pass\":\"" + r.pass +
                  "\",\"inputs\":\"" + r.inputs + "\",\"impl\":\"" + r.impl + "\"";
  if (!r.skipped_reason.empty()) return s + ",\"status\":\"skipped\",\"reason\":\"" + r.skipped_reason + "\"}\n";
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.17g", r.ms);
  return s + ",\"status\":\"ok\",\"time_ms\":" + ms + ",\"workspace_bytes\":0,\"rel_err\":" + r.rel_err +
         ",\"cos_sim\":" + r.cos_sim + ",\"rel_l1\":" + r.rel_l1 + ",\"rmse\":" + r.rmse + "}\n";
}

std::vector<CaseRecord> records_of(const std::string& text) {
  std::vector<CaseRecord> out;
  for (const auto& l : json::parse_jsonl(text, "run.jsonl")) out.push_back(case_record_from_json(l));
  return out;
}

std::string write_text(const std::string& name, const std::string& text) {
  const std::string path = test::temp_path(name);
  std::ofstream(path) << text;
  return path;
}

// dense, dense_blas and naive in three passes at 1k and 2k. dense_blas is 3x dense's time forward,
// 6x backward and 36/7 forward+backward; naive is 25x forward and skipped backward, with no
// fwd+bwd record at all.
std::string flash_run() {
  std::string text;
  auto add = [&](const char* variant, const char* pass, double ms_1k, double ms_2k) {
    for (auto [n, ms] : {std::pair<long, double>{1024, ms_1k}, {2048, ms_2k}}) {
      Rec r;
      r.variant = variant, r.pass = pass, r.seq_q = r.seq_kv = n, r.ms = ms;
      if (ms < 0) r.skipped_reason = "estimated 9 s per run exceeds --max-case-time 2";
      text += json_of(r);
    }
  };
  add("dense", "fwd", 2, 8);
  add("dense", "bwd", 5, 20);
  add("dense", "fwdbwd", 7, 28);
  add("dense_blas", "fwd", 6, 24);
  add("dense_blas", "bwd", 30, 120);
  add("dense_blas", "fwdbwd", 36, 144);
  add("naive", "fwd", 50, 200);
  add("naive", "bwd", -1, -1);
  return text;
}

}  // namespace

TEST_CASE("flash preset: fwd, bwd and fwd+bwd rows in one table, dense's speed-up within each pass") {
  const PresetOutput out = build_preset_tables("flash", records_of(flash_run()));
  REQUIRE(out.tables.size() == 2);
  const Table& runtime = out.tables[0];
  CHECK(runtime.title.find("pass=") == std::string::npos);  // the rows say the pass
  CHECK(runtime.header == std::vector<std::string>{"variant", "pass", "1k", "2k"});
  CHECK(runtime.rows == std::vector<std::vector<std::string>>{{"dense", "fwd", "2.000", "8.000"},
                                                             {"dense_blas", "fwd", "6.000", "24.0"},
                                                             {"naive", "fwd", "50.0", "200.0"},
                                                             {"dense", "bwd", "5.000", "20.0"},
                                                             {"dense_blas", "bwd", "30.0", "120.0"},
                                                             {"naive", "bwd", "—", "—"},
                                                             {"dense", "fwd+bwd", "7.000", "28.0"},
                                                             {"dense_blas", "fwd+bwd", "36.0", "144.0"},
                                                             {"naive", "fwd+bwd", "—", "—"}});
  const Table& speedup = out.tables[1];
  CHECK(speedup.rows == std::vector<std::vector<std::string>>{{"dense_blas", "fwd", "3.00x", "3.00x"},
                                                             {"naive", "fwd", "25.00x", "25.00x"},
                                                             {"dense_blas", "bwd", "6.00x", "6.00x"},
                                                             {"naive", "bwd", "—", "—"},
                                                             {"dense_blas", "fwd+bwd", "5.14x", "5.14x"},
                                                             {"naive", "fwd+bwd", "—", "—"}});
  // naive has no fwd+bwd record at all: a dash row, and said on stderr.
  REQUIRE(out.problems.size() == 1);
  CHECK(out.problems[0].find("missing: naive at every N") == 0);
  CHECK(out.problems[0].find("pass=fwdbwd") != std::string::npos);

  // CSV: one row per (pass, variant, N), the ratio from the same pass.
  const auto path = write_text("flash_passes.jsonl", flash_run());
  const auto r = test::run_attnbench("table " + path + " --preset flash --format csv", false);
  REQUIRE(r.exit_code == 0);
  const auto rows = test::csv_records(r.output);
  REQUIRE(rows.size() == 3 * 3 * 2);
  int checked = 0;
  for (const auto& row : rows) {
    if (row.at("variant") == "dense_blas" && row.at("seq_q") == "2048") {
      CHECK(row.at("time_vs_dense") == (row.at("pass") == "fwd" ? "3" : row.at("pass") == "bwd" ? "6" : "5.142857143"));
      ++checked;
    }
    if (row.at("variant") == "naive" && row.at("pass") == "fwdbwd") {
      CHECK(row.at("status") == "missing");
      CHECK(row.at("time_ms").empty());
      ++checked;
    }
  }
  CHECK(checked == 5);

  // An N that only the forward reached: the backward rows show a dash there, and it is reported.
  Rec late;
  late.seq_q = late.seq_kv = 4096, late.ms = 30;
  const PresetOutput wider = build_preset_tables("flash", records_of(flash_run() + json_of(late)));
  CHECK(wider.tables[0].header.back() == "4k");
  CHECK(wider.tables[0].rows[3] == std::vector<std::string>{"dense", "bwd", "5.000", "20.0", "—"});
  int reported = 0;
  for (const auto& problem : wider.problems) reported += problem.find("missing: dense at N=4k") == 0 && problem.find("pass=bwd") != std::string::npos;
  CHECK(reported == 1);
}

namespace {

// The precision preset's records: dense at D = 64 and 128, N = 1k and 4k, gaussian and local
// inputs, and a decode shape (H = 8, Hkv = 2, Nq = 1, Nk = 32k).
std::string precision_run() {
  std::string text;
  auto add = [&](const char* dtype, long d, long n, double ms, const char* inputs = "gaussian") {
    Rec r;
    r.dtype = dtype, r.head_dim = d, r.seq_q = r.seq_kv = n, r.ms = ms, r.inputs = inputs;
    r.impl = std::string(dtype) + "-flash-6x4v-avx512";
    if (std::string(dtype) != "f32") r.rel_err = "0.003", r.cos_sim = "0.99998", r.rel_l1 = "0.002", r.rmse = "0.001";
    if (ms < 0) r.skipped_reason = "needs 9.0 GiB, limit 8.0 GiB";
    text += json_of(r);
  };
  add("f32", 64, 1024, 8);
  add("bf16", 64, 1024, 5);    // 1.60x
  add("int8", 64, 1024, 4);    // 2.00x
  add("f32", 64, 4096, 100);
  add("bf16", 64, 4096, 40);   // 2.50x: the 4k f32, not the 1k one
  add("int8", 64, 4096, -1);   // skipped for memory
  add("f32", 128, 1024, 20);
  add("bf16", 128, 1024, 16);  // 1.25x: D = 128's f32
  add("f16", 128, 4096, 50);   // no f32 at D = 128, 4k: a dash
  add("f32", 64, 1024, 6, "local");
  add("bf16", 64, 1024, 2, "local");  // 3.00x: local's f32
  for (auto [dtype, ms] : {std::pair<const char*, double>{"f32", 2}, {"int8", 0.5}}) {
    Rec r;
    r.dtype = dtype, r.heads = 8, r.kv_heads = 2, r.seq_q = 1, r.seq_kv = 32768, r.head_dim = 128, r.ms = ms;
    r.impl = std::string(dtype) + "-decode-splitkv-6x4v-avx512";
    if (std::string(dtype) == "int8") r.cos_sim = "0.9993", r.rmse = "null";  // a null metric prints a dash
    text += json_of(r);
  }
  return text;
}

}  // namespace

TEST_CASE("precision preset: speed-up over the f32 record of the same setting, D and N; the four errors") {
  const PresetOutput out = build_preset_tables("precision", records_of(precision_run()));
  REQUIRE(out.tables.size() == 3);  // gaussian, local, decode
  const Table& t = out.tables[0];
  CHECK(t.header == std::vector<std::string>{"variant", "D", "N", "dtype", "impl", "ms", "vs f32", "rel_err", "cos_sim",
                                             "rel_l1", "rmse"});
  // Neither the head size nor the dtype is the whole table's: the rows say them.
  CHECK(t.title.find("head_dim") == std::string::npos);
  CHECK(t.title.find("dtype") == std::string::npos);
  CHECK(t.rows == std::vector<std::vector<std::string>>{
                      {"dense", "64", "1k", "f32", "f32-flash-6x4v-avx512", "8.000", "1.00x", "1.00e-06", "1.00000000", "2.00e-07", "3.00e-07"},
                      {"dense", "64", "1k", "bf16", "bf16-flash-6x4v-avx512", "5.000", "1.60x", "3.00e-03", "0.99998000", "2.00e-03", "1.00e-03"},
                      {"dense", "64", "1k", "int8", "int8-flash-6x4v-avx512", "4.000", "2.00x", "3.00e-03", "0.99998000", "2.00e-03", "1.00e-03"},
                      {"dense", "64", "4k", "f32", "f32-flash-6x4v-avx512", "100.0", "1.00x", "1.00e-06", "1.00000000", "2.00e-07", "3.00e-07"},
                      {"dense", "64", "4k", "bf16", "bf16-flash-6x4v-avx512", "40.0", "2.50x", "3.00e-03", "0.99998000", "2.00e-03", "1.00e-03"},
                      {"dense", "64", "4k", "int8", "—", "OOM", "OOM", "OOM", "OOM", "OOM", "OOM"},
                      {"dense", "128", "1k", "f32", "f32-flash-6x4v-avx512", "20.0", "1.00x", "1.00e-06", "1.00000000", "2.00e-07", "3.00e-07"},
                      {"dense", "128", "1k", "bf16", "bf16-flash-6x4v-avx512", "16.0", "1.25x", "3.00e-03", "0.99998000", "2.00e-03", "1.00e-03"},
                      {"dense", "128", "4k", "f16", "f16-flash-6x4v-avx512", "50.0", "—", "3.00e-03", "0.99998000", "2.00e-03", "1.00e-03"}});
  const Table& local = out.tables[1];
  CHECK(local.title.find("inputs=local") != std::string::npos);
  REQUIRE(local.rows.size() == 2);
  CHECK(local.rows[1][6] == "3.00x");
  const Table& decode = out.tables[2];
  CHECK(decode.title.find("heads=8 kv_heads=2") != std::string::npos);
  CHECK(decode.rows == std::vector<std::vector<std::string>>{
                           {"dense", "128", "1x32k", "f32", "f32-decode-splitkv-6x4v-avx512", "2.000", "1.00x", "1.00e-06", "1.00000000", "2.00e-07", "3.00e-07"},
                           {"dense", "128", "1x32k", "int8", "int8-decode-splitkv-6x4v-avx512", "0.500", "4.00x", "1.00e-06", "0.99930000", "2.00e-07", "—"}});
  // The f16 cell without an f32 twin is reported, not hidden.
  REQUIRE(out.problems.size() == 1);
  CHECK(out.problems[0].find("no measured f32 record") != std::string::npos);

  // CSV through the command: one header, plain numbers, the same ratios.
  const auto path = write_text("precision_run.jsonl", precision_run());
  const auto r = test::run_attnbench("table " + path + " --preset precision --format csv", false);
  REQUIRE(r.exit_code == 0);
  const auto rows = test::csv_records(r.output);
  REQUIRE(rows.size() == 13);
  int checked = 0;
  for (const auto& row : rows) {
    for (const char* numeric : {"time_ms", "speedup_vs_f32", "rel_err", "cos_sim", "rel_l1", "rmse"}) {
      const std::string& cell = row.at(numeric);
      if (cell.empty()) continue;
      char* end = nullptr;
      std::strtod(cell.c_str(), &end);
      CHECK(*end == '\0');
    }
    if (row.at("inputs") == "local" && row.at("dtype") == "bf16") {
      CHECK(row.at("speedup_vs_f32") == "3");
      ++checked;
    }
    if (row.at("dtype") == "f16") {
      CHECK(row.at("speedup_vs_f32").empty());
      ++checked;
    }
    if (row.at("dtype") == "int8" && row.at("seq_kv") == "4096") {
      CHECK(row.at("status") == "oom");
      ++checked;
    }
    if (row.at("dtype") == "int8" && row.at("seq_kv") == "32768") {
      CHECK(row.at("speedup_vs_f32") == "4");
      CHECK(row.at("cos_sim") == "0.9993");
      CHECK(row.at("rmse").empty());
      ++checked;
    }
  }
  CHECK(checked == 4);
}

TEST_CASE("precision preset: a cos_sim outside [-1, 1] is refused with one line") {
  Rec r;
  r.cos_sim = "1.5";
  const auto path = write_text("precision_bad.jsonl", json_of(r));
  const auto run = test::run_attnbench("table " + path + " --preset precision");
  CHECK(run.exit_code == 2);
  CHECK(run.lines() == 1);
  CHECK(run.output.find("\"cos_sim\" must be a number in [-1, 1]") != std::string::npos);
}

TEST_CASE("precision and flash presets: a ratio that overflows is a dash, an empty CSV cell, never inf") {
  Rec f32, bf16, blas;
  f32.ms = 1e300;
  bf16.dtype = "bf16", bf16.ms = 1e-300;
  blas.variant = "dense_blas", blas.ms = 1e300, f32.inputs = bf16.inputs = blas.inputs = "gaussian";
  Rec dense = f32;
  dense.ms = 1e-300;
  dense.inputs = "local";  // flash: dense_blas / dense overflows in the local table
  blas.inputs = "local";
  const auto path = write_text("overflow_presets.jsonl", json_of(f32) + json_of(bf16) + json_of(dense) + json_of(blas));
  for (const char* preset : {"precision", "flash"})
    for (const char* format : {"md", "csv", "latex"}) {
      CAPTURE(preset);
      CAPTURE(format);
      const auto r = test::run_attnbench(std::string("table ") + path + " --preset " + preset + " --format " + format);
      CHECK(r.exit_code == 0);
      CHECK(r.output.find("inf") == std::string::npos);
      CHECK(r.output.find("nan") == std::string::npos);
    }
  const PresetOutput out = build_preset_tables("precision", records_of(json_of(f32) + json_of(bf16)));
  REQUIRE(out.tables.size() == 1);
  CHECK(out.tables[0].rows[1][6] == "—");
}

TEST_CASE("precision preset: bf16 and int8 at avx512bf16 compare with the f32 case of the same request (avx512)") {
  // What the sweep writes for --isa auto on an AVX512-BF16 CPU: f32 and f16 cases at avx512, bf16
  // and int8 at avx512bf16; and a bf16 case forced to --isa avx512 (the emulated path) beside them.
  std::string text;
  auto add = [&](const char* dtype, const char* isa, double ms, const char* impl) {
    Rec r;
    r.dtype = dtype, r.ms = ms, r.impl = impl;
    std::string line = json_of(r);
    line.replace(line.find("\"isa\":\"avx512\""), 14, std::string("\"isa\":\"") + isa + "\"");
    line.replace(line.find("\"case_id\":\"") + 11, 0, isa);  // distinct ids
    text += line;
  };
  add("f32", "avx512", 12, "f32-flash-6x4v-avx512");
  add("bf16", "avx512bf16", 6, "bf16-flash-avx512bf16");
  add("bf16", "avx512", 10, "bf16-flash-emulated-6x4v-avx512");
  add("int8", "avx512bf16", 4, "int8-flash-avx512bf16");
  add("f32", "avx2", 24, "f32-flash-6x2v-avx2");  // another request: its own table
  const PresetOutput out = build_preset_tables("precision", records_of(text));
  CHECK(out.problems.empty());
  REQUIRE(out.tables.size() == 2);
  const Table& t = out.tables[1];  // settings sort by ISA name: avx2 first
  CHECK(t.title.find("isa=avx512/avx512bf16") != std::string::npos);
  REQUIRE(t.rows.size() == 4);
  std::map<std::string, std::string> speedup;
  for (const auto& row : t.rows) speedup[row[4]] = row[6];
  CHECK(speedup["f32-flash-6x4v-avx512"] == "1.00x");
  CHECK(speedup["bf16-flash-avx512bf16"] == "2.00x");
  CHECK(speedup["bf16-flash-emulated-6x4v-avx512"] == "1.20x");
  CHECK(speedup["int8-flash-avx512bf16"] == "3.00x");
  CHECK(out.tables[0].rows.size() == 1);
  CHECK(out.tables[0].title.find("isa=avx2") != std::string::npos);
}
