// sweep --resume decides by parsing each record (harness/sweep_resume), and JsonlOutput repairs
// only the last line: a whole record gets its newline, a torn one is cut.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "cli_util.hpp"
#include "errors.hpp"
#include "jsonl_output.hpp"
#include "sweep_records.hpp"
#include "sweep_resume.hpp"

using namespace attn;

namespace {
const std::string kA = R"({"case_id": "aaaa", "status": "ok", "time_ms": 1})";
const std::string kB = R"({"case_id": "bbbb", "status": "ok", "time_ms": 2})";
const std::string kC = R"({"case_id": "cccc", "status": "ok", "time_ms": 3})";
const std::string kSkipped = R"({"case_id": "ssss", "status": "skipped", "reason": "too big"})";
// What a crash in the middle of a write leaves: half a record (its status already "ok").
const std::string kTornB = R"({"case_id": "bbbb", "status": "ok", "ti)";

std::string file_with(const std::string& name, const std::string& text) {
  const std::string path = test::temp_path(name);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  return path;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

using Ids = std::set<std::string>;
}  // namespace

TEST_CASE("resume: a record torn in the middle of the file does not count as finished") {
  const FinishedCases done = scan_finished_cases(kA + "\n" + kTornB + "\n" + kC + "\n" + kSkipped + "\n");
  CHECK(done.ids == Ids{"aaaa", "cccc"});  // the substring search counted bbbb
  CHECK(done.unreadable == 1);
  // Garbage, a non-object and a line over the 1 MiB cap are unreadable too; blank lines are not.
  const std::string huge = R"({"case_id": "hhhh", "status": "ok", "pad": ")" + std::string(1 << 20, 'x') + "\"}";
  const FinishedCases more = scan_finished_cases("\n  \n[1, 2]\n\x01\xff\n" + huge + "\n" + kB + "\n");
  CHECK(more.ids == Ids{"bbbb"});
  CHECK(more.unreadable == 3);
  // A status that merely contains the text, or the text inside another string, is not "ok".
  CHECK(scan_finished_cases(R"({"case_id": "x", "status": "okay"})" "\n").ids.empty());
  CHECK(scan_finished_cases(R"({"case_id": "x", "note": "\"status\": \"ok\""})" "\n").ids.empty());
}

TEST_CASE("resume: the last line counts if it is a whole record, even without its newline") {
  const FinishedCases whole = scan_finished_cases(kA + "\n" + kB);
  CHECK(whole.ids == Ids{"aaaa", "bbbb"});
  CHECK(whole.unreadable == 0);
  const FinishedCases torn = scan_finished_cases(kA + "\n" + kTornB);
  CHECK(torn.ids == Ids{"aaaa"});
  CHECK(torn.unreadable == 0);  // JsonlOutput cuts it; not reported as unreadable
  CHECK(finished_cases(test::temp_path("resume_never_written.jsonl")).ids.empty());
}

TEST_CASE("JsonlOutput adds the newline a whole last record lacks, instead of deleting the record") {
  const std::string path = file_with("resume_no_newline.jsonl", kA + "\n" + kB);
  {
    JsonlOutput out(path);
    CHECK(out.repair() == JsonlOutput::Repair::newline_added);
    out.append(kC);
  }
  CHECK(slurp(path) == kA + "\n" + kB + "\n" + kC + "\n");
  std::remove(path.c_str());
}

TEST_CASE("JsonlOutput cuts a torn last line and leaves a torn middle line alone") {
  const std::string path = file_with("resume_torn_last.jsonl", kA + "\n" + kTornB);
  {
    JsonlOutput out(path);
    CHECK(out.repair() == JsonlOutput::Repair::partial_line_dropped);
    out.append(kB);
  }
  CHECK(slurp(path) == kA + "\n" + kB + "\n");
  // A torn middle line is not JsonlOutput's to rewrite (append-only): it stays, and is ignored.
  const std::string middle = kA + "\n" + kTornB + "\n" + kC + "\n";
  file_with("resume_torn_last.jsonl", middle);
  {
    JsonlOutput out(path);
    CHECK(out.repair() == JsonlOutput::Repair::none);
  }
  CHECK(slurp(path) == middle);
  CHECK(finished_cases(path).ids == Ids{"aaaa", "cccc"});
  std::remove(path.c_str());
}

TEST_CASE("sweep --resume reruns a case whose record is torn mid-file and says so once") {
  const std::string out = test::temp_path("resume_cli.jsonl");
  std::remove(out.c_str());
  const std::string args = "sweep --variant dense --seq 32,48,64 --head-dim 8 --format csv --out " + out +
                           test::kFastTiming;
  REQUIRE(test::run_attnbench(args).exit_code == 0);
  auto lines = test::read_lines(out);
  REQUIRE(lines.size() == 3);
  // Tear the middle record (as a crashed writer on another machine, or a bad copy, might)...
  const std::string torn_id = test::raw_field(lines[1], "case_id");
  std::string text = lines[0] + "\n" + lines[1].substr(0, lines[1].size() / 2) + "\n" + lines[2];  // ...and drop the last newline
  file_with("resume_cli.jsonl", text);
  const auto r = test::run_attnbench(args + " --resume");
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("2 of 3 cases already") != std::string::npos);
  CHECK(r.output.find("ignored 1 unreadable line(s)") != std::string::npos);
  CHECK(r.output.find("added the missing newline") != std::string::npos);
  lines = test::read_lines(out);
  REQUIRE(lines.size() == 4);  // the three old lines (one torn) and the rerun case
  CHECK(test::raw_field(lines[3], "case_id") == torn_id);
  CHECK(slurp(out).back() == '\n');
  std::remove(out.c_str());
}

TEST_CASE("sweep --out must be a regular file before --resume reads it") {
  const std::string fifo = test::temp_path("resume_fifo.jsonl");
  std::remove(fifo.c_str());
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  const auto r = test::run_attnbench("sweep --variant dense --seq 32 --head-dim 8 --resume --out " + fifo);  // hung before
  CHECK(r.exit_code == 2);
  CHECK(r.lines() == 1);
  CHECK(r.output.find("is a FIFO") != std::string::npos);
  struct stat st{};
  CHECK((::lstat(fifo.c_str(), &st) == 0 && S_ISFIFO(st.st_mode)));
  std::remove(fifo.c_str());
}
