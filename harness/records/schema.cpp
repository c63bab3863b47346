#include "schema.hpp"

#include "json_write.hpp"

namespace attn {

const char* field_type_name(FieldType type) {
  switch (type) {
    case FieldType::String: return "string";
    case FieldType::Int: return "int";
    case FieldType::Number: return "number";
    case FieldType::Bool: return "bool";
    case FieldType::Object: return "object";
  }
  return "?";
}

namespace {
// Meanings hold formulas such as sum|O - O_ref|: a bare '|' would split a Markdown cell.
std::string md_cell(std::string_view text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string presence(const Field& f) {
  if (!f.required) return "optional";
  return f.measured ? "required (status ok)" : "required";
}
}  // namespace

std::string schema_markdown() {
  std::string out = "Record schema version " + std::to_string(kSchemaVersion) +
                    ": one JSON object per line, fields in this order. A number may be null when undefined "
                    "(`note` says why); records with status skipped carry no measurements.\n\n"
                    "| field | type | presence | meaning |\n| --- | --- | --- | --- |\n";
  for (const Field& f : kRecordSchema)
    out += "| `" + std::string(f.name) + "` | " + field_type_name(f.type) + " | " + presence(f) + " | " +
           md_cell(f.meaning) + " |\n";
  return out;
}

std::string schema_json() {
  std::string fields;
  for (const Field& f : kRecordSchema) {
    JsonObject o;
    o.add("name", std::string(f.name)).add("type", field_type_name(f.type)).add("required", f.required);
    o.add("measured", f.measured).add("meaning", std::string(f.meaning));
    fields += (fields.empty() ? "" : ", ") + o.str();
  }
  JsonObject top;
  top.add("schema_version", static_cast<long>(kSchemaVersion)).add_raw("fields", "[" + fields + "]");
  return top.str();
}

}  // namespace attn
