// The chain as consensus sees it (node/app.h), over an in-memory store: what it remembers of
// admitted transactions must never let a committed one in again, and blocks built on
// uncommitted ancestors must see those ancestors' writes.
#include "node/app.h"

#include <gtest/gtest.h>

#include "chaincode/queries.h"
#include "tests/node/test_keys.h"

namespace nanum::node {
namespace {

constexpr std::uint64_t kGenesisMs = 1'700'000'000'000;

class AppTest : public ::testing::Test {
 protected:
  AppTest() {
    genesis_.info.name = "Test Community";
    genesis_.info.chain_id = "test-1";
    genesis_.info.genesis_time_ms = kGenesisMs;
    genesis_.validators = {validator_.public_key()};
    genesis_.members = {{"op", op_.public_key(), true}, {"a", a_.public_key(), false}};
    store_ = Store::NewInMemory();
    Block g;
    WriteSet w;
    EXPECT_TRUE(market::GenesisBlock(genesis_, &g, &w).ok());
    EXPECT_TRUE(store_->Append(g, {}, w).ok());
    app_ = std::make_unique<ChainApp>(store_.get(), genesis_.info.chain_id);
  }

  Transaction Transfer(std::uint64_t nonce, std::uint64_t amount) const {
    return SignedTransfer(genesis_.info.chain_id, a_, nonce, "op", amount);
  }

  // Builds a block on `parent` at `height`; fails the test if any transaction is left out.
  Block Build(const Hash256& parent, std::uint64_t height, const std::vector<Transaction>& txs) {
    Block b;
    std::vector<std::pair<Hash256, Status>> rejected;
    const Status s = app_->Build(parent, height, kGenesisMs + height * 1000, validator_.public_key(), txs, &b, &rejected);
    EXPECT_TRUE(s.ok()) << s.ToString();
    for (const auto& [id, st] : rejected) ADD_FAILURE() << "left out " << ToHex(id) << ": " << st.ToString();
    return b;
  }

  // Commits `b` with the one validator's certificate.
  std::vector<TxResult> Commit(Block b) {
    CommitCertificate cert;
    cert.block_hash = b.Hash();
    cert.signatures.push_back({validator_.public_key(), validator_.Sign(CommitDigest(b.header.height, 0, cert.block_hash))});
    b.certificate = cert;
    std::vector<TxResult> results;
    const Status s = app_->Apply(b, &results);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return results;
  }

  Hash256 Head() const { return store_->Head()->hash; }

  PrivateKey validator_ = KeyFrom(1), op_ = KeyFrom(2), a_ = KeyFrom(3);
  market::Genesis genesis_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ChainApp> app_;
};

TEST_F(AppTest, AnAdmittedTransactionOnceCommittedIsRefusedEverywhere) {
  // (This test failed twice in full ctest runs, and never in thousands of runs alone; every
  // check says what it saw, so that the next failure does.)
  const Transaction tx = Transfer(1, 10);
  const Status admitted = app_->Admit(tx);
  ASSERT_TRUE(admitted.ok()) << admitted.ToString();
  Commit(Build(Head(), 1, {tx}));

  // As a request again.
  const Status again = app_->Admit(tx);
  EXPECT_EQ(again.code(), Status::Code::kAlreadyExists) << again.ToString();
  // In a block this node builds: left out, and named.
  Block b;
  std::vector<std::pair<Hash256, Status>> rejected;
  const Status built = app_->Build(Head(), 2, kGenesisMs + 2000, validator_.public_key(), {tx, Transfer(2, 1)}, &b, &rejected);
  ASSERT_TRUE(built.ok()) << built.ToString();
  std::string why;
  for (const auto& [id, st] : rejected) why += ToHex(id) + ": " + st.ToString() + "; ";
  ASSERT_EQ(rejected.size(), 1u) << "transaction " << ToHex(tx.id()) << "; rejected: " << why;
  EXPECT_EQ(rejected[0].first, tx.id());
  ASSERT_EQ(b.txs.size(), 1u);
  // In a block another primary proposes.
  Block forged = b;
  forged.txs.push_back(tx);
  forged.header.tx_root = TxRoot(forged.txs);
  const Status s = app_->Check(forged);
  EXPECT_EQ(s.code(), Status::Code::kAlreadyExists) << s.ToString();
  EXPECT_NE(s.ToString().find("already committed"), std::string::npos) << s.ToString();
}

TEST_F(AppTest, BlocksOnUncommittedAncestorsSeeTheirWrites) {
  const std::int64_t grant = static_cast<std::int64_t>(genesis_.params.initial_grant);
  // Block 1 moves a's whole grant; block 2, built on it before it commits, cannot move more;
  // block 3, on both, sees block 1's nonce through block 2.
  const Block b1 = Build(Head(), 1, {Transfer(1, static_cast<std::uint64_t>(grant))});
  const Block b2 = Build(b1.Hash(), 2, {Transfer(2, 1)});
  const Block b3 = Build(b2.Hash(), 3, {Transfer(1, 1)});
  EXPECT_EQ(Commit(b1)[0].code, 0u);
  EXPECT_EQ(Commit(b2)[0].code, static_cast<std::uint32_t>(market::Result::kInsufficientFunds));
  EXPECT_EQ(Commit(b3)[0].code, static_cast<std::uint32_t>(market::Result::kStaleNonce));
  market::Member a, op;
  ASSERT_TRUE(market::GetMember(*store_, "a", &a).ok());
  ASSERT_TRUE(market::GetMember(*store_, "op", &op).ok());
  EXPECT_EQ(a.available, 0);
  EXPECT_EQ(op.available, 2 * grant);
}

}  // namespace
}  // namespace nanum::node
