// A full trading cycle on real nanumd processes (4 validators, 2 followers, loopback, 5 s
// slots), driven only through nanumctl and the gRPC API: registration, orders, matching,
// readings, settlement, and balances exactly as MARKET.md says.
#include <gtest/gtest.h>

#include <sstream>

#include <chrono>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "ledger/block.h"
#include "tests/cluster/cluster.h"

namespace nanum::cluster {
namespace {

using nlohmann::json;

std::uint64_t NowMs() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

class CommunityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ClusterOptions o;
    o.dir = std::string(NANUM_TEST_DIR) + "/community-" + std::to_string(::getpid());
    o.nanumd = NANUM_NANUMD;
    o.nanumctl = NANUM_NANUMCTL;
    o.validators = 4;
    o.followers = 2;
    o.households = {"alice", "bob", "carol"};
    o.slot_seconds = 5;
    o.consensus_toml = "batch_delay_ms = 5\nrequest_timeout_ms = 1000\nresend_interval_ms = 100";
    std::string error;
    ASSERT_TRUE(Cluster::Create(o, &c_, &error)) << error;
    for (std::size_t i = 0; i < c_->nodes().size(); ++i) ASSERT_TRUE(c_->Start(i));
    std::string why;
    ASSERT_TRUE(c_->WaitUntilUp(60'000, &why)) << "nodes did not come up: " << why;
  }
  void TearDown() override {
    if (!c_) return;
    for (std::size_t i = 0; i < c_->nodes().size(); ++i) EXPECT_TRUE(c_->Stop(i)) << c_->nodes()[i].name;
    if (!HasFailure()) std::filesystem::remove_all(c_->options().dir);
  }

  // nanumctl --json against node i; expects exit code `want`. Waits first until node i has
  // every block a previous command saw committed (followers trail by a fetch).
  json Ctl(std::size_t i, const std::string& args, int want = 0) {
    std::string out;
    SyncTo(i, seen_height_);
    const int rc = c_->Ctl(i, "--json " + args, &out);
    EXPECT_EQ(rc, want) << "nanumctl " << args << "\n" << out;
    const auto nl = out.rfind('\n', out.size() >= 2 ? out.size() - 2 : 0);
    const std::string last = out.substr(nl == std::string::npos ? 0 : nl + 1);
    json j = json::parse(last, nullptr, false);
    if (j.is_object() && j.contains("committed") && j["committed"] == true) {
      seen_height_ = std::max<std::uint64_t>(seen_height_, j["height"].get<std::uint64_t>());
    }
    return j;
  }
  void SyncTo(std::size_t i, std::uint64_t height) {
    for (int tries = 0; tries < 200; ++tries) {
      v1::NodeStatus st;
      if (c_->Status(i, &st) && st.height() >= height) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }
  std::string Rows(std::size_t i, const std::string& args) {
    std::string out;
    SyncTo(i, seen_height_);
    EXPECT_EQ(c_->Ctl(i, "--json " + args, &out), 0) << out;
    return out;
  }
  std::string Key(const std::string& name) { return c_->KeyFile(name); }

  std::unique_ptr<Cluster> c_;
  std::uint64_t seen_height_ = 0;
};

TEST_F(CommunityTest, ATradingCycleSettlesExactlyAsTheMarketRulesSay) {
  const json market = Ctl(4, "market");
  ASSERT_EQ(market["slot_seconds"], 5);
  const std::int64_t grant = market["initial_grant"];

  // Registration: the admin registers dave, who gets the initial grant.
  const std::string dave_key = c_->options().dir + "/keys/dave.key";
  std::string out;
  ASSERT_EQ(c_->Ctl(0, "--json keygen " + dave_key, &out), 0) << out;
  const std::string dave_pub = json::parse(out)["public_key"];
  EXPECT_EQ(Ctl(1, "register --key " + Key("admin") + " --member dave --member-key " + dave_pub)["result"], "ok");
  EXPECT_EQ(Ctl(5, "balance --member dave")["available"], grant);

  // Orders for a slot two ahead, through validators and followers alike.
  const std::uint64_t L = 5000;
  const std::uint64_t slot = NowMs() / L + 2;
  const std::string s = " --slot " + std::to_string(slot);
  EXPECT_EQ(Ctl(0, "order sell --key " + Key("alice") + " --wh 1000 --price 5" + s)["result"], "ok");
  // bob's buy at 7 meets alice's resting sell at 5: 600 Wh at 5, and (7 − 5) × 600 back at once.
  EXPECT_EQ(Ctl(4, "order buy --key " + Key("bob") + " --wh 600 --price 7" + s)["result"], "ok");
  EXPECT_EQ(Ctl(2, "order buy --key " + Key("carol") + " --wh 400 --price 5" + s)["result"], "ok");
  // A buy beyond one's means is refused and changes nothing.
  EXPECT_EQ(Ctl(3, "order buy --key " + Key("dave") + " --wh 1000000 --price 1000" + s, 3)["result"],
            "insufficient_funds");

  json bob = Ctl(5, "balance --key " + Key("bob"));
  EXPECT_EQ(bob["escrow"], 600 * 5);
  EXPECT_EQ(bob["available"], grant - 600 * 5);
  std::string rows = Rows(1, "contracts --slot " + std::to_string(slot));
  std::vector<json> contracts;
  for (std::size_t p = 0, q; (q = rows.find('\n', p)) != std::string::npos; p = q + 1) contracts.push_back(json::parse(rows.substr(p, q - p)));
  ASSERT_EQ(contracts.size(), 2u) << rows;
  EXPECT_EQ(contracts[0]["seller"], "alice");
  EXPECT_EQ(contracts[0]["buyer"], "bob");
  EXPECT_EQ(contracts[0]["quantity_wh"], 600);
  EXPECT_EQ(contracts[0]["price"], 5);
  EXPECT_EQ(contracts[1]["buyer"], "carol");
  EXPECT_EQ(contracts[1]["quantity_wh"], 400);

  // The slot ends; the oracles sign what the meters measured. carol took only 300 of her 400 Wh.
  while (NowMs() < (slot + 1) * L + 1200) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const std::string r = " --slot " + std::to_string(slot) + " --sequence 1";
  EXPECT_EQ(Ctl(0, "reading --key " + Key("alice-oracle") + " --meter m-alice --export-wh 1000 --cum-export-wh 1000" + r)["result"], "ok");
  EXPECT_EQ(Ctl(1, "reading --key " + Key("bob-oracle") + " --meter m-bob --import-wh 600 --cum-import-wh 600" + r)["result"], "ok");
  EXPECT_EQ(Ctl(5, "reading --key " + Key("carol-oracle") + " --meter m-carol --import-wh 300 --cum-import-wh 300" + r)["result"], "ok");
  // A reading signed by the wrong oracle is refused.
  EXPECT_EQ(Ctl(0, "reading --key " + Key("bob-oracle") + " --meter m-alice --export-wh 1 --cum-export-wh 1001 --slot " +
                       std::to_string(slot) + " --sequence 2", 3)["result"],
            "wrong_oracle");

  // Settlement: the first block at or after the slot's end plus the settlement delay (5 s).
  json slot_info;
  for (int tries = 0; tries < 200; ++tries) {
    slot_info = Ctl(3, "slot --slot " + std::to_string(slot));
    if (slot_info["phase"] == "settled") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(slot_info["phase"], "settled");
  v1::NodeStatus settled_at;
  ASSERT_TRUE(c_->Status(3, &settled_at));
  seen_height_ = settled_at.height();  // the settlement came in a block no command waited for
  EXPECT_EQ(slot_info["traded_wh"], 1000);

  // alice delivered in full: 600 × 5 from bob and, as carol took 300 of 400, 300 × 5 from
  // carol; carol's other 100 × 5 returns to her. No penalty: the seller was not short.
  const json alice = Ctl(4, "balance --member alice");
  bob = Ctl(5, "balance --member bob");
  const json carol = Ctl(0, "balance --member carol");
  EXPECT_EQ(alice["available"], grant + 600 * 5 + 300 * 5);
  EXPECT_EQ(bob["available"], grant - 600 * 5);
  EXPECT_EQ(bob["escrow"], 0);
  EXPECT_EQ(carol["available"], grant - 300 * 5);
  EXPECT_EQ(carol["escrow"], 0);
  rows = Rows(2, "settlements --member carol");
  const json carol_settlement = json::parse(rows.substr(0, rows.find('\n')));
  EXPECT_EQ(carol_settlement["bought_wh"], 400);
  EXPECT_EQ(carol_settlement["imported_wh"], 300);
  EXPECT_EQ(carol_settlement["delivered_bought_wh"], 300);
  EXPECT_EQ(carol_settlement["paid"], 300 * 5);
  EXPECT_EQ(carol_settlement["refunded"], 100 * 5);

  // Every node, followers included, holds the same ledger: the same block hashes and state
  // roots. (Certificates may differ: each node keeps the quorum of commit votes it collected.)
  v1::NodeStatus first;
  ASSERT_TRUE(c_->Status(0, &first));
  for (std::size_t i = 0; i < c_->nodes().size(); ++i) {
    SyncTo(i, first.height());
    v1::GetBlockRequest req;
    req.set_height(first.height());
    v1::BlockResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(c_->nodes()[i].client->GetBlock(&ctx, req, &resp).ok()) << c_->nodes()[i].name;
    Block b;
    ASSERT_TRUE(Block::Decode(resp.block().block(), &b).ok());
    EXPECT_EQ(ToHex(b.Hash()), ToHex(first.block_hash())) << c_->nodes()[i].name;
    EXPECT_EQ(ToHex(b.header.state_root), ToHex(first.state_root())) << c_->nodes()[i].name;
    ASSERT_TRUE(b.certificate.has_value());
  }

  // alice's event feed from the start, as her household's software would follow it: her sell
  // order accepted, filled by bob and by carol, two contracts, and the slot's settlement.
  std::string feed;
  c_->Ctl(4, "--json watch --member alice --from-height 0", &feed, 3);
  std::vector<std::string> kinds;
  std::istringstream lines(feed);
  for (std::string line; std::getline(lines, line);) {
    const json e = json::parse(line, nullptr, false);
    if (e.is_object()) kinds.push_back(e["kind"]);
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"order_accepted", "order_filled", "contract", "order_filled", "contract",
                                             "settlement"}))
      << feed;

  // The auditor replays the ledger from the genesis file: over gRPC from a follower, and
  // offline from a stopped validator's data directory. Everything above must hold.
  const std::string genesis = c_->options().dir + "/genesis.json";
  json audit = Ctl(5, "audit --quiet --genesis " + genesis);
  EXPECT_EQ(audit["ok"], true) << audit.dump();
  EXPECT_GE(audit["head_height"].get<std::uint64_t>(), first.height());
  EXPECT_GT(audit["transactions"].get<std::uint64_t>(), 0u);
  ASSERT_TRUE(c_->Stop(1));
  EXPECT_EQ(c_->Ctl(1, "--json audit --quiet --genesis " + genesis + " --data-dir " + c_->options().dir + "/data/validator-1",
                    &out),
            0)
      << out;
  audit = json::parse(out, nullptr, false);
  EXPECT_EQ(audit["ok"], true) << out;
  EXPECT_EQ(audit["source"], c_->options().dir + "/data/validator-1");
}

// docs/OPERATING.md's promotion, on real processes: an admin approves the four validators
// plus follower-0's key; at the approved height every node switches, follower-0 reports
// itself a validator, its signature appears in commit certificates, and commits go on.
TEST_F(CommunityTest, AFollowerIsPromotedToValidator) {
  const std::size_t follower = 4;
  v1::NodeStatus st;
  ASSERT_TRUE(c_->Status(follower, &st));
  ASSERT_FALSE(st.validator());
  const std::string new_key = ToHex(st.node_key());
  json vals = Ctl(0, "validators");
  std::string keys;
  for (const auto& k : vals["validators"]) keys += " " + k.get<std::string>();
  ASSERT_EQ(vals["validators"].size(), 4u);
  json r = Ctl(0, "set-validators --key " + Key("admin") + keys + " " + new_key);
  ASSERT_EQ(r["result"], "ok") << r;
  vals = Ctl(0, "validators");
  ASSERT_EQ(vals["pending"].size(), 5u) << vals;
  const std::uint64_t from = vals["pending_from_height"].get<std::uint64_t>();

  // Empty blocks carry the chain to the change height; every node switches there.
  bool switched = false;
  for (int tries = 0; tries < 600 && !switched; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    switched = c_->Status(follower, &st) && st.height() >= from + 2 && st.validator() && st.validators() == 5;
  }
  ASSERT_TRUE(switched) << "follower-0 at height " << st.height() << ", change at " << from << ", validator "
                        << st.validator() << ", validators " << st.validators();
  for (std::size_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(c_->Status(i, &st));
    EXPECT_EQ(st.validators(), 5u) << c_->nodes()[i].name;
  }

  // Commits go on, and the promoted node signs them.
  r = Ctl(follower, "transfer --key " + Key("alice") + " --to bob 7");
  ASSERT_EQ(r["result"], "ok") << r;
  bool signed_by_new = false;
  for (int tries = 0; tries < 100 && !signed_by_new; ++tries) {
    ASSERT_TRUE(c_->Status(0, &st));
    std::string out;
    ASSERT_EQ(c_->Ctl(0, "--json block " + std::to_string(st.height()), &out), 0) << out;
    const json b = json::parse(out.substr(0, out.find('\n')));
    for (const auto& k : b["certificate"]["signers"]) signed_by_new = signed_by_new || k == new_key;
    if (!signed_by_new) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(signed_by_new) << "no certificate signed by the promoted node";
}

}  // namespace
}  // namespace nanum::cluster
