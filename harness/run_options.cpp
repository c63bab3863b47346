#include "run_options.hpp"

#include <omp.h>

#include <string>

#include "errors.hpp"

namespace attn {

void set_thread_count(int threads) {
  if (threads < 1 || threads > 1024) throw UserError("--threads must be between 1 and 1024, got " + std::to_string(threads));
  omp_set_num_threads(threads);
}

}  // namespace attn
