// How much memory this machine can give us, so over-large requests fail with a clear line.
#pragma once
#include <cstddef>
#include <string>

namespace attn {

// MemAvailable from /proc/meminfo (or physical pages if that is unreadable).
std::size_t available_memory_bytes();
// Throws UserError naming `what` if `bytes` exceeds what is available.
void require_memory(std::size_t bytes, const std::string& what);
// Peak resident set size of this process so far (VmHWM), in bytes; 0 if unknown.
std::size_t peak_rss_bytes();

}  // namespace attn
