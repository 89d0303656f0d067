// The local launcher (//deploy/local:baton_local) end to end: with no --model it serves its
// built-in random model through 2 prefill and 2 decode workers behind the router; requests go
// through; SIGTERM stops it with exit code 0, every child process gone and every port its
// processes listened on free again.
//
// BATON_LAUNCHER_TEST_DECODE_WORKERS overrides the number of decode workers (for routers that
// take one decode address).
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_matchers.h"
#include "common/testing/http_client.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/worker_process.h"

namespace baton::testing {
namespace {

struct Listener {
  int port = 0;
  bool ipv6 = false;
};

// Pids whose parent is `parent`, from /proc.
std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> out;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* entry = readdir(proc)) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
    std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // pid (comm) state ppid ...: comm may hold spaces, so parse after the last ')'.
    const size_t close = text.rfind(')');
    if (close == std::string::npos) continue;
    std::vector<std::string> fields = absl::StrSplit(text.substr(close + 2), ' ');
    pid_t ppid = 0;
    if (fields.size() > 1 && absl::SimpleAtoi(fields[1], &ppid) && ppid == parent) {
      out.push_back(pid);
    }
  }
  closedir(proc);
  return out;
}

// Socket inodes open in `pid`.
std::set<std::string> SocketInodes(pid_t pid) {
  std::set<std::string> out;
  const std::string dir = absl::StrCat("/proc/", pid, "/fd");
  DIR* fds = opendir(dir.c_str());
  if (fds == nullptr) return out;
  while (dirent* entry = readdir(fds)) {
    char target[256] = {};
    const std::string path = absl::StrCat(dir, "/", entry->d_name);
    const ssize_t n = readlink(path.c_str(), target, sizeof(target) - 1);
    absl::string_view link(target, n > 0 ? n : 0);
    if (absl::ConsumePrefix(&link, "socket:[") && absl::ConsumeSuffix(&link, "]")) {
      out.insert(std::string(link));
    }
  }
  closedir(fds);
  return out;
}

// TCP ports in LISTEN state whose socket is one of `inodes`.
std::vector<Listener> ListeningPorts(const std::set<std::string>& inodes) {
  std::vector<Listener> out;
  for (const bool ipv6 : {false, true}) {
    std::ifstream table(ipv6 ? "/proc/net/tcp6" : "/proc/net/tcp");
    std::string line;
    std::getline(table, line);  // header
    while (std::getline(table, line)) {
      std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (f.size() < 10 || f[3] != "0A" || inodes.count(f[9]) == 0) continue;
      const std::string local = f[1];
      int port = 0;
      if (!absl::SimpleHexAtoi(local.substr(local.find(':') + 1), &port)) continue;
      out.push_back({port, ipv6});
    }
  }
  return out;
}

// Lines of /proc/net/tcp{,6} for sockets on local port `port`, empty when there is none left
// but closing connections (TIME_WAIT, FIN_WAIT): what is listening or connected on the port.
std::string SocketsOnPort(int port) {
  std::string out;
  for (const char* path : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream table(path);
    std::string line;
    std::getline(table, line);  // header
    while (std::getline(table, line)) {
      std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (f.size() < 10) continue;
      int local_port = 0;
      if (!absl::SimpleHexAtoi(f[1].substr(f[1].find(':') + 1), &local_port)) continue;
      // 06 TIME_WAIT, 04 FIN_WAIT1, 05 FIN_WAIT2, 08 CLOSE_WAIT, 09 LAST_ACK, 0B CLOSING:
      // connections the kernel finishes on its own after the process is gone.
      static const std::set<std::string> kClosing = {"04", "05", "06", "08", "09", "0B"};
      if (local_port == port && kClosing.count(f[3]) == 0) absl::StrAppend(&out, line, "\n");
    }
  }
  return out;
}

int DecodeWorkers() {
  const char* env = std::getenv("BATON_LAUNCHER_TEST_DECODE_WORKERS");
  int n = 2;
  if (env != nullptr && !absl::SimpleAtoi(env, &n)) n = 2;
  return n;
}

TEST(LauncherTest, ServesThroughTwoPlusTwoWorkersAndStopsCleanlyOnSigterm) {
  const int decode_workers = DecodeWorkers();
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string log_dir = absl::StrCat(tmp == nullptr ? "/tmp" : tmp, "/launcher-logs");
  ASSERT_EQ(system(absl::StrCat("mkdir -p ", log_dir).c_str()), 0);
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<WorkerProcess> launcher,
      WorkerProcess::Start(RunfilePath("deploy/local/baton_local"),
                           {absl::StrCat("--bin_dir=", RunfilePath("")), "--prefill_workers=2",
                            absl::StrCat("--decode_workers=", decode_workers), "--http_port=0",
                            "--grpc_port=0", absl::StrCat("--log_dir=", log_dir)},
                           {}, absl::Seconds(240)));

  // The router, the prefill workers and the decode workers, as direct children.
  const std::vector<pid_t> children = ChildrenOf(launcher->pid());
  ASSERT_EQ(children.size(), 1u + 2u + decode_workers);
  std::set<std::string> inodes;
  for (pid_t child : children) {
    std::set<std::string> own = SocketInodes(child);
    inodes.insert(own.begin(), own.end());
  }
  const std::vector<Listener> ports = ListeningPorts(inodes);
  // Each process listens on gRPC and HTTP at least.
  ASSERT_GE(ports.size(), 2 * children.size());
  std::set<int> port_numbers;
  for (const Listener& l : ports) port_numbers.insert(l.port);
  EXPECT_EQ(port_numbers.count(launcher->http_port()), 1u);
  EXPECT_EQ(port_numbers.count(launcher->grpc_port()), 1u);

  for (int i = 0; i < 6; ++i) {
    const nlohmann::json request = {{"model", "baton"},
                                    {"prompt", absl::StrCat("Once upon a time ", i)},
                                    {"max_tokens", 8},
                                    {"temperature", 0}};
    ASSERT_OK_AND_ASSIGN(HttpResult result, HttpCall(launcher->http_port(), "POST",
                                                     "/v1/completions", request.dump()));
    ASSERT_EQ(result.status, 200) << result.body;
    const nlohmann::json body = nlohmann::json::parse(result.body);
    EXPECT_GT(body["usage"]["completion_tokens"].get<int>(), 0) << result.body;
  }

  launcher->Signal(SIGTERM);
  ASSERT_OK_AND_ASSIGN(int exit_code, launcher->Wait(absl::Seconds(120)));
  EXPECT_EQ(exit_code, 0);
  for (pid_t child : children) {
    EXPECT_TRUE(kill(child, 0) != 0 && errno == ESRCH) << "child " << child << " still exists";
  }
  for (const Listener& l : ports) {
    EXPECT_EQ(SocketsOnPort(l.port), "") << "port " << l.port << " still in use";
  }
}

}  // namespace
}  // namespace baton::testing
