// nanumctl: the command line for households, operators and auditors. It talks to a node over
// gRPC (--node host:port) and signs transactions locally with the user's key file. Tables
// for people by default; --json prints one JSON object per result (or per row, for lists
// and blocks) with the field names documented in docs/CLI.md.
//
// Exit codes: 0 done; 1 usage, key file or node error; 3 the transaction committed but
// failed (its result names why, e.g. insufficient_funds).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "chaincode/market.h"
#include "cli/agent.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/live.h"
#include "ledger/block.h"
#include "ledger/crypto.h"
#include "ledger/file.h"
#include "ledger/transaction.h"
#include "nanum/v1/node.grpc.pb.h"
#include "proto/wire.h"

using namespace nanum;
using namespace nanum::cli;
using nlohmann::json;

namespace {

bool ParseKeyHex(const std::string& hex, PublicKey* out) {
  auto b = FixedFromHex<32>(hex);
  return b && PublicKey::Parse(*b, out).ok();
}

// One event: a line for people, or a JSON line (`height`, `time_ms`, `kind`, and `order`,
// `contract` or `settlement`).
void PrintEvent(const v1::MemberEvent& e, const Output& out) {
  json j = {{"height", e.height()}, {"time_ms", e.time_ms()}, {"kind", e.kind()}};
  std::ostringstream line;
  line << Clock(e.time_ms()) << "  height " << e.height() << "  " << std::left << std::setw(16) << e.kind();
  if (e.has_contract()) {
    const auto& c = e.contract();
    j["contract"] = ContractJson(c);
    line << c.seller() << " sells " << c.quantity_wh() << " Wh to " << c.buyer() << " at " << c.price() << " for slot "
         << c.slot() << " (contract " << c.id() << ")";
  } else if (e.has_settlement()) {
    const auto& x = e.settlement();
    j["settlement"] = SettlementJson(x);
    line << "slot " << x.slot() << ": sold " << x.delivered_sold_wh() << " of " << x.sold_wh() << " Wh, bought "
         << x.delivered_bought_wh() << " of " << x.bought_wh() << " Wh; received " << x.received() << ", paid " << x.paid()
         << ", refunded " << x.refunded() << ", penalties paid " << x.penalty_paid() << " and received "
         << x.penalty_received();
  } else {
    const auto& o = e.order();
    j["order"] = OrderJson(o);
    line << o.side() << " " << o.quantity_wh() << " Wh at " << o.price() << " for slot " << o.slot() << ", "
         << o.remaining_wh() << " Wh open (order " << Hex(o.id()).substr(0, 16) << ")";
  }
  std::cout << (out.json() ? j.dump() : line.str()) << std::endl;
}

// Follows a member's events. When the stream breaks (the node restarts), it reconnects with
// backoff and resumes after the last event it printed.
int Watch(Node& node, const std::string& member, bool from_given, std::uint64_t from, const Output& out) {
  std::uint64_t next = from;
  if (!from_given) {  // only new events: from the block after the node's head now
    v1::NodeStatus st;
    grpc::ClientContext ctx;
    Node::Deadline(&ctx);
    if (grpc::Status s = node->GetStatus(&ctx, v1::GetStatusRequest{}, &st); !s.ok()) return GrpcFail(s);
    next = st.height() + 1;
  }
  std::uint64_t last_height = 0;
  std::size_t printed_at_last = 0;  // events already printed for last_height
  int backoff_ms = 200;
  for (;;) {
    v1::SubscribeEventsRequest req;
    req.set_member(member);
    req.set_from_height(next);
    grpc::ClientContext ctx;
    auto stream = node->SubscribeEvents(&ctx, req);
    v1::MemberEvent e;
    std::size_t seen_at_height = 0;
    std::uint64_t height = 0;
    while (stream->Read(&e)) {
      backoff_ms = 200;
      if (e.height() != height) {
        height = e.height();
        seen_at_height = 0;
      }
      ++seen_at_height;
      if (height == last_height && seen_at_height <= printed_at_last) continue;  // printed before a reconnect
      PrintEvent(e, out);
      if (height != last_height) printed_at_last = 0;
      last_height = height;
      printed_at_last = seen_at_height;
      next = last_height;
    }
    grpc::Status s = stream->Finish();
    if (s.error_code() == grpc::StatusCode::NOT_FOUND || s.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
      return GrpcFail(s);
    }
    std::cerr << "nanumctl: watch: " << (s.ok() ? "the stream ended" : s.error_message()) << "; reconnecting\n";
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
    backoff_ms = std::min(backoff_ms * 2, 5000);
  }
}

std::uint64_t RandomSalt() {
  std::uint64_t salt = 0;
  SecureRandom(reinterpret_cast<std::uint8_t*>(&salt), sizeof salt);
  return salt;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nanumctl: households, operators and auditors of a nanum community"};
  app.require_subcommand(1);
  std::string node_addr = "127.0.0.1:7701";
  bool as_json = false;
  app.add_option("--node", node_addr, "the node's API address (host:port)")->envname("NANUM_NODE");
  app.add_flag("--json", as_json, "machine-readable output (stable field names, docs/CLI.md)");
  std::string tls_ca, tls_cert, tls_key, tls_name;
  app.add_option("--tls-ca", tls_ca, "speak TLS to the node, trusting this CA's certificate (PEM)")->envname("NANUM_TLS_CA");
  app.add_option("--tls-cert", tls_cert, "for mutual TLS: your client certificate (PEM)")->envname("NANUM_TLS_CERT");
  app.add_option("--tls-key", tls_key, "for mutual TLS: your client certificate's key (PEM)")->envname("NANUM_TLS_KEY");
  app.add_option("--tls-server-name", tls_name, "the name the node's certificate must carry, if not --node's host");

  // Options shared by several subcommands.
  std::string key_path, member, to, hex, meter_id;
  std::uint64_t amount = 0, slot = 0, in_slots = 0, wh = 0, price = 0, salt = 0, from = 0, limit = 0;
  std::string side;
  auto slot_options = [&](CLI::App* c) {
    c->add_option("--slot", slot, "slot number (Unix time / slot length)");
    c->add_option("--in", in_slots, "or: this many slots after the current one");
  };
  auto key_option = [&](CLI::App* c, bool required) {
    auto* o = c->add_option("--key", key_path, "your key file");
    if (required) o->required();
  };

  // ---- setting up ----
  auto* keygen = app.add_subcommand("keygen", "create a key file (mode 0600) and print its public key");
  keygen->add_option("file", key_path)->required();

  InitOptions init_o;
  int household_count = 0;
  auto* init = app.add_subcommand("init", "make a new community: keys, genesis, a config per node and per oracle");
  init->add_option("dir", init_o.dir)->required();
  init->add_option("--community", init_o.community);
  init->add_option("--chain-id", init_o.chain_id);
  init->add_option("--validators", init_o.validators)->check(CLI::Range(1, 256));
  init->add_option("--followers", init_o.followers)->check(CLI::Range(0, 1000));
  init->add_option("--households", init_o.households,
                   "member ids; each gets a key, a meter m-ID, an oracle key and oracle-ID.toml");
  init->add_option("--household-count", household_count, "also add households house-0001, house-0002, …")
      ->check(CLI::Range(0, 100000));
  init->add_option("--slot-seconds", init_o.slot_seconds, "market slot length (default 900)");
  init->add_option("--initial-grant", init_o.initial_grant, "base units minted to each member (default 100000)");
  init->add_option("--mechanism", init_o.mechanism, "continuous (default) or uniform_price");
  init->add_option("--base-port", init_o.base_port,
                   "API port of the first node; the others follow; peer ports are 100 above, HTTP 200 above; "
                   "household k's oracle listens on 300 + k above");

  // ---- anyone ----
  auto* status = app.add_subcommand("status", "the node's status");
  auto* market = app.add_subcommand("market", "the community's parameters, token supply and validators");
  auto* members = app.add_subcommand("members", "members, by id");
  members->add_option("--after", member, "start after this id");
  members->add_option("--limit", limit);
  auto* balance = app.add_subcommand("balance", "a member's balance (yours with --key)");
  balance->add_option("--member", member);
  key_option(balance, false);
  auto* book = app.add_subcommand("book", "a slot's open orders by price");
  slot_options(book);
  auto* slotc = app.add_subcommand("slot", "a slot's phase, clearing price and volume");
  slot_options(slotc);
  auto* meter = app.add_subcommand("meter", "a meter's owner, oracle and registers");
  meter->add_option("id", meter_id)->required();
  auto* readings = app.add_subcommand("readings", "a meter's readings by slot");
  readings->add_option("meter", meter_id)->required();
  readings->add_option("--from-slot", from);
  readings->add_option("--limit", limit);
  auto* block = app.add_subcommand("block", "one block's header and transactions");
  std::string at = "latest";
  block->add_option("height", at, "a height, or latest");
  auto* blocks = app.add_subcommand("blocks", "export blocks with decoded transactions and results, as JSON lines");
  std::uint64_t to_height = 0;
  blocks->add_option("--from", from, "first height (default 0)");
  blocks->add_option("--to", to_height, "last height (default: the node's head)");

  // ---- auditors ----
  auto* auditc = app.add_subcommand("audit",
                                    "replay the ledger from genesis and check every signature, certificate, hash link, "
                                    "state root and the market's invariants (offline with --data-dir, else over --node)");
  AuditArgs audit_args;
  bool quiet = false;
  auditc->add_option("--genesis", audit_args.genesis_file, "your own copy of the community's genesis file")->required();
  auditc->add_option("--data-dir", audit_args.data_dir, "a stopped node's data directory (offline audit)");
  auditc->add_option("--threads", audit_args.threads, "signature-checking threads (default: one per core)");
  auditc->add_flag("--quiet", quiet, "no progress on stderr");

  // ---- households ----
  auto* transfer = app.add_subcommand("transfer", "send tokens to a member");
  key_option(transfer, true);
  transfer->add_option("--to", to, "member id")->required();
  transfer->add_option("amount", amount)->required();
  auto* order = app.add_subcommand("order", "place a buy or sell order for a slot");
  key_option(order, true);
  order->add_option("side", side, "buy or sell")->required()->check(CLI::IsMember({"buy", "sell"}));
  order->add_option("--wh", wh, "quantity in Wh")->required();
  order->add_option("--price", price, "limit price, base units per Wh")->required();
  slot_options(order);
  auto* cancel = app.add_subcommand("cancel", "cancel one of your open orders");
  key_option(cancel, true);
  cancel->add_option("order", hex, "order id (hex)")->required();
  auto* orders = app.add_subcommand("orders", "a member's orders (yours with --key)");
  orders->add_option("--member", member);
  key_option(orders, false);
  orders->add_option("--limit", limit);
  auto* contracts = app.add_subcommand("contracts", "contracts of a member (or yours with --key), or of a slot");
  contracts->add_option("--member", member);
  key_option(contracts, false);
  contracts->add_option("--slot", slot, "all contracts of this slot instead");
  contracts->add_option("--limit", limit);
  auto* watchc = app.add_subcommand("watch",
                                    "a member's events as they happen (orders accepted, filled, cancelled, expired; "
                                    "contracts; settlements), until interrupted; survives node restarts");
  watchc->add_option("--member", member, "the member (or yours with --key)");
  key_option(watchc, false);
  watchc->add_option("--from-height", from, "also the events of blocks from this height (default: only new ones)");
  LiveOptions live_o;
  auto* live = app.add_subcommand("live", "the community trading: each slot's clearing price, volume and settlement, "
                                          "as they happen, until interrupted");
  live->add_option("--back", live_o.back, "start this many slots back (default 3)");
  AgentOptions agent_o;
  auto* agent = app.add_subcommand("agent", "trade for a household automatically: one order per coming slot, "
                                            "from a forecast of its meter's readings, until interrupted");
  agent->add_option("--key", agent_o.key_path, "the household's key file")->required();
  agent->add_option("--meter", agent_o.meter, "its meter (default m-<member id>)");
  agent->add_option("--lead", agent_o.lead, "order for this many coming slots (default 2)")->check(CLI::Range(1, 96));
  agent->add_option("--history", agent_o.history, "readings the forecast uses (default 16)")->check(CLI::Range(1, 1000));
  agent->add_option("--ask", agent_o.ask, "sell price, base units per Wh (default 90)");
  agent->add_option("--bid", agent_o.bid, "buy price (default 110)");
  agent->add_option("--price-spread", agent_o.price_spread, "up to this much is added to both, by member id (default 20)");
  agent->add_option("--hedge-permille", agent_o.hedge_permille, "trade this share of the forecast (default 900)")
      ->check(CLI::Range(1, 1000));
  agent->add_option("--min-wh", agent_o.min_wh, "no order below this (default 10)");
  auto* settlements = app.add_subcommand("settlements", "settlements of a member (or yours with --key), or of a slot");
  settlements->add_option("--member", member);
  key_option(settlements, false);
  settlements->add_option("--slot", slot, "all settlements of this slot instead");
  settlements->add_option("--limit", limit);

  // ---- oracles (nanum-oracle does this; by hand for tests and repairs) ----
  SubmitReading rd;
  auto* reading = app.add_subcommand("reading", "submit a meter reading, signed with the meter's oracle key");
  key_option(reading, true);
  reading->add_option("--meter", rd.meter_id)->required();
  reading->add_option("--slot", rd.slot)->required();
  reading->add_option("--sequence", rd.sequence)->required();
  reading->add_option("--export-wh", rd.export_wh);
  reading->add_option("--import-wh", rd.import_wh);
  reading->add_option("--cum-export-wh", rd.cum_export_wh);
  reading->add_option("--cum-import-wh", rd.cum_import_wh);
  reading->add_option("--power-mw", rd.power_mw);
  reading->add_option("--voltage-mv", rd.voltage_mv);
  reading->add_option("--current-ma", rd.current_ma);
  reading->add_option("--power-factor-permille", rd.power_factor_permille);

  // ---- operators: governance, each an admin's approval (--salt names the proposal) ----
  auto gov = [&](const char* name, const char* what) {
    auto* c = app.add_subcommand(name, what);
    key_option(c, true);
    c->add_option("--salt", salt, "the proposal's salt: other admins approve with the same (default: new)");
    return c;
  };
  auto* reg = gov("register", "approve registering a member");
  reg->add_option("--member", member)->required();
  reg->add_option("--member-key", hex, "the member's public key (hex)")->required();
  auto* suspend = gov("suspend", "approve suspending a member");
  suspend->add_option("member", member)->required();
  auto* reactivate = gov("reactivate", "approve reactivating a member");
  reactivate->add_option("member", member)->required();
  auto* deposit = gov("deposit", "approve a deposit into a member's balance");
  deposit->add_option("--member", member)->required();
  deposit->add_option("amount", amount)->required();
  auto* withdraw = gov("withdraw", "approve a withdrawal from a member's balance");
  withdraw->add_option("--member", member)->required();
  withdraw->add_option("amount", amount)->required();
  auto* bind = gov("bind-meter", "approve binding a meter to a member and an oracle key");
  bind->add_option("--meter", meter_id)->required();
  bind->add_option("--member", member)->required();
  bind->add_option("--oracle-key", hex, "the oracle's public key (hex)")->required();
  std::vector<std::string> validator_keys;
  auto* setv = gov("set-validators", "approve a new validator set (takes effect after the change delay)");
  setv->add_option("keys", validator_keys, "public keys (hex)")->required();
  auto* vals = app.add_subcommand("validators", "the validators in force and any approved change");

  CLI11_PARSE(app, argc, argv);
  const Output out(as_json);

  if (*keygen) {
    PrivateKey k;
    if (Status s = NewKey(key_path, &k); !s.ok()) return Fail(s.ToString());
    if (as_json) {
      std::cout << json{{"file", key_path}, {"public_key", k.public_key().Hex()}}.dump() << "\n";
    } else {
      std::cout << k.public_key().Hex() << "\n";
    }
    return 0;
  }
  if (*init) {
    for (int i = 1; i <= household_count; ++i) {
      char hid[32];
      std::snprintf(hid, sizeof hid, "house-%04d", i);
      init_o.households.push_back(hid);
    }
    return Init(init_o);
  }

  std::shared_ptr<grpc::Channel> channel;
  if (Status s = Dial(node_addr, TlsArgs{tls_ca, tls_cert, tls_key, tls_name}, &channel); !s.ok()) return Fail(s.ToString());
  if (*auditc) {
    audit_args.node = node_addr;
    audit_args.channel = channel;
    audit_args.json = as_json;
    audit_args.progress = !quiet;
    return Audit(audit_args);
  }
  Node node(channel);
  // --slot or --in (slots after the current one, by this machine's clock).
  auto resolve_slot = [&](CLI::App* c, std::uint64_t* out_slot) -> int {
    if (c->count("--slot") != 0) {
      *out_slot = slot;
      return 0;
    }
    v1::MarketInfo m;
    if (grpc::Status s = node.Market(&m); !s.ok()) return GrpcFail(s);
    *out_slot = NowMs() / (m.slot_seconds() * 1000) + in_slots;
    return 0;
  };

  if (*status) {
    grpc::ClientContext ctx;
    Node::Deadline(&ctx);
    v1::NodeStatus st;
    if (grpc::Status s = node->GetStatus(&ctx, v1::GetStatusRequest{}, &st); !s.ok()) return GrpcFail(s);
    out.Object({{"community", st.community()}, {"chain_id", st.chain_id()}, {"height", st.height()},
                {"block_hash", Hex(st.block_hash())}, {"state_root", Hex(st.state_root())},
                {"block_time_ms", st.block_time_ms()}, {"node_key", Hex(st.node_key())},
                {"validator", st.validator()}, {"primary", st.primary()}, {"view", st.view()},
                {"epoch", st.epoch()}, {"validators", st.validators()}, {"mempool", st.mempool()},
                {"peers_connected", st.peers_connected()}, {"version", st.version()}});
    return 0;
  }
  if (*market || *vals) {
    v1::MarketInfo m;
    if (grpc::Status s = node.Market(&m); !s.ok()) return GrpcFail(s);
    json v = json::array(), pv = json::array();
    for (const auto& k : m.validators()) v.push_back(Hex(k));
    for (const auto& k : m.pending_validators()) pv.push_back(Hex(k));
    if (*vals) {
      out.Object({{"validators", v}, {"from_height", m.validators_from_height()}, {"pending", pv},
                  {"pending_from_height", m.pending_from_height()}});
      return 0;
    }
    out.Object({{"community", m.community()}, {"chain_id", m.chain_id()}, {"token_symbol", m.token_symbol()},
                {"token_decimals", m.token_decimals()}, {"genesis_time_ms", m.genesis_time_ms()},
                {"slot_seconds", m.slot_seconds()}, {"gate_closure_seconds", m.gate_closure_seconds()},
                {"horizon_slots", m.horizon_slots()}, {"settlement_delay_seconds", m.settlement_delay_seconds()},
                {"tolerance_permille", m.tolerance_permille()}, {"shortfall_penalty", m.shortfall_penalty()},
                {"mechanism", m.mechanism()}, {"initial_grant", m.initial_grant()},
                {"governance_threshold", m.governance_threshold()},
                {"validator_change_delay_blocks", m.validator_change_delay_blocks()},
                {"max_open_orders_per_member", m.max_open_orders_per_member()},
                {"max_orders_per_slot", m.max_orders_per_slot()}, {"supply_grants", m.supply_grants()},
                {"supply_deposits", m.supply_deposits()}, {"supply_withdrawals", m.supply_withdrawals()},
                {"validators", v}, {"current_slot", m.current_slot()}});
    return 0;
  }
  if (*members) {
    v1::ListMembersRequest req;
    req.set_after(member);
    req.set_limit(static_cast<std::uint32_t>(limit));
    v1::ListMembersResponse resp;
    grpc::ClientContext ctx;
    Node::Deadline(&ctx);
    if (grpc::Status s = node->ListMembers(&ctx, req, &resp); !s.ok()) return GrpcFail(s);
    std::vector<json> rows;
    for (const auto& m : resp.members()) rows.push_back(MemberJson(m));
    out.Rows({"id", "active", "admin", "available", "escrow", "open_orders", "key"}, rows);
    return 0;
  }
  if (*balance) {
    std::string who;
    if (grpc::Status s = node.MemberId(member, key_path, &who); !s.ok()) return GrpcFail(s);
    v1::GetMemberRequest req;
    req.set_id(who);
    v1::MemberInfo m;
    grpc::ClientContext ctx;
    Node::Deadline(&ctx);
    if (grpc::Status s = node->GetMember(&ctx, req, &m); !s.ok()) return GrpcFail(s);
    out.Object(MemberJson(m));
    return 0;
  }
  if (*book || *slotc) {
    std::uint64_t s_ = 0;
    if (int rc = resolve_slot(*book ? book : slotc, &s_); rc != 0) return rc;
    grpc::ClientContext ctx;
    Node::Deadline(&ctx);
    if (*slotc) {
      v1::GetSlotRequest req;
      req.set_slot(s_);
      v1::SlotInfo si;
      if (grpc::Status s = node->GetSlot(&ctx, req, &si); !s.ok()) return GrpcFail(s);
      out.Object({{"slot", si.slot()}, {"phase", si.phase()}, {"orders", si.orders()},
                  {"clearing_price", si.clearing_price()}, {"traded_wh", si.traded_wh()}, {"contracts", si.contracts()}});
      return 0;
    }
    v1::GetBookRequest req;
    req.set_slot(s_);
    v1::BookInfo b;
    if (grpc::Status s = node->GetBook(&ctx, req, &b); !s.ok()) return GrpcFail(s);
    std::vector<json> rows;
    for (const auto& l : b.buys()) rows.push_back({{"side", "buy"}, {"price", l.price()}, {"quantity_wh", l.quantity_wh()}, {"orders", l.orders()}});
    for (const auto& l : b.sells()) rows.push_back({{"side", "sell"}, {"price", l.price()}, {"quantity_wh", l.quantity_wh()}, {"orders", l.orders()}});
    if (!as_json) std::cout << "slot " << s_ << "\n";
    out.Rows({"side", "price", "quantity_wh", "orders"}, rows);
    return 0;
  }
  if (*meter) {
    v1::GetMeterRequest req;
    req.set_id(meter_id);
    v1::MeterInfo m;
    grpc::ClientContext ctx;
    Node::Deadline(&ctx);
    if (grpc::Status s = node->GetMeter(&ctx, req, &m); !s.ok()) return GrpcFail(s);
    out.Object({{"id", m.id()}, {"owner", m.owner()}, {"oracle", Hex(m.oracle())}, {"has_reading", m.has_reading()},
                {"last_sequence", m.last_sequence()}, {"last_slot", m.last_slot()},
                {"cum_export_wh", m.cum_export_wh()}, {"cum_import_wh", m.cum_import_wh()}});
    return 0;
  }
  if (*readings) {
    v1::ListReadingsRequest req;
    req.set_meter(meter_id);
    req.set_from_slot(from);
    req.set_limit(static_cast<std::uint32_t>(limit));
    v1::ListReadingsResponse resp;
    grpc::ClientContext ctx;
    Node::Deadline(&ctx);
    if (grpc::Status s = node->ListReadings(&ctx, req, &resp); !s.ok()) return GrpcFail(s);
    std::vector<json> rows;
    for (const auto& r : resp.readings()) rows.push_back(ReadingJson(r));
    out.Rows({"slot", "sequence", "export_wh", "import_wh", "cum_export_wh", "cum_import_wh", "height", "late"}, rows);
    return 0;
  }
  if (*block || *blocks) {
    std::uint64_t first = from, last = to_height;
    if (*block) {
      if (at == "latest") {
        v1::NodeStatus st;
        grpc::ClientContext ctx;
        Node::Deadline(&ctx);
        if (grpc::Status s = node->GetStatus(&ctx, v1::GetStatusRequest{}, &st); !s.ok()) return GrpcFail(s);
        first = last = st.height();
      } else {
        try {
          first = last = std::stoull(at);
        } catch (...) {
          return Fail("height must be a number or latest");
        }
      }
    } else if (blocks->count("--to") == 0) {
      v1::NodeStatus st;
      grpc::ClientContext ctx;
      Node::Deadline(&ctx);
      if (grpc::Status s = node->GetStatus(&ctx, v1::GetStatusRequest{}, &st); !s.ok()) return GrpcFail(s);
      last = st.height();
    }
    for (std::uint64_t h = first; h <= last; ++h) {
      v1::GetBlockRequest req;
      req.set_height(h);
      v1::BlockResponse resp;
      grpc::ClientContext ctx;
      Node::Deadline(&ctx);
      if (grpc::Status s = node->GetBlock(&ctx, req, &resp); !s.ok()) return GrpcFail(s);
      Block b;
      if (Status s = Block::Decode(resp.block().block(), &b); !s.ok()) return Fail("block " + std::to_string(h) + ": " + s.ToString());
      json txs = json::array();
      for (std::size_t i = 0; i < b.txs.size(); ++i) {
        const Transaction& tx = b.txs[i];
        json t = {{"id", ToHex(tx.id())}, {"signer", tx.body().signer.Hex()}, {"nonce", tx.body().nonce},
                  {"payload", PayloadJson(tx.body().payload)}};
        if (i < static_cast<std::size_t>(resp.outcomes_size())) t["result"] = resp.outcomes(static_cast<int>(i)).result();
        txs.push_back(t);
      }
      json j = {{"height", b.header.height}, {"hash", ToHex(b.Hash())}, {"prev_hash", ToHex(b.header.prev_hash)},
                {"time_ms", b.header.timestamp_ms}, {"proposer", b.header.proposer.Hex()},
                {"state_root", ToHex(b.header.state_root)}, {"tx_root", ToHex(b.header.tx_root)},
                {"results_root", ToHex(b.header.results_root)}, {"txs", txs}};
      if (b.certificate) {
        json signers = json::array();
        for (const auto& cs : b.certificate->signatures) signers.push_back(cs.validator.Hex());
        j["certificate"] = {{"view", b.certificate->view}, {"signers", signers}};
      }
      if (*blocks || as_json) {
        std::cout << j.dump() << "\n";
      } else {
        j.erase("txs");
        out.Object(j);
        std::vector<json> rows;
        for (const auto& t : txs) rows.push_back({{"id", t["id"]}, {"type", t["payload"]["type"]}, {"result", t.value("result", "")}});
        out.Rows({"id", "type", "result"}, rows);
      }
    }
    return 0;
  }
  if (*transfer) return node.SubmitAndReport(key_path, Payload{Transfer{to, amount}}, out);
  if (*order) {
    PlaceOrder o;
    o.side = side == "buy" ? Side::kBuy : Side::kSell;
    if (int rc = resolve_slot(order, &o.slot); rc != 0) return rc;
    o.quantity_wh = wh;
    o.price = price;
    if (!as_json) std::cout << side << " " << wh << " Wh at " << price << " for slot " << o.slot << "\n";
    return node.SubmitAndReport(key_path, Payload{o}, out);
  }
  if (*cancel) {
    auto idb = FixedFromHex<32>(hex);
    if (!idb) return Fail("an order id is 64 hex digits");
    return node.SubmitAndReport(key_path, Payload{CancelOrder{*idb}}, out);
  }
  if (*orders || *contracts || *settlements) {
    const bool by_slot = !*orders && (*contracts ? contracts : settlements)->count("--slot") != 0;
    std::string who;
    if (!by_slot) {
      if (grpc::Status s = node.MemberId(member, key_path, &who); !s.ok()) return GrpcFail(s);
    }
    grpc::ClientContext ctx;
    Node::Deadline(&ctx);
    std::vector<json> rows;
    if (*orders) {
      v1::ListOrdersRequest req;
      req.set_member(who);
      req.set_limit(static_cast<std::uint32_t>(limit));
      v1::ListOrdersResponse resp;
      if (grpc::Status s = node->ListOrders(&ctx, req, &resp); !s.ok()) return GrpcFail(s);
      for (const auto& o : resp.orders()) rows.push_back(OrderJson(o));
      out.Rows({"id", "side", "slot", "quantity_wh", "remaining_wh", "price", "status"}, rows);
    } else if (*contracts) {
      v1::ListContractsRequest req;
      if (by_slot) {
        req.set_slot(slot);
      } else {
        req.set_member(who);
      }
      req.set_limit(static_cast<std::uint32_t>(limit));
      v1::ListContractsResponse resp;
      if (grpc::Status s = node->ListContracts(&ctx, req, &resp); !s.ok()) return GrpcFail(s);
      for (const auto& c : resp.contracts()) rows.push_back(ContractJson(c));
      out.Rows({"id", "slot", "seller", "buyer", "quantity_wh", "price", "settled", "delivered_wh", "paid", "penalty"}, rows);
    } else {
      v1::ListSettlementsRequest req;
      if (by_slot) {
        req.set_slot(slot);
      } else {
        req.set_member(who);
      }
      req.set_limit(static_cast<std::uint32_t>(limit));
      v1::ListSettlementsResponse resp;
      if (grpc::Status s = node->ListSettlements(&ctx, req, &resp); !s.ok()) return GrpcFail(s);
      for (const auto& x : resp.settlements()) rows.push_back(SettlementJson(x));
      out.Rows({"slot", "member", "sold_wh", "exported_wh", "bought_wh", "imported_wh", "received", "paid",
                "refunded", "penalty_paid", "penalty_received"},
               rows);
    }
    return 0;
  }
  if (*reading) return node.SubmitAndReport(key_path, Payload{rd}, out);
  if (*live) return RunLive(node, live_o, out);
  if (*agent) return RunAgent(node, agent_o, out);
  if (*watchc) {
    std::string who;
    if (grpc::Status s = node.MemberId(member, key_path, &who); !s.ok()) return GrpcFail(s);
    return Watch(node, who, watchc->count("--from-height") != 0, from, out);
  }

  // Governance.
  Govern g;
  g.salt = salt != 0 ? salt : RandomSalt();
  PublicKey k;
  if (*reg) {
    if (!ParseKeyHex(hex, &k)) return Fail("--member-key must be a public key, 64 hex digits");
    g.action = RegisterMember{member, k};
  } else if (*suspend || *reactivate) {
    g.action = SetMemberStatus{member, static_cast<bool>(*reactivate)};
  } else if (*deposit) {
    g.action = Deposit{member, amount};
  } else if (*withdraw) {
    g.action = Withdraw{member, amount};
  } else if (*bind) {
    if (!ParseKeyHex(hex, &k)) return Fail("--oracle-key must be a public key, 64 hex digits");
    g.action = BindMeter{meter_id, member, k};
  } else if (*setv) {
    SetValidators sv;
    for (const std::string& h : validator_keys) {
      if (!ParseKeyHex(h, &k)) return Fail(h + " is not a public key (64 hex digits)");
      sv.validators.push_back(k);
    }
    std::sort(sv.validators.begin(), sv.validators.end());
    g.action = sv;
  } else {
    return Fail("no such command");
  }
  if (!as_json) std::cout << "proposal " << ToHex(ProposalId(g)) << " (salt " << g.salt << ")\n";
  return node.SubmitAndReport(key_path, Payload{g}, out);
}
