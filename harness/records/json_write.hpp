// The small JSON writer behind records and the machine object: one object on one line.
#pragma once
#include <optional>
#include <string>

namespace attn {

// Builds one JSON object on a single line. Non-finite numbers become null (JSON has no NaN).
class JsonObject {
 public:
  JsonObject& add(const std::string& key, const std::string& value);
  JsonObject& add(const std::string& key, const char* value) { return add(key, std::string(value)); }
  JsonObject& add(const std::string& key, double value);
  JsonObject& add(const std::string& key, long value);
  JsonObject& add(const std::string& key, bool value);
  JsonObject& add(const std::string& key, const std::optional<double>& value);
  JsonObject& add_null(const std::string& key);
  JsonObject& add_raw(const std::string& key, const std::string& json);  // a nested value
  std::string str() const { return "{" + body_ + "}"; }

 private:
  JsonObject& field(const std::string& key, const std::string& json);
  std::string body_;
};

std::string json_quote(const std::string& text);
// A finite number as JSON (and CSV) text: integral values below 2^53 exactly ("4194304", not
// "4.194304e+06"), others to 10 significant digits; "null" if not finite.
std::string json_number(double value);

}  // namespace attn
