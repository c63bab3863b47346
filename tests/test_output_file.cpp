// Output targets (harness/output_file): what may be replaced, what is refused untouched, the
// atomic writer's error paths and its temporary file's removal on SIGINT/SIGTERM.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <set>
#include <sstream>

#include "cli_util.hpp"
#include "errors.hpp"
#include "npy.hpp"
#include "output_file.hpp"

using namespace attn;

namespace {

// A fresh empty directory per test.
std::string fresh_dir(const std::string& name) {
  const std::string dir = test::temp_path("outfile_" + name);
  std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str());
  return dir;
}

std::set<std::string> listing(const std::string& dir) {
  std::set<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (const dirent* e = readdir(d))
      if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) names.insert(e->d_name);
    closedir(d);
  }
  return names;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void put(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::string refusal(const std::string& path) {
  try {
    check_output_target(path);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

mode_t lmode(const std::string& path) {
  struct stat st{};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode;
}

}  // namespace

TEST_CASE("output targets that are not regular files are refused and left untouched") {
  const std::string dir = fresh_dir("kinds");
  const std::string fifo = dir + "/fifo", sock = dir + "/sock";
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  const int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::bind(s, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  ::close(s);

  CHECK(refusal("/dev/null").find("/dev/null: is a character device") != std::string::npos);
  CHECK(refusal(fifo).find("is a FIFO") != std::string::npos);
  CHECK(refusal(sock).find("is a socket") != std::string::npos);
  CHECK(refusal(dir).find("is a directory") != std::string::npos);
  CHECK(refusal(dir + "/").find("names a directory") != std::string::npos);
  CHECK(refusal(dir + "/missing/o.npy").find("does not exist") != std::string::npos);
  CHECK(refusal("").find("empty") != std::string::npos);
  // The writer refuses the same way, before creating anything (not tried on the real /dev/null:
  // a regression would replace it for the whole machine).
  const float x[2] = {1, 2};
  CHECK_THROWS_AS(write_npy(fifo, {2}, x), UserError);
  CHECK_THROWS_AS(write_npy(sock, {2}, x), UserError);
  CHECK(S_ISFIFO(lmode(fifo)));
  CHECK(S_ISSOCK(lmode(sock)));
  CHECK(S_ISCHR(lmode("/dev/null")));
  CHECK(listing(dir) == std::set<std::string>{"fifo", "sock"});
}

TEST_CASE("a read-only output file is refused, even for root") {
  const std::string dir = fresh_dir("readonly");
  const std::string ro = dir + "/ro.npy";
  put(ro, "keep me");
  REQUIRE(::chmod(ro.c_str(), 0444) == 0);
  CHECK(refusal(ro).find("read-only (mode 0444)") != std::string::npos);
  CHECK_THROWS_AS(write_file_atomic(ro, "new"), UserError);
  CHECK(slurp(ro) == "keep me");
  CHECK(listing(dir) == std::set<std::string>{"ro.npy"});
}

TEST_CASE("a symbolic link is written through; a dangling one is refused") {
  const std::string dir = fresh_dir("symlink");
  const std::string target = dir + "/real.npy", link = dir + "/link.npy";
  put(target, "old");
  REQUIRE(::symlink("real.npy", link.c_str()) == 0);
  CHECK(check_output_target(link).find("/real.npy") != std::string::npos);
  write_file_atomic(link, "new");
  CHECK(S_ISLNK(lmode(link)));  // still a link...
  CHECK(slurp(target) == "new");  // ...to the replaced file
  CHECK(listing(dir) == std::set<std::string>{"link.npy", "real.npy"});

  const std::string dangling = dir + "/dangling.npy";
  REQUIRE(::symlink("nowhere/x.npy", dangling.c_str()) == 0);
  CHECK(refusal(dangling).find("dangling symbolic link") != std::string::npos);
  const std::string to_dev = dir + "/to_null";
  REQUIRE(::symlink("/dev/null", to_dev.c_str()) == 0);
  CHECK(refusal(to_dev).find("-> /dev/null): is a character device") != std::string::npos);
  CHECK(S_ISLNK(lmode(to_dev)));
}

TEST_CASE("an output may be neither an input nor another output") {
  const std::string dir = fresh_dir("same");
  const std::string in = dir + "/in.npy", hard = dir + "/hard.npy";
  put(in, "input");
  REQUIRE(::link(in.c_str(), hard.c_str()) == 0);
  auto refused = [](const std::vector<NamedPath>& outs, const std::vector<NamedPath>& ins) {
    try {
      check_outputs(outs, ins);
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(refused({{"--out", in}}, {{"--q", in}}).find("is the input --q") != std::string::npos);
  CHECK(refused({{"--out", hard}}, {{"--q", in}}).find("is the input --q") != std::string::npos);  // same inode
  // Not there yet: the same resolved directory and name is the same file.
  CHECK(refused({{"--out", dir + "/o.npy"}, {"--weights", dir + "/./o.npy"}}, {}).find("is the same file as --out") !=
        std::string::npos);
  CHECK(refused({{"--out", dir + "/o.npy"}, {"--weights", dir + "/w.npy"}}, {{"--q", in}, {"--lens", ""}}).empty());
  CHECK(refused({{"--out", dir + "/o.npy"}, {"--png", ""}}, {}).empty());  // an option not given
  CHECK(slurp(in) == "input");
}

TEST_CASE("the writer keeps the target's mode and removes an uncommitted temporary file") {
  const std::string dir = fresh_dir("mode");
  const std::string path = dir + "/o.bin";
  put(path, "old");
  REQUIRE(::chmod(path.c_str(), 0600) == 0);
  write_file_atomic(path, "new");
  CHECK((lmode(path) & 0777) == 0600);
  CHECK(slurp(path) == "new");
  {
    AtomicFile f(path);
    f.write("unfinished");
    CHECK(listing(dir).size() == 2);  // the target and the temporary file beside it
  }  // destroyed without commit(), as when an exception unwinds
  CHECK(listing(dir) == std::set<std::string>{"o.bin"});
  CHECK(slurp(path) == "new");
}

TEST_CASE("a failed write reports its own cause") {
  // /dev/full: every write fails with ENOSPC. The message carries that errno, not a stale one.
  const int fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  errno = EACCES;  // a stale value that must not leak into the message
  std::string message;
  try {
    write_all(fd, "data", 4, "the-target");
  } catch (const UserError& e) {
    message = e.what();
  }
  ::close(fd);
  CHECK(message == "cannot write the-target: " + std::string(std::strerror(ENOSPC)));
}

TEST_CASE("over a file-size limit the CLI reports EFBIG and leaves nothing behind") {
  const std::string dir = fresh_dir("fsize");
  const std::string out = dir + "/mask.npy", png = dir + "/mask.png";
  // 512 x 512 bytes of mask against a 64 KiB limit (ulimit -f counts 1 KiB blocks in bash, 512 B in dash).
  const std::string cmd = "sh -c 'ulimit -f 64 && exec " + std::string(ATTNBENCH_BIN) +
                          " mask --variant dense --seq 512 --out " + out + "' 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe);
  std::string output;
  char buf[512];
  while (std::size_t n = fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
  const int status = pclose(pipe);
  CAPTURE(output);
  CHECK(WIFEXITED(status));  // not killed by SIGXFSZ
  CHECK(WEXITSTATUS(status) == 2);
  CHECK(output.find(std::strerror(EFBIG)) != std::string::npos);
  CHECK(std::count(output.begin(), output.end(), '\n') == 1);
  CHECK(listing(dir).empty());
}

TEST_CASE("SIGINT or SIGTERM while writing removes the temporary file, then dies of the signal") {
  for (int sig : {SIGINT, SIGTERM}) {
    CAPTURE(sig);
    const std::string dir = fresh_dir("signal");
    const std::string path = dir + "/o.npy";
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      std::signal(sig, SIG_DFL);  // as in attnbench (the test runner may handle it itself)
      try {
        AtomicFile f(path);
        f.write("half of it");
        ::raise(sig);
      } catch (...) {
      }
      _exit(3);  // not reached
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == sig);
    CHECK(listing(dir).empty());
  }
}
