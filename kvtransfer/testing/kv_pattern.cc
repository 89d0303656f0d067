#include "kvtransfer/testing/kv_pattern.h"

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/logging.h"

namespace baton::kvtransfer::testing {
namespace {

uint64_t SplitMix(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void PatternInto(char* out, size_t bytes, uint64_t seed, int32_t layer, int32_t block) {
  uint64_t state = seed * 1000003u + static_cast<uint64_t>(layer) * 7919u + block;
  for (size_t i = 0; i < bytes; i += 8) {
    const uint64_t v = SplitMix(state);
    std::memcpy(out + i, &v, std::min<size_t>(8, bytes - i));
  }
}

}  // namespace

HostPool::HostPool(const engine::KvLayout& layout, int32_t num_blocks, KvTransport* memory_from)
    : layout_(layout), num_blocks_(num_blocks), bytes_(layout.PoolBytes(num_blocks)) {
  absl::StatusOr<engine::PoolMemory> memory = memory_from != nullptr
                                                  ? memory_from->AllocatePoolMemory(bytes_)
                                                  : engine::AnonymousPoolMemory(bytes_);
  CHECK(memory.ok()) << memory.status();
  memory_ = *std::move(memory);
  if (!memory_.zeroed()) std::memset(memory_.base(), 0, bytes_);
}

void HostPool::FillPattern(const std::vector<int32_t>& blocks, uint64_t seed) {
  for (int32_t layer = 0; layer < layout_.num_layers; ++layer) {
    for (int32_t block : blocks) {
      PatternInto(Slab(layer, block), layout_.LayerBlockBytes(), seed, layer, block);
    }
  }
}

bool HostPool::SlabHasPattern(int32_t layer, int32_t block, uint64_t seed,
                              int32_t source_block) const {
  std::string expected(layout_.LayerBlockBytes(), '\0');
  PatternInto(expected.data(), expected.size(), seed, layer, source_block);
  return std::memcmp(expected.data(), Slab(layer, block), expected.size()) == 0;
}

bool HostPool::SlabIsZero(int32_t layer, int32_t block) const {
  const char* slab = Slab(layer, block);
  for (size_t i = 0; i < layout_.LayerBlockBytes(); ++i) {
    if (slab[i] != 0) return false;
  }
  return true;
}

engine::KvLayout OneBLayout() {
  engine::KvLayout layout;
  layout.num_layers = 16;
  layout.num_kv_heads = 8;
  layout.head_dim = 64;
  layout.block_size_tokens = 16;
  layout.dtype = engine::KvDType::kF16;
  return layout;
}

std::string HexEncode(absl::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

absl::StatusOr<std::string> HexDecode(absl::string_view hex) {
  if (hex == "-") return std::string();
  if (hex.size() % 2 != 0) return absl::InvalidArgumentError("odd hex length");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return absl::InvalidArgumentError("bad hex digit");
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

// Fields, space separated: transport address rkeys(comma, '-' if none) base pool_blocks layers
// kv_heads head_dim block_tokens dtype transfer_id checksum blocks(comma).
std::string TargetToLine(const KvTarget& target) {
  std::vector<std::string> keys;
  for (const std::string& key : target.remote_keys) keys.push_back(HexEncode(key));
  return absl::StrCat(
      target.transport, " ", target.worker_address.empty() ? "-" : HexEncode(target.worker_address),
      " ", keys.empty() ? "-" : absl::StrJoin(keys, ","), " ", target.base_address, " ",
      target.pool_num_blocks, " ", target.layout.num_layers, " ", target.layout.num_kv_heads, " ",
      target.layout.head_dim, " ", target.layout.block_size_tokens, " ",
      static_cast<int>(target.layout.dtype), " ", target.transfer_id, " ", target.checksum ? 1 : 0,
      " ", absl::StrJoin(target.block_ids, ","));
}

absl::StatusOr<KvTarget> TargetFromLine(absl::string_view line) {
  std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
  if (f.size() != 13) return absl::InvalidArgumentError(absl::StrCat("bad target line: ", line));
  KvTarget t;
  t.transport = f[0];
  auto address = HexDecode(f[1]);
  if (!address.ok()) return address.status();
  t.worker_address = *address;
  if (f[2] != "-") {
    for (absl::string_view key : absl::StrSplit(f[2], ',')) {
      auto decoded = HexDecode(key);
      if (!decoded.ok()) return decoded.status();
      t.remote_keys.push_back(*decoded);
    }
  }
  int dtype = 0, checksum = 0;
  if (!absl::SimpleAtoi(f[3], &t.base_address) || !absl::SimpleAtoi(f[4], &t.pool_num_blocks) ||
      !absl::SimpleAtoi(f[5], &t.layout.num_layers) ||
      !absl::SimpleAtoi(f[6], &t.layout.num_kv_heads) ||
      !absl::SimpleAtoi(f[7], &t.layout.head_dim) ||
      !absl::SimpleAtoi(f[8], &t.layout.block_size_tokens) || !absl::SimpleAtoi(f[9], &dtype) ||
      !absl::SimpleAtoi(f[10], &t.transfer_id) || !absl::SimpleAtoi(f[11], &checksum)) {
    return absl::InvalidArgumentError(absl::StrCat("bad number in target line: ", line));
  }
  t.layout.dtype = static_cast<engine::KvDType>(dtype);
  t.checksum = checksum != 0;
  for (absl::string_view b : absl::StrSplit(f[12], ',')) {
    int32_t block;
    if (!absl::SimpleAtoi(b, &block)) return absl::InvalidArgumentError("bad block id");
    t.block_ids.push_back(block);
  }
  return t;
}

}  // namespace baton::kvtransfer::testing
