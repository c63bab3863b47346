#include "blas_library.hpp"

#include <dlfcn.h>

#include <cstdlib>

#include "attnbench/attnbench.hpp"  // blas_description
#include "errors.hpp"
#include "isa.hpp"

#ifndef ATTN_OPENBLAS_PATH
#define ATTN_OPENBLAS_PATH "libopenblas.so.0"
#endif

namespace attn {

namespace {
BlasLibrary load() {
  if (!std::getenv("OPENBLAS_CORETYPE")) {
    if (cpu_supports(Isa::avx512))
      setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
    else if (cpu_supports(Isa::avx2))
      setenv("OPENBLAS_CORETYPE", "Haswell", 0);
  }
  void* lib = dlopen(ATTN_OPENBLAS_PATH, RTLD_NOW | RTLD_LOCAL);
  if (!lib) lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
  if (!lib) throw UserError(std::string("cannot load OpenBLAS for dense_blas: ") + dlerror());
  BlasLibrary b{};
  b.sgemm = reinterpret_cast<decltype(b.sgemm)>(dlsym(lib, "cblas_sgemm"));
  b.set_num_threads = reinterpret_cast<decltype(b.set_num_threads)>(dlsym(lib, "openblas_set_num_threads"));
  b.get_corename = reinterpret_cast<decltype(b.get_corename)>(dlsym(lib, "openblas_get_corename"));
  if (!b.sgemm || !b.set_num_threads || !b.get_corename)
    throw UserError("the OpenBLAS library found lacks cblas_sgemm or its thread controls");
  return b;
}
}  // namespace

const BlasLibrary& blas_library() {
  static const BlasLibrary lib = load();
  return lib;
}

std::string blas_description() {
  try {
    const char* core = blas_library().get_corename();
    return std::string("OpenBLAS ") + (core ? core : "unknown");
  } catch (const UserError& e) {
    return std::string("not loaded: ") + e.what();
  }
}

}  // namespace attn
