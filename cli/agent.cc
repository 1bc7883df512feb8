// `nanumctl agent`: a household's automated trader. See agent.h.
#include "cli/agent.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <set>
#include <thread>

#include "cli/cli.h"
#include "ledger/crypto.h"
#include "proto/wire.h"

namespace nanum::cli {

using nlohmann::json;

Forecast ForecastNet(const std::vector<std::pair<std::uint64_t, std::int64_t>>& history, std::uint64_t slot) {
  Forecast f;
  if (history.empty() || slot <= history.back().first) return f;
  constexpr double kAlpha = 0.5, kBeta = 0.3;
  double level = static_cast<double>(history.front().second), trend = 0, bound = std::fabs(level);
  for (std::size_t i = 1; i < history.size(); ++i) {
    const double gap = static_cast<double>(history[i].first - history[i - 1].first);
    const double x = static_cast<double>(history[i].second);
    const double next = kAlpha * x + (1 - kAlpha) * (level + gap * trend);
    trend = kBeta * (next - level) / gap + (1 - kBeta) * trend;
    level = next;
    bound = std::max(bound, std::fabs(x));
  }
  const double ahead = static_cast<double>(slot - history.back().first);
  const double v = std::clamp(level + ahead * trend, -2 * bound, 2 * bound);
  f.ok = true;
  f.net_wh = static_cast<std::int64_t>(std::llround(v));
  f.from_readings = history.size();
  return f;
}

namespace {

// A price from the household's id, so that the households of a community do not all ask
// the same: base + (hash of id mod spread).
std::uint64_t Spread(const std::string& id, std::uint64_t base, std::uint64_t spread) {
  if (spread == 0) return base;
  const Hash256 h = Sha256Of(id);
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | h[static_cast<std::size_t>(i)];
  return base + v % (spread + 1);
}

// The meter's last `n` readings before slot `cur`, as (slot, net export Wh) in slot order.
grpc::Status ReadHistory(Node& node, const std::string& meter, std::uint64_t cur, unsigned n,
                         std::vector<std::pair<std::uint64_t, std::int64_t>>* out) {
  v1::ListReadingsRequest req;
  req.set_meter(meter);
  req.set_from_slot(cur > n + 4 ? cur - n - 4 : 0);
  req.set_limit(static_cast<std::uint32_t>(n + 8));
  v1::ListReadingsResponse resp;
  grpc::ClientContext ctx;
  Node::Deadline(&ctx);
  if (grpc::Status s = node->ListReadings(&ctx, req, &resp); !s.ok()) return s;
  out->clear();
  for (const auto& r : resp.readings()) {
    out->emplace_back(r.slot(), static_cast<std::int64_t>(r.export_wh()) - static_cast<std::int64_t>(r.import_wh()));
  }
  if (out->size() > n) out->erase(out->begin(), out->end() - static_cast<std::ptrdiff_t>(n));
  return grpc::Status::OK;
}

void Say(const Output& out, const json& j, const std::string& line) {
  std::cout << (out.json() ? j.dump() : line) << std::endl;
}

}  // namespace

int RunAgent(Node& node, const AgentOptions& o, const Output& out) {
  CatchStopSignals();
  PrivateKey key;
  if (Status s = ReadKeyFile(o.key_path, &key); !s.ok()) return Fail(s.ToString());
  // The node may still be starting (the local community starts everything at once).
  std::string member;
  v1::MarketInfo m;
  for (int backoff = 250;; backoff = std::min(backoff * 2, 5000)) {
    grpc::Status s = node.MemberId("", o.key_path, &member);
    if (s.ok()) s = node.Market(&m);
    if (s.ok()) break;
    if (s.error_code() != grpc::StatusCode::UNAVAILABLE && s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      return GrpcFail(s);
    }
    if (StopRequested()) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff));
  }
  const std::string meter = o.meter.empty() ? "m-" + member : o.meter;
  const std::uint64_t ask = Spread(member, o.ask, o.price_spread), bid = Spread(member, o.bid, o.price_spread);
  const std::uint64_t slot_ms = m.slot_seconds() * 1000, gate_ms = m.gate_closure_seconds() * 1000;
  const std::uint64_t margin_ms = std::max<std::uint64_t>(slot_ms / 10, 500);
  const std::uint64_t tick_ms = std::clamp<std::uint64_t>(slot_ms / 8, 200, 5000);
  if (!out.json()) {
    std::cout << "agent for " << member << " (meter " << meter << "): asks " << ask << ", bids " << bid
              << ", for the next " << o.lead << " slots of " << m.slot_seconds() << " s" << std::endl;
  }

  std::set<std::uint64_t> decided;  // slots this agent placed an order for or passed on
  bool bootstrapped = false, said_no_readings = false;
  while (!StopRequested()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(tick_ms));
    const std::uint64_t now = NowMs(), cur = now / slot_ms;
    if (!bootstrapped) {  // after a restart: the slots it already has orders for
      v1::ListOrdersRequest req;
      req.set_member(member);
      req.set_limit(1000);
      v1::ListOrdersResponse resp;
      grpc::ClientContext ctx;
      Node::Deadline(&ctx);
      if (!node->ListOrders(&ctx, req, &resp).ok()) continue;
      for (const auto& ord : resp.orders()) {
        if (ord.slot() > cur) decided.insert(ord.slot());
      }
      bootstrapped = true;
    }
    decided.erase(decided.begin(), decided.lower_bound(cur));
    std::vector<std::pair<std::uint64_t, std::int64_t>> history;
    bool have_history = false;
    for (std::uint64_t t = cur + 1; t <= cur + o.lead && !StopRequested(); ++t) {
      if (decided.count(t) != 0 || now + margin_ms + gate_ms >= t * slot_ms) continue;
      // The household's own history, read once per tick for all the slots due.
      if (!have_history) {
        if (grpc::Status s = ReadHistory(node, meter, cur, o.history, &history); !s.ok()) {
          std::cerr << "nanumctl: agent: readings of " << meter << ": " << s.error_message() << "\n";
          break;
        }
        have_history = true;
      }
      const Forecast f = ForecastNet(history, t);
      if (!f.ok) {
        if (!said_no_readings) std::cerr << "nanumctl: agent: no readings of " << meter << " yet; waiting for them\n";
        said_no_readings = true;
        break;
      }
      decided.insert(t);
      const bool sell = f.net_wh > 0;
      std::uint64_t qty = static_cast<std::uint64_t>(std::llabs(f.net_wh)) * o.hedge_permille / 1000;
      const std::uint64_t price = sell ? ask : bid;
      if (!sell && price > 0) {  // a buy is escrowed: no more than the balance allows
        v1::GetMemberRequest mreq;
        mreq.set_id(member);
        v1::MemberInfo mi;
        grpc::ClientContext mctx;
        Node::Deadline(&mctx);
        if (node->GetMember(&mctx, mreq, &mi).ok()) qty = std::min<std::uint64_t>(qty, static_cast<std::uint64_t>(std::max<std::int64_t>(mi.available(), 0)) / price);
      }
      json j = {{"member", member}, {"slot", t}, {"forecast_net_wh", f.net_wh}, {"from_readings", f.from_readings}};
      const std::string head = "slot " + std::to_string(t) + ": forecast net " + std::to_string(f.net_wh) + " Wh";
      if (qty < o.min_wh) {
        j["action"] = "none";
        Say(out, j, head + "; nothing to trade");
        continue;
      }
      PlaceOrder po;
      po.side = sell ? Side::kSell : Side::kBuy;
      po.slot = t;
      po.quantity_wh = qty;
      po.price = price;
      v1::SubmitResponse resp;
      grpc::Status s = node.Submit(key, Payload{po}, &resp);
      j["action"] = sell ? "sell" : "buy";
      j["quantity_wh"] = qty;
      j["price"] = price;
      j["result"] = s.ok() ? resp.outcome().result() : "error: " + s.error_message();
      if (s.ok()) j["tx_id"] = Hex(resp.tx_id());
      Say(out, j, head + "; " + (sell ? "sell " : "buy ") + std::to_string(qty) + " Wh at " + std::to_string(price) + ": " + j["result"].get<std::string>());
      if (!s.ok()) {
        decided.erase(t);  // try again at the next tick, unless the node has it after all
        bootstrapped = false;
        break;
      }
    }
  }
  return 0;
}

}  // namespace nanum::cli
