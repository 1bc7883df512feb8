// Read-only queries over the market's state, each served from an index (a key prefix in
// order), never from a scan of the whole state. Results are paged: at most `limit` rows
// (capped at kMaxPage) starting after `after` where a query takes it.
//
// Thread safety: pure functions of the reader passed in.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "chaincode/market.h"

namespace nanum::market {

inline constexpr std::size_t kMaxPage = 1000;

// kNotFound when the thing does not exist; kCorruption when a record does not decode.
Status GetParams(const StateReader& s, Params* out);
Status GetInfo(const StateReader& s, CommunityInfo* out);
Status GetSupply(const StateReader& s, Supply* out);
Status GetValidators(const StateReader& s, ValidatorSet* out);
// The validator set in force for block `height`: the pending set once its height is reached.
// REQUIRES: `height` is at most the end of ValidatorEpochAt for the state's next height.
Status ValidatorsAt(const StateReader& s, std::uint64_t height, std::vector<PublicKey>* out);

// The validators in force for `next` (the height after the state's last block), the first
// height they are in force for, and the last height this state vouches for: the height before
// an approved change, or next − 1 + validator_change_delay_blocks when none is pending (a
// change approved in block `next` or later takes effect after that). Consensus uses this to
// switch sets at one height everywhere.
struct ValidatorEpoch {
  std::uint64_t start = 1;
  std::uint64_t end = 0;
  std::vector<PublicKey> validators;
};
Status ValidatorEpochAt(const StateReader& s, std::uint64_t next, ValidatorEpoch* out);
Status GetMember(const StateReader& s, std::string_view id, Member* out);
Status GetMemberByKey(const StateReader& s, const PublicKey& key, Member* out);
// The last nonce the key used in a successful transaction (0 if none): send last + 1.
std::uint64_t LastNonce(const StateReader& s, const PublicKey& key);
// Members in id order, after `after` ("" from the first).
Status ListMembers(const StateReader& s, std::string_view after, std::size_t limit, std::vector<Member>* out);

Status GetOrder(const StateReader& s, const Hash256& id, Order* out);
// A member's orders (open, filled, cancelled or expired) in slots not yet reset, by slot.
Status MemberOrders(const StateReader& s, std::string_view member, std::size_t limit, std::vector<Order>* out);

struct PriceLevel {
  std::uint64_t price = 0;
  std::uint64_t quantity_wh = 0;
  std::uint32_t orders = 0;
  bool operator==(const PriceLevel&) const = default;
};
// A slot's open orders aggregated by price: buys best (highest) first, sells best first.
Status BookLevels(const StateReader& s, std::uint64_t slot, std::vector<PriceLevel>* buys,
                  std::vector<PriceLevel>* sells);
Status GetSlot(const StateReader& s, std::uint64_t slot, Slot* out);

Status GetContract(const StateReader& s, std::uint64_t id, Contract* out);
Status ContractsBySlot(const StateReader& s, std::uint64_t slot, std::size_t limit, std::vector<Contract>* out);
// A member's contracts (as buyer or seller) in id order, from id `from`.
Status ContractsByMember(const StateReader& s, std::string_view member, std::uint64_t from,
                         std::size_t limit, std::vector<Contract>* out);

Status GetMeter(const StateReader& s, std::string_view id, Meter* out);
struct StoredReading {
  SubmitReading reading;
  std::uint64_t height = 0;
  bool late = false;
};
Status GetReading(const StateReader& s, std::string_view meter, std::uint64_t slot, StoredReading* out);
// A meter's readings by slot, from slot `from`.
Status ReadingsByMeter(const StateReader& s, std::string_view meter, std::uint64_t from,
                       std::size_t limit, std::vector<StoredReading>* out);

Status SettlementsBySlot(const StateReader& s, std::uint64_t slot, std::size_t limit, std::vector<Settlement>* out);
Status SettlementsByMember(const StateReader& s, std::string_view member, std::uint64_t from_slot,
                           std::size_t limit, std::vector<Settlement>* out);

}  // namespace nanum::market
