// A deterministic key for node tests: 32 bytes of `b`.
#pragma once

#include <gtest/gtest.h>

#include "ledger/crypto.h"

namespace nanum::node {

inline PrivateKey KeyFrom(std::uint8_t b) {
  std::array<std::uint8_t, 32> s{};
  s.fill(b);
  PrivateKey k;
  EXPECT_TRUE(PrivateKey::FromBytes(s, &k).ok());
  return k;
}

}  // namespace nanum::node
