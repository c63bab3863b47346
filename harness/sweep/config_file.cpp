#include "config_file.hpp"

#include <map>
#include <sstream>

#include "errors.hpp"

namespace po = boost::program_options;

namespace attn {

namespace {
std::string trimmed(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}
}  // namespace

void store_config_text(const std::string& text, const std::string& source, const po::options_description& desc,
                       po::variables_map& vm) {
  std::istringstream lines(text);
  std::string line;
  std::map<std::string, int> first_line;  // option -> the line that set it, for repeats
  for (int number = 1; std::getline(lines, line); ++number) {
    const std::string text = trimmed(line);
    if (text.empty() || text[0] == '#') continue;  // cheap: a 1 MiB file of blank lines stays fast
    const std::string where = source + ":" + std::to_string(number) + ": ";
    // Boost would turn "[name]" into a prefix for the lines after it: nothing here uses that.
    if (text[0] == '[') throw UserError(where + "sections ([...]) are not supported");
    try {
      // Boost's own parser on this line alone (comments, spacing, values as --config reads them).
      std::istringstream one(line);
      const po::parsed_options parsed = po::parse_config_file(one, desc);
      for (const po::option& o : parsed.options) {
        const bool repeatable = desc.find(o.string_key, false).semantic()->is_composing();
        const auto [it, first] = first_line.emplace(o.string_key, number);
        if (!first && !repeatable)
          throw UserError(where + "'" + o.string_key + "' is already set on line " + std::to_string(it->second));
      }
      po::store(parsed, vm);
    } catch (const po::error& e) {
      // Boost's what() substitutes "%...%" placeholders in a loop that never ends when the
      // user's text holds one (found by fuzz_config): name the line without it.
      if (line.find('%') != std::string::npos) throw UserError(where + "unrecognised option or invalid value");
      throw UserError(where + e.what());
    }
  }
}

}  // namespace attn
