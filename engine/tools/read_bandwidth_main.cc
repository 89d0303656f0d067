// read_bandwidth: this machine's memory read bandwidth (the decode bound the bench quotes).
//   bazel run -c opt //engine/tools:read_bandwidth -- --gib 1 --threads 1,2
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "engine/tools/flag_values.h"
#include "engine/tools/read_bandwidth.h"

ABSL_FLAG(double, gib, 1.0, "buffer size in GiB (far larger than the caches)");
ABSL_FLAG(std::string, threads, "1,2", "thread counts to measure, comma separated");
ABSL_FLAG(int32_t, r, 5, "repetitions per thread count (the best is reported)");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  auto counts = baton::engine::tools::ParseTokenList(absl::GetFlag(FLAGS_threads));
  if (!counts.ok()) {
    std::cerr << "--threads: " << counts.status() << "\n";
    return 2;
  }
  std::printf("| threads | buffer GiB | read GB/s (best of %d) |\n|---|---|---|\n",
              absl::GetFlag(FLAGS_r));
  for (int32_t threads : *counts) {
    baton::engine::tools::ReadBandwidthOptions o;
    o.buffer_bytes = static_cast<int64_t>(absl::GetFlag(FLAGS_gib) * (1 << 30));
    o.threads = threads;
    o.repetitions = absl::GetFlag(FLAGS_r);
    auto bw = baton::engine::tools::MeasureReadBandwidth(o);
    if (!bw.ok()) {
      std::cerr << "read_bandwidth: " << bw.status() << "\n";
      return 1;
    }
    std::printf("| %d | %.2f | %.1f |\n", threads, absl::GetFlag(FLAGS_gib),
                bw->best_bytes_per_second / 1e9);
  }
  return 0;
}
