#include "options.hpp"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "errors.hpp"

namespace attn {

namespace {
std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}
}  // namespace

ParsedSpec parse_spec(const std::string& spec) {
  ParsedSpec out;
  const auto colon = spec.find(':');
  out.name = trim(spec.substr(0, colon));
  if (out.name.empty()) throw UserError("empty variant name in spec '" + spec + "'");
  if (colon == std::string::npos) return out;
  const std::string rest = spec.substr(colon + 1);
  std::size_t start = 0;
  while (start <= rest.size()) {
    const auto comma = rest.find(',', start);
    const std::string item = trim(rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    const auto eq = item.find('=');
    if (eq == std::string::npos || trim(item.substr(0, eq)).empty())
      throw UserError("malformed option '" + item + "' in variant spec '" + spec + "' (expected key=value)");
    const std::string key = trim(item.substr(0, eq));
    for (const auto& kv : out.options)
      if (kv.first == key) throw UserError("option '" + key + "' given twice in variant spec '" + spec + "'");
    out.options.emplace_back(key, trim(item.substr(eq + 1)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

Options::Options(const std::string& variant, const std::vector<OptionSpec>& specs,
                 const std::vector<std::pair<std::string, std::string>>& given)
    : variant_(variant) {
  for (const auto& s : specs)
    if (!s.default_value.empty()) values_[s.key] = s.default_value;
  for (const auto& [key, value] : given) {
    bool known = false;
    for (const auto& s : specs) known = known || s.key == key;
    if (!known) {
      std::string list;
      for (const auto& s : specs) list += (list.empty() ? "" : ", ") + s.key;
      throw UserError("variant '" + variant + "' has no option '" + key + "'" +
                      (list.empty() ? " (it takes no options)" : " (options: " + list + ")"));
    }
    values_[key] = value;
  }
}

bool Options::has(const std::string& key) const { return values_.count(key) != 0; }

std::string Options::canonical() const {
  std::map<std::string, std::string> all = values_;
  for (const auto& [key, value] : resolved_) all[key] = value;
  std::string out;
  for (const auto& [key, value] : all) out += (out.empty() ? "" : ",") + key + "=" + value;
  return out;
}

long Options::get_int_or(const std::string& key, long fallback, long min, long max) const {
  if (has(key)) return get_int(key, min, max);
  resolved_[key] = std::to_string(fallback);
  return fallback;
}

std::string Options::get_string(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) throw UserError("variant '" + variant_ + "' needs option '" + key + "'");
  return it->second;
}

long Options::get_int(const std::string& key, long min, long max) const {
  const std::string text = get_string(key);
  errno = 0;
  char* end = nullptr;
  const long v = std::strtol(text.c_str(), &end, 10);
  // strtol skips leading whitespace: "left=\n5" is not the number 5.
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0])) || *end != '\0' || errno == ERANGE)
    throw UserError("variant '" + variant_ + "': option " + key + "=" + text + " is not an integer");
  if (v < min || v > max)
    throw UserError("variant '" + variant_ + "': option " + key + "=" + text + " is out of range [" +
                    std::to_string(min) + ", " + std::to_string(max) + "]");
  resolved_[key] = std::to_string(v);
  return v;
}

double Options::get_double(const std::string& key, double min, double max) const {
  const std::string text = get_string(key);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0])) || *end != '\0' || !std::isfinite(v))
    throw UserError("variant '" + variant_ + "': option " + key + "=" + text + " is not a number");
  if (v < min || v > max)
    throw UserError("variant '" + variant_ + "': option " + key + "=" + text + " is out of range");
  return v;
}

std::string Options::get_choice(const std::string& key, const std::vector<std::string>& allowed) const {
  const std::string v = get_string(key);
  std::string list;
  for (const auto& a : allowed) {
    if (a == v) return v;
    list += (list.empty() ? "" : ", ") + a;
  }
  throw UserError("variant '" + variant_ + "': option " + key + "=" + v + " is not one of: " + list);
}

}  // namespace attn
