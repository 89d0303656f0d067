// How a sender cuts one layer of a transfer into runs, and the checks every StartWrite and
// Finish make.
// Shared by the transport implementations. Pure functions; no threading concerns.
//
// A run is a maximal stretch of the transfer's block list whose source blocks and destination
// blocks are both consecutive, so that its bytes are one contiguous range on each side: with
// fresh pools most layers are a single run, one message per layer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "kvtransfer/kv_target.h"
#include "kvtransfer/kv_transport.h"

namespace baton::kvtransfer {

// One run of one layer: entries [first_index, first_index + count) of the block lists.
struct SlabRun {
  int32_t layer = 0;
  int32_t first_index = 0;
  int32_t count = 0;
};

// Splits layer `layer` of a transfer into runs (see above), in block-list order. At most
// `max_run_blocks` blocks per run (> 0), which bounds message size.
std::vector<SlabRun> PlanLayer(const std::vector<int32_t>& source_block_ids,
                               const std::vector<int32_t>& target_block_ids, int32_t layer,
                               int32_t max_run_blocks);

// Byte range of a run within a pool of `num_blocks` blocks whose block list is `block_ids`.
// Precondition: the run's blocks are consecutive in `block_ids` (as PlanLayer makes them).
inline size_t RunOffset(const engine::KvLayout& layout, int32_t num_blocks,
                        const std::vector<int32_t>& block_ids, const SlabRun& run) {
  return layout.Offset(run.layer, block_ids[run.first_index], num_blocks);
}
inline size_t RunBytes(const engine::KvLayout& layout, const SlabRun& run) {
  return static_cast<size_t>(run.count) * layout.LayerBlockBytes();
}

// Whether block_ids[first_index, first_index + count) are consecutive block numbers.
bool IsConsecutive(const std::vector<int32_t>& block_ids, int32_t first_index, int32_t count);

// The checks of KvTransport::StartWrite: ValidateTarget, the target's transport is
// `transport_name` (kInvalidArgument), a non-null source inside its pool with as many blocks as
// the target (kInvalidArgument), equal layouts (kFailedPrecondition).
absl::Status ValidateWrite(const std::string& transport_name, const KvTarget& target,
                           const KvSource& source);

// The check of KvWriteStream::Finish: a payload of at most kMaxCompletionPayloadBytes
// (kInvalidArgument).
absl::Status ValidateCompletion(const Completion& completion);

}  // namespace baton::kvtransfer
