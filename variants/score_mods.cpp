#include "score_mods.hpp"

#include <cmath>

#include "errors.hpp"
#include "npy_read.hpp"

namespace attn {

std::string ModifierOptions::shape_reason(const Problem& p) const {
  if (!sinks.empty() && static_cast<long>(sinks.size()) != p.H)
    return "sinks=" + sinks_path + " holds " + std::to_string(sinks.size()) + " logits, the problem has H=" +
           std::to_string(p.H) + " heads";
  return "";
}

const std::vector<OptionSpec>& modifier_option_specs() {
  static const std::vector<OptionSpec> specs = {
      {"softcap", "", "logit soft-capping: s = C tanh(s / C) after scaling (Gemma); C > 0"},
      {"alibi", "", "1: add m_h (j - p) to the scores, m_h = 2^(-8 (h + 1) / H) (ALiBi)"},
      {"sinks", "", "float .npy [H]: a learned sink logit per head that joins the softmax denominator"},
  };
  return specs;
}

ModifierOptions read_modifier_options(const Options& o) {
  ModifierOptions m;
  if (o.has("softcap")) m.softcap = static_cast<float>(o.get_double("softcap", 1e-3, 1e6));
  if (o.has("alibi")) m.alibi = o.get_int("alibi", 0, 1) == 1;
  if (o.has("sinks")) {
    m.sinks_path = o.get_string("sinks");
    const NpyArray a = read_npy_floats(m.sinks_path);
    if (a.shape.size() != 1) throw UserError("sinks=" + m.sinks_path + " must be a 1-D float array [H]");
    for (float x : a.data)
      if (!std::isfinite(x) || std::abs(x) > 1e4f)
        throw UserError("sinks=" + m.sinks_path + " holds a logit that is not finite or beyond 1e4");
    m.sinks = a.data;
  }
  return m;
}

ProblemModifiers::ProblemModifiers(const ModifierOptions& m, const Problem& p) {
  view_.softcap = m.softcap;
  if (m.alibi) {
    for (int h = 0; h < p.H; ++h) slopes_.push_back(std::exp2(-8.0f * static_cast<float>(h + 1) / p.H));
    view_.alibi = slopes_.data();
  }
  if (!m.sinks.empty()) {
    sinks_ = m.sinks;
    view_.sinks = sinks_.data();
  }
}

}  // namespace attn
