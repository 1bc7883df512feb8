// The local community of deploy/community.sh, run as the README's first command runs it
// (minus the build), with 5-second slots: 4 validators, 6 followers, 10 households with an
// oracle, a simulated plug and a trading agent each. It checks, through the gRPC API and
// nanumctl live, that orders matched, every household's readings landed and slots settled
// on measured energy; that `community.sh stop` stops every process cleanly; and that a
// second start continues the same ledger.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "nanum/v1/node.grpc.pb.h"
#include "tests/cluster/cluster.h"

namespace nanum {
namespace {

using nlohmann::json;

const std::vector<std::string> kHouseholds = {"ara", "bom", "chan", "dana", "eun", "gaon", "hana", "iseul", "jun", "mirae"};

using cluster::Shell;

class LocalCommunityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::string(NANUM_TEST_DIR) + "/local-community";
    std::filesystem::remove_all(dir_);
    base_ = cluster::FreePortBase(10);
    env_ = "NANUM_HOME='" + dir_ + "' NANUM_BIN='" + NANUM_BUILD_DIR + "' NANUM_SLOT_SECONDS=5 NANUM_BASE_PORT=" +
           std::to_string(base_) + " ";
    for (int i = 0; i < 10; ++i) {
      nodes_.push_back(v1::Nanum::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(base_ + i),
                                                              grpc::InsecureChannelCredentials())));
    }
  }
  void TearDown() override {
    std::string out;
    Script("stop", &out);
  }

  int Script(const std::string& cmd, std::string* out) {
    return Shell(env_ + "'" + NANUM_SOURCE_DIR + "/deploy/community.sh' " + cmd, out);
  }

  bool Status(int i, v1::NodeStatus* st) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return nodes_[static_cast<std::size_t>(i)]->GetStatus(&ctx, v1::GetStatusRequest{}, st).ok();
  }

  std::vector<v1::SettlementInfo> Settlements(std::uint64_t slot) {
    v1::ListSettlementsRequest req;
    req.set_slot(slot);
    req.set_limit(100);
    v1::ListSettlementsResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (!nodes_[0]->ListSettlements(&ctx, req, &resp).ok()) return {};
    return {resp.settlements().begin(), resp.settlements().end()};
  }

  std::size_t Readings(int node, const std::string& meter) {
    v1::ListReadingsRequest req;
    req.set_meter(meter);
    req.set_limit(1000);
    v1::ListReadingsResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (!nodes_[static_cast<std::size_t>(node)]->ListReadings(&ctx, req, &resp).ok()) return 0;
    return static_cast<std::size_t>(resp.readings_size());
  }

  std::string dir_, env_;
  int base_ = 0;
  std::vector<std::unique_ptr<v1::Nanum::Stub>> nodes_;
};

TEST_F(LocalCommunityTest, TradesSettlesStopsAndResumes) {
  std::string out;
  ASSERT_EQ(Script("start", &out), 0) << out;
  EXPECT_NE(out.find("point nanumctl at it"), std::string::npos) << out;
  v1::NodeStatus st;
  ASSERT_TRUE(Status(0, &st));
  const std::uint64_t slot_ms = 5000, first_slot = st.block_time_ms() / slot_ms;

  // Wait for a slot after the start that settled with energy delivered on measured readings.
  std::uint64_t settled_slot = 0;
  for (int tries = 0; tries < 150 && settled_slot == 0; ++tries) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    if (!Status(0, &st)) continue;
    const std::uint64_t now_slot = st.block_time_ms() / slot_ms;
    for (std::uint64_t s = first_slot; s < now_slot && settled_slot == 0; ++s) {
      std::uint64_t delivered = 0, measured_sellers = 0;
      for (const auto& x : Settlements(s)) {
        delivered += x.delivered_sold_wh();
        if (x.sold_wh() != 0 && x.export_measured()) ++measured_sellers;
      }
      if (delivered > 0 && measured_sellers > 0) settled_slot = s;
    }
  }
  ASSERT_NE(settled_slot, 0u) << "no slot settled with delivered energy; logs in " << dir_ << "/logs";

  // Every household's oracle landed readings, and every node (followers too) has them.
  for (std::size_t k = 0; k < kHouseholds.size(); ++k) {
    EXPECT_GE(Readings(static_cast<int>(k), "m-" + kHouseholds[k]), 2u) << kHouseholds[k];
  }
  for (int i = 0; i < 10; ++i) {
    v1::NodeStatus s;
    ASSERT_TRUE(Status(i, &s)) << "node " << i;
    EXPECT_GT(s.height(), 0u) << "node " << i;
  }

  // What the README's first command shows: nanumctl live, a slot that cleared and one that settled.
  const std::string ctl = std::string(NANUM_BUILD_DIR) + "/cli/nanumctl --node 127.0.0.1:" + std::to_string(base_);
  Shell("timeout -s INT 4 " + ctl + " --json live --back 6", &out);
  bool cleared = false, settled = false;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] != '{') continue;
    const json j = json::parse(line);
    if (j["event"] == "closed" && j["contracts"].get<std::uint64_t>() > 0) {
      cleared = true;
      EXPECT_GT(j["clearing_price"].get<std::uint64_t>(), 0u) << line;  // uniform-price matching
      EXPECT_GT(j["traded_wh"].get<std::uint64_t>(), 0u) << line;
    }
    if (j["event"] == "settled" && j["delivered_wh"].get<std::uint64_t>() > 0) settled = true;
  }
  EXPECT_TRUE(cleared) << out;
  EXPECT_TRUE(settled) << out;

  // Stop: every process gone, and the oracles refused nothing.
  ASSERT_TRUE(Status(0, &st));
  const std::uint64_t height_before = st.height();
  ASSERT_EQ(Script("stop", &out), 0) << out;
  EXPECT_NE(Script("status", &out), 0) << out;
  EXPECT_NE(out.find("0 of 40 processes running"), std::string::npos) << out;
  for (const std::string& h : kHouseholds) {
    Shell(std::string(NANUM_BUILD_DIR) + "/meter_oracle/nanum-oracle queue --json --config '" + dir_ + "/oracle-" + h + ".toml'",
        &out);
    const json q = json::parse(out);
    EXPECT_TRUE(q["refused"].empty()) << h << ": " << out;
  }

  // Start again: the same ledger goes on.
  ASSERT_EQ(Script("start", &out), 0) << out;
  ASSERT_TRUE(Status(0, &st));
  EXPECT_GE(st.height(), height_before);
  bool grew = false;
  for (int tries = 0; tries < 30 && !grew; ++tries) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    grew = Status(0, &st) && st.height() > height_before;
  }
  EXPECT_TRUE(grew) << "the restarted community made no block";
  ASSERT_EQ(Script("stop", &out), 0) << out;
}

}  // namespace
}  // namespace nanum
