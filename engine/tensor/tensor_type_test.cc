#include "engine/tensor/tensor_type.h"

#include <cmath>

#include "engine/tensor/fp16.h"
#include "gtest/gtest.h"

namespace baton::engine {
namespace {

TEST(TensorTypeTest, BlockGeometryMatchesGgml) {
  EXPECT_EQ(RowBytes(TensorType::kF32, 7), 28u);
  EXPECT_EQ(RowBytes(TensorType::kF16, 7), 14u);
  EXPECT_EQ(RowBytes(TensorType::kBF16, 3), 6u);
  EXPECT_EQ(RowBytes(TensorType::kQ4_0, 64), 36u);
  EXPECT_EQ(RowBytes(TensorType::kQ4_1, 32), 20u);
  EXPECT_EQ(RowBytes(TensorType::kQ5_0, 32), 22u);
  EXPECT_EQ(RowBytes(TensorType::kQ8_0, 32), 34u);
  EXPECT_EQ(RowBytes(TensorType::kQ4_K, 256), 144u);
  EXPECT_EQ(RowBytes(TensorType::kQ5_K, 256), 176u);
  EXPECT_EQ(RowBytes(TensorType::kQ6_K, 512), 420u);
  EXPECT_EQ(RowBytes(TensorType::kQ5_1, 64), 48u);
  EXPECT_EQ(RowBytes(TensorType::kQ2_K, 256), 84u);
  EXPECT_EQ(RowBytes(TensorType::kQ3_K, 512), 220u);
  EXPECT_EQ(RowBytes(TensorType::kIQ4_NL, 96), 54u);
  EXPECT_EQ(RowBytes(TensorType::kIQ4_XS, 256), 136u);
  EXPECT_EQ(TensorTypeName(TensorType::kIQ4_XS), "iq4_xs");
  EXPECT_EQ(TensorTypeName(TensorType::kQ6_K), "q6_K");
}

TEST(TensorTypeTest, FindRejectsUnknownIds) {
  EXPECT_FALSE(FindTensorTypeTraits(4).has_value());   // removed Q4_2
  EXPECT_FALSE(FindTensorTypeTraits(999).has_value());
  EXPECT_FALSE(FindTensorTypeTraits(9).has_value());   // Q8_1: an activation-only type
  EXPECT_FALSE(FindTensorTypeTraits(16).has_value());  // IQ2_XXS: not supported
  // The ggml ids of the types added for hub downloads.
  EXPECT_EQ(FindTensorTypeTraits(7)->type, TensorType::kQ5_1);
  EXPECT_EQ(FindTensorTypeTraits(10)->type, TensorType::kQ2_K);
  EXPECT_EQ(FindTensorTypeTraits(11)->type, TensorType::kQ3_K);
  EXPECT_EQ(FindTensorTypeTraits(20)->type, TensorType::kIQ4_NL);
  EXPECT_EQ(FindTensorTypeTraits(23)->type, TensorType::kIQ4_XS);
  ASSERT_TRUE(FindTensorTypeTraits(14).has_value());
  EXPECT_EQ(FindTensorTypeTraits(14)->type, TensorType::kQ6_K);
  for (TensorType t : kAllTensorTypes) {
    EXPECT_TRUE(FindTensorTypeTraits(static_cast<uint32_t>(t)).has_value());
  }
}

TEST(Fp16Test, RoundTripsEveryHalf) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = Fp16ToFloat(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(Fp16ToFloat(FloatToFp16(f))));
      continue;
    }
    EXPECT_EQ(FloatToFp16(f), h) << h;
  }
}

TEST(Fp16Test, RoundsToNearestEven) {
  EXPECT_EQ(Fp16ToFloat(FloatToFp16(1.0f + 1.0f / 2048)), 1.0f);           // tie -> even
  EXPECT_EQ(Fp16ToFloat(FloatToFp16(1.0f + 3.0f / 2048)), 1.0f + 2.0f / 1024);
  EXPECT_EQ(FloatToFp16(1e6f), 0x7c00);
  EXPECT_EQ(FloatToFp16(-1e6f), 0xfc00);
  EXPECT_EQ(Fp16ToFloat(FloatToFp16(65504.0f)), 65504.0f);
  EXPECT_EQ(Fp16ToFloat(FloatToFp16(3e-8f)), 5.9604645e-08f);  // smallest subnormal
}

TEST(Bf16Test, RoundsToNearestEven) {
  EXPECT_EQ(Bf16ToFloat(FloatToBf16(1.0f)), 1.0f);
  EXPECT_EQ(FloatToBf16(BitsToFloat(0x3f808000)), 0x3f80);  // tie -> even
  EXPECT_EQ(FloatToBf16(BitsToFloat(0x3f818000)), 0x3f82);  // tie -> even (up)
  EXPECT_EQ(FloatToBf16(BitsToFloat(0x3f808001)), 0x3f81);
}

}  // namespace
}  // namespace baton::engine
