// nanum-oracle's configuration: the documented sample loads, and mistakes are refused with
// the key and line.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "meter_oracle/config.h"

namespace nanum::oracle {
namespace {

TEST(OracleConfigTest, TheSampleLoads) {
  Config c;
  const Status s = LoadConfig(std::string(NANUM_SOURCE_DIR) + "/deploy/nanum-oracle.toml.sample", &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.data_dir, "/var/lib/nanum-oracle");
  EXPECT_EQ(c.node, "127.0.0.1:7701");
  ASSERT_EQ(c.meters.size(), 1u);
  EXPECT_EQ(c.meters[0].id, "m-alice");
  EXPECT_EQ(c.limits.max_current_ma, 16'000u);
  EXPECT_EQ(c.limits.min_voltage_mv, 50'000u);
  EXPECT_EQ(c.max_backoff_ms, 30'000u);
}

// The gateway template (deploy/gateway/nanum-oracle.toml) loads once its placeholders are
// filled in, and is refused before.
TEST(OracleConfigTest, TheGatewayTemplateLoads) {
  std::ifstream in(std::string(NANUM_SOURCE_DIR) + "/deploy/gateway/nanum-oracle.toml");
  std::stringstream text;
  text << in.rdbuf();
  std::string t = text.str();
  const std::filesystem::path path = std::filesystem::temp_directory_path() / "nanum-oracle-template-test.toml";
  std::ofstream(path) << t;
  Config c;
  EXPECT_FALSE(LoadConfig(path.string(), &c).ok()) << "placeholders must not pass as a meter id";
  t.replace(t.find("m-<household>"), std::strlen("m-<household>"), "m-ara");
  t.replace(t.find("<plug name>"), std::strlen("<plug name>"), "ara-plug");
  std::ofstream(path, std::ios::trunc) << t;
  const Status s = LoadConfig(path.string(), &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.data_dir, "/var/lib/nanum-oracle");
  EXPECT_EQ(c.node, "127.0.0.1:7701");
  ASSERT_EQ(c.meters.size(), 1u);
  EXPECT_EQ(c.meters[0].device, "ara-plug");
  std::filesystem::remove(path);
}

TEST(OracleConfigTest, MistakesAreRefused) {
  const std::filesystem::path path = std::filesystem::temp_directory_path() / "nanum-oracle-config-test.toml";
  const std::string base = "[oracle]\ndata_dir = \"d\"\nkey_file = \"k\"\ngenesis_file = \"g\"\n";
  const std::pair<std::string, const char*> cases[] = {
      {base, "no [[meter]]"},
      {base + "[[meter]]\nid = \"m-a\"\ndevice = \"p\"\nflowz = \"import\"\n", "unknown key meter.flowz (line 8)"},
      {base + "[[meter]]\nid = \"M A\"\ndevice = \"p\"\n", "is not a meter id"},
      {base + "[[meter]]\nid = \"m-a\"\ndevice = \"p\"\nflow = \"sideways\"\n", "meter.flow must be import or export"},
      {base + "[[meter]]\nid = \"m-a\"\ndevice = \"p\"\n[[meter]]\nid = \"m-b\"\ndevice = \"p\"\n", "device p is configured twice"},
      {base + "[[meter]]\nid = \"m-a\"\ndevice = \"p\"\n[[input]]\nfile = \"a\"\npipe = \"b\"\n", "one of file or pipe"},
      {base + "[[meter]]\nid = \"m-a\"\ndevice = \"p\"\n[checks]\nmin_voltage_v = 300\n", "min_voltage_v < max_voltage_v"},
      {"[oracle]\ndata_dir = \"d\"\n[[meter]]\nid = \"m-a\"\ndevice = \"p\"\n", "are required"},
  };
  for (const auto& [text, why] : cases) {
    std::ofstream(path) << text;
    Config c;
    const Status s = LoadConfig(path.string(), &c);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << text;
    EXPECT_NE(s.message().find(why), std::string::npos) << s.ToString();
  }
  std::filesystem::remove(path);
  Config c;
  EXPECT_TRUE(LoadConfig("/nonexistent/oracle.toml", &c).IsNotFound());
}

}  // namespace
}  // namespace nanum::oracle
