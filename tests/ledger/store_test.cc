// The stores, both engines: appending, reading, every refusal, reopening and replay.
#include "ledger/store.h"

#include <gtest/gtest.h>
#include <leveldb/db.h>

#include <sched.h>
#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <thread>

#include "test_chain.h"

namespace nanum {
namespace {

using testing::TestChain;

class StoreTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nanum-store-XXXXXX";
    dir_ = mkdtemp(tmpl);
    Reopen();
    Block g;
    std::vector<TxResult> r;
    WriteSet w;
    chain_.Genesis(&g, &r, &w);
    ASSERT_TRUE(store_->Append(g, r, w).ok());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  bool on_disk() const { return GetParam(); }
  void Reopen() {
    if (!on_disk()) {
      if (!store_) store_ = Store::NewInMemory();
      return;
    }
    store_.reset();
    Status s = Store::OpenLevelDb(dir_ + "/db", &store_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  // Makes and appends the next block of the given transfers.
  Block AppendTransfers(std::vector<Transaction> txs) {
    Block b;
    std::vector<TxResult> r;
    WriteSet w;
    chain_.MakeBlock(*store_, *store_->Head(), std::move(txs), 1000 + store_->Head()->height, &b, &r, &w);
    Status s = store_->Append(b, r, w);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return b;
  }

  // A block of one transfer on top of the head, built but not appended.
  void MakeNextBlock(Block* b, std::vector<TxResult>* r, WriteSet* w) {
    chain_.MakeBlock(*store_, *store_->Head(), {chain_.MakeTransfer(1, 2, 5, 0)}, 5000, b, r, w);
  }

  TestChain chain_{3};
  std::string dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, AppendsAndReadsBack) {
  const Block b1 = AppendTransfers({chain_.MakeTransfer(0, 1, 100, 0), chain_.MakeTransfer(1, 2, 50, 0)});
  const Block b2 = AppendTransfers({chain_.MakeTransfer(0, 2, 1, 1)});
  const auto head = store_->Head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->height, 2u);
  EXPECT_EQ(head->hash, b2.Hash());
  EXPECT_EQ(head->state_root, b2.header.state_root);

  Block got;
  ASSERT_TRUE(store_->GetBlock(1, &got).ok());
  EXPECT_EQ(got.Encode(), b1.Encode());
  std::uint64_t h = 0;
  ASSERT_TRUE(store_->GetHeightByHash(b1.Hash(), &h).ok());
  EXPECT_EQ(h, 1u);
  TxLocation loc;
  ASSERT_TRUE(store_->GetTxLocation(b1.txs[1].id(), &loc).ok());
  EXPECT_EQ(loc.height, 1u);
  EXPECT_EQ(loc.index, 1u);
  std::vector<TxResult> results;
  ASSERT_TRUE(store_->GetResults(1, &results).ok());
  EXPECT_EQ(results.size(), 2u);
  WriteSet writes;
  ASSERT_TRUE(store_->GetWrites(2, &writes).ok());
  EXPECT_EQ(writes.size(), 3u);  // two balances and a nonce

  EXPECT_EQ(testing::BalanceOf(*store_, "m0"), 1'000'000u - 101);
  EXPECT_EQ(testing::BalanceOf(*store_, "m1"), 1'000'000u + 50);
  EXPECT_EQ(testing::BalanceOf(*store_, "m2"), 1'000'000u + 51);

  EXPECT_TRUE(store_->GetBlock(3, &got).IsNotFound());
  EXPECT_TRUE(store_->GetTxLocation(Hash256{}, &loc).IsNotFound());
}

TEST_P(StoreTest, SurvivesReopen) {
  AppendTransfers({chain_.MakeTransfer(0, 1, 100, 0)});
  const auto before = store_->Head();
  const auto state = testing::DumpState(*store_);
  Reopen();
  ASSERT_TRUE(store_->Head());
  EXPECT_EQ(store_->Head()->hash, before->hash);
  EXPECT_EQ(testing::DumpState(*store_), state);
  AppendTransfers({chain_.MakeTransfer(0, 1, 100, 1)});
  EXPECT_EQ(store_->Head()->height, 2u);
}

// A node's store caches the live state it reads (StateCache): a read after an append sees the
// append's writes, also for keys read (and cached) before it.
TEST_P(StoreTest, ReadsAfterAnAppendSeeItsWrites) {
  EXPECT_EQ(testing::BalanceOf(*store_, "m0"), 1'000'000u);
  EXPECT_EQ(testing::BalanceOf(*store_, "m1"), 1'000'000u);
  AppendTransfers({chain_.MakeTransfer(0, 1, 100, 0)});
  EXPECT_EQ(testing::BalanceOf(*store_, "m0"), 1'000'000u - 100);
  EXPECT_EQ(testing::BalanceOf(*store_, "m1"), 1'000'000u + 100);
  Reopen();
  EXPECT_EQ(testing::BalanceOf(*store_, "m0"), 1'000'000u - 100);
}

// The store keeps its transaction ids in memory (IdFilter), rebuilt at every open: after a
// reopen, what was stored before is still found, and still refused a second time.
TEST_P(StoreTest, TransactionsStoredBeforeAReopenAreStillFoundAndRefused) {
  const Block b1 = AppendTransfers({chain_.MakeTransfer(0, 1, 100, 0), chain_.MakeTransfer(1, 2, 50, 0)});
  Reopen();
  for (std::uint32_t i = 0; i < 2; ++i) {
    TxLocation loc;
    Status s = store_->GetTxLocation(b1.txs[i].id(), &loc);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(loc.height, 1u);
    EXPECT_EQ(loc.index, i);
  }
  Block again;
  std::vector<TxResult> r;
  WriteSet w;
  chain_.MakeBlock(*store_, *store_->Head(), {b1.txs[1]}, 5000, &again, &r, &w);
  const Status s = store_->Append(again, r, w);
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.ToString().find("already stored"), std::string::npos) << s.ToString();
  EXPECT_EQ(store_->Head()->height, 1u);
}

TEST_P(StoreTest, MetaRecordsSurviveReopenAndStayOutOfTheLedger) {
  const auto state = testing::DumpState(*store_);
  const auto head = store_->Head();
  std::string v;
  EXPECT_TRUE(store_->GetMeta("consensus-state", &v).IsNotFound());
  ASSERT_TRUE(store_->PutMeta("consensus-state", "votes 1").ok());
  ASSERT_TRUE(store_->PutMeta("consensus-state", "votes 2").ok());
  EXPECT_EQ(store_->PutMeta("", "x").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(store_->PutMeta(std::string(65, 'n'), "x").code(), Status::Code::kInvalidArgument);
  Reopen();
  ASSERT_TRUE(store_->GetMeta("consensus-state", &v).ok());
  EXPECT_EQ(v, "votes 2");
  EXPECT_EQ(testing::DumpState(*store_), state) << "no state key sees a meta record";
  EXPECT_EQ(store_->Head()->hash, head->hash);
  AppendTransfers({chain_.MakeTransfer(0, 1, 100, 0)});
  ASSERT_TRUE(store_->GetMeta("consensus-state", &v).ok());
  EXPECT_EQ(v, "votes 2") << "appending blocks leaves meta records alone";
}

// A meta record written with a block: both or neither.
TEST_P(StoreTest, AMetaRecordRidesWithABlock) {
  AppendTransfers({chain_.MakeTransfer(0, 1, 100, 0)});
  const auto head = store_->Head();
  const auto state = testing::DumpState(*store_);
  Block b;
  std::vector<TxResult> r;
  WriteSet w;
  MakeNextBlock(&b, &r, &w);
  // A bad record refuses the block too.
  const Store::Meta unnamed{"", "votes 3"};
  EXPECT_EQ(store_->Append(b, r, w, &unnamed).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(store_->Head()->hash, head->hash);
  EXPECT_EQ(testing::DumpState(*store_), state);
  std::string v;
  EXPECT_TRUE(store_->GetMeta("consensus-state", &v).IsNotFound());
  // A refused block writes no record.
  Block wrong = b;
  wrong.header.height = 9;
  const Store::Meta votes{"consensus-state", "votes 3"};
  EXPECT_EQ(store_->Append(wrong, r, w, &votes).code(), Status::Code::kFailedPrecondition);
  EXPECT_TRUE(store_->GetMeta("consensus-state", &v).IsNotFound());
  // Both land.
  ASSERT_TRUE(store_->Append(b, r, w, &votes).ok());
  Reopen();
  EXPECT_EQ(store_->Head()->height, b.header.height);
  ASSERT_TRUE(store_->GetMeta("consensus-state", &v).ok());
  EXPECT_EQ(v, "votes 3");
}

TEST_P(StoreTest, ReplayReproducesEveryStateRoot) {
  for (int i = 0; i < 5; ++i) AppendTransfers({chain_.MakeTransfer(i % 3, (i + 1) % 3, 10, static_cast<std::uint64_t>(i / 3))});
  Status s = testing::ReplayAndCompare(*store_, chain_.validator_keys(), chain_.quorum());
  EXPECT_TRUE(s.ok()) << s.ToString();
}

// Each refusal leaves the store exactly as it was.
TEST_P(StoreTest, RefusalsChangeNothing) {
  AppendTransfers({chain_.MakeTransfer(0, 1, 100, 0)});
  const auto head = store_->Head();
  const auto state = testing::DumpState(*store_);

  Block b;
  std::vector<TxResult> r;
  WriteSet w;
  MakeNextBlock(&b, &r, &w);

  auto expect_refused = [&](Block blk, std::vector<TxResult> res, WriteSet ws, Status::Code code) {
    Status s = store_->Append(blk, res, ws);
    EXPECT_EQ(s.code(), code) << s.ToString();
    EXPECT_EQ(store_->Head()->hash, head->hash);
    EXPECT_EQ(testing::DumpState(*store_), state);
  };

  Block wrong_height = b;
  wrong_height.header.height = 5;
  expect_refused(wrong_height, r, w, Status::Code::kFailedPrecondition);

  Block wrong_prev = b;
  wrong_prev.header.prev_hash[0] ^= 1;
  expect_refused(wrong_prev, r, w, Status::Code::kFailedPrecondition);

  Block no_cert = b;
  no_cert.certificate.reset();
  expect_refused(no_cert, r, w, Status::Code::kInvalidArgument);

  std::vector<TxResult> other_results = r;
  other_results[0].code = 99;
  expect_refused(b, other_results, w, Status::Code::kInvalidArgument);
  expect_refused(b, {}, w, Status::Code::kInvalidArgument);

  WriteSet other_writes = w;
  other_writes.Put("bal/m2", "forged");
  expect_refused(b, r, other_writes, Status::Code::kInvalidArgument);

  Block bad_root = b;
  bad_root.header.tx_root[0] ^= 1;
  expect_refused(bad_root, r, w, Status::Code::kCorruption);

  // A transaction that is already stored, in an otherwise valid block.
  Block again;
  std::vector<TxResult> again_r;
  WriteSet again_w;
  Block first;
  ASSERT_TRUE(store_->GetBlock(1, &first).ok());
  chain_.MakeBlock(*store_, *head, first.txs, 5000, &again, &again_r, &again_w);
  expect_refused(again, again_r, again_w, Status::Code::kFailedPrecondition);

  // And the valid block still goes in afterwards.
  ASSERT_TRUE(store_->Append(b, r, w).ok());
}

INSTANTIATE_TEST_SUITE_P(Engines, StoreTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "LevelDb" : "InMemory"; });

// Damage made behind the store's back is found when it opens.
class StoreOpenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nanum-store-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::unique_ptr<Store> store;
    ASSERT_TRUE(Store::OpenLevelDb(dir_, &store).ok());
    TestChain chain(2);
    Block g;
    std::vector<TxResult> r;
    WriteSet w;
    chain.Genesis(&g, &r, &w);
    ASSERT_TRUE(store->Append(g, r, w).ok());
    for (std::uint64_t i = 0; i < 3; ++i) {
      Block b;
      chain.MakeBlock(*store, *store->Head(), {chain.MakeTransfer(0, 1, 1, i)}, 10 + i, &b, &r, &w);
      ASSERT_TRUE(store->Append(b, r, w).ok());
    }
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Raw(const std::function<void(leveldb::DB*)>& edit) {
    leveldb::DB* db = nullptr;
    ASSERT_TRUE(leveldb::DB::Open(leveldb::Options(), dir_, &db).ok());
    edit(db);
    delete db;
  }
  static std::string BlockKey(std::uint64_t h) {
    std::string k(1, 'b');
    for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>((h >> (8 * i)) & 0xff));
    return k;
  }
  std::string dir_;
};

TEST_F(StoreOpenTest, MissingHeadBlockIsRefusedNamingTheHeight) {
  Raw([](leveldb::DB* db) { ASSERT_TRUE(db->Delete(leveldb::WriteOptions(), BlockKey(3)).ok()); });
  std::unique_ptr<Store> store;
  Status s = Store::OpenLevelDb(dir_, &store);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("height 3"), std::string::npos) << s.ToString();
}

TEST_F(StoreOpenTest, ChangedHeadBlockIsRefused) {
  Raw([](leveldb::DB* db) {
    std::string v;
    ASSERT_TRUE(db->Get(leveldb::ReadOptions(), BlockKey(3), &v).ok());
    v[20] ^= 1;  // inside prev_hash
    ASSERT_TRUE(db->Put(leveldb::WriteOptions(), BlockKey(3), v).ok());
  });
  std::unique_ptr<Store> store;
  EXPECT_EQ(Store::OpenLevelDb(dir_, &store).code(), Status::Code::kCorruption);
}

TEST_F(StoreOpenTest, BlockAboveTheHeadIsRefused) {
  Raw([](leveldb::DB* db) {
    std::string v;
    ASSERT_TRUE(db->Get(leveldb::ReadOptions(), BlockKey(3), &v).ok());
    ASSERT_TRUE(db->Put(leveldb::WriteOptions(), BlockKey(4), v).ok());
  });
  std::unique_ptr<Store> store;
  Status s = Store::OpenLevelDb(dir_, &store);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("above the head at height 3"), std::string::npos) << s.ToString();
}

TEST_F(StoreOpenTest, SecondProcessOnTheSameDirectoryIsRefused) {
  std::unique_ptr<Store> first, second;
  ASSERT_TRUE(Store::OpenLevelDb(dir_, &first).ok());
  Status s = Store::OpenLevelDb(dir_, &second);
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_NE(s.message().find("another nanum process"), std::string::npos) << s.ToString();
}

TEST_F(StoreOpenTest, EditedStateValueIsFoundByReplay) {
  Raw([](leveldb::DB* db) { ASSERT_TRUE(db->Put(leveldb::WriteOptions(), "sbal/m1", std::string(8, '\x7f')).ok()); });
  std::unique_ptr<Store> store;
  ASSERT_TRUE(Store::OpenLevelDb(dir_, &store).ok());
  TestChain chain(2);
  Status s = testing::ReplayAndCompare(*store, chain.validator_keys(), chain.quorum());
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("height 3"), std::string::npos) << s.ToString();
}

// One thread of this process as /proc shows it: nice value and scheduling policy.
struct ThreadSched {
  int tid = 0, nice = 0, policy = 0;
};

std::vector<ThreadSched> Threads() {
  std::vector<ThreadSched> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(e.path() / "stat");
    std::string stat;
    std::getline(in, stat);
    const auto close = stat.rfind(')');  // the name may hold spaces; fields follow it
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));
    std::vector<std::string> f;
    for (std::string field; fields >> field;) f.push_back(field);
    if (f.size() < 39) continue;
    // Fields from 3 (state) on: nice is field 19, policy field 41.
    out.push_back({std::stoi(e.path().filename().string()), std::stoi(f[19 - 3]), std::stoi(f[41 - 3])});
  }
  return out;
}

// Makes LevelDB flush a memtable: a record larger than its 4 MB write buffer, then another.
void ForceFlush(Store* store) {
  const std::string big(5 << 20, 'x');
  ASSERT_TRUE(store->PutMeta("big", big).ok());
  ASSERT_TRUE(store->PutMeta("small", "y").ok());
}

// Waits up to 10 s for a thread that `match` accepts.
std::optional<ThreadSched> WaitForThread(const std::function<bool(const ThreadSched&)>& match) {
  for (int i = 0; i < 200; ++i) {
    for (const ThreadSched& t : Threads()) {
      if (match(t)) return t;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return std::nullopt;
}

TEST(StorePriorityTest, FlushesRunAtTheStoresCompactionPriority) {
  char tmpl[] = "/tmp/nanum-store-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const int base = getpriority(PRIO_PROCESS, 0);
  if (base == 19) GTEST_SKIP() << "the test runs at nice 19 already";
  for (const ThreadSched& t : Threads()) ASSERT_EQ(t.nice, base) << "thread " << t.tid;

  // Low: LevelDB's background thread does the flush at nice 19.
  std::unique_ptr<Store> store;
  ASSERT_TRUE(Store::OpenLevelDb(dir + "/low", &store, {CompactionPriority::kLow}).ok());
  ForceFlush(store.get());
  auto low = WaitForThread([](const ThreadSched& t) { return t.nice == 19 && t.policy == SCHED_OTHER; });
  ASSERT_TRUE(low.has_value()) << "no thread went to nice 19";
  // The store's own thread (this one) keeps its priority.
  for (const ThreadSched& t : Threads()) {
    if (t.tid != low->tid) {
      EXPECT_EQ(t.nice, base) << "thread " << t.tid;
    }
  }
  store.reset();

  // Idle: the same thread, now SCHED_IDLE, for the next store's flush.
  ASSERT_TRUE(Store::OpenLevelDb(dir + "/idle", &store, {CompactionPriority::kIdle}).ok());
  ForceFlush(store.get());
  auto idle = WaitForThread([](const ThreadSched& t) { return t.policy == SCHED_IDLE; });
  ASSERT_TRUE(idle.has_value()) << "no thread went to SCHED_IDLE";
  EXPECT_EQ(idle->tid, low->tid) << "LevelDB runs one background thread per process";
  // Its data survived the flush.
  store.reset();
  ASSERT_TRUE(Store::OpenLevelDb(dir + "/idle", &store).ok());
  std::string v;
  ASSERT_TRUE(store->GetMeta("big", &v).ok());
  EXPECT_EQ(v.size(), 5u << 20);
  store.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace nanum
