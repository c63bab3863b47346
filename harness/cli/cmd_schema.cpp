// attnbench schema: the record schema (every JSONL field, its type, presence and meaning), as
// Markdown for people or as JSON for scripts (scripts/plot.py reads it).
#include <boost/program_options.hpp>
#include <cstdio>

#include "commands.hpp"
#include "errors.hpp"
#include "run_options.hpp"
#include "schema.hpp"

namespace po = boost::program_options;

namespace attn {

int cmd_schema(int argc, const char* const* argv) {
  std::string format = "md";
  po::options_description desc("attnbench schema [--format md|json]");
  desc.add_options()("help,h", "this help")
      ("format", po::value(&format)->default_value("md"), "md (a table) or json (one line: schema_version and fields)");
  po::variables_map vm;
  if (!parse_command_line(argc, argv, desc, vm)) return 0;
  if (format == "md") std::fputs(schema_markdown().c_str(), stdout);
  else if (format == "json") std::printf("%s\n", schema_json().c_str());
  else throw UserError("--format '" + format + "' is not one of md, json");
  return 0;
}

}  // namespace attn
