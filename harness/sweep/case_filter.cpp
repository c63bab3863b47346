#include "case_filter.hpp"

#include <re2/re2.h>

#include "errors.hpp"

namespace attn {

namespace {
// Compiled programs stay far below this; it bounds what a hostile pattern can allocate.
constexpr int64_t kMaxFilterMemory = 8 << 20;
}  // namespace

CaseFilter::CaseFilter(const std::string& pattern) {
  if (pattern.empty()) return;
  if (pattern.size() > kMaxFilterChars)
    throw UserError("--filter: the pattern has " + std::to_string(pattern.size()) + " characters (at most " +
                    std::to_string(kMaxFilterChars) + ")");
  RE2::Options options;
  options.set_log_errors(false);  // the error goes into our one line, not to stderr
  options.set_max_mem(kMaxFilterMemory);
  re_ = std::make_unique<re2::RE2>(pattern, options);
  if (!re_->ok())
    throw UserError("--filter '" + pattern + "' is not a usable regular expression: " + re_->error());
}

CaseFilter::~CaseFilter() = default;
CaseFilter::CaseFilter(CaseFilter&&) noexcept = default;

bool CaseFilter::matches(const std::string& text) const { return !re_ || RE2::PartialMatch(text, *re_); }

}  // namespace attn
