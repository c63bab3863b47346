// sweep --resume: which cases an earlier (perhaps killed) sweep finished, decided by parsing
// every record with the JSON reader, never by searching for text in it.
#pragma once
#include <cstddef>
#include <set>
#include <string>

namespace attn {

struct FinishedCases {
  std::set<std::string> ids;   // case_ids of whole records with "status": "ok"
  std::size_t unreadable = 0;  // complete lines that are not one JSON object (torn, corrupt, over
                               // the line cap): ignored, so their cases run again
};

// From JSONL text. A last line without its newline counts if it is a whole record (JsonlOutput
// then adds the newline) and is ignored, not counted as unreadable, if not (JsonlOutput cuts it).
FinishedCases scan_finished_cases(const std::string& text);
// From the file (at most kMaxJsonlBytes); nothing if it does not exist yet.
FinishedCases finished_cases(const std::string& path);

}  // namespace attn
