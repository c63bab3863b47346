// The attnbench subcommands; each parses its own options and returns the exit status.
#pragma once

namespace attn {

int cmd_list(int argc, const char* const* argv);
int cmd_run(int argc, const char* const* argv);
int cmd_sweep(int argc, const char* const* argv);
int cmd_peak(int argc, const char* const* argv);
int cmd_table(int argc, const char* const* argv);
int cmd_mask(int argc, const char* const* argv);
int cmd_schema(int argc, const char* const* argv);
int cmd_compare(int argc, const char* const* argv);

class Reporter;
struct SweepOptions;
// cmd_sweep after its options are parsed, for callers that parse them themselves (the Python
// module): each record goes to `reporter` (nullptr: the console report in opt.format on
// stdout). Returns 130 when SIGINT stopped the sweep, else 0.
int run_sweep(const SweepOptions& opt, Reporter* reporter);

}  // namespace attn
