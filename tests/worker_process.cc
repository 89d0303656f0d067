#include "tests/worker_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "serving/flags.h"

extern char** environ;

namespace baton::testing {

namespace {

// Forks and execs; the child's stdout goes to the returned pipe's read end.
absl::StatusOr<std::pair<pid_t, int>> Spawn(const std::string& binary,
                                            const std::vector<std::string>& args,
                                            const std::vector<std::string>& env) {
  std::vector<std::string> argv_storage = {binary};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) env_storage.push_back(*e);
  env_storage.insert(env_storage.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (std::string& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return absl::InternalError("fork failed");
  }
  if (pid == 0) {
    // Dies with the test even when the test crashes before its destructors run.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(fds[1], STDOUT_FILENO);
    execve(binary.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  close(fds[1]);
  return std::make_pair(pid, fds[0]);
}

}  // namespace

std::string RunfilePath(const std::string& relative) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  return absl::StrCat(srcdir == nullptr ? "." : srcdir, "/baton/", relative);
}

absl::StatusOr<std::unique_ptr<WorkerProcess>> WorkerProcess::Start(
    const std::string& binary, const std::vector<std::string>& args,
    const std::vector<std::string>& env, absl::Duration timeout) {
  absl::StatusOr<std::pair<pid_t, int>> spawned = Spawn(binary, args, env);
  if (!spawned.ok()) return spawned.status();
  auto process = std::unique_ptr<WorkerProcess>(new WorkerProcess());
  process->pid_ = spawned->first;
  process->stdout_fd_ = spawned->second;

  const absl::Time deadline = absl::Now() + timeout;
  std::string buffer;
  while (true) {
    const size_t newline = buffer.find('\n');
    if (newline != std::string::npos) {
      const std::string line = buffer.substr(0, newline);
      buffer.erase(0, newline + 1);
      std::optional<serving::ReadyPorts> ports = serving::ParseReadyLine(line);
      if (!ports.has_value()) continue;
      process->grpc_port_ = ports->grpc_port;
      process->http_port_ = ports->http_port;
      return process;
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(absl::StrCat(binary, " printed no READY line"));
    }
    pollfd pfd{process->stdout_fd_, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) <= 0) continue;
    char chunk[256];
    const ssize_t n = read(process->stdout_fd_, chunk, sizeof(chunk));
    if (n <= 0) return absl::InternalError(absl::StrCat(binary, " exited before READY"));
    buffer.append(chunk, static_cast<size_t>(n));
  }
}

WorkerProcess::~WorkerProcess() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

void WorkerProcess::Signal(int signal) {
  if (pid_ > 0 && !reaped_) kill(pid_, signal);
}

absl::StatusOr<int> WorkerProcess::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!reaped_) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (absl::Now() >= deadline) return absl::DeadlineExceededError("child still running");
    absl::SleepFor(absl::Milliseconds(10));
  }
  return absl::FailedPreconditionError("already reaped");
}

absl::StatusOr<std::string> RunTool(const std::string& binary, const std::vector<std::string>& args,
                                    absl::Duration timeout) {
  absl::StatusOr<std::pair<pid_t, int>> spawned = Spawn(binary, args, {});
  if (!spawned.ok()) return spawned.status();
  const auto [pid, fd] = *spawned;
  std::string out;
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, 100) <= 0) continue;
    char chunk[4096];
    const ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n <= 0) break;
    out.append(chunk, static_cast<size_t>(n));
  }
  close(fd);
  if (absl::Now() >= deadline) kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(binary, " failed (status ", status, ")"));
  }
  return out;
}

}  // namespace baton::testing
