// Runs one load test: sends a workload's requests through a StreamClient on an arrival schedule
// (open loop: at the scheduled times, whatever is in flight; closed loop: a fixed number in
// flight), bounded by a request count and/or a duration, after warm-up requests that are
// recorded but not measured. Every request ends in a record (completed or failed); the run ends
// when the last call has ended, and every call has the client's timeout, so a dead server
// cannot hang it.
//
// Times come from std::chrono::steady_clock, read in the client's callbacks as the bytes arrive.
// Threading: RunLoad blocks the calling thread, which is the dispatcher; on_progress runs on it.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "loadgen/arrivals.h"
#include "loadgen/request_spec.h"
#include "loadgen/stream_client.h"
#include "loadgen/workload.h"

namespace baton::loadgen {

// A snapshot for the progress display.
struct Progress {
  int64_t sent = 0;
  int64_t completed = 0;
  int64_t failed = 0;
  int64_t output_tokens = 0;
  int64_t target_requests = 0;  // 0: bounded by duration only
  double elapsed_s = 0;
  double target_s = 0;  // 0: bounded by count only
};

struct RunOptions {
  ArrivalOptions arrivals;
  int64_t num_requests = 0;                          // 0: no count bound
  absl::Duration duration = absl::ZeroDuration();    // zero: no time bound
  int32_t warmup_requests = 0;                       // sent one at a time before measuring
  std::function<void(const Progress&)> on_progress;  // every progress_interval, and at the end
  absl::Duration progress_interval = absl::Milliseconds(250);
};

struct RunResult {
  // Warm-up records first, then the measured ones in send order.
  std::vector<RequestRecord> records;
  // From the first measured send to the end of the last measured call.
  double duration_s = 0;
};

// kInvalidArgument when neither a count nor a duration bounds the run or the arrival options are
// invalid; a workload error stops sending and is returned after in-flight calls ended.
absl::StatusOr<RunResult> RunLoad(StreamClient& client, Workload& workload,
                                  const RunOptions& options);

}  // namespace baton::loadgen
