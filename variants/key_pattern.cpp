#include "key_pattern.hpp"

#include <algorithm>

namespace attn {

namespace {
class AllKeys final : public KeyPattern {
 public:
  explicit AllKeys(const Problem& p) : p_(p) {}
  void mark_row(int, long i, uint8_t* row) const override {
    const long last = p_.causal ? std::min<long>(p_.position(i), p_.Nk - 1) : p_.Nk - 1;
    for (long j = 0; j < p_.Nk; ++j) row[j] = j <= last;
  }

 private:
  Problem p_;  // a copy: the pattern may outlive the caller's Problem
};
}  // namespace

std::unique_ptr<KeyPattern> all_keys_pattern(const Problem& p) { return std::make_unique<AllKeys>(p); }

}  // namespace attn
