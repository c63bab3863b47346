// Index selections on the command line: "A:B" (A included, B excluded, as in Python; either
// end may be left out) or a comma list "0,3,7".
#pragma once
#include <string>
#include <vector>

namespace attn {

// Indices in [0, count) selected by `text`; "" selects all. Throws UserError naming `flag`.
std::vector<long> parse_index_list(const std::string& text, long count, const std::string& flag);

}  // namespace attn
