// `run --weights`: the attention weights of the selected heads and query rows as .npy
// [B, heads, rows, Nk] float32, checked against a size limit before anything is computed.
#pragma once
#include <string>
#include <vector>

#include "variant.hpp"

namespace attn {

struct WeightsRequest {
  std::string path;         // "" = no weights wanted
  std::string heads, rows;  // index selections (index_list.hpp); "" = all
  double max_mb = 256;      // refuse to write more than this many MiB
};

struct WeightsPlan {
  std::string path;
  std::vector<int> heads;
  std::vector<long> rows;
};

// Checks the request against the variant and problem (weights available, indices in range,
// size under the limit). Throws UserError with one line.
WeightsPlan plan_weights(const Variant& v, const Problem& p, const WeightsRequest& request);
// Computes the weights and writes them atomically.
void write_weights(const Variant& v, const Problem& p, const Tensors& t, const WeightsPlan& plan);

}  // namespace attn
