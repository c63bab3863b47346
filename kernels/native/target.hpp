// The AVX512-BF16 / AVX512-VNNI kernels are compiled in kernels/isa/avx512bf16.cpp with the
// avx512 flags only, and each function that issues a dot-product instruction carries this
// target attribute. So the engine templates that TU shares with kernels/isa/avx512.cpp
// (softmax, masks, normalisation: the same instantiations) are compiled with identical flags,
// and the linker cannot hand a plain AVX-512 CPU a copy that uses the extensions.
#pragma once
#include <immintrin.h>

#define ATTN_TARGET_BF16 __attribute__((target("avx512bf16,avx512vnni,avx512f,avx512bw,avx512vl,avx512dq")))
