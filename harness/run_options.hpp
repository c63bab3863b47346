// Option checks shared by run, sweep and peak.
#pragma once

namespace attn {

// Sets the OpenMP thread count; throws UserError unless 1 <= threads <= 1024.
void set_thread_count(int threads);

}  // namespace attn
