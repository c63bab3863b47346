// A small, strict JSON reader for the sweep's JSON-lines output (one object per line).
// Bad input of any kind becomes one UserError line naming the file, the line and the problem.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace attn::json {

struct Value {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Value> array;
  std::vector<std::pair<std::string, Value>> object;  // in file order

  // The member `key` of an object, or nullptr (also when this is not an object).
  const Value* find(const std::string& key) const;
  bool is_number() const { return kind == Kind::Number; }
  bool is_string() const { return kind == Kind::String; }
};

// Parses exactly one JSON value (surrounding whitespace allowed). Throws UserError
// "<problem> at column N" on anything else.
Value parse(const std::string& text);

struct Line {
  std::string file;
  int line = 0;  // 1-based
  Value value;   // always an object
};

// Reads a JSON-lines file: every non-blank line must be one JSON object. Bounded: the file may
// hold at most kMaxJsonlBytes (1 GiB) and each line kMaxJsonlLineBytes (1 MiB, input_file.hpp).
// Throws UserError "FILE:LINE: <problem>" on the first bad line. If `partial_last_line` is given,
// a malformed last line without a final newline (a writer killed mid-line) is left out and
// described there instead.
std::vector<Line> read_jsonl(const std::string& path, std::string* partial_last_line = nullptr);
// The same, from text already in memory (`name` is used in messages).
std::vector<Line> parse_jsonl(const std::string& text, const std::string& name, std::string* partial_last_line = nullptr);

}  // namespace attn::json
