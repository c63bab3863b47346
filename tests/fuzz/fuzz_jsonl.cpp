// libFuzzer target: the JSON / JSON-lines reader (table input), the schema check of each record,
// and the --resume scanner on arbitrary bytes. The reader must parse or throw attn::UserError; the scanner never throws
// (bad lines are counted, not fatal). Anything else (another exception, a sanitizer report, a
// hang, a stack overflow on deep nesting) is a bug.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "errors.hpp"
#include "jsonl_reader.hpp"
#include "sweep_resume.hpp"
#include "table_records.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)attn::json::parse(text);
  } catch (const attn::UserError&) {
  }
  try {
    std::string partial;
    for (const auto& line : attn::json::parse_jsonl(text, "fuzz", &partial)) {
      if (line.value.kind != attn::json::Value::Kind::Object || line.line < 1) __builtin_trap();
      try {
        (void)attn::case_record_from_json(line);
      } catch (const attn::UserError&) {
      }
    }
  } catch (const attn::UserError&) {
  }
  const attn::FinishedCases done = attn::scan_finished_cases(text);
  const auto lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  // Only newline-terminated lines can be unreadable, and each finished case needs its own line.
  if (done.unreadable > lines || done.ids.size() > lines + 1) __builtin_trap();
  return 0;
}
