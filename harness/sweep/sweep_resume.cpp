#include "sweep_resume.hpp"

#include <sys/stat.h>

#include <cerrno>

#include "errors.hpp"
#include "input_file.hpp"
#include "jsonl_reader.hpp"
#include "schema.hpp"

namespace attn {

namespace {
// Names from the record schema (constexpr: a name it lacks would not compile).
constexpr std::string_view kCaseIdName = schema_field("case_id").name, kStatusName = schema_field("status").name;
const std::string kCaseId(kCaseIdName), kStatus(kStatusName);

// The record's case_id if it is a whole JSON object with status "ok"; "" if it is whole but
// not finished (skipped). Throws UserError if it is not one JSON object.
std::string finished_id(const std::string& line) {
  if (line.size() > kMaxJsonlLineBytes) throw UserError("line over the cap");
  const json::Value record = json::parse(line);
  if (record.kind != json::Value::Kind::Object) throw UserError("not an object");
  const json::Value* status = record.find(kStatus);
  const json::Value* id = record.find(kCaseId);
  if (!status || !status->is_string() || status->string != "ok" || !id || !id->is_string()) return "";
  return id->string;
}
}  // namespace

FinishedCases scan_finished_cases(const std::string& text) {
  FinishedCases done;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    const bool complete = end != std::string::npos;
    const std::string line = text.substr(start, (complete ? end : text.size()) - start);
    start = complete ? end + 1 : text.size();
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      const std::string id = finished_id(line);
      if (!id.empty()) done.ids.insert(id);
    } catch (const UserError&) {
      if (complete) ++done.unreadable;  // an unterminated torn tail is JsonlOutput's to cut
    }
  }
  return done;
}

FinishedCases finished_cases(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) return {};
  return scan_finished_cases(read_file_capped(path, kMaxJsonlBytes, "--out JSONL file"));
}

}  // namespace attn
