#include "chaincode/invariants.h"

#include <map>
#include <set>

#include "chaincode/queries.h"
#include "chaincode/records.h"

namespace nanum::market {

__extension__ typedef unsigned __int128 u128;

void InvariantChecker::Violation(int rule, const std::string& what) {
  if (first_.ok()) {
    rule_ = rule;
    first_ = Status::Corruption("height " + std::to_string(height_) + ": invariant " + std::to_string(rule) +
                                " broken: " + what);
  }
}

TxObserver InvariantChecker::Observer() {
  return [this](std::size_t, const Transaction& tx, Result result, const StateReader& after,
                const std::vector<Contract>& contracts) { CheckAfterTx(tx, result, after, contracts); };
}

void InvariantChecker::CheckAfterTx(const Transaction& tx, Result result, const StateReader& after,
                                    const std::vector<Contract>& contracts) {
  if (result != Result::kOk) return;
  // 6: an accepted reading was signed by its meter's bound oracle.
  if (const auto* r = std::get_if<SubmitReading>(&tx.body().payload)) {
    Meter m;
    if (!GetMeter(after, r->meter_id, &m).ok() || m.oracle != tx.body().signer) {
      Violation(6, "reading for meter " + r->meter_id + " accepted from a key that is not its oracle");
    }
    return;
  }
  const auto* po = std::get_if<PlaceOrder>(&tx.body().payload);
  if (po == nullptr) return;
  const Params* p = ParamsIn(after);
  if (p == nullptr || p->mechanism != static_cast<std::uint8_t>(Mechanism::kContinuous)) return;

  // 4: walk the opposite side of the book as it is after the match. Every order still
  // resting there must come after the last order the match filled, in priority order, and
  // must not cross the incoming order's limit if any of it rests.
  const Side opposite = po->side == Side::kBuy ? Side::kSell : Side::kBuy;
  bool have_last = false;
  std::uint64_t last_price = 0;
  Priority last_priority;
  for (const Contract& c : contracts) {
    Order resting;
    if (!GetOrder(after, po->side == Side::kBuy ? c.sell_order : c.buy_order, &resting).ok()) {
      Violation(4, "contract " + std::to_string(c.id) + " names a resting order that does not exist");
      return;
    }
    have_last = true;
    last_price = resting.price;
    last_priority = {resting.height, resting.index};
  }
  Order incoming;
  const bool rests = GetOrder(after, tx.id(), &incoming).ok() &&
                     incoming.status == static_cast<std::uint8_t>(OrderStatus::kOpen);
  auto better = [&](std::uint64_t a, std::uint64_t b) { return opposite == Side::kSell ? a < b : a > b; };
  auto it = after.NewIterator(BookPrefix(po->slot) + std::string(1, static_cast<char>(opposite)));
  for (; it->Valid(); it->Next()) {
    Order x;
    if (!GetOrder(after, HashFrom(it->value()), &x).ok()) {
      Violation(4, "the book names a missing order");
      return;
    }
    if (x.status != static_cast<std::uint8_t>(OrderStatus::kOpen)) continue;  // filled by this match
    const Priority xp{x.height, x.index};
    if (have_last && (better(x.price, last_price) || (x.price == last_price && xp < last_priority))) {
      Violation(4, "order " + ToHex(x.id) + " at price " + std::to_string(x.price) + " was passed over");
      return;
    }
    if (rests && (po->side == Side::kBuy ? x.price <= po->price : x.price >= po->price)) {
      Violation(4, "the book is left crossed at price " + std::to_string(x.price) + " in slot " + std::to_string(po->slot));
      return;
    }
    break;  // the best remaining order decides: the rest are worse still
  }
}

const Params* InvariantChecker::ParamsIn(const StateReader& s) {
  if (!s.Get("params", &scratch_).ok()) return nullptr;
  if (!have_params_ || scratch_ != params_bytes_) {
    have_params_ = false;
    if (!Decode(scratch_, &params_).ok()) return nullptr;
    params_bytes_.swap(scratch_);
    have_params_ = true;
  }
  return &params_;
}

void InvariantChecker::CheckContract(const Contract& c) {
  if (c.price < c.sell_limit || c.price > c.buy_limit) {
    Violation(3, "contract " + std::to_string(c.id) + " at price " + std::to_string(c.price) +
                     " outside its orders' limits " + std::to_string(c.sell_limit) + ".." + std::to_string(c.buy_limit));
  }
  if (c.settled && c.delivered_wh > c.quantity_wh) {
    Violation(5, "contract " + std::to_string(c.id) + " delivered more than contracted");
  }
}

Status InvariantChecker::CheckSupply(const StateReader& s, const WriteSet* writes) {
  Supply sup;
  NANUM_RETURN_IF_ERROR(GetSupply(s, &sup));
  // One member's balance: 2 is checked here, 1 on the sum (modulo 2^128, as a whole sum).
  auto balance_of = [&](std::string_view value, u128* out) -> Status {
    Member m;
    NANUM_RETURN_IF_ERROR(Decode(value, &m));
    if (m.available < 0 || m.escrow < 0) {
      Violation(2, "member " + m.id + " has available " + std::to_string(m.available) + ", escrow " +
                       std::to_string(m.escrow));
    }
    *out = static_cast<u128>(m.available) + static_cast<u128>(m.escrow);
    return Status::OK();
  };
  if (writes == nullptr || !have_balances_) {
    balances_.clear();
    total_ = 0;
    auto it = s.NewIterator("mem/");
    for (; it->Valid(); it->Next()) {
      u128 b = 0;
      NANUM_RETURN_IF_ERROR(balance_of(it->value(), &b));
      balances_.emplace(std::string(it->key()), b);
      total_ += b;
    }
    NANUM_RETURN_IF_ERROR(it->status());
    have_balances_ = true;
  } else {
    const auto& e = writes->entries();
    for (auto it = writes->LowerBound("mem/"); it != e.end() && it->first.rfind("mem/", 0) == 0; ++it) {
      auto cached = balances_.find(it->first);
      if (cached != balances_.end()) total_ -= cached->second;
      if (!it->second) {
        if (cached != balances_.end()) balances_.erase(cached);
        continue;
      }
      u128 b = 0;
      if (Status st = balance_of(*it->second, &b); !st.ok()) {
        if (cached != balances_.end()) balances_.erase(cached);
        return st;
      }
      if (cached != balances_.end()) {
        cached->second = b;  // in place: the member is already in the map
      } else {
        balances_.emplace(it->first, b);
      }
      total_ += b;
    }
  }
  const u128 expected = static_cast<u128>(sup.grants) + sup.deposits - sup.withdrawals;
  if (total_ != expected) {
    Violation(1, "balances sum to " + std::to_string(static_cast<std::uint64_t>(total_)) + ", supply is " +
                     std::to_string(static_cast<std::uint64_t>(expected)));
  }
  return Status::OK();
}

Status InvariantChecker::CheckSettledSlot(const StateReader& s, std::uint64_t slot) {
  Params p;
  NANUM_RETURN_IF_ERROR(GetParams(s, &p));
  std::vector<Contract> contracts;
  NANUM_RETURN_IF_ERROR(ContractsBySlot(s, slot, kMaxPage, &contracts));
  struct Seller { std::uint64_t contracted = 0, delivered = 0; };
  std::map<std::string, Seller> sellers;
  for (const auto& c : contracts) {
    sellers[c.seller].contracted += c.quantity_wh;
    sellers[c.seller].delivered += c.delivered_wh;
  }
  // 5 and 6: what was delivered must be backed by the seller's own meters' readings for the
  // slot, accepted before settlement (not late), unless within tolerance of the contract.
  std::map<std::string, std::uint64_t> exported;
  for (auto it = s.NewIterator("meter/"); it->Valid(); it->Next()) {
    Meter m;
    NANUM_RETURN_IF_ERROR(Decode(it->value(), &m));
    if (!sellers.count(m.owner)) continue;
    StoredReading r;
    if (GetReading(s, m.id, slot, &r).ok() && !r.late) exported[m.owner] += r.reading.export_wh;
  }
  for (const auto& [id, sl] : sellers) {
    if (sl.delivered > sl.contracted) Violation(5, "seller " + id + " delivered more than contracted in slot " + std::to_string(slot));
    const std::uint64_t e = exported[id];
    const bool within = static_cast<u128>(e) * 1000 >= static_cast<u128>(sl.contracted) * (1000 - p.tolerance_permille);
    if (sl.delivered > e && !within) {
      Violation(6, "seller " + id + " was credited " + std::to_string(sl.delivered) + " Wh in slot " + std::to_string(slot) +
                       " against " + std::to_string(e) + " Wh of readings");
    }
  }
  return Status::OK();
}

Status InvariantChecker::CheckBlock(const StateReader& after, const WriteSet& writes) {
  NANUM_RETURN_IF_ERROR(CheckSupply(after, &writes));
  std::set<std::uint64_t> settled_slots;
  for (const auto& [key, value] : writes.entries()) {
    if (!value) continue;
    if (key.rfind("ctr/", 0) == 0) {
      Contract c;
      NANUM_RETURN_IF_ERROR(Decode(*value, &c));
      CheckContract(c);
    } else if (key.rfind("stl/", 0) == 0 && key.size() >= 12) {
      settled_slots.insert(ParseBe64(std::string_view(key).substr(4, 8)));
    }
  }
  for (std::uint64_t slot : settled_slots) NANUM_RETURN_IF_ERROR(CheckSettledSlot(after, slot));
  return Status::OK();
}

Status InvariantChecker::CheckWholeState(const StateReader& s) {
  NANUM_RETURN_IF_ERROR(CheckSupply(s, nullptr));
  auto it = s.NewIterator("ctr/");
  for (; it->Valid(); it->Next()) {
    Contract c;
    NANUM_RETURN_IF_ERROR(Decode(it->value(), &c));
    CheckContract(c);
  }
  return it->status();
}

}  // namespace nanum::market
