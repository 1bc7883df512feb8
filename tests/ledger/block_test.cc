// Block headers, Merkle roots, results, certificates and block encoding.
#include "ledger/block.h"

#include <gtest/gtest.h>

#include "ledger/encoding.h"
#include "test_chain.h"

namespace nanum {
namespace {

Hash256 Leaf(std::string_view d) { return Sha256Of(std::string(1, '\0') + std::string(d)); }
Hash256 Node(const Hash256& l, const Hash256& r) {
  std::string s(1, '\x01');
  s.append(reinterpret_cast<const char*>(l.data()), 32);
  s.append(reinterpret_cast<const char*>(r.data()), 32);
  return Sha256Of(s);
}

TEST(Merkle, EmptyIsHashOfNothing) {
  EXPECT_EQ(ToHex(MerkleRoot({})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Merkle, SingleLeafIsItsLeafHash) {
  // RFC 6962's tree of one empty leaf: SHA256(0x00).
  EXPECT_EQ(ToHex(MerkleRoot({""})), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  EXPECT_EQ(MerkleRoot({"a"}), Leaf("a"));
}

TEST(Merkle, OddCountsSplitAtThePowerOfTwo) {
  const Hash256 a = Leaf("a"), b = Leaf("b"), c = Leaf("c"), d = Leaf("d"), e = Leaf("e"),
                f = Leaf("f"), g = Leaf("g");
  EXPECT_EQ(MerkleRoot({"a", "b"}), Node(a, b));
  EXPECT_EQ(MerkleRoot({"a", "b", "c"}), Node(Node(a, b), c));
  EXPECT_EQ(MerkleRoot({"a", "b", "c", "d", "e"}), Node(Node(Node(a, b), Node(c, d)), e));
  EXPECT_EQ(MerkleRoot({"a", "b", "c", "d", "e", "f", "g"}),
            Node(Node(Node(a, b), Node(c, d)), Node(Node(e, f), g)));
}

TEST(Merkle, NoDuplicationAmbiguity) {
  // Bitcoin's tree gives [a,b,c] and [a,b,c,c] one root (CVE-2012-2459); this one does not.
  EXPECT_NE(MerkleRoot({"a", "b", "c"}), MerkleRoot({"a", "b", "c", "c"}));
  EXPECT_NE(MerkleRoot({"a", "b"}), MerkleRoot({"b", "a"}));
}

BlockHeader SampleHeader() {
  BlockHeader h;
  h.height = 5;
  h.prev_hash.fill(0x11);
  h.timestamp_ms = 1'700'000'000'123;
  h.proposer = testing::KeyFor("p").public_key();
  h.tx_root.fill(0x22);
  h.state_root.fill(0x33);
  h.results_root.fill(0x44);
  return h;
}

TEST(BlockHeader, GoldenLayout) {
  const BlockHeader h = SampleHeader();
  const std::string enc = h.Encode();
  EXPECT_EQ(enc.size(), 177u);
  EXPECT_EQ(ToHex(enc),
            "01" "0000000000000005" + std::string(64, '1') + "0000018bcfe5687b" +
                h.proposer.Hex() + std::string(64, '2') + std::string(64, '3') +
                std::string(64, '4'));
  EXPECT_EQ(h.Hash(), TaggedHash("nanum/block", enc));
  BlockHeader back;
  ASSERT_TRUE(BlockHeader::Decode(enc, &back).ok());
  EXPECT_EQ(back, h);
}

TEST(BlockHeader, DecodeErrors) {
  const std::string enc = SampleHeader().Encode();
  BlockHeader back;
  EXPECT_EQ(BlockHeader::Decode(enc.substr(0, 100), &back).code(), Status::Code::kTruncated);
  EXPECT_EQ(BlockHeader::Decode(enc + "z", &back).code(), Status::Code::kTrailingData);
  std::string v2 = enc;
  v2[0] = 2;
  EXPECT_EQ(BlockHeader::Decode(v2, &back).code(), Status::Code::kUnsupported);
}

TEST(CommitDigest, GoldenLayout) {
  Hash256 bh;
  bh.fill(0xab);
  EXPECT_EQ(CommitDigest(7, 2, bh),
            TaggedHash("nanum/commit", *FromHex("0000000000000007" "0000000000000002" +
                                                ToHex(bh))));
}

TEST(TxResult, GoldenLayoutAndRoundTrip) {
  TxResult r{5, "no"};
  EXPECT_EQ(ToHex(r.Encode()), "00000005" "00000002" "6e6f");
  std::vector<TxResult> list{{0, ""}, {5, "no"}};
  std::vector<TxResult> back;
  ASSERT_TRUE(DecodeResults(EncodeResults(list), &back).ok());
  EXPECT_EQ(back, list);
  EXPECT_EQ(ResultsRoot(list), MerkleRoot({list[0].Encode(), list[1].Encode()}));
}

class CertificateTest : public ::testing::Test {
 protected:
  CertificateTest() : chain_(2) {
    header_ = SampleHeader();
    digest_ = CommitDigest(header_.height, 3, header_.Hash());
  }
  CommitCertificate Signed(std::vector<int> who) {
    CommitCertificate c;
    c.view = 3;
    c.block_hash = header_.Hash();
    for (int i : who) {
      const PrivateKey& k = chain_.validators()[static_cast<std::size_t>(i)];
      c.signatures.push_back({k.public_key(), k.Sign(digest_)});
    }
    std::sort(c.signatures.begin(), c.signatures.end(),
              [](const auto& a, const auto& b) { return a.validator < b.validator; });
    return c;
  }
  testing::TestChain chain_;
  BlockHeader header_;
  Hash256 digest_;
};

TEST_F(CertificateTest, QuorumOfValidSignaturesVerifies) {
  EXPECT_TRUE(VerifyCertificate(Signed({0, 1, 2}), header_, chain_.validator_keys(), 3).ok());
  EXPECT_TRUE(VerifyCertificate(Signed({0, 1, 2, 3}), header_, chain_.validator_keys(), 3).ok());
}

TEST_F(CertificateTest, TooFewSignatures) {
  EXPECT_EQ(VerifyCertificate(Signed({0, 1}), header_, chain_.validator_keys(), 3).code(),
            Status::Code::kInvalidArgument);
}

TEST_F(CertificateTest, RepeatedSignerDoesNotCountTwice) {
  CommitCertificate c = Signed({0, 1});
  c.signatures.push_back(c.signatures.back());
  EXPECT_EQ(VerifyCertificate(c, header_, chain_.validator_keys(), 3).code(),
            Status::Code::kInvalidArgument);
}

TEST_F(CertificateTest, OutsiderAndBadSignature) {
  CommitCertificate c = Signed({0, 1, 2});
  const PrivateKey outsider = testing::KeyFor("outsider");
  c.signatures[0] = {outsider.public_key(), outsider.Sign(digest_)};
  std::sort(c.signatures.begin(), c.signatures.end(),
            [](const auto& a, const auto& b) { return a.validator < b.validator; });
  EXPECT_EQ(VerifyCertificate(c, header_, chain_.validator_keys(), 3).code(),
            Status::Code::kInvalidArgument);

  c = Signed({0, 1, 2});
  c.signatures[1].signature[0] ^= 1;
  EXPECT_EQ(VerifyCertificate(c, header_, chain_.validator_keys(), 3).code(),
            Status::Code::kBadSignature);
}

TEST_F(CertificateTest, SignaturesForAnotherViewOrBlockFail) {
  CommitCertificate c = Signed({0, 1, 2});
  c.view = 4;  // signatures were over view 3
  EXPECT_EQ(VerifyCertificate(c, header_, chain_.validator_keys(), 3).code(),
            Status::Code::kBadSignature);
  BlockHeader other = header_;
  other.timestamp_ms += 1;
  EXPECT_EQ(VerifyCertificate(Signed({0, 1, 2}), other, chain_.validator_keys(), 3).code(),
            Status::Code::kInvalidArgument);
}

TEST(Block, RoundTripAndContentChecks) {
  testing::TestChain chain(3);
  auto store = Store::NewInMemory();
  Block g;
  std::vector<TxResult> gr;
  WriteSet gw;
  chain.Genesis(&g, &gr, &gw);
  ASSERT_TRUE(store->Append(g, gr, gw).ok());
  Block b;
  std::vector<TxResult> results;
  WriteSet writes;
  chain.MakeBlock(*store, *store->Head(),
                  {chain.MakeTransfer(0, 1, 5, 0), chain.MakeTransfer(1, 2, 7, 0)}, 1, &b, &results,
                  &writes);
  const std::string enc = b.Encode();
  Block back;
  ASSERT_TRUE(Block::Decode(enc, &back).ok());
  EXPECT_EQ(back.Encode(), enc);
  EXPECT_EQ(back.Hash(), b.Hash());
  EXPECT_TRUE(CheckBlockContent(back).ok());

  Block dup = b;
  dup.txs.push_back(dup.txs[0]);
  dup.header.tx_root = TxRoot(dup.txs);
  EXPECT_EQ(CheckBlockContent(dup).code(), Status::Code::kCorruption);

  Block swapped = b;
  std::swap(swapped.txs[0], swapped.txs[1]);
  EXPECT_EQ(CheckBlockContent(swapped).code(), Status::Code::kCorruption);

  for (std::size_t n = 0; n < enc.size(); n += 7) {
    EXPECT_FALSE(Block::Decode(enc.substr(0, n), &back).ok()) << n;
  }
}

}  // namespace
}  // namespace nanum
