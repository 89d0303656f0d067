#include "kvtransfer/write_plan.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace baton::kvtransfer {

std::vector<SlabRun> PlanLayer(const std::vector<int32_t>& source_block_ids,
                               const std::vector<int32_t>& target_block_ids, int32_t layer,
                               int32_t max_run_blocks) {
  std::vector<SlabRun> runs;
  const int32_t n = static_cast<int32_t>(source_block_ids.size());
  int32_t start = 0;
  while (start < n) {
    int32_t end = start + 1;
    while (end < n && end - start < max_run_blocks &&
           source_block_ids[end] == source_block_ids[end - 1] + 1 &&
           target_block_ids[end] == target_block_ids[end - 1] + 1) {
      ++end;
    }
    runs.push_back(SlabRun{layer, start, end - start});
    start = end;
  }
  return runs;
}

bool IsConsecutive(const std::vector<int32_t>& block_ids, int32_t first_index, int32_t count) {
  for (int32_t i = first_index + 1; i < first_index + count; ++i) {
    if (block_ids[i] != block_ids[i - 1] + 1) return false;
  }
  return true;
}

absl::Status ValidateWrite(const std::string& transport_name, const KvTarget& target,
                           const KvSource& source) {
  RETURN_IF_ERROR(ValidateTarget(target));
  if (target.transport != transport_name) {
    return absl::InvalidArgumentError(absl::StrCat("KvTarget is for transport '", target.transport,
                                                   "', this is '", transport_name, "'"));
  }
  if (source.pool_base == nullptr) return absl::InvalidArgumentError("KvSource has no pool");
  if (source.block_ids.size() != target.block_ids.size()) {
    return absl::InvalidArgumentError(absl::StrCat("KvSource has ", source.block_ids.size(),
                                                   " blocks, KvTarget ", target.block_ids.size()));
  }
  for (int32_t block : source.block_ids) {
    if (block < 0 || block >= source.pool_num_blocks) {
      return absl::InvalidArgumentError(absl::StrCat(
          "KvSource block ", block, " outside its pool of ", source.pool_num_blocks, " blocks"));
    }
  }
  return CheckLayoutCompatible(source.layout, target);
}

absl::Status ValidateCompletion(const Completion& completion) {
  if (completion.payload.size() > kMaxCompletionPayloadBytes) {
    return absl::InvalidArgumentError(absl::StrCat("completion payload of ",
                                                   completion.payload.size(),
                                                   " bytes; at most ", kMaxCompletionPayloadBytes));
  }
  return absl::OkStatus();
}

}  // namespace baton::kvtransfer
