#include "peak.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <stdexcept>

#include "aligned_buffer.hpp"

#include "kernel_table.hpp"

namespace attn {

namespace {
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// One trial: every thread runs the loop at once; each thread's rate is its flops over its own
// CPU time, so time spent descheduled on a busy machine does not lower the hardware's peak.
// Returns the summed rate (flops/s) and the shortest thread CPU time through *seconds.
double run_once(double (*loop)(long), int threads, long iterations, double* seconds) {
  double rate = 0, shortest = 1e30;
#pragma omp parallel num_threads(threads) reduction(+ : rate) reduction(min : shortest)
  {
    const double start = thread_cpu_seconds();
    const double flops = loop(iterations);
    const double used = std::max(thread_cpu_seconds() - start, 1e-9);
    rate += flops / used;
    shortest = std::min(shortest, used);
  }
  *seconds = shortest;
  return rate;
}
}  // namespace

std::string peak_unavailable_reason(Isa isa, DType dtype) {
  if (dtype == DType::f32) return "";
  if (dtype == DType::f16) return "f16 computes in float32: its peak is --dtype f32";
  const char* what = dtype == DType::bf16 ? "AVX512-BF16 (vdpbf16ps)" : "AVX512-VNNI (vpdpbusd)";
  if (!cpu_supports(Isa::avx512bf16))
    return std::string("this CPU lacks ") + what + " (or the rest of avx512bf16: AVX-512 with BF16 and VNNI)";
  // amx measures the tile instruction its prefill runs (tdpbf16ps / tdpbusd) instead.
  if (isa != Isa::avx512bf16 && isa != Isa::amx)
    return std::string("--isa ") + isa_name(isa) + " has no " + what + "; use --isa avx512bf16, amx or auto";
  return "";
}

double measure_peak_gflops(int threads, Isa isa, DType dtype, int trials) {
  const std::string why = peak_unavailable_reason(isa, dtype);
  if (!why.empty()) throw std::invalid_argument(std::string("no ") + dtype_name(dtype) + " peak: " + why);
  const KernelTable& table = kernel_table(isa);
  double (*loop)(long) = dtype == DType::bf16 ? table.bf16_dot_loop : dtype == DType::int8 ? table.int8_dot_loop : table.fma_loop;
  // Grow the loop until one trial takes ~5 ms of CPU time, so timer resolution is noise.
  long iterations = 1 << 12;
  double seconds = 0, best = run_once(loop, threads, iterations, &seconds);
  while (seconds < 0.005 && iterations < (1L << 34)) {
    iterations *= seconds > 0.0005 ? std::max(2L, static_cast<long>(0.006 / seconds)) : 8;
    best = run_once(loop, threads, iterations, &seconds);
  }
  for (int t = 1; t < trials; ++t) best = std::max(best, run_once(loop, threads, iterations, &seconds));
  return best * 1e-9;
}

double measure_bandwidth_gbs(int threads, int trials) {
  // 512 MiB: far past any cache this tool meets; first touched by the threads that read it.
  constexpr long kFloats = 128L << 20;
  AlignedBuffer buffer(kFloats);
  float* data = buffer.data();
  const long slice = kFloats / threads / 64 * 64;
#pragma omp parallel num_threads(threads)
  {
    const long t = omp_get_thread_num();
    std::fill(data + t * slice, data + (t + 1) * slice, 1.0f);
  }
  const KernelTable& table = kernel_table(best_isa());
  double best = 0;
  for (int trial = 0; trial < trials; ++trial) {
    float sink = 0;
    const auto start = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += table.read_loop(data + omp_get_thread_num() * slice, slice);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    volatile float keep = sink;
    (void)keep;
    best = std::max(best, sizeof(float) * static_cast<double>(slice) * threads / seconds * 1e-9);
  }
  return best;
}

double PeakCache::bandwidth(int threads) {
  auto it = bandwidth_.find(threads);
  if (it == bandwidth_.end()) it = bandwidth_.emplace(threads, measure_bandwidth_gbs(threads)).first;
  return it->second;
}

double PeakCache::get(int threads, Isa isa, DType dtype) {
  const auto key = std::make_tuple(threads, isa, dtype);
  auto it = cache_.find(key);
  if (it == cache_.end()) it = cache_.emplace(key, measure_peak_gflops(threads, isa, dtype)).first;
  return it->second;
}

}  // namespace attn
