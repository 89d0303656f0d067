#include "loadgen/runner.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>
#include <utility>

#include "absl/synchronization/mutex.h"

namespace baton::loadgen {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// What the dispatcher and the client's callbacks share.
class Tracker {
 public:
  explicit Tracker(Clock::time_point start) : start_(start) {}

  // Starts `spec` on `client` as record `index`.
  void Launch(StreamClient& client, const RequestSpec& spec, int64_t index, bool warmup) {
    auto record = std::make_shared<RequestRecord>();
    record->index = index;
    record->warmup = warmup;
    record->prompt_tokens = spec.prompt_tokens;
    record->expected_output_tokens = spec.output_tokens;
    {
      absl::MutexLock lock(&mu_);
      ++in_flight_;
      ++progress_.sent;
    }
    record->send_s = SecondsSince(start_);
    CallEvents events;
    events.on_chunk = [this, record](int32_t tokens) {
      record->chunk_s.push_back(SecondsSince(start_));
      record->chunk_tokens.push_back(tokens);
      absl::MutexLock lock(&mu_);
      progress_.output_tokens += tokens;
    };
    events.on_done = [this, record](const CallResult& result) {
      record->end_s = SecondsSince(start_);
      record->ok = result.ok;
      record->error_code = result.error_code;
      record->error_message = result.error_message;
      if (result.prompt_tokens >= 0) record->prompt_tokens = result.prompt_tokens;
      int32_t streamed = 0;
      for (int32_t tokens : record->chunk_tokens) streamed += tokens;
      record->output_tokens = result.completion_tokens >= 0 ? result.completion_tokens : streamed;
      absl::MutexLock lock(&mu_);
      --in_flight_;
      ++(result.ok ? progress_.completed : progress_.failed);
      records_.push_back(std::move(*record));
    };
    client.Start(spec, std::move(events));
  }

  // Waits until fewer than `limit` calls are in flight or `deadline` passes.
  void WaitInFlightBelow(int64_t limit, Clock::time_point deadline) {
    absl::MutexLock lock(&mu_);
    auto below = [this, limit]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return in_flight_ < limit; };
    // A timeout, not a deadline: absl waits on the system clock, the run's times are steady.
    mu_.AwaitWithTimeout(absl::Condition(&below), absl::FromChrono(deadline - Clock::now()));
  }

  Progress progress() const {
    absl::MutexLock lock(&mu_);
    Progress progress = progress_;
    progress.elapsed_s = SecondsSince(start_);
    return progress;
  }

  std::vector<RequestRecord> TakeRecords() {
    absl::MutexLock lock(&mu_);
    return std::move(records_);
  }

 private:
  const Clock::time_point start_;
  mutable absl::Mutex mu_;
  int64_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  Progress progress_ ABSL_GUARDED_BY(mu_);
  std::vector<RequestRecord> records_ ABSL_GUARDED_BY(mu_);
};

Clock::time_point After(Clock::time_point start, double seconds) {
  return start +
         std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

}  // namespace

absl::StatusOr<RunResult> RunLoad(StreamClient& client, Workload& workload,
                                  const RunOptions& options) {
  if (options.num_requests <= 0 && options.duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("bound the run by a request count or a duration");
  }
  absl::StatusOr<Arrivals> arrivals = Arrivals::Create(options.arrivals);
  if (!arrivals.ok()) return arrivals.status();

  const Clock::time_point start = Clock::now();
  Tracker tracker(start);
  const Clock::time_point forever = Clock::time_point::max() - std::chrono::hours(24);
  auto report = [&](Progress progress) {
    if (!options.on_progress) return;
    progress.target_requests = options.num_requests;
    progress.target_s = absl::ToDoubleSeconds(options.duration);
    progress.sent -= options.warmup_requests;
    options.on_progress(progress);
  };

  // Warm-up: one at a time, each waited for.
  absl::Status workload_status;
  int64_t index = 0;
  for (; index < options.warmup_requests; ++index) {
    absl::StatusOr<RequestSpec> spec = workload.Next();
    if (!spec.ok()) {
      workload_status = spec.status();
      break;
    }
    tracker.Launch(client, *spec, index, /*warmup=*/true);
    tracker.WaitInFlightBelow(1, forever);
  }

  const double measure_start_s = SecondsSince(start);
  const Clock::time_point measure_start = After(start, measure_start_s);
  const double duration_s = absl::ToDoubleSeconds(options.duration);
  Clock::time_point next_progress = Clock::now();
  auto keep_sending = [&](int64_t sent, double at_s) {
    if (options.num_requests > 0 && sent >= options.num_requests) return false;
    if (duration_s > 0 && at_s >= duration_s) return false;
    return true;
  };
  // Waits for `deadline`, reporting progress on the way.
  auto wait_until = [&](Clock::time_point deadline, int64_t in_flight_limit) {
    while (true) {
      const Clock::time_point now = Clock::now();
      if (now >= next_progress) {
        report(tracker.progress());
        next_progress = now + absl::ToChronoNanoseconds(options.progress_interval);
      }
      const Clock::time_point wake = std::min(deadline, next_progress);
      if (in_flight_limit > 0) {
        tracker.WaitInFlightBelow(in_flight_limit, wake);
        const Progress progress = tracker.progress();
        if (progress.sent - progress.completed - progress.failed < in_flight_limit) return;
      } else {
        std::this_thread::sleep_until(wake);
      }
      if (Clock::now() >= deadline) return;
    }
  };

  for (int64_t sent = 0; workload_status.ok(); ++sent, ++index) {
    double at_s = 0;
    if (arrivals->closed_loop()) {
      const Clock::time_point end = duration_s > 0 ? After(measure_start, duration_s) : forever;
      wait_until(end, arrivals->concurrency());
      at_s = SecondsSince(measure_start);
    } else {
      at_s = arrivals->NextSendSeconds();
    }
    if (!keep_sending(sent, at_s)) break;
    absl::StatusOr<RequestSpec> spec = workload.Next();
    if (!spec.ok()) {
      workload_status = spec.status();
      break;
    }
    if (!arrivals->closed_loop()) wait_until(After(measure_start, at_s), 0);
    tracker.Launch(client, *spec, index, /*warmup=*/false);
  }
  // Drain: every call ends (at the latest at the client's timeout).
  while (true) {
    const Progress progress = tracker.progress();
    if (progress.completed + progress.failed == progress.sent) break;
    wait_until(Clock::now() + absl::ToChronoNanoseconds(options.progress_interval), 1);
  }
  report(tracker.progress());

  RunResult result;
  result.records = tracker.TakeRecords();
  std::sort(result.records.begin(), result.records.end(),
            [](const RequestRecord& a, const RequestRecord& b) { return a.index < b.index; });
  double last_end_s = measure_start_s;
  for (const RequestRecord& record : result.records) {
    if (!record.warmup) last_end_s = std::max(last_end_s, record.end_s);
  }
  result.duration_s = last_end_s - measure_start_s;
  if (!workload_status.ok()) return workload_status;
  return result;
}

}  // namespace baton::loadgen
