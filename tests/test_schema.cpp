// The record schema written once: what the writer emits, what the CSV holds, what
// `attnbench schema` prints and what the reader accepts all agree with harness/records/schema.hpp.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "cli_util.hpp"
#include "csv_util.hpp"
#include "errors.hpp"
#include "jsonl_reader.hpp"
#include "record.hpp"
#include "record_check.hpp"
#include "schema.hpp"
#include "sweep_records.hpp"
#include "table_records.hpp"

using namespace attn;
using attn::test::kFastTiming;
using attn::test::run_attnbench;

namespace {

// SPEC.md "One JSON line per measured case" and "Every record (JSONL) also carries".
const char* const kSpecRequired[] = {
    "case_id", "variant", "name", "batch", "heads", "kv_heads", "seq_q", "seq_kv", "head_dim", "causal", "threads",
    "isa", "time_ms", "time_ms_min", "cv", "repetitions", "flops", "gflops", "tokens_per_s", "peak_gflops", "pct_peak",
    "density", "workspace_bytes", "max_abs_err", "rel_err", "approx_err", "machine", "schema_version", "impl",
    "plan_ms", "dtype", "pass", "bytes", "gbytes_per_s", "bandwidth_gbs", "pct_bandwidth", "cos_sim", "rel_l1", "rmse"};

// A tiny sweep's JSON lines: two measured cases (one with --lens) and one skipped for memory.
std::vector<std::string> sweep_lines() {
  const std::string out = test::temp_path("schema_sweep.jsonl");
  std::remove(out.c_str());
  const std::string grid = " --seq 32 --head-dim 8 --out " + out + kFastTiming;
  REQUIRE(run_attnbench("sweep --variant dense --variant window:left=4,right=0" + grid).exit_code == 0);
  REQUIRE(run_attnbench("sweep --variant dense --batch 2 --lens 32,7" + grid).exit_code == 0);
  REQUIRE(run_attnbench("sweep --variant linear --max-memory 0.0000001" + grid).exit_code == 0);
  auto lines = test::read_lines(out);
  std::remove(out.c_str());
  REQUIRE(lines.size() == 4);
  return lines;
}

}  // namespace

TEST_CASE("schema: names are unique and every SPEC field is required") {
  for (std::size_t i = 0; i < std::size(kRecordSchema); ++i)
    CHECK_MESSAGE(schema_index(kRecordSchema[i].name) == static_cast<int>(i), kRecordSchema[i].name);
  for (const char* name : kSpecRequired) {
    CAPTURE(name);
    REQUIRE(schema_index(name) >= 0);
    CHECK(schema_field(name).required);
  }
  for (const char* name : {"rel_err_dq", "rel_err_dk", "rel_err_dv"}) {
    CHECK(schema_field(name).type == FieldType::Number);
    CHECK_FALSE(schema_field(name).required);
  }
  CHECK(kSchemaVersion == 2);
}

TEST_CASE("schema: a real sweep writes schema fields only, in schema order, with every required one") {
  int ok = 0, skipped = 0;
  for (const std::string& line : sweep_lines()) {
    CAPTURE(line);
    const json::Value record = json::parse(line);
    int previous = -1;
    for (const auto& [key, value] : record.object) {
      CAPTURE(key);
      const int i = schema_index(key);
      REQUIRE(i >= 0);
      CHECK(i > previous);
      previous = i;
    }
    CHECK(check_record(record, "sweep") == kSchemaVersion);
    CHECK(record.find("schema_version")->number == kSchemaVersion);
    const bool measured = record.find("status")->string == "ok";
    (measured ? ok : skipped)++;
    for (const Field& f : kRecordSchema)
      if (f.required && (measured || !f.measured)) CHECK_MESSAGE(record.find(std::string(f.name)), f.name);
    if (!measured) {
      for (const Field& f : kRecordSchema)
        if (f.measured) CHECK_FALSE(record.find(std::string(f.name)));
      continue;
    }
    // The new accuracy fields are real numbers for an exact variant on tiny inputs.
    CHECK(test::num_field(line, "cos_sim") > 0.999999);
    CHECK(test::num_field(line, "rel_l1") < 1e-5);
    CHECK(test::num_field(line, "rmse") < 1e-5);
    CHECK(test::num_field(line, "bytes") > 0);
    CHECK(test::num_field(line, "bandwidth_gbs") > 0);
    CHECK_FALSE(test::raw_field(line, "impl").empty());
    CHECK(test::has_field(line, "tokens") == test::has_field(line, "lens"));
    CHECK_FALSE(test::has_field(line, "rel_err_dq"));  // fwd records carry no gradient errors
  }
  CHECK(ok == 3);
  CHECK(skipped == 1);
}

TEST_CASE("schema: the writer refuses a field the schema lacks, a wrong type and a repeat") {
  RecordFields f;
  CHECK_THROWS_AS(f.set_number("stream_gbs", 1.0), std::logic_error);
  CHECK_THROWS_AS(f.set_string("time_ms", "1"), std::logic_error);
  CHECK_THROWS_AS(f.set_int("causal", 1), std::logic_error);
  f.set_number("time_ms", 1.5);
  CHECK_THROWS_AS(f.set_number("time_ms", 2.0), std::logic_error);
  // Order comes from the schema, not from the calls; null for an undefined number.
  f.set_int("schema_version", kSchemaVersion).set_number("cos_sim", std::nullopt);
  CHECK(f.json() == "{\"schema_version\": 2, \"time_ms\": 1.5, \"cos_sim\": null}");
}

TEST_CASE("schema: a backward record has a place for rel_err_dq, rel_err_dk, rel_err_dv") {
  SweepRecord r;
  r.c.variant = "dense";
  r.c.extra = {{"pass", "bwd"}};
  r.rel_err_dq = 1e-6;
  const std::string line = record_json(r);
  CHECK(test::num_field(line, "rel_err_dq") == doctest::Approx(1e-6));
  CHECK(test::raw_field(line, "rel_err_dk") == "null");
  CHECK(test::raw_field(line, "rel_err_dv") == "null");
  CHECK(test::raw_field(line, "pass") == "bwd");
  CHECK(check_record(json::parse(line), "bwd") == kSchemaVersion);
}

TEST_CASE("schema: integral counts are written exactly") {
  SweepRecord r;
  r.c.variant = "dense";
  r.flops = 4294967297.0 * 1024;  // 4398046512128: %.10g would round it
  r.bytes = 12345678901.0;
  const std::string line = record_json(r);
  CHECK(test::raw_field(line, "flops") == "4398046512128");
  CHECK(test::raw_field(line, "bytes") == "12345678901");
}

TEST_CASE("schema: CSV has one header of schema names and plain numbers in numeric columns") {
  const std::string args = std::string(" --seq 32 --head-dim 8 --format csv") + kFastTiming;
  const std::string text =
      run_attnbench("sweep --variant dense --variant window:left=4,right=0 --batch 2 --lens 32,5" + args, false).output +
      "\n" + run_attnbench("sweep --variant linear --max-memory 0.0000001" + args, false).output;
  // Two runs, two headers: judge each run's output on its own.
  std::istringstream in(text);
  std::string header;
  std::getline(in, header);
  std::string expected;
  for (const Field* f : csv_columns()) expected += (expected.empty() ? "" : ",") + std::string(f->name);
  CHECK(header == expected);
  CHECK(header.find("machine") == std::string::npos);

  const std::string first = text.substr(0, text.find("\n\n") + 1), second = text.substr(text.find("\n\n") + 2);
  for (const std::string& csv : {first, second}) {
    const auto rows = test::parse_csv(csv);
    REQUIRE(rows.size() >= 2);
    CHECK(rows[0] == test::parse_csv(expected + "\n")[0]);
    for (std::size_t r = 1; r < rows.size(); ++r) {
      REQUIRE(rows[r].size() == rows[0].size());
      CHECK(rows[r][0].rfind('#', 0) == std::string::npos);
      for (std::size_t i = 0; i < rows[r].size(); ++i) {
        const Field& f = schema_field(rows[0][i]);
        const std::string& cell = rows[r][i];
        if (cell.empty() || f.type == FieldType::String) continue;
        CAPTURE(f.name);
        CAPTURE(cell);
        char* end = nullptr;
        const double x = std::strtod(cell.c_str(), &end);
        CHECK(*end == '\0');  // no "x", "%" or units
        CHECK(std::isfinite(x));
        if (f.type == FieldType::Bool) CHECK((cell == "0" || cell == "1"));
        if (f.type == FieldType::Int) CHECK(x == std::floor(x));
      }
    }
  }
  const auto measured = test::csv_records(first);
  REQUIRE(measured.size() == 2);
  CHECK(measured[0].at("lens") == "32,5");
  CHECK(measured[0].at("schema_version") == "2");
  CHECK_FALSE(measured[0].at("cos_sim").empty());
  const auto skipped = test::csv_records(second);
  REQUIRE(skipped.size() == 1);
  CHECK(skipped[0].at("status") == "skipped");
  CHECK(skipped[0].at("time_ms").empty());
}

TEST_CASE("attnbench schema --format json lists every field and every SPEC required field") {
  const auto r = run_attnbench("schema --format json");
  REQUIRE(r.exit_code == 0);
  CHECK(r.lines() == 1);
  const json::Value doc = json::parse(r.output);
  REQUIRE(doc.find("schema_version"));
  CHECK(doc.find("schema_version")->number == kSchemaVersion);
  const json::Value* fields = doc.find("fields");
  REQUIRE(fields);
  REQUIRE(fields->array.size() == std::size(kRecordSchema));
  std::map<std::string, const json::Value*> by_name;
  for (const json::Value& f : fields->array) {
    REQUIRE(f.find("name"));
    for (const char* key : {"type", "required", "measured", "meaning"}) CHECK_MESSAGE(f.find(key), key);
    by_name[f.find("name")->string] = &f;
  }
  for (const char* name : kSpecRequired) {
    CAPTURE(name);
    REQUIRE(by_name.count(name));
    CHECK(by_name[name]->find("required")->boolean);
  }
  CHECK(by_name["cos_sim"]->find("type")->string == "number");
  CHECK(by_name["machine"]->find("type")->string == "object");

  const auto md = run_attnbench("schema");
  CHECK(md.exit_code == 0);
  CHECK(md.output.find("| `rel_l1` | number | required (status ok) |") != std::string::npos);
  // One row per field, four cells each: the '|' in formulas is escaped.
  std::istringstream rows(md.output);
  std::size_t field_rows = 0;
  for (std::string row; std::getline(rows, row);) {
    if (row.rfind("| `", 0) != 0) continue;
    ++field_rows;
    int bars = 0;
    for (std::size_t i = 0; i < row.size(); ++i) bars += row[i] == '|' && (i == 0 || row[i - 1] != '\\');
    CHECK_MESSAGE(bars == 5, row);
  }
  CHECK(field_rows == std::size(kRecordSchema));
  const auto bad = run_attnbench("schema --format xml");
  CHECK(bad.exit_code == 2);
  CHECK(bad.lines() == 1);
  CHECK(run_attnbench("help").output.find("schema") != std::string::npos);
}

TEST_CASE("schema: the table reader checks types, versions and required fields") {
  auto read = [](const std::string& text) { return case_record_from_json(json::parse_jsonl(text, "r.jsonl").at(0)); };
  const std::vector<std::string> lines = sweep_lines();
  for (const std::string& line : lines) CHECK_NOTHROW(read(line));

  auto expect_error = [&](const std::string& text, const std::string& words) {
    CAPTURE(text);
    try {
      read(text);
      FAIL("accepted");
    } catch (const UserError& e) {
      CHECK_MESSAGE(std::string(e.what()).find(words) != std::string::npos, e.what());
    }
  };
  const std::string& ok = lines[0];
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = ok;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  expect_error(replace("\"cos_sim\": ", "\"cos_sim_x\": "), "record has no \"cos_sim\" field");
  expect_error(replace("\"impl\": \"", "\"impl\": 3, \"x\": \""), "\"impl\" must be a string");
  expect_error(replace("\"batch\": 1", "\"batch\": 1.5"), "\"batch\" must be an integer");
  expect_error(replace("\"causal\": false", "\"causal\": 0"), "\"causal\" must be true or false");
  expect_error(replace("\"schema_version\": 2", "\"schema_version\": 3"), "schema_version 3 is newer");
  expect_error(replace("\"schema_version\": 2", "\"schema_version\": \"2\""), "\"schema_version\" must be an integer");
  // A null number is allowed (the note says why); a skipped record needs no measurements.
  CHECK_NOTHROW(read(replace("\"rmse\": ", "\"rmse\": null, \"x\": ")));
  CHECK(read(lines[3]).skipped);
  // Version 1 records (no schema_version, the committed results) are read as before.
  const std::string v1 = R"({"case_id":"a","variant":"dense","batch":1,"heads":1,"seq_q":8,"seq_kv":8,"head_dim":8,)"
                         R"("causal":0,"threads":1,"isa":"avx2","time_ms":1,"workspace_bytes":0})";
  CHECK(read(v1).time_ms == 1);
}

TEST_CASE("schema: plot.py reads the field names from attnbench schema") {
  const std::string dir = test::temp_path("schema_plots");
  const std::string jsonl = test::temp_path("schema_plot.jsonl");
  {
    std::ofstream f(jsonl);
    for (const std::string& line : sweep_lines()) f << line << "\n";
  }
  const std::string plot = std::string("/usr/bin/python3 ") + ATTNBENCH_SOURCE_DIR + "/scripts/plot.py " + jsonl + " --out " + dir;
  auto shell = [](const std::string& cmd) {
    const std::string full = cmd + " > /dev/null 2>&1";
    const int status = std::system(full.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  if (shell("/usr/bin/python3 -c 'import matplotlib'") != 0) return;  // no matplotlib here: nothing to draw with
  CHECK(shell(plot + " --attnbench " + ATTNBENCH_BIN) == 0);
  CHECK(std::ifstream(dir + "/roofline.png").good());
  // A schema without a field plot.py reads, or records newer than the schema, are refused.
  const std::string schema = test::temp_path("schema_old.json");
  std::ofstream(schema) << R"({"schema_version": 2, "fields": [{"name": "variant", "required": true}]})";
  CHECK(shell(plot + " --schema " + schema) == 2);
  std::ofstream(schema) << run_attnbench("schema --format json").output;
  CHECK(shell(plot + " --schema " + schema) == 0);
  std::ofstream(jsonl, std::ios::app) << R"({"schema_version": 99, "variant": "dense"})" << "\n";
  CHECK(shell(plot + " --schema " + schema) == 2);
  std::remove(jsonl.c_str());
  std::remove(schema.c_str());
}
