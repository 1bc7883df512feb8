// The community energy market (MARKET.md) as a deterministic state machine.
//
// ExecuteBlock runs one block over the ledger's state: first the steps that block time
// triggers (gate closures with their auctions, in slot order; then settlements, in slot
// order), then the block's transactions in order. Each transaction either succeeds, with all
// its writes, or fails with a specific Result code and changes nothing. Everything is integer
// arithmetic on data in the ledger: no clock, threads, I/O, randomness or floating point, and
// iteration only in key order. The same blocks on the same state give the same writes on
// every machine.
//
// Where MARKET.md is silent, the choices made are written in docs/MARKET.md.
//
// Thread safety: every function is a pure function of its arguments; state readers passed in
// must not change during a call.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chaincode/book.h"
#include "ledger/block.h"
#include "ledger/payload.h"
#include "ledger/state.h"
#include "ledger/status.h"
#include "ledger/transaction.h"

namespace nanum::market {

enum class Mechanism : std::uint8_t { kContinuous = 1, kUniformPrice = 2 };

struct Params {
  static constexpr const char* kName = "params";
  std::uint64_t slot_seconds = 900;
  std::uint64_t gate_closure_seconds = 60;
  std::uint64_t horizon_slots = 96;
  std::uint64_t settlement_delay_seconds = 900;
  std::uint64_t tolerance_permille = 30;
  std::uint64_t shortfall_penalty = 0;
  std::uint8_t mechanism = static_cast<std::uint8_t>(Mechanism::kContinuous);
  std::uint64_t initial_grant = 100000;
  std::uint32_t governance_threshold = 1;
  std::uint64_t validator_change_delay_blocks = 10;
  std::uint32_t max_open_orders_per_member = 256;
  std::uint32_t max_orders_per_slot = 100000;
  template <class F> void Fields(F f) {
    f(slot_seconds); f(gate_closure_seconds); f(horizon_slots); f(settlement_delay_seconds);
    f(tolerance_permille); f(shortfall_penalty); f(mechanism); f(initial_grant);
    f(governance_threshold); f(validator_change_delay_blocks); f(max_open_orders_per_member);
    f(max_orders_per_slot);
  }
  // kInvalidArgument naming the parameter that is out of range.
  Status Validate() const;
};

struct CommunityInfo {
  static constexpr const char* kName = "community info";
  std::string name;
  std::string chain_id;
  std::string token_symbol = "NANUM";
  std::uint8_t token_decimals = 3;
  std::uint64_t genesis_time_ms = 0;
  template <class F> void Fields(F f) { f(name); f(chain_id); f(token_symbol); f(token_decimals); f(genesis_time_ms); }
};

struct GenesisMember {
  std::string id;
  PublicKey key;
  bool admin = false;
};

struct Genesis {
  CommunityInfo info;
  Params params;
  std::vector<PublicKey> validators;  // sorted, distinct
  std::vector<GenesisMember> members; // each granted params.initial_grant
  std::vector<BindMeter> meters;
};

// Result codes recorded in a block's results. 0 and 1 change what they say; every other code
// changes nothing.
enum class Result : std::uint32_t {
  kOk = 0,
  kDuplicate = 1,  // an identical reading was already recorded; nothing changed
  // The signer.
  kUnknownSigner = 10, kSuspended = 11, kStaleNonce = 12, kNotAdmin = 13, kWrongPayloadSigner = 14,
  // Members, meters, governance.
  kUnknownMember = 20, kMemberExists = 21, kKeyInUse = 22, kUnknownMeter = 23, kMeterExists = 24,
  kAlreadyApproved = 25, kProposalDone = 26, kSelfTransfer = 27, kChangePending = 28,
  // Money.
  kInsufficientFunds = 30, kOverflow = 31,
  // Orders.
  kGateClosed = 40, kBeyondHorizon = 41, kOppositeSideOrder = 42, kUnknownOrder = 43,
  kNotOrderOwner = 44, kOrderClosed = 45, kTooManyOrders = 46,
  // Readings.
  kWrongOracle = 50, kStaleSequence = 51, kRegisterDecreased = 52, kSlotNotEnded = 53,
  kEnergyExceedsRegister = 54, kConflictingReading = 55,
};
const char* ResultName(Result r);

struct Supply {
  static constexpr const char* kName = "supply";
  std::uint64_t grants = 0;
  std::uint64_t deposits = 0;
  std::uint64_t withdrawals = 0;
  template <class F> void Fields(F f) { f(grants); f(deposits); f(withdrawals); }
};

struct ValidatorSet {
  static constexpr const char* kName = "validator set";
  std::vector<PublicKey> current;
  std::uint64_t current_from_height = 1;  // the first block `current` was in force for
  std::vector<PublicKey> pending;         // empty when no change was approved since
  std::uint64_t pending_from_height = 0;  // in force from here (may be reached already)
  template <class F> void Fields(F f) {
    f(current); f(current_from_height); f(pending); f(pending_from_height);
  }
};

struct Member {
  static constexpr const char* kName = "member";
  std::string id;
  PublicKey key;
  bool active = true;
  bool admin = false;
  std::int64_t available = 0;
  std::int64_t escrow = 0;
  std::uint32_t open_orders = 0;
  template <class F> void Fields(F f) { f(id); f(key); f(active); f(admin); f(available); f(escrow); f(open_orders); }
};

enum class OrderStatus : std::uint8_t { kOpen = 1, kFilled = 2, kCancelled = 3, kExpired = 4 };

struct Order {
  static constexpr const char* kName = "order";
  Hash256 id{};
  std::string owner;
  Side side = Side::kBuy;
  std::uint64_t slot = 0;
  std::uint64_t quantity_wh = 0;
  std::uint64_t remaining_wh = 0;
  std::uint64_t price = 0;
  std::uint64_t height = 0;
  std::uint32_t index = 0;
  std::uint8_t status = static_cast<std::uint8_t>(OrderStatus::kOpen);
  template <class F> void Fields(F f) {
    f(id); f(owner); f(side); f(slot); f(quantity_wh); f(remaining_wh); f(price); f(height); f(index); f(status);
  }
};

enum class SlotPhase : std::uint8_t { kOpen = 1, kClosed = 2, kSettled = 3 };

struct Slot {
  static constexpr const char* kName = "slot";
  std::uint64_t slot = 0;
  std::uint8_t phase = static_cast<std::uint8_t>(SlotPhase::kOpen);
  std::uint64_t orders = 0;
  std::uint64_t clearing_price = 0;  // uniform_price only; 0 if nothing cleared
  std::uint64_t traded_wh = 0;
  std::uint64_t contracts = 0;
  template <class F> void Fields(F f) { f(slot); f(phase); f(orders); f(clearing_price); f(traded_wh); f(contracts); }
};

struct Contract {
  static constexpr const char* kName = "contract";
  std::uint64_t id = 0;
  std::uint64_t slot = 0;
  std::string seller;
  std::string buyer;
  std::uint64_t quantity_wh = 0;
  std::uint64_t price = 0;
  Hash256 sell_order{};
  Hash256 buy_order{};
  std::uint64_t sell_limit = 0;  // the orders' own prices, for the auditor's check 3
  std::uint64_t buy_limit = 0;
  std::uint64_t height = 0;      // the block that made it
  bool settled = false;
  std::uint64_t delivered_wh = 0;
  std::int64_t paid = 0;         // to the seller
  std::int64_t penalty = 0;      // seller to buyer
  template <class F> void Fields(F f) {
    f(id); f(slot); f(seller); f(buyer); f(quantity_wh); f(price); f(sell_order); f(buy_order);
    f(sell_limit); f(buy_limit); f(height); f(settled); f(delivered_wh); f(paid); f(penalty);
  }
};

struct Meter {
  static constexpr const char* kName = "meter";
  std::string id;
  std::string owner;
  PublicKey oracle;
  bool has_reading = false;
  std::uint64_t last_sequence = 0;
  std::uint64_t last_slot = 0;
  std::uint64_t cum_export_wh = 0;
  std::uint64_t cum_import_wh = 0;
  template <class F> void Fields(F f) {
    f(id); f(owner); f(oracle); f(has_reading); f(last_sequence); f(last_slot); f(cum_export_wh); f(cum_import_wh);
  }
};

struct Reading {
  static constexpr const char* kName = "reading";
  std::string reading;          // the SubmitReading payload's bytes
  std::uint64_t height = 0;     // recorded at
  bool late = false;            // arrived after its slot settled: history only
  template <class F> void Fields(F f) { f(reading); f(height); f(late); }
};

struct Settlement {
  static constexpr const char* kName = "settlement";
  std::uint64_t slot = 0;
  std::string member;
  std::uint64_t sold_wh = 0;        // contracted as seller
  std::uint64_t exported_wh = 0;    // measured
  std::uint64_t delivered_sold_wh = 0;
  std::uint64_t bought_wh = 0;      // contracted as buyer
  std::uint64_t imported_wh = 0;    // measured, or bought_wh when no reading
  std::uint64_t delivered_bought_wh = 0;
  bool export_measured = false;
  bool import_measured = false;
  std::int64_t received = 0;        // as seller
  std::int64_t paid = 0;            // as buyer
  std::int64_t refunded = 0;        // escrow returned as buyer
  std::int64_t penalty_paid = 0;
  std::int64_t penalty_received = 0;
  std::uint64_t height = 0;
  template <class F> void Fields(F f) {
    f(slot); f(member); f(sold_wh); f(exported_wh); f(delivered_sold_wh); f(bought_wh); f(imported_wh);
    f(delivered_bought_wh); f(export_measured); f(import_measured); f(received); f(paid); f(refunded);
    f(penalty_paid); f(penalty_received); f(height);
  }
};

// Called after each transaction with the state as it stands then (the auditor's hook for
// checks that need per-transaction granularity). `contracts` are the contracts it made.
using TxObserver = std::function<void(std::size_t index, const Transaction& tx, Result result,
                                      const StateReader& after, const std::vector<Contract>& contracts)>;

// Writes the genesis state into `state`. Errors: kInvalidArgument for a bad genesis (names,
// repeated ids or keys, parameters out of range, meters for unknown members).
Status InitGenesis(const Genesis& genesis, StateOverlay* state);

// The block at height 0: time genesis.info.genesis_time_ms, no transactions, the state root
// of InitGenesis's writes (which are returned in `writes`, to store with it). Its hash names
// the chain: every node and auditor derives the same one from the same genesis.
Status GenesisBlock(const Genesis& genesis, Block* block, WriteSet* writes);

// Executes one block on `state` (the state after the previous block) and returns one result
// per transaction and the block's write set.
// REQUIRES: every transaction's chain id and signature have been verified by the caller
// (the node verifies in parallel before execution).
// Errors (the block cannot be executed; nothing is returned): kInvalidArgument if `time_ms`
// is not after the previous block's or `height` is not the next; kCorruption if the state does
// not decode.
Status ExecuteBlock(const StateReader& state, std::uint64_t height, std::uint64_t time_ms,
                    const std::vector<Transaction>& txs, std::vector<TxResult>* results,
                    WriteSet* writes, const TxObserver& observer = nullptr);

// The slot that contains block time `time_ms`.
std::uint64_t SlotAt(const Params& p, std::uint64_t time_ms);

}  // namespace nanum::market
