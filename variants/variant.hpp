// The interface every attention variant implements, and the registry that names them.
// Adding a variant: one file in variants/ and one line in registry.cpp (see README).
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "isa.hpp"
#include "key_pattern.hpp"
#include "options.hpp"
#include "problem.hpp"

namespace attn {

class Variant {
 public:
  virtual ~Variant() = default;
  // The spec this variant was made from, e.g. "window:left=128,right=0".
  const std::string& spec() const { return spec_; }
  const std::string& name() const { return name_; }
  // True if the variant computes exact softmax attention (its approx_err should be ~0).
  virtual bool exact() const = 0;
  // "" if the variant can run this problem, otherwise why not (one line).
  virtual std::string unsupported_reason(const Problem&) const { return ""; }
  // Visible (query, key) pairs summed over batch and heads; density = this / (B H Nq Nk).
  virtual double visible_pairs(const Problem& p) const = 0;
  // Useful flops (SPEC.md): 4 D per visible pair for softmax variants.
  virtual double flops(const Problem& p) const { return 4.0 * p.D * visible_pairs(p); }
  // Extra memory forward() allocates beyond inputs and output.
  virtual std::size_t workspace_bytes(const Problem&, Isa) const = 0;
  // out is [B, H, Nq, D]. Uses the OpenMP thread count in effect.
  virtual void forward(const Problem&, const Tensors&, float* out, Isa isa) const = 0;
  // float64 reference for query rows `rows` of every (b, h): out is [B, H, rows.size(), D].
  virtual void reference(const Problem&, const Tensors&, const std::vector<long>& rows, double* out) const = 0;
  // Which keys each query row reads (see key_pattern.hpp). Default: every key, causal-aware.
  virtual std::unique_ptr<KeyPattern> key_pattern(const Problem& p) const;
  // Files the spec names and the variant read (block_sparse:layout=FILE.npy): an output must not
  // overwrite them.
  virtual std::vector<std::string> input_files() const { return {}; }
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

 private:
  std::string name_, spec_;
};

struct VariantInfo {
  std::string name;
  std::string summary;
  std::vector<OptionSpec> options;
  std::unique_ptr<Variant> (*make)(const Options&);
};

// Every variant, in the order `attnbench list` shows them.
const std::vector<VariantInfo>& variant_registry();
const VariantInfo* find_variant(const std::string& name);
// Parses "NAME[:key=value,...]" and builds the variant; throws UserError with one line.
std::unique_ptr<Variant> make_variant(const std::string& spec);
// Shape and option checks shared by every variant (H % Hkv, D in 1..256, sizes >= 1, lens).
// Throws UserError; then asks the variant itself.
void check_problem(const Variant& v, const Problem& p);

}  // namespace attn
