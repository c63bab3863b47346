// The problem descriptor: everything that decides an attention computation (shapes, flags,
// precision, direction), as ../shared/SPEC.md defines them. It flows unchanged from the command
// line, the C++ API or Python down to the kernels; no layer re-derives it from strings.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace attn {

// Storage precision of Q, K, V (SPEC "Cases: shapes, precision, direction").
enum class DType : uint8_t { f32, bf16, f16, int8 };
// fwd: O (and the log-sum-exp); bwd: dQ, dK, dV given O, the log-sum-exp and dO; fwdbwd: both.
enum class Pass : uint8_t { fwd, bwd, fwdbwd };

const char* dtype_name(DType d);
const char* pass_name(Pass p);
// Return false on an unknown name (callers word the error).
bool parse_dtype(const std::string& name, DType& out);
bool parse_pass(const std::string& name, Pass& out);

struct Problem {
  int B = 1;    // batch
  int H = 1;    // query heads
  int Hkv = 1;  // key/value heads; divides H (query head h reads kv head h / (H / Hkv))
  int Nq = 1;   // queries
  int Nk = 1;   // keys
  int D = 1;    // head size, 1..256
  bool causal = false;
  float scale = 0.0f;     // 0 means the default 1/sqrt(D); see effective_scale()
  std::vector<int> lens;  // empty, or [B] valid lengths (self-attention only)
  DType dtype = DType::f32;
  Pass pass = Pass::fwd;

  float effective_scale() const { return scale != 0.0f ? scale : 1.0f / std::sqrt(static_cast<float>(D)); }
  // Absolute position of query row i (bottom-right alignment when Nq != Nk).
  long position(long i) const { return i + (static_cast<long>(Nk) - Nq); }
  int kv_head(int h) const { return h / (H / Hkv); }
  bool has_lens() const { return !lens.empty(); }
  int valid_q(int b) const { return lens.empty() ? Nq : lens[b]; }
  int valid_k(int b) const { return lens.empty() ? Nk : lens[b]; }
  std::size_t q_elems() const { return static_cast<std::size_t>(B) * H * Nq * D; }
  std::size_t kv_elems() const { return static_cast<std::size_t>(B) * Hkv * Nk * D; }
};

struct KvCache;  // kernels/kv_cache.hpp

struct Tensors {
  const float* q = nullptr;  // [B, H, Nq, D]
  const float* k = nullptr;  // [B, Hkv, Nk, D]
  const float* v = nullptr;  // [B, Hkv, Nk, D]
  // K and V in a narrow dtype (bf16, f16, int8) for the decode path, or null (store_inputs).
  const KvCache* cache = nullptr;
};

// What a forward writes. lse is optional: [B, H, Nq] natural-log log-sum-exp of each row's
// scaled scores over the keys it sees (-inf for a row that sees none or lies past its length).
struct Outputs {
  float* o = nullptr;  // [B, H, Nq, D]
  float* lse = nullptr;
};

// What a backward writes: the gradients of sum(O * dO) with respect to Q, K and V. dK and dV
// of a key/value head sum the contributions of every query head that reads it (GQA/MQA).
// Rows at or past an item's length are zeros.
struct Gradients {
  float* dq = nullptr;  // [B, H, Nq, D]
  float* dk = nullptr;  // [B, Hkv, Nk, D]
  float* dv = nullptr;  // [B, Hkv, Nk, D]
};

}  // namespace attn
