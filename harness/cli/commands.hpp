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

}  // namespace attn
