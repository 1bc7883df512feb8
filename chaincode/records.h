// The market's state records and keys. Internal to chaincode/: other parts read them through
// market.h's queries.
//
// Each record lists its fields once, in Fields(); the same list encodes and decodes it in the
// canonical encoding (ledger/encoding.h), so the two can never disagree. Field order is the
// byte order.
//
// Key layout (every multi-byte number big-endian, so byte order is numeric order):
//   "params"                         Params
//   "info"                           CommunityInfo
//   "clock"                          Clock: the last executed block's height and time
//   "supply"                         Supply: grants, deposits, withdrawals
//   "validators"                     ValidatorSet: current, and a pending change
//   "mem/" id                        Member
//   "key/" key32                     member id of a member's key
//   "okey/" key32                    u32: meters bound to this oracle key
//   "nonce/" key32                   u64: the signer's last accepted nonce
//   "prop/" id32                     Proposal awaiting approvals
//   "pdone/" id32                    u64: height at which a proposal was carried out
//   "ord/" id32                      Order (live until its slot is reset)
//   "book/" slot8 side1 pkey8 h8 i4  order id32: the resting orders, best first
//                                    (pkey = price for sells, 2^64-1-price for buys)
//   "sord/" slot8 id32               owner's member id: a slot's orders, for reset
//   "mord/" member "/" slot8 id32    "": a member's orders
//   "mslot/" member "/" slot8        MemberSlot: the member's open orders per side
//   "slot/" slot8                    Slot: phase, clearing price, volume
//   "gateq/" slot8                   "": slots whose gate is still open
//   "setq/" slot8                    "": slots closed and awaiting settlement
//   "ctr/" id8                       Contract
//   "sctr/" slot8 id8                "": contracts by slot
//   "mctr/" member "/" id8           "": contracts by member
//   "meter/" id                      Meter
//   "rd/" meter "/" slot8            Reading (history, kept)
//   "srd/" slot8 member "/" meter    SlotEnergy: a reading's energy, for the slot's settlement
//   "stl/" slot8 member              Settlement of a member in a slot (history, kept)
//   "mstl/" member "/" slot8         "": settlements by member
//   "next/contract"                  u64: the next contract id
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "chaincode/market.h"
#include "ledger/encoding.h"
#include "ledger/limits.h"

namespace nanum::market {

// ---- Field visitors: the one place that maps field types to the encoding. ----

struct FieldWriter {
  Writer* w;
  void operator()(const std::string& v) const { w->Bytes(v); }
  void operator()(const PublicKey& v) const { w->Fixed(v.bytes()); }
  void operator()(const Hash256& v) const { w->Fixed(v); }
  void operator()(bool v) const { w->Bool(v); }
  void operator()(std::uint8_t v) const { w->U8(v); }
  void operator()(std::uint32_t v) const { w->U32(v); }
  void operator()(std::uint64_t v) const { w->U64(v); }
  void operator()(std::int64_t v) const { w->I64(v); }
  void operator()(Side v) const { w->U8(static_cast<std::uint8_t>(v)); }
  void operator()(const std::vector<PublicKey>& v) const {
    w->U32(static_cast<std::uint32_t>(v.size()));
    for (const auto& k : v) w->Fixed(k.bytes());
  }
  void operator()(const std::vector<std::string>& v) const {
    w->U32(static_cast<std::uint32_t>(v.size()));
    for (const auto& s : v) w->Bytes(s);
  }
};

struct FieldReader {
  Reader* r;
  void operator()(std::string& v) const { v = std::string(r->Bytes(limits::kMaxStateValueBytes, "string")); }
  void operator()(PublicKey& v) const { v = PublicKey::FromBytesUnchecked(r->Fixed<32>()); }
  void operator()(Hash256& v) const { v = r->Fixed<32>(); }
  void operator()(bool& v) const { v = r->Bool(); }
  void operator()(std::uint8_t& v) const { v = r->U8(); }
  void operator()(std::uint32_t& v) const { v = r->U32(); }
  void operator()(std::uint64_t& v) const { v = r->U64(); }
  void operator()(std::int64_t& v) const { v = r->I64(); }
  void operator()(Side& v) const { v = static_cast<Side>(r->U8()); }
  void operator()(std::vector<PublicKey>& v) const {
    const std::uint32_t n = r->Count(4096, 32, "keys");
    v.resize(n);
    for (auto& k : v) k = PublicKey::FromBytesUnchecked(r->Fixed<32>());
  }
  void operator()(std::vector<std::string>& v) const {
    const std::uint32_t n = r->Count(4096, 4, "strings");
    v.resize(n);
    for (auto& s : v) s = std::string(r->Bytes(kMaxNameBytes, "name"));
  }
};

template <class T>
std::string Encode(const T& rec) {
  Writer w;
  const_cast<T&>(rec).Fields(FieldWriter{&w});
  return w.Release();
}

template <class T>
Status Decode(std::string_view bytes, T* rec) {
  Reader r(bytes, T::kName);
  rec->Fields(FieldReader{&r});
  Status s = r.Finish();
  return s.ok() ? s : Status::Corruption(s.ToString());
}

// Loads and decodes the record at `key`: kNotFound if absent, kCorruption if it does not decode.
template <class T>
Status LoadRecord(const StateReader& s, const std::string& key, T* out) {
  std::string raw;
  NANUM_RETURN_IF_ERROR(s.Get(key, &raw));
  return Decode(raw, out);
}

template <class T>
Status SaveRecord(StateOverlay* s, const std::string& key, const T& rec) {
  return s->Put(key, Encode(rec));
}

// The 32-byte id stored at the start of `b` (an index value or key suffix). A damaged, short
// value gives an id that names nothing, so the lookup that follows fails cleanly.
Hash256 HashFrom(std::string_view b);

// ---- Records not defined in market.h (those are the ones queries return). ----

struct Clock {
  static constexpr const char* kName = "clock";
  std::uint64_t height = 0;
  std::uint64_t time_ms = 0;
  template <class F> void Fields(F f) { f(height); f(time_ms); }
};

struct Proposal {
  static constexpr const char* kName = "proposal";
  std::string govern;                   // the Govern payload's bytes
  std::vector<std::string> approvals;   // admin member ids, sorted
  template <class F> void Fields(F f) { f(govern); f(approvals); }
};

struct MemberSlot {
  static constexpr const char* kName = "member slot";
  std::uint32_t buys = 0;
  std::uint32_t sells = 0;
  template <class F> void Fields(F f) { f(buys); f(sells); }
};

struct SlotEnergy {
  static constexpr const char* kName = "slot energy";
  std::uint64_t export_wh = 0;
  std::uint64_t import_wh = 0;
  template <class F> void Fields(F f) { f(export_wh); f(import_wh); }
};

// ---- Keys. ----

std::string Be64(std::uint64_t v);
std::string KeyBytes(const PublicKey& k);
std::string HashBytes(const Hash256& h);

inline std::string MemberKey(std::string_view id) { return "mem/" + std::string(id); }
inline std::string SignerKey(const PublicKey& k) { return "key/" + KeyBytes(k); }
inline std::string OracleKey(const PublicKey& k) { return "okey/" + KeyBytes(k); }
inline std::string NonceKey(const PublicKey& k) { return "nonce/" + KeyBytes(k); }
inline std::string ProposalKey(const Hash256& id) { return "prop/" + HashBytes(id); }
inline std::string ProposalDoneKey(const Hash256& id) { return "pdone/" + HashBytes(id); }
inline std::string OrderKey(const Hash256& id) { return "ord/" + HashBytes(id); }
std::string BookPrefix(std::uint64_t slot);
std::string BookKey(std::uint64_t slot, Side side, std::uint64_t price, const Priority& p);
inline std::string SlotOrderKey(std::uint64_t slot, const Hash256& id) { return "sord/" + Be64(slot) + HashBytes(id); }
inline std::string MemberOrdersPrefix(std::string_view m) { return "mord/" + std::string(m) + "/"; }
inline std::string MemberOrderKey(std::string_view m, std::uint64_t slot, const Hash256& id) {
  return MemberOrdersPrefix(m) + Be64(slot) + HashBytes(id);
}
inline std::string MemberSlotKey(std::string_view m, std::uint64_t slot) { return "mslot/" + std::string(m) + "/" + Be64(slot); }
inline std::string SlotKey(std::uint64_t slot) { return "slot/" + Be64(slot); }
inline std::string GateQueueKey(std::uint64_t slot) { return "gateq/" + Be64(slot); }
inline std::string SettleQueueKey(std::uint64_t slot) { return "setq/" + Be64(slot); }
inline std::string ContractKey(std::uint64_t id) { return "ctr/" + Be64(id); }
inline std::string SlotContractKey(std::uint64_t slot, std::uint64_t id) { return "sctr/" + Be64(slot) + Be64(id); }
inline std::string MemberContractsPrefix(std::string_view m) { return "mctr/" + std::string(m) + "/"; }
inline std::string MeterKey(std::string_view id) { return "meter/" + std::string(id); }
inline std::string ReadingsPrefix(std::string_view meter) { return "rd/" + std::string(meter) + "/"; }
inline std::string ReadingKey(std::string_view meter, std::uint64_t slot) { return ReadingsPrefix(meter) + Be64(slot); }
inline std::string SlotEnergyPrefix(std::uint64_t slot) { return "srd/" + Be64(slot); }
inline std::string SlotEnergyKey(std::uint64_t slot, std::string_view member, std::string_view meter) {
  return SlotEnergyPrefix(slot) + std::string(member) + "/" + std::string(meter);
}
inline std::string SettlementKey(std::uint64_t slot, std::string_view member) { return "stl/" + Be64(slot) + std::string(member); }
inline std::string MemberSettlementsPrefix(std::string_view m) { return "mstl/" + std::string(m) + "/"; }

std::uint64_t ParseBe64(std::string_view b);  // REQUIRES: b.size() >= 8

}  // namespace nanum::market
