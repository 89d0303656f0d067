#include "kvtransfer/testing/transport_conformance.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_matchers.h"
#include "kvtransfer/testing/kv_pattern.h"
#include "kvtransfer/testing/waiters.h"

namespace baton::kvtransfer::testing {
namespace {

using ::baton::testing::IsOk;
using ::baton::testing::StatusIs;

engine::KvLayout SmallLayout() {
  engine::KvLayout layout;
  layout.num_layers = 3;
  layout.num_kv_heads = 2;
  layout.head_dim = 8;
  layout.block_size_tokens = 4;
  layout.dtype = engine::KvDType::kF16;
  return layout;
}

std::unique_ptr<KvTransport> Make() {
  auto transport = KvTransportConformanceTest::GetParam().make();
  EXPECT_THAT(transport.status(), IsOk());
  return transport.ok() ? std::move(*transport) : nullptr;
}

absl::Time Soon(absl::Duration d = absl::Seconds(20)) { return absl::Now() + d; }

void ExpectIdle(const KvTransport& transport) {
  EXPECT_THAT(testing::WaitUntilIdle(transport), ::baton::testing::IsOk());
}

// A payload of `size` bytes that covers every byte value (NULs included).
std::string BinaryPayload(size_t size) {
  std::string payload(size, '\0');
  for (size_t i = 0; i < size; ++i) payload[i] = static_cast<char>((i * 7 + i / 256) % 256);
  return payload;
}

// Writes every layer (in the given order), then Finish; returns Finish's status.
absl::Status WriteAll(KvWriteStream& stream, const std::vector<int32_t>& layers,
                      Completion completion) {
  std::vector<StatusWaiter> layer_waiters(layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    stream.WriteLayer(layers[i], layer_waiters[i].Callback());
  }
  for (StatusWaiter& waiter : layer_waiters) {
    absl::Status status = waiter.Wait();
    if (!status.ok()) return status;
  }
  StatusWaiter finish;
  stream.Finish(std::move(completion), finish.Callback());
  return finish.Wait();
}

TEST_P(KvTransportConformanceTest, BytesLandIntactInExactlyTheRightSlabs) {
  const engine::KvLayout layout = SmallLayout();
  auto receiving = Make();
  auto sending = Make();
  ASSERT_TRUE(receiving && sending);
  {
    HostPool dst(layout, 12, MemoryFrom(*receiving));
    HostPool src(layout, 8, MemoryFrom(*sending));
    const std::vector<int32_t> src_blocks = {0, 1, 2, 3, 6};
    const std::vector<int32_t> dst_blocks = {7, 3, 4, 5, 10};
    src.FillPattern({0, 1, 2, 3, 4, 5, 6, 7}, /*seed=*/11);
    ASSERT_OK_AND_ASSIGN(auto receiver, receiving->CreateReceiver(dst.data(), 12, layout));
    ReceiveWaiter received;
    ASSERT_OK_AND_ASSIGN(KvTarget target, receiver->ExpectTransfer(77, dst_blocks, {Soon(), false},
                                                                   received.Callback()));
    EXPECT_EQ(target.transport, sending->Capabilities().name);
    ASSERT_OK_AND_ASSIGN(auto stream,
                         sending->StartWrite(target, {src.data(), 8, layout, src_blocks}, Soon()));
    // The largest payload a completion may carry arrives byte for byte with the token.
    const std::string payload = BinaryPayload(kMaxCompletionPayloadBytes);
    EXPECT_THAT(WriteAll(*stream, {2, 0, 1}, {.first_token = 42, .payload = payload}), IsOk());
    absl::StatusOr<ReceiveResult> result = received.Wait();
    ASSERT_THAT(result.status(), IsOk());
    EXPECT_EQ(result->transfer_id, 77u);
    EXPECT_EQ(result->completion.first_token, 42);
    EXPECT_EQ(result->completion.payload, payload);
    EXPECT_EQ(result->bytes_received, 3 * 5 * layout.LayerBlockBytes());
    for (int32_t layer = 0; layer < layout.num_layers; ++layer) {
      for (size_t i = 0; i < dst_blocks.size(); ++i) {
        EXPECT_TRUE(dst.SlabHasPattern(layer, dst_blocks[i], 11, src_blocks[i]))
            << "layer " << layer << " block " << dst_blocks[i];
      }
      for (int32_t block : {0, 1, 2, 6, 8, 9, 11}) {
        EXPECT_TRUE(dst.SlabIsZero(layer, block)) << "layer " << layer << " block " << block;
      }
    }
    EXPECT_EQ(received.calls(), 1);
  }
  ExpectIdle(*receiving);
  ExpectIdle(*sending);
}

// A receiver whose prefix cache already holds every block of the prompt expects no block: only the
// completion (the first token) travels, and every layer's write is still acknowledged.
TEST_P(KvTransportConformanceTest, TransferOfNoBlocksDeliversTheCompletion) {
  const engine::KvLayout layout = SmallLayout();
  auto receiving = Make();
  auto sending = Make();
  ASSERT_TRUE(receiving && sending);
  {
    HostPool dst(layout, 4, MemoryFrom(*receiving));
    HostPool src(layout, 4, MemoryFrom(*sending));
    ASSERT_OK_AND_ASSIGN(auto receiver, receiving->CreateReceiver(dst.data(), 4, layout));
    ReceiveWaiter received;
    ASSERT_OK_AND_ASSIGN(KvTarget target,
                         receiver->ExpectTransfer(31, {}, {Soon(), true}, received.Callback()));
    EXPECT_TRUE(target.block_ids.empty());
    ASSERT_OK_AND_ASSIGN(auto stream,
                         sending->StartWrite(target, {src.data(), 4, layout, {}}, Soon()));
    EXPECT_THAT(WriteAll(*stream, {0, 1, 2}, {.first_token = 9}), IsOk());
    absl::StatusOr<ReceiveResult> result = received.Wait();
    ASSERT_THAT(result.status(), IsOk());
    EXPECT_EQ(result->completion.first_token, 9);
    EXPECT_EQ(result->bytes_received, 0u);
    for (int32_t layer = 0; layer < layout.num_layers; ++layer) {
      for (int32_t block = 0; block < 4; ++block) EXPECT_TRUE(dst.SlabIsZero(layer, block));
    }
  }
  ExpectIdle(*receiving);
  ExpectIdle(*sending);
}

TEST_P(KvTransportConformanceTest, ChecksummedTransferCompletes) {
  const engine::KvLayout layout = SmallLayout();
  auto receiving = Make();
  auto sending = Make();
  ASSERT_TRUE(receiving && sending);
  HostPool dst(layout, 4, MemoryFrom(*receiving)), src(layout, 4, MemoryFrom(*sending));
  src.FillPattern({0, 1, 2, 3}, 5);
  ASSERT_OK_AND_ASSIGN(auto receiver, receiving->CreateReceiver(dst.data(), 4, layout));
  ReceiveWaiter received;
  ASSERT_OK_AND_ASSIGN(KvTarget target,
                       receiver->ExpectTransfer(3, {2, 3}, {Soon(), true}, received.Callback()));
  EXPECT_TRUE(target.checksum);
  ASSERT_OK_AND_ASSIGN(auto stream,
                       sending->StartWrite(target, {src.data(), 4, layout, {0, 1}}, Soon()));
  EXPECT_THAT(WriteAll(*stream, {0, 1, 2}, {.first_token = 9}), IsOk());
  absl::StatusOr<ReceiveResult> result = received.Wait();
  ASSERT_THAT(result.status(), IsOk());
  EXPECT_EQ(result->completion.payload, "");
  EXPECT_TRUE(dst.SlabHasPattern(1, 3, 5, 1));
}

TEST_P(KvTransportConformanceTest, LayoutMismatchIsRejectedBeforeAnyByteMoves) {
  const engine::KvLayout layout = SmallLayout();
  engine::KvLayout other = layout;
  other.head_dim = 16;
  auto receiving = Make();
  auto sending = Make();
  ASSERT_TRUE(receiving && sending);
  HostPool dst(layout, 4, MemoryFrom(*receiving)), src(other, 4);
  ASSERT_OK_AND_ASSIGN(auto receiver, receiving->CreateReceiver(dst.data(), 4, layout));
  ReceiveWaiter received;
  ASSERT_OK_AND_ASSIGN(KvTarget target,
                       receiver->ExpectTransfer(5, {0, 1}, {Soon(), false}, received.Callback()));
  EXPECT_THAT(sending->StartWrite(target, {src.data(), 4, other, {0, 1}}, Soon()).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  KvTarget foreign = target;
  foreign.transport = "carrier-pigeon";
  EXPECT_THAT(sending->StartWrite(foreign, {src.data(), 4, layout, {0, 1}}, Soon()).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(sending->StartWrite(target, {src.data(), 4, layout, {0}}, Soon()).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  receiver->Abort(5);
  EXPECT_THAT(received.Wait().status(), StatusIs(absl::StatusCode::kAborted));
}

TEST_P(KvTransportConformanceTest, ExpectRejectsBadAndBusyBlocks) {
  const engine::KvLayout layout = SmallLayout();
  auto receiving = Make();
  ASSERT_TRUE(receiving);
  HostPool dst(layout, 4, MemoryFrom(*receiving));
  ASSERT_OK_AND_ASSIGN(auto receiver, receiving->CreateReceiver(dst.data(), 4, layout));
  ReceiveWaiter first;
  ASSERT_THAT(receiver->ExpectTransfer(1, {0, 1}, {Soon(), false}, first.Callback()).status(),
              IsOk());
  EXPECT_THAT(
      receiver->ExpectTransfer(2, {1, 2}, {Soon(), false}, ReceiveWaiter().Callback()).status(),
      StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(
      receiver->ExpectTransfer(1, {3}, {Soon(), false}, ReceiveWaiter().Callback()).status(),
      StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(
      receiver->ExpectTransfer(3, {4}, {Soon(), false}, ReceiveWaiter().Callback()).status(),
      StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      receiver->ExpectTransfer(3, {2, 2}, {Soon(), false}, ReceiveWaiter().Callback()).status(),
      StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      receiver->ExpectTransfer(0, {2}, {Soon(), false}, ReceiveWaiter().Callback()).status(),
      StatusIs(absl::StatusCode::kInvalidArgument));
  receiver->Abort(1);
  EXPECT_THAT(first.Wait().status(), StatusIs(absl::StatusCode::kAborted));
  // The blocks are free again once the abort was delivered.
  ReceiveWaiter again;
  EXPECT_THAT(receiver->ExpectTransfer(2, {1, 2}, {Soon(), false}, again.Callback()).status(),
              IsOk());
  receiver.reset();
  EXPECT_THAT(again.Wait().status(), StatusIs(absl::StatusCode::kAborted));
  ExpectIdle(*receiving);
}

TEST_P(KvTransportConformanceTest, PartialTransferIsNeverComplete) {
  const engine::KvLayout layout = SmallLayout();
  auto receiving = Make();
  auto sending = Make();
  ASSERT_TRUE(receiving && sending);
  HostPool dst(layout, 4, MemoryFrom(*receiving)), src(layout, 4, MemoryFrom(*sending));
  src.FillPattern({0, 1}, 3);
  ASSERT_OK_AND_ASSIGN(auto receiver, receiving->CreateReceiver(dst.data(), 4, layout));
  ReceiveWaiter received;
  ASSERT_OK_AND_ASSIGN(KvTarget target,
                       receiver->ExpectTransfer(9, {0, 1}, {Soon(absl::Milliseconds(500)), false},
                                                received.Callback()));
  ASSERT_OK_AND_ASSIGN(auto stream,
                       sending->StartWrite(target, {src.data(), 4, layout, {0, 1}}, Soon()));
  StatusWaiter l0, l1, finish;
  stream->WriteLayer(0, l0.Callback());
  stream->WriteLayer(1, l1.Callback());
  EXPECT_THAT(l0.Wait(), IsOk());
  EXPECT_THAT(l1.Wait(), IsOk());
  stream->Finish(Completion{1}, finish.Callback());  // Layer 2 never written.
  EXPECT_THAT(finish.Wait(), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(received.Wait().status(), StatusIs(absl::StatusCode::kDeadlineExceeded));
  receiver.reset();
  ExpectIdle(*receiving);
  ExpectIdle(*sending);
}

TEST_P(KvTransportConformanceTest, OversizedCompletionPayloadIsInvalidAndNeverCompletes) {
  const engine::KvLayout layout = SmallLayout();
  auto receiving = Make();
  auto sending = Make();
  ASSERT_TRUE(receiving && sending);
  HostPool dst(layout, 4, MemoryFrom(*receiving)), src(layout, 4, MemoryFrom(*sending));
  ASSERT_OK_AND_ASSIGN(auto receiver, receiving->CreateReceiver(dst.data(), 4, layout));
  ReceiveWaiter received;
  ASSERT_OK_AND_ASSIGN(KvTarget target,
                       receiver->ExpectTransfer(12, {0, 1}, {Soon(absl::Milliseconds(500)), false},
                                                received.Callback()));
  ASSERT_OK_AND_ASSIGN(auto stream,
                       sending->StartWrite(target, {src.data(), 4, layout, {0, 1}}, Soon()));
  Completion oversized{.first_token = 1,
                       .payload = BinaryPayload(kMaxCompletionPayloadBytes + 1)};
  EXPECT_THAT(WriteAll(*stream, {0, 1, 2}, std::move(oversized)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(received.Wait().status(), StatusIs(absl::StatusCode::kDeadlineExceeded));
  receiver.reset();
  ExpectIdle(*receiving);
  ExpectIdle(*sending);
}

TEST_P(KvTransportConformanceTest, WritesForAbortedTransferAreDropped) {
  const engine::KvLayout layout = SmallLayout();
  auto receiving = Make();
  auto sending = Make();
  ASSERT_TRUE(receiving && sending);
  HostPool dst(layout, 4, MemoryFrom(*receiving)), src(layout, 4, MemoryFrom(*sending));
  src.FillPattern({0, 1}, 3);
  ASSERT_OK_AND_ASSIGN(auto receiver, receiving->CreateReceiver(dst.data(), 4, layout));
  ReceiveWaiter received;
  ASSERT_OK_AND_ASSIGN(KvTarget target,
                       receiver->ExpectTransfer(4, {2, 3}, {Soon(), false}, received.Callback()));
  receiver->Abort(4);
  EXPECT_THAT(received.Wait().status(), StatusIs(absl::StatusCode::kAborted));
  ASSERT_OK_AND_ASSIGN(auto stream,
                       sending->StartWrite(target, {src.data(), 4, layout, {0, 1}}, Soon()));
  StatusWaiter done;
  stream->WriteLayer(0, done.Callback());
  done.Wait();  // Whatever the sender learns, the bytes must not land.
  for (int i = 0; i < 100 && receiving->Stats().dropped_writes == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_GT(receiving->Stats().dropped_writes, 0);
  for (int32_t block = 0; block < 4; ++block) EXPECT_TRUE(dst.SlabIsZero(0, block));
  stream->Cancel();
  EXPECT_EQ(received.calls(), 1);
}

TEST_P(KvTransportConformanceTest, CancelAbortsBothSides) {
  const engine::KvLayout layout = SmallLayout();
  auto receiving = Make();
  auto sending = Make();
  ASSERT_TRUE(receiving && sending);
  HostPool dst(layout, 4, MemoryFrom(*receiving)), src(layout, 4, MemoryFrom(*sending));
  ASSERT_OK_AND_ASSIGN(auto receiver, receiving->CreateReceiver(dst.data(), 4, layout));
  ReceiveWaiter received;
  ASSERT_OK_AND_ASSIGN(KvTarget target,
                       receiver->ExpectTransfer(6, {0, 1}, {Soon(), false}, received.Callback()));
  ASSERT_OK_AND_ASSIGN(auto stream,
                       sending->StartWrite(target, {src.data(), 4, layout, {0, 1}}, Soon()));
  StatusWaiter l0, l1, finish;
  stream->WriteLayer(0, l0.Callback());
  EXPECT_THAT(l0.Wait(), IsOk());
  stream->Cancel();
  stream->WriteLayer(1, l1.Callback());
  EXPECT_THAT(l1.Wait(), StatusIs(absl::StatusCode::kAborted));
  stream->Finish(Completion{1}, finish.Callback());
  EXPECT_THAT(finish.Wait(), StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(received.Wait().status(), StatusIs(absl::StatusCode::kAborted));
  receiver.reset();
  ExpectIdle(*receiving);
  ExpectIdle(*sending);
}

TEST_P(KvTransportConformanceTest, SenderDeadlinePasses) {
  const engine::KvLayout layout = SmallLayout();
  auto receiving = Make();
  auto sending = Make();
  ASSERT_TRUE(receiving && sending);
  HostPool dst(layout, 4, MemoryFrom(*receiving)), src(layout, 4, MemoryFrom(*sending));
  ASSERT_OK_AND_ASSIGN(auto receiver, receiving->CreateReceiver(dst.data(), 4, layout));
  ReceiveWaiter received;
  ASSERT_OK_AND_ASSIGN(KvTarget target,
                       receiver->ExpectTransfer(8, {0}, {Soon(), false}, received.Callback()));
  ASSERT_OK_AND_ASSIGN(auto stream, sending->StartWrite(target, {src.data(), 4, layout, {0}},
                                                        absl::Now() + absl::Milliseconds(200)));
  absl::SleepFor(absl::Milliseconds(300));
  StatusWaiter l0;
  stream->WriteLayer(0, l0.Callback());
  EXPECT_THAT(l0.Wait(), StatusIs(absl::StatusCode::kDeadlineExceeded));
  receiver->Abort(8);
  EXPECT_THAT(received.Wait().status(), StatusIs(absl::StatusCode::kAborted));
  receiver.reset();
  ExpectIdle(*receiving);
  ExpectIdle(*sending);
}

TEST_P(KvTransportConformanceTest, ConcurrentSendersIntoOnePool) {
  const engine::KvLayout layout = SmallLayout();
  auto receiving = Make();
  ASSERT_TRUE(receiving);
  constexpr int kSenders = 3;
  HostPool dst(layout, 3 * kSenders, MemoryFrom(*receiving));
  ASSERT_OK_AND_ASSIGN(auto receiver, receiving->CreateReceiver(dst.data(), 3 * kSenders, layout));
  std::vector<std::unique_ptr<KvTransport>> senders;
  std::vector<std::unique_ptr<HostPool>> sources;
  std::vector<std::unique_ptr<KvWriteStream>> streams;
  std::vector<ReceiveWaiter> received(kSenders);
  std::vector<StatusWaiter> finished(kSenders);
  for (int s = 0; s < kSenders; ++s) {
    senders.push_back(Make());
    ASSERT_TRUE(senders.back());
    sources.push_back(std::make_unique<HostPool>(layout, 3, MemoryFrom(*senders.back())));
    sources.back()->FillPattern({0, 1, 2}, 100 + s);
    // Interleaved destination blocks: sender s owns s, s + 3, s + 6.
    ASSERT_OK_AND_ASSIGN(KvTarget target,
                         receiver->ExpectTransfer(10 + s, {s, s + 3, s + 6}, {Soon(), s == 1},
                                                  received[s].Callback()));
    ASSERT_OK_AND_ASSIGN(
        auto stream,
        senders[s]->StartWrite(target, {sources[s]->data(), 3, layout, {0, 1, 2}}, Soon()));
    streams.push_back(std::move(stream));
  }
  for (int32_t layer = 0; layer < layout.num_layers; ++layer) {
    for (int s = 0; s < kSenders; ++s) streams[s]->WriteLayer(layer, [](absl::Status) {});
  }
  for (int s = 0; s < kSenders; ++s) {
    streams[s]->Finish({.first_token = s, .payload = absl::StrCat("sender ", s)},
                       finished[s].Callback());
  }
  for (int s = 0; s < kSenders; ++s) {
    EXPECT_THAT(finished[s].Wait(), IsOk());
    absl::StatusOr<ReceiveResult> result = received[s].Wait();
    ASSERT_THAT(result.status(), IsOk());
    EXPECT_EQ(result->completion.first_token, s);
    EXPECT_EQ(result->completion.payload, absl::StrCat("sender ", s));
    for (int32_t layer = 0; layer < layout.num_layers; ++layer) {
      for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(dst.SlabHasPattern(layer, s + 3 * i, 100 + s, i));
      }
    }
  }
  receiver.reset();
  ExpectIdle(*receiving);
  for (auto& sender : senders) ExpectIdle(*sender);
}

}  // namespace
}  // namespace baton::kvtransfer::testing
