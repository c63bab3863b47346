// The one registry table. Add a variant by writing variants/<name>.cpp, which defines
// `VariantInfo variant_info_<name>()`, and adding X(<name>) to the list below.
#include <cmath>
#include <string>

#include "errors.hpp"
#include "masked_softmax_variant.hpp"
#include "variant.hpp"

#define ATTN_VARIANTS(X) \
  X(dense)               \
  X(naive)               \
  X(linear)              \
  X(dense_blas)          \
  X(window)              \
  X(block_sparse)        \
  X(sink)                \
  X(dilated)             \
  X(block_topk)          \
  X(linformer)           \
  X(nystrom)             \
  X(synthesizer)

namespace attn {

#define ATTN_DECLARE(name) VariantInfo variant_info_##name();
ATTN_VARIANTS(ATTN_DECLARE)
#undef ATTN_DECLARE

const std::vector<VariantInfo>& variant_registry() {
#define ATTN_ENTRY(name) variant_info_##name(),
  static const std::vector<VariantInfo> table = {ATTN_VARIANTS(ATTN_ENTRY)};
#undef ATTN_ENTRY
  return table;
}

const VariantInfo* find_variant(const std::string& name) {
  for (const auto& info : variant_registry())
    if (info.name == name) return &info;
  return nullptr;
}

std::unique_ptr<Variant> make_variant(const std::string& spec) {
  const ParsedSpec parsed = parse_spec(spec);
  const VariantInfo* info = find_variant(parsed.name);
  if (!info) {
    std::string names;
    for (const auto& i : variant_registry()) names += (names.empty() ? "" : ", ") + i.name;
    throw UserError("unknown variant '" + parsed.name + "' (known: " + names + ")");
  }
  std::vector<OptionSpec> specs = info->options;
  if (info->score_modifiers) specs.insert(specs.end(), modifier_option_specs().begin(), modifier_option_specs().end());
  const Options options(info->name, specs, parsed.options);
  auto v = info->make(options);
  if (info->score_modifiers) dynamic_cast<MaskedSoftmaxVariant&>(*v).set_modifiers(read_modifier_options(options));
  const std::string values = options.canonical();
  v->set_identity(parsed.name, values.empty() ? parsed.name : parsed.name + ":" + values);
  return v;
}

void check_problem(const Variant& v, const Problem& p) {
  auto fail = [](const std::string& why) { throw UserError(why); };
  if (p.B < 1 || p.H < 1 || p.Hkv < 1 || p.Nq < 1 || p.Nk < 1) fail("every dimension must be at least 1");
  if (p.D < 1 || p.D > 256) fail("head size D=" + std::to_string(p.D) + " is outside 1..256");
  if (p.H % p.Hkv != 0)
    fail("query heads H=" + std::to_string(p.H) + " is not a multiple of key/value heads Hkv=" + std::to_string(p.Hkv));
  if (p.has_lens()) {
    if (p.Nq != p.Nk) fail("--lens needs self-attention (Nq == Nk), got Nq=" + std::to_string(p.Nq) +
                           " Nk=" + std::to_string(p.Nk));
    if (static_cast<int>(p.lens.size()) != p.B)
      fail("--lens holds " + std::to_string(p.lens.size()) + " lengths for a batch of " + std::to_string(p.B));
    for (int b = 0; b < p.B; ++b)
      if (p.lens[b] < 1 || p.lens[b] > p.Nk)
        fail("length " + std::to_string(p.lens[b]) + " of batch item " + std::to_string(b) + " is outside 1.." +
             std::to_string(p.Nk));
  }
  if (!std::isfinite(p.effective_scale()) || p.effective_scale() == 0.0f)
    fail("scale must be a finite non-zero number");
  const std::string why = v.unsupported_reason(p);
  if (!why.empty()) fail(v.spec() + ": " + why);
}

}  // namespace attn
