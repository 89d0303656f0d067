// A fixed pool of worker threads for data-parallel loops (matmuls, attention heads).
//
// ThreadPool(N) owns N - 1 worker threads; the thread calling ParallelFor is the N-th and works
// too. Chunks are claimed dynamically, so when a worker is descheduled (a busy shared machine)
// the caller takes over its share instead of waiting. ParallelFor calls from different threads
// are serialized (one loop runs at a time); a ParallelFor issued from inside a running loop body
// runs inline on the calling thread. Workers spin briefly between loops (decode issues hundreds
// per token) and then sleep on a condition variable.
//
// A worker descheduled while it holds a chunk (the other cores busy) makes the caller wait for
// it, up to a scheduler time slice; with hundreds of short loops per decode step that would make
// two threads slower than one. So when the caller, out of chunks, waits longer than
// ThreadPoolOptions::stall (and than twice its own mean chunk time), the pool runs the loops of
// the next solo_period on the caller alone, then tries its workers again.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace baton::engine {

struct ThreadPoolOptions {
  // A wait for a worker's chunk longer than this (and than twice the caller's mean chunk) is
  // a stall: the loops of the next `solo_period` run on the caller alone.
  absl::Duration stall = absl::Milliseconds(1);
  absl::Duration solo_period = absl::Milliseconds(50);
  // Monotonic time; the steady clock when empty (tests inject their own).
  std::function<absl::Duration()> now;
  // Tests: called on the caller's thread when it starts waiting for workers' chunks.
  std::function<void()> on_wait_for_workers;
};

class ThreadPool {
 public:
  // `num_threads` counts the caller: 1 means everything runs inline. kInvalidArgument unless
  // 1 <= num_threads <= 1024.
  static absl::StatusOr<std::unique_ptr<ThreadPool>> Create(int num_threads,
                                                            ThreadPoolOptions options = {});
  ~ThreadPool();  // joins the workers; no ParallelFor may be running
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }
  // Stalls seen so far (each started a solo period).
  int64_t stalls() const { return stalls_.load(std::memory_order_relaxed); }

  // Calls fn(begin, end) on disjoint, non-empty, contiguous ranges that together cover [0, n)
  // (at most 4 * num_threads() ranges of near-equal size), on the pool's threads and the
  // calling thread, and returns when all have finished. fn must be safe to call concurrently
  // and must not throw. n <= 0 does nothing.
  void ParallelFor(int64_t n, const std::function<void(int64_t begin, int64_t end)>& fn);

 private:
  ThreadPool(int num_threads, ThreadPoolOptions options);
  void WorkerLoop();
  // Claims and runs chunks of loop `loop_id` until none are left or another loop started;
  // returns how many it ran.
  int Participate(uint32_t loop_id);

  const int num_threads_;
  const ThreadPoolOptions options_;
  std::vector<std::thread> workers_;
  // Loops started before this time run on the caller alone (guarded by submit_mu_).
  absl::Duration solo_until_ = absl::ZeroDuration();
  std::atomic<int64_t> stalls_{0};

  std::mutex submit_mu_;  // serializes ParallelFor callers

  // The current loop. Written by the caller before it publishes loop_id in work_ (release);
  // stable until every chunk is done, and a chunk can only be claimed while work_ still names
  // its loop, so workers never run a stale loop's body.
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0;
  uint32_t chunks_ = 0;
  uint32_t loop_id_ = 0;
  std::atomic<uint64_t> work_{0};     // (loop_id << 32) | next unclaimed chunk
  std::atomic<uint32_t> done_{0};     // chunks finished in the current loop
  std::atomic<uint64_t> wake_gen_{0}; // bumped per loop and at shutdown; workers wait on it
  std::atomic<bool> stop_{false};

  std::mutex sleep_mu_;
  std::condition_variable wake_;
};

}  // namespace baton::engine
