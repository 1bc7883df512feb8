// Hashing transaction ids (SHA-256 outputs) for in-memory tables and filters that are only
// looked up, never iterated in an order that matters. An id's bytes are already uniform, but
// a client chooses its transactions, and so could grind ids that collide in a table; mixing
// in a salt the client cannot know (drawn per process) takes that away.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>

#include "ledger/crypto.h"

namespace nanum {

// SplitMix64's finaliser of `x` xor `salt`.
inline std::uint64_t MixWord(std::uint64_t x, std::uint64_t salt) {
  x ^= salt;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The same of the id's `i`-th 8 bytes (i < 4).
inline std::uint64_t MixIdWord(const Hash256& id, std::size_t i, std::uint64_t salt) {
  std::uint64_t x;
  std::memcpy(&x, id.data() + 8 * i, sizeof x);
  return MixWord(x, salt);
}

// A salt for the above, from the operating system's randomness.
inline std::uint64_t RandomSalt() {
  std::random_device rd;
  return (std::uint64_t{rd()} << 32) ^ rd();
}

// For std::unordered_map / set keyed by ids.
struct SaltedIdHash {
  std::uint64_t salt = 0;
  std::size_t operator()(const Hash256& id) const { return static_cast<std::size_t>(MixIdWord(id, 0, salt)); }
};

}  // namespace nanum
