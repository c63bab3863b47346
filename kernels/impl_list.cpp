#include "impl_list.hpp"

#include "kernel_table.hpp"

namespace attn {

namespace {
// Widest first: the order the lists are searched in.
constexpr Isa kIsaOrder[] = {Isa::avx512, Isa::avx2, Isa::sse2, Isa::scalar};

bool f32_forward(const Problem& p) { return p.dtype == DType::f32 && p.pass == Pass::fwd; }
// Few query rows: a stream over K and V (kernels/decode_attention.hpp).
bool f32_backward(const Problem& p) { return p.dtype == DType::f32 && p.pass != Pass::fwd; }
// Causal linear attention has no backward yet (its prefix state would need a reverse scan).
bool f32_linear_backward(const Problem& p) { return f32_backward(p) && !p.causal; }
bool f32_decode(const Problem& p) { return f32_forward(p) && p.Nq <= kDecodeMaxQ; }
}  // namespace

// Built on first use from the ISA tables of the CPUs that can run them (kernel_table refuses
// the others, and an entry this CPU cannot run is never selected anyway).
const std::vector<FlashForwardImpl>& flash_forward_impls() {
  static const std::vector<FlashForwardImpl> list = [] {
    std::vector<FlashForwardImpl> out;
    // Decode first: it accepts only few query rows, and reads K and V once per GQA group.
    for (Isa isa : kIsaOrder) {
      if (!cpu_supports(isa)) continue;
      const KernelTable& t = kernel_table(isa);
      out.push_back({"f32-decode-splitkv-" + t.flash_tile + "-" + isa_name(isa), isa, &f32_decode, t.decode_attention,
                     t.decode_attention_workspace});
    }
    for (Isa isa : kIsaOrder) {
      if (!cpu_supports(isa)) continue;
      const KernelTable& t = kernel_table(isa);
      out.push_back({"f32-flash-" + t.flash_tile + "-" + isa_name(isa), isa, &f32_forward, t.masked_attention,
                     t.masked_attention_workspace});
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
      out.push_back({std::string("f32-linear-bwd-") + isa_name(isa), isa, &f32_linear_backward, t.linear_backward,
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
      all.transpose.insert(all.transpose.end(), u.transpose.begin(), u.transpose.end());
    }
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
    }
    return out;
  }();
  return list;
}

}  // namespace attn
