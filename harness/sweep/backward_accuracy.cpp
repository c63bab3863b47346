#include "backward_accuracy.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace attn {

namespace {
// float64 multiply-adds of the reference: ~6 Nq Nk D per query head (variants/reference_backward.hpp).
// Budget: a few seconds on one core; cap: one group above it is not checked at all.
constexpr double kGroupBudget = 4.0e9;
constexpr double kGroupCap = 3.2e10;

double group_work(const Problem& p) { return 6.0 * (p.H / p.Hkv) * static_cast<double>(p.Nq) * p.Nk * p.D; }

struct Error {
  std::optional<double> rel, max_abs;
};

// Compares got[offsets of each group] with ref (the groups' blocks back to back).
Error compare(const float* got, const std::vector<double>& ref, const std::vector<long>& groups, std::size_t block) {
  double max_abs = 0, max_ref = 0;
  for (std::size_t gi = 0; gi < groups.size(); ++gi)
    for (std::size_t e = 0; e < block; ++e) {
      const double g = got[groups[gi] * block + e], r = ref[gi * block + e];
      if (!std::isfinite(g)) return {};
      max_abs = std::max(max_abs, std::abs(g - r));
      max_ref = std::max(max_ref, std::abs(r));
    }
  Error err;
  err.max_abs = max_abs;
  if (max_ref > 0) err.rel = max_abs / max_ref;
  return err;
}
}  // namespace

std::optional<double> BackwardAccuracy::rel_err() const {
  if (!rel_err_dq || !rel_err_dk || !rel_err_dv) return std::nullopt;
  return std::max({*rel_err_dq, *rel_err_dk, *rel_err_dv});
}

long backward_group_count(const Problem& p) {
  const long all = static_cast<long>(p.B) * p.Hkv;
  const double work = group_work(p);
  if (work > kGroupCap) return 0;
  return std::clamp(static_cast<long>(kGroupBudget / work), 1L, all);
}

std::vector<long> backward_groups(const Problem& p) {
  const long all = static_cast<long>(p.B) * p.Hkv, n = backward_group_count(p);
  std::vector<long> groups(all);
  std::iota(groups.begin(), groups.end(), 0L);
  if (n == all) return groups;
  std::mt19937_64 rng(0x6e0f5eedULL + static_cast<unsigned long long>(all));
  std::shuffle(groups.begin(), groups.end(), rng);
  groups.resize(n);
  std::sort(groups.begin(), groups.end());
  return groups;
}

double backward_accuracy_bytes(const Problem& p) {
  const double n = static_cast<double>(backward_group_count(p)), group = p.H / p.Hkv;
  const double q = group * p.Nq * p.D, kv = static_cast<double>(p.Nk) * p.D;
  // dq, dk, dv of the groups, and the reference's per-head shares of dK and dV.
  return sizeof(double) * n * (q + 2 * kv + 2 * group * kv);
}

BackwardAccuracy measure_backward_accuracy(const Variant& v, const Problem& p, const Tensors& t, const float* dout,
                                           const Gradients& got) {
  BackwardAccuracy acc;
  const std::vector<long> groups = backward_groups(p);
  const long all = static_cast<long>(p.B) * p.Hkv;
  if (groups.empty()) {
    acc.groups = "none";
    acc.note = "one (batch, kv head) group is beyond the float64 gradient reference's budget";
    return acc;
  }
  acc.groups = static_cast<long>(groups.size()) == all ? "all" : "sample:" + std::to_string(groups.size());
  const std::size_t q_block = static_cast<std::size_t>(p.H / p.Hkv) * p.Nq * p.D;
  const std::size_t kv_block = static_cast<std::size_t>(p.Nk) * p.D;
  std::vector<double> dq(groups.size() * q_block), dk(groups.size() * kv_block), dv(dk.size());
  v.reference_backward(p, t, dout, groups, {dq.data(), dk.data(), dv.data()});
  const Error eq = compare(got.dq, dq, groups, q_block), ek = compare(got.dk, dk, groups, kv_block),
              ev = compare(got.dv, dv, groups, kv_block);
  acc.rel_err_dq = eq.rel, acc.rel_err_dk = ek.rel, acc.rel_err_dv = ev.rel;
  if (eq.max_abs && ek.max_abs && ev.max_abs) acc.max_abs_err = std::max({*eq.max_abs, *ek.max_abs, *ev.max_abs});
  if (!eq.max_abs || !ek.max_abs || !ev.max_abs)
    acc.note = "a gradient holds NaN or Inf";
  else if (!acc.rel_err())
    acc.note = "a reference gradient is all zeros";
  return acc;
}

}  // namespace attn
