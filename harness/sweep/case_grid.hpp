// The sweep's case grid: every combination of the listed variants, shapes, thread counts and
// ISAs, each with a canonical parameter string and a case_id hashed from it (stable across
// runs and shards), plus shard selection.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "isa.hpp"

namespace attn {

struct SweepCase {
  std::string variant;  // canonical spec, e.g. "window:left=128,right=0"
  int batch = 1, heads = 1, kv_heads = 1, seq_q = 1, seq_kv = 1, head_dim = 1;
  bool causal = false;
  int threads = 1;
  Isa isa = Isa::scalar;
  // Variants that run their own code whatever ISA is asked for (naive, dense_blas): one case
  // for every --isa list, written "isa=any" (they run with best_isa() as their cap).
  bool any_isa = false;
  // Further parameters (e.g. inputs=local, lens=...) as key=value. Only non-default values
  // belong here, so adding a parameter keeps every earlier case_id unchanged.
  std::vector<std::pair<std::string, std::string>> extra;
  // The value of an extra parameter, or `fallback` (its default) when absent.
  std::string param(const std::string& key, const std::string& fallback) const;

  // "dense|B=1|H=4|Hkv=4|Nq=1024|Nk=1024|D=64|causal=0|threads=1|isa=avx512[|key=value...]"
  std::string canonical() const;
  // "any" for a variant that ignores the ISA, else the ISA's name.
  const char* isa_label() const { return any_isa ? "any" : isa_name(isa); }
  // 16 hex digits: FNV-1a 64 of canonical().
  std::string case_id() const;
  // The same parameters without the sequence lengths: cases that differ only in N.
  std::string family() const;
};

struct GridSpec {
  std::vector<std::string> variants;  // canonical specs
  std::vector<int> batch, heads, kv_heads /* empty: = heads */, head_dim, threads;
  // (Nq, Nk) pairs: --seq gives Nq = Nk pairs, --seq-q and --seq-kv every combination.
  std::vector<std::pair<int, int>> seq;
  std::vector<bool> causal;
  std::vector<Isa> isas;
  // Non-default further parameters given to every case (SweepCase::extra).
  std::vector<std::pair<std::string, std::string>> extra;
  // Listed parameters (dtype, pass): every combination of values; a value equal to the
  // default is left out of the case's parameters.
  struct Choice {
    std::string key, fallback;
    std::vector<std::string> values;
    bool leading = false;  // goes before `extra` (where it was when it was a single value)
  };
  std::vector<Choice> choices;
};

// Outer to inner: variant, causal, isa, threads, batch, heads, kv_heads, head_dim, seq
// (so a family's cases run in increasing N). A variant that ignores the ISA gets one case per
// shape whatever the ISA list holds.
std::vector<SweepCase> build_grid(const GridSpec& spec);

std::uint64_t fnv1a64(const std::string& text);

struct Shard {
  int index = 1, count = 1;  // 1-based index, as in "2/3"
};
// "I/N" with 1 <= I <= N; throws UserError otherwise.
Shard parse_shard(const std::string& text);
// Disjoint slices whose union is the grid: hash(case_id) % N == I - 1.
bool in_shard(const SweepCase& c, const Shard& shard);

}  // namespace attn
