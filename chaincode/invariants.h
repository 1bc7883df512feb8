// The seven checks an auditor makes from the ledger alone (MARKET.md, last section), as a
// reusable checker for the node, the audit command and the tests.
//
//   1. Supply: the sum of every member's available + escrow = grants + deposits − withdrawals.
//   2. No balance below zero, ever.
//   3. Every contract's price lies between its sell order's and its buy order's price.
//   4. Continuous mode: no resting order with a better price, or an equal price and an older
//      priority, was passed over by a match; and the book is never left crossed.
//   5. Per settled slot and seller: delivered ≤ contracted, and ≤ exported unless the seller
//      was within tolerance.
//   6. Every delivered Wh is backed by readings signed by the meter's bound oracle.
//   7. Replaying every block from genesis reproduces each block's state root (the replay
//      itself is the node's and the audit's; see ledger/store.h and the audit command).
//
// Usage: give ExecuteBlock the checker's observer (checks 4 and 6, per transaction), then call
// CheckBlock with the state after the block and the block's writes (checks 1, 2, 3, 5 on what
// the block changed). The first violation is kept, naming the height, the rule and the thing.
//
// Supply (1) and non-negative balances (2) are checked incrementally: the checker keeps each
// member's balance from the first CheckBlock (which reads them all) on and then reads only
// the members a block wrote. So give one checker every block of a replay in order;
// CheckWholeState reads them all again.
//
// Thread safety: one checker per replay, used by one thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "chaincode/market.h"

namespace nanum::market {

class InvariantChecker {
 public:
  // Call before executing block `height` (so violations name it).
  void BeginBlock(std::uint64_t height) { height_ = height; }
  // The per-transaction hook to pass to ExecuteBlock. Valid while the checker lives.
  TxObserver Observer();
  // Checks the state after the block against what the block wrote.
  Status CheckBlock(const StateReader& after, const WriteSet& writes);
  // Checks 1, 2 and 3 over the whole state (for a state loaded from elsewhere).
  Status CheckWholeState(const StateReader& state);

  // The first violation found, or OK.
  const Status& status() const { return first_; }
  // Its rule (1 to 6), or 0 while none is broken.
  int rule() const { return rule_; }

 private:
  void Violation(int rule, const std::string& what);
  void CheckAfterTx(const Transaction& tx, Result result, const StateReader& after,
                    const std::vector<Contract>& contracts);
  // Reads every member when `writes` is null or nothing is cached yet, else only those in
  // `writes`.
  Status CheckSupply(const StateReader& s, const WriteSet* writes);
  void CheckContract(const Contract& c);
  Status CheckSettledSlot(const StateReader& s, std::uint64_t slot);
  // The parameters in `s`, decoded again only when their stored bytes differ from the last
  // ones read; null when they are missing or do not decode.
  const Params* ParamsIn(const StateReader& s);

  std::uint64_t height_ = 0;
  Status first_;
  int rule_ = 0;
  __extension__ typedef unsigned __int128 Sum;
  bool have_balances_ = false;
  std::map<std::string, Sum, std::less<>> balances_;  // member key → available + escrow
  Sum total_ = 0;
  std::string params_bytes_;  // the bytes params_ was decoded from
  Params params_;
  bool have_params_ = false;
  std::string scratch_;
};

}  // namespace nanum::market
