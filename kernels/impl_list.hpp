// Ordered implementation lists, oneDNN style: for each operation, every implementation this
// build has, best first and the scalar reference last. A caller asks for the first one whose
// ISA it allows, this CPU runs and whose supports() accepts the problem; the chosen name goes
// into the record (`impl`). New paths (decode, bf16, int8, backward) are new entries.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "flash_backward_args.hpp"
#include "isa.hpp"
#include "linear_attention_args.hpp"
#include "masked_attention_args.hpp"

namespace attn {

// The tiled online-softmax forward: the decode path (kernels/decode_attention.hpp) for few
// query rows, then the prefill engine (kernels/masked_attention.hpp).
struct FlashForwardImpl {
  std::string name;  // dtype-op-tile-isa, e.g. "f32-flash-6x4v-avx512"
  Isa isa;
  bool (*supports)(const Problem&);
  void (*run)(const MaskedAttentionArgs&);
  std::size_t (*workspace)(const Problem&, int threads);
  // Reads K and V from the narrow KV cache (Tensors::cache, kernels/kv_cache.hpp) rather than
  // from float32 tensors: only for problems where reads_kv_cache() holds.
  bool kv_cache = false;
  // The multiply instruction its products run (pct_peak's denominator, `attnbench peak --dtype`):
  // f32 FMAs, or bf16 vdpbf16ps / int8 vpdpbusd (tdpbf16ps / tdpbusd at amx) for the native paths. An int8 one quantises Q
  // and K itself from the float32 inputs (the emulated paths get them quantised by the plan).
  DType products = DType::f32;
  // Decode entries: the name of the few-rows tile (kernels/decode_rows.hpp), while `name` says
  // the transposed one; the plan records the tile its tasks run (decode_impl_name).
  std::string few_rows_name = {};
};

// What a plan of `impl` for p records as `impl`: its name, or for a decode entry the tile the
// tasks run (decode_tiles: layout_heads of the plan's mask), both joined by '+' when some run each.
std::string decode_impl_name(const FlashForwardImpl& impl, const Problem& p, int layout_heads);

// The FlashAttention-2 backward (kernels/flash_backward.hpp): dQ, dK, dV from the forward's O
// and log-sum-exp. Problems with pass bwd or fwdbwd; the forward of fwdbwd is a FlashForwardImpl.
struct FlashBackwardImpl {
  std::string name;  // e.g. "f32-flash-bwd-6x4v-avx512"
  Isa isa;
  bool (*supports)(const Problem&);
  void (*run)(const FlashBackwardArgs&);
  std::size_t (*workspace)(const Problem&, int threads);
};

// Linear attention (kernels/linear_attention.hpp).
struct LinearImpl {
  std::string name;  // e.g. "f32-linear-avx512"
  Isa isa;
  bool (*supports)(const Problem&);
  void (*run)(const LinearAttentionArgs&);
  std::size_t (*workspace)(const LinearAttentionArgs&);
};

const std::vector<FlashForwardImpl>& flash_forward_impls();

// The ISA level a case of dtype d asked to run at `isa` really runs at: avx512bf16 and amx add
// only native bf16 and int8 kernels, so an f32 or f16 case there is an avx512 case (and keeps
// the case_id it always had).
Isa case_isa(DType d, Isa isa);
// Non-causal linear attention's backward (kernels/linear_backward.hpp).
struct LinearBackwardImpl {
  std::string name;  // e.g. "f32-linear-bwd-avx512"
  Isa isa;
  bool (*supports)(const Problem&);
  void (*run)(const LinearBackwardArgs&);
  std::size_t (*workspace)(const LinearAttentionArgs&);
};

const std::vector<FlashBackwardImpl>& flash_backward_impls();
const std::vector<LinearBackwardImpl>& linear_backward_impls();
const std::vector<LinearImpl>& linear_impls();

// The first entry of `list` with isa <= max_isa that this CPU runs and that supports p, or
// nullptr when none does.
template <class Impl>
const Impl* select_impl(const std::vector<Impl>& list, const Problem& p, Isa max_isa) {
  for (const Impl& impl : list)
    if (impl.isa <= max_isa && cpu_supports(impl.isa) && impl.supports(p)) return &impl;
  return nullptr;
}

}  // namespace attn
