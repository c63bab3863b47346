// Sweep config files (--config FILE, --preset NAME): the sweep's long option names, one
// "name = value" per line, '#' comments. Read line by line so that every error names its file
// and line, as a compiler does ("c.cfg:3: unrecognised option 'repetition'").
#pragma once
#include <boost/program_options.hpp>
#include <string>

namespace attn {

// Stores the options of `text` (read from `source`, the name errors show) into vm. An unknown
// option, a bad value, a line without '=', a [section] or a non-repeatable option given twice is a
// UserError "SOURCE:LINE: what". Options already in vm (the command line's) keep their values.
void store_config_text(const std::string& text, const std::string& source,
                       const boost::program_options::options_description& desc,
                       boost::program_options::variables_map& vm);

}  // namespace attn
