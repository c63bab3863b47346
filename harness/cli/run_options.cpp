#include "run_options.hpp"

#include <omp.h>

#include <iostream>
#include <string>
#include <vector>

#include "errors.hpp"

namespace attn {

void set_thread_count(int threads) {
  if (threads < 1 || threads > 1024) throw UserError("--threads must be between 1 and 1024, got " + std::to_string(threads));
  omp_set_num_threads(threads);
}

void store_command_line(int argc, const char* const* argv, const boost::program_options::options_description& desc,
                        boost::program_options::variables_map& vm) {
  namespace po = boost::program_options;
  const char* const kStray = "attnbench-stray-arguments";  // hidden: not in --help
  po::options_description all;
  all.add(desc).add_options()(kStray, po::value<std::vector<std::string>>());
  po::positional_options_description positional;
  positional.add(kStray, -1);
  po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
  if (vm.count(kStray))
    throw UserError("unexpected argument '" + vm[kStray].as<std::vector<std::string>>().front() +
                    "' (options start with --)");
}

bool parse_command_line(int argc, const char* const* argv, const boost::program_options::options_description& desc,
                        boost::program_options::variables_map& vm) {
  namespace po = boost::program_options;
  store_command_line(argc, argv, desc, vm);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return false;
  }
  po::notify(vm);
  return true;
}

bool parse_command_line(int argc, const char* const* argv, const boost::program_options::options_description& desc,
                        boost::program_options::variables_map& vm, std::vector<std::string>& files) {
  namespace po = boost::program_options;
  po::options_description all;
  all.add(desc).add_options()("attnbench-files", po::value(&files));  // hidden: not in --help
  po::positional_options_description positional;
  positional.add("attnbench-files", -1);
  po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return false;
  }
  po::notify(vm);
  return true;
}

}  // namespace attn
