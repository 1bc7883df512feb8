#include "chaincode/queries.h"

#include <algorithm>

#include "chaincode/records.h"

namespace nanum::market {
namespace {

template <class T>
Status Load(const StateReader& s, const std::string& key, T* out) { return LoadRecord(s, key, out); }

std::size_t Cap(std::size_t limit) { return limit == 0 || limit > kMaxPage ? kMaxPage : limit; }

// Visits an index in key order from `start`, loading the record each entry names.
template <class T, class KeyOf>
Status Collect(const StateReader& s, const std::string& prefix, const std::string& start,
               std::size_t limit, KeyOf key_of, std::vector<T>* out) {
  out->clear();
  auto it = s.NewIterator(prefix, start);
  for (; it->Valid() && out->size() < Cap(limit); it->Next()) {
    T rec;
    NANUM_RETURN_IF_ERROR(Load(s, key_of(it->key().substr(prefix.size())), &rec));
    out->push_back(std::move(rec));
  }
  return it->status();
}

Status ToStored(const Reading& r, StoredReading* out) {
  Payload p;
  NANUM_RETURN_IF_ERROR(DecodePayload(static_cast<std::uint16_t>(PayloadType::kSubmitReading), r.reading, &p));
  out->reading = std::get<SubmitReading>(p);
  out->height = r.height;
  out->late = r.late;
  return Status::OK();
}

}  // namespace

Status GetParams(const StateReader& s, Params* out) { return Load(s, "params", out); }
Status GetInfo(const StateReader& s, CommunityInfo* out) { return Load(s, "info", out); }
Status GetSupply(const StateReader& s, Supply* out) { return Load(s, "supply", out); }
Status GetValidators(const StateReader& s, ValidatorSet* out) { return Load(s, "validators", out); }
Status ValidatorsAt(const StateReader& s, std::uint64_t height, std::vector<PublicKey>* out) {
  ValidatorSet v;
  NANUM_RETURN_IF_ERROR(GetValidators(s, &v));
  *out = !v.pending.empty() && height >= v.pending_from_height ? v.pending : v.current;
  return Status::OK();
}

Status ValidatorEpochAt(const StateReader& s, std::uint64_t next, ValidatorEpoch* out) {
  ValidatorSet v;
  NANUM_RETURN_IF_ERROR(GetValidators(s, &v));
  Params p;
  NANUM_RETURN_IF_ERROR(GetParams(s, &p));
  const std::uint64_t horizon = next - 1 + std::max<std::uint64_t>(1, p.validator_change_delay_blocks);
  if (v.pending.empty()) {
    *out = ValidatorEpoch{v.current_from_height, horizon, v.current};
  } else if (v.pending_from_height <= next) {
    *out = ValidatorEpoch{v.pending_from_height, horizon, v.pending};
  } else {
    *out = ValidatorEpoch{v.current_from_height, v.pending_from_height - 1, v.current};
  }
  return Status::OK();
}

Status GetMember(const StateReader& s, std::string_view id, Member* out) { return Load(s, MemberKey(id), out); }

Status GetMemberByKey(const StateReader& s, const PublicKey& key, Member* out) {
  std::string id;
  NANUM_RETURN_IF_ERROR(s.Get(SignerKey(key), &id));
  return GetMember(s, id, out);
}

std::uint64_t LastNonce(const StateReader& s, const PublicKey& key) {
  std::string raw;
  if (!s.Get(NonceKey(key), &raw).ok() || raw.size() != 8) return 0;
  return ParseBe64(raw);
}

Status ListMembers(const StateReader& s, std::string_view after, std::size_t limit, std::vector<Member>* out) {
  out->clear();
  const std::string start = after.empty() ? std::string("mem/") : MemberKey(after) + '\0';
  auto it = s.NewIterator("mem/", start);
  for (; it->Valid() && out->size() < Cap(limit); it->Next()) {
    Member m;
    NANUM_RETURN_IF_ERROR(Decode(it->value(), &m));
    out->push_back(std::move(m));
  }
  return it->status();
}

Status GetOrder(const StateReader& s, const Hash256& id, Order* out) { return Load(s, OrderKey(id), out); }

Status MemberOrders(const StateReader& s, std::string_view member, std::size_t limit, std::vector<Order>* out) {
  const std::string prefix = MemberOrdersPrefix(member);
  return Collect(s, prefix, prefix, limit,
                 [](std::string_view rest) { return OrderKey(HashFrom(rest.substr(8))); }, out);
}

Status BookLevels(const StateReader& s, std::uint64_t slot, std::vector<PriceLevel>* buys,
                  std::vector<PriceLevel>* sells) {
  buys->clear();
  sells->clear();
  const std::string prefix = BookPrefix(slot);
  auto it = s.NewIterator(prefix);
  for (; it->Valid(); it->Next()) {
    Order o;
    NANUM_RETURN_IF_ERROR(Load(s, OrderKey(HashFrom(it->value())), &o));
    auto* levels = o.side == Side::kBuy ? buys : sells;
    if (levels->empty() || levels->back().price != o.price) levels->push_back({o.price, 0, 0});
    levels->back().quantity_wh += o.remaining_wh;
    levels->back().orders++;
  }
  return it->status();
}

Status GetSlot(const StateReader& s, std::uint64_t slot, Slot* out) { return Load(s, SlotKey(slot), out); }

Status GetContract(const StateReader& s, std::uint64_t id, Contract* out) { return Load(s, ContractKey(id), out); }

Status ContractsBySlot(const StateReader& s, std::uint64_t slot, std::size_t limit, std::vector<Contract>* out) {
  const std::string prefix = "sctr/" + Be64(slot);
  return Collect(s, prefix, prefix, limit, [](std::string_view rest) { return ContractKey(ParseBe64(rest)); }, out);
}

Status ContractsByMember(const StateReader& s, std::string_view member, std::uint64_t from,
                         std::size_t limit, std::vector<Contract>* out) {
  const std::string prefix = MemberContractsPrefix(member);
  return Collect(s, prefix, prefix + Be64(from), limit,
                 [](std::string_view rest) { return ContractKey(ParseBe64(rest)); }, out);
}

Status GetMeter(const StateReader& s, std::string_view id, Meter* out) { return Load(s, MeterKey(id), out); }

Status GetReading(const StateReader& s, std::string_view meter, std::uint64_t slot, StoredReading* out) {
  Reading r;
  NANUM_RETURN_IF_ERROR(Load(s, ReadingKey(meter, slot), &r));
  return ToStored(r, out);
}

Status ReadingsByMeter(const StateReader& s, std::string_view meter, std::uint64_t from,
                       std::size_t limit, std::vector<StoredReading>* out) {
  out->clear();
  const std::string prefix = ReadingsPrefix(meter);
  auto it = s.NewIterator(prefix, prefix + Be64(from));
  for (; it->Valid() && out->size() < Cap(limit); it->Next()) {
    Reading r;
    NANUM_RETURN_IF_ERROR(Decode(it->value(), &r));
    StoredReading sr;
    NANUM_RETURN_IF_ERROR(ToStored(r, &sr));
    out->push_back(std::move(sr));
  }
  return it->status();
}

Status SettlementsBySlot(const StateReader& s, std::uint64_t slot, std::size_t limit, std::vector<Settlement>* out) {
  out->clear();
  const std::string prefix = "stl/" + Be64(slot);
  auto it = s.NewIterator(prefix);
  for (; it->Valid() && out->size() < Cap(limit); it->Next()) {
    Settlement st;
    NANUM_RETURN_IF_ERROR(Decode(it->value(), &st));
    out->push_back(std::move(st));
  }
  return it->status();
}

Status SettlementsByMember(const StateReader& s, std::string_view member, std::uint64_t from_slot,
                           std::size_t limit, std::vector<Settlement>* out) {
  const std::string prefix = MemberSettlementsPrefix(member);
  const std::string m(member);
  return Collect(s, prefix, prefix + Be64(from_slot), limit,
                 [&](std::string_view rest) { return SettlementKey(ParseBe64(rest), m); }, out);
}

}  // namespace nanum::market
