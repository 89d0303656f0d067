#include "engine/threading/thread_pool.h"

#include <immintrin.h>

#include <algorithm>

#include "absl/status/status.h"

namespace baton::engine {
namespace {

// Spin iterations (each a pause instruction) before a worker sleeps; long enough to bridge the
// gap between consecutive matmuls of one decode step.
constexpr int kSpinIterations = 20000;
// Every this many pause iterations a spinning worker yields the core. When the other cores
// are busy (a shared machine), the caller and a spinning worker end up on one core, and a
// pure spin would take half of that core from the caller: with the yield the caller gets it
// back within microseconds, so two threads do not lose to one. On an idle core the yield
// returns at once.
constexpr int kYieldEvery = 128;
// Pause iterations the caller spins for unfinished chunks before it starts yielding.
constexpr int kWaitSpinIterations = 2000;

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
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(sleep_mu_);
    stop_.store(true);
    wake_gen_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::Participate(uint32_t loop_id) {
  uint64_t w = work_.load(std::memory_order_acquire);
  while (true) {
    if (static_cast<uint32_t>(w >> 32) != loop_id) return;
    const uint32_t chunk = static_cast<uint32_t>(w);
    // chunks_ may already belong to a newer loop if this one finished; then the CAS below fails
    // (work_ changed), so a wrong read here is harmless.
    if (chunk >= chunks_) return;
    if (!work_.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      continue;  // w reloaded
    }
    const int64_t begin = n_ * chunk / chunks_;
    const int64_t end = n_ * (chunk + 1) / chunks_;
    in_parallel_for = true;
    (*fn_)(begin, end);
    in_parallel_for = false;
    done_.fetch_add(1, std::memory_order_acq_rel);
    w = work_.load(std::memory_order_acquire);
  }
}

void ThreadPool::WorkerLoop() {
  uint64_t seen = 0;
  while (true) {
    uint64_t gen = wake_gen_.load(std::memory_order_acquire);
    for (int spin = 0; gen == seen && spin < kSpinIterations; ++spin) {
      if (spin % kYieldEvery == kYieldEvery - 1) {
        std::this_thread::yield();
      } else {
        _mm_pause();
      }
      gen = wake_gen_.load(std::memory_order_acquire);
    }
    if (gen == seen) {
      std::unique_lock<std::mutex> lock(sleep_mu_);
      wake_.wait(lock, [&] { return wake_gen_.load(std::memory_order_acquire) != seen; });
      gen = wake_gen_.load(std::memory_order_acquire);
    }
    seen = gen;
    if (stop_.load()) return;
    Participate(static_cast<uint32_t>(work_.load(std::memory_order_acquire) >> 32));
  }
}

void ThreadPool::ParallelFor(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (num_threads_ == 1 || n == 1 || in_parallel_for) {
    fn(0, n);
    return;
  }
  std::lock_guard<std::mutex> submit(submit_mu_);
  const uint32_t chunks =
      static_cast<uint32_t>(std::min<int64_t>(n, int64_t{num_threads_} * kChunksPerThread));
  fn_ = &fn;
  n_ = n;
  chunks_ = chunks;
  done_.store(0, std::memory_order_relaxed);
  const uint32_t loop_id = ++loop_id_;
  work_.store(uint64_t{loop_id} << 32, std::memory_order_release);
  {
    // Taking sleep_mu_ orders the bump against a worker that is about to wait.
    std::lock_guard<std::mutex> lock(sleep_mu_);
    wake_gen_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  Participate(loop_id);
  // A worker still holds a chunk. Spin briefly, then yield so that a descheduled worker can
  // get this core back on a busy machine.
  for (int spin = 0; done_.load(std::memory_order_acquire) != chunks; ++spin) {
    if (spin < kWaitSpinIterations) {
      _mm_pause();
    } else {
      std::this_thread::yield();
    }
  }
}

}  // namespace baton::engine
