#include "kvtransfer/ucx/ucx_settings.h"

#include <cstring>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace baton::kvtransfer {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

const char* NoEnv(const char*) { return nullptr; }

TEST(UcxSettingsTest, TunedDefaultsApplyWhenNothingElseNamesThem) {
  EXPECT_THAT(EffectiveUcxSettings({{"TLS", "tcp"}}, NoEnv),
              ElementsAre(Pair("RX_SEG_SIZE", "512K"), Pair("TLS", "tcp")));
  EXPECT_THAT(EffectiveUcxSettings({}, NoEnv), ElementsAre(Pair("RX_SEG_SIZE", "512K")));
}

TEST(UcxSettingsTest, TcpTuningOnlyWhereTcpMayBeUsed) {
  EXPECT_THAT(EffectiveUcxSettings({{"TLS", "posix,cma"}}, NoEnv),
              ElementsAre(Pair("TLS", "posix,cma")));
  EXPECT_THAT(EffectiveUcxSettings({{"TLS", "^tcp"}}, NoEnv), ElementsAre(Pair("TLS", "^tcp")));
  EXPECT_THAT(EffectiveUcxSettings({{"TLS", "^sysv"}}, NoEnv),
              ElementsAre(Pair("RX_SEG_SIZE", "512K"), Pair("TLS", "^sysv")));
  auto shm_env = [](const char* name) -> const char* {
    return std::strcmp(name, "UCX_TLS") == 0 ? "sm" : nullptr;
  };
  EXPECT_THAT(EffectiveUcxSettings({}, shm_env), ElementsAre());
  // The caller's TLS wins over the environment's.
  EXPECT_THAT(EffectiveUcxSettings({{"TLS", "tcp,posix"}}, shm_env),
              ElementsAre(Pair("RX_SEG_SIZE", "512K"), Pair("TLS", "tcp,posix")));
}

TEST(UcxSettingsTest, TlsAllows) {
  EXPECT_TRUE(TlsAllows("all", "tcp"));
  EXPECT_TRUE(TlsAllows("", "tcp"));
  EXPECT_TRUE(TlsAllows("sysv,TCP", "tcp"));
  EXPECT_FALSE(TlsAllows("sysv,posix,cma", "tcp"));
  EXPECT_FALSE(TlsAllows("^tcp,cma", "tcp"));
  EXPECT_TRUE(TlsAllows("^cma", "tcp"));
}

TEST(UcxSettingsTest, CallerSettingWinsWhateverItsCase) {
  EXPECT_THAT(EffectiveUcxSettings({{"tcp_rx_seg_size", "64K"}}, NoEnv),
              ElementsAre(Pair("tcp_rx_seg_size", "64K")));
}

TEST(UcxSettingsTest, CallerSettingWinsUnderTheOtherSpelling) {
  EXPECT_THAT(EffectiveUcxSettings({{"RX_SEG_SIZE", "1M"}}, NoEnv),
              ElementsAre(Pair("RX_SEG_SIZE", "1M")));
}

TEST(UcxSettingsTest, EnvironmentWins) {
  auto env = [](const char* name) -> const char* {
    return std::strcmp(name, "UCX_TCP_RX_SEG_SIZE") == 0 ? "128K" : nullptr;
  };
  EXPECT_THAT(EffectiveUcxSettings({{"TLS", "posix"}}, env), ElementsAre(Pair("TLS", "posix")));
}

}  // namespace
}  // namespace baton::kvtransfer
