// Runs the local cluster's processes as children of one launcher: each in one process group of
// its own (so a terminal's Ctrl-C reaches only the launcher, which stops them in order), with
// PR_SET_PDEATHSIG so that they die with the launcher even if it is killed, its output in a log
// file, and readiness judged by its READY line plus a grpc.health.v1 SERVING answer.
//
// The launcher blocks SIGINT, SIGTERM and SIGCHLD (BlockSignals, first thing in main) and the
// supervisor waits for them with sigtimedwait: no sleeps, a signal ends any wait at once.
//
// Threading: one thread (main).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/tls.h"

namespace baton::deploy {

struct ChildSpec {
  std::string name;    // "router", "decode-0", ... (also its log file's name)
  std::string binary;  // absolute path
  std::vector<std::string> args;
  std::vector<std::string> env;  // "NAME=value", added to the launcher's environment
};

struct Child {
  ChildSpec spec;
  pid_t pid = -1;
  std::string log_path;
  int grpc_port = 0;
  int http_port = 0;
  bool running = true;
  int exit_code = 0;  // 128 + signal when killed by one
};

// Blocks SIGINT, SIGTERM and SIGCHLD in the calling thread (and threads it starts later).
void BlockSignals();

class Supervisor {
 public:
  // `log_dir` must exist. `health_host` is where the launcher dials the children's gRPC
  // (127.0.0.1 when they listen on every interface), with `tls` (common/grpc_credentials.h).
  Supervisor(std::string log_dir, std::string health_host, common::TlsMaterial tls);
  // Kills whatever still runs (SIGKILL to the process group) and reaps it.
  ~Supervisor();

  // Forks and execs; kInternal when that fails.
  absl::StatusOr<Child*> Start(const ChildSpec& spec);

  // Waits until `child` printed its READY line and answers SERVING on grpc.health.v1, or
  // `timeout` passes (kDeadlineExceeded), or it exits (kInternal with the tail of its log), or
  // SIGINT/SIGTERM arrives (kCancelled).
  absl::Status AwaitReady(Child& child, absl::Duration timeout);

  // Blocks until SIGINT or SIGTERM (returns the signal) or until a child exits on its own
  // (returns 0; `*exited` names it).
  int AwaitStop(const Child** exited);

  // Sends SIGTERM to the still-running children of each group in order, waiting up to `grace`
  // for a group to exit before SIGKILLing what remains of it; then sweeps the process group.
  void StopAll(const std::vector<std::vector<Child*>>& groups, absl::Duration grace);

  const std::vector<std::unique_ptr<Child>>& children() const { return children_; }

 private:
  // Reaps exited children (non-blocking). Returns the first that exited in this call, if any.
  Child* Reap();
  // Waits for a signal for at most `timeout`; returns it, or 0.
  int WaitSignal(absl::Duration timeout);

  const std::string log_dir_;
  const std::string health_host_;
  const common::TlsMaterial tls_;
  pid_t process_group_ = 0;
  std::vector<std::unique_ptr<Child>> children_;
};

// The last `lines` lines of the file at `path` (for error messages).
std::string TailOf(const std::string& path, int lines);

}  // namespace baton::deploy
