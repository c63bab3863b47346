// attnbench: run, sweep and tabulate CPU attention variants. Every failure the user can cause
// ends here as one line on stderr and a non-zero exit.
#include <boost/program_options/errors.hpp>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "commands.hpp"
#include "errors.hpp"
#include "machine_info.hpp"
#include "printable.hpp"

namespace {

struct Command {
  const char* name;
  int (*run)(int, const char* const*);
  const char* summary;
};

const Command kCommands[] = {
    {"list", attn::cmd_list, "list the variants and their options"},
    {"run", attn::cmd_run, "run one variant on .npy tensors"},
    {"sweep", attn::cmd_sweep, "time and check variants over a grid of shapes (JSONL records, tables)"},
    {"peak", attn::cmd_peak, "measure the FMA peak (GFLOP/s) for a thread count and ISA"},
    {"table", attn::cmd_table, "sweep JSONL as a table: a row per record, or paper-style (--preset lra, flash, decode, dynamic)"},
    {"mask", attn::cmd_mask, "write the (query, key) pairs a variant visits as .npy and PNG"},
    {"compare", attn::cmd_compare, "compare two sweeps case by case: NEW/BASE time, faster/slower/same (exit 1 if slower)"},
    {"schema", attn::cmd_schema, "the JSONL record fields: type, presence, meaning (--format md|json)"},
};

void usage() {
  std::FILE* to = stdout;
  std::fprintf(to, "usage: attnbench COMMAND [options]   (attnbench help COMMAND for its options)\n"
                  "       attnbench --version\n\ncommands:\n");
  for (const auto& c : kCommands) std::fprintf(to, "  %-8s %s\n", c.name, c.summary);
}

const Command* find_command(const std::string& name) {
  for (const auto& c : kCommands)
    if (name == c.name) return &c;
  return nullptr;
}

// `attnbench help COMMAND` is `attnbench COMMAND --help`.
int help(int argc, char** argv) {
  if (argc > 3) {
    std::fprintf(stderr, "attnbench help: error: give one command at most\n");
    return 2;
  }
  if (argc < 3) {
    usage();
    return 0;
  }
  const Command* c = find_command(argv[2]);
  if (!c) {
    std::string names;
    for (const auto& k : kCommands) names += (names.empty() ? "" : ", ") + std::string(k.name);
    std::fprintf(stderr, "attnbench help: error: unknown command '%s' (commands: %s)\n", attn::printable(argv[2]).c_str(),
                 names.c_str());
    return 2;
  }
  const char* args[] = {c->name, "--help", nullptr};
  return c->run(2, args);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "attnbench: error: no command given (try attnbench --help)\n");
    return 2;
  }
  // Over a file-size limit (ulimit -f), write() then fails with EFBIG and the writer reports
  // "File too large" and removes its temporary file, instead of the process dying of SIGXFSZ.
  std::signal(SIGXFSZ, SIG_IGN);
  const std::string name = argv[1];
  if (name == "--help" || name == "-h") {
    usage();
    return 0;
  }
  if (name == "help") return help(argc, argv);
  if (name == "--version" || name == "-V") {
    std::printf("attnbench %s (commit %s)\n", attn::attnbench_version(), attn::machine_info().commit.c_str());
    return 0;
  }
  for (const auto& c : kCommands) {
    if (name != c.name) continue;
    std::string message;
    try {
      return c.run(argc - 1, argv + 1);
    } catch (const attn::UserError& e) {
      message = e.what();
    } catch (const boost::program_options::error& e) {
      message = std::string(e.what()) + " (see attnbench " + c.name + " --help)";
    } catch (const std::bad_alloc&) {
      message = "out of memory";
    } catch (const std::exception& e) {
      message = e.what();
    }
    // Messages quote file names, .npy headers and specs: escaped here, once, they stay one line.
    std::fprintf(stderr, "attnbench %s: error: %s\n", c.name, attn::printable(message).c_str());
    return 2;
  }
  std::fprintf(stderr, "attnbench: error: unknown command '%s' (try attnbench --help)\n", attn::printable(name).c_str());
  return 2;
}
