// The node in one process: the chain over a real store, the consensus thread, restarts, and
// the genesis file. One validator (the node itself), so no transport is needed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>

#include "chaincode/genesis_file.h"
#include "chaincode/queries.h"
#include "node/node.h"
#include "tests/node/test_keys.h"

namespace nanum::node {
namespace {

class NodeTest : public ::testing::Test {
 protected:
  NodeTest() {
    dir_ = std::filesystem::temp_directory_path() / ("nanum-node-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    genesis_.info.name = "Test Community";
    genesis_.info.chain_id = "test-1";
    genesis_.info.genesis_time_ms = 1'700'000'000'000;
    genesis_.validators = {node_key_.public_key()};
    genesis_.members = {{"op", op_.public_key(), true}, {"a", a_.public_key(), false}};
  }
  ~NodeTest() override { std::filesystem::remove_all(dir_); }

  NodeOptions Options() const {
    NodeOptions o;
    o.data_dir = dir_.string();
    o.key = node_key_;
    o.genesis = genesis_;
    o.consensus.batch_delay_ms = 5;
    return o;
  }

  // Submits and waits for the outcome.
  std::pair<Status, std::optional<TxOutcome>> SubmitAndWait(Node* n, const Transaction& tx, bool wait) {
    std::promise<std::pair<Status, std::optional<TxOutcome>>> p;
    n->Submit(tx, wait, 5000, [&](const Status& s, const Hash256&, const std::optional<TxOutcome>& o) {
      p.set_value({s, o});
    });
    return p.get_future().get();
  }

  Transaction Transfer(const PrivateKey& from, std::uint64_t nonce, const std::string& to, std::uint64_t amount) {
    return SignedTransfer(genesis_.info.chain_id, from, nonce, to, amount);
  }

  std::filesystem::path dir_;
  PrivateKey node_key_ = KeyFrom(1), op_ = KeyFrom(2), a_ = KeyFrom(3);
  market::Genesis genesis_;
};

TEST_F(NodeTest, CommitsASubmittedTransactionAndAnswersWithItsResult) {
  std::unique_ptr<Node> n;
  ASSERT_TRUE(Node::Open(Options(), &n).ok());
  n->Start(nullptr);
  auto [s, outcome] = SubmitAndWait(n.get(), Transfer(a_, 1, "op", 250), true);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->code, 0u);
  EXPECT_GE(outcome->height, 1u);
  market::Member m;
  ASSERT_TRUE(market::GetMember(n->store(), "op", &m).ok());
  EXPECT_EQ(m.available, static_cast<std::int64_t>(genesis_.params.initial_grant + 250));

  // A failing transaction commits with its result code and changes nothing.
  auto [s2, o2] = SubmitAndWait(n.get(), Transfer(a_, 2, "op", 1'000'000'000), true);
  ASSERT_TRUE(s2.ok()) << s2.ToString();
  EXPECT_EQ(o2->code, static_cast<std::uint32_t>(market::Result::kInsufficientFunds));
  n->Stop();
}

TEST_F(NodeTest, SubmissionsNotYetTakenAreAnsweredUnavailableAtStop) {
  std::unique_ptr<Node> n;
  ASSERT_TRUE(Node::Open(Options(), &n).ok());
  // Not started: whatever is submitted waits in the queue until Stop.
  std::vector<Status::Code> codes;
  n->Submit(Transfer(a_, 1, "op", 1), true, 5000,
            [&](const Status& s, const Hash256&, const std::optional<TxOutcome>&) { codes.push_back(s.code()); });
  n->SubmitBatch({Transfer(a_, 2, "op", 1), Transfer(a_, 3, "op", 1)}, false, 0,
                 [&](std::size_t, const Status& s, const Hash256&, const std::optional<TxOutcome>&) {
                   codes.push_back(s.code());
                 });
  EXPECT_TRUE(codes.empty());
  n->Stop();
  EXPECT_EQ(codes, std::vector<Status::Code>(3, Status::Code::kUnavailable));
  // After Stop, at once.
  n->SubmitBatch({Transfer(a_, 4, "op", 1)}, false, 0,
                 [&](std::size_t, const Status& s, const Hash256&, const std::optional<TxOutcome>&) {
                   codes.push_back(s.code());
                 });
  EXPECT_EQ(codes.size(), 4u);
  EXPECT_EQ(codes.back(), Status::Code::kUnavailable);
}

TEST_F(NodeTest, RefusesBadRequestsAtOnce) {
  std::unique_ptr<Node> n;
  ASSERT_TRUE(Node::Open(Options(), &n).ok());
  n->Start(nullptr);
  Transaction good = Transfer(a_, 1, "op", 1);
  ASSERT_TRUE(SubmitAndWait(n.get(), good, true).first.ok());
  // Replayed: already committed.
  EXPECT_EQ(SubmitAndWait(n.get(), good, false).first.code(), Status::Code::kAlreadyExists);
  // Stale nonce.
  EXPECT_EQ(SubmitAndWait(n.get(), Transfer(a_, 1, "op", 2), false).first.code(),
            Status::Code::kFailedPrecondition);
  // Another chain.
  TxBody b;
  b.chain_id = "other-1";
  b.signer = a_.public_key();
  b.nonce = 5;
  b.payload = Payload{nanum::Transfer{"op", 1}};
  EXPECT_EQ(SubmitAndWait(n.get(), Transaction::Sign(b, a_), false).first.code(), Status::Code::kWrongChain);
  // Signed by someone else than the signer it names.
  b.chain_id = genesis_.info.chain_id;
  Transaction forged;
  ASSERT_TRUE(Transaction::Decode(Transaction::Sign(b, a_).Encode(), &forged).ok());
  std::string bytes = forged.Encode();
  bytes[bytes.size() - 1] ^= 1;
  ASSERT_TRUE(Transaction::Decode(bytes, &forged).ok());
  EXPECT_EQ(SubmitAndWait(n.get(), forged, false).first.code(), Status::Code::kBadSignature);
  EXPECT_EQ(n->status().head.height, 1u) << "nothing refused reached a block";
  n->Stop();
}

TEST_F(NodeTest, RestartsWhereItStoppedAndRefusesAnotherGenesis) {
  std::uint64_t height = 0;
  {
    std::unique_ptr<Node> n;
    ASSERT_TRUE(Node::Open(Options(), &n).ok());
    n->Start(nullptr);
    for (std::uint64_t i = 1; i <= 3; ++i) ASSERT_TRUE(SubmitAndWait(n.get(), Transfer(a_, i, "op", 1), true).first.ok());
    n->Stop();
    height = n->status().head.height;
  }
  {
    std::unique_ptr<Node> n;
    ASSERT_TRUE(Node::Open(Options(), &n).ok());
    EXPECT_EQ(n->status().head.height, height);
    n->Start(nullptr);
    ASSERT_TRUE(SubmitAndWait(n.get(), Transfer(a_, 4, "op", 1), true).first.ok()) << "commits go on";
    n->Stop();
  }
  NodeOptions other = Options();
  other.genesis.info.name = "Another Community";
  std::unique_ptr<Node> n;
  Status s = Node::Open(other, &n);
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(s.ToString().find("another genesis"), std::string::npos) << s.ToString();
}

// The votes a validator has sent live in the ledger's store (one synced write each). A data
// directory from an earlier version has them in a file of their own: it is read once, and
// gone after the first write, and a restart then finds the same state in the store.
TEST_F(NodeTest, KeepsItsConsensusStateInTheStoreAndReadsAnEarlierFileOnce) {
  pbft::HardState earlier;
  earlier.view = 7;
  std::filesystem::create_directories(dir_);
  const std::filesystem::path legacy = dir_ / "consensus-state";
  std::uint64_t view = 0;
  {
    std::ofstream f(legacy, std::ios::binary);
    f << earlier.Encode();
  }
  {
    std::unique_ptr<Node> n;
    Status s = Node::Open(Options(), &n);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(n->status().replica.view, 7u) << "the earlier version's votes were read";
    n->Start(nullptr);
    ASSERT_TRUE(SubmitAndWait(n.get(), Transfer(a_, 1, "op", 1), true).first.ok());
    n->Stop();
    view = n->status().replica.view;  // a restarted primary moves on a view: 8
  }
  EXPECT_GE(view, 8u);
  EXPECT_FALSE(std::filesystem::exists(legacy)) << "the file goes once the store holds the state";
  std::unique_ptr<Node> n;
  ASSERT_TRUE(Node::Open(Options(), &n).ok());
  EXPECT_EQ(n->status().replica.view, view) << "the state came back from the store";
}

TEST(GenesisFile, RoundTripsAndRefusesMistakes) {
  market::Genesis g;
  g.info.name = "Haneul";
  g.info.chain_id = "haneul-1";
  g.info.genesis_time_ms = 1'800'000'000'000;
  g.params.mechanism = static_cast<std::uint8_t>(market::Mechanism::kUniformPrice);
  g.params.slot_seconds = 5;
  g.validators = {KeyFrom(1).public_key(), KeyFrom(2).public_key()};
  std::sort(g.validators.begin(), g.validators.end());
  g.members = {{"op", KeyFrom(3).public_key(), true}};
  g.meters = {BindMeter{"m-op", "op", KeyFrom(4).public_key()}};
  market::Genesis back;
  ASSERT_TRUE(market::ParseGenesis(market::FormatGenesis(g), &back).ok());
  Block b1, b2;
  WriteSet w1, w2;
  ASSERT_TRUE(market::GenesisBlock(g, &b1, &w1).ok());
  ASSERT_TRUE(market::GenesisBlock(back, &b2, &w2).ok());
  EXPECT_EQ(b1.Hash(), b2.Hash()) << "the same community from its file";
  EXPECT_EQ(back.params.slot_seconds, 5u);

  market::Genesis x;
  EXPECT_EQ(market::ParseGenesis("{", &x).code(), Status::Code::kInvalidArgument);
  std::string typo = market::FormatGenesis(g);
  typo.replace(typo.find("\"community\""), 11, "\"comunity\"");
  Status s = market::ParseGenesis(typo, &x);
  EXPECT_NE(s.ToString().find("comunity"), std::string::npos) << s.ToString();
  std::string badkey = market::FormatGenesis(g);
  badkey.replace(badkey.find(KeyFrom(3).public_key().Hex()), 4, "zzzz");
  EXPECT_EQ(market::ParseGenesis(badkey, &x).code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace nanum::node
