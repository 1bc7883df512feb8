// SHA-256, tagged hashes, BIP-340 signatures and key files.
#include "ledger/crypto.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace nanum {
namespace {

Hash256 H(const char* hex) { return *FixedFromHex<32>(hex); }

TEST(Sha256, FipsVectors) {
  EXPECT_EQ(ToHex(Sha256Of("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(ToHex(Sha256Of("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 h;
  h.Update("ab").Update("c");
  EXPECT_EQ(ToHex(h.Finish()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, TaggedHashIsBip340Construction) {
  const Hash256 tag = Sha256Of("nanum/tx");
  std::string pre(reinterpret_cast<const char*>(tag.data()), 32);
  EXPECT_EQ(TaggedHash("nanum/tx", "body"), Sha256Of(pre + pre + "body"));
  EXPECT_NE(TaggedHash("nanum/tx", "body"), TaggedHash("nanum/block", "body"));
}

// TaggedHash starts from a copy of the tag's hashed first block, kept per thread: it must
// give the definition's hash whatever tags came before, at every length around the 64-byte
// blocks, and on threads that each keep their own copies.
TEST(Sha256, TaggedHashKeepsToItsDefinitionAcrossTagsLengthsAndThreads) {
  auto definition = [](const std::string& tag, const std::string& data) {
    const Hash256 t = Sha256Of(tag);
    const std::string pre(reinterpret_cast<const char*>(t.data()), 32);
    return Sha256Of(pre + pre + data);
  };
  auto check = [&](int salt, int* mismatches) {
    for (int len = 0; len <= 200; ++len) {
      std::string data(static_cast<std::size_t>(len), '\0');
      for (int i = 0; i < len; ++i) data[static_cast<std::size_t>(i)] = static_cast<char>(i * 31 + salt);
      const std::string tag = "nanum/test/" + std::to_string((len * 7 + salt) % 23);  // more than a thread caches
      if (TaggedHash(tag, data) != definition(tag, data)) ++*mismatches;
      // The incremental hash split anywhere gives the one-shot hash.
      Sha256 h;
      h.Update(std::string_view(data).substr(0, static_cast<std::size_t>(len / 3)))
          .Update(std::string_view(data).substr(static_cast<std::size_t>(len / 3)));
      if (h.Finish() != Sha256Of(data)) ++*mismatches;
    }
  };
  int here = 0, there = 0;
  std::thread t([&] { check(1, &there); });
  check(2, &here);
  t.join();
  EXPECT_EQ(here, 0);
  EXPECT_EQ(there, 0);
}

TEST(Hex, RoundTripAndRejects) {
  EXPECT_EQ(ToHex(std::string("\x00\xff\x10", 3)), "00ff10");
  EXPECT_EQ(*FromHex("00FF10"), std::string("\x00\xff\x10", 3));
  EXPECT_FALSE(FromHex("abc").has_value());
  EXPECT_FALSE(FromHex("zz").has_value());
  EXPECT_FALSE(FixedFromHex<32>("00").has_value());
}

// The official BIP-340 test vectors 0 and 1 (bip-0340/test-vectors.csv).
TEST(Schnorr, Bip340SigningVectors) {
  struct V { const char* secret; const char* pub; const char* aux; const char* msg; const char* sig; };
  const V vectors[] = {
      {"0000000000000000000000000000000000000000000000000000000000000003",
       "f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9",
       "0000000000000000000000000000000000000000000000000000000000000000",
       "0000000000000000000000000000000000000000000000000000000000000000",
       "e907831f80848d1069a5371b402410364bdf1c5f8307b0084c55f1ce2dca8215"
       "25f66a4a85ea8b71e482a74f382d2ce5ebeee8fdb2172f477df4900d310536c0"},
      {"b7e151628aed2a6abf7158809cf4f3c762e7160f38b4da56a784d9045190cfef",
       "dff1d77f2a671c5f36183726db2341be58feae1da2deced843240f7b502ba659",
       "0000000000000000000000000000000000000000000000000000000000000001",
       "243f6a8885a308d313198a2e03707344a4093822299f31d0082efa98ec4e6c89",
       "6896bd60eeae296db48a229ff71dfe071bde413e6d43f917dc8dcf8c78de3341"
       "8906d11ac976abccb20b091292bff4ea897efcb639ea871cfa95f6de339e4b0a"},
  };
  for (const V& v : vectors) {
    PrivateKey k;
    ASSERT_TRUE(PrivateKey::FromBytes(H(v.secret), &k).ok());
    EXPECT_EQ(k.public_key().Hex(), v.pub);
    const Signature sig = k.SignWithAux(H(v.msg), H(v.aux));
    EXPECT_EQ(ToHex(sig), v.sig);
    EXPECT_TRUE(Verify(k.public_key(), H(v.msg), sig));
  }
}

TEST(Schnorr, VerifyFailsForTamperedMessageSignatureOrKey) {
  const PrivateKey k = PrivateKey::Generate();
  const PrivateKey other = PrivateKey::Generate();
  const Hash256 msg = Sha256Of("message");
  Signature sig = k.Sign(msg);
  EXPECT_TRUE(Verify(k.public_key(), msg, sig));
  EXPECT_FALSE(Verify(other.public_key(), msg, sig));
  EXPECT_FALSE(Verify(k.public_key(), Sha256Of("messagf"), sig));
  sig[10] ^= 0x01;
  EXPECT_FALSE(Verify(k.public_key(), msg, sig));
  EXPECT_FALSE(Verify(PublicKey(), msg, k.Sign(msg)));  // the all-zero key is no key
}

TEST(Keys, InvalidSecretsAndPointsAreRejected) {
  PrivateKey k;
  EXPECT_FALSE(PrivateKey::FromBytes(Hash256{}, &k).ok());  // zero
  Hash256 order_or_more;
  order_or_more.fill(0xff);
  EXPECT_FALSE(PrivateKey::FromBytes(order_or_more, &k).ok());
  PublicKey p;
  // x = 5 is not the x coordinate of a point on secp256k1 (5^3 + 7 = 132 is a non-residue).
  Hash256 x{};
  x[31] = 5;
  EXPECT_EQ(PublicKey::Parse(x, &p).code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(PublicKey::Parse(PrivateKey::Generate().public_key().bytes(), &p).ok());
}

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nanum-keyfile-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(KeyFileTest, WrittenWithMode0600AndReadBack) {
  const std::string path = dir_ + "/member.key";
  const PrivateKey k = PrivateKey::Generate();
  ASSERT_TRUE(WriteKeyFile(path, k).ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  PrivateKey back;
  ASSERT_TRUE(ReadKeyFile(path, &back).ok());
  EXPECT_EQ(back.public_key(), k.public_key());
}

TEST_F(KeyFileTest, NeverOverwritten) {
  const std::string path = dir_ + "/member.key";
  const PrivateKey k = PrivateKey::Generate();
  ASSERT_TRUE(WriteKeyFile(path, k).ok());
  EXPECT_EQ(WriteKeyFile(path, PrivateKey::Generate()).code(), Status::Code::kFailedPrecondition);
  PrivateKey back;
  ASSERT_TRUE(ReadKeyFile(path, &back).ok());
  EXPECT_EQ(back.public_key(), k.public_key());
}

TEST_F(KeyFileTest, ReadableByOthersIsRefusedWithAFix) {
  const std::string path = dir_ + "/member.key";
  ASSERT_TRUE(WriteKeyFile(path, PrivateKey::Generate()).ok());
  for (mode_t mode : {mode_t{0644}, mode_t{0640}, mode_t{0604}}) {
    ASSERT_EQ(chmod(path.c_str(), mode), 0);
    PrivateKey back;
    Status s = ReadKeyFile(path, &back);
    EXPECT_EQ(s.code(), Status::Code::kPermissionDenied) << mode;
    EXPECT_NE(s.message().find("chmod 600"), std::string::npos) << s.ToString();
  }
}

TEST_F(KeyFileTest, MissingAndDamagedFiles) {
  PrivateKey back;
  EXPECT_EQ(ReadKeyFile(dir_ + "/absent.key", &back).code(), Status::Code::kNotFound);

  const std::string path = dir_ + "/bad.key";
  {
    std::ofstream f(path);
    f << "secret 00zz\n";
  }
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  EXPECT_EQ(ReadKeyFile(path, &back).code(), Status::Code::kCorruption);

  const PrivateKey a = PrivateKey::Generate(), b = PrivateKey::Generate();
  {
    std::ofstream f(path, std::ios::trunc);
    f << "public " << b.public_key().Hex() << "\nsecret " << a.SecretHex() << "\n";
  }
  EXPECT_EQ(ReadKeyFile(path, &back).code(), Status::Code::kCorruption);  // mismatched pair
}

}  // namespace
}  // namespace nanum
