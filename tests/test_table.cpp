// attnbench table: the JSON reader, both presets in every format, and the duplicate /
// missing-case reports that keep merged shards honest. Inputs are small hand-made JSONL.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>

#include "cli_util.hpp"
#include "csv_util.hpp"
#include "errors.hpp"
#include "jsonl_reader.hpp"
#include "table_presets.hpp"
#include "table_render.hpp"

using namespace attn;

namespace {

std::string record(const std::string& variant, long n, double ms, double workspace, const std::string& extra = "") {
  const std::string id = variant + "|b1h2d16n" + std::to_string(n);
  return "{\"case_id\":\"" + id + "\",\"variant\":\"" + variant + "\",\"name\":\"" + variant.substr(0, variant.find(':')) +
         "\",\"batch\":1,\"heads\":2,\"kv_heads\":2,\"seq_q\":" + std::to_string(n) + ",\"seq_kv\":" + std::to_string(n) +
         ",\"head_dim\":16,\"causal\":false,\"threads\":1,\"isa\":\"avx2\",\"time_ms\":" + std::to_string(ms) +
         ",\"workspace_bytes\":" + std::to_string(workspace) + ",\"machine\":{\"cpu\":\"x \\\"q\\\"\",\"cores\":2}" + extra + "}\n";
}

std::string skipped(const std::string& variant, long n, const std::string& reason) {
  return "{\"case_id\":\"" + variant + "|b1h2d16n" + std::to_string(n) + "\",\"variant\":\"" + variant +
         "\",\"batch\":1,\"heads\":2,\"kv_heads\":2,\"seq_q\":" + std::to_string(n) + ",\"seq_kv\":" + std::to_string(n) +
         ",\"head_dim\":16,\"causal\":0,\"threads\":1,\"isa\":\"avx2\",\"status\":\"skipped\",\"reason\":\"" + reason + "\"}\n";
}

std::string write_text(const std::string& name, const std::string& text) {
  const std::string path = test::temp_path(name);
  std::ofstream(path) << text;
  return path;
}

// dense 1k: 4 ms, 2k: 16 ms; window 1k: 1 ms, 2k: 2 ms; naive 1k: 40 ms, 2k out of memory.
// Only the window records carry accuracy (approx_err, mass_recall), as older records lack it.
std::string sample_run() {
  return record("dense", 1024, 4, 1000) +
         record("window:left=64,right=0", 1024, 1, 500, ",\"approx_err\":0.25,\"mass_recall\":0.5") +
         record("naive", 1024, 40, 4000) +
         "\n" + record("dense", 2048, 16, 2000) + record("window:left=64,right=0", 2048, 2, 500) +
         skipped("naive", 2048, "needs 16 GiB, limit 8 GiB");
}

}  // namespace

TEST_CASE("json parser reads objects, nesting, escapes and numbers") {
  const auto v = json::parse(R"( {"a": -1.5e2, "b": [true, false, null], "c": {"d": "x\"\\\u00e9\ud83d\ude00"}, "e": 0} )");
  REQUIRE(v.kind == json::Value::Kind::Object);
  CHECK(v.find("a")->number == -150.0);
  CHECK(v.find("b")->array.size() == 3);
  CHECK(v.find("b")->array[2].kind == json::Value::Kind::Null);
  CHECK(v.find("c")->find("d")->string == "x\"\\\xc3\xa9\xf0\x9f\x98\x80");
  CHECK(v.find("missing") == nullptr);
}

TEST_CASE("json parser refuses malformed input with one line") {
  const char* bad[] = {"", "{", "{\"a\":}", "{\"a\":1,}", "{a:1}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":-}",
                       "{\"a\":tru}", "{\"a\":\"\\x\"}", "{\"a\":\"open}", "{\"a\":1} x", "{\"a\":\"\\ud800\"}",
                       "{\"a\":1e999}", "{\"a\":[1,2}", "\x01"};
  for (const char* text : bad) {
    CAPTURE(text);
    try {
      json::parse(text);
      FAIL("accepted malformed JSON");
    } catch (const UserError& e) {
      CHECK(std::string(e.what()).find('\n') == std::string::npos);
      CHECK(std::string(e.what()).find("column") != std::string::npos);
    }
  }
  CHECK_THROWS_AS(json::parse(std::string(200, '[') + std::string(200, ']')), UserError);  // too deep, no stack overflow
}

TEST_CASE("jsonl reader names the file and line of the bad record") {
  const std::string text = record("dense", 1024, 4, 1000) + "\n{\"case_id\": \"x\", \n";
  try {
    json::parse_jsonl(text, "run.jsonl");
    FAIL("accepted a truncated line");
  } catch (const UserError& e) {
    CHECK(std::string(e.what()).rfind("run.jsonl:3: malformed JSON", 0) == 0);
  }
  CHECK_THROWS_AS(json::parse_jsonl("[1,2]\n", "a.jsonl"), UserError);  // not an object
  // A writer killed mid-line: only a last line without its newline may be left out, and is reported.
  std::string partial;
  CHECK(json::parse_jsonl(record("dense", 1024, 4, 1000) + "{\"case_id\": \"x", "run.jsonl", &partial).size() == 1);
  CHECK(partial.find("run.jsonl:2: malformed JSON") == 0);
  CHECK_THROWS_AS(json::parse_jsonl("{\"case_id\": \"x\n" + record("dense", 1024, 4, 1000), "run.jsonl", &partial), UserError);
  CHECK(json::parse_jsonl("\n  \n", "empty.jsonl").empty());
}

TEST_CASE("lra preset: speed and workspace relative to dense, the paper's figures, accuracy, OOM for skipped") {
  const auto lines = json::parse_jsonl(sample_run(), "run.jsonl");
  std::vector<CaseRecord> records;
  for (const auto& l : lines) records.push_back(case_record_from_json(l));
  const PresetOutput out = build_preset_tables("lra", records);
  CHECK(out.problems.empty());
  REQUIRE(out.tables.size() == 3);
  const Table& speed = out.tables[0];
  CHECK(speed.header == std::vector<std::string>{"variant", "paper row", "1k", "2k", "paper 1k", "paper 2k"});
  REQUIRE(speed.rows.size() == 3);
  // LRA Table 2's bracketed relative speeds (Transformer 1.0; Local Attention 1.1x, 1.7x).
  CHECK(speed.rows[0] == std::vector<std::string>{"dense", "Transformer", "1.00x", "1.00x", "1.0x", "1.0x"});
  // Rows in the order the variants first appear (the preset's order), not by name.
  CHECK(speed.rows[1] == std::vector<std::string>{"window:left=64,right=0", "Local Attention", "4.00x", "8.00x", "1.1x", "1.7x"});
  CHECK(speed.rows[2] == std::vector<std::string>{"naive", "—", "0.10x", "OOM", "—", "—"});
  const Table& memory = out.tables[1];
  // The paper's memory as a ratio of its GB figures: 0.42 / 0.85 and 0.76 / 2.65.
  CHECK(memory.rows[1] == std::vector<std::string>{"window:left=64,right=0", "Local Attention", "0.50x", "0.25x", "0.49x", "0.29x"});
  CHECK(memory.rows[2] == std::vector<std::string>{"naive", "—", "4.00x", "OOM", "—", "—"});
  CHECK(speed.title.find("head_dim=16") != std::string::npos);
  CHECK(speed.notes.back().find("Long Range Arena, ICLR 2021, Table 2") != std::string::npos);
  const Table& accuracy = out.tables[2];
  CHECK(accuracy.header == std::vector<std::string>{"variant", "approx_err 1k", "approx_err 2k", "mass_recall 1k", "mass_recall 2k"});
  CHECK(accuracy.rows[1] == std::vector<std::string>{"window:left=64,right=0", "2.50e-01", "—", "0.500", "—"});
  CHECK(accuracy.rows[2] == std::vector<std::string>{"naive", "—", "OOM", "—", "OOM"});
  // The flat table (CSV): plain numbers, a status where the tables print OOM.
  CHECK(out.flat.header == std::vector<std::string>{"batch", "heads", "kv_heads", "head_dim", "causal", "threads", "isa",
                                                    "dtype", "pass", "inputs", "lens", "variant", "seq_q", "seq_kv", "status",
                                                    "time_ms", "speed_vs_dense", "workspace_bytes", "workspace_vs_dense",
                                                    "approx_err", "mass_recall", "paper_model", "paper_speed_vs_transformer",
                                                    "paper_memory_vs_transformer"});
  REQUIRE(out.flat.rows.size() == 6);
  CHECK(out.flat.rows[5] == std::vector<std::string>{"1", "2", "2", "16", "0", "1", "avx2", "f32", "fwd", "gaussian", "",
                                                     "naive", "2048", "2048", "oom", "", "", "", "", "", "", "", "", ""});
  CHECK(out.flat.rows[3] == std::vector<std::string>{"1", "2", "2", "16", "0", "1", "avx2", "f32", "fwd", "gaussian", "",
                                                     "window:left=64,right=0", "2048", "2048", "ok", "2", "8", "500", "0.25",
                                                     "", "", "Local Attention", "1.7", "0.2867924528"});
  CHECK(out.flat.rows[2][19] == "0.25");
  CHECK(out.flat.rows[2][20] == "0.5");
}

TEST_CASE("flash preset: median ms per N, OOM and dash, separate tables per setting") {
  std::string text = sample_run() + skipped("window:left=64,right=0", 4096, "estimated 9 s per run exceeds --max-case-time 1");
  std::string causal = record("dense", 1024, 2, 1000);
  causal.replace(causal.find("\"causal\":false"), 14, "\"causal\":true");
  causal.replace(causal.find("n1024\""), 6, "n1024c\"");
  text += causal;
  std::vector<CaseRecord> records;
  for (const auto& l : json::parse_jsonl(text, "run.jsonl")) records.push_back(case_record_from_json(l));
  const PresetOutput out = build_preset_tables("flash", records);
  // Non-causal: runtime and dense's speed-up; causal (dense alone): runtime only.
  REQUIRE(out.tables.size() == 3);
  const Table& t = out.tables[0];
  CHECK(t.header == std::vector<std::string>{"variant", "1k", "2k", "4k"});  // forward only: no pass column
  CHECK(t.rows[0] == std::vector<std::string>{"dense", "4.000", "16.0", "—"});
  CHECK(t.rows[1] == std::vector<std::string>{"window:left=64,right=0", "1.000", "2.000", "—"});
  CHECK(t.rows[2] == std::vector<std::string>{"naive", "40.0", "OOM", "—"});
  const Table& speedup = out.tables[1];
  CHECK(speedup.title.find("Speed-up of dense") == 0);
  CHECK(speedup.rows == std::vector<std::vector<std::string>>{{"window:left=64,right=0", "0.25x", "0.12x", "—"},
                                                             {"naive", "10.00x", "OOM", "—"}});
  CHECK(out.tables[2].title.find("causal=1") != std::string::npos);
  // dense and naive have no 4k record at all: reported, not hidden.
  CHECK(out.problems.size() == 2);
  CHECK(out.problems[0].find("missing: dense at N=4k") == 0);
  // Flat: one header for both settings; missing and skipped cells say so and hold no number.
  CHECK(out.flat.header[15] == "time_ms");
  CHECK(out.flat.header[16] == "time_vs_dense");
  REQUIRE(out.flat.rows.size() == 3 * 3 + 1);
  CHECK(out.flat.rows[2][14] == "missing");
  CHECK(out.flat.rows[2][15].empty());
  CHECK(out.flat.rows[5][14] == "skipped");
  CHECK(out.flat.rows[6][16] == "10");  // naive 1k: 40 ms / dense's 4 ms
  CHECK(out.flat.rows[9][4] == "1");
  CHECK(out.flat.rows[9][15] == "2");
  CHECK(out.flat.rows[9][16] == "1");
}

TEST_CASE("dynamic preset: density, ms, the selection's share, % of dense's useful-FLOP rate and mass_recall per N x variant") {
  auto with = [](const std::string& variant, long n, double ms, double gflops, double density, const std::string& recall) {
    return record(variant, n, ms, 100, ",\"gflops\":" + std::to_string(gflops) + ",\"density\":" +
                                          std::to_string(density) + recall);
  };
  const std::string topk = "block_topk:block=64,sink=1,topk=8";
  const std::string text = with("dense", 1024, 8, 50, 1, ",\"mass_recall\":1,\"mass_recall_min\":1") +
                           with(topk, 1024, 1, 40, 0.1,
                                ",\"mass_recall\":0.75,\"mass_recall_min\":0.5,\"select_ms\":0.125,\"select_share\":0.125") +
                           with("window:left=64,right=0", 1024, 0.5, 35, 0.0625, ",\"mass_recall\":null") +
                           with("dense", 2048, 30, 60, 1, "") + with(topk, 2048, 2.5, 15, 0.05, "") +
                           skipped("window:left=64,right=0", 2048, "estimated 9 s per run exceeds --max-case-time 1");
  std::vector<CaseRecord> records;
  for (const auto& l : json::parse_jsonl(text, "run.jsonl")) records.push_back(case_record_from_json(l));
  const PresetOutput out = build_preset_tables("dynamic", records);
  CHECK(out.problems.empty());
  REQUIRE(out.tables.size() == 1);
  const Table& t = out.tables[0];
  CHECK(t.header ==
        std::vector<std::string>{"N", "variant", "density", "ms", "select %", "% dense rate", "mass_recall", "recall min"});
  REQUIRE(t.rows.size() == 6);
  // N outer, dense first: each N's rows compare at one sequence length.
  // Only records with a selection step have a share (older block_topk records: a dash).
  CHECK(t.rows[0] == std::vector<std::string>{"1k", "dense", "1.0000", "8.000", "—", "100%", "1.000", "1.000"});
  CHECK(t.rows[1] == std::vector<std::string>{"1k", topk, "0.1000", "1.000", "12.5%", "80%", "0.750", "0.500"});
  CHECK(t.rows[2] == std::vector<std::string>{"1k", "window:left=64,right=0", "0.0625", "0.500", "—", "70%", "—", "—"});
  CHECK(t.rows[4] == std::vector<std::string>{"2k", topk, "0.0500", "2.500", "—", "25%", "—", "—"});
  CHECK(t.rows[5] == std::vector<std::string>{"2k", "window:left=64,right=0", "—", "—", "—", "—", "—", "—"});
  CHECK(t.notes[0].find("useful GFLOP/s") != std::string::npos);
  // Flat: the same quantities as plain numbers, empty where the table has a dash.
  CHECK(std::vector<std::string>(out.flat.header.end() - 6, out.flat.header.end()) ==
        std::vector<std::string>{"density", "time_ms", "select_share", "pct_dense_rate", "mass_recall", "mass_recall_min"});
  REQUIRE(out.flat.rows.size() == 6);
  // Flat rows go variant by variant: topk at 1k is the third.
  CHECK(std::vector<std::string>(out.flat.rows[2].begin() + 11, out.flat.rows[2].end()) ==
        std::vector<std::string>{topk, "1024", "1024", "ok", "0.1", "1", "0.125", "80", "0.75", "0.5"});
  CHECK(std::vector<std::string>(out.flat.rows[5].begin() + 11, out.flat.rows[5].end()) ==
        std::vector<std::string>{"window:left=64,right=0", "2048", "2048", "skipped", "", "", "", "", "", ""});
}

TEST_CASE("renderers: markdown, csv and latex") {
  Table t{"Runtime, head_dim=16", {"note_1 50%"}, {"variant", "1k"}, {{"block_sparse:a=1", "2.00x"}, {"x|y", "—"}}};
  const std::string md = render_tables({t}, TableFormat::Markdown);
  CHECK(md.find("### Runtime, head_dim=16\n\n| variant | 1k |\n|---|---:|\n| block_sparse:a=1 | 2.00x |\n| x\\|y | — |\n") == 0);
  const std::string csv = render_tables({t}, TableFormat::Csv);
  CHECK(csv == "variant,1k\nblock_sparse:a=1,2.00x\nx|y,—\n");  // no title or note lines
  const std::string tex = render_tables({t}, TableFormat::Latex);
  CHECK(tex.find("\\caption{Runtime, head\\_dim=16}") != std::string::npos);
  CHECK(tex.find("\\texttt{block\\_sparse:a=1} & 2.00$\\times$ \\\\") != std::string::npos);
  CHECK(tex.find("x|y} & --- \\\\") != std::string::npos);
  CHECK(tex.find("note\\_1 50\\%") != std::string::npos);
  CHECK_THROWS_AS(parse_table_format("html"), UserError);
}

TEST_CASE("attnbench table: formats, duplicates, expected cases, --strict, bad input") {
  const auto run = write_text("table_run.jsonl", sample_run());
  for (const char* format : {"md", "csv", "latex"}) {
    const auto r = test::run_attnbench(std::string("table ") + run + " --preset lra --format " + format);
    CAPTURE(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find(std::string(format) == "csv" ? ",ok,2,8,500,0.25," : "8.00") != std::string::npos);
    CHECK(r.output.find("warning") == std::string::npos);
  }
  // The same shard twice: every case is a duplicate, reported on stderr, the table still printed.
  const auto twice = test::run_attnbench("table " + run + " " + run + " --preset flash");
  CHECK(twice.exit_code == 0);
  CHECK(twice.output.find("appears 2 times") != std::string::npos);
  CHECK(twice.output.find("| dense | 4.000 | 16.0 |") != std::string::npos);
  CHECK(test::run_attnbench("table " + run + " " + run + " --preset flash --strict").exit_code == 2);

  const auto expect = write_text("table_expect.txt", "# from sweep --dry-run\ndense|b1h2d16n1024  dense n=1k\ndense|b1h2d16n4096  dense n=4k\n");
  const auto missing = test::run_attnbench("table " + run + " --preset flash --expect " + expect);
  CHECK(missing.output.find("missing case dense|b1h2d16n4096 dense n=4k (expected") != std::string::npos);
  CHECK(missing.output.find("unexpected case naive|b1h2d16n1024") != std::string::npos);
  const auto strict = test::run_attnbench("table " + run + " --preset flash --strict --expect " + expect);
  CHECK(strict.exit_code == 2);
  CHECK(strict.output.find("no table written") != std::string::npos);

  const auto out_path = test::temp_path("table_out.tex");
  std::remove(out_path.c_str());
  CHECK(test::run_attnbench("table " + run + " --preset lra --format latex --out " + out_path).exit_code == 0);
  std::ifstream written(out_path);
  CHECK(std::string(std::istreambuf_iterator<char>(written), {}).find("\\toprule") != std::string::npos);

  // A shard cut mid-line: the partial line is a warning (an error with --strict), the rest is used.
  const auto cut = write_text("table_cut.jsonl", sample_run() + "{\"case_id\": \"dense|b1h");
  const auto cut_run = test::run_attnbench("table " + cut + " --preset flash");
  CHECK(cut_run.exit_code == 0);
  CHECK(cut_run.output.find("partial last line") != std::string::npos);
  CHECK(test::run_attnbench("table " + cut + " --preset flash --strict").exit_code == 2);

  const auto malformed = write_text("table_bad.jsonl", record("dense", 1024, 4, 1000) + "{\"case_id\": 1,,}\n");
  const auto no_time = write_text("table_notime.jsonl", "{\"case_id\":\"a\",\"variant\":\"dense\"}\n");
  const std::vector<std::string> bad = {
      "table",
      "table " + run + " --preset nope",
      "table " + run + " --preset lra --format html",
      "table /nonexistent.jsonl --preset lra",
      "table " + malformed + " --preset lra",
      "table " + no_time + " --preset lra",
      "table " + run + " --preset lra --head-dim 99",
      "table " + run + " --preset lra --out /nonexistent/dir/t.md",
  };
  for (const auto& args : bad) {
    CAPTURE(args);
    const auto r = test::run_attnbench(args);
    CAPTURE(r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.lines() == 1);
  }
}

TEST_CASE("table --format csv: one header line and plain numbers for every preset") {
  const auto run = write_text("table_csv_run.jsonl", sample_run());
  for (const char* preset : {"lra", "flash", "decode", "dynamic", "precision"}) {
    CAPTURE(preset);
    const auto r = test::run_attnbench(std::string("table ") + run + " --preset " + preset + " --format csv", false);
    REQUIRE(r.exit_code == 0);
    const auto rows = test::parse_csv(r.output);
    REQUIRE(rows.size() == 7);  // header + 3 variants x 2 N
    CHECK(rows[0][0] == "batch");
    for (std::size_t i = 1; i < rows.size(); ++i) {
      REQUIRE(rows[i].size() == rows[0].size());
      CHECK(rows[i][0] != "batch");  // one header
      for (std::size_t j = 0; j < rows[i].size(); ++j) {
        const std::string& name = rows[0][j];
        if (name == "isa" || name == "variant" || name == "status" || name == "dtype" || name == "pass" ||
            name == "inputs" || name == "paper_model" || name == "impl" || rows[i][j].empty())
          continue;
        CAPTURE(name);
        CAPTURE(rows[i][j]);
        char* end = nullptr;
        std::strtod(rows[i][j].c_str(), &end);
        CHECK(*end == '\0');
      }
    }
  }
}

TEST_CASE("table without --preset: one plain row per record, in file order") {
  const auto run = write_text("table_plain_run.jsonl", sample_run());
  const auto md = test::run_attnbench("table " + run);
  CAPTURE(md.output);
  REQUIRE(md.exit_code == 0);
  CHECK(md.output.find("| variant | shape | dtype | pass | isa | threads | time_ms | gflops | pct_peak | rel_err | status |") !=
        std::string::npos);
  CHECK(md.output.find("| window:left=64,right=0 | B1 H2 N1k D16 | f32 | fwd | avx2 | 1 | 1 |") != std::string::npos);
  CHECK(md.output.find("skipped: needs 16 GiB, limit 8 GiB |") != std::string::npos);
  CHECK(md.output.find("window") < md.output.find("naive"));  // file order

  const auto csv = test::run_attnbench("table " + run + " --format csv", false);
  const auto rows = test::parse_csv(csv.output);
  REQUIRE(rows.size() == 7);
  CHECK(rows[6] == std::vector<std::string>{"naive", "B1 H2 N2k D16", "f32", "fwd", "avx2", "1", "", "", "", "", "skipped"});
  CHECK(rows[1][6] == "4");
}

TEST_CASE("table presets: records that differ in inputs, dtype or pass get their own tables") {
  const std::string local = record("dense", 1024, 5, 1000, ",\"inputs\":\"local\"");
  std::string text = sample_run() + local.substr(0, local.find("n1024")) + "n1024L" + local.substr(local.find("n1024") + 5);
  std::vector<CaseRecord> records;
  for (const auto& l : json::parse_jsonl(text, "run.jsonl")) records.push_back(case_record_from_json(l));
  const PresetOutput out = build_preset_tables("flash", records);
  CHECK(out.problems.size() == 0);  // not "two records for dense at N=1k"
  REQUIRE(out.tables.size() == 3);  // gaussian: runtime and speed-up; local (dense alone): runtime
  CHECK(out.tables[2].title.find("inputs=local") != std::string::npos);
  CHECK(out.tables[2].rows == std::vector<std::vector<std::string>>{{"dense", "5.000"}});
  CHECK(out.tables[0].title.find("inputs") == std::string::npos);
}
