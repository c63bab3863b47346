// Reading records against the schema: types of the fields a record carries, the version, and
// (from version 2 on) every required field. Shared by every reader of sweep JSONL.
#pragma once
#include <string>

#include "jsonl_reader.hpp"

namespace attn {

// Throws UserError "WHERE: problem" for a record the schema refuses; returns its schema
// version (1 for records written before schema_version existed). Fields the schema does not
// know are left alone (SPEC: more are welcome). Version 1 records are checked for types only,
// and may write bools as 0/1.
int check_record(const json::Value& record, const std::string& where);

}  // namespace attn
