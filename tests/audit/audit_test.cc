// The audit (cli/audit.h) over a community's ledger built directly (ledger_builder.h): an
// untouched ledger passes; every kind of tampering fails and names the height and the rule.
#include <gtest/gtest.h>
#include <leveldb/db.h>
#include <leveldb/write_batch.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "chaincode/genesis_file.h"
#include "cli/audit.h"
#include "ledger_builder.h"

namespace nanum::testing {
namespace {

namespace fs = std::filesystem;

std::string HeightKey(char kind, std::uint64_t h) {
  std::string k(1, kind);
  for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>(h >> (8 * i)));
  return k;
}

class AuditTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pristine_ = fs::temp_directory_path() / ("nanum-audit-test-" + std::to_string(getpid()));
    fs::remove_all(pristine_);
    LedgerSpec spec;
    spec.households = 12;
    spec.orders_per_slot = 2;
    spec.slot_seconds = 10;
    spec.block_interval_ms = 1000;
    spec.transactions = 600;
    Status s = BuildLedger(pristine_, spec, &stats_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  static void TearDownTestSuite() { fs::remove_all(pristine_); }

  void SetUp() override {
    dir_ = pristine_ + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::copy(pristine_, dir_, fs::copy_options::recursive);
    std::ifstream f(dir_ + "/genesis.json");
    std::ostringstream text;
    text << f.rdbuf();
    ASSERT_TRUE(market::ParseGenesis(text.str(), &genesis_).ok());
  }
  void TearDown() override { fs::remove_all(dir_); }

  audit::Report Run(int threads = 0) {
    std::unique_ptr<audit::Source> src;
    Status s = audit::OpenDataDir(dir_ + "/data", &src);
    EXPECT_TRUE(s.ok()) << s.ToString();
    audit::Options opt;
    opt.threads = threads;
    audit::Report r;
    s = audit::Audit(genesis_, src.get(), opt, &r);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return r;
  }

  // Opens the stored ledger's LevelDB for the test to tamper with.
  template <class F>
  void Tamper(F edit) {
    leveldb::DB* db = nullptr;
    leveldb::Options o;
    const leveldb::Status s = leveldb::DB::Open(o, dir_ + "/data/ledger", &db);
    ASSERT_TRUE(s.ok()) << s.ToString();
    edit(db);
    delete db;
  }
  static std::string Get(leveldb::DB* db, const std::string& key) {
    std::string v;
    EXPECT_TRUE(db->Get(leveldb::ReadOptions(), key, &v).ok()) << "key kind " << key[0];
    return v;
  }
  static void Put(leveldb::DB* db, const std::string& key, const std::string& value) {
    ASSERT_TRUE(db->Put(leveldb::WriteOptions(), key, value).ok());
  }
  Block StoredBlock(leveldb::DB* db, std::uint64_t h) {
    Block b;
    EXPECT_TRUE(Block::Decode(Get(db, HeightKey('b', h)), &b).ok());
    return b;
  }
  // The audit failed at `height` on `rule`.
  static void ExpectFails(const audit::Report& r, std::uint64_t height, const std::string& rule) {
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.height, height);
    EXPECT_EQ(r.rule, rule) << r.detail;
  }
  // A height in the middle with several transactions.
  std::uint64_t Middle() {
    std::uint64_t h = stats_.blocks / 2;
    Tamper([&](leveldb::DB* db) {
      while (StoredBlock(db, h).txs.size() < 3) ++h;
    });
    return h;
  }
  // Re-signs `b`'s certificate with 3 of the builder's validators (what a forger holding
  // their keys could do).
  static void Recertify(Block* b, const std::vector<std::string>& signers) {
    CommitCertificate cert;
    cert.block_hash = b->Hash();
    const Hash256 digest = CommitDigest(b->header.height, 0, cert.block_hash);
    for (const auto& name : signers) {
      const PrivateKey k = BuilderKey(name);
      cert.signatures.push_back({k.public_key(), k.Sign(digest)});
    }
    std::sort(cert.signatures.begin(), cert.signatures.end(),
              [](const CommitSignature& x, const CommitSignature& y) { return x.validator < y.validator; });
    b->certificate = cert;
  }

  static inline std::string pristine_;
  static inline LedgerStats stats_;
  std::string dir_;
  market::Genesis genesis_;
};

TEST_F(AuditTest, UntouchedLedgerPasses) {
  // The ledger is real trading: mostly accepted orders and readings, and contracts.
  ASSERT_GE(stats_.transactions, 600u);
  EXPECT_GT(stats_.results["ok"], stats_.transactions * 9 / 10);
  for (int threads : {1, 2, 3}) {
    const audit::Report r = Run(threads);
    EXPECT_TRUE(r.ok) << threads << " threads: " << r.rule << " at " << r.height << ": " << r.detail;
    EXPECT_EQ(r.blocks, stats_.blocks + 1);
    EXPECT_EQ(r.transactions, stats_.transactions);
    EXPECT_EQ(r.head_height, stats_.blocks);
    EXPECT_EQ(r.signatures, stats_.transactions + 3 * stats_.blocks);
    // The bound is measured in the same run: the time spent on every transaction's signature.
    EXPECT_EQ(r.tx_signatures, stats_.transactions);
    EXPECT_GT(r.signature_cpu_ns, 0u);
    EXPECT_EQ(r.cores, std::min<int>(threads, static_cast<int>(std::max(1U, std::thread::hardware_concurrency()))));
  }
}

TEST_F(AuditTest, AnyByteChangedInAStoredBlockNamesItsHeight) {
  const std::uint64_t h = Middle();
  std::string pristine;
  Tamper([&](leveldb::DB* db) { pristine = Get(db, HeightKey('b', h)); });
  // Bytes across the whole block: header, transactions and their signatures, certificate.
  for (std::size_t pos = 0; pos < pristine.size(); pos += std::max<std::size_t>(1, pristine.size() / 23)) {
    std::string bytes = pristine;
    bytes[pos] = static_cast<char>(bytes[pos] ^ 0x01);
    Tamper([&](leveldb::DB* db) { Put(db, HeightKey('b', h), bytes); });
    const audit::Report r = Run();
    EXPECT_FALSE(r.ok) << "byte " << pos;
    EXPECT_EQ(r.height, h) << "byte " << pos << ": " << r.rule << ": " << r.detail;
  }
}

TEST_F(AuditTest, RemovedTransactionNamesItsHeight) {
  const std::uint64_t h = Middle();
  Tamper([&](leveldb::DB* db) {
    Block b = StoredBlock(db, h);
    b.txs.erase(b.txs.begin() + 1);
    Put(db, HeightKey('b', h), b.Encode());
  });
  audit::Report r = Run();
  ExpectFails(r, h, "content");  // the transactions no longer give tx_root

  // A forger who also fixes the header's tx_root breaks the certificate instead.
  Tamper([&](leveldb::DB* db) {
    Block b = StoredBlock(db, h);
    b.header.tx_root = TxRoot(b.txs);
    Put(db, HeightKey('b', h), b.Encode());
  });
  r = Run();
  ExpectFails(r, h, "content");  // the certificate names the old block
}

TEST_F(AuditTest, RecertifiedForgeryFailsOnReplay) {
  // Even with the validators' keys, removing a transaction changes what the block does.
  const std::uint64_t h = Middle();
  Tamper([&](leveldb::DB* db) {
    Block b = StoredBlock(db, h);
    b.txs.erase(b.txs.begin());
    b.header.tx_root = TxRoot(b.txs);
    Recertify(&b, {"validator-0", "validator-1", "validator-2"});
    Put(db, HeightKey('b', h), b.Encode());
  });
  const audit::Report r = Run();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.height, h);
  EXPECT_TRUE(r.rule == "results_root" || r.rule == "state_root") << r.rule << ": " << r.detail;
}

TEST_F(AuditTest, EditedLiveStateValueFailsAtTheHead) {
  Tamper([&](leveldb::DB* db) {
    std::string v = Get(db, "smem/h-0001");
    v.back() = static_cast<char>(v.back() ^ 0x01);
    Put(db, "smem/h-0001", v);
  });
  const audit::Report r = Run();
  ExpectFails(r, stats_.blocks, "live_state");
  EXPECT_NE(r.detail.find(ToHex(std::string_view("mem/h-0001"))), std::string::npos) << r.detail;
}

// The live state is compared in two key ranges at once: a difference at either end is found.
TEST_F(AuditTest, LiveStateMissingItsFirstKeyFails) {
  std::string first;
  Tamper([&](leveldb::DB* db) {
    std::unique_ptr<leveldb::Iterator> it(db->NewIterator(leveldb::ReadOptions()));
    it->Seek("s");
    ASSERT_TRUE(it->Valid() && it->key().starts_with("s"));
    first = it->key().ToString();
    ASSERT_TRUE(db->Delete(leveldb::WriteOptions(), first).ok());
  });
  const audit::Report r = Run();
  ExpectFails(r, stats_.blocks, "live_state");
  EXPECT_NE(r.detail.find(ToHex(std::string_view(first).substr(1)) + " is missing"), std::string::npos) << r.detail;
}

TEST_F(AuditTest, LiveStateWithAKeyPastItsLastFails) {
  Tamper([&](leveldb::DB* db) { Put(db, "s\xff\xff/extra", "x"); });
  const audit::Report r = Run();
  ExpectFails(r, stats_.blocks, "live_state");
  EXPECT_NE(r.detail.find(ToHex(std::string_view("\xff\xff/extra")) + " is there but the replay never wrote it"),
            std::string::npos)
      << r.detail;
}

TEST_F(AuditTest, EditedStoredWriteSetNamesItsHeight) {
  const std::uint64_t h = Middle();
  Tamper([&](leveldb::DB* db) {
    WriteSet w;
    ASSERT_TRUE(WriteSet::Decode(Get(db, HeightKey('w', h)), &w).ok());
    ASSERT_FALSE(w.empty());
    const auto& [key, value] = *w.entries().begin();
    w.Put(key, value.value_or("") + "x");
    Put(db, HeightKey('w', h), w.Encode());
  });
  const audit::Report r = Run();
  ExpectFails(r, h, "stored_writes");
}

TEST_F(AuditTest, CertificateBelowQuorumOrByOutsidersNamesItsHeight) {
  const std::uint64_t h = Middle();
  Tamper([&](leveldb::DB* db) {
    Block b = StoredBlock(db, h);
    b.certificate->signatures.pop_back();
    Put(db, HeightKey('b', h), b.Encode());
  });
  audit::Report r = Run();
  ExpectFails(r, h, "certificate");

  Tamper([&](leveldb::DB* db) {
    Block b = StoredBlock(db, h);
    Recertify(&b, {"mallory-0", "mallory-1", "mallory-2"});
    Put(db, HeightKey('b', h), b.Encode());
  });
  r = Run();
  ExpectFails(r, h, "certificate");
}

TEST_F(AuditTest, ReplayedTransactionIsFoundEvenWithAValidCertificate) {
  const std::uint64_t head = stats_.blocks;
  const std::uint64_t earlier = Middle();
  Tamper([&](leveldb::DB* db) {
    Block b = StoredBlock(db, head);
    b.txs.push_back(StoredBlock(db, earlier).txs.front());
    b.header.tx_root = TxRoot(b.txs);
    Recertify(&b, {"validator-1", "validator-2", "validator-3"});
    Put(db, HeightKey('b', head), b.Encode());
  });
  const audit::Report r = Run();
  ExpectFails(r, head, "duplicate_tx");
}

TEST_F(AuditTest, MissingBlockAndForeignGenesisAreNamed) {
  const std::uint64_t h = Middle();
  Tamper([&](leveldb::DB* db) { ASSERT_TRUE(db->Delete(leveldb::WriteOptions(), HeightKey('b', h)).ok()); });
  audit::Report r = Run();
  ExpectFails(r, h, "missing");

  fs::remove_all(dir_);
  fs::copy(pristine_, dir_, fs::copy_options::recursive);
  genesis_.info.name = "Another Community";
  r = Run();
  ExpectFails(r, 0u, "genesis");
}

TEST_F(AuditTest, RunningNodeIsRefusedWithAHint) {
  // LevelDB's lock: a second opener is refused while the first holds the directory.
  std::unique_ptr<audit::Source> first, second;
  ASSERT_TRUE(audit::OpenDataDir(dir_ + "/data", &first).ok());
  const Status s = audit::OpenDataDir(dir_ + "/data", &second);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("audit over gRPC"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace nanum::testing
