// The one exception type for bad user input: its message is printed as a single line.
#pragma once
#include <stdexcept>
#include <string>

namespace attn {

struct UserError : std::runtime_error {
  explicit UserError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace attn
