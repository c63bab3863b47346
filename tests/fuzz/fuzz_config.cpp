// libFuzzer target: the sweep config-file reader (`sweep --config FILE`) on arbitrary text. Any
// input must either parse or throw what main() prints as one line (attn::UserError, a
// program_options error); anything else (another exception, a sanitizer report, a hang) is a bug.
#include <boost/program_options/errors.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

#include "case_filter.hpp"
#include "errors.hpp"
#include "sweep_options.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const attn::SweepOptions o = attn::parse_config_text(text);
    // An accepted filter must match without trouble.
    attn::CaseFilter(o.filter).matches("dense|B=1|H=1|Hkv=1|Nq=64|Nk=64|D=16|causal=0|threads=1|isa=avx2");
  } catch (const attn::UserError&) {
  } catch (const boost::program_options::error&) {
  }
  return 0;
}
