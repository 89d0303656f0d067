#include "deploy/local/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/grpc_credentials.h"
#include "common/grpc_health.h"
#include "serving/flags.h"

extern char** environ;

namespace baton::deploy {
namespace {

sigset_t WatchedSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGCHLD);
  return set;
}

// Finds the child's ReadyLine in its log; false until it is there.
bool ReadReady(const std::string& log_path, int* grpc_port, int* http_port) {
  std::ifstream in(log_path);
  std::string line;
  while (std::getline(in, line)) {
    std::optional<serving::ReadyPorts> ports = serving::ParseReadyLine(line);
    if (!ports.has_value()) continue;
    *grpc_port = ports->grpc_port;
    *http_port = ports->http_port;
    return true;
  }
  return false;
}

}  // namespace

void BlockSignals() {
  sigset_t set = WatchedSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

std::string TailOf(const std::string& path, int lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  std::string line;
  while (std::getline(in, line)) all.push_back(line);
  const size_t from = all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0;
  return absl::StrJoin(all.begin() + from, all.end(), "\n");
}

Supervisor::Supervisor(std::string log_dir, std::string health_host, common::TlsMaterial tls)
    : log_dir_(std::move(log_dir)), health_host_(std::move(health_host)), tls_(std::move(tls)) {}

Supervisor::~Supervisor() {
  if (process_group_ > 0) kill(-process_group_, SIGKILL);
  for (auto& child : children_) {
    if (child->running) waitpid(child->pid, nullptr, 0);
  }
}

absl::StatusOr<Child*> Supervisor::Start(const ChildSpec& spec) {
  auto child = std::make_unique<Child>();
  child->spec = spec;
  child->log_path = absl::StrCat(log_dir_, "/", spec.name, ".log");
  std::vector<std::string> argv_storage = {spec.binary};
  argv_storage.insert(argv_storage.end(), spec.args.begin(), spec.args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) env_storage.push_back(*e);
  env_storage.insert(env_storage.end(), spec.env.begin(), spec.env.end());
  std::vector<char*> envp;
  for (std::string& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  const int log = open(child->log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log < 0) return absl::InternalError(absl::StrCat("cannot create ", child->log_path));
  const pid_t launcher = getpid();
  const pid_t group = process_group_;
  const pid_t pid = fork();
  if (pid < 0) {
    close(log);
    return absl::InternalError("fork failed");
  }
  if (pid == 0) {
    setpgid(0, group);  // group 0: a new group led by this first child
    // Dies with the launcher, however the launcher ends.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != launcher) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    execve(spec.binary.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  close(log);
  // Also from the parent, so the group exists before the next child joins it.
  setpgid(pid, group);
  if (process_group_ == 0) process_group_ = pid;
  child->pid = pid;
  children_.push_back(std::move(child));
  return children_.back().get();
}

Child* Supervisor::Reap() {
  Child* first = nullptr;
  for (auto& child : children_) {
    if (!child->running) continue;
    int status = 0;
    if (waitpid(child->pid, &status, WNOHANG) != child->pid) continue;
    child->running = false;
    child->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (first == nullptr) first = child.get();
  }
  return first;
}

int Supervisor::WaitSignal(absl::Duration timeout) {
  sigset_t set = WatchedSignals();
  timespec ts = absl::ToTimespec(std::max(timeout, absl::ZeroDuration()));
  const int signal = sigtimedwait(&set, nullptr, &ts);
  return signal < 0 ? 0 : signal;
}

absl::Status Supervisor::AwaitReady(Child& child, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  bool printed_ready = false;
  std::shared_ptr<grpc::Channel> channel;
  while (true) {
    Reap();
    if (!child.running) {
      return absl::InternalError(absl::StrCat(child.spec.name, " exited with status ",
                                              child.exit_code, "; the end of its log (",
                                              child.log_path, "):\n", TailOf(child.log_path, 20)));
    }
    if (!printed_ready) {
      printed_ready = ReadReady(child.log_path, &child.grpc_port, &child.http_port);
      if (printed_ready) {
        channel = common::MakeWorkerChannel(absl::StrCat(health_host_, ":", child.grpc_port), tls_);
      }
    }
    if (printed_ready) {
      absl::StatusOr<bool> serving = common::CheckGrpcHealth(channel, absl::Seconds(2));
      if (serving.ok() && *serving) return absl::OkStatus();
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          child.spec.name, " was not healthy within ", absl::FormatDuration(timeout),
          "; see ", child.log_path));
    }
    const int signal = WaitSignal(absl::Milliseconds(100));
    if (signal == SIGINT || signal == SIGTERM) {
      return absl::CancelledError(absl::StrCat("signal ", signal, " during start-up"));
    }
  }
}

int Supervisor::AwaitStop(const Child** exited) {
  while (true) {
    if (Child* gone = Reap(); gone != nullptr) {
      *exited = gone;
      return 0;
    }
    const int signal = WaitSignal(absl::Seconds(1));
    if (signal == SIGINT || signal == SIGTERM) return signal;
  }
}

void Supervisor::StopAll(const std::vector<std::vector<Child*>>& groups, absl::Duration grace) {
  for (const std::vector<Child*>& group : groups) {
    for (Child* child : group) {
      if (child->running) kill(child->pid, SIGTERM);
    }
    const absl::Time deadline = absl::Now() + grace;
    auto any_running = [&] {
      Reap();
      for (Child* child : group) {
        if (child->running) return true;
      }
      return false;
    };
    while (any_running() && absl::Now() < deadline) {
      WaitSignal(std::min(deadline - absl::Now(), absl::Milliseconds(200)));
    }
    for (Child* child : group) {
      if (child->running) kill(child->pid, SIGKILL);
    }
  }
  // Anything left in the group (nothing, unless a child started processes of its own).
  if (process_group_ > 0) kill(-process_group_, SIGKILL);
  for (auto& child : children_) {
    if (!child->running) continue;
    int status = 0;
    waitpid(child->pid, &status, 0);
    child->running = false;
    child->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
}

}  // namespace baton::deploy
