// Behavioural tests every KvTransport must pass, written once and instantiated per
// implementation with a factory:
//
//   INSTANTIATE_TEST_SUITE_P(InProcess, KvTransportConformanceTest,
//                            ::testing::Values(TransportFactory{"inprocess", MakeInProcess}));
//
// The factory is called once for the receiving side and once per sender, so cross-transport
// paths (separate UCX workers) are exercised even in one process. Test-only.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "kvtransfer/kv_transport.h"

namespace baton::kvtransfer::testing {

struct TransportFactory {
  std::string name;
  std::function<absl::StatusOr<std::unique_ptr<KvTransport>>()> make;
  // Pools (both sides) in memory from the transport's AllocatePoolMemory, as the workers use; else
  // anonymous mappings.
  bool pool_memory_from_transport = false;
};

inline std::string FactoryName(const ::testing::TestParamInfo<TransportFactory>& info) {
  return info.param.name;
}

class KvTransportConformanceTest : public ::testing::TestWithParam<TransportFactory> {
 protected:
  // Where a pool used with `transport` gets its memory (null: anonymous mapping).
  KvTransport* MemoryFrom(KvTransport& transport) const {
    return GetParam().pool_memory_from_transport ? &transport : nullptr;
  }
};

}  // namespace baton::kvtransfer::testing
