// See client.h.
#include "cli/client.h"

#include <signal.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <iomanip>
#include <sstream>

#include "cli/cli.h"
#include "ledger/file.h"
#include "proto/wire.h"

namespace nanum::cli {

using nlohmann::json;

namespace {
std::atomic<bool> g_stop{false};
void OnStop(int) { g_stop = true; }
}  // namespace

std::string Clock(std::uint64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  std::ostringstream s;
  s << std::put_time(&tm, "%H:%M:%S");
  return s.str();
}

int Fail(const std::string& what) {
  std::cerr << "nanumctl: " << what << "\n";
  return 1;
}

void CatchStopSignals() {
  ::signal(SIGINT, OnStop);
  ::signal(SIGTERM, OnStop);
}

bool StopRequested() { return g_stop; }

std::string Hex(const std::string& bytes) { return ToHex(bytes); }

std::uint64_t NowMs() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

int GrpcFail(const grpc::Status& s) {
  return Fail(std::string(s.error_code() == grpc::StatusCode::UNAVAILABLE ? "node unreachable: " : "") +
              s.error_message());
}

Status Dial(const std::string& addr, const TlsArgs& tls, std::shared_ptr<grpc::Channel>* out) {
  if (tls.ca.empty()) {
    if (!tls.cert.empty() || !tls.key.empty()) return Status::InvalidArgument("--tls-cert and --tls-key need --tls-ca");
    *out = grpc::CreateChannel(addr, grpc::InsecureChannelCredentials());
    return Status::OK();
  }
  if (tls.cert.empty() != tls.key.empty()) return Status::InvalidArgument("--tls-cert and --tls-key go together");
  grpc::SslCredentialsOptions opt;
  NANUM_RETURN_IF_ERROR(ReadFile(tls.ca, "TLS CA file", &opt.pem_root_certs, 1 << 20));
  if (!tls.cert.empty()) {
    NANUM_RETURN_IF_ERROR(ReadFile(tls.cert, "TLS certificate file", &opt.pem_cert_chain, 1 << 20));
    NANUM_RETURN_IF_ERROR(ReadFile(tls.key, "TLS key file", &opt.pem_private_key, 1 << 20));
  }
  grpc::ChannelArguments args;
  if (!tls.server_name.empty()) args.SetSslTargetNameOverride(tls.server_name);
  *out = grpc::CreateCustomChannel(addr, grpc::SslCredentials(opt), args);
  return Status::OK();
}

// ---- JSON for the API's records (field names: docs/CLI.md). ----

json MemberJson(const v1::MemberInfo& m) {
  return {{"id", m.id()}, {"key", Hex(m.key())}, {"active", m.active()}, {"admin", m.admin()},
          {"available", m.available()}, {"escrow", m.escrow()}, {"open_orders", m.open_orders()}};
}

json OrderJson(const v1::OrderInfo& o) {
  return {{"id", Hex(o.id())}, {"owner", o.owner()}, {"side", o.side()}, {"slot", o.slot()},
          {"quantity_wh", o.quantity_wh()}, {"remaining_wh", o.remaining_wh()}, {"price", o.price()},
          {"status", o.status()}, {"height", o.height()}};
}

json ContractJson(const v1::ContractInfo& c) {
  return {{"id", c.id()}, {"slot", c.slot()}, {"seller", c.seller()}, {"buyer", c.buyer()},
          {"quantity_wh", c.quantity_wh()}, {"price", c.price()}, {"settled", c.settled()},
          {"delivered_wh", c.delivered_wh()}, {"paid", c.paid()}, {"penalty", c.penalty()},
          {"height", c.height()}, {"sell_order", Hex(c.sell_order())}, {"buy_order", Hex(c.buy_order())}};
}

json SettlementJson(const v1::SettlementInfo& s) {
  return {{"slot", s.slot()}, {"member", s.member()}, {"sold_wh", s.sold_wh()}, {"exported_wh", s.exported_wh()},
          {"delivered_sold_wh", s.delivered_sold_wh()}, {"bought_wh", s.bought_wh()},
          {"imported_wh", s.imported_wh()}, {"delivered_bought_wh", s.delivered_bought_wh()},
          {"export_measured", s.export_measured()}, {"import_measured", s.import_measured()},
          {"received", s.received()}, {"paid", s.paid()}, {"refunded", s.refunded()},
          {"penalty_paid", s.penalty_paid()}, {"penalty_received", s.penalty_received()}, {"height", s.height()}};
}

json ReadingJson(const v1::ReadingInfo& r) {
  return {{"meter", r.meter()}, {"slot", r.slot()}, {"sequence", r.sequence()}, {"export_wh", r.export_wh()},
          {"import_wh", r.import_wh()}, {"cum_export_wh", r.cum_export_wh()}, {"cum_import_wh", r.cum_import_wh()},
          {"power_mw", r.power_mw()}, {"voltage_mv", r.voltage_mv()}, {"current_ma", r.current_ma()},
          {"power_factor_permille", r.power_factor_permille()}, {"height", r.height()}, {"late", r.late()}};
}

namespace {

json ActionJson(const Action& a) {
  return std::visit(
      [](const auto& x) -> json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, RegisterMember>) {
          return {{"action", "register_member"}, {"member", x.member_id}, {"key", x.key.Hex()}};
        } else if constexpr (std::is_same_v<T, SetMemberStatus>) {
          return {{"action", "set_member_status"}, {"member", x.member_id}, {"active", x.active}};
        } else if constexpr (std::is_same_v<T, BindMeter>) {
          return {{"action", "bind_meter"}, {"meter", x.meter_id}, {"member", x.member_id}, {"oracle", x.oracle.Hex()}};
        } else if constexpr (std::is_same_v<T, Deposit>) {
          return {{"action", "deposit"}, {"member", x.member_id}, {"amount", x.amount}};
        } else if constexpr (std::is_same_v<T, Withdraw>) {
          return {{"action", "withdraw"}, {"member", x.member_id}, {"amount", x.amount}};
        } else {
          json keys = json::array();
          for (const PublicKey& k : x.validators) keys.push_back(k.Hex());
          return {{"action", "set_validators"}, {"validators", keys}};
        }
      },
      a);
}

}  // namespace

json PayloadJson(const Payload& p) {
  return std::visit(
      [](const auto& x) -> json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Transfer>) {
          return {{"type", "transfer"}, {"to", x.to}, {"amount", x.amount}};
        } else if constexpr (std::is_same_v<T, Govern>) {
          return {{"type", "govern"}, {"salt", x.salt}, {"proposal", ToHex(ProposalId(x))}, {"action", ActionJson(x.action)}};
        } else if constexpr (std::is_same_v<T, PlaceOrder>) {
          return {{"type", "place_order"}, {"side", x.side == Side::kBuy ? "buy" : "sell"}, {"slot", x.slot},
                  {"quantity_wh", x.quantity_wh}, {"price", x.price}};
        } else if constexpr (std::is_same_v<T, CancelOrder>) {
          return {{"type", "cancel_order"}, {"order", ToHex(x.order_id)}};
        } else {
          return {{"type", "submit_reading"}, {"meter", x.meter_id}, {"slot", x.slot}, {"sequence", x.sequence},
                  {"export_wh", x.export_wh}, {"import_wh", x.import_wh}, {"cum_export_wh", x.cum_export_wh},
                  {"cum_import_wh", x.cum_import_wh}, {"power_mw", x.power_mw}, {"voltage_mv", x.voltage_mv},
                  {"current_ma", x.current_ma}, {"power_factor_permille", x.power_factor_permille}};
        }
      },
      p);
}

grpc::Status Node::Market(v1::MarketInfo* out) {
  grpc::ClientContext ctx;
  Deadline(&ctx);
  return client_->GetMarket(&ctx, v1::GetMarketRequest{}, out);
}

grpc::Status Node::MemberId(const std::string& member, const std::string& key_path, std::string* out) {
  if (!member.empty()) {
    *out = member;
    return grpc::Status::OK;
  }
  if (key_path.empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "give --member or --key");
  PrivateKey k;
  if (Status s = ReadKeyFile(key_path, &k); !s.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, s.ToString());
  }
  v1::GetMemberRequest req;
  req.set_key(wire::Bytes(k.public_key()));
  v1::MemberInfo m;
  grpc::ClientContext ctx;
  Deadline(&ctx);
  grpc::Status s = client_->GetMember(&ctx, req, &m);
  if (s.ok()) *out = m.id();
  return s;
}

grpc::Status Node::Submit(const PrivateKey& k, const Payload& payload, v1::SubmitResponse* out) {
  v1::NodeStatus st;
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    if (grpc::Status s = client_->GetStatus(&ctx, v1::GetStatusRequest{}, &st); !s.ok()) return s;
  }
  v1::GetNextNonceResponse nonce;
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::GetNextNonceRequest req;
    req.set_key(wire::Bytes(k.public_key()));
    if (grpc::Status s = client_->GetNextNonce(&ctx, req, &nonce); !s.ok()) return s;
  }
  TxBody body;
  body.chain_id = st.chain_id();
  body.signer = k.public_key();
  body.nonce = nonce.next_nonce();
  body.payload = payload;
  const Transaction tx = Transaction::Sign(body, k);
  v1::SubmitRequest req;
  wire::ToEnvelope(tx, req.mutable_tx());
  req.set_wait_for_commit(true);
  req.set_timeout_ms(20'000);
  grpc::ClientContext ctx;
  Deadline(&ctx, 30);
  return client_->Submit(&ctx, req, out);
}

int Node::SubmitAndReport(const std::string& key_path, const Payload& payload, const Output& out) {
  PrivateKey k;
  if (Status s = ReadKeyFile(key_path, &k); !s.ok()) return Fail(s.ToString());
  v1::SubmitResponse resp;
  if (grpc::Status s = Submit(k, payload, &resp); !s.ok()) return GrpcFail(s);
  out.Object({{"tx_id", Hex(resp.tx_id())}, {"committed", resp.committed()}, {"height", resp.outcome().height()},
              {"result", resp.outcome().result()}});
  return resp.outcome().result_code() == 0 ? 0 : 3;
}

}  // namespace nanum::cli
