#include "attention_inputs.hpp"

#include <climits>
#include <cmath>

#include "errors.hpp"
#include "npy.hpp"

namespace attn {

namespace {
struct Shape4 {
  long b, h, n, d;
};

Shape4 as_4d(const std::vector<long>& s, const std::string& path) {
  if (s.size() < 2 || s.size() > 4)
    throw UserError(path + ": expected a 2-D [N,D], 3-D [H,N,D] or 4-D [B,H,N,D] array, got " +
                    std::to_string(s.size()) + "-D");
  std::vector<long> full(4 - s.size(), 1);
  full.insert(full.end(), s.begin(), s.end());
  for (long x : full)
    if (x > INT_MAX) throw UserError(path + ": dimension " + std::to_string(x) + " is too large");
  return {full[0], full[1], full[2], full[3]};
}

std::string dims(const Shape4& s) {
  return "[" + std::to_string(s.b) + "," + std::to_string(s.h) + "," + std::to_string(s.n) + "," +
         std::to_string(s.d) + "]";
}
}  // namespace

// NaN or Inf in an input makes every output row that sees it meaningless: refuse up front.
void require_finite(const float* data, std::size_t n, const std::string& name) {
  for (std::size_t i = 0; i < n; ++i)
    if (!std::isfinite(data[i]))
      throw UserError(name + ": element " + std::to_string(i) + " is " + (std::isnan(data[i]) ? "NaN" : "infinite") +
                      " (inputs must be finite)");
}

Problem problem_from_shapes(const std::vector<long>& q, const std::vector<long>& k, const std::vector<long>& v,
                            const std::string& q_name, const std::string& k_name, const std::string& v_name) {
  const Shape4 sq = as_4d(q, q_name), sk = as_4d(k, k_name), sv = as_4d(v, v_name);
  if (sk.b != sv.b || sk.h != sv.h || sk.n != sv.n || sk.d != sv.d)
    throw UserError("K " + dims(sk) + " and V " + dims(sv) + " must have the same shape");
  if (sq.b != sk.b) throw UserError("batch of Q " + dims(sq) + " differs from K " + dims(sk));
  if (sq.d != sk.d) throw UserError("head size of Q " + dims(sq) + " differs from K " + dims(sk));
  if (sq.d > 256) throw UserError("head size D=" + std::to_string(sq.d) + " is outside 1..256");
  if (sq.h % sk.h != 0)
    throw UserError("Q heads " + std::to_string(sq.h) + " is not a multiple of K/V heads " + std::to_string(sk.h));
  Problem p;
  p.B = static_cast<int>(sq.b), p.H = static_cast<int>(sq.h), p.Hkv = static_cast<int>(sk.h);
  p.Nq = static_cast<int>(sq.n), p.Nk = static_cast<int>(sk.n), p.D = static_cast<int>(sq.d);
  return p;
}

std::vector<int> checked_lens(const std::vector<long>& shape, const std::vector<long>& values, const Problem& p,
                              const std::string& name) {
  if (shape.size() != 1 || shape[0] != p.B)
    throw UserError(name + ": lengths must be a 1-D array of B=" + std::to_string(p.B) + " integers");
  std::vector<int> lens;
  for (long x : values) {
    if (x < 1 || x > p.Nk)
      throw UserError(name + ": length " + std::to_string(x) + " is outside 1.." + std::to_string(p.Nk));
    lens.push_back(static_cast<int>(x));
  }
  return lens;
}

AttentionInputs load_attention_inputs(const std::string& q_path, const std::string& k_path, const std::string& v_path,
                                      const std::string& lens_path) {
  AttentionInputs in;
  NpyArray q = read_npy_floats(q_path), k = read_npy_floats(k_path), v = read_npy_floats(v_path);
  require_finite(q.data.data(), q.data.size(), q_path);
  require_finite(k.data.data(), k.data.size(), k_path);
  require_finite(v.data.data(), v.data.size(), v_path);
  in.problem = problem_from_shapes(q.shape, k.shape, v.shape, q_path, k_path, v_path);
  Problem& p = in.problem;
  in.q_rank = static_cast<int>(q.shape.size());
  in.kv_rank = static_cast<int>(k.shape.size());
  // Copied into huge-page-advised storage (kernels/large_pages.hpp), as the sweep's inputs are.
  in.q.assign(q.data.begin(), q.data.end());
  in.k.assign(k.data.begin(), k.data.end());
  in.v.assign(v.data.begin(), v.data.end());
  if (!lens_path.empty()) {
    const NpyInts lens = read_npy_ints(lens_path);
    in.lens = checked_lens(lens.shape, lens.data, p, lens_path);
    p.lens = in.lens;
  }
  return in;
}

std::vector<long> output_shape(const AttentionInputs& in) {
  const Problem& p = in.problem;
  std::vector<long> full = {p.B, p.H, p.Nq, p.D};
  return std::vector<long>(full.end() - in.q_rank, full.end());
}

std::vector<long> kv_shape(const AttentionInputs& in) {
  const Problem& p = in.problem;
  std::vector<long> full = {p.B, p.Hkv, p.Nk, p.D};
  return std::vector<long>(full.end() - in.kv_rank, full.end());
}

}  // namespace attn
