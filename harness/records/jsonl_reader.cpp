// Recursive-descent JSON parser (RFC 8259) with a nesting limit, so hostile input can
// neither crash nor exhaust the stack.
#include "jsonl_reader.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "errors.hpp"
#include "input_file.hpp"

namespace attn::json {

const Value* Value::find(const std::string& key) const {
  if (kind != Kind::Object) return nullptr;
  for (const auto& [k, v] : object)
    if (k == key) return &v;
  return nullptr;
}

namespace {

constexpr int kMaxDepth = 64;

class Parser {
 public:
  explicit Parser(const std::string& text) : s_(text) {}

  Value parse_document() {
    skip_space();
    Value v = parse_value(0);
    skip_space();
    if (pos_ != s_.size()) fail("unexpected '" + std::string(1, s_[pos_]) + "' after the value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw UserError(what + " at column " + std::to_string(pos_ + 1));
  }
  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }
  void skip_space() {
    while (!at_end() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\r' || s_[pos_] == '\n')) ++pos_;
  }
  void expect(char c) {
    if (peek() != c) fail(at_end() ? "unexpected end of line, expected '" + std::string(1, c) + "'"
                                   : "expected '" + std::string(1, c) + "'");
    ++pos_;
  }
  void expect_word(const char* word) {
    for (const char* p = word; *p; ++p, ++pos_)
      if (peek() != *p) fail("invalid literal");
  }

  Value parse_value(int depth) {
    if (depth > kMaxDepth) fail("nesting deeper than " + std::to_string(kMaxDepth));
    Value v;
    switch (peek()) {
      case '{': parse_object(v, depth); break;
      case '[': parse_array(v, depth); break;
      case '"': v.kind = Value::Kind::String; v.string = parse_string(); break;
      case 't': expect_word("true"); v.kind = Value::Kind::Bool; v.boolean = true; break;
      case 'f': expect_word("false"); v.kind = Value::Kind::Bool; break;
      case 'n': expect_word("null"); break;
      case '\0':
        if (at_end()) fail("unexpected end of line, expected a value");
        fail("unexpected character");
      default:
        if (peek() == '-' || (peek() >= '0' && peek() <= '9')) {
          v.kind = Value::Kind::Number;
          v.number = parse_number();
        } else {
          fail("unexpected '" + std::string(1, peek()) + "'");
        }
    }
    return v;
  }

  void parse_object(Value& v, int depth) {
    v.kind = Value::Kind::Object;
    expect('{');
    skip_space();
    if (peek() == '}') { ++pos_; return; }
    for (;;) {
      skip_space();
      if (peek() != '"') fail("expected a quoted key");
      std::string key = parse_string();
      skip_space();
      expect(':');
      skip_space();
      Value member = parse_value(depth + 1);
      v.object.emplace_back(std::move(key), std::move(member));
      skip_space();
      if (peek() == ',') { ++pos_; continue; }
      expect('}');
      return;
    }
  }

  void parse_array(Value& v, int depth) {
    v.kind = Value::Kind::Array;
    expect('[');
    skip_space();
    if (peek() == ']') { ++pos_; return; }
    for (;;) {
      skip_space();
      v.array.push_back(parse_value(depth + 1));
      skip_space();
      if (peek() == ',') { ++pos_; continue; }
      expect(']');
      return;
    }
  }

  // JSON grammar checked by hand; strtod only converts the validated span.
  double parse_number() {
    const std::size_t start = pos_;
    auto digits = [&] {
      const std::size_t d = pos_;
      while (peek() >= '0' && peek() <= '9') ++pos_;
      return pos_ - d;
    };
    if (peek() == '-') ++pos_;
    if (peek() == '0') ++pos_;
    else if (digits() == 0) fail("invalid number");
    if (peek() == '.') { ++pos_; if (digits() == 0) fail("invalid number"); }
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (digits() == 0) fail("invalid number");
    }
    const std::string span = s_.substr(start, pos_ - start);
    errno = 0;
    const double x = std::strtod(span.c_str(), nullptr);
    if (errno == ERANGE && std::isinf(x)) fail("number out of range");
    return x;
  }

  unsigned parse_hex4() {
    unsigned u = 0;
    for (int i = 0; i < 4; ++i, ++pos_) {
      const char c = peek();
      u <<= 4;
      if (c >= '0' && c <= '9') u |= c - '0';
      else if (c >= 'a' && c <= 'f') u |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') u |= c - 'A' + 10;
      else fail("invalid \\u escape");
    }
    return u;
  }

  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string parse_string() {
    expect('"');
    std::string out;
    for (;;) {
      if (at_end()) fail("unterminated string");
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) { --pos_; fail("control character in string"); }
      if (c != '\\') { out += c; continue; }
      if (at_end()) fail("unterminated string");
      switch (s_[pos_++]) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = parse_hex4();
          if (cp >= 0xD800 && cp < 0xDC00) {  // a surrogate pair encodes one code point
            if (peek() != '\\' || pos_ + 1 >= s_.size() || s_[pos_ + 1] != 'u') fail("unpaired surrogate in \\u escape");
            pos_ += 2;
            const unsigned lo = parse_hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("unpaired surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("unpaired surrogate in \\u escape");
          }
          append_utf8(out, cp);
          break;
        }
        default: --pos_; fail("invalid escape");
      }
    }
  }

  const std::string& s_;
  std::size_t pos_ = 0;
};

}  // namespace

Value parse(const std::string& text) { return Parser(text).parse_document(); }

std::vector<Line> parse_jsonl(const std::string& text, const std::string& name, std::string* partial_last_line) {
  std::vector<Line> out;
  std::istringstream in(text);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (line.size() > kMaxJsonlLineBytes)
      throw UserError(name + ":" + std::to_string(number) + ": line is over the " + format_bytes(kMaxJsonlLineBytes) +
                      " limit for one record");
    Line l{name, number, {}};
    try {
      l.value = parse(line);
    } catch (const UserError& e) {
      const std::string what = name + ":" + std::to_string(number) + ": malformed JSON: " + e.what();
      if (partial_last_line && in.eof() && text.back() != '\n') {
        *partial_last_line = what + " (a partial last line, left out: was the writer interrupted?)";
        break;
      }
      throw UserError(what);
    }
    if (l.value.kind != Value::Kind::Object)
      throw UserError(name + ":" + std::to_string(number) + ": expected a JSON object, one per line");
    out.push_back(std::move(l));
  }
  return out;
}

std::vector<Line> read_jsonl(const std::string& path, std::string* partial_last_line) {
  return parse_jsonl(read_file_capped(path, kMaxJsonlBytes, "JSONL file", kMaxJsonlLineBytes), path, partial_last_line);
}

}  // namespace attn::json
