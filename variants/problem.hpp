// One attention problem: shapes, flags and the input tensors, as ../SPEC.md defines them.
#pragma once
#include <cmath>

namespace attn {

struct Problem {
  int B = 1;    // batch
  int H = 1;    // query heads
  int Hkv = 1;  // key/value heads; divides H (query head h reads kv head h / (H / Hkv))
  int Nq = 1;   // queries
  int Nk = 1;   // keys
  int D = 1;    // head size, 1..256
  bool causal = false;
  float scale = 0.0f;          // 0 means the default 1/sqrt(D); see effective_scale()
  const int* lens = nullptr;   // optional [B] valid lengths (self-attention only)

  float effective_scale() const { return scale != 0.0f ? scale : 1.0f / std::sqrt(static_cast<float>(D)); }
  // Absolute position of query row i (bottom-right alignment when Nq != Nk).
  long position(long i) const { return i + (static_cast<long>(Nk) - Nq); }
  int kv_head(int h) const { return h / (H / Hkv); }
  int valid_q(int b) const { return lens ? lens[b] : Nq; }
  int valid_k(int b) const { return lens ? lens[b] : Nk; }
};

struct Tensors {
  const float* q = nullptr;  // [B, H, Nq, D]
  const float* k = nullptr;  // [B, Hkv, Nk, D]
  const float* v = nullptr;  // [B, Hkv, Nk, D]
};

}  // namespace attn
