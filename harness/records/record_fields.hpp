// One record's values, set by schema field name and kept in schema order. Setting a name the
// schema lacks, or with another type, is a bug in the writer: std::logic_error, in every build,
// so no record can leave the schema behind.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema.hpp"

namespace attn {

class RecordFields {
 public:
  RecordFields& set_string(std::string_view name, const std::string& value);
  RecordFields& set_int(std::string_view name, long value);
  RecordFields& set_bool(std::string_view name, bool value);
  RecordFields& set_number(std::string_view name, std::optional<double> value);  // empty or non-finite: null
  RecordFields& set_object(std::string_view name, const std::string& json);
  bool has(std::string_view name) const;

  // One JSON line (no newline), fields in schema order.
  std::string json() const;
  // One cell per csv_columns() entry: numbers as digits, bools as 1/0, absent and null empty,
  // strings quoted when they hold a comma, a quote or a line break (RFC 4180).
  std::vector<std::string> csv_cells() const;

 private:
  struct Value {
    std::string text;  // a string's characters; a number, int or bool as JSON; an object's JSON
    bool null = false;
  };
  Value& slot(std::string_view name, FieldType type);
  std::vector<std::optional<Value>> values_ = std::vector<std::optional<Value>>(std::size(kRecordSchema));
};

// The CSV header: every schema field but objects (machine), in schema order.
std::vector<const Field*> csv_columns();

}  // namespace attn
