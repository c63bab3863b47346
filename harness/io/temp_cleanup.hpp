// Temporary files that must not outlive an interrupted process: while one is registered,
// SIGINT, SIGTERM and SIGHUP unlink every registered file, then end the process by the same
// signal as they would have. Only signals still at their default action are taken over, so
// the sweep's own SIGINT handling (finish the case, exit 130) is left as it is.
#pragma once
#include <string>

namespace attn {

// Registers `path` for removal on those signals (installing the handler if needed). Returns a
// slot for unregister_temp_file, or -1 if every slot is taken (the file is then unprotected).
int register_temp_file(const std::string& path);
// Forgets slot (no-op for -1); the file itself is left alone.
void unregister_temp_file(int slot);

}  // namespace attn
