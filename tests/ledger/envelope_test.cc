// Transactions: the golden body layout, signatures over exact bytes, and bad envelopes,
// each with its specific error.
#include <gtest/gtest.h>

#include <random>

#include "ledger/encoding.h"
#include "ledger/limits.h"
#include "ledger/transaction.h"
#include "test_chain.h"

namespace nanum {
namespace {

PrivateKey Key3() {
  Hash256 s{};
  s[31] = 3;
  PrivateKey k;
  EXPECT_TRUE(PrivateKey::FromBytes(s, &k).ok());
  return k;
}

TxBody GoldenBody() {
  TxBody b;
  b.chain_id = "c1";
  b.signer = Key3().public_key();
  b.nonce = 7;
  b.payload = Transfer{"bob", 1000};
  return b;
}

// The envelope of GoldenBody signed with zero auxiliary randomness.
std::string GoldenEnvelope() {
  const Transaction t = Transaction::Sign(GoldenBody(), Key3());
  Writer w;
  w.Bytes(t.body_bytes());
  w.Fixed(Key3().SignWithAux(t.id(), Hash256{}));
  return w.Release();
}

TEST(Envelope, GoldenBodyBytesIdAndSignature) {
  const Transaction t = Transaction::Sign(GoldenBody(), Key3());
  EXPECT_EQ(ToHex(t.body_bytes()),
            "01"                                                                 // version
            "00000002" "6331"                                                    // chain "c1"
            "f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9"  // signer
            "0000000000000007"                                                   // nonce
            "0001"                                                               // transfer
            "0000000f" "00000003" "626f62" "00000000000003e8");                  // bob, 1000
  EXPECT_EQ(t.id(), TaggedHash("nanum/tx", t.body_bytes()));
  EXPECT_EQ(ToHex(t.id()), "6bc392c67301059153b1a667401beea13a18f0f70620528df225dc453eb3b8f2");
  Transaction d;
  ASSERT_TRUE(Transaction::Decode(GoldenEnvelope(), &d).ok());
  EXPECT_EQ(ToHex(d.signature()), "bdec19f73b59143aa34a8791276af4fd97abca83c0bca6557975dc9a3e4ae8f0"
            "17837e82c051e44e268a01e63391e7964715d78eab728bd7d25f0f044289e289");
  EXPECT_TRUE(d.Verify("c1").ok());
  EXPECT_EQ(d.Encode(), GoldenEnvelope());
}

TEST(Envelope, SignedTransactionDecodesAndVerifies) {
  const Transaction t = Transaction::Sign(GoldenBody(), Key3());
  Transaction d;
  ASSERT_TRUE(Transaction::Decode(t.Encode(), &d).ok());
  EXPECT_EQ(d.id(), t.id());
  EXPECT_EQ(d.body().nonce, 7u);
  EXPECT_EQ(std::get<Transfer>(d.body().payload), (Transfer{"bob", 1000}));
  EXPECT_TRUE(d.Verify("c1").ok());
}

TEST(Envelope, TamperedBodyFailsSignature) {
  std::string env = GoldenEnvelope();
  env[4 + 20] ^= 0x01;  // a byte of the signer key inside the body
  Transaction d;
  Status s = Transaction::Decode(env, &d);
  if (s.ok()) s = d.Verify("c1");
  EXPECT_EQ(s.code(), Status::Code::kBadSignature) << s.ToString();

  env = GoldenEnvelope();
  env[4 + 45] ^= 0x01;  // the nonce (body bytes 39..46)
  ASSERT_TRUE(Transaction::Decode(env, &d).ok());
  EXPECT_EQ(d.Verify("c1").code(), Status::Code::kBadSignature);
}

TEST(Envelope, SignatureByAnotherKeyFails) {
  const Transaction t = Transaction::Sign(GoldenBody(), Key3());
  Writer w;
  w.Bytes(t.body_bytes());
  w.Fixed(PrivateKey::Generate().Sign(t.id()));  // signed, but not by the signer named
  Transaction d;
  ASSERT_TRUE(Transaction::Decode(w.data(), &d).ok());
  EXPECT_EQ(d.Verify("c1").code(), Status::Code::kBadSignature);
}

TEST(Envelope, WrongChainIdIsRejectedBeforeSignature) {
  Transaction d;
  ASSERT_TRUE(Transaction::Decode(GoldenEnvelope(), &d).ok());
  Status s = d.Verify("another-community");
  EXPECT_EQ(s.code(), Status::Code::kWrongChain);
  EXPECT_NE(s.message().find("c1"), std::string::npos);
}

TEST(Envelope, EveryTruncationIsTruncated) {
  const std::string env = GoldenEnvelope();
  for (std::size_t n = 0; n < env.size(); ++n) {
    Transaction d;
    EXPECT_EQ(Transaction::Decode(env.substr(0, n), &d).code(), Status::Code::kTruncated) << n;
  }
}

TEST(Envelope, TrailingBytesAreRejected) {
  Transaction d;
  EXPECT_EQ(Transaction::Decode(GoldenEnvelope() + "x", &d).code(), Status::Code::kTrailingData);
}

TEST(Envelope, OversizedIsRejectedBeforeDecoding) {
  Transaction d;
  std::string big(limits::kMaxEnvelopeBytes + 1, '\0');
  Status s = Transaction::Decode(big, &d);
  EXPECT_EQ(s.code(), Status::Code::kTooLarge);
  EXPECT_NE(s.message().find(std::to_string(limits::kMaxEnvelopeBytes)), std::string::npos);
}

TEST(Envelope, OversizedPayloadIsTooLarge) {
  Writer body;
  body.U8(kTxVersion);
  body.Bytes("c1");
  body.Fixed(Key3().public_key().bytes());
  body.U64(1);
  body.U16(1);
  body.Bytes(std::string(limits::kMaxPayloadBytes + 1, 'p'));
  Writer env;
  env.Bytes(body.data());
  env.Fixed(Signature{});
  Transaction d;
  EXPECT_EQ(Transaction::Decode(env.data(), &d).code(), Status::Code::kTooLarge);
}

std::string EnvelopeWithBody(const std::string& body) {
  Writer env;
  env.Bytes(body);
  env.Fixed(Signature{});
  return env.Release();
}

TEST(Envelope, UnknownVersionAndPayloadTypeAreUnsupported) {
  const Transaction t = Transaction::Sign(GoldenBody(), Key3());
  std::string body = t.body_bytes();
  body[0] = 2;
  Transaction d;
  EXPECT_EQ(Transaction::Decode(EnvelopeWithBody(body), &d).code(), Status::Code::kUnsupported);
  body = t.body_bytes();
  body[1 + 6 + 32 + 8 + 1] = 0x63;  // payload type 0x0063
  EXPECT_EQ(Transaction::Decode(EnvelopeWithBody(body), &d).code(), Status::Code::kUnsupported);
}

TEST(Envelope, PayloadRulesAreInvalidArgument) {
  for (const Transfer& bad : {Transfer{"bob", 0}, Transfer{"Bob", 5}, Transfer{"-bob", 5},
                              Transfer{"", 5}}) {
    TxBody b = GoldenBody();
    b.payload = bad;
    Transaction d;
    EXPECT_EQ(Transaction::Decode(Transaction::Sign(b, Key3()).Encode(), &d).code(),
              Status::Code::kInvalidArgument) << bad.to << " " << bad.amount;
  }
  TxBody b = GoldenBody();
  b.chain_id = "has space";
  Transaction d;
  EXPECT_EQ(Transaction::Decode(Transaction::Sign(b, Key3()).Encode(), &d).code(),
            Status::Code::kInvalidArgument);
}

TEST(Envelope, GarbageNeverDecodesIntoAVerifiedTransaction) {
  std::mt19937_64 rng(42);
  const std::string good = GoldenEnvelope();
  for (int i = 0; i < 20000; ++i) {
    std::string in;
    if (i % 2 == 0) {
      in.resize(rng() % 300);
      for (char& c : in) c = static_cast<char>(rng());
    } else {  // flip a few bytes of a valid envelope
      in = good;
      for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k) {
        in[rng() % in.size()] ^= static_cast<char>(1 + rng() % 255);
      }
    }
    Transaction d;
    Status s = Transaction::Decode(in, &d);
    if (s.ok()) s = d.Verify("c1");
    EXPECT_FALSE(s.ok()) << i;
  }
}

// A rejected transaction changes nothing: the executor records a failure code and writes
// nothing for it, while a valid one in the same block goes through.
TEST(Envelope, BadTransactionsInABlockChangeNothing) {
  testing::TestChain chain(2);
  auto store = Store::NewInMemory();
  Block g;
  std::vector<TxResult> gr;
  WriteSet gw;
  chain.Genesis(&g, &gr, &gw);
  ASSERT_TRUE(store->Append(g, gr, gw).ok());

  Transaction forged;
  {
    Transaction t = chain.MakeTransfer(0, 1, 500, 0);
    Writer w;
    w.Bytes(t.body_bytes());
    w.Fixed(chain.accounts()[1].key.Sign(t.id()));  // m1 signs a transfer out of m0's account
    ASSERT_TRUE(Transaction::Decode(w.data(), &forged).ok());
  }
  const Transaction replay_first = chain.MakeTransfer(1, 0, 10, 0);
  const Transaction overdraft = chain.MakeTransfer(0, 1, 2'000'000, 0);
  std::vector<TxResult> results;
  WriteSet writes;
  testing::TestChain::Execute(*store, {forged, overdraft}, &results, &writes);
  EXPECT_EQ(results[0].code, testing::kBadSignature);
  EXPECT_EQ(results[1].code, testing::kInsufficientFunds);
  EXPECT_TRUE(writes.empty());

  testing::TestChain::Execute(*store, {replay_first, replay_first}, &results, &writes);
  EXPECT_EQ(results[0].code, testing::kOk);
  EXPECT_EQ(results[1].code, testing::kBadNonce);  // the same nonce again
}

}  // namespace
}  // namespace nanum
