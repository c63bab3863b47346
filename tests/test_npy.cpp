#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>

#include "errors.hpp"
#include "cli_util.hpp"
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
