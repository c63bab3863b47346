// attnbench sweep's options, from the command line and an optional config file (the same
// names, one "name = value" per line; see harness/presets/*.cfg).
#pragma once
#include <string>
#include <vector>

#include "case_grid.hpp"
#include "timing.hpp"

namespace attn {

struct SweepOptions {
  GridSpec grid;
  std::string out;             // JSONL to append to ("" = none)
  std::string format = "table";
  std::string filter;          // RE2 pattern over SweepCase::canonical() (case_filter.hpp)
  Shard shard;
  bool resume = false, dry_run = false;
  TimingOptions timing;
  std::string lens;                // --lens as given ("" = every item uses all N rows)
  double max_memory_gib = 0;   // 0: what the machine has available
  double max_case_seconds = 0; // 0: no limit
  bool help = false;
  std::string help_text;
};

// Parses and checks every option; throws UserError (or a program_options error) naming the
// first bad one, before any case runs.
SweepOptions parse_sweep_options(int argc, const char* const* argv);
// The same for `sweep --config FILE` alone, given the file's text (the config fuzz target).
SweepOptions parse_config_text(const std::string& text);

// The file behind --preset NAME; an unknown NAME is a UserError listing the presets.
std::string preset_path(const std::string& name);
// The shipped presets (harness/presets/*.cfg), sorted.
std::vector<std::string> preset_names();

}  // namespace attn
