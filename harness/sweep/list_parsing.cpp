#include "list_parsing.hpp"

#include <cctype>

#include "errors.hpp"

namespace attn {

std::vector<std::string> split_list(const std::string& text, const std::string& option) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) item.pop_back();
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) item.erase(0, 1);
    if (item.empty()) throw UserError(option + ": empty item in list '" + text + "'");
    items.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return items;
}

bool parse_whole_number(const std::string& text, long min, long max, long& value) {
  // 18 digits always fit in a long; more is out of every range we use.
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos) return false;
  long v = 0;
  for (char c : text) v = v * 10 + (c - '0');
  if (v < min || v > max) return false;
  value = v;
  return true;
}

std::vector<int> parse_int_list(const std::string& text, const std::string& option, long min, long max) {
  std::vector<int> values;
  for (const std::string& item : split_list(text, option)) {
    std::size_t digits = 0;
    while (digits < item.size() && std::isdigit(static_cast<unsigned char>(item[digits]))) ++digits;
    const std::string suffix = item.substr(digits);
    long multiplier = 1;
    if (suffix == "k" || suffix == "K") multiplier = 1024;
    else if (suffix == "m" || suffix == "M") multiplier = 1024L * 1024;
    else if (!suffix.empty()) digits = 0;  // reject below
    if (digits == 0 || digits > 9)
      throw UserError(option + ": '" + item + "' is not a whole number (1k = 1024 is allowed)");
    const long value = std::stol(item.substr(0, digits)) * multiplier;
    if (value < min || value > max)
      throw UserError(option + ": " + item + " is outside " + std::to_string(min) + ".." + std::to_string(max));
    values.push_back(static_cast<int>(value));
  }
  return values;
}

}  // namespace attn
