// Which keys each query row of a variant reads, as a 0/1 row: what `attnbench mask` draws and
// what mass_recall weighs. Per-item lengths are not applied here; callers cut rows and keys.
#pragma once
#include <cstdint>
#include <memory>

#include "problem.hpp"

namespace attn {

class KeyPattern {
 public:
  virtual ~KeyPattern() = default;
  // 1 if every head reads the same keys, H if the pattern differs by head.
  virtual int layout_heads() const { return 1; }
  // row[j] = 1 if query row i of head h reads key j, for every j in [0, Nk).
  virtual void mark_row(int h, long i, uint8_t* row) const = 0;
};

// Every key, or keys j <= position(i) when causal: what dense-like and linear variants read.
std::unique_ptr<KeyPattern> all_keys_pattern(const Problem& p);

}  // namespace attn
