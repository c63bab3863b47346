// Plan, then run. A variant turns a problem into a Plan once, outside any timed region: block
// plans, masks, layouts, random features and every buffer the computation needs. run() is the
// computation alone (the timed call); it allocates nothing when the implementation allows.
#pragma once
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>

#include "aligned_buffer.hpp"
#include "problem.hpp"

namespace attn {

class Plan {
 public:
  Plan(Problem p, std::string impl, int threads) : problem_(std::move(p)), impl_(std::move(impl)), threads_(threads) {}
  virtual ~Plan() = default;
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;

  const Problem& problem() const { return problem_; }
  // The implementation that runs, e.g. "f32-flash-6x4v-avx512" (records' `impl`).
  const std::string& impl() const { return impl_; }
  // OpenMP threads run() uses (the count in effect when the plan was made).
  int threads() const { return threads_; }
  // The multiply instruction run()'s products use (f32: FMAs; bf16: vdpbf16ps; int8: vpdpbusd):
  // whose peak a record's pct_peak is against.
  virtual DType products() const { return DType::f32; }
  // Extra memory beyond inputs and outputs: what the plan holds plus what run() allocates.
  virtual std::size_t workspace_bytes() const = 0;
  // True if run() fills Outputs::lse when it is given.
  virtual bool gives_lse() const { return false; }
  // Computes out.o (and out.lse, see gives_lse) for inputs of the planned problem. A plan runs
  // one call at a time: run() uses the plan's buffers.
  virtual void run(const Tensors& in, const Outputs& out) = 0;

  // True if run() starts with a step that chooses what to compute from the inputs (block_topk's
  // block selection, sinkhorn's sorting): run_selection() runs that step alone, so the harness
  // can time it apart (records' select_ms). It leaves the plan ready for the next run().
  virtual bool selects_per_call() const { return false; }
  virtual void run_selection(const Tensors&) {
    throw std::logic_error("plan " + impl_ + " has no per-call selection step");
  }

  // True if run_backward() works: the variant has a backward and the plan was made for a problem
  // whose pass is bwd or fwdbwd (only then does it hold the backward's buffers).
  virtual bool gives_backward() const { return false; }
  // The backward (SPEC "--pass bwd"): writes g, the gradients of sum(O * dO), given the inputs,
  // the forward's output o [B, H, Nq, D] and log-sum-exp lse [B, H, Nq] (as run() writes them)
  // and dout = dO [B, H, Nq, D]. Throws std::logic_error when !gives_backward().
  virtual void run_backward(const Tensors& in, const float* o, const float* lse, const float* dout,
                            const Gradients& g);
  // Pass fwdbwd: run() with the log-sum-exp into out.lse (required), then run_backward().
  void run_forward_backward(const Tensors& in, const Outputs& out, const float* dout, const Gradients& g) {
    run(in, out);
    run_backward(in, out.o, out.lse, dout, g);
  }

 protected:
  // For plans that learn what runs only once built (decode: the tile its tasks run).
  void set_impl(std::string impl) { impl_ = std::move(impl); }

 private:
  Problem problem_;
  std::string impl_;
  int threads_;
};

inline void Plan::run_backward(const Tensors&, const float*, const float*, const float*, const Gradients&) {
  throw std::logic_error("plan " + impl_ + " has no backward (plan a problem with pass bwd or fwdbwd)");
}

// A plan whose computation is a function of the problem and tensors alone (the baselines).
class FunctionPlan final : public Plan {
 public:
  using Fn = std::function<void(const Problem&, const Tensors&, const Outputs&)>;
  FunctionPlan(Problem p, std::string impl, int threads, std::size_t workspace, Fn fn)
      : Plan(std::move(p), std::move(impl), threads), workspace_(workspace), fn_(std::move(fn)) {}
  std::size_t workspace_bytes() const override { return workspace_; }
  void run(const Tensors& in, const Outputs& out) override { fn_(problem(), in, out); }

 private:
  std::size_t workspace_;
  Fn fn_;
};

}  // namespace attn
