#include "record_fields.hpp"

#include <cmath>

#include "json_write.hpp"

namespace attn {

RecordFields::Value& RecordFields::slot(std::string_view name, FieldType type) {
  const int i = schema_index(name);
  if (i < 0) throw std::logic_error("record field \"" + std::string(name) + "\" is not in the schema (harness/records/schema.hpp)");
  if (kRecordSchema[i].type != type)
    throw std::logic_error("record field \"" + std::string(name) + "\" is a " + field_type_name(kRecordSchema[i].type) +
                           " in the schema, written as a " + field_type_name(type));
  if (values_[i]) throw std::logic_error("record field \"" + std::string(name) + "\" written twice");
  values_[i].emplace();
  return *values_[i];
}

RecordFields& RecordFields::set_string(std::string_view name, const std::string& value) {
  slot(name, FieldType::String).text = value;
  return *this;
}

RecordFields& RecordFields::set_int(std::string_view name, long value) {
  slot(name, FieldType::Int).text = std::to_string(value);
  return *this;
}

RecordFields& RecordFields::set_bool(std::string_view name, bool value) {
  slot(name, FieldType::Bool).text = value ? "true" : "false";
  return *this;
}

RecordFields& RecordFields::set_number(std::string_view name, std::optional<double> value) {
  Value& v = slot(name, FieldType::Number);
  v.null = !value || !std::isfinite(*value);
  if (!v.null) v.text = json_number(*value);
  return *this;
}

RecordFields& RecordFields::set_object(std::string_view name, const std::string& json) {
  slot(name, FieldType::Object).text = json;
  return *this;
}

bool RecordFields::has(std::string_view name) const {
  const int i = schema_index(name);
  return i >= 0 && values_[i].has_value();
}

std::string RecordFields::json() const {
  std::string out;
  for (std::size_t i = 0; i < values_.size(); ++i) {
    if (!values_[i]) continue;
    const Field& f = kRecordSchema[i];
    const Value& v = *values_[i];
    out += (out.empty() ? "{" : ", ") + json_quote(std::string(f.name)) + ": ";
    out += v.null ? "null" : f.type == FieldType::String ? json_quote(v.text) : v.text;
  }
  return out + "}";
}

namespace {
std::string csv_quote(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}
}  // namespace

std::vector<std::string> RecordFields::csv_cells() const {
  std::vector<std::string> cells;
  for (const Field* f : csv_columns()) {
    const auto& v = values_[schema_index(f->name)];
    if (!v || v->null) cells.emplace_back();
    else if (f->type == FieldType::Bool) cells.push_back(v->text == "true" ? "1" : "0");
    else cells.push_back(f->type == FieldType::String ? csv_quote(v->text) : v->text);
  }
  return cells;
}

std::vector<const Field*> csv_columns() {
  std::vector<const Field*> columns;
  for (const Field& f : kRecordSchema)
    if (f.type != FieldType::Object) columns.push_back(&f);
  return columns;
}

}  // namespace attn
