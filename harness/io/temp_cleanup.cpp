#include "temp_cleanup.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstring>
#include <mutex>

namespace attn {

namespace {

// Fixed storage: the handler may only read plain memory and call unlink(), never allocate.
constexpr int kSlots = 16;
struct Slot {
  std::atomic<bool> used{false};
  char path[PATH_MAX];
};
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler needs lock-free flags");
Slot g_slots[kSlots];
std::mutex g_claim;  // slot claiming between threads; never touched by the handler

extern "C" void remove_temp_files_and_die(int sig) {
  for (Slot& s : g_slots)
    if (s.used.load(std::memory_order_acquire)) ::unlink(s.path);
  // SA_RESETHAND restored the default action; the signal is blocked until we return, then kills.
  ::raise(sig);
}

// Takes over `sig` only if nobody else handles or ignores it.
void install(int sig) {
  struct sigaction old{};
  if (::sigaction(sig, nullptr, &old) != 0) return;
  if ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL) return;
  struct sigaction sa{};
  sa.sa_handler = remove_temp_files_and_die;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;
  ::sigaction(sig, &sa, nullptr);
}

}  // namespace

int register_temp_file(const std::string& path) {
  if (path.size() >= PATH_MAX) return -1;
  std::lock_guard<std::mutex> lock(g_claim);
  for (int i = 0; i < kSlots; ++i) {
    Slot& s = g_slots[i];
    if (s.used.load(std::memory_order_relaxed)) continue;
    std::memcpy(s.path, path.c_str(), path.size() + 1);
    s.used.store(true, std::memory_order_release);  // the path is complete before the handler can see it
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) install(sig);
    return i;
  }
  return -1;
}

void unregister_temp_file(int slot) {
  if (slot < 0 || slot >= kSlots) return;
  std::lock_guard<std::mutex> lock(g_claim);
  g_slots[slot].used.store(false, std::memory_order_release);
}

}  // namespace attn
