#include "kvtransfer/inprocess/inprocess_kv_transport.h"

#include "gtest/gtest.h"
#include "kvtransfer/testing/transport_conformance.h"

namespace baton::kvtransfer {
namespace {

using testing::KvTransportConformanceTest;
using testing::TransportFactory;

INSTANTIATE_TEST_SUITE_P(InProcess, KvTransportConformanceTest,
                         ::testing::Values(TransportFactory{"inprocess",
                                                            &InProcessKvTransport::Create}),
                         testing::FactoryName);

}  // namespace
}  // namespace baton::kvtransfer
