// The plug simulator, nanum-oracle and nanumd as real processes on loopback.
//
// alice's plug (solar, zigbee2mqtt over HTTP) feeds her oracle; alice sells to bob every
// slot. The node is stopped for several slots while the oracle keeps making readings; when
// it is back, the oracle flushes them, and is killed with SIGKILL in the middle of that
// flush and started again. Afterwards every slot's reading is on the ledger exactly once,
// in order (sequence numbers follow slots, one after another), nothing is left in or refused
// by the oracle's queue, and each slot's settlement used alice's measured export.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cluster/cluster.h"

namespace nanum::cluster {
namespace {

using nlohmann::json;
namespace pb = ::nanum::v1;

constexpr std::uint64_t kSlotS = 2;
constexpr std::uint64_t kSettlementDelayS = 20;  // longer than the outage and the flush

std::uint64_t NowMs() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}
void SleepMs(std::uint64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

pid_t Spawn(const std::vector<std::string>& argv, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::close(fd);
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  ::_exit(127);
}

void Signal(pid_t* pid, int sig) {
  if (*pid <= 0) return;
  ::kill(*pid, sig);
  int st = 0;
  ::waitpid(*pid, &st, 0);
  *pid = 0;
}

class OracleEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ClusterOptions o;
    o.dir = std::string(NANUM_TEST_DIR) + "/oracle-e2e-" + std::to_string(::getpid());
    o.nanumd = NANUM_NANUMD;
    o.nanumctl = NANUM_NANUMCTL;
    o.validators = 1;
    o.households = {"alice", "bob"};
    o.slot_seconds = kSlotS;
    // Slow blocks a little, so that flushing the backlog takes long enough to be cut short.
    o.consensus_toml = "batch_delay_ms = 150";
    std::string error;
    ASSERT_TRUE(Cluster::Create(o, &c_, &error)) << error;
    // Settlement waits for readings held back by the outage (MARKET.md: settlement_delay).
    const std::string genesis_path = o.dir + "/genesis.json";
    json g = json::parse(std::ifstream(genesis_path));
    g["params"]["settlement_delay_seconds"] = kSettlementDelayS;
    std::ofstream(genesis_path) << g.dump(2);
    ASSERT_TRUE(c_->Start(0));
    std::string why;
    ASSERT_TRUE(c_->WaitUntilUp(60'000, &why)) << why;

    oracle_http_ = "127.0.0.1:" + std::to_string(c_->options().base_port + 300);
    config_ = o.dir + "/oracle-alice.toml";
    std::ofstream(config_) << "[oracle]\n"
                           << "data_dir = \"data/oracle-alice\"\n"
                           << "key_file = \"keys/alice-oracle.key\"\n"
                           << "genesis_file = \"genesis.json\"\n"
                           << "http_listen = \"" << oracle_http_ << "\"\n\n"
                           << "[node]\naddress = \"" << c_->nodes()[0].api << "\"\nmax_backoff_ms = 500\n\n"
                           << "[[meter]]\nid = \"m-alice\"\ndevice = \"alice-plug\"\n\n"
                           << "[checks]\nclose_grace_ms = 300\n";
  }
  void TearDown() override {
    Signal(&sim_, SIGTERM);
    Signal(&oracle_, SIGTERM);
    if (!c_) return;
    c_->Stop(0);
    if (!HasFailure()) std::filesystem::remove_all(c_->options().dir);
  }

  void StartOracle() { oracle_ = Spawn({NANUM_ORACLE, "run", "--config", config_}, c_->options().dir + "/oracle.log"); }

  std::vector<pb::ReadingInfo> Readings() {
    pb::ListReadingsRequest req;
    req.set_meter("m-alice");
    req.set_limit(1000);
    pb::ListReadingsResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (!c_->nodes()[0].client->ListReadings(&ctx, req, &resp).ok()) return {};
    return {resp.readings().begin(), resp.readings().end()};
  }

  std::string Queue() {
    const std::string out = c_->options().dir + "/queue.json";
    const pid_t pid = Spawn({NANUM_ORACLE, "queue", "--json", "--config", config_}, out);
    int st = 0;
    ::waitpid(pid, &st, 0);
    std::ifstream in(out);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::filesystem::remove(out);
    return text;
  }

  std::unique_ptr<Cluster> c_;
  std::string config_, oracle_http_;
  pid_t oracle_ = 0, sim_ = 0;
};

TEST_F(OracleEndToEndTest, NodeDownForSlotsThenOracleKilledMidFlush) {
  StartOracle();
  sim_ = Spawn({NANUM_ORACLE, "simulate", "--plug", "alice-plug:solar", "--target", "http://" + oracle_http_,
                "--interval-ms", "200", "--time-scale", "450", "--start-hour", "10", "--seed", "7"},
               c_->options().dir + "/simulator.log");

  // alice sells 100 Wh to bob in each of six coming slots.
  const std::uint64_t first = NowMs() / (kSlotS * 1000) + 2;
  const std::uint64_t last = first + 5;
  std::string out;
  for (std::uint64_t s = first; s <= last; ++s) {
    const std::string slot = " --slot " + std::to_string(s);
    ASSERT_EQ(c_->Ctl(0, "order sell --key " + c_->KeyFile("alice") + " --wh 100 --price 5" + slot, &out), 0) << out;
    ASSERT_EQ(c_->Ctl(0, "order buy --key " + c_->KeyFile("bob") + " --wh 100 --price 5" + slot, &out), 0) << out;
  }

  // Readings land while the node runs.
  const std::uint64_t t0 = NowMs();
  while (Readings().size() < 2 && NowMs() < t0 + 20'000) SleepMs(200);
  ASSERT_GE(Readings().size(), 2u) << "no readings; logs in " << c_->options().dir;

  // The node goes away for four slots; the oracle keeps making readings and queues them.
  ASSERT_TRUE(c_->Stop(0));
  const std::uint64_t down_from = NowMs() / (kSlotS * 1000);
  SleepMs(4 * kSlotS * 1000 + 500);
  const std::uint64_t down_to = NowMs() / (kSlotS * 1000);
  const std::size_t before = Readings().size();  // 0: the node is down
  EXPECT_EQ(before, 0u);

  // Back: the oracle flushes its backlog, and is killed with SIGKILL in the middle of it.
  ASSERT_TRUE(c_->Start(0));
  std::string why;
  ASSERT_TRUE(c_->WaitUntilUp(60'000, &why)) << why;
  std::size_t on_ledger_at_start = 0;
  for (const auto& r : Readings()) on_ledger_at_start += r.slot() < down_from ? 1u : 0u;
  bool killed_mid_flush = false;
  const std::uint64_t t1 = NowMs();
  while (NowMs() < t1 + 30'000) {
    const std::vector<pb::ReadingInfo> rs = Readings();
    std::size_t held_back = 0, landed = 0;  // readings of the outage's slots
    for (const auto& r : rs) {
      if (r.slot() >= down_from && r.slot() < down_to) ++landed;
    }
    held_back = down_to - down_from;
    if (landed >= 1 && landed < held_back) {
      Signal(&oracle_, SIGKILL);
      killed_mid_flush = true;
      break;
    }
    SleepMs(20);
  }
  ASSERT_TRUE(killed_mid_flush) << "the flush was not caught in the middle; logs in " << c_->options().dir;
  EXPECT_GT(on_ledger_at_start, 0u);
  StartOracle();

  // Wait until the last traded slot settled.
  pb::ListSettlementsRequest sreq;
  sreq.set_member("alice");
  sreq.set_from(first);
  sreq.set_limit(100);
  pb::ListSettlementsResponse settlements;
  const std::uint64_t t2 = NowMs();
  for (;;) {
    grpc::ClientContext ctx;
    settlements.Clear();
    if (c_->nodes()[0].client->ListSettlements(&ctx, sreq, &settlements).ok() && settlements.settlements_size() > 0 &&
        settlements.settlements(settlements.settlements_size() - 1).slot() >= last) {
      break;
    }
    ASSERT_LT(NowMs(), t2 + 60'000) << "slot " << last << " did not settle; logs in " << c_->options().dir;
    SleepMs(500);
  }
  Signal(&sim_, SIGTERM);
  SleepMs(3 * kSlotS * 1000);  // the open slot closes and is flushed

  // Every slot from the first reading on has exactly one reading, in order.
  const std::vector<pb::ReadingInfo> rs = Readings();
  ASSERT_GE(rs.size(), 10u);
  for (std::size_t i = 1; i < rs.size(); ++i) {
    EXPECT_EQ(rs[i].slot(), rs[i - 1].slot() + 1) << "a slot is missing or repeated at " << i;
    EXPECT_EQ(rs[i].sequence(), rs[i - 1].sequence() + 1) << "sequence out of order at slot " << rs[i].slot();
    EXPECT_GE(rs[i].height(), rs[i - 1].height()) << "committed out of order at slot " << rs[i].slot();
    EXPECT_EQ(rs[i].cum_export_wh(), rs[i - 1].cum_export_wh() + rs[i].export_wh());
  }
  EXPECT_LE(rs.front().slot(), first);
  EXPECT_GE(rs.back().slot(), down_to);
  // Nothing waits in the oracle's queue, and nothing was refused.
  Signal(&oracle_, SIGTERM);
  const json q = json::parse(Queue());
  EXPECT_TRUE(q["pending"].empty()) << q.dump();
  EXPECT_TRUE(q["refused"].empty()) << q.dump();

  // Settlement used the measured export: alice exported far more than 100 Wh a slot.
  std::map<std::uint64_t, const pb::ReadingInfo*> by_slot;
  for (const auto& r : rs) by_slot[r.slot()] = &r;
  ASSERT_EQ(settlements.settlements_size(), static_cast<int>(last - first + 1));
  for (const auto& s : settlements.settlements()) {
    ASSERT_TRUE(by_slot.count(s.slot())) << s.slot();
    const pb::ReadingInfo& r = *by_slot[s.slot()];
    EXPECT_TRUE(s.export_measured()) << "slot " << s.slot();
    EXPECT_EQ(s.exported_wh(), r.export_wh()) << "slot " << s.slot();
    EXPECT_FALSE(r.late()) << "slot " << s.slot();
    EXPECT_GE(r.export_wh(), 100u) << "slot " << s.slot();
    EXPECT_EQ(s.sold_wh(), 100u);
    EXPECT_EQ(s.delivered_sold_wh(), 100u) << "slot " << s.slot();
    EXPECT_EQ(s.received(), 500) << "slot " << s.slot();
  }
}

}  // namespace
}  // namespace nanum::cluster
