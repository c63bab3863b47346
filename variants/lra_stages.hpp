// Pieces the LRA low-rank variants (linformer, nystrom, synthesizer) share: the ISA their own
// kernels run on, and a stage that runs exact dense attention on a derived problem (Linformer's
// projected keys, Nystromformer's landmarks) on the flash engine, planned once.
#pragma once
#include <memory>
#include <string>

#include "kernel_table.hpp"
#include "variant.hpp"

namespace attn {

// The widest ISA at most max_isa that this CPU runs.
Isa kernel_isa_up_to(Isa max_isa);
// "f32-<what>-<isa>", the name a record's impl gives a low-rank kernel.
std::string lra_kernel_name(const std::string& what, Isa isa);

// softmax(scale Q K^T) V for a derived problem (non-causal, no lengths, float32 forward) on the
// dense variant's plan: the engine's workspace and block plan are built here, outside the
// timed call.
class DenseStage {
 public:
  DenseStage(const Problem& sub, Isa max_isa);
  void run(const Tensors& in, float* out) { plan_->run(in, {out, nullptr}); }
  std::size_t workspace_bytes() const { return plan_->workspace_bytes(); }
  const std::string& impl() const { return plan_->impl(); }
  // The same workspace without building the plan.
  static std::size_t workspace_bytes(const Problem& sub, Isa max_isa);
  // sub with the flags a stage needs: non-causal, no lengths, float32 forward.
  static Problem derived(const Problem& p, int Nq, int Nk, int Hkv);

 private:
  std::unique_ptr<Variant> dense_;
  std::unique_ptr<Plan> plan_;
};

}  // namespace attn
