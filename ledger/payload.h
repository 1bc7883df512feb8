// Transaction payloads: what a signed transaction asks for. Each payload has a fixed type
// number, part of the signed body, and a canonical encoding (layouts in payload.cc).
//
// Decoding checks form only (sizes, names, non-zero quantities); whether a payload may run
// (a member is active, a gate is open, a balance suffices) is the chaincode's to decide.
//
// Thread safety: plain values.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/status.h"

namespace nanum {

// Member and meter ids: 1 to 32 bytes of [a-z0-9._-], starting with a letter or digit.
inline constexpr std::size_t kMaxNameBytes = 32;
bool IsValidName(std::string_view id);

enum class PayloadType : std::uint16_t {
  kTransfer = 1,
  kGovern = 2,
  kPlaceOrder = 3,
  kCancelOrder = 4,
  kSubmitReading = 5,
};
const char* PayloadTypeName(PayloadType t);

// Moves `amount` (> 0) base units from the signing member to member `to`.
struct Transfer {
  std::string to;
  std::uint64_t amount = 0;
  bool operator==(const Transfer&) const = default;
};

// ---- Governance actions, each needing governance_threshold distinct admins. ----
struct RegisterMember {
  std::string member_id;
  PublicKey key;
  bool operator==(const RegisterMember&) const = default;
};
struct SetMemberStatus {
  std::string member_id;
  bool active = true;
  bool operator==(const SetMemberStatus&) const = default;
};
struct BindMeter {
  std::string meter_id;
  std::string member_id;
  PublicKey oracle;
  bool operator==(const BindMeter&) const = default;
};
struct Deposit {
  std::string member_id;
  std::uint64_t amount = 0;
  bool operator==(const Deposit&) const = default;
};
struct Withdraw {
  std::string member_id;
  std::uint64_t amount = 0;
  bool operator==(const Withdraw&) const = default;
};
struct SetValidators {
  std::vector<PublicKey> validators;  // strictly increasing, 1 to 256 keys
  bool operator==(const SetValidators&) const = default;
};
using Action = std::variant<RegisterMember, SetMemberStatus, BindMeter, Deposit, Withdraw, SetValidators>;

// An admin's approval of `action`. Admins approve the same proposal by sending the same
// action with the same `salt`; the salt lets the same action (a second deposit of the same
// amount, say) be proposed again later as a new proposal.
struct Govern {
  std::uint64_t salt = 0;
  Action action;
  bool operator==(const Govern&) const = default;
};
// The proposal id of a Govern payload: TaggedHash("nanum/proposal", encoded salt and action).
Hash256 ProposalId(const Govern& g);

enum class Side : std::uint8_t { kBuy = 1, kSell = 2 };

struct PlaceOrder {
  Side side = Side::kBuy;
  std::uint64_t slot = 0;
  std::uint64_t quantity_wh = 0;  // > 0
  std::uint64_t price = 0;        // base units per Wh
  bool operator==(const PlaceOrder&) const = default;
};

struct CancelOrder {
  Hash256 order_id{};
  bool operator==(const CancelOrder&) const = default;
};

// One meter's reading for one slot, signed by the oracle bound to the meter.
struct SubmitReading {
  std::string meter_id;
  std::uint64_t slot = 0;
  std::uint64_t sequence = 0;       // strictly increasing per meter
  std::uint64_t export_wh = 0;      // energy exported in the slot
  std::uint64_t import_wh = 0;      // energy imported in the slot
  std::uint64_t cum_export_wh = 0;  // export register at the slot's end
  std::uint64_t cum_import_wh = 0;  // import register at the slot's end
  std::int64_t power_mw = 0;        // instantaneous active power, milliwatts (export < 0)
  std::uint32_t voltage_mv = 0;     // RMS voltage, millivolts
  std::uint32_t current_ma = 0;     // RMS current, milliamperes
  std::int32_t power_factor_permille = 0;  // -1000 to 1000
  bool operator==(const SubmitReading&) const = default;
};

using Payload = std::variant<Transfer, Govern, PlaceOrder, CancelOrder, SubmitReading>;

PayloadType TypeOf(const Payload& p);
std::string EncodePayload(const Payload& p);
// Errors: kTruncated, kTrailingData, kTooLarge, kUnsupported (unknown type or action),
// kInvalidArgument (a field that breaks its rule).
Status DecodePayload(std::uint16_t type, std::string_view bytes, Payload* out);

std::string EncodeAction(const Action& a);

}  // namespace nanum
