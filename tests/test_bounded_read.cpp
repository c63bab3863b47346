// Bounded reading (harness/input_file, the .npy reader, JSONL and config files): inputs are
// read against what their header or cap allows, never until memory runs out.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <functional>
#include <cstring>
#include <fstream>

#include "cli_util.hpp"
#include "errors.hpp"
#include "input_file.hpp"
#include "jsonl_reader.hpp"
#include "npy.hpp"

using namespace attn;

namespace {

std::string npy(const std::string& descr, const std::string& shape, const std::string& data) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + dict.size() + 1) % 64) dict.push_back(' ');
  dict.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(dict.size() & 0xff));
  out.push_back(static_cast<char>(dict.size() >> 8));
  return out + dict + data;
}

std::string floats(std::initializer_list<float> v) {
  return std::string(reinterpret_cast<const char*>(v.begin()), v.size() * sizeof(float));
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

// An anonymous pipe fed by a child process: `head`, then (if endless) zeros until the reader
// goes away. path() names it the way a shell's <(...) does.
class PipeSource {
 public:
  PipeSource(const std::string& head, bool endless) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    child_ = fork();
    REQUIRE(child_ >= 0);
    if (child_ == 0) {
      ::close(fds[0]);
      std::signal(SIGPIPE, SIG_DFL);
      const std::string zeros(1 << 16, '\0');
      bool ok = ::write(fds[1], head.data(), head.size()) == static_cast<ssize_t>(head.size());
      while (ok && endless) ok = ::write(fds[1], zeros.data(), zeros.size()) > 0;
      _exit(0);
    }
    ::close(fds[1]);
    fd_ = fds[0];
  }
  ~PipeSource() {
    ::close(fd_);  // the writer then gets EPIPE and ends
    int status;
    waitpid(child_, &status, 0);
  }
  std::string path() const { return "/dev/fd/" + std::to_string(fd_); }

 private:
  pid_t child_ = -1;
  int fd_ = -1;
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST_CASE("devices and directories are refused as inputs without being read") {
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(error_of([] { read_npy_floats("/dev/zero"); }).find("/dev/zero: is a character device") == 0);
  CHECK(error_of([] { read_npy_ints("/dev/urandom"); }).find("character device") != std::string::npos);
  CHECK(error_of([] { json::read_jsonl("/dev/zero"); }).find("character device") != std::string::npos);
  CHECK(error_of([] { read_file_capped("/dev/urandom", kMaxConfigBytes, "config file"); }).find("character device") !=
        std::string::npos);
  CHECK(error_of([] { read_npy_floats("/tmp"); }).find("is a directory") != std::string::npos);
  CHECK(error_of([] { read_npy_floats("/nonexistent/q.npy"); }).find("cannot open for reading") != std::string::npos);
  CHECK(seconds_since(t0) < 30.0);  // hang guard only: the messages above prove nothing was read
}

TEST_CASE("a pipe is read only as far as the .npy header declares") {
  const std::string good = npy("<f4", "(2,)", floats({1.5f, -2.0f}));
  {
    PipeSource src(good, false);
    CHECK(read_npy_floats(src.path()).data == std::vector<float>{1.5f, -2.0f});
  }
  const auto t0 = std::chrono::steady_clock::now();
  {
    PipeSource src(good, true);  // valid array, then zeros forever
    CHECK(error_of([&] { read_npy_floats(src.path()); }).find("trailing bytes") != std::string::npos);
  }
  {
    PipeSource src(std::string(10, '\0'), true);  // /dev/zero through a pipe
    CHECK(error_of([&] { read_npy_floats(src.path()); }).find("bad magic") != std::string::npos);
  }
  {
    PipeSource src(npy("<f4", "(100000000000,)", ""), true);  // claims 400 GB, sends zeros
    CHECK(error_of([&] { read_npy_floats(src.path()); }).find("GiB") != std::string::npos);
  }
  {
    PipeSource src(npy("<f4", "(4,)", floats({1, 2})), false);  // ends early
    CHECK(error_of([&] { read_npy_floats(src.path()); }).find("truncated data") != std::string::npos);
  }
  CHECK(seconds_since(t0) < 30.0);  // hang guard only (a reader that waits for EOF never returns)
}

TEST_CASE("a regular .npy file is checked against its declared size before its data is read") {
  const std::string path = test::temp_path("bounded_short.npy");
  std::ofstream(path, std::ios::binary) << npy("<f4", "(1000, 1000)", floats({1, 2}));
  CHECK(error_of([&] { read_npy_floats(path); }).find("truncated data: the header claims 1000000 elements") !=
        std::string::npos);
  std::ofstream(path, std::ios::binary) << npy("<i8", "(3, 4)", std::string(96, '\0'));
  CHECK(read_npy_ints(path, 12).data.size() == 12);
  CHECK(error_of([&] { read_npy_ints(path, 11); }).find("more than the 11 allowed") != std::string::npos);
  std::remove(path.c_str());
}

TEST_CASE("read_file_capped refuses files and lines over their caps") {
  const std::string path = test::temp_path("bounded_cap.txt");
  std::ofstream(path, std::ios::binary) << std::string(100, 'x');
  CHECK(read_file_capped(path, 100, "thing").size() == 100);
  CHECK(error_of([&] { read_file_capped(path, 99, "thing"); }) == path + ": thing is over the 99 bytes limit (100 bytes)");
  std::ofstream(path, std::ios::binary) << "short\n" << std::string(50, 'y') << "\nend\n";
  CHECK(read_file_capped(path, 1000, "thing", 50).size() == 61);
  CHECK(error_of([&] { read_file_capped(path, 1000, "thing", 49); }) ==
        path + ":2: line is over the 49 bytes limit (thing)");
  {
    PipeSource src("", true);  // endless zeros, no newline: stopped after the line cap
    CHECK(error_of([&] { read_file_capped(src.path(), kMaxJsonlBytes, "JSONL file", kMaxJsonlLineBytes); })
              .find(":1: line is over the 1 MiB limit") != std::string::npos);
  }
  {
    PipeSource src("", true);
    CHECK(error_of([&] { read_file_capped(src.path(), 1 << 20, "config file"); }).find("over the 1 MiB limit") !=
          std::string::npos);
  }
  std::remove(path.c_str());
}

TEST_CASE("JSONL: a record over 1 MiB is refused with one line") {
  const std::string path = test::temp_path("bounded_long.jsonl");
  std::ofstream(path, std::ios::binary) << "{\"a\": 1}\n{\"b\": \"" << std::string(kMaxJsonlLineBytes, 'z') << "\"}\n";
  const std::string e = error_of([&] { json::read_jsonl(path); });
  CHECK(e.find(path + ":2: line is over the 1 MiB limit") == 0);
  CHECK(e.find('\n') == std::string::npos);
  std::remove(path.c_str());
}

TEST_CASE("sweep --config is capped at 1 MiB") {
  const std::string path = test::temp_path("bounded_big.cfg");
  std::ofstream(path, std::ios::binary) << "seq = 64\n" << std::string(kMaxConfigBytes, '#') << "\n";
  const auto r = test::run_attnbench("sweep --config " + path + " --head-dim 16 --dry-run");
  CHECK(r.exit_code == 2);
  CHECK(r.lines() == 1);
  CHECK(r.output.find("config file is over the 1 MiB limit") != std::string::npos);
  std::remove(path.c_str());
}
