// attnbench list: the registry table, with each variant's options, defaults and help.
#include <cstdio>

#include "commands.hpp"
#include "isa.hpp"
#include "run_options.hpp"
#include "score_mods.hpp"
#include "variant.hpp"

namespace attn {

int cmd_list(int argc, const char* const* argv) {
  boost::program_options::options_description desc("attnbench list (no options)");
  desc.add_options()("help,h", "this help");
  boost::program_options::variables_map vm;
  if (!parse_command_line(argc, argv, desc, vm)) return 0;
  std::printf("variants (spec: NAME[:key=value,...]):\n");
  for (const auto& info : variant_registry()) {
    std::printf("  %-14s %s\n", info.name.c_str(), info.summary.c_str());
    for (const auto& o : info.options)
      std::printf("      %-12s %s%s\n", o.key.c_str(), o.help.c_str(),
                  o.default_value.empty() ? "" : (" (default " + o.default_value + ")").c_str());
  }
  std::string softmax;
  for (const auto& info : variant_registry())
    if (info.score_modifiers) softmax += (softmax.empty() ? "" : ", ") + info.name;
  std::printf("\nscore modifiers, taken by every softmax variant (%s):\n", softmax.c_str());
  for (const auto& o : modifier_option_specs()) std::printf("      %-12s %s\n", o.key.c_str(), o.help.c_str());
  std::printf("\nISAs on this CPU (best first):");
  for (Isa isa : supported_isas()) std::printf(" %s", isa_name(isa));
  std::printf("\n");
  return 0;
}

}  // namespace attn
