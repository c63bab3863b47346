// Score modifiers every softmax variant accepts (SPEC "More variants"): softcap=C, alibi=1 and
// sinks=FILE.npy, read from the spec once; per problem they become the per-head arrays the
// kernels apply in registers (kernels' ScoreModifiers) and the references apply in float64.
#pragma once
#include <string>
#include <vector>

#include "masked_attention_args.hpp"
#include "options.hpp"
#include "problem.hpp"

namespace attn {

struct ModifierOptions {
  float softcap = 0.0f;      // C > 0, or 0: off
  bool alibi = false;
  std::vector<float> sinks;  // [H] logits from sinks=FILE.npy, or empty
  std::string sinks_path;
  bool any() const { return softcap != 0.0f || alibi || !sinks.empty(); }
  // "" if these modifiers fit p (the sinks file has H entries), else why not.
  std::string shape_reason(const Problem& p) const;
};

// The option specs (key, default "", help), appended to a softmax variant's own.
const std::vector<OptionSpec>& modifier_option_specs();
// Reads softcap / alibi / sinks from the variant's options (the sinks file is read now).
ModifierOptions read_modifier_options(const Options& o);

// The per-head values of the modifiers for one problem: ALiBi slopes m_h = 2^(-8 (h + 1) / H).
class ProblemModifiers {
 public:
  ProblemModifiers(const ModifierOptions& m, const Problem& p);
  // Pointers into this object (null members where a modifier is off).
  const ScoreModifiers& view() const { return view_; }

 private:
  std::vector<float> slopes_, sinks_;
  ScoreModifiers view_;
};

}  // namespace attn
