// Memory read bandwidth of this machine, STREAM-style: each thread sums its own slice of a
// buffer far larger than the caches, and the figure is bytes read / wall time of the slowest
// thread. The bound the bench compares decode against (decode at batch 1 reads every weight once
// per token). Single caller; it starts and joins its own threads.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"

namespace baton::engine::tools {

struct ReadBandwidthOptions {
  int64_t buffer_bytes = int64_t{1} << 30;  // per measurement, split over the threads
  int32_t threads = 1;
  int32_t repetitions = 5;  // the best repetition is reported, as STREAM does
};

struct ReadBandwidth {
  double best_bytes_per_second = 0;
  double checksum = 0;  // the sum of the buffer, so the reads cannot be optimized away
};

// Fills the buffer, touches it once untimed, then times `repetitions` passes. kInvalidArgument
// unless buffer_bytes >= 4096 * threads, 1 <= threads <= 256 and repetitions >= 1.
absl::StatusOr<ReadBandwidth> MeasureReadBandwidth(const ReadBandwidthOptions& options);

}  // namespace baton::engine::tools
