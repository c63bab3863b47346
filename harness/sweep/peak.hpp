// The measured peak of this machine for a thread count, ISA and dot-product dtype: the
// denominator of every record's pct_peak.
#pragma once
#include <map>
#include <string>
#include <tuple>

#include "isa.hpp"
#include "problem.hpp"

namespace attn {

// Why `isa` has no peak loop for `dtype` ("" when it has one): f32 is the FMA loop of every ISA;
// bf16 (vdpbf16ps) and int8 (vpdpbusd) need avx512bf16, at amx they are tdpbf16ps and tdpbusd
// (what the AMX prefill runs); f16 computes in float32 (its peak is f32's).
std::string peak_unavailable_reason(Isa isa, DType dtype);

// Runs the ISA's loop for `dtype` (f32: FMAs; bf16: vdpbf16ps; int8: vpdpbusd) on `threads`
// OpenMP threads at once; best of `trials`, in GFLOP/s (2 flops per multiply-add). Each
// thread's rate is taken over its own CPU time (robust on a shared machine). Throws
// std::invalid_argument when peak_unavailable_reason is not empty.
double measure_peak_gflops(int threads, Isa isa, DType dtype = DType::f32, int trials = 10);

// Read bandwidth (GB/s) of `threads` OpenMP threads streaming disjoint slices of one buffer
// much larger than the caches, at once; best of `trials`, over wall-clock time (bandwidth is
// shared: a thread's CPU time would overstate it).
double measure_bandwidth_gbs(int threads, int trials = 5);

// Measures each (threads, ISA, dtype) peak and each thread count's bandwidth once per process.
class PeakCache {
 public:
  double get(int threads, Isa isa, DType dtype = DType::f32);
  double bandwidth(int threads);

 private:
  std::map<std::tuple<int, Isa, DType>, double> cache_;
  std::map<int, double> bandwidth_;
};

}  // namespace attn
