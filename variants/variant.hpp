// The interface every attention variant implements, and the registry that names them.
// Adding a variant: one file in variants/ and one line in registry.cpp (see README).
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "input_range.hpp"
#include "isa.hpp"
#include "key_pattern.hpp"
#include "options.hpp"
#include "plan.hpp"
#include "problem.hpp"

namespace attn {

// Bounds on a variant's workspace_bytes: floor <= workspace_bytes <= bound.
struct WorkspaceRange {
  double floor = 0, bound = 0;
};

// float64 gradients (see Variant::reference_backward).
struct GradientsF64 {
  double* dq = nullptr;
  double* dk = nullptr;
  double* dv = nullptr;
};

class Variant {
 public:
  virtual ~Variant() = default;
  // The spec this variant was made from, e.g. "window:left=128,right=0".
  const std::string& spec() const { return spec_; }
  const std::string& name() const { return name_; }
  // True if the variant computes exact softmax attention (its approx_err should be ~0).
  virtual bool exact() const = 0;
  // "" if the variant can run this problem, otherwise why not (one line): precision and pass
  // first (implemented()), then the variant's own shape rules (shape_reason()).
  std::string unsupported_reason(const Problem& p) const;
  // False for variants that run their own code whatever ISA is asked for (naive, dense_blas):
  // they form one sweep case whatever --isa lists.
  virtual bool uses_isa() const { return true; }
  // True if an output row depends on other query rows too (nystrom's landmarks average the
  // queries), so a bad value in one query row may reach every row of its (batch, head).
  virtual bool mixes_query_rows() const { return false; }
  // Visible (query, key) pairs summed over batch and heads; density = this / (B H Nq Nk).
  virtual double visible_pairs(const Problem& p) const = 0;
  // Useful flops (SPEC.md): 4 D per visible pair for softmax variants.
  virtual double flops(const Problem& p) const { return 4.0 * p.D * visible_pairs(p); }
  // Extra memory forward() allocates beyond inputs and output.
  virtual std::size_t workspace_bytes(const Problem&, Isa) const = 0;
  // workspace_bytes bounded in O(1) time and memory, so a memory check can turn a problem down
  // before anything that grows with N (a tile plan, a layout) is built. The default asks
  // workspace_bytes itself: a variant whose workspace_bytes is not O(1) overrides this.
  virtual WorkspaceRange workspace_range(const Problem& p, Isa isa) const;
  // Builds the plan for this problem: everything but the computation, on the OpenMP thread
  // count in effect, with the best implementation at most max_isa. Throws UserError when no
  // implementation supports the problem.
  virtual std::unique_ptr<Plan> plan(const Problem& p, Isa max_isa) const = 0;
  // plan() then run() once: out is [B, H, Nq, D]. For one-off calls; benchmarks time run().
  void forward(const Problem& p, const Tensors& t, float* out, Isa isa) const { plan(p, isa)->run(t, {out, nullptr}); }
  // A bound on the largest |float32 intermediate| forward() computes for inputs of these
  // magnitudes (check_input_range refuses inputs above kFloat32SafeBound). The default is the
  // softmax rule: scaled scores (Cauchy-Schwarz) and the P.V sums.
  virtual double intermediate_bound(const Problem& p, const InputMagnitudes& m) const;
  // float64 reference for query rows `rows` of every (b, h): out is [B, H, rows.size(), D].
  virtual void reference(const Problem&, const Tensors&, const std::vector<long>& rows, double* out) const = 0;
  // float64 gradients of sum(O * dO) (dout = dO, [B, H, Nq, D]) for the (batch, key/value head)
  // groups `groups` (each b * Hkv + g, increasing; every group when empty): out.dq is
  // [groups, H / Hkv, Nq, D] (the query heads that read the group's key/value head), out.dk and
  // out.dv are [groups, Nk, D]. With every group these are the [B, H, Nq, D] and [B, Hkv, Nk, D]
  // layouts. dK and dV need every query row, so a group is the smallest unit a caller can sample.
  // The default throws UserError: only variants that implement a backward have one.
  virtual void reference_backward(const Problem& p, const Tensors& t, const float* dout,
                                  const std::vector<long>& groups, const GradientsF64& out) const;
  // Which keys each query row reads (see key_pattern.hpp). Default: every key, causal-aware.
  virtual std::unique_ptr<KeyPattern> key_pattern(const Problem& p) const;
  // Files the spec names and the variant read (block_sparse:layout=FILE.npy): an output must not
  // overwrite them.
  virtual std::vector<std::string> input_files() const { return {}; }
  // The exact attention this variant approximates, as a spec: "dense" with the same score
  // modifiers (accuracy's approx_err compares against it).
  virtual std::string dense_spec() const { return "dense"; }
  // True if weights() gives this variant's attention weights (`run --weights`).
  virtual bool has_weights() const { return false; }
  // Attention weights over the Nk keys of query rows `rows` of heads `heads`, every batch item,
  // computed in float64: out is [B, heads.size(), rows.size(), Nk]. Rows at or past an item's
  // length and keys past it are 0. The default throws UserError (see has_weights()).
  virtual void weights(const Problem& p, const Tensors& t, const std::vector<int>& heads,
                       const std::vector<long>& rows, float* out) const;

  void set_identity(std::string name, std::string spec) {
    name_ = std::move(name);
    spec_ = std::move(spec);
  }

 protected:
  // Which precisions and passes this variant implements (default: float32 forward).
  virtual bool implemented(DType d, Pass pass) const { return d == DType::f32 && pass == Pass::fwd; }
  // The variant's own rules for shapes it cannot run ("" if none).
  virtual std::string shape_reason(const Problem&) const { return ""; }
  // Score modifiers that do not fit the problem (a sinks file of the wrong length).
  virtual std::string modifier_reason(const Problem&) const { return ""; }

 private:
  std::string name_, spec_;
};

struct VariantInfo {
  std::string name;
  std::string summary;
  std::vector<OptionSpec> options;
  std::unique_ptr<Variant> (*make)(const Options&);
  // Softmax variants take the score modifiers too (softcap, alibi, sinks; score_mods.hpp).
  bool score_modifiers = false;
};

// Every variant, in the order `attnbench list` shows them.
const std::vector<VariantInfo>& variant_registry();
const VariantInfo* find_variant(const std::string& name);
// Parses "NAME[:key=value,...]" and builds the variant; throws UserError with one line. The
// variant's spec() is canonical: every option with its value (defaults filled in), sorted by
// name, so equal computations have equal specs ("window" == "window:right=0,left=256").
std::unique_ptr<Variant> make_variant(const std::string& spec);
// Shape and option checks shared by every variant (H % Hkv, D in 1..256, sizes >= 1, lens).
// Throws UserError; then asks the variant itself.
void check_problem(const Variant& v, const Problem& p);

}  // namespace attn
