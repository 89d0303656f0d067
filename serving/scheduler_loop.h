// The skeleton both workers' schedulers share: one thread that owns the scheduler's state, a
// queue of commands other threads post to it, a published load snapshot, and a shutdown that
// drains before it cancels.
//
// The loop: take the posted commands (waiting for one, at most IdleWait, when there is no work, or
// when the last step could not run anything), Handle each, then RunStep; after Shutdown's grace it calls
// CancelAll and keeps handling commands (e.g. transport callbacks) until Drained.
//
// Threading: Load, Shutdown and the Post functions are thread-safe. The virtual hooks run on
// the loop thread only. A derived class calls StartLoop at the end of its construction and
// Shutdown in its destructor (before its members go away).
#pragma once

#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "serving/load_counts.h"

namespace baton::serving {

template <typename Command>
class SchedulerLoop {
 public:
  virtual ~SchedulerLoop() = default;

  // The snapshot last published by the loop.
  LoadCounts Load() const {
    absl::MutexLock lock(&mu_);
    return load_;
  }

  // Stops accepting new work, waits up to `grace` for running, waiting and pending work to end,
  // then cancels the rest and joins the loop once Drained. Idempotent.
  void Shutdown(absl::Duration grace) {
    {
      absl::MutexLock lock(&mu_);
      draining_ = true;
      auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return load_.running + load_.waiting + load_.pending_transfers == 0 && commands_.empty();
      };
      mu_.AwaitWithTimeout(absl::Condition(&idle), grace);
      stopping_ = true;
    }
    if (thread_.joinable()) thread_.join();
  }

 protected:
  void StartLoop() {
    RefreshLoad();
    thread_ = std::thread([this] { Loop(); });
  }

  void Post(Command command) {
    absl::MutexLock lock(&mu_);
    commands_.push_back(std::move(command));
  }

  // Queues `command` (moving from it) unless Shutdown began; false (command untouched) then.
  bool PostIfAccepting(Command& command) {
    absl::MutexLock lock(&mu_);
    if (draining_) return false;
    commands_.push_back(std::move(command));
    return true;
  }

  void PublishLoad(const LoadCounts& load) {
    absl::MutexLock lock(&mu_);
    load_ = load;
  }

  // Loop-thread hooks.
  virtual void Handle(Command& command) = 0;
  // Whether RunStep has anything to try.
  virtual bool HasWork() const = 0;
  // Runs one step; false when nothing could run (then the loop waits for a command).
  virtual bool RunStep() = 0;
  // Ends everything still queued or running (shutdown after the grace period).
  virtual void CancelAll() = 0;
  // Nothing is left, not even a transfer whose callback has to run.
  virtual bool Drained() const = 0;
  // Computes the load and calls PublishLoad.
  virtual void RefreshLoad() = 0;
  // Longest the loop waits for a command when idle before it runs RunStep anyway (e.g. to
  // check leases against a clock). Default: until a command comes.
  virtual absl::Duration IdleWait() const { return absl::InfiniteDuration(); }

 private:
  void Loop() {
    bool stop_seen = false;
    bool progressed = false;
    while (true) {
      std::vector<Command> commands;
      bool stopping;
      {
        const bool idle = !HasWork() || !progressed;
        const absl::Duration idle_wait = IdleWait();
        absl::MutexLock lock(&mu_);
        if (idle) {
          auto wake = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
            return !commands_.empty() || (stopping_ && !stop_seen);
          };
          mu_.AwaitWithTimeout(absl::Condition(&wake), idle_wait);
        }
        commands.swap(commands_);
        stopping = stopping_;
      }
      for (Command& command : commands) Handle(command);
      if (stopping) {
        stop_seen = true;
        CancelAll();
        RefreshLoad();
        if (Drained()) return;
        continue;
      }
      progressed = RunStep();
      RefreshLoad();
    }
  }

  mutable absl::Mutex mu_;
  std::vector<Command> commands_ ABSL_GUARDED_BY(mu_);
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  LoadCounts load_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace baton::serving
