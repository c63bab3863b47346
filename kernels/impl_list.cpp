#include "impl_list.hpp"

#include "kernel_table.hpp"
#include "kv_cache.hpp"

namespace attn {

namespace {
// Widest first: the order the lists are searched in.
constexpr Isa kIsaOrder[] = {Isa::avx512, Isa::avx2, Isa::sse2, Isa::scalar};  // avx512bf16 and amx add native entries only

template <DType d>
bool forward_in(const Problem& p) {
  return p.dtype == d && p.pass == Pass::fwd;
}
// Few query rows: a stream over K and V (kernels/decode_attention.hpp).
template <DType d>
bool decode_in(const Problem& p) {
  return forward_in<d>(p) && p.Nq <= kDecodeMaxQ;
}
bool f32_forward(const Problem& p) { return forward_in<DType::f32>(p); }
// Decode on a narrow cache where every task has few rows, whatever the mask's layout.
template <DType d>
bool decode_few_rows(const Problem& p) {
  return decode_in<d>(p) && p.H / p.Hkv * p.Nq <= kDecodeFewRows;
}

// bf16, f16 and int8 prefill runs the float32 kernels on their stored values
// (variants/precision.hpp, "emulated" in the name) behind the native AVX512-BF16 / VNNI kernels
// where the CPU has them. Decode reads a real narrow KV cache (kernels/kv_cache.hpp): the bytes
// it streams are the precision's, on every ISA (widening loads need no extension).
struct Precision {
  DType dtype;
  const char* suffix;
  bool (*decode)(const Problem&);
  bool (*forward)(const Problem&);
  bool kv_cache;
};
constexpr Precision kPrecisions[] = {
    {DType::f32, "", &decode_in<DType::f32>, &forward_in<DType::f32>, false},
    {DType::bf16, "-emulated", &decode_in<DType::bf16>, &forward_in<DType::bf16>, true},
    {DType::f16, "-emulated", &decode_in<DType::f16>, &forward_in<DType::f16>, true},
    {DType::int8, "-emulated", &decode_in<DType::int8>, &forward_in<DType::int8>, true},
};

// The backward: float32 only.
bool f32_backward(const Problem& p) { return p.dtype == DType::f32 && p.pass != Pass::fwd; }
}  // namespace

std::string decode_impl_name(const FlashForwardImpl& impl, const Problem& p, int layout_heads) {
  if (impl.few_rows_name.empty()) return impl.name;
  const DecodeTiles tiles = decode_tiles(p, layout_heads);
  if (!tiles.transposed) return impl.few_rows_name;
  return tiles.few_rows ? impl.name + "+" + impl.few_rows_name : impl.name;
}

Isa case_isa(DType d, Isa isa) {
  return isa >= Isa::avx512bf16 && d != DType::bf16 && d != DType::int8 ? Isa::avx512 : isa;
}

// Built on first use from the ISA tables of the CPUs that can run them (kernel_table refuses
// the others, and an entry this CPU cannot run is never selected anyway).
const std::vector<FlashForwardImpl>& flash_forward_impls() {
  static const std::vector<FlashForwardImpl> list = [] {
    std::vector<FlashForwardImpl> out;
    for (const Precision& pr : kPrecisions) {
      const std::string dtype = dtype_name(pr.dtype);
      // Decode first: it accepts only few query rows, and reads K and V once per GQA group.
      // Where every task has few rows: a bf16 cache's Q.K^T and P.V on AMX tiles; an int8
      // cache's Q.K^T with vpdpbusd (it quantises Q; AMX P.V was slower for int8:
      // kernels/native/amx_decode.hpp).
      const std::string few = "fewrows" + std::to_string(kDecodeFewRows);
      if (pr.dtype == DType::bf16 && cpu_supports(Isa::amx)) {
        const KernelTable& t = kernel_table(Isa::amx);
        const std::string name = "bf16-decode-splitkv-amx-" + few + "-amx";
        out.push_back({name, Isa::amx, &decode_few_rows<DType::bf16>, t.decode_attention_bf16,
                       t.decode_attention_bf16_workspace, true, DType::bf16, name});
      }
      if (pr.dtype == DType::int8 && cpu_supports(Isa::avx512bf16)) {
        const KernelTable& t = kernel_table(Isa::avx512bf16);
        const std::string name = "int8-decode-splitkv-vnni-" + few + "-avx512bf16";
        out.push_back({name, Isa::avx512bf16, &decode_few_rows<DType::int8>, t.decode_attention_int8,
                       t.decode_attention_int8_workspace, true, DType::int8, name});
      }
      for (Isa isa : kIsaOrder) {
        if (!cpu_supports(isa)) continue;
        const KernelTable& t = kernel_table(isa);
        const std::string op = dtype + "-decode-splitkv-", suffix = std::string("-") + isa_name(isa);
        out.push_back({op + t.flash_tile + suffix, isa, pr.decode, t.decode_attention, t.decode_attention_workspace,
                       pr.kv_cache, DType::f32, op + "fewrows" + std::to_string(kDecodeFewRows) + suffix});
      }
      // AMX tiles ahead of the AVX512-BF16 / VNNI products, both ahead of the same arithmetic
      // emulated in float32.
      if ((pr.dtype == DType::bf16 || pr.dtype == DType::int8) && cpu_supports(Isa::amx)) {
        const KernelTable& t = kernel_table(Isa::amx);
        const bool bf16 = pr.dtype == DType::bf16;
        const auto run = bf16 ? t.masked_attention_bf16 : t.masked_attention_int8;
        if (run)
          out.push_back({dtype + "-flash-amx16x64-amx", Isa::amx, pr.forward, run,
                         bf16 ? t.masked_attention_bf16_workspace : t.masked_attention_int8_workspace, false, pr.dtype});
      }
      if (pr.dtype == DType::bf16 && cpu_supports(Isa::avx512bf16)) {
        const KernelTable& t = kernel_table(Isa::avx512bf16);
        out.push_back({"bf16-flash-dpbf16-" + t.flash_tile + "-avx512bf16", Isa::avx512bf16, pr.forward,
                       t.masked_attention_bf16, t.masked_attention_bf16_workspace, false, DType::bf16});
      }
      // Its Q.K^T runs vpdpbusd and it quantises Q and K itself (from the float32 inputs).
      if (pr.dtype == DType::int8 && cpu_supports(Isa::avx512bf16)) {
        const KernelTable& t = kernel_table(Isa::avx512bf16);
        out.push_back({"int8-flash-vnni-" + t.flash_tile + "-avx512bf16", Isa::avx512bf16, pr.forward,
                       t.masked_attention_int8, t.masked_attention_int8_workspace, false, DType::int8});
      }
      for (Isa isa : kIsaOrder) {
        if (!cpu_supports(isa)) continue;
        const KernelTable& t = kernel_table(isa);
        out.push_back({dtype + "-flash" + pr.suffix + "-" + t.flash_tile + "-" + isa_name(isa), isa, pr.forward,
                       t.masked_attention, t.masked_attention_workspace});
      }
    }
    return out;
  }();
  return list;
}

const std::vector<FlashBackwardImpl>& flash_backward_impls() {
  static const std::vector<FlashBackwardImpl> list = [] {
    std::vector<FlashBackwardImpl> out;
    for (Isa isa : kIsaOrder) {
      if (!cpu_supports(isa)) continue;
      const KernelTable& t = kernel_table(isa);
      out.push_back({"f32-flash-bwd-" + t.flash_tile + "-" + isa_name(isa), isa, &f32_backward, t.flash_backward,
                     t.flash_backward_workspace});
    }
    return out;
  }();
  return list;
}

const std::vector<LinearBackwardImpl>& linear_backward_impls() {
  static const std::vector<LinearBackwardImpl> list = [] {
    std::vector<LinearBackwardImpl> out;
    for (Isa isa : kIsaOrder) {
      if (!cpu_supports(isa)) continue;
      const KernelTable& t = kernel_table(isa);
      out.push_back({std::string("f32-linear-bwd-") + isa_name(isa), isa, &f32_backward, t.linear_backward,
                     t.linear_backward_workspace});
    }
    return out;
  }();
  return list;
}

const UkernelLists& ukernels() {
  static const UkernelLists lists = [] {
    UkernelLists all;
    for (Isa isa : kIsaOrder) {
      if (!cpu_supports(isa)) continue;
      const UkernelLists& u = kernel_table(isa).ukernels;
      all.qk.insert(all.qk.end(), u.qk.begin(), u.qk.end());
      all.pv.insert(all.pv.end(), u.pv.begin(), u.pv.end());
      all.exp2.insert(all.exp2.end(), u.exp2.begin(), u.exp2.end());
      all.softcap.insert(all.softcap.end(), u.softcap.begin(), u.softcap.end());
      all.transpose.insert(all.transpose.end(), u.transpose.begin(), u.transpose.end());
      all.tn.insert(all.tn.end(), u.tn.begin(), u.tn.end());
    }
    if (cpu_supports(Isa::avx512bf16)) all.int8_pack = kernel_table(Isa::avx512bf16).ukernels.int8_pack;
    return all;
  }();
  return lists;
}

const std::vector<LinearImpl>& linear_impls() {
  static const std::vector<LinearImpl> list = [] {
    std::vector<LinearImpl> out;
    for (Isa isa : kIsaOrder) {
      if (!cpu_supports(isa)) continue;
      const KernelTable& t = kernel_table(isa);
      out.push_back({std::string("f32-linear-") + isa_name(isa), isa, &f32_forward, t.linear_attention,
                     t.linear_attention_workspace});
      out.push_back({std::string("bf16-linear-emulated-") + isa_name(isa), isa, &forward_in<DType::bf16>,
                     t.linear_attention, t.linear_attention_workspace});
    }
    return out;
  }();
  return list;
}

}  // namespace attn
