// A community's ledger built directly, without consensus: the audit's tests tamper with a
// small one, and `nanum-make-ledger` builds a big one for the audit's replay figure.
//
// The community: 4 validators (they sign every block's certificate, a quorum of 3 of them
// taking turns), an operator, `households` members with one meter each bound to its own
// oracle key; half the households have solar panels and sell, the others buy. Every slot
// each household places `orders_per_slot` orders for the slot after next, at prices that
// mostly cross (continuous matching makes contracts), and its oracle signs a reading for
// every slot that ended; slots settle. Blocks come every `block_interval_ms` and carry what
// is due, so every transaction is real chaincode work, signed by its member or oracle.
//
// Everything derives from `seed`: the same spec gives the same ledger, except for the
// signatures' auxiliary randomness.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "chaincode/market.h"
#include "ledger/status.h"

namespace nanum::testing {

struct LedgerSpec {
  std::uint64_t transactions = 2000;  // at least this many, in whole blocks
  int households = 20;
  int orders_per_slot = 4;
  std::uint64_t slot_seconds = 60;
  std::uint64_t block_interval_ms = 2000;
  std::uint64_t seed = 1;
  int threads = 2;  // for signing
};

struct LedgerStats {
  std::uint64_t blocks = 0;  // above genesis
  std::uint64_t transactions = 0;
  std::map<std::string, std::uint64_t> results;  // by result name
};

// Writes `dir`/genesis.json and the ledger in `dir`/data/ledger (a node's data directory
// layout), refusing a directory that already holds a ledger.
Status BuildLedger(const std::string& dir, const LedgerSpec& spec, LedgerStats* stats);

// The private keys the builder uses, by name ("validator-0", "op", "h-0007", "oracle-h-0007").
PrivateKey BuilderKey(const std::string& name);

}  // namespace nanum::testing
