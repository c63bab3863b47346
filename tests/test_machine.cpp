// The record's machine object: the original keys plus Google Benchmark-style context (clock,
// caches, load, pinning, library versions), and the narrow-BLAS warning.
#include <doctest/doctest.h>

#include "jsonl_reader.hpp"
#include "machine_info.hpp"
#include "machine_probe.hpp"

using namespace attn;

TEST_CASE("machine object keeps its keys and adds the benchmark context") {
  const json::Value m = json::parse(machine_json(machine_info()));
  for (const char* key : {"cpu", "cores", "compiler", "flags", "commit", "date", "blas", "mhz", "caches", "load_avg",
                          "pinning", "versions"}) {
    CAPTURE(key);
    CHECK(m.find(key) != nullptr);
  }
  CHECK(m.find("caches")->kind == json::Value::Kind::Array);
  CHECK(m.find("load_avg")->kind == json::Value::Kind::Array);
  const json::Value* pinning = m.find("pinning");
  REQUIRE(pinning);
  CHECK(pinning->find("affinity_cpus")->number >= 1);
  CHECK(pinning->find("omp_proc_bind")->is_string());
  const json::Value* versions = m.find("versions");
  REQUIRE(versions);
  CHECK(versions->find("xsimd")->string.find('.') != std::string::npos);
  CHECK(versions->find("attnbench")->string == attnbench_version());
  // On Linux these exist; each cache names its level, type and size.
  for (const auto& c : m.find("caches")->array) {
    CHECK(c.find("level")->number >= 1);
    CHECK(c.find("size_bytes")->number > 0);
  }
  CHECK(m.find("load_avg")->array.size() == 3);
}

TEST_CASE("OpenBLAS core types map to ISA widths; narrower than asked warns") {
  CHECK(blas_core_isa("Haswell") == Isa::avx2);
  CHECK(blas_core_isa("SkylakeX") == Isa::avx512);
  CHECK(blas_core_isa("Prescott") == Isa::sse2);
  CHECK_FALSE(blas_core_isa("NoSuchCore").has_value());
  CHECK(blas_width_warning("OpenBLAS Haswell", Isa::avx512).find("narrower than --isa avx512") != std::string::npos);
  CHECK(blas_width_warning("OpenBLAS Haswell", Isa::avx2).empty());
  CHECK(blas_width_warning("OpenBLAS SkylakeX", Isa::avx512).empty());
  CHECK(blas_width_warning("OpenBLAS SkylakeX", Isa::avx512bf16).empty());  // float32 at these levels is avx512
  CHECK(blas_width_warning("OpenBLAS SkylakeX", Isa::amx).empty());
  CHECK(blas_width_warning("OpenBLAS Haswell", Isa::amx).find("narrower than --isa amx") != std::string::npos);
  CHECK(blas_width_warning("not loaded: x", Isa::avx512).empty());
  CHECK(blas_width_warning("OpenBLAS Mystery", Isa::avx512).empty());
}
