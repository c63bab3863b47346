// What the linear-attention kernels need: tensors, shapes and the feature map.
// Arch-independent; shared by every ISA build. The formulas are in SPEC.md, "Linear attention".
#pragma once

namespace attn {

enum class FeatureMap { elu1, relu, favor };

struct LinearAttentionArgs {
  int B = 1, H = 1, Hkv = 1, Nq = 1, Nk = 1, D = 1;
  bool causal = false;       // sums over j <= i + Nk - Nq (bottom-right aligned)
  float eps = 1e-6f;         // added to the denominator phi(q)^T z
  const float* q = nullptr;  // [B, H, Nq, D]
  const float* k = nullptr;  // [B, Hkv, Nk, D]
  const float* v = nullptr;  // [B, Hkv, Nk, D]
  float* o = nullptr;        // [B, H, Nq, D]
  // Optional [B] valid lengths (Nq == Nk): item b uses its first lens[b] queries and keys; its
  // other rows are written as zeros.
  const int* lens = nullptr;
  FeatureMap map = FeatureMap::elu1;
  // Feature dimension: D for elu1 and relu, the number of random features for favor.
  int M = 1;
  // favor only: the [M, D] random projection (rows w_m). See variants/linear.cpp.
  const float* favor_w = nullptr;
  // favor only: inputs are multiplied by this before projecting (D^-1/4, as Performer does).
  float favor_x_scale = 1.0f;
};

}  // namespace attn

namespace attn {

// The backward of linear attention: gradients of sum(O * dO) given the forward's O.
struct LinearBackwardArgs {
  LinearAttentionArgs fwd;     // fwd.o unused
  const float* o = nullptr;     // the forward's output [B, H, Nq, D]
  const float* dout = nullptr;  // dO [B, H, Nq, D]
  float* dq = nullptr;          // [B, H, Nq, D]
  float* dk = nullptr;          // [B, Hkv, Nk, D], summed over the query heads of a group
  float* dv = nullptr;
};

}  // namespace attn
