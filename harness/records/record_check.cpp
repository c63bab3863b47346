#include "record_check.hpp"

#include <cmath>

#include "errors.hpp"
#include "schema.hpp"

namespace attn {

namespace {

bool has_type(const json::Value& v, FieldType type, int version) {
  using K = json::Value::Kind;
  switch (type) {
    case FieldType::String: return v.kind == K::String;
    case FieldType::Int: return v.is_number() && v.number == std::floor(v.number) && std::abs(v.number) < 9.1e15;
    case FieldType::Number: return v.is_number() || v.kind == K::Null;  // null: undefined, see "note"
    case FieldType::Bool: return v.kind == K::Bool || (version == 1 && v.is_number() && (v.number == 0 || v.number == 1));
    case FieldType::Object: return v.kind == K::Object;
  }
  return false;
}

const char* type_phrase(FieldType type) {
  switch (type) {
    case FieldType::String: return "a string";
    case FieldType::Int: return "an integer";
    case FieldType::Number: return "a number or null";
    case FieldType::Bool: return "true or false";
    case FieldType::Object: return "an object";
  }
  return "?";
}

constexpr std::string_view kVersion = schema_field("schema_version").name, kStatus = schema_field("status").name;

}  // namespace

int check_record(const json::Value& record, const std::string& where) {
  int version = 1;
  if (const json::Value* v = record.find(std::string(kVersion))) {
    if (!has_type(*v, FieldType::Int, 2) || v->number < 2)
      throw UserError(where + ": \"schema_version\" must be an integer from 2 up (version 1 records have none)");
    if (v->number > kSchemaVersion)
      throw UserError(where + ": schema_version " + std::to_string(static_cast<long>(v->number)) +
                      " is newer than this attnbench reads (" + std::to_string(kSchemaVersion) + "); update attnbench");
    version = static_cast<int>(v->number);
  }
  for (const auto& [key, value] : record.object) {
    const int i = schema_index(key);
    if (i >= 0 && !has_type(value, kRecordSchema[i].type, version))
      throw UserError(where + ": \"" + key + "\" must be " + type_phrase(kRecordSchema[i].type));
  }
  if (version >= 2) {
    const json::Value* status = record.find(std::string(kStatus));
    const bool ok = status && status->is_string() && status->string == "ok";
    for (const Field& f : kRecordSchema)
      if (f.required && (ok || !f.measured) && !record.find(std::string(f.name)))
        throw UserError(where + ": record has no \"" + std::string(f.name) + "\" field (required by schema version " +
                        std::to_string(version) + ")");
  }
  return version;
}

}  // namespace attn
