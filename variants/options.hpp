// Variant specs on the command line: NAME[:key=value[,key=value]...].
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace attn {

struct OptionSpec {
  std::string key;
  std::string default_value;  // "" means no default (the option is optional and unset)
  std::string help;
};

struct ParsedSpec {
  std::string name;
  std::vector<std::pair<std::string, std::string>> options;  // in the order given
};

// Splits a spec into its name and key=value pairs; throws UserError on malformed text.
ParsedSpec parse_spec(const std::string& spec);

// A variant's option values, checked against its OptionSpecs: defaults filled in, unknown
// keys and malformed numbers rejected with one-line UserErrors that name the variant.
class Options {
 public:
  Options(const std::string& variant, const std::vector<OptionSpec>& specs,
          const std::vector<std::pair<std::string, std::string>>& given);
  bool has(const std::string& key) const;
  // "key=value,..." for every option the variant has a value for (given, defaulted, or a
  // fallback it asked for with get_int_or), numbers as the variant read them, sorted by key:
  // equal computations get equal text.
  std::string canonical() const;
  std::string get_string(const std::string& key) const;
  long get_int(const std::string& key, long min, long max) const;
  // get_int, or `fallback` (recorded for canonical()) when the option is unset: for defaults
  // that depend on other options.
  long get_int_or(const std::string& key, long fallback, long min, long max) const;
  double get_double(const std::string& key, double min, double max) const;
  // Records a value the variant settled on for an unset option (see canonical()).
  void record(const std::string& key, const std::string& value) const { resolved_[key] = value; }
  // get_string, checked against a list of allowed values.
  std::string get_choice(const std::string& key, const std::vector<std::string>& allowed) const;

 private:
  std::string variant_;
  std::map<std::string, std::string> values_;
  mutable std::map<std::string, std::string> resolved_;  // what the variant read, normalised
};

}  // namespace attn
