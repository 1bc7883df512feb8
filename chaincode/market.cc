#include "chaincode/market.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "chaincode/records.h"
#include "ledger/limits.h"

namespace nanum::market {

__extension__ typedef unsigned __int128 u128;

// ---- Keys and numbers ----

std::string Be64(std::uint64_t v) {
  Writer w(8);
  w.U64(v);
  return w.Release();
}
std::string KeyBytes(const PublicKey& k) { return std::string(reinterpret_cast<const char*>(k.bytes().data()), 32); }
std::string HashBytes(const Hash256& h) { return std::string(reinterpret_cast<const char*>(h.data()), 32); }
Hash256 HashFrom(std::string_view b) {
  Hash256 h{};
  std::copy_n(b.begin(), std::min<std::size_t>(b.size(), h.size()), h.begin());
  return h;
}
std::uint64_t ParseBe64(std::string_view b) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<std::uint8_t>(b[static_cast<std::size_t>(i)]);
  return v;
}
std::string BookPrefix(std::uint64_t slot) { return "book/" + Be64(slot); }
std::string BookKey(std::uint64_t slot, Side side, std::uint64_t price, const Priority& p) {
  Writer w(29);
  w.U8(static_cast<std::uint8_t>(side));
  w.U64(side == Side::kBuy ? std::numeric_limits<std::uint64_t>::max() - price : price);
  w.U64(p.height);
  w.U32(p.index);
  return BookPrefix(slot) + w.Release();
}

std::uint64_t SlotAt(const Params& p, std::uint64_t time_ms) { return time_ms / (p.slot_seconds * 1000); }

Status Params::Validate() const {
  auto bad = [](const char* what) { return Status::InvalidArgument(std::string("parameter ") + what); };
  if (slot_seconds == 0 || slot_seconds > 86400) return bad("slot_seconds must be 1 to 86400");
  if (gate_closure_seconds > 7 * 86400) return bad("gate_closure_seconds must be at most a week");
  if (horizon_slots == 0 || horizon_slots > 10000) return bad("horizon_slots must be 1 to 10000");
  if (settlement_delay_seconds > 30 * 86400) return bad("settlement_delay_seconds must be at most 30 days");
  if (tolerance_permille > 1000) return bad("tolerance_permille must be 0 to 1000");
  if (shortfall_penalty > (1ULL << 40)) return bad("shortfall_penalty is implausibly large");
  if (mechanism != static_cast<std::uint8_t>(Mechanism::kContinuous) &&
      mechanism != static_cast<std::uint8_t>(Mechanism::kUniformPrice)) {
    return bad("mechanism must be continuous or uniform_price");
  }
  if (initial_grant > (1ULL << 50)) return bad("initial_grant is implausibly large");
  if (governance_threshold == 0) return bad("governance_threshold must be at least 1");
  if (max_open_orders_per_member == 0 || max_orders_per_slot == 0) return bad("order limits must be positive");
  return Status::OK();
}

const char* ResultName(Result r) {
  switch (r) {
    case Result::kOk: return "ok";
    case Result::kDuplicate: return "duplicate";
    case Result::kUnknownSigner: return "unknown_signer";
    case Result::kSuspended: return "member_suspended";
    case Result::kStaleNonce: return "stale_nonce";
    case Result::kNotAdmin: return "not_admin";
    case Result::kWrongPayloadSigner: return "wrong_payload_signer";
    case Result::kUnknownMember: return "unknown_member";
    case Result::kMemberExists: return "member_exists";
    case Result::kKeyInUse: return "key_in_use";
    case Result::kUnknownMeter: return "unknown_meter";
    case Result::kMeterExists: return "meter_exists";
    case Result::kAlreadyApproved: return "already_approved";
    case Result::kProposalDone: return "proposal_done";
    case Result::kChangePending: return "validator_change_pending";
    case Result::kSelfTransfer: return "self_transfer";
    case Result::kInsufficientFunds: return "insufficient_funds";
    case Result::kOverflow: return "overflow";
    case Result::kGateClosed: return "gate_closed";
    case Result::kBeyondHorizon: return "beyond_horizon";
    case Result::kOppositeSideOrder: return "opposite_side_order";
    case Result::kUnknownOrder: return "unknown_order";
    case Result::kNotOrderOwner: return "not_order_owner";
    case Result::kOrderClosed: return "order_closed";
    case Result::kTooManyOrders: return "too_many_orders";
    case Result::kWrongOracle: return "wrong_oracle";
    case Result::kStaleSequence: return "stale_sequence";
    case Result::kRegisterDecreased: return "register_decreased";
    case Result::kSlotNotEnded: return "slot_not_ended";
    case Result::kEnergyExceedsRegister: return "energy_exceeds_register";
    case Result::kConflictingReading: return "conflicting_reading";
  }
  return "unknown";
}

namespace {

constexpr std::int64_t kMaxMoney = std::numeric_limits<std::int64_t>::max();

// q × p as money, or nullopt if it does not fit.
std::optional<std::int64_t> Cost(std::uint64_t q, std::uint64_t p) {
  const u128 c = static_cast<u128>(q) * p;
  if (c > static_cast<u128>(kMaxMoney)) return std::nullopt;
  return static_cast<std::int64_t>(c);
}

bool AddMoney(std::int64_t* to, std::int64_t v) {
  if (v > 0 && *to > kMaxMoney - v) return false;
  *to += v;
  return true;
}

template <class T>
Status Load(const StateReader& s, const std::string& key, T* out) { return LoadRecord(s, key, out); }

template <class T>
Status Save(StateOverlay* s, const std::string& key, const T& rec) { return SaveRecord(s, key, rec); }

bool Exists(const StateReader& s, const std::string& key) {
  std::string raw;
  return s.Get(key, &raw).ok();
}

std::uint64_t LoadU64(const StateReader& s, const std::string& key) {
  std::string raw;
  if (!s.Get(key, &raw).ok() || raw.size() != 8) return 0;
  return ParseBe64(raw);
}

// A failure of the transaction (a Result) or of the block (a Status: the state is damaged).
struct Outcome {
  Result result = Result::kOk;
  Status error;
  static Outcome Fail(Result r) { return Outcome{r, Status::OK()}; }
  static Outcome Error(Status s) { return Outcome{Result::kOk, std::move(s)}; }
  bool ok() const { return result == Result::kOk && error.ok(); }
};

#define NANUM_TRY(expr)                        \
  do {                                         \
    ::nanum::Status try_status_ = (expr);      \
    if (!try_status_.ok()) return Outcome::Error(try_status_); \
  } while (0)

class Executor {
 public:
  Executor(const StateReader& base, const Params& params, std::uint64_t height, std::uint64_t time_ms)
      : block_(&base), p_(params), height_(height), time_ms_(time_ms),
        slot_ms_(params.slot_seconds * 1000) {}

  StateOverlay& block_state() { return block_; }

  std::uint64_t GateTime(std::uint64_t slot) const {
    const u128 start = static_cast<u128>(slot) * slot_ms_;
    const u128 gate = static_cast<u128>(p_.gate_closure_seconds) * 1000;
    return start > gate ? static_cast<std::uint64_t>(std::min<u128>(start - gate, ~0ULL)) : 0;
  }
  std::uint64_t SlotEnd(std::uint64_t slot) const {
    return static_cast<std::uint64_t>(std::min<u128>((static_cast<u128>(slot) + 1) * slot_ms_, ~0ULL));
  }
  std::uint64_t SettleTime(std::uint64_t slot) const {
    return static_cast<std::uint64_t>(std::min<u128>(
        static_cast<u128>(SlotEnd(slot)) + static_cast<u128>(p_.settlement_delay_seconds) * 1000, ~0ULL));
  }

  // ---- Time-triggered steps ----

  Status RunTimeSteps() {
    // Gate closures, in slot order.
    for (;;) {
      auto it = block_.NewIterator("gateq/");
      if (!it->Valid()) break;
      const std::uint64_t slot = ParseBe64(it->key().substr(6));
      if (GateTime(slot) > time_ms_) break;
      NANUM_RETURN_IF_ERROR(CloseGate(slot));
    }
    // Settlements, in slot order.
    for (;;) {
      auto it = block_.NewIterator("setq/");
      if (!it->Valid()) break;
      const std::uint64_t slot = ParseBe64(it->key().substr(5));
      if (SettleTime(slot) > time_ms_) break;
      NANUM_RETURN_IF_ERROR(Settle(slot));
    }
    return Status::OK();
  }

  // ---- Transactions ----

  // A transaction runs in the block's overlay; if it fails, its writes are undone.
  Result ExecuteTx(const Transaction& tx, std::uint32_t index, std::vector<Contract>* made, Status* error) {
    const std::size_t sp = block_.Savepoint();
    made->clear();
    Outcome o = Dispatch(&block_, tx, index, made);
    if (o.error.ok() && o.result == Result::kOk) {
      // The nonce moves only when the transaction succeeds.
      o.error = block_.Put(NonceKey(tx.body().signer), Be64(tx.body().nonce));
    }
    if (!o.error.ok()) {
      *error = o.error;  // the block fails as a whole
      block_.Release(sp);
      return Result::kOk;
    }
    if (o.result != Result::kOk) {
      block_.RollbackTo(sp);
      made->clear();
    }
    block_.Release(sp);
    return o.result;
  }

 private:
  Outcome Dispatch(StateOverlay* s, const Transaction& tx, std::uint32_t index, std::vector<Contract>* made) {
    const TxBody& b = tx.body();
    if (b.nonce <= LoadU64(*s, NonceKey(b.signer))) return Outcome::Fail(Result::kStaleNonce);
    if (const auto* r = std::get_if<SubmitReading>(&b.payload)) return ApplyReading(s, tx, *r);

    std::string member_id;
    if (!s->Get(SignerKey(b.signer), &member_id).ok()) {
      return Outcome::Fail(Exists(*s, OracleKey(b.signer)) ? Result::kWrongPayloadSigner : Result::kUnknownSigner);
    }
    Member m;
    NANUM_TRY(Load(*s, MemberKey(member_id), &m));
    if (!m.active) return Outcome::Fail(Result::kSuspended);

    if (const auto* t = std::get_if<Transfer>(&b.payload)) return ApplyTransfer(s, m, *t);
    if (const auto* g = std::get_if<Govern>(&b.payload)) return ApplyGovern(s, m, *g);
    if (const auto* o = std::get_if<PlaceOrder>(&b.payload)) return ApplyPlace(s, m, tx, index, *o, made);
    if (const auto* c = std::get_if<CancelOrder>(&b.payload)) return ApplyCancel(s, m, *c);
    return Outcome::Fail(Result::kUnknownSigner);
  }

  // Loads member `id`; unknown_member if there is none.
  static Outcome LoadMember(const StateReader& s, std::string_view id, Member* m) {
    Status st = Load(s, MemberKey(id), m);
    if (st.IsNotFound()) return Outcome::Fail(Result::kUnknownMember);
    NANUM_TRY(st);
    return {};
  }

  Outcome ApplyTransfer(StateOverlay* s, Member& from, const Transfer& t) {
    if (t.to == from.id) return Outcome::Fail(Result::kSelfTransfer);
    Member to;
    if (Outcome o = LoadMember(*s, t.to, &to); !o.ok()) return o;
    if (t.amount > static_cast<std::uint64_t>(kMaxMoney)) return Outcome::Fail(Result::kOverflow);
    const auto amount = static_cast<std::int64_t>(t.amount);
    if (from.available < amount) return Outcome::Fail(Result::kInsufficientFunds);
    if (!AddMoney(&to.available, amount)) return Outcome::Fail(Result::kOverflow);
    from.available -= amount;
    NANUM_TRY(Save(s, MemberKey(from.id), from));
    NANUM_TRY(Save(s, MemberKey(to.id), to));
    return {};
  }

  // ---- Governance ----

  Outcome ApplyGovern(StateOverlay* s, const Member& admin, const Govern& g) {
    if (!admin.admin) return Outcome::Fail(Result::kNotAdmin);
    const Hash256 id = ProposalId(g);
    if (Exists(*s, ProposalDoneKey(id))) return Outcome::Fail(Result::kProposalDone);
    Proposal prop;
    Status st = Load(*s, ProposalKey(id), &prop);
    if (st.IsNotFound()) {
      prop.govern = EncodePayload(Payload(g));
    } else {
      NANUM_TRY(st);
    }
    if (std::binary_search(prop.approvals.begin(), prop.approvals.end(), admin.id)) {
      return Outcome::Fail(Result::kAlreadyApproved);
    }
    prop.approvals.insert(std::upper_bound(prop.approvals.begin(), prop.approvals.end(), admin.id), admin.id);
    if (prop.approvals.size() < p_.governance_threshold) {
      NANUM_TRY(Save(s, ProposalKey(id), prop));
      return {};
    }
    Outcome o = std::visit([&](const auto& a) { return Carry(s, a); }, g.action);
    if (!o.ok()) return o;
    NANUM_TRY(s->Delete(ProposalKey(id)));
    NANUM_TRY(s->Put(ProposalDoneKey(id), Be64(height_)));
    return {};
  }

  Outcome Carry(StateOverlay* s, const RegisterMember& a) {
    if (Exists(*s, MemberKey(a.member_id))) return Outcome::Fail(Result::kMemberExists);
    if (Exists(*s, SignerKey(a.key)) || Exists(*s, OracleKey(a.key))) return Outcome::Fail(Result::kKeyInUse);
    Supply sup;
    NANUM_TRY(Load(*s, "supply", &sup));
    if (sup.grants > static_cast<std::uint64_t>(kMaxMoney) - p_.initial_grant) return Outcome::Fail(Result::kOverflow);
    sup.grants += p_.initial_grant;
    Member m;
    m.id = a.member_id;
    m.key = a.key;
    m.available = static_cast<std::int64_t>(p_.initial_grant);
    NANUM_TRY(Save(s, MemberKey(m.id), m));
    NANUM_TRY(s->Put(SignerKey(a.key), m.id));
    NANUM_TRY(Save(s, "supply", sup));
    return {};
  }

  Outcome Carry(StateOverlay* s, const SetMemberStatus& a) {
    Member m;
    if (Outcome o = LoadMember(*s, a.member_id, &m); !o.ok()) return o;
    m.active = a.active;
    NANUM_TRY(Save(s, MemberKey(m.id), m));
    return {};
  }

  Outcome Carry(StateOverlay* s, const BindMeter& a) {
    if (Exists(*s, MeterKey(a.meter_id))) return Outcome::Fail(Result::kMeterExists);
    if (!Exists(*s, MemberKey(a.member_id))) return Outcome::Fail(Result::kUnknownMember);
    if (Exists(*s, SignerKey(a.oracle))) return Outcome::Fail(Result::kKeyInUse);  // a member's key
    Meter m;
    m.id = a.meter_id;
    m.owner = a.member_id;
    m.oracle = a.oracle;
    NANUM_TRY(Save(s, MeterKey(m.id), m));
    std::string raw;
    std::uint32_t n = 0;
    if (s->Get(OracleKey(a.oracle), &raw).ok()) {
      Reader r(raw, "oracle count");
      n = r.U32();
    }
    Writer w(4);
    w.U32(n + 1);
    NANUM_TRY(s->Put(OracleKey(a.oracle), w.data()));
    return {};
  }

  Outcome Carry(StateOverlay* s, const Deposit& a) {
    Member m;
    if (Outcome o = LoadMember(*s, a.member_id, &m); !o.ok()) return o;
    Supply sup;
    NANUM_TRY(Load(*s, "supply", &sup));
    if (a.amount > static_cast<std::uint64_t>(kMaxMoney) || sup.deposits > ~0ULL - a.amount ||
        !AddMoney(&m.available, static_cast<std::int64_t>(a.amount))) {
      return Outcome::Fail(Result::kOverflow);
    }
    sup.deposits += a.amount;
    NANUM_TRY(Save(s, MemberKey(m.id), m));
    NANUM_TRY(Save(s, "supply", sup));
    return {};
  }

  Outcome Carry(StateOverlay* s, const Withdraw& a) {
    Member m;
    if (Outcome o = LoadMember(*s, a.member_id, &m); !o.ok()) return o;
    if (a.amount > static_cast<std::uint64_t>(m.available)) return Outcome::Fail(Result::kInsufficientFunds);
    Supply sup;
    NANUM_TRY(Load(*s, "supply", &sup));
    m.available -= static_cast<std::int64_t>(a.amount);
    sup.withdrawals += a.amount;
    NANUM_TRY(Save(s, MemberKey(m.id), m));
    NANUM_TRY(Save(s, "supply", sup));
    return {};
  }

  Outcome Carry(StateOverlay* s, const SetValidators& a) {
    ValidatorSet v;
    NANUM_TRY(Load(*s, "validators", &v));
    if (!v.pending.empty()) {
      // One change at a time, so that consensus always knows the set of the heights ahead.
      if (v.pending_from_height > height_) return Outcome::Fail(Result::kChangePending);
      v.current = std::move(v.pending);
      v.current_from_height = v.pending_from_height;
    }
    v.pending = a.validators;
    v.pending_from_height = height_ + std::max<std::uint64_t>(1, p_.validator_change_delay_blocks);
    NANUM_TRY(Save(s, "validators", v));
    return {};
  }

  // ---- Orders ----

  Status LoadBook(std::uint64_t slot, Book** out) {
    auto it = books_.find(slot);
    if (it == books_.end()) {
      Book book;
      for (auto i = block_.NewIterator(BookPrefix(slot)); i->Valid(); i->Next()) {
        Order o;
        NANUM_RETURN_IF_ERROR(Load(block_, OrderKey(HashFrom(i->value())), &o));
        book.Add(o.side, BookOrder{o.id, o.owner, o.price, o.remaining_wh, {o.height, o.index}});
      }
      it = books_.emplace(slot, std::move(book)).first;
    }
    *out = &it->second;
    return Status::OK();
  }

  Outcome ApplyPlace(StateOverlay* s, Member& m, const Transaction& tx, std::uint32_t index,
                     const PlaceOrder& po, std::vector<Contract>* made) {
    const std::uint64_t now_slot = time_ms_ / slot_ms_;
    if (po.slot > now_slot + p_.horizon_slots) return Outcome::Fail(Result::kBeyondHorizon);
    if (time_ms_ >= GateTime(po.slot)) return Outcome::Fail(Result::kGateClosed);

    MemberSlot ms;
    Status st = Load(*s, MemberSlotKey(m.id, po.slot), &ms);
    if (!st.ok() && !st.IsNotFound()) return Outcome::Error(st);
    if ((po.side == Side::kBuy ? ms.sells : ms.buys) > 0) return Outcome::Fail(Result::kOppositeSideOrder);
    if (m.open_orders >= p_.max_open_orders_per_member) return Outcome::Fail(Result::kTooManyOrders);

    Slot slot;
    st = Load(*s, SlotKey(po.slot), &slot);
    if (st.IsNotFound()) {
      slot.slot = po.slot;
      NANUM_TRY(s->Put(GateQueueKey(po.slot), ""));
    } else {
      NANUM_TRY(st);
    }
    if (slot.orders >= p_.max_orders_per_slot) return Outcome::Fail(Result::kTooManyOrders);

    std::int64_t escrow = 0;
    if (po.side == Side::kBuy) {
      auto c = Cost(po.quantity_wh, po.price);
      if (!c) return Outcome::Fail(Result::kOverflow);
      escrow = *c;
      if (m.available < escrow) return Outcome::Fail(Result::kInsufficientFunds);
    } else if (!Cost(po.quantity_wh, po.price)) {
      return Outcome::Fail(Result::kOverflow);  // its contracts' value must fit too
    }
    // Every check that can fail is above this line: from here the order is accepted, and
    // matching, which changes the block's cached book, cannot fail.
    m.available -= escrow;
    m.escrow += escrow;
    slot.orders++;

    Order o;
    o.id = tx.id();
    o.owner = m.id;
    o.side = po.side;
    o.slot = po.slot;
    o.quantity_wh = o.remaining_wh = po.quantity_wh;
    o.price = po.price;
    o.height = height_;
    o.index = index;

    if (p_.mechanism == static_cast<std::uint8_t>(Mechanism::kContinuous)) {
      Book* book = nullptr;
      NANUM_TRY(LoadBook(po.slot, &book));
      std::vector<Fill> fills;
      o.remaining_wh = book->Match(po.side, o.id, po.price, po.quantity_wh, &fills);
      const Incoming in{&m, po.side, po.price};
      for (const Fill& f : fills) {
        Outcome r = ApplyFill(s, f, &in, &slot, made);
        if (!r.ok()) return r;
      }
    }
    NANUM_TRY(s->Put(SlotOrderKey(o.slot, o.id), m.id));
    NANUM_TRY(s->Put(MemberOrderKey(m.id, o.slot, o.id), ""));
    if (o.remaining_wh > 0) {
      if (p_.mechanism == static_cast<std::uint8_t>(Mechanism::kContinuous)) {
        books_[po.slot].Add(o.side, BookOrder{o.id, o.owner, o.price, o.remaining_wh, {o.height, o.index}});
      }
      NANUM_TRY(s->Put(BookKey(o.slot, o.side, o.price, {o.height, o.index}), HashBytes(o.id)));
      (o.side == Side::kBuy ? ms.buys : ms.sells)++;
      m.open_orders++;
      NANUM_TRY(Save(s, MemberSlotKey(m.id, o.slot), ms));
    } else {
      o.status = static_cast<std::uint8_t>(OrderStatus::kFilled);
    }
    NANUM_TRY(Save(s, OrderKey(o.id), o));
    NANUM_TRY(Save(s, MemberKey(m.id), m));
    NANUM_TRY(Save(s, SlotKey(slot.slot), slot));
    return {};
  }

  // The order being placed, during continuous matching.
  struct Incoming {
    Member* member;       // loaded, and saved by the caller
    Side side;
    std::uint64_t limit;  // its price
  };

  // Records one fill: the resting order (in an auction, both orders) reduced, the contract
  // made, and the buyer's escrow above the contract price returned. `in` is null in an
  // auction.
  Outcome ApplyFill(StateOverlay* s, const Fill& f, const Incoming* in, Slot* slot, std::vector<Contract>* made) {
    const bool incoming_buy = in != nullptr && in->side == Side::kBuy;
    const bool incoming_sell = in != nullptr && in->side == Side::kSell;
    Order buy, sell;
    if (!incoming_buy) NANUM_TRY(Load(*s, OrderKey(f.buy_id), &buy));
    if (!incoming_sell) NANUM_TRY(Load(*s, OrderKey(f.sell_id), &sell));

    Contract c;
    c.id = LoadU64(*s, "next/contract");
    NANUM_TRY(s->Put("next/contract", Be64(c.id + 1)));
    c.slot = slot->slot;
    c.quantity_wh = f.quantity;
    c.price = f.price;
    c.buy_order = f.buy_id;
    c.sell_order = f.sell_id;
    c.height = height_;

    auto reduce_resting = [&](Order& o) -> Outcome {
      o.remaining_wh -= f.quantity;
      if (o.remaining_wh == 0) {  // the book engine has already dropped it
        o.status = static_cast<std::uint8_t>(OrderStatus::kFilled);
        Member owner;
        NANUM_TRY(Load(*s, MemberKey(o.owner), &owner));
        NANUM_TRY(LeaveBook(s, o, &owner));
        NANUM_TRY(Save(s, MemberKey(owner.id), owner));
      }
      NANUM_TRY(Save(s, OrderKey(o.id), o));
      return {};
    };

    // Escrow: the buyer locked quantity × its limit; the contract keeps quantity × price
    // locked and the difference returns now.
    std::string buyer_id, seller_id;
    std::uint64_t buy_limit = 0, sell_limit = 0;
    if (incoming_buy) {
      buyer_id = in->member->id;
      seller_id = sell.owner;
      sell_limit = sell.price;
      buy_limit = in->limit;
      Outcome r = reduce_resting(sell);
      if (!r.ok()) return r;
    } else if (incoming_sell) {
      buyer_id = buy.owner;
      seller_id = in->member->id;
      buy_limit = buy.price;
      sell_limit = in->limit;
      Outcome r = reduce_resting(buy);
      if (!r.ok()) return r;
    } else {  // auction: both rest
      buyer_id = buy.owner;
      seller_id = sell.owner;
      buy_limit = buy.price;
      sell_limit = sell.price;
      Outcome r = reduce_resting(buy);
      if (!r.ok()) return r;
      r = reduce_resting(sell);
      if (!r.ok()) return r;
    }
    c.buyer = buyer_id;
    c.seller = seller_id;
    c.buy_limit = buy_limit;
    c.sell_limit = sell_limit;

    const std::int64_t refund = *Cost(f.quantity, buy_limit - f.price);  // fits: <= the escrow
    if (refund > 0) {
      if (incoming_buy) {
        in->member->escrow -= refund;
        in->member->available += refund;
      } else {
        Member b;
        NANUM_TRY(Load(*s, MemberKey(buyer_id), &b));
        b.escrow -= refund;
        b.available += refund;
        NANUM_TRY(Save(s, MemberKey(b.id), b));
      }
    }
    slot->traded_wh += f.quantity;
    slot->contracts++;
    NANUM_TRY(Save(s, ContractKey(c.id), c));
    NANUM_TRY(s->Put(SlotContractKey(c.slot, c.id), ""));
    NANUM_TRY(s->Put(MemberContractsPrefix(c.buyer) + Be64(c.id), ""));
    NANUM_TRY(s->Put(MemberContractsPrefix(c.seller) + Be64(c.id), ""));
    made->push_back(c);
    return {};
  }

  Outcome ApplyCancel(StateOverlay* s, Member& m, const CancelOrder& c) {
    Order o;
    Status st = Load(*s, OrderKey(c.order_id), &o);
    if (st.IsNotFound()) return Outcome::Fail(Result::kUnknownOrder);
    NANUM_TRY(st);
    if (o.owner != m.id) return Outcome::Fail(Result::kNotOrderOwner);
    if (o.status != static_cast<std::uint8_t>(OrderStatus::kOpen)) return Outcome::Fail(Result::kOrderClosed);
    if (time_ms_ >= GateTime(o.slot)) return Outcome::Fail(Result::kGateClosed);
    NANUM_TRY(CloseOrder(s, &o, &m, OrderStatus::kCancelled));
    NANUM_TRY(Save(s, MemberKey(m.id), m));
    return {};
  }

  // An open order leaves the book (filled, cancelled or expired): its book entry goes and
  // its owner's open-order counts drop. The caller saves `owner`.
  Status LeaveBook(StateOverlay* s, const Order& o, Member* owner) {
    NANUM_RETURN_IF_ERROR(s->Delete(BookKey(o.slot, o.side, o.price, {o.height, o.index})));
    owner->open_orders--;
    MemberSlot ms;
    NANUM_RETURN_IF_ERROR(Load(*s, MemberSlotKey(owner->id, o.slot), &ms));
    (o.side == Side::kBuy ? ms.buys : ms.sells)--;
    if (ms.buys == 0 && ms.sells == 0) return s->Delete(MemberSlotKey(owner->id, o.slot));
    return Save(s, MemberSlotKey(owner->id, o.slot), ms);
  }

  // Takes an open order off the book: escrow of its remainder back to its owner `m` (whom the
  // caller saves), counts reduced, status set.
  Status CloseOrder(StateOverlay* s, Order* o, Member* m, OrderStatus status) {
    if (o->side == Side::kBuy) {
      const std::int64_t back = *Cost(o->remaining_wh, o->price);
      m->escrow -= back;
      m->available += back;
    }
    NANUM_RETURN_IF_ERROR(LeaveBook(s, *o, m));
    auto book = books_.find(o->slot);
    if (book != books_.end()) book->second.Remove(o->side, o->price, o->id);
    o->status = static_cast<std::uint8_t>(status);
    return Save(s, OrderKey(o->id), *o);
  }

  // ---- Gate closure ----

  Status CloseGate(std::uint64_t slot_no) {
    StateOverlay* s = &block_;
    Slot slot;
    NANUM_RETURN_IF_ERROR(Load(*s, SlotKey(slot_no), &slot));
    if (p_.mechanism == static_cast<std::uint8_t>(Mechanism::kUniformPrice)) {
      Book* book = nullptr;
      NANUM_RETURN_IF_ERROR(LoadBook(slot_no, &book));
      std::vector<Fill> fills;
      slot.clearing_price = book->Auction(&fills);
      std::vector<Contract> made;
      for (const Fill& f : fills) {
        Outcome o = ApplyFill(s, f, nullptr, &slot, &made);
        NANUM_RETURN_IF_ERROR(o.error);
      }
    }
    // Expiry: every order still resting, in book order.
    std::vector<Hash256> resting;
    for (auto it = s->NewIterator(BookPrefix(slot_no)); it->Valid(); it->Next()) {
      resting.push_back(HashFrom(it->value()));
    }
    for (const Hash256& id : resting) {
      Order o;
      NANUM_RETURN_IF_ERROR(Load(*s, OrderKey(id), &o));
      Member m;
      NANUM_RETURN_IF_ERROR(Load(*s, MemberKey(o.owner), &m));
      NANUM_RETURN_IF_ERROR(CloseOrder(s, &o, &m, OrderStatus::kExpired));
      NANUM_RETURN_IF_ERROR(Save(s, MemberKey(m.id), m));
    }
    books_.erase(slot_no);
    slot.phase = static_cast<std::uint8_t>(SlotPhase::kClosed);
    NANUM_RETURN_IF_ERROR(Save(s, SlotKey(slot_no), slot));
    NANUM_RETURN_IF_ERROR(s->Delete(GateQueueKey(slot_no)));
    return s->Put(SettleQueueKey(slot_no), "");
  }

  // ---- Settlement ----

  struct Party {
    std::uint64_t contracted = 0;
    std::uint64_t measured = 0;
    bool has_reading = false;
    bool full = false;
  };

  Status Settle(std::uint64_t slot_no) {
    StateOverlay* s = &block_;
    Slot slot;
    NANUM_RETURN_IF_ERROR(Load(*s, SlotKey(slot_no), &slot));

    std::vector<Contract> contracts;
    for (auto it = s->NewIterator("sctr/" + Be64(slot_no)); it->Valid(); it->Next()) {
      Contract c;
      NANUM_RETURN_IF_ERROR(Load(*s, ContractKey(ParseBe64(it->key().substr(13))), &c));
      contracts.push_back(std::move(c));
    }
    // The members party to the slot's contracts, in id order, and each contract's seller and
    // buyer as indexes into them: the bookkeeping below finds a member by index, not by
    // looking its id up again for every contract.
    std::vector<std::string_view> ids;
    ids.reserve(2 * contracts.size());
    for (const auto& c : contracts) {
      ids.push_back(c.seller);
      ids.push_back(c.buyer);
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    auto index_of = [&](std::string_view id) -> std::size_t {  // ids.size() when not a party
      const auto at = std::lower_bound(ids.begin(), ids.end(), id);
      return at != ids.end() && *at == id ? static_cast<std::size_t>(at - ids.begin()) : ids.size();
    };
    std::vector<std::pair<std::size_t, std::size_t>> party_of(contracts.size());  // seller, buyer
    std::vector<Party> sellers(ids.size()), buyers(ids.size());
    std::vector<bool> sells(ids.size(), false), buys(ids.size(), false);
    for (std::size_t k = 0; k < contracts.size(); ++k) {
      const Contract& c = contracts[k];
      party_of[k] = {index_of(c.seller), index_of(c.buyer)};
      sellers[party_of[k].first].contracted += c.quantity_wh;
      sells[party_of[k].first] = true;
      buyers[party_of[k].second].contracted += c.quantity_wh;
      buys[party_of[k].second] = true;
    }
    // Measured energy per member: the sum over its meters' readings for the slot.
    const std::string prefix = SlotEnergyPrefix(slot_no);
    for (auto it = s->NewIterator(prefix); it->Valid(); it->Next()) {
      std::string_view rest = it->key().substr(prefix.size());
      SlotEnergy e;
      NANUM_RETURN_IF_ERROR(Decode(it->value(), &e));
      const std::size_t i = index_of(rest.substr(0, rest.find('/')));
      if (i == ids.size()) continue;
      if (sells[i]) {
        sellers[i].measured += e.export_wh;
        sellers[i].has_reading = true;
      }
      if (buys[i]) {
        buyers[i].measured += e.import_wh;
        buyers[i].has_reading = true;
      }
    }
    const u128 tol = 1000 - p_.tolerance_permille;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      Party& ps = sellers[i];
      if (sells[i]) ps.full = static_cast<u128>(ps.measured) * 1000 >= static_cast<u128>(ps.contracted) * tol;
      Party& pb = buyers[i];
      if (!buys[i]) continue;
      if (!pb.has_reading) pb.measured = pb.contracted;  // a buyer cannot avoid paying by going offline
      pb.full = static_cast<u128>(pb.measured) * 1000 >= static_cast<u128>(pb.contracted) * tol;
    }

    // Each member is loaded once and saved once, after every contract: a member is party
    // to many of a slot's contracts, and the balances move in the same order either way.
    std::vector<Settlement> records(ids.size());
    std::vector<bool> recorded(ids.size(), false);
    auto record = [&](std::size_t i) -> Settlement& {
      Settlement& r = records[i];
      if (!recorded[i]) {
        recorded[i] = true;
        r.slot = slot_no;
        r.member = std::string(ids[i]);
        r.height = height_;
      }
      return r;
    };
    std::vector<Member> members(ids.size());
    std::vector<bool> loaded(ids.size(), false);
    auto member = [&](std::size_t i, Member** out) -> Status {
      if (!loaded[i]) {
        NANUM_RETURN_IF_ERROR(Load(*s, MemberKey(ids[i]), &members[i]));
        loaded[i] = true;
      }
      *out = &members[i];
      return Status::OK();
    };
    for (std::size_t k = 0; k < contracts.size(); ++k) {
      Contract& c = contracts[k];
      const auto [si, bi] = party_of[k];
      const Party& ps = sellers[si];
      const Party& pb = buyers[bi];
      const std::uint64_t q = c.quantity_wh;
      const std::uint64_t ds = ps.full ? q : static_cast<std::uint64_t>(static_cast<u128>(q) * ps.measured / ps.contracted);
      const std::uint64_t db = pb.full ? q : static_cast<std::uint64_t>(static_cast<u128>(q) * pb.measured / pb.contracted);
      const std::uint64_t d = std::min({ds, db, q});
      const std::int64_t escrow = *Cost(q, c.price);
      const std::int64_t pay = *Cost(d, c.price);

      Member* buyer = nullptr;
      Member* seller = nullptr;
      NANUM_RETURN_IF_ERROR(member(bi, &buyer));
      buyer->escrow -= escrow;
      buyer->available += escrow - pay;
      NANUM_RETURN_IF_ERROR(member(si, &seller));
      if (!AddMoney(&seller->available, pay)) return Status::Corruption("settlement overflows a balance");

      std::int64_t penalty = 0;
      if (ds < q && ds <= db && p_.shortfall_penalty > 0) {
        const u128 due = static_cast<u128>(q - d) * p_.shortfall_penalty;
        penalty = static_cast<std::int64_t>(std::min<u128>(due, static_cast<u128>(seller->available)));
        seller->available -= penalty;
      }
      if (penalty > 0 && !AddMoney(&buyer->available, penalty)) return Status::Corruption("settlement overflows a balance");
      c.settled = true;
      c.delivered_wh = d;
      c.paid = pay;
      c.penalty = penalty;
      NANUM_RETURN_IF_ERROR(Save(s, ContractKey(c.id), c));

      Settlement& rs = record(si);
      rs.sold_wh += q;
      rs.exported_wh = ps.measured;
      rs.export_measured = ps.has_reading;
      rs.delivered_sold_wh += d;
      rs.received += pay;
      rs.penalty_paid += penalty;
      Settlement& rb = record(bi);
      rb.bought_wh += q;
      rb.imported_wh = pb.measured;
      rb.import_measured = pb.has_reading;
      rb.delivered_bought_wh += d;
      rb.paid += pay;
      rb.refunded += escrow - pay;
      rb.penalty_received += penalty;
    }
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (loaded[i]) NANUM_RETURN_IF_ERROR(Save(s, MemberKey(ids[i]), members[i]));
    }
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (!recorded[i]) continue;
      NANUM_RETURN_IF_ERROR(Save(s, SettlementKey(slot_no, ids[i]), records[i]));
      NANUM_RETURN_IF_ERROR(s->Put(MemberSettlementsPrefix(ids[i]) + Be64(slot_no), ""));
    }
    return ResetSlot(slot_no, &slot);
  }

  // Removes the slot's orders, book and working state; contracts, readings and settlement
  // records stay as history.
  Status ResetSlot(std::uint64_t slot_no, Slot* slot) {
    StateOverlay* s = &block_;
    std::vector<std::string> drop;
    const std::string sord = "sord/" + Be64(slot_no);
    // The slot's order index names each order's owner, whose index key goes too: the
    // orders need not be read to be dropped.
    for (auto it = s->NewIterator(sord); it->Valid(); it->Next()) {
      const Hash256 id = HashFrom(it->key().substr(sord.size()));
      drop.push_back(OrderKey(id));
      drop.push_back(MemberOrderKey(it->value(), slot_no, id));
      drop.emplace_back(it->key());
    }
    for (auto it = s->NewIterator(SlotEnergyPrefix(slot_no)); it->Valid(); it->Next()) drop.emplace_back(it->key());
    for (const auto& k : drop) NANUM_RETURN_IF_ERROR(s->Delete(k));
    slot->phase = static_cast<std::uint8_t>(SlotPhase::kSettled);
    NANUM_RETURN_IF_ERROR(Save(s, SlotKey(slot_no), *slot));
    return s->Delete(SettleQueueKey(slot_no));
  }

  // ---- Readings ----

  Outcome ApplyReading(StateOverlay* s, const Transaction& tx, const SubmitReading& r) {
    Meter meter;
    Status st = Load(*s, MeterKey(r.meter_id), &meter);
    if (st.IsNotFound()) {
      return Outcome::Fail(Exists(*s, OracleKey(tx.body().signer)) ? Result::kUnknownMeter : Result::kUnknownSigner);
    }
    NANUM_TRY(st);
    if (meter.oracle != tx.body().signer) return Outcome::Fail(Result::kWrongOracle);
    const std::string bytes = EncodePayload(Payload(r));
    Reading existing;
    st = Load(*s, ReadingKey(r.meter_id, r.slot), &existing);
    if (st.ok()) {
      return Outcome::Fail(existing.reading == bytes ? Result::kDuplicate : Result::kConflictingReading);
    }
    if (!st.IsNotFound()) return Outcome::Error(st);
    if (meter.has_reading && r.sequence <= meter.last_sequence) return Outcome::Fail(Result::kStaleSequence);
    if (r.cum_export_wh < meter.cum_export_wh || r.cum_import_wh < meter.cum_import_wh) {
      return Outcome::Fail(Result::kRegisterDecreased);
    }
    if (time_ms_ < SlotEnd(r.slot)) return Outcome::Fail(Result::kSlotNotEnded);
    if (r.export_wh > r.cum_export_wh - meter.cum_export_wh || r.import_wh > r.cum_import_wh - meter.cum_import_wh) {
      return Outcome::Fail(Result::kEnergyExceedsRegister);
    }
    meter.has_reading = true;
    meter.last_sequence = r.sequence;
    meter.last_slot = r.slot;
    meter.cum_export_wh = r.cum_export_wh;
    meter.cum_import_wh = r.cum_import_wh;
    NANUM_TRY(Save(s, MeterKey(meter.id), meter));

    // It counts for settlement while its slot is not yet settled (or has no market at all).
    Slot slot;
    st = Load(*s, SlotKey(r.slot), &slot);
    if (!st.ok() && !st.IsNotFound()) return Outcome::Error(st);
    const bool settled = st.ok() && slot.phase == static_cast<std::uint8_t>(SlotPhase::kSettled);
    if (st.ok() && !settled) {
      NANUM_TRY(Save(s, SlotEnergyKey(r.slot, meter.owner, meter.id), SlotEnergy{r.export_wh, r.import_wh}));
    }
    NANUM_TRY(Save(s, ReadingKey(r.meter_id, r.slot), Reading{bytes, height_, settled}));
    return {};
  }

  StateOverlay block_;
  const Params p_;
  const std::uint64_t height_;
  const std::uint64_t time_ms_;
  const std::uint64_t slot_ms_;
  std::map<std::uint64_t, Book> books_;  // this block's loaded books, continuous mode
};

}  // namespace

Status InitGenesis(const Genesis& g, StateOverlay* state) {
  NANUM_RETURN_IF_ERROR(g.params.Validate());
  if (!IsValidChainId(g.info.chain_id)) return Status::InvalidArgument("genesis: bad chain id");
  if (g.validators.empty()) return Status::InvalidArgument("genesis: no validators");
  for (std::size_t i = 1; i < g.validators.size(); ++i) {
    if (!(g.validators[i - 1] < g.validators[i])) {
      return Status::InvalidArgument("genesis: validators must be distinct and sorted");
    }
  }
  StateOverlay s(state);
  std::set<std::string> ids;
  std::set<PublicKey> keys;
  Supply supply;
  bool any_admin = false;
  for (const auto& gm : g.members) {
    if (!IsValidName(gm.id)) return Status::InvalidArgument("genesis: bad member id '" + gm.id + "'");
    if (!ids.insert(gm.id).second) return Status::InvalidArgument("genesis: member '" + gm.id + "' twice");
    if (!keys.insert(gm.key).second) return Status::InvalidArgument("genesis: a key is used twice");
    PublicKey checked;
    NANUM_RETURN_IF_ERROR(PublicKey::Parse(gm.key.bytes(), &checked).Prefixed("genesis member " + gm.id));
    Member m;
    m.id = gm.id;
    m.key = gm.key;
    m.admin = gm.admin;
    m.available = static_cast<std::int64_t>(g.params.initial_grant);
    supply.grants += g.params.initial_grant;
    any_admin = any_admin || gm.admin;
    NANUM_RETURN_IF_ERROR(Save(&s, MemberKey(m.id), m));
    NANUM_RETURN_IF_ERROR(s.Put(SignerKey(m.key), m.id));
  }
  std::uint32_t admins = 0;
  for (const auto& gm : g.members) admins += gm.admin ? 1 : 0;
  if (!any_admin || admins < g.params.governance_threshold) {
    return Status::InvalidArgument("genesis: fewer admins than governance_threshold");
  }
  std::map<PublicKey, std::uint32_t> oracles;
  for (const auto& bm : g.meters) {
    if (!IsValidName(bm.meter_id)) return Status::InvalidArgument("genesis: bad meter id '" + bm.meter_id + "'");
    if (!ids.count(bm.member_id)) return Status::InvalidArgument("genesis: meter " + bm.meter_id + " of unknown member");
    if (keys.count(bm.oracle)) return Status::InvalidArgument("genesis: meter " + bm.meter_id + "'s oracle key is a member's");
    if (Exists(s, MeterKey(bm.meter_id))) return Status::InvalidArgument("genesis: meter " + bm.meter_id + " twice");
    Meter m;
    m.id = bm.meter_id;
    m.owner = bm.member_id;
    m.oracle = bm.oracle;
    NANUM_RETURN_IF_ERROR(Save(&s, MeterKey(m.id), m));
    oracles[bm.oracle]++;
  }
  for (const auto& [k, n] : oracles) {
    Writer w(4);
    w.U32(n);
    NANUM_RETURN_IF_ERROR(s.Put(OracleKey(k), w.data()));
  }
  NANUM_RETURN_IF_ERROR(Save(&s, "params", g.params));
  NANUM_RETURN_IF_ERROR(Save(&s, "info", g.info));
  NANUM_RETURN_IF_ERROR(Save(&s, "supply", supply));
  NANUM_RETURN_IF_ERROR(Save(&s, "validators", ValidatorSet{g.validators, 1, {}, 0}));
  NANUM_RETURN_IF_ERROR(Save(&s, "clock", Clock{0, g.info.genesis_time_ms}));
  state->Apply(s.writes());
  return Status::OK();
}

Status GenesisBlock(const Genesis& g, Block* block, WriteSet* writes) {
  struct Empty : StateReader {
    Status Get(std::string_view, std::string*) const override { return Status::NotFound("empty"); }
    std::unique_ptr<StateIterator> NewIterator(std::string_view, std::string_view) const override {
      struct None : StateIterator {
        bool Valid() const override { return false; }
        void Next() override {}
        std::string_view key() const override { return {}; }
        std::string_view value() const override { return {}; }
        Status status() const override { return Status::OK(); }
      };
      return std::make_unique<None>();
    }
  } empty;
  StateOverlay s(&empty);
  NANUM_RETURN_IF_ERROR(InitGenesis(g, &s));
  Block b;
  b.header.height = 0;
  b.header.timestamp_ms = g.info.genesis_time_ms;
  b.header.tx_root = TxRoot({});
  b.header.state_root = NextStateRoot(Hash256{}, 0, s.writes());
  b.header.results_root = ResultsRoot({});
  *block = std::move(b);
  *writes = s.writes();
  return Status::OK();
}

Status ExecuteBlock(const StateReader& state, std::uint64_t height, std::uint64_t time_ms,
                    const std::vector<Transaction>& txs, std::vector<TxResult>* results,
                    WriteSet* writes, const TxObserver& observer) {
  Params params;
  NANUM_RETURN_IF_ERROR(Load(state, "params", &params).Prefixed("market parameters"));
  Clock clock;
  NANUM_RETURN_IF_ERROR(Load(state, "clock", &clock).Prefixed("market clock"));
  if (height != clock.height + 1) {
    return Status::InvalidArgument("block " + std::to_string(height) + " follows block " + std::to_string(clock.height));
  }
  if (time_ms <= clock.time_ms) {
    return Status::InvalidArgument("block " + std::to_string(height) + " time " + std::to_string(time_ms) +
                                   " ms is not after the previous block's " + std::to_string(clock.time_ms));
  }
  Executor ex(state, params, height, time_ms);
  ex.block_state().Reserve(16 * txs.size() + 256);  // about 10 keys a transaction
  NANUM_RETURN_IF_ERROR(ex.RunTimeSteps());

  results->clear();
  results->reserve(txs.size());
  std::vector<Contract> made;
  for (std::size_t i = 0; i < txs.size(); ++i) {
    Status error;
    const Result r = ex.ExecuteTx(txs[i], static_cast<std::uint32_t>(i), &made, &error);
    if (!error.ok()) return error.Prefixed("block " + std::to_string(height) + " transaction " + std::to_string(i));
    results->push_back(TxResult{static_cast<std::uint32_t>(r), ResultName(r)});
    if (observer) observer(i, txs[i], r, ex.block_state(), made);
  }
  NANUM_RETURN_IF_ERROR(Save(&ex.block_state(), "clock", Clock{height, time_ms}));
  *writes = ex.block_state().TakeWrites();
  return Status::OK();
}

}  // namespace nanum::market
