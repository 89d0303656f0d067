// Test fixture for UCX between real processes on loopback: this test process holds one
// UcxKvTransport, ucx_peer children (kvtransfer/ucx/ucx_peer.cc) the other ends. Parameterized by
// a Wire: the UCX transports and write mode both sides use, and where their pools live.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/status_matchers.h"
#include "gtest/gtest.h"
#include "kvtransfer/testing/child_process.h"
#include "kvtransfer/ucx/ucx_kv_transport.h"

namespace baton::kvtransfer::testing {

struct Wire {
  std::string name;
  std::string tls;   // UCX_TLS of both processes.
  std::string mode;  // ucx_peer's --write_mode: am, put or auto.
  // Both processes' pools: "transport" (AllocatePoolMemory, as the workers) or "mmap".
  std::string pool_memory = "mmap";
};

// Elapsed time on the monotonic clock. The transport's deadlines are wall-clock times, but checks
// of how long something took must not fail when the machine's clock is stepped (seen here: a
// 9-second step failed a check that had really taken one second).
class Stopwatch {
 public:
  absl::Duration Elapsed() const {
    return absl::FromChrono(std::chrono::steady_clock::now() - start_);
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

inline std::string WireName(const ::testing::TestParamInfo<Wire>& info) {
  return info.param.name;
}

class UcxCrossProcessFixture : public ::testing::TestWithParam<Wire> {
 protected:
  std::unique_ptr<KvTransport> MakeTransport() {
    using WriteMode = UcxKvTransport::Options::WriteMode;
    UcxKvTransport::Options options;
    options.ucx_config = {{"TLS", GetParam().tls}, {"NET_DEVICES", "lo"}};
    options.write_mode = GetParam().mode == "am"    ? WriteMode::kActiveMessage
                         : GetParam().mode == "put" ? WriteMode::kPut
                                                    : WriteMode::kAuto;
    // A killed put writer cannot say it stopped (shared memory has no peer-failure detection).
    options.put_quarantine = absl::Milliseconds(300);
    auto transport = UcxKvTransport::Create(options);
    EXPECT_THAT(transport.status(), ::baton::testing::IsOk());
    return transport.ok() ? std::move(*transport) : nullptr;
  }
  // Where this process's pools used with `transport` get their memory.
  KvTransport* MemoryFrom(KvTransport& transport) const {
    return GetParam().pool_memory == "transport" ? &transport : nullptr;
  }
  // A ucx_peer in `role` on this wire, with `extra_flags`.
  std::unique_ptr<ChildProcess> StartPeer(const std::string& role,
                                          const std::vector<std::string>& extra_flags = {}) {
    std::vector<std::string> argv = {RunfilePath("kvtransfer/ucx/ucx_peer"), "--role=" + role,
                                     "--tls=" + GetParam().tls, "--write_mode=" + GetParam().mode,
                                     "--blocks=64", "--pool_memory=" + GetParam().pool_memory};
    argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
    auto child = ChildProcess::Start(argv);
    EXPECT_THAT(child.status(), ::baton::testing::IsOk());
    return child.ok() ? std::move(*child) : nullptr;
  }
};

}  // namespace baton::kvtransfer::testing
