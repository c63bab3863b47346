// Loading Q, K, V (and optional lengths) from .npy files into one checked Problem.
#pragma once
#include <string>
#include <vector>

#include "large_pages.hpp"
#include "problem.hpp"

namespace attn {

struct AttentionInputs {
  Problem problem;
  LargeVector<float> q, k, v;
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

// The checks above, shared with the Python module (which names its tensors "q", "k", "v").
// Q, K, V shapes as one Problem: 2-D and 3-D get leading 1s; K and V agree, so do the batch and
// head sizes of Q and K; D <= 256; Hkv divides H. Throws UserError naming the tensor.
Problem problem_from_shapes(const std::vector<long>& q, const std::vector<long>& k, const std::vector<long>& v,
                            const std::string& q_name, const std::string& k_name, const std::string& v_name);
// NaN or Inf anywhere: UserError naming the tensor and the element.
void require_finite(const float* data, std::size_t n, const std::string& name);
// Lengths: a 1-D array of B values, each in 1..Nk.
std::vector<int> checked_lens(const std::vector<long>& shape, const std::vector<long>& values, const Problem& p,
                              const std::string& name);

}  // namespace attn
