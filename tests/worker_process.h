// Test support for cross-process tests: starts a baton binary (from the test's runfiles) as a
// child process, waits for its "READY grpc_port=N http_port=M" line, and kills it in every path
// (destructor; PR_SET_PDEATHSIG in the child covers a crashed test). Also runs tools to
// completion and captures their stdout.
//
// Threading: a WorkerProcess is used by one thread.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace baton::testing {

// Absolute path of `relative` (e.g. "decode_worker/decode_worker") in this test's runfiles.
std::string RunfilePath(const std::string& relative);

class WorkerProcess {
 public:
  // Starts `binary` with `args`; `env` entries ("NAME=value") are added to this process's
  // environment. kDeadlineExceeded when no READY line came within `timeout` (the child is
  // killed), kInternal when it exited or could not start.
  static absl::StatusOr<std::unique_ptr<WorkerProcess>> Start(
      const std::string& binary, const std::vector<std::string>& args,
      const std::vector<std::string>& env, absl::Duration timeout = absl::Seconds(60));
  // SIGKILLs the child if it still runs and reaps it.
  ~WorkerProcess();

  int grpc_port() const { return grpc_port_; }
  int http_port() const { return http_port_; }
  pid_t pid() const { return pid_; }

  void Signal(int signal);
  // Waits for the child to exit; its exit code (128 + signal when killed by one), or
  // kDeadlineExceeded.
  absl::StatusOr<int> Wait(absl::Duration timeout);

 private:
  WorkerProcess() = default;

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  bool reaped_ = false;
  int grpc_port_ = 0;
  int http_port_ = 0;
};

// Runs `binary args...` to completion (at most `timeout`) and returns its stdout; kInternal when
// it exits non-zero.
absl::StatusOr<std::string> RunTool(const std::string& binary, const std::vector<std::string>& args,
                                    absl::Duration timeout = absl::Seconds(60));

}  // namespace baton::testing
