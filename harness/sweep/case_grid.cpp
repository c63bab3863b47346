#include "case_grid.hpp"

#include <climits>
#include <cstdio>
#include <unordered_set>

#include "errors.hpp"
#include "impl_list.hpp"
#include "list_parsing.hpp"
#include "variant.hpp"

namespace attn {

std::uint64_t fnv1a64(const std::string& text) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

namespace {
std::string shape_part(const SweepCase& c, bool with_seq) {
  std::string s = "B=" + std::to_string(c.batch) + "|H=" + std::to_string(c.heads) + "|Hkv=" + std::to_string(c.kv_heads);
  if (with_seq) s += "|Nq=" + std::to_string(c.seq_q) + "|Nk=" + std::to_string(c.seq_kv);
  s += "|D=" + std::to_string(c.head_dim) + "|causal=" + (c.causal ? "1" : "0") + "|threads=" + std::to_string(c.threads) +
       "|isa=" + c.isa_label();
  for (const auto& [key, value] : c.extra) s += "|" + key + "=" + value;
  return s;
}
}  // namespace

std::string SweepCase::canonical() const { return variant + "|" + shape_part(*this, true); }
std::string SweepCase::family() const { return variant + "|" + shape_part(*this, false); }

std::string SweepCase::param(const std::string& key, const std::string& fallback) const {
  for (const auto& [k, value] : extra)
    if (k == key) return value;
  return fallback;
}

std::string SweepCase::case_id() const {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(canonical())));
  return hex;
}

namespace {
// Every combination of the listed parameters, as the extra parameters each case gets.
std::vector<std::vector<std::pair<std::string, std::string>>> choice_extras(const GridSpec& g) {
  std::vector<std::vector<std::pair<std::string, std::string>>> out = {g.extra};
  for (const auto& choice : g.choices) {
    std::vector<std::vector<std::pair<std::string, std::string>>> next;
    for (const auto& base : out)
      for (const auto& value : choice.values) {
        auto e = base;
        if (value != choice.fallback) e.insert(choice.leading ? e.begin() : e.end(), {choice.key, value});
        next.push_back(e);
      }
    out = std::move(next);
  }
  return out;
}
}  // namespace

std::vector<SweepCase> build_grid(const GridSpec& g) {
  std::vector<SweepCase> cases;
  std::unordered_set<std::string> seen;
  const auto extras = choice_extras(g);
  for (const auto& variant : g.variants) {
    const bool any_isa = !make_variant(variant)->uses_isa();
    for (bool causal : g.causal)
      for (Isa isa : any_isa ? std::vector<Isa>{best_isa()} : g.isas)
        for (int threads : g.threads)
          for (int batch : g.batch)
            for (int heads : g.heads)
              for (int kv_heads : g.kv_heads.empty() ? std::vector<int>{heads} : g.kv_heads)
                for (int d : g.head_dim)
                  for (const auto& extra : extras)
                  for (const auto& [nq, nk] : g.seq) {
                    SweepCase c;
                    c.variant = variant;
                    c.batch = batch, c.heads = heads, c.kv_heads = kv_heads;
                    c.seq_q = nq, c.seq_kv = nk;
                    c.head_dim = d, c.causal = causal, c.threads = threads, c.isa = isa, c.any_isa = any_isa;
                    c.extra = extra;
                    DType dtype = DType::f32;
                    parse_dtype(c.param("dtype", "f32"), dtype);
                    c.isa = case_isa(dtype, isa);
                    // --isa avx512,avx512bf16 name one f32 case twice: keep it once.
                    if (!seen.insert(c.canonical()).second) continue;
                    cases.push_back(c);
                  }
  }
  return cases;
}

Shard parse_shard(const std::string& text) {
  // By hand: sscanf's %d wrapped 4294967297 to 1 (and overflow is undefined there).
  const auto slash = text.find('/');
  long index = 0, count = 0;
  if (slash == std::string::npos || !parse_whole_number(text.substr(0, slash), 1, INT_MAX, index) ||
      !parse_whole_number(text.substr(slash + 1), 1, INT_MAX, count) || index > count)
    throw UserError("--shard '" + text + "' must be I/N with 1 <= I <= N <= " + std::to_string(INT_MAX) + ", e.g. 2/3");
  Shard s;
  s.index = static_cast<int>(index), s.count = static_cast<int>(count);
  return s;
}

bool in_shard(const SweepCase& c, const Shard& shard) {
  // Hash the id again so shard membership does not follow the id's own low bits.
  return fnv1a64("shard:" + c.case_id()) % static_cast<std::uint64_t>(shard.count) ==
         static_cast<std::uint64_t>(shard.index - 1);
}

}  // namespace attn
