// A small community for the chaincode's tests: an operator (admin) "op", households a, b, c,
// d, each with one meter ("m-a" …) bound to its own oracle key ("oracle-a" …), and a helper
// to run blocks at chosen times.
//
// Time: slots are 900 s. Slot 100 runs [90,000,000, 90,900,000) ms, its gate closes at
// 89,940,000 and it settles in the first block at or after 91,800,000. Genesis is at
// 80,000,000 (slot 88).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "chaincode/market.h"
#include "chaincode/queries.h"
#include "ledger/store.h"

namespace nanum::market::testing {

inline constexpr std::uint64_t kGenesisMs = 80'000'000;
inline constexpr std::uint64_t kSlot = 100;
inline constexpr std::uint64_t kBeforeGate = 89'000'000;   // orders for slot 100 accepted
inline constexpr std::uint64_t kAtGate = 89'940'000;       // gate of slot 100 closes
inline constexpr std::uint64_t kSlotEnd = 90'900'000;      // readings for slot 100 accepted
inline constexpr std::uint64_t kSettleAt = 91'800'000;     // slot 100 settles

PrivateKey KeyOf(const std::string& name);

class MarketFixture {
 public:
  explicit MarketFixture(Params p = Params(), std::vector<std::string> households = {"a", "b", "c", "d"});

  // Signs `payload` as `who` (a member or an oracle name) with its next nonce.
  Transaction Tx(const std::string& who, Payload payload);
  // Executes a block at `time_ms`; returns the result codes. Fails the test on a block error.
  std::vector<Result> Block(std::uint64_t time_ms, std::vector<Transaction> txs);
  Status TryBlock(std::uint64_t time_ms, std::vector<Transaction> txs, std::vector<Result>* results);

  Member M(const std::string& id) const;
  std::int64_t Available(const std::string& id) const { return M(id).available; }
  std::int64_t Escrow(const std::string& id) const { return M(id).escrow; }
  // The total of every balance (available + escrow).
  std::int64_t TotalBalances() const;

  // Shorthands for the common transactions.
  Transaction Buy(const std::string& who, std::uint64_t q, std::uint64_t price, std::uint64_t slot = kSlot) {
    return Tx(who, PlaceOrder{Side::kBuy, slot, q, price});
  }
  Transaction Sell(const std::string& who, std::uint64_t q, std::uint64_t price, std::uint64_t slot = kSlot) {
    return Tx(who, PlaceOrder{Side::kSell, slot, q, price});
  }
  // A reading for `household`'s meter in `slot`; the registers advance by exactly the energy.
  Transaction Reading(const std::string& household, std::uint64_t slot, std::uint64_t export_wh,
                      std::uint64_t import_wh);

  const StateReader& state() const { return state_; }
  std::uint64_t height() const { return height_; }
  const WriteSet& last_writes() const { return last_writes_; }
  TxObserver observer;

 private:
  std::unique_ptr<Store> empty_;
  StateOverlay state_;
  std::uint64_t height_ = 0;
  std::map<std::string, std::uint64_t> nonces_;
  std::map<std::string, std::uint64_t> sequence_, cum_export_, cum_import_;
  WriteSet last_writes_;
};

}  // namespace nanum::market::testing
