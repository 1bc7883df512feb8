// Keys and transactions for node tests: a deterministic key (32 bytes of `b`), and a signed
// transfer.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "ledger/crypto.h"
#include "ledger/transaction.h"

namespace nanum::node {

inline PrivateKey KeyFrom(std::uint8_t b) {
  std::array<std::uint8_t, 32> s{};
  s.fill(b);
  PrivateKey k;
  EXPECT_TRUE(PrivateKey::FromBytes(s, &k).ok());
  return k;
}

// `from` pays `amount` to member `to`, with `nonce`, on chain `chain_id`.
inline Transaction SignedTransfer(const std::string& chain_id, const PrivateKey& from, std::uint64_t nonce,
                                  const std::string& to, std::uint64_t amount) {
  TxBody b;
  b.chain_id = chain_id;
  b.signer = from.public_key();
  b.nonce = nonce;
  b.payload = Payload{nanum::Transfer{to, amount}};
  return Transaction::Sign(b, from);
}

}  // namespace nanum::node
