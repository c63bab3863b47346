#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "cli_util.hpp"
#include "errors.hpp"
#include "npy.hpp"

using namespace attn;

namespace {
std::string header(const std::string& dict, int version = 1) {
  std::string d = dict;
  while ((10 + d.size() + 1) % 64) d.push_back(' ');
  d.push_back('\n');
  std::string out("\x93NUMPY", 6);
  out.push_back(static_cast<char>(version));
  out.push_back(0);
  out.push_back(static_cast<char>(d.size() & 0xff));
  out.push_back(static_cast<char>(d.size() >> 8));
  return out + d;
}
template <class T>
std::string bytes_of(std::initializer_list<T> v) {
  std::string s(v.size() * sizeof(T), '\0');
  std::memcpy(&s[0], v.begin(), s.size());
  return s;
}
}  // namespace

TEST_CASE("npy round trip keeps shape and values for 2-D, 3-D and 4-D") {
  const std::string path = test::temp_path("roundtrip.npy");
  for (const std::vector<long>& shape : {std::vector<long>{3, 5}, {2, 3, 4}, {1, 2, 3, 7}, {9}}) {
    long n = 1;
    for (long d : shape) n *= d;
    std::vector<float> data(n);
    for (long i = 0; i < n; ++i) data[i] = 0.5f * i - 3.0f;
    write_npy(path, shape, data.data());
    const NpyArray a = read_npy_floats(path);
    CHECK(a.shape == shape);
    CHECK(a.data == data);
  }
  std::remove(path.c_str());
}

TEST_CASE("npy reader converts float64 and Fortran order") {
  const auto f64 = header("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }") + bytes_of<double>({1.5, -2.0});
  CHECK(parse_npy_floats(f64, "x").data == std::vector<float>{1.5f, -2.0f});
  // Fortran [[1,2,3],[4,5,6]] is stored column by column.
  const auto fo = header("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }") +
                  bytes_of<float>({1, 4, 2, 5, 3, 6});
  CHECK(parse_npy_floats(fo, "x").data == std::vector<float>{1, 2, 3, 4, 5, 6});
  const auto i64 = header("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }") + bytes_of<int64_t>({1, 7, 3});
  CHECK(parse_npy_ints(i64, "x").data == std::vector<long>{1, 7, 3});
}

TEST_CASE("npy reader refuses malformed files with a UserError") {
  const std::string ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  const auto good = header(ok) + bytes_of<float>({1, 2});
  CHECK_NOTHROW(parse_npy_floats(good, "x"));
  CHECK_THROWS_AS(parse_npy_floats("hello world, not npy", "x"), UserError);
  CHECK_THROWS_AS(parse_npy_floats(good.substr(0, good.size() - 1), "x"), UserError);  // truncated
  CHECK_THROWS_AS(parse_npy_floats(good + "x", "x"), UserError);                        // trailing bytes
  CHECK_THROWS_AS(parse_npy_floats(header("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }") +
                                       bytes_of<int32_t>({1, 2}),
                                   "x"),
                  UserError);
  CHECK_THROWS_AS(parse_npy_floats(header("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }") +
                                       bytes_of<float>({1, 2}),
                                   "x"),
                  UserError);
  CHECK_THROWS_AS(parse_npy_floats(header("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 2), }"), "x"),
                  UserError);
  CHECK_THROWS_AS(parse_npy_floats(header("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"), "x"),
                  UserError);
  std::string absurd("\x93NUMPY\x02\x00\xff\xff\xff\x7f", 12);
  CHECK_THROWS_AS(parse_npy_floats(absurd, "x"), UserError);
  CHECK_THROWS_AS(parse_npy_floats(header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999, 99999999999), }"), "x"),
                  UserError);
}

namespace {
// A half's value from its fields, written independently of the reader (ldexp, not bit moves).
double half_value(uint16_t h) {
  const int exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
  const double sign = (h & 0x8000) ? -1.0 : 1.0;
  if (exponent == 0) return sign * std::ldexp(mantissa, -24);
  return sign * std::ldexp(1024 + mantissa, exponent - 25);
}
std::string f16_file(const std::string& shape, std::initializer_list<uint16_t> bits, const std::string& descr = "<f2") {
  return header("{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }") + bytes_of<uint16_t>(bits);
}
}  // namespace

TEST_CASE("npy reader converts every float16 exactly: normals, subnormals, signed zeros, inf and NaN") {
  // All 65536 bit patterns in one file: each finite half equals its value, exactly (float32 holds
  // every half); infinities and NaN stay so, for run's non-finite check to refuse.
  std::string data(65536 * 2, '\0');
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint16_t bits = static_cast<uint16_t>(h);
    std::memcpy(&data[2 * h], &bits, 2);
  }
  const NpyArray a = parse_npy_floats(header("{'descr': '<f2', 'fortran_order': False, 'shape': (65536,), }") + data, "x");
  REQUIRE(a.data.size() == 65536);
  long finite = 0;
  for (uint32_t h = 0; h < 65536; ++h) {
    CAPTURE(h);
    const float x = a.data[h];
    if (((h >> 10) & 0x1F) == 0x1F) {
      if (h & 0x3FF) CHECK(std::isnan(x));
      else CHECK(x == ((h & 0x8000) ? -INFINITY : INFINITY));
      continue;
    }
    ++finite;
    CHECK(static_cast<double>(x) == half_value(static_cast<uint16_t>(h)));
    CHECK(std::signbit(x) == bool(h & 0x8000));  // -0 stays -0
  }
  CHECK(finite == 65536 - 2 * 1024);
  // Landmarks: the smallest subnormal, the largest subnormal, the smallest normal, the largest half.
  const NpyArray m = parse_npy_floats(f16_file("(5,)", {0x0001, 0x03FF, 0x0400, 0x7BFF, 0xBC00}), "x");
  CHECK(m.data == std::vector<float>{0x1p-24f, 1023 * 0x1p-24f, 0x1p-14f, 65504.0f, -1.0f});
}

TEST_CASE("npy reader: float16 in Fortran order, and big-endian float16 refused") {
  // Fortran [[1,2,3],[4,5,6]] in halves (1 = 0x3C00, 2 = 0x4000, 3 = 0x4200, 4 = 0x4400, 5 = 0x4500, 6 = 0x4600).
  const auto fo = header("{'descr': '<f2', 'fortran_order': True, 'shape': (2, 3), }") +
                  bytes_of<uint16_t>({0x3C00, 0x4400, 0x4000, 0x4500, 0x4200, 0x4600});
  CHECK(parse_npy_floats(fo, "x").data == std::vector<float>{1, 2, 3, 4, 5, 6});
  try {
    parse_npy_floats(f16_file("(2,)", {0x3C00, 0x4000}, ">f2"), "x.npy");
    FAIL("accepted a big-endian float16 file");
  } catch (const UserError& e) {
    CHECK(std::string(e.what()) == "x.npy: big-endian dtype '>f2' is not supported (use '<')");
  }
  CHECK_THROWS_AS(parse_npy_floats(f16_file("(3,)", {0x3C00, 0x4000}), "x"), UserError);  // truncated
}

TEST_CASE("run: float16 .npy inputs give the output of their float32 values; a half inf is refused") {
  // Q, K, V as halves and as the same values in float32: one output, to the bit.
  const long n = 2 * 3 * 9 * 8;
  std::vector<uint16_t> halves(n);
  std::vector<float> floats(n);
  for (long i = 0; i < n; ++i) {
    // Exponent fields 0..15 (|x| < 2; field 0 is subnormal), every mantissa bit in use, both signs.
    const int exponent = static_cast<int>((i * 7) % 16), mantissa = static_cast<int>((i * 613) % 1024);
    halves[i] = static_cast<uint16_t>((i % 3 == 0 ? 0x8000 : 0) | (exponent << 10) | mantissa);
    floats[i] = static_cast<float>(half_value(halves[i]));
  }
  auto write_raw = [](const std::string& name, const std::string& bytes) {
    const std::string path = test::temp_path(name);
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  };
  std::string half_bytes(n * 2, '\0');
  std::memcpy(&half_bytes[0], halves.data(), half_bytes.size());
  const std::string f16 = write_raw("f16_qkv.npy", header("{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3, 9, 8), }") + half_bytes);
  const std::string f32 = test::temp_path("f16_as_f32.npy");
  write_npy(f32, {2, 3, 9, 8}, floats.data());
  const std::string out16 = test::temp_path("f16_out16.npy"), out32 = test::temp_path("f16_out32.npy");
  for (const char* dtype : {"f32", "f16"}) {
    CAPTURE(dtype);
    const std::string common = std::string(" --variant dense --causal --dtype ") + dtype;
    const auto a = test::run_attnbench("run --q " + f16 + " --k " + f16 + " --v " + f16 + " --out " + out16 + common);
    CAPTURE(a.output);
    REQUIRE(a.exit_code == 0);
    REQUIRE(test::run_attnbench("run --q " + f32 + " --k " + f32 + " --v " + f32 + " --out " + out32 + common).exit_code == 0);
    const NpyArray o16 = read_npy_floats(out16), o32 = read_npy_floats(out32);
    CHECK(o16.shape == std::vector<long>{2, 3, 9, 8});
    CHECK(o16.data == o32.data);
  }
  // One +inf half (0x7C00) in K: the same one-line refusal as a float32 inf.
  halves[37] = 0x7C00;
  std::memcpy(&half_bytes[0], halves.data(), half_bytes.size());
  const std::string inf = write_raw("f16_inf.npy", header("{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3, 9, 8), }") + half_bytes);
  const auto refused = test::run_attnbench("run --variant dense --q " + f16 + " --k " + inf + " --v " + f16 + " --out " + out16);
  CHECK(refused.exit_code == 2);
  CHECK(refused.lines() == 1);
  CHECK(refused.output.find("element 37 is infinite") != std::string::npos);
}
