#include "json_write.hpp"

#include <cmath>
#include <cstdio>

namespace attn {

std::string json_quote(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string json_number(double value) {
  if (!std::isfinite(value)) return "null";
  char buf[40];
  // Counts (flops, bytes) stay exact; %.10g alone would round 4294967297 to 4.294967297e+09.
  if (value == std::floor(value) && std::abs(value) < 9007199254740992.0) std::snprintf(buf, sizeof buf, "%.0f", value);
  else std::snprintf(buf, sizeof buf, "%.10g", value);
  return buf;
}

JsonObject& JsonObject::field(const std::string& key, const std::string& json) {
  if (!body_.empty()) body_ += ", ";
  body_ += json_quote(key) + ": " + json;
  return *this;
}

JsonObject& JsonObject::add(const std::string& key, const std::string& value) { return field(key, json_quote(value)); }
JsonObject& JsonObject::add(const std::string& key, long value) { return field(key, std::to_string(value)); }
JsonObject& JsonObject::add(const std::string& key, bool value) { return field(key, value ? "true" : "false"); }
JsonObject& JsonObject::add(const std::string& key, double value) { return field(key, json_number(value)); }
JsonObject& JsonObject::add_null(const std::string& key) { return field(key, "null"); }
JsonObject& JsonObject::add_raw(const std::string& key, const std::string& json) { return field(key, json); }

JsonObject& JsonObject::add(const std::string& key, const std::optional<double>& value) {
  return value ? add(key, *value) : add_null(key);
}

}  // namespace attn
