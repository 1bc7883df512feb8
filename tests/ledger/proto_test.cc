// The wire messages carry the canonical bytes untouched: a transaction that crosses the
// wire in a protobuf Envelope verifies on the other side.
#include <gtest/gtest.h>

#include "ledger/encoding.h"
#include "ledger/transaction.h"
#include "nanum/v1/ledger.pb.h"
#include "test_chain.h"

namespace nanum {
namespace {

TEST(Proto, EnvelopeCarriesExactBodyBytes) {
  testing::TestChain chain(2);
  const Transaction tx = chain.MakeTransfer(0, 1, 42, 0);
  v1::Envelope wire;
  wire.set_body(tx.body_bytes());
  wire.set_signature(std::string(reinterpret_cast<const char*>(tx.signature().data()), 64));
  const std::string sent = wire.SerializeAsString();

  v1::Envelope received;
  ASSERT_TRUE(received.ParseFromString(sent));
  Writer env;
  env.Bytes(received.body());
  env.Raw(received.signature());
  Transaction back;
  ASSERT_TRUE(Transaction::Decode(env.data(), &back).ok());
  EXPECT_EQ(back.id(), tx.id());
  EXPECT_TRUE(back.Verify(testing::kChainId).ok());
}

}  // namespace
}  // namespace nanum
