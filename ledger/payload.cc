#include "ledger/payload.h"

#include "ledger/encoding.h"
#include "ledger/limits.h"

namespace nanum {

// Payload layouts (canonical encoding, encoding.h); the type number precedes the payload in
// the transaction body.
//   Transfer (1)       bytes to, u64 amount
//   Govern (2)         u64 salt, u8 action kind, then the action:
//     RegisterMember (1)   bytes member_id, fixed[32] key
//     SetMemberStatus (2)  bytes member_id, bool active
//     BindMeter (3)        bytes meter_id, bytes member_id, fixed[32] oracle
//     Deposit (4)          bytes member_id, u64 amount
//     Withdraw (5)         bytes member_id, u64 amount
//     SetValidators (6)    u32 count, count × fixed[32] key
//   PlaceOrder (3)     u8 side (1 buy, 2 sell), u64 slot, u64 quantity_wh, u64 price
//   CancelOrder (4)    fixed[32] order_id
//   SubmitReading (5)  bytes meter_id, u64 slot, u64 sequence, u64 export_wh, u64 import_wh,
//                      u64 cum_export_wh, u64 cum_import_wh, i64 power_mw, u32 voltage_mv,
//                      u32 current_ma, i64 power_factor_permille

namespace {

constexpr std::size_t kMaxValidators = 256;

enum class ActionKind : std::uint8_t {
  kRegisterMember = 1,
  kSetMemberStatus = 2,
  kBindMeter = 3,
  kDeposit = 4,
  kWithdraw = 5,
  kSetValidators = 6,
};

struct ActionWriter {
  Writer* w;
  void operator()(const RegisterMember& a) const {
    w->U8(static_cast<std::uint8_t>(ActionKind::kRegisterMember));
    w->Bytes(a.member_id);
    w->Fixed(a.key.bytes());
  }
  void operator()(const SetMemberStatus& a) const {
    w->U8(static_cast<std::uint8_t>(ActionKind::kSetMemberStatus));
    w->Bytes(a.member_id);
    w->Bool(a.active);
  }
  void operator()(const BindMeter& a) const {
    w->U8(static_cast<std::uint8_t>(ActionKind::kBindMeter));
    w->Bytes(a.meter_id);
    w->Bytes(a.member_id);
    w->Fixed(a.oracle.bytes());
  }
  void operator()(const Deposit& a) const {
    w->U8(static_cast<std::uint8_t>(ActionKind::kDeposit));
    w->Bytes(a.member_id);
    w->U64(a.amount);
  }
  void operator()(const Withdraw& a) const {
    w->U8(static_cast<std::uint8_t>(ActionKind::kWithdraw));
    w->Bytes(a.member_id);
    w->U64(a.amount);
  }
  void operator()(const SetValidators& a) const {
    w->U8(static_cast<std::uint8_t>(ActionKind::kSetValidators));
    w->U32(static_cast<std::uint32_t>(a.validators.size()));
    for (const auto& k : a.validators) w->Fixed(k.bytes());
  }
};

struct PayloadWriter {
  Writer* w;
  void operator()(const Transfer& p) const {
    w->Bytes(p.to);
    w->U64(p.amount);
  }
  void operator()(const Govern& p) const {
    w->U64(p.salt);
    std::visit(ActionWriter{w}, p.action);
  }
  void operator()(const PlaceOrder& p) const {
    w->U8(static_cast<std::uint8_t>(p.side));
    w->U64(p.slot);
    w->U64(p.quantity_wh);
    w->U64(p.price);
  }
  void operator()(const CancelOrder& p) const { w->Fixed(p.order_id); }
  void operator()(const SubmitReading& p) const {
    w->Bytes(p.meter_id);
    w->U64(p.slot);
    w->U64(p.sequence);
    w->U64(p.export_wh);
    w->U64(p.import_wh);
    w->U64(p.cum_export_wh);
    w->U64(p.cum_import_wh);
    w->I64(p.power_mw);
    w->U32(p.voltage_mv);
    w->U32(p.current_ma);
    w->I64(p.power_factor_permille);
  }
};

// Reads a name and records an error on the reader if it breaks the naming rule.
std::string ReadName(Reader* r, std::string_view field) {
  std::string v(r->Bytes(kMaxNameBytes, field));
  if (r->ok() && !IsValidName(v)) {
    r->Fail(Status::InvalidArgument(std::string(field) + " '" + v +
                                    "' is not a valid name ([a-z0-9._-], 1 to 32 bytes)"));
  }
  return v;
}

std::uint64_t ReadPositive(Reader* r, std::string_view field) {
  std::uint64_t v = r->U64();
  if (r->ok() && v == 0) r->Fail(Status::InvalidArgument(std::string(field) + " must be positive"));
  return v;
}

// Reads a 32-byte public key and records an error if it is not a curve point.
PublicKey ReadKey(Reader* r) {
  PublicKey k = PublicKey::FromBytesUnchecked(r->Fixed<32>());
  if (r->ok()) {
    Status s = PublicKey::Parse(k.bytes(), &k);
    if (!s.ok()) r->Fail(s);
  }
  return k;
}

Status ReadAction(Reader* r, Action* out) {
  const std::uint8_t kind = r->U8();
  if (!r->ok()) return r->status();
  switch (static_cast<ActionKind>(kind)) {
    case ActionKind::kRegisterMember: {
      RegisterMember a;
      a.member_id = ReadName(r, "member id");
      a.key = ReadKey(r);
      *out = a;
      return Status::OK();
    }
    case ActionKind::kSetMemberStatus: {
      SetMemberStatus a;
      a.member_id = ReadName(r, "member id");
      a.active = r->Bool();
      *out = a;
      return Status::OK();
    }
    case ActionKind::kBindMeter: {
      BindMeter a;
      a.meter_id = ReadName(r, "meter id");
      a.member_id = ReadName(r, "member id");
      a.oracle = ReadKey(r);
      *out = a;
      return Status::OK();
    }
    case ActionKind::kDeposit: {
      Deposit a;
      a.member_id = ReadName(r, "member id");
      a.amount = ReadPositive(r, "deposit amount");
      *out = a;
      return Status::OK();
    }
    case ActionKind::kWithdraw: {
      Withdraw a;
      a.member_id = ReadName(r, "member id");
      a.amount = ReadPositive(r, "withdrawal amount");
      *out = a;
      return Status::OK();
    }
    case ActionKind::kSetValidators: {
      SetValidators a;
      const std::uint32_t n = r->Count(kMaxValidators, 32, "validators");
      if (r->ok() && n == 0) r->Fail(Status::InvalidArgument("a validator set cannot be empty"));
      for (std::uint32_t i = 0; i < n && r->ok(); ++i) {
        const PublicKey k = ReadKey(r);
        if (r->ok() && !a.validators.empty() && !(a.validators.back() < k)) {
          r->Fail(Status::InvalidArgument("validators must be distinct and in increasing order"));
        }
        a.validators.push_back(k);
      }
      *out = a;
      return Status::OK();
    }
  }
  return Status::Unsupported("governance action " + std::to_string(kind) + " is unknown");
}

}  // namespace

bool IsValidName(std::string_view id) {
  if (id.empty() || id.size() > kMaxNameBytes) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

const char* PayloadTypeName(PayloadType t) {
  switch (t) {
    case PayloadType::kTransfer: return "transfer";
    case PayloadType::kGovern: return "govern";
    case PayloadType::kPlaceOrder: return "place_order";
    case PayloadType::kCancelOrder: return "cancel_order";
    case PayloadType::kSubmitReading: return "submit_reading";
  }
  return "unknown";
}

PayloadType TypeOf(const Payload& p) {
  return static_cast<PayloadType>(p.index() + 1);  // the variant lists the types in number order
}

std::string EncodePayload(const Payload& p) {
  Writer w;
  std::visit(PayloadWriter{&w}, p);
  return w.Release();
}

std::string EncodeAction(const Action& a) {
  Writer w;
  std::visit(ActionWriter{&w}, a);
  return w.Release();
}

Hash256 ProposalId(const Govern& g) {
  Writer w;
  PayloadWriter{&w}(g);
  return TaggedHash("nanum/proposal", w.data());
}

Status DecodePayload(std::uint16_t type, std::string_view bytes, Payload* out) {
  const char* name = PayloadTypeName(static_cast<PayloadType>(type));
  Reader r(bytes, name);
  switch (static_cast<PayloadType>(type)) {
    case PayloadType::kTransfer: {
      Transfer t;
      t.to = ReadName(&r, "recipient");
      t.amount = ReadPositive(&r, "transfer amount");
      *out = std::move(t);
      break;
    }
    case PayloadType::kGovern: {
      Govern g;
      g.salt = r.U64();
      Status s = ReadAction(&r, &g.action);
      if (!s.ok()) r.Fail(s);
      *out = std::move(g);
      break;
    }
    case PayloadType::kPlaceOrder: {
      PlaceOrder o;
      const std::uint8_t side = r.U8();
      if (r.ok() && side != 1 && side != 2) {
        r.Fail(Status::InvalidArgument("order side " + std::to_string(side) + " (1 buy, 2 sell)"));
      }
      o.side = static_cast<Side>(side);
      o.slot = r.U64();
      o.quantity_wh = ReadPositive(&r, "order quantity");
      o.price = r.U64();
      *out = o;
      break;
    }
    case PayloadType::kCancelOrder: {
      CancelOrder c;
      c.order_id = r.Fixed<32>();
      *out = c;
      break;
    }
    case PayloadType::kSubmitReading: {
      SubmitReading m;
      m.meter_id = ReadName(&r, "meter id");
      m.slot = r.U64();
      m.sequence = r.U64();
      m.export_wh = r.U64();
      m.import_wh = r.U64();
      m.cum_export_wh = r.U64();
      m.cum_import_wh = r.U64();
      m.power_mw = r.I64();
      m.voltage_mv = r.U32();
      m.current_ma = r.U32();
      const std::int64_t pf = r.I64();
      if (r.ok() && (pf < -1000 || pf > 1000)) {
        r.Fail(Status::InvalidArgument("power factor " + std::to_string(pf) + " permille is outside -1000..1000"));
      }
      m.power_factor_permille = static_cast<std::int32_t>(pf);
      *out = std::move(m);
      break;
    }
    default:
      return Status::Unsupported("payload type " + std::to_string(type) + " is unknown");
  }
  return r.Finish();
}

}  // namespace nanum
