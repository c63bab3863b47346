#include "run_options.hpp"

#include <omp.h>

#include <iostream>
#include <string>

#include "errors.hpp"

namespace attn {

void set_thread_count(int threads) {
  if (threads < 1 || threads > 1024) throw UserError("--threads must be between 1 and 1024, got " + std::to_string(threads));
  omp_set_num_threads(threads);
}

bool parse_command_line(int argc, const char* const* argv, const boost::program_options::options_description& desc,
                        boost::program_options::variables_map& vm) {
  namespace po = boost::program_options;
  po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return false;
  }
  po::notify(vm);
  return true;
}

}  // namespace attn
