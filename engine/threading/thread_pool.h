// A fixed pool of worker threads for data-parallel loops (matmuls, attention heads).
//
// ThreadPool(N) owns N - 1 worker threads; the thread calling ParallelFor is the N-th and runs
// a share of the work itself. ParallelFor calls from different threads are serialized (one loop
// runs at a time); a ParallelFor issued from inside a running loop body runs inline on the
// calling thread. Workers spin briefly between loops (decode issues hundreds per token) and then
// sleep on a condition variable.
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

  // Splits [0, n) into at most num_threads() contiguous chunks of near-equal size and calls
  // fn(begin, end) once per non-empty chunk, one chunk on the calling thread; returns when all
  // chunks are done. fn must not throw. n <= 0 does nothing.
  void ParallelFor(int64_t n, const std::function<void(int64_t begin, int64_t end)>& fn);

 private:
  explicit ThreadPool(int num_threads);
  void WorkerLoop(int index);
  void RunChunk(int index);

  const int num_threads_;
  std::vector<std::thread> workers_;

  std::mutex submit_mu_;  // serializes ParallelFor callers

  // The current loop, published by bumping generation_ (release) and read by workers after
  // observing the new generation (acquire).
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0;
  int chunks_ = 0;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};  // participants not yet done with the current loop
  std::atomic<bool> stop_{false};

  std::mutex sleep_mu_;
  std::condition_variable wake_;
};

}  // namespace baton::engine
