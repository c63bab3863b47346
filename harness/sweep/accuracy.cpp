#include "accuracy.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace attn {

namespace {
// Below this many reference dot products (rows x keys x B x H) every row is checked.
constexpr double kAllRowsWork = 1 << 24;

std::vector<double> reference_rows(const Variant& v, const Problem& p, const Tensors& t, const std::vector<long>& rows) {
  std::vector<double> ref(static_cast<std::size_t>(p.B) * p.H * rows.size() * p.D);
  v.reference(p, t, rows, ref.data());
  return ref;
}

// Copies rows `rows` of every (b, h) of out [B, H, Nq, D] into [B, H, rows, D] order.
std::vector<double> gather_rows(const Problem& p, const float* out, const std::vector<long>& rows) {
  std::vector<double> got;
  got.reserve(static_cast<std::size_t>(p.B) * p.H * rows.size() * p.D);
  for (long bh = 0; bh < static_cast<long>(p.B) * p.H; ++bh)
    for (long i : rows)
      for (long d = 0; d < p.D; ++d) got.push_back(out[(bh * p.Nq + i) * p.D + d]);
  return got;
}
}  // namespace

// Past this many reference dot products even the sample shrinks (to one row at the least): a
// decode case's 16 rows against a 128k-key cache of 256 heads would take minutes in float64.
constexpr double kMaxSampleWork = 1 << 26;

long accuracy_row_count(const Problem& p, long sample) {
  const double per_row = static_cast<double>(p.Nk) * p.B * p.H;
  if (per_row * p.Nq <= kAllRowsWork) return p.Nq;
  const long affordable = std::max(1L, static_cast<long>(kMaxSampleWork / per_row));
  return std::min<long>({static_cast<long>(p.Nq), sample, affordable});
}

std::vector<long> accuracy_rows(const Problem& p, long sample) {
  std::vector<long> rows(p.Nq);
  for (long i = 0; i < p.Nq; ++i) rows[i] = i;
  const long count = accuracy_row_count(p, sample);
  if (count == p.Nq) return rows;
  std::mt19937_64 rng(0x5eed0f1e1d5ULL + static_cast<unsigned long long>(p.Nq));
  std::shuffle(rows.begin(), rows.end(), rng);
  rows.resize(count);
  std::sort(rows.begin(), rows.end());
  return rows;
}

Accuracy measure_accuracy(const Variant& v, const Problem& p, const Tensors& t, const float* out) {
  Accuracy acc;
  const std::vector<long> rows = accuracy_rows(p);
  acc.rows = static_cast<long>(rows.size()) == p.Nq ? "all" : "sample:" + std::to_string(rows.size());
  const std::vector<double> got = gather_rows(p, out, rows);
  const std::vector<double> ref = reference_rows(v, p, t, rows);
  // An exact variant's reference is exact dense attention already.
  const std::vector<double> dense = v.exact() ? ref : reference_rows(*make_variant(v.dense_spec()), p, t, rows);

  double max_abs = 0, max_ref = 0, diff2 = 0, dense2 = 0;
  double sum_abs = 0, sum_ref = 0, ref_diff2 = 0, dot = 0, got2 = 0, ref2 = 0;
  bool nan = false;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double d = got[i] - ref[i], e = std::abs(d);
    if (std::isnan(got[i])) nan = true;
    max_abs = std::max(max_abs, e);
    max_ref = std::max(max_ref, std::abs(ref[i]));
    sum_abs += e;
    sum_ref += std::abs(ref[i]);
    ref_diff2 += d * d;
    dot += got[i] * ref[i];
    got2 += got[i] * got[i];
    ref2 += ref[i] * ref[i];
    diff2 += (got[i] - dense[i]) * (got[i] - dense[i]);
    dense2 += dense[i] * dense[i];
  }
  if (nan || !std::isfinite(max_abs) || !std::isfinite(got2)) {
    acc.note = "the output holds NaN or Inf";
    return acc;  // every error stays empty (null)
  }
  acc.max_abs_err = max_abs;
  if (!got.empty()) acc.rmse = std::sqrt(ref_diff2 / static_cast<double>(got.size()));
  if (max_ref > 0) {
    acc.rel_err = max_abs / max_ref;
    acc.rel_l1 = sum_abs / sum_ref;
  } else {
    acc.note = "the reference output is all zeros";
  }
  // Two all-zero outputs agree, but their angle is undefined.
  if (got2 > 0 && ref2 > 0) acc.cos_sim = std::clamp(dot / (std::sqrt(got2) * std::sqrt(ref2)), -1.0, 1.0);
  else if (max_ref > 0) acc.note = "the output is all zeros: cos_sim is undefined";
  if (dense2 > 0) acc.approx_err = std::sqrt(diff2 / dense2);
  else acc.note = "the dense reference output is all zeros";
  return acc;
}

}  // namespace attn
