// Loading Q, K, V (and optional lengths) from .npy files into one checked Problem.
#pragma once
#include <string>
#include <vector>

#include "problem.hpp"

namespace attn {

struct AttentionInputs {
  Problem problem;
  std::vector<float> q, k, v;
  std::vector<int> lens;
  int q_rank = 4;   // the output keeps Q's rank
  int kv_rank = 4;  // dK and dV keep K's rank
  Tensors tensors() const { return {q.data(), k.data(), v.data()}; }
};

// Q [B,H,Nq,D], K and V [B,Hkv,Nk,D]; 2-D [N,D] and 3-D [H,N,D] inputs get leading 1s.
// lens_path may be empty. Throws UserError naming the file and the mismatch.
AttentionInputs load_attention_inputs(const std::string& q_path, const std::string& k_path, const std::string& v_path,
                                      const std::string& lens_path);

// Output shape with Q's rank.
std::vector<long> output_shape(const AttentionInputs& in);
// K's shape with K's rank (the shape of dK and dV).
std::vector<long> kv_shape(const AttentionInputs& in);

}  // namespace attn
