#include "engine/threading/thread_pool.h"

#include <immintrin.h>

#include "absl/status/status.h"

namespace baton::engine {
namespace {

// Spin iterations (each a pause instruction, tens of ns) before a worker sleeps; long enough to
// bridge the gap between consecutive matmuls of one decode step.
constexpr int kSpinIterations = 20000;

thread_local bool in_parallel_for = false;

}  // namespace

absl::StatusOr<std::unique_ptr<ThreadPool>> ThreadPool::Create(int num_threads) {
  if (num_threads < 1 || num_threads > 1024) {
    return absl::InvalidArgumentError("thread count must be in [1, 1024]");
  }
  return std::unique_ptr<ThreadPool>(new ThreadPool(num_threads));
}

ThreadPool::ThreadPool(int num_threads) : num_threads_(num_threads) {
  workers_.reserve(num_threads - 1);
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(sleep_mu_);
    stop_.store(true);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

// Every participant decrements pending_ even without a chunk, so a loop's fields are never
// rewritten by the next ParallelFor while a late worker may still read them.
void ThreadPool::RunChunk(int index) {
  if (index < chunks_) {
    const int64_t begin = n_ * index / chunks_;
    const int64_t end = n_ * (index + 1) / chunks_;
    in_parallel_for = true;
    (*fn_)(begin, end);
    in_parallel_for = false;
  }
  pending_.fetch_sub(1, std::memory_order_acq_rel);
}

void ThreadPool::WorkerLoop(int index) {
  uint64_t seen = 0;
  while (true) {
    uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int spin = 0; gen == seen && spin < kSpinIterations; ++spin) {
      _mm_pause();
      gen = generation_.load(std::memory_order_acquire);
    }
    if (gen == seen) {
      std::unique_lock<std::mutex> lock(sleep_mu_);
      wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      gen = generation_.load(std::memory_order_acquire);
    }
    seen = gen;
    if (stop_.load()) return;
    RunChunk(index);
  }
}

void ThreadPool::ParallelFor(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (num_threads_ == 1 || n == 1 || in_parallel_for) {
    fn(0, n);
    return;
  }
  std::lock_guard<std::mutex> submit(submit_mu_);
  const int chunks = static_cast<int>(std::min<int64_t>(n, num_threads_));
  fn_ = &fn;
  n_ = n;
  chunks_ = chunks;
  pending_.store(num_threads_, std::memory_order_relaxed);
  {
    // Taking sleep_mu_ orders the bump against a worker that is about to wait.
    std::lock_guard<std::mutex> lock(sleep_mu_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  RunChunk(0);
  while (pending_.load(std::memory_order_acquire) != 0) _mm_pause();
}

}  // namespace baton::engine
