#include "engine/gguf/gguf_file.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "common/status_matchers.h"
#include "common/testing/shared_data.h"
#include "engine/gguf/gguf_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace baton::engine::gguf {
namespace {

using ::baton::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr auto kDataLoss = absl::StatusCode::kDataLoss;
constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

std::string Bytes(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 7);
  return s;
}

// A small valid file with metadata of every kind and two tensors.
std::string SmallFile() {
  GgufWriter w;
  w.SetString("general.architecture", "llama");
  w.SetUint32("llama.block_count", 2);
  w.SetFloat32("llama.rope.freq_base", 10000.0f);
  w.SetStringArray("tokenizer.ggml.tokens", {"<s>", "a", "bc"});
  w.SetInt32Array("tokenizer.ggml.token_type", {1, 2, 3});
  EXPECT_OK(w.AddTensor("a", TensorType::kF32, {4, 2}, Bytes(32, 1)));
  EXPECT_OK(w.AddTensor("b", TensorType::kQ8_0, {32}, Bytes(34, 3)));
  return w.Serialize();
}

TEST(GgufFileTest, RoundTripsEveryValueType) {
  GgufWriter w;
  w.SetUint8("u8", 200);
  w.SetInt8("i8", -100);
  w.SetUint16("u16", 60000);
  w.SetInt16("i16", -30000);
  w.SetUint32("u32", 4000000000u);
  w.SetInt32("i32", -2000000000);
  w.SetUint64("u64", 1ull << 62);
  w.SetInt64("i64", -(1ll << 62));
  w.SetFloat32("f32", 1.5f);
  w.SetFloat64("f64", -2.25);
  w.SetBool("t", true);
  w.SetBool("f", false);
  w.SetString("s", "hello\0world");
  w.SetString("empty", "");
  w.SetStringArray("sa", {"x", "", "yz"});
  w.SetInt32Array("ia", {1, -2, 3});
  w.SetFloat32Array("fa", {0.5f, -1.0f});
  const uint16_t u16s[] = {1, 65535};
  w.SetArray("u16a", ValueType::kUint16, u16s, 2);
  const double f64s[] = {0.25, 8.0};
  w.SetArray("f64a", ValueType::kFloat64, f64s, 2);
  const uint64_t big[] = {1ull << 40};
  w.SetArray("u64a", ValueType::kUint64, big, 1);
  const uint8_t bools[] = {1, 0};
  w.SetArray("ba", ValueType::kBool, bools, 2);

  ASSERT_OK_AND_ASSIGN(auto f, GgufFile::FromBuffer(w.Serialize()));
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(*f->GetInt("u8"), 200);
  EXPECT_EQ(*f->GetInt("i8"), -100);
  EXPECT_EQ(*f->GetInt("u16"), 60000);
  EXPECT_EQ(*f->GetInt("i16"), -30000);
  EXPECT_EQ(*f->GetInt("u32"), 4000000000ll);
  EXPECT_EQ(*f->GetInt("i32"), -2000000000);
  EXPECT_EQ(*f->GetInt("u64"), 1ll << 62);
  EXPECT_EQ(*f->GetInt("i64"), -(1ll << 62));
  EXPECT_EQ(*f->GetFloat("f32"), 1.5);
  EXPECT_EQ(*f->GetFloat("f64"), -2.25);
  EXPECT_EQ(*f->GetFloat("i32"), -2000000000.0);  // ints widen to float
  EXPECT_TRUE(*f->GetBool("t"));
  EXPECT_FALSE(*f->GetBool("f"));
  EXPECT_EQ(*f->GetString("s"), "hello");  // string_view of a literal stops at the NUL
  EXPECT_EQ(*f->GetString("empty"), "");
  EXPECT_THAT(*f->GetStringArray("sa"), ElementsAre("x", "", "yz"));
  EXPECT_THAT(*f->GetIntArray("ia"), ElementsAre(1, -2, 3));
  EXPECT_THAT(*f->GetFloatArray("fa"), ElementsAre(0.5f, -1.0f));
  EXPECT_THAT(*f->GetIntArray("u16a"), ElementsAre(1, 65535));
  EXPECT_THAT(*f->GetFloatArray("f64a"), ElementsAre(0.25f, 8.0f));
  EXPECT_THAT(f->GetIntArray("u64a"), StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_EQ(f->GetArrayInfo("ba")->first, ValueType::kBool);
  EXPECT_EQ(f->GetArrayInfo("ba")->second, 2u);
  EXPECT_EQ(*f->GetType("f64"), ValueType::kFloat64);
  EXPECT_EQ(f->MetadataKeys().size(), 21u);
  EXPECT_EQ(f->MetadataKeys()[0], "u8");
  EXPECT_TRUE(f->Has("ba"));
  EXPECT_FALSE(f->Has("nope"));
  EXPECT_TRUE(f->tensors().empty());
}

TEST(GgufFileTest, GettersReportMissingAndWrongTypes) {
  ASSERT_OK_AND_ASSIGN(auto f, GgufFile::FromBuffer(SmallFile()));
  EXPECT_THAT(f->GetString("missing"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing")));
  EXPECT_THAT(f->GetInt("general.architecture"),
              StatusIs(kInvalid, HasSubstr("general.architecture")));
  EXPECT_THAT(f->GetString("llama.block_count"), StatusIs(kInvalid, HasSubstr("block_count")));
  EXPECT_THAT(f->GetBool("llama.block_count"), StatusIs(kInvalid));
  EXPECT_THAT(f->GetFloat("tokenizer.ggml.tokens"), StatusIs(kInvalid));
  EXPECT_THAT(f->GetIntArray("tokenizer.ggml.tokens"), StatusIs(kInvalid, HasSubstr("tokens")));
  EXPECT_THAT(f->GetStringArray("tokenizer.ggml.token_type"), StatusIs(kInvalid));
  EXPECT_THAT(f->GetStringArray("general.architecture"), StatusIs(kInvalid));
  EXPECT_EQ(*f->GetFloat("llama.rope.freq_base"), 10000.0);
}

TEST(GgufFileTest, TensorsPointAtTheirAlignedData) {
  for (uint32_t alignment : {32u, 64u, 8u}) {
    GgufWriter w(/*version=*/2, alignment);
    ASSERT_OK(w.AddTensor("x", TensorType::kQ4_K, {256, 3}, Bytes(144 * 3, 5)));
    ASSERT_OK(w.AddTensor("y", TensorType::kF16, {3, 1, 2}, Bytes(12, 9)));
    ASSERT_OK(w.AddTensor("z", TensorType::kBF16, {2, 1, 1, 2}, Bytes(8, 11)));
    ASSERT_OK_AND_ASSIGN(auto f, GgufFile::FromBuffer(w.Serialize()));
    EXPECT_EQ(f->version(), 2u);
    EXPECT_EQ(f->alignment(), alignment);
    EXPECT_EQ(f->data_offset() % alignment, 0u);
    ASSERT_EQ(f->tensors().size(), 3u);
    const TensorInfo* x = f->FindTensor("x");
    ASSERT_NE(x, nullptr);
    EXPECT_EQ(x->type, TensorType::kQ4_K);
    EXPECT_THAT(x->dims, ElementsAre(256, 3));
    EXPECT_EQ(x->num_elements(), 768);
    EXPECT_EQ(x->row_count(), 3);
    EXPECT_EQ(x->size_bytes, 432u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(x->data), x->size_bytes),
              Bytes(432, 5));
    const TensorInfo* y = f->FindTensor("y");
    ASSERT_NE(y, nullptr);
    EXPECT_EQ(y->row_count(), 2);
    EXPECT_EQ(y->offset % alignment, 0u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(y->data), 12), Bytes(12, 9));
    EXPECT_EQ(f->FindTensor("z")->num_elements(), 4);
    EXPECT_EQ(f->FindTensor("nope"), nullptr);
  }
}

TEST(GgufFileTest, AddTensorChecksShapeAgainstBytes) {
  GgufWriter w;
  EXPECT_THAT(w.AddTensor("a", TensorType::kQ8_0, {31}, Bytes(34, 0)), StatusIs(kInvalid));
  EXPECT_THAT(w.AddTensor("a", TensorType::kF32, {4}, Bytes(15, 0)), StatusIs(kInvalid));
  EXPECT_THAT(w.AddTensor("a", TensorType::kF32, {}, ""), StatusIs(kInvalid));
}

TEST(GgufFileTest, OpensFromDisk) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(tmp ? tmp : "/tmp") + "/small.gguf";
  GgufWriter w;
  w.SetString("general.name", "disk");
  ASSERT_OK(w.AddTensor("t", TensorType::kF32, {3}, Bytes(12, 2)));
  ASSERT_OK(w.WriteFile(path));
  ASSERT_OK_AND_ASSIGN(auto f, GgufFile::Open(path));
  EXPECT_EQ(*f->GetString("general.name"), "disk");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f->FindTensor("t")->data), 12),
            Bytes(12, 2));
  EXPECT_THAT(GgufFile::Open(path + ".missing"), StatusIs(absl::StatusCode::kNotFound));
  const std::string empty = std::string(tmp ? tmp : "/tmp") + "/empty.gguf";
  ASSERT_OK(GgufWriter().WriteFile(empty));
  std::FILE* e = std::fopen(empty.c_str(), "wb");  // truncate to 0 bytes
  std::fclose(e);
  EXPECT_THAT(GgufFile::Open(empty), StatusIs(kDataLoss, HasSubstr("magic")));
}

// Resident pages of this process (/proc/self/statm's second field).
int64_t ResidentPages() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  long size = 0, resident = 0;
  if (f == nullptr || std::fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
  if (f != nullptr) std::fclose(f);
  return resident;
}

TEST(GgufFileTest, ReleasedPagesLeaveResidentMemoryAndReadTheSameAfter) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(tmp ? tmp : "/tmp") + "/release.gguf";
  constexpr size_t kBytes = size_t{32} << 20;
  std::string data(kBytes, 0);
  for (size_t i = 0; i < kBytes; ++i) data[i] = static_cast<char>(i * 2654435761u >> 24);
  GgufWriter w;
  ASSERT_OK(w.AddTensor("t", TensorType::kF32, {static_cast<int64_t>(kBytes / 4)}, data));
  ASSERT_OK(w.WriteFile(path));
  ASSERT_OK_AND_ASSIGN(auto f, GgufFile::Open(path));
  const uint8_t* t = f->FindTensor("t")->data;
  ASSERT_EQ(std::memcmp(t, data.data(), kBytes), 0);  // every page mapped in
  const int64_t page = ::sysconf(_SC_PAGESIZE);
  const int64_t before = ResidentPages();
  f->ReleasePages(t, kBytes);
  const int64_t after = ResidentPages();
  // All but the partial pages at either end leave (other allocations may move a little).
  EXPECT_GT(before - after, static_cast<int64_t>(kBytes) / page * 9 / 10);
  EXPECT_EQ(std::memcmp(t, data.data(), kBytes), 0);
}

TEST(GgufFileTest, RejectsBadHeader) {
  std::string good = SmallFile();
  std::string bad_magic = good;
  bad_magic[0] = 'X';
  EXPECT_THAT(GgufFile::FromBuffer(bad_magic), StatusIs(kDataLoss, HasSubstr("magic")));
  EXPECT_THAT(GgufFile::FromBuffer(GgufWriter(/*version=*/1).Serialize()),
              StatusIs(kInvalid, HasSubstr("version")));
  EXPECT_THAT(GgufFile::FromBuffer(GgufWriter(/*version=*/4).Serialize()),
              StatusIs(kInvalid, HasSubstr("version")));

  std::string huge_tensors = good;
  const uint64_t huge = 1ull << 60;
  std::memcpy(&huge_tensors[8], &huge, 8);
  EXPECT_THAT(GgufFile::FromBuffer(huge_tensors), StatusIs(kDataLoss, HasSubstr("tensor_count")));
  std::string huge_kvs = good;
  std::memcpy(&huge_kvs[16], &huge, 8);
  EXPECT_THAT(GgufFile::FromBuffer(huge_kvs), StatusIs(kDataLoss, HasSubstr("kv_count")));
  std::string huge_key = good;
  std::memcpy(&huge_key[24], &huge, 8);  // length of the first key
  EXPECT_THAT(GgufFile::FromBuffer(huge_key), StatusIs(kDataLoss, HasSubstr("metadata key of '#0'")));
}

// Offset of the first metadata value's type field for key `k` (header is 24 bytes).
size_t FirstTypeOffset(std::string_view k) { return 24 + 8 + k.size(); }

TEST(GgufFileTest, RejectsBadMetadata) {
  {
    GgufWriter w;
    w.SetUint32("k", 1);
    std::string b = w.Serialize();
    const uint32_t unknown = 13;
    std::memcpy(&b[FirstTypeOffset("k")], &unknown, 4);
    EXPECT_THAT(GgufFile::FromBuffer(b), StatusIs(kInvalid, HasSubstr("unknown value type 13")));
  }
  {
    GgufWriter w;
    w.SetInt32Array("arr", {1, 2});
    std::string b = w.Serialize();
    const uint32_t unknown = 77;
    std::memcpy(&b[FirstTypeOffset("arr") + 4], &unknown, 4);  // the element type
    EXPECT_THAT(GgufFile::FromBuffer(b), StatusIs(kInvalid, HasSubstr("'arr'")));
    std::string huge = w.Serialize();
    const uint64_t count = 1ull << 61;
    std::memcpy(&huge[FirstTypeOffset("arr") + 8], &count, 8);  // the element count
    EXPECT_THAT(GgufFile::FromBuffer(huge), StatusIs(kDataLoss, HasSubstr("'arr'")));
  }
  {
    GgufWriter w;
    w.SetStringArray("sa", {"a", "b"});
    std::string b = w.Serialize();
    const uint64_t len = 1ull << 40;
    std::memcpy(&b[FirstTypeOffset("sa") + 12], &len, 8);  // length of the first string
    EXPECT_THAT(GgufFile::FromBuffer(b), StatusIs(kDataLoss, HasSubstr("'sa'")));
  }
  {
    GgufWriter w;
    w.SetUint32("dup", 1);
    w.SetUint32("dup", 2);
    EXPECT_THAT(GgufFile::FromBuffer(w.Serialize()), StatusIs(kInvalid, HasSubstr("repeats")));
  }
  {
    GgufWriter w(3, 48);
    EXPECT_THAT(GgufFile::FromBuffer(w.Serialize()),
                StatusIs(kInvalid, HasSubstr("general.alignment")));
  }
  {
    GgufWriter w;
    w.SetString("general.alignment", "32");
    EXPECT_THAT(GgufFile::FromBuffer(w.Serialize()),
                StatusIs(kInvalid, HasSubstr("general.alignment")));
  }
}

TEST(GgufFileTest, RejectsBadTensors) {
  auto one = [](uint32_t type, std::vector<uint64_t> dims, std::string data,
                std::optional<uint64_t> offset = {}) {
    GgufWriter w;
    w.AddRawTensor("t", type, dims, data, offset);
    return GgufFile::FromBuffer(w.Serialize()).status();
  };
  EXPECT_OK(one(0, {4}, Bytes(16, 0)));
  EXPECT_THAT(one(99, {4}, Bytes(16, 0)), StatusIs(kInvalid, HasSubstr("type 99")));
  EXPECT_THAT(one(4, {4}, Bytes(16, 0)), StatusIs(kInvalid, HasSubstr("type 4")));
  EXPECT_THAT(one(8, {31}, Bytes(34, 0)), StatusIs(kInvalid, HasSubstr("row length 31")));
  EXPECT_THAT(one(12, {32}, Bytes(144, 0)), StatusIs(kInvalid, HasSubstr("block size 256")));
  EXPECT_THAT(one(0, {}, ""), StatusIs(kInvalid, HasSubstr("n_dims 0")));
  EXPECT_THAT(one(0, {1, 1, 1, 1, 1}, Bytes(4, 0)), StatusIs(kInvalid, HasSubstr("n_dims 5")));
  EXPECT_THAT(one(0, {4, 0}, ""), StatusIs(kInvalid, HasSubstr("dim 1")));
  EXPECT_THAT(one(0, {1ull << 63}, ""), StatusIs(kInvalid, HasSubstr("dim 0")));
  EXPECT_THAT(one(0, {1ull << 40, 1ull << 30}, ""), StatusIs(kDataLoss, HasSubstr("overflow")));
  EXPECT_THAT(one(0, {1ull << 62}, ""), StatusIs(kDataLoss, HasSubstr("byte size overflows")));
  EXPECT_THAT(one(0, {1ull << 61}, ""), StatusIs(kDataLoss, HasSubstr("past the end")));
  EXPECT_THAT(one(0, {4}, Bytes(15, 0)), StatusIs(kDataLoss, HasSubstr("past the end")));
  EXPECT_THAT(one(0, {4}, Bytes(16, 0), 64), StatusIs(kDataLoss, HasSubstr("past the end")));
  EXPECT_THAT(one(0, {4}, Bytes(16, 0), 1ull << 63), StatusIs(kDataLoss));
  EXPECT_THAT(one(0, {4}, Bytes(16, 0), 16), StatusIs(kInvalid, HasSubstr("aligned")));

  GgufWriter overlap;
  overlap.AddRawTensor("a", 0, {8}, Bytes(32, 0));
  overlap.AddRawTensor("b", 0, {8}, Bytes(32, 0), 0);
  EXPECT_THAT(GgufFile::FromBuffer(overlap.Serialize()), StatusIs(kDataLoss, HasSubstr("overlap")));
  GgufWriter dup;
  dup.AddRawTensor("a", 0, {8}, Bytes(32, 0));
  dup.AddRawTensor("a", 0, {8}, Bytes(32, 0));
  EXPECT_THAT(GgufFile::FromBuffer(dup.Serialize()), StatusIs(kInvalid, HasSubstr("repeats")));
}

TEST(GgufFileTest, EveryTruncationIsDataLoss) {
  const std::string good = SmallFile();
  ASSERT_OK(GgufFile::FromBuffer(good).status());
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_THAT(GgufFile::FromBuffer(good.substr(0, n)), StatusIs(kDataLoss)) << "at " << n;
  }
}

// Flips bytes of the header one at a time to many values; the reader must never crash or read
// out of bounds (run under --config=asan), and whatever it accepts must be self-consistent.
TEST(GgufFileTest, CorruptBytesNeverCrash) {
  const std::string good = SmallFile();
  ASSERT_OK_AND_ASSIGN(auto parsed, GgufFile::FromBuffer(good));
  const size_t header_end = parsed->data_offset();
  int accepted = 0;
  for (size_t i = 0; i < header_end; ++i) {
    for (int v : {0x00, 0x01, 0x07, 0x20, 0x7f, 0x80, 0xff}) {
      std::string b = good;
      b[i] = static_cast<char>(v);
      auto f = GgufFile::FromBuffer(b);
      if (!f.ok()) continue;
      ++accepted;
      for (const std::string& key : (*f)->MetadataKeys()) {
        (void)(*f)->GetString(key);
        (void)(*f)->GetInt(key);
        (void)(*f)->GetFloat(key);
        (void)(*f)->GetStringArray(key);
        (void)(*f)->GetIntArray(key);
        (void)(*f)->GetFloatArray(key);
      }
      for (const TensorInfo& t : (*f)->tensors()) {
        ASSERT_NE(t.data, nullptr);
        ASSERT_LE(t.offset + t.size_bytes + (*f)->data_offset(), (*f)->file_size());
      }
    }
  }
  EXPECT_GT(accepted, 0);  // e.g. changes inside string payloads are benign
}

TEST(GgufFileTest, ReadsStories260K) {
  for (const char* name : {"models/stories260K.gguf", "models/stories260K-Q8_0.gguf"}) {
    auto path = baton::testing::SharedFile(name);
    if (!path) GTEST_SKIP() << "../shared not present (set BATON_SHARED_DIR)";
    ASSERT_OK_AND_ASSIGN(auto f, GgufFile::Open(*path));
    std::cout << name << ": GGUF v" << f->version() << ", " << f->MetadataKeys().size()
              << " keys, " << f->tensors().size() << " tensors\n";
    for (const std::string& key : f->MetadataKeys()) {
      std::cout << "  " << key << " : " << ValueTypeName(*f->GetType(key));
      if (auto s = f->GetString(key); s.ok()) std::cout << " = " << *s;
      if (auto i = f->GetInt(key); i.ok()) std::cout << " = " << *i;
      if (auto a = f->GetArrayInfo(key); a.ok()) {
        std::cout << " of " << ValueTypeName(a->first) << " [" << a->second << "]";
      }
      std::cout << "\n";
    }
    for (const TensorInfo& t : f->tensors()) {
      std::cout << "  " << t.name << " " << TensorTypeName(t.type) << " [";
      for (int64_t d : t.dims) std::cout << " " << d;
      std::cout << " ] " << t.size_bytes << " bytes\n";
    }
    EXPECT_EQ(*f->GetString("general.architecture"), "llama");
    ASSERT_OK_AND_ASSIGN(auto tokens, f->GetStringArray("tokenizer.ggml.tokens"));
    EXPECT_EQ(tokens.size(), 512u);
    EXPECT_NE(f->FindTensor("token_embd.weight"), nullptr);
  }
}

}  // namespace
}  // namespace baton::engine::gguf
