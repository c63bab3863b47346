// sweep --filter: a regular expression over each case's parameter string. RE2, not std::regex:
// RE2 matches in linear time with bounded memory and parses without deep recursion, so no
// pattern can crash (std::regex overflows the stack on deep nesting) or hang the sweep.
#pragma once
#include <memory>
#include <string>

namespace re2 {
class RE2;
}

namespace attn {

// Longest pattern accepted; real filters are a few dozen characters.
constexpr std::size_t kMaxFilterChars = 4096;

class CaseFilter {
 public:
  // "" keeps every case. Throws UserError (one line, RE2's reason) for a pattern that is too
  // long, invalid or too large to compile.
  explicit CaseFilter(const std::string& pattern);
  ~CaseFilter();
  CaseFilter(CaseFilter&&) noexcept;
  // True if the pattern matches anywhere in `text` (as std::regex_search did).
  bool matches(const std::string& text) const;

 private:
  std::unique_ptr<re2::RE2> re_;
};

}  // namespace attn
