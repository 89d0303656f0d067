// Test helper: a child process with line-oriented pipes to its stdin and stdout, for tests that
// put the two ends of a transfer in different processes. Not thread-safe; one test thread
// drives it. The destructor kills (SIGKILL) and reaps the child if it is still running.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace baton::kvtransfer::testing {

class ChildProcess {
 public:
  // Starts `argv[0]` with `argv`; its stderr goes to ours.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(const std::vector<std::string>& argv);
  ~ChildProcess();

  // Writes `line` plus a newline to the child's stdin.
  bool WriteLine(const std::string& line);
  // The next line from the child's stdout, or nullopt on EOF or after `timeout`.
  std::optional<std::string> ReadLine(absl::Duration timeout);
  // Reads lines until one starts with `prefix` (others are skipped); nullopt on timeout/EOF.
  std::optional<std::string> ReadLineStartingWith(const std::string& prefix,
                                                  absl::Duration timeout);
  // Closes the child's stdin (it exits at end of input) and waits for it; returns the status.
  int CloseAndWait();
  void Kill();
  pid_t pid() const { return pid_; }

 private:
  ChildProcess(pid_t pid, int in_fd, int out_fd) : pid_(pid), in_fd_(in_fd), out_fd_(out_fd) {}

  pid_t pid_;
  int in_fd_;
  int out_fd_;
  std::string buffer_;
  bool reaped_ = false;
};

// Path of a binary in this test's runfiles ("kvtransfer/ucx/ucx_peer").
std::string RunfilePath(const std::string& workspace_relative);

}  // namespace baton::kvtransfer::testing
