// A fixed pool of worker threads for data-parallel loops (matmuls, attention heads).
//
// ThreadPool(N) owns N - 1 worker threads; the thread calling ParallelFor is the N-th and works
// too. Chunks are claimed dynamically, so when a worker is descheduled (a busy shared machine)
// the caller takes over its share instead of waiting. ParallelFor calls from different threads
// are serialized (one loop runs at a time); a ParallelFor issued from inside a running loop body
// runs inline on the calling thread. Workers spin briefly between loops (decode issues hundreds
// per token) and then sleep on a condition variable.
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

namespace baton::engine {

class ThreadPool {
 public:
  // `num_threads` counts the caller: 1 means everything runs inline. kInvalidArgument unless
  // 1 <= num_threads <= 1024.
  static absl::StatusOr<std::unique_ptr<ThreadPool>> Create(int num_threads);
  ~ThreadPool();  // joins the workers; no ParallelFor may be running
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }

  // Ranges per thread a ParallelFor splits into, taken one at a time by whichever thread is
  // free. (8 was tried on the AVX-512 machine: Q8_0 prefill +10%, Q4_0 prefill over repacked
  // weights -5%, whose activation chunks are then read once more per range; decode even.)
  static constexpr int kChunksPerThread = 4;

  // Calls fn(begin, end) on disjoint, non-empty, contiguous ranges that together cover [0, n)
  // (at most kChunksPerThread * num_threads() ranges of near-equal size), on the pool's threads
  // and the calling thread, and returns when all have finished. fn must be safe to call
  // concurrently and must not throw. n <= 0 does nothing.
  void ParallelFor(int64_t n, const std::function<void(int64_t begin, int64_t end)>& fn);

 private:
  explicit ThreadPool(int num_threads);
  void WorkerLoop();
  // Claims and runs chunks of loop `loop_id` until none are left or another loop started.
  void Participate(uint32_t loop_id);

  const int num_threads_;
  std::vector<std::thread> workers_;

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
