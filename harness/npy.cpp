#include "npy.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "errors.hpp"
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

Header parse_header(const std::string& bytes, const std::string& what) {
  static const char magic[] = "\x93NUMPY";
  if (bytes.size() < 10 || std::memcmp(bytes.data(), magic, 6) != 0) bad(what, "not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(bytes[6]);
  std::size_t len = 0, pos = 0;
  if (major == 1) {
    len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    pos = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) bad(what, "truncated .npy header");
    for (int i = 3; i >= 0; --i) len = (len << 8) | static_cast<unsigned char>(bytes[8 + i]);
    pos = 12;
  } else {
    bad(what, "unsupported .npy version " + std::to_string(major));
  }
  if (len > kMaxHeaderBytes) bad(what, "absurd .npy header length " + std::to_string(len));
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
  if (h.kind != 'f' || (h.item_bytes != 4 && h.item_bytes != 8))
    bad(what, "dtype must be float32 or float64, got kind '" + std::string(1, h.kind) + "' of " +
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

std::string read_file_bytes(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) throw UserError(path + ": is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(path + ": cannot open for reading");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw UserError(path + ": read error");
  return ss.str();
}

namespace {
// Reads a .npy file, but first checks its header against the file's size and the memory
// available, so a header claiming a huge shape fails before anything big is allocated.
// `out_item_bytes` is the size of one parsed element (float or long).
std::string read_npy_file(const std::string& path, std::size_t out_item_bytes,
                          void (*require_dtype)(const Header&, const std::string&)) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) throw UserError(path + ": cannot open for reading (" + std::strerror(errno) + ")");
  if (S_ISDIR(st.st_mode)) throw UserError(path + ": is a directory, not a file");
  if (!S_ISREG(st.st_mode)) return read_file_bytes(path);  // a pipe: its size is unknown in advance
  const std::size_t file_size = static_cast<std::size_t>(st.st_size);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(path + ": cannot open for reading");
  std::string prefix(std::min<std::size_t>(file_size, 12 + kMaxHeaderBytes), '\0');
  in.read(&prefix[0], static_cast<std::streamsize>(prefix.size()));
  if (in.gcount() != static_cast<std::streamsize>(prefix.size())) throw UserError(path + ": read error");
  const Header h = parse_header(prefix, path);
  require_dtype(h, path);
  const std::size_t n = element_count(h, path);
  check_data_size(h, n, file_size - h.data_offset, path);
  require_memory(file_size + n * out_item_bytes, path);
  return read_file_bytes(path);
}
}  // namespace

NpyArray read_npy_floats(const std::string& path) {
  return parse_npy_floats(read_npy_file(path, sizeof(float), require_float_dtype), path);
}
NpyInts read_npy_ints(const std::string& path) { return parse_npy_ints(read_npy_file(path, sizeof(long), require_int_dtype), path); }

void write_file_atomic(const std::string& path, const std::string& bytes) {
  require_writable_path(path);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw UserError(path + ": cannot open for writing");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      throw UserError(path + ": write failed (disk full?)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw UserError(path + ": cannot write (rename failed)");
  }
}

void require_writable_path(const std::string& path) {
  if (path.empty()) throw UserError("output path is empty");
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) throw UserError(path + ": is a directory, not a file");
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw UserError(path + ": cannot write (directory " + dir + " does not exist)");
  if (::access(dir.c_str(), W_OK) != 0) throw UserError(path + ": cannot write (directory " + dir + " is not writable)");
}

namespace {
std::string npy_bytes(const std::vector<long>& shape, const char* descr, const void* data, std::size_t item) {
  std::string dims;
  std::size_t n = 1;
  for (long d : shape) {
    dims += std::to_string(d) + ",";
    n *= static_cast<std::size_t>(d);
  }
  if (shape.size() > 1) dims.pop_back();  // (3,) keeps its comma, (2,3) has none
  std::string dict = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Pad so the data starts on a 64-byte boundary, ending the header with '\n'.
  const std::size_t total = ((10 + dict.size() + 1 + 63) / 64) * 64;
  dict.append(total - 10 - dict.size() - 1, ' ');
  dict.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(dict.size() & 0xff));
  out.push_back(static_cast<char>(dict.size() >> 8));
  out += dict;
  out.append(static_cast<const char*>(data), n * item);
  return out;
}
}  // namespace

void write_npy(const std::string& path, const std::vector<long>& shape, const float* data) {
  write_file_atomic(path, npy_bytes(shape, "<f4", data, sizeof(float)));
}

void write_npy_u8(const std::string& path, const std::vector<long>& shape, const uint8_t* data) {
  write_file_atomic(path, npy_bytes(shape, "|u1", data, 1));
}

}  // namespace attn
