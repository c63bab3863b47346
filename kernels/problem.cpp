#include "problem.hpp"

namespace attn {

const char* dtype_name(DType d) {
  switch (d) {
    case DType::f32: return "f32";
    case DType::bf16: return "bf16";
    case DType::f16: return "f16";
    case DType::int8: return "int8";
  }
  return "?";
}

const char* pass_name(Pass p) {
  switch (p) {
    case Pass::fwd: return "fwd";
    case Pass::bwd: return "bwd";
    case Pass::fwdbwd: return "fwdbwd";
  }
  return "?";
}

bool parse_dtype(const std::string& name, DType& out) {
  for (DType d : {DType::f32, DType::bf16, DType::f16, DType::int8})
    if (name == dtype_name(d)) return out = d, true;
  return false;
}

bool parse_pass(const std::string& name, Pass& out) {
  for (Pass p : {Pass::fwd, Pass::bwd, Pass::fwdbwd})
    if (name == pass_name(p)) return out = p, true;
  return false;
}

}  // namespace attn
