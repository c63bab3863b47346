// Plan, then run. A variant turns a problem into a Plan once, outside any timed region: block
// plans, masks, layouts, random features and every buffer the computation needs. run() is the
// computation alone (the timed call); it allocates nothing when the implementation allows.
#pragma once
#include <cstddef>
#include <functional>
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
  // Extra memory beyond inputs and outputs: what the plan holds plus what run() allocates.
  virtual std::size_t workspace_bytes() const = 0;
  // True if run() fills Outputs::lse when it is given.
  virtual bool gives_lse() const { return false; }
  // Computes out.o (and out.lse, see gives_lse) for inputs of the planned problem. A plan runs
  // one call at a time: run() uses the plan's buffers.
  virtual void run(const Tensors& in, const Outputs& out) = 0;

 private:
  Problem problem_;
  std::string impl_;
  int threads_;
};

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
