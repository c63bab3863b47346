#include "index_list.hpp"

#include <cerrno>
#include <cstdlib>

#include "errors.hpp"

namespace attn {

namespace {
long parse_index(const std::string& s, const std::string& flag) {
  char* end = nullptr;
  errno = 0;
  const long x = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno == ERANGE || x < 0)
    throw UserError(flag + ": '" + s + "' is not a non-negative integer");
  return x;
}
}  // namespace

std::vector<long> parse_index_list(const std::string& text, long count, const std::string& flag) {
  std::vector<long> out;
  const auto colon = text.find(':');
  if (text.empty() || colon != std::string::npos) {
    const std::string a = text.empty() ? "" : text.substr(0, colon), b = text.empty() ? "" : text.substr(colon + 1);
    const long lo = a.empty() ? 0 : parse_index(a, flag), hi = b.empty() ? count : parse_index(b, flag);
    if (hi > count) throw UserError(flag + ": end " + std::to_string(hi) + " is past the " + std::to_string(count) + " available");
    if (lo >= hi) throw UserError(flag + ": range '" + text + "' selects nothing (A:B keeps A..B-1)");
    for (long i = lo; i < hi; ++i) out.push_back(i);
    return out;
  }
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const long x = parse_index(item, flag);
    if (x >= count) throw UserError(flag + ": index " + std::to_string(x) + " is outside 0.." + std::to_string(count - 1));
    out.push_back(x);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace attn
