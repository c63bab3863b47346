// Comma-separated option lists such as "--seq 256,1k,4k" (k = 1024, m = 1024 * 1024).
#pragma once
#include <string>
#include <vector>

namespace attn {

// Splits "a,b,c" into its items; empty items are an error naming `option`.
std::vector<std::string> split_list(const std::string& text, const std::string& option);
// Each item an integer in [min, max], optionally suffixed k or m; throws UserError naming `option`.
std::vector<int> parse_int_list(const std::string& text, const std::string& option, long min, long max);
// Plain decimal digits only (no sign, space or suffix) with a value in [min, max]; anything else,
// including a value too large for any integer type, is refused rather than wrapped.
bool parse_whole_number(const std::string& text, long min, long max, long& value);

}  // namespace attn
