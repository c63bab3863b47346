#include "npy_read.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>
#include <sstream>

#include "errors.hpp"
#include "input_file.hpp"
#include "memory.hpp"

namespace attn {

namespace {

// Real headers are a few hundred bytes; anything past this is hostile or corrupt.
constexpr std::size_t kMaxHeaderBytes = 1u << 20;

struct Header {
  char kind = 0;        // 'f', 'i', 'u', 'b'
  int item_bytes = 0;
  bool fortran = false;
  std::vector<long> shape;
  std::size_t data_offset = 0;
};

[[noreturn]] void bad(const std::string& what, const std::string& why) { throw UserError(what + ": " + why); }

// Finds `'key':` in the header dict and returns the text after it.
std::string value_after(const std::string& dict, const std::string& key, const std::string& what) {
  const std::string pat = "'" + key + "'";
  const auto at = dict.find(pat);
  if (at == std::string::npos) bad(what, "not a valid .npy file (header has no " + pat + ")");
  auto colon = dict.find(':', at + pat.size());
  if (colon == std::string::npos) bad(what, "not a valid .npy file (malformed header)");
  return dict.substr(colon + 1);
}

// value_after() reads the first occurrence of a key, so a second 'shape' (or any repeated key)
// would be ignored silently: refuse it. Keys are the quoted strings followed by ':' directly
// inside the dict's braces (not inside a tuple or a structured descr).
void refuse_duplicate_keys(const std::string& dict, const std::string& what) {
  std::set<std::string> keys;
  int depth = 0;
  for (std::size_t i = 0; i < dict.size(); ++i) {
    const char c = dict[i];
    if (c == '\'' || c == '"') {
      const auto end = dict.find(c, i + 1);
      if (end == std::string::npos) return;  // unbalanced quotes: the field parsers refuse it
      const auto after = dict.find_first_not_of(" \t", end + 1);
      if (depth == 1 && after != std::string::npos && dict[after] == ':' &&
          !keys.insert(dict.substr(i + 1, end - i - 1)).second)
        bad(what, "not a valid .npy file (key '" + dict.substr(i + 1, end - i - 1) + "' appears twice in the header)");
      i = end;
    } else if (c == '{' || c == '(' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ')' || c == ']') {
      --depth;
    }
  }
}

// Where the header dict starts and how long it is, from the first 10 (v1) or 12 bytes.
struct Extent {
  std::size_t pos = 0, len = 0;
};

Extent header_extent(const std::string& bytes, const std::string& what) {
  static const char magic[] = "\x93NUMPY";
  if (bytes.empty()) bad(what, "not a .npy file (the file is empty)");
  if (bytes.size() < 10 || std::memcmp(bytes.data(), magic, 6) != 0) bad(what, "not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(bytes[6]);
  Extent e;
  if (major == 1) {
    e.len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    e.pos = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) bad(what, "truncated .npy header");
    for (int i = 3; i >= 0; --i) e.len = (e.len << 8) | static_cast<unsigned char>(bytes[8 + i]);
    e.pos = 12;
  } else {
    bad(what, "unsupported .npy version " + std::to_string(major));
  }
  if (e.len > kMaxHeaderBytes) bad(what, "absurd .npy header length " + std::to_string(e.len));
  return e;
}

Header parse_header(const std::string& bytes, const std::string& what) {
  const Extent e = header_extent(bytes, what);
  const std::size_t pos = e.pos, len = e.len;
  if (bytes.size() < pos + len) bad(what, "truncated .npy header");
  const std::string dict = bytes.substr(pos, len);
  refuse_duplicate_keys(dict, what);
  Header h;
  h.data_offset = pos + len;

  std::string descr = value_after(dict, "descr", what);
  const auto first = descr.find_first_not_of(' ');
  if (first != std::string::npos && descr[first] == '[') bad(what, "structured dtypes are not supported");
  const auto q0 = first != std::string::npos && descr[first] == '\'' ? first : std::string::npos;
  const auto q1 = q0 == std::string::npos ? q0 : descr.find('\'', q0 + 1);
  if (q1 == std::string::npos) bad(what, "malformed dtype in .npy header");
  descr = descr.substr(q0 + 1, q1 - q0 - 1);
  if (descr.size() < 3) bad(what, "unsupported dtype '" + descr + "'");
  const char order = descr[0];
  h.kind = descr[1];
  const std::string width = descr.substr(2);
  if (width.empty() || width.size() > 2 || width.find_first_not_of("0123456789") != std::string::npos)
    bad(what, "unsupported dtype '" + descr + "'");
  h.item_bytes = std::stoi(width);
  if (order == '>' && h.item_bytes > 1) bad(what, "big-endian dtype '" + descr + "' is not supported (use '<')");
  if (order != '<' && order != '|' && order != '=' && order != '>') bad(what, "unsupported dtype '" + descr + "'");

  const std::string fo = value_after(dict, "fortran_order", what);
  const auto fo_start = fo.find_first_not_of(' ');
  if (fo_start != std::string::npos && fo.compare(fo_start, 4, "True") == 0) h.fortran = true;
  else if (fo_start == std::string::npos || fo.compare(fo_start, 5, "False") != 0) bad(what, "malformed fortran_order");

  const std::string sh = value_after(dict, "shape", what);
  const auto open = sh.find('('), close = sh.find(')');
  if (open == std::string::npos || close == std::string::npos || close < open) bad(what, "malformed shape in .npy header");
  std::stringstream items(sh.substr(open + 1, close - open - 1));
  std::string item;
  while (std::getline(items, item, ',')) {
    const auto b = item.find_first_not_of(' ');
    if (b == std::string::npos) continue;
    const auto e = item.find_last_not_of(' ');
    const std::string digits = item.substr(b, e - b + 1);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
      bad(what, "malformed shape in .npy header");
    if (digits.size() > 12) bad(what, "dimension " + digits + " in the .npy header is absurdly large");
    h.shape.push_back(std::stol(digits));
  }
  return h;
}

void require_float_dtype(const Header& h, const std::string& what) {
  if (h.kind != 'f' || (h.item_bytes != 2 && h.item_bytes != 4 && h.item_bytes != 8))
    bad(what, "dtype must be float16, float32 or float64, got kind '" + std::string(1, h.kind) + "' of " +
                  std::to_string(h.item_bytes) + " bytes");
}

void require_int_dtype(const Header& h, const std::string& what) {
  if ((h.kind != 'i' && h.kind != 'u' && h.kind != 'b') ||
      (h.item_bytes != 1 && h.item_bytes != 2 && h.item_bytes != 4 && h.item_bytes != 8))
    bad(what, "dtype must be an integer or bool type");
}

std::size_t element_count(const Header& h, const std::string& what) {
  std::size_t n = 1;
  for (long d : h.shape) {
    if (d == 0) bad(what, "array has a zero-sized dimension");
    if (n > std::numeric_limits<std::size_t>::max() / static_cast<std::size_t>(d)) bad(what, "array is too large");
    n *= static_cast<std::size_t>(d);
  }
  return n;
}

// Index of C-order element `c` in a Fortran-order buffer of the same shape.
std::size_t fortran_index(std::size_t c, const std::vector<long>& shape) {
  std::size_t f = 0, stride = 1;
  std::vector<std::size_t> idx(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    idx[d] = c % shape[d];
    c /= shape[d];
  }
  for (std::size_t d = 0; d < shape.size(); ++d) {
    f += idx[d] * stride;
    stride *= shape[d];
  }
  return f;
}

// Checks that exactly n items follow the header, before anything is allocated for them.
// Divides instead of multiplying: a shape claiming terabytes must not overflow into a small size.
void check_data_size(const Header& h, std::size_t n, std::size_t data_bytes, const std::string& what) {
  const std::size_t item = static_cast<std::size_t>(h.item_bytes);
  if (item == 0) bad(what, "unsupported dtype with zero-byte items");
  if (n > data_bytes / item) {
    char msg[160];
    std::snprintf(msg, sizeof msg, "truncated data: the header claims %zu elements (%.3g bytes) but the file holds %zu bytes",
                  n, static_cast<double>(n) * static_cast<double>(item), data_bytes);
    bad(what, msg);
  }
  if (data_bytes != n * item) bad(what, "file has trailing bytes after the array data");
}

template <class Out, class Convert>
std::vector<Out> read_elements(const std::string& bytes, const Header& h, std::size_t n, const std::string& what,
                               Convert convert) {
  check_data_size(h, n, bytes.size() - h.data_offset, what);
  std::vector<Out> out(n);
  const char* base = bytes.data() + h.data_offset;
  for (std::size_t c = 0; c < n; ++c) {
    const std::size_t src = h.fortran ? fortran_index(c, h.shape) : c;
    out[c] = convert(base + src * h.item_bytes);
  }
  return out;
}

template <class T>
T load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// IEEE half to float32, by bits (clang 14, the fuzz build's compiler, has no x86 _Float16). Every
// half is exactly a float32; infinities and NaN stay what they are, for the caller's
// non-finite check to refuse.
float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16, exponent = (h >> 10) & 0x1Fu, mantissa = h & 0x3FFu;
  uint32_t bits;
  if (exponent == 0x1F) {
    bits = sign | 0x7F800000u | (mantissa << 13);  // inf, or NaN with its payload
  } else if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, a normal float32 (or zero), exact.
    const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
    std::memcpy(&bits, &magnitude, 4);
    bits |= sign;
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

}  // namespace

long NpyArray::size() const {
  long n = 1;
  for (long d : shape) n *= d;
  return n;
}

NpyArray parse_npy_floats(const std::string& bytes, const std::string& what) {
  const Header h = parse_header(bytes, what);
  require_float_dtype(h, what);
  const std::size_t n = element_count(h, what);
  NpyArray a;
  a.shape = h.shape;
  if (h.item_bytes == 4)
    a.data = read_elements<float>(bytes, h, n, what, [](const char* p) { return load<float>(p); });
  else if (h.item_bytes == 2)
    a.data = read_elements<float>(bytes, h, n, what, [](const char* p) { return half_to_float(load<uint16_t>(p)); });
  else
    a.data = read_elements<float>(bytes, h, n, what, [](const char* p) { return static_cast<float>(load<double>(p)); });
  return a;
}

NpyInts parse_npy_ints(const std::string& bytes, const std::string& what) {
  const Header h = parse_header(bytes, what);
  require_int_dtype(h, what);
  const std::size_t n = element_count(h, what);
  NpyInts a;
  a.shape = h.shape;
  const bool is_signed = h.kind == 'i';
  a.data = read_elements<long>(bytes, h, n, what, [&](const char* p) -> long {
    switch (h.item_bytes) {
      case 1: return is_signed ? load<int8_t>(p) : load<uint8_t>(p);
      case 2: return is_signed ? load<int16_t>(p) : load<uint16_t>(p);
      case 4: return is_signed ? load<int32_t>(p) : static_cast<long>(load<uint32_t>(p));
      default: return static_cast<long>(load<int64_t>(p));
    }
  });
  return a;
}

namespace {
// Reads a .npy file in bounded steps: the fixed prefix, the header (at most kMaxHeaderBytes),
// then exactly the data its shape declares plus one byte to catch trailing data. A regular
// file is checked against its size, and the claim against available memory, before the data
// is read; a pipe can never make us read more than the header promised.
std::string read_npy_file(const std::string& path, std::size_t out_item_bytes,
                          void (*require_dtype)(const Header&, const std::string&), std::size_t max_elements) {
  InputFile in(path, ".npy input");
  std::string bytes;
  in.read_up_to(12, bytes);
  const Extent e = header_extent(bytes, path);
  const std::size_t data_offset = e.pos + e.len;
  if (in.regular() && in.size() < data_offset) bad(path, "truncated .npy header");
  if (bytes.size() < data_offset) in.read_up_to(data_offset - bytes.size(), bytes);
  const Header h = parse_header(bytes, path);
  require_dtype(h, path);
  const std::size_t n = element_count(h, path);
  if (n > max_elements)
    bad(path, "the array has " + std::to_string(n) + " elements, more than the " + std::to_string(max_elements) +
                  " allowed here");
  const std::size_t item = static_cast<std::size_t>(h.item_bytes);
  if (n > (std::numeric_limits<std::size_t>::max() - data_offset - 1) / (item + out_item_bytes))
    bad(path, "array is too large");
  if (in.regular()) check_data_size(h, n, in.size() - data_offset, path);
  require_memory(data_offset + n * (item + out_item_bytes), path);
  const std::size_t have = bytes.size() - data_offset;  // data already read with the prefix
  if (n * item + 1 > have) in.read_up_to(n * item + 1 - have, bytes);
  return bytes;  // the parser reports truncated or trailing data
}
}  // namespace

NpyArray read_npy_floats(const std::string& path) {
  return parse_npy_floats(read_npy_file(path, sizeof(float), require_float_dtype, kNoLimit), path);
}
NpyInts read_npy_ints(const std::string& path, std::size_t max_elements) {
  return parse_npy_ints(read_npy_file(path, sizeof(long), require_int_dtype, max_elements), path);
}

}  // namespace attn
