// The Nanum gRPC service; see api.h.
#include "node/api.h"

#include <atomic>

#include "chaincode/market.h"
#include "chaincode/queries.h"
#include "ledger/file.h"
#include "node/events.h"
#include "proto/wire.h"

namespace nanum::node {
namespace {

using grpc::ServerContext;
namespace pb = nanum::v1;

using wire::Bytes;
using wire::HashFrom;
using wire::KeyFrom;

void FillOutcome(const TxOutcome& o, pb::TxOutcome* out) {
  out->set_height(o.height);
  out->set_index(o.index);
  out->set_result_code(o.code);
  out->set_result(market::ResultName(static_cast<market::Result>(o.code)));
}

// Submit is asynchronous (gRPC's callback API), so that clients waiting for their commits
// hold no server thread; the other calls are quick reads and run on gRPC's thread pool.
std::size_t Limit(std::uint32_t l) { return l == 0 || l > market::kMaxPage ? market::kMaxPage : l; }

Status FillBlock(const Store& store, std::uint64_t height, pb::BlockResponse* out) {
  std::string bytes;
  Status s = store.GetBlockBytes(height, &bytes);
  if (s.IsNotFound()) return Status::NotFound("no block at height " + std::to_string(height));
  NANUM_RETURN_IF_ERROR(s);
  std::vector<TxResult> results;
  NANUM_RETURN_IF_ERROR(store.GetResults(height, &results));
  out->mutable_block()->set_height(height);
  out->mutable_block()->set_block(std::move(bytes));
  for (std::size_t i = 0; i < results.size(); ++i) {
    FillOutcome(TxOutcome{height, static_cast<std::uint32_t>(i), results[i].code}, out->add_outcomes());
  }
  return Status::OK();
}

void FillMember(const market::Member& m, pb::MemberInfo* out) {
  out->set_id(m.id);
  out->set_key(Bytes(m.key));
  out->set_active(m.active);
  out->set_admin(m.admin);
  out->set_available(m.available);
  out->set_escrow(m.escrow);
  out->set_open_orders(m.open_orders);
}

void FillOrder(const market::Order& o, pb::OrderInfo* out) {
  static const char* kStatus[] = {"", "open", "filled", "cancelled", "expired"};
  out->set_id(Bytes(o.id));
  out->set_owner(o.owner);
  out->set_side(o.side == Side::kBuy ? "buy" : "sell");
  out->set_slot(o.slot);
  out->set_quantity_wh(o.quantity_wh);
  out->set_remaining_wh(o.remaining_wh);
  out->set_price(o.price);
  out->set_height(o.height);
  out->set_status(o.status <= 4 ? kStatus[o.status] : "unknown");
}

void FillContract(const market::Contract& c, pb::ContractInfo* o) {
  o->set_id(c.id);
  o->set_slot(c.slot);
  o->set_seller(c.seller);
  o->set_buyer(c.buyer);
  o->set_quantity_wh(c.quantity_wh);
  o->set_price(c.price);
  o->set_sell_order(Bytes(c.sell_order));
  o->set_buy_order(Bytes(c.buy_order));
  o->set_height(c.height);
  o->set_settled(c.settled);
  o->set_delivered_wh(c.delivered_wh);
  o->set_paid(c.paid);
  o->set_penalty(c.penalty);
}

void FillSettlement(const market::Settlement& x, pb::SettlementInfo* o) {
  o->set_slot(x.slot);
  o->set_member(x.member);
  o->set_sold_wh(x.sold_wh);
  o->set_exported_wh(x.exported_wh);
  o->set_delivered_sold_wh(x.delivered_sold_wh);
  o->set_bought_wh(x.bought_wh);
  o->set_imported_wh(x.imported_wh);
  o->set_delivered_bought_wh(x.delivered_bought_wh);
  o->set_export_measured(x.export_measured);
  o->set_import_measured(x.import_measured);
  o->set_received(x.received);
  o->set_paid(x.paid);
  o->set_refunded(x.refunded);
  o->set_penalty_paid(x.penalty_paid);
  o->set_penalty_received(x.penalty_received);
  o->set_height(x.height);
}

void FillLevel(const market::PriceLevel& l, pb::PriceLevel* out) {
  out->set_price(l.price);
  out->set_quantity_wh(l.quantity_wh);
  out->set_orders(l.orders);
}

class Api final
    : public pb::Nanum::WithCallbackMethod_SubmitBatch<pb::Nanum::WithCallbackMethod_Submit<pb::Nanum::Service>> {
 public:
  explicit Api(Node* node) : node_(node) {}

  // At most kMaxStreams subscriptions at once: each holds one of gRPC's server threads.
  static constexpr int kMaxStreams = 64;
  class Subscription {
   public:
    explicit Subscription(Api* api) : api_(api), admitted_(++api->streams_ <= kMaxStreams) {}
    ~Subscription() { --api_->streams_; }
    bool admitted() const { return admitted_; }

   private:
    Api* api_;
    bool admitted_;
  };
  static grpc::Status TooManyStreams() {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        "this node serves " + std::to_string(kMaxStreams) + " streams already; try later");
  }

  // Calls `send` for each height from `next` on: the stored blocks, then each new one as it
  // is stored, until the client cancels, the node stops or `send` fails.
  template <class Send>
  grpc::Status Follow(ServerContext* ctx, std::uint64_t next, Send send) {
    for (std::uint64_t head = node_->store().Head()->height;;) {
      for (; next <= head; ++next) {
        if (ctx->IsCancelled()) break;
        if (Status s = send(next); !s.ok()) return ToGrpc(s);
      }
      if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "the client cancelled");
      if (node_->stopping()) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the node is stopping");
      head = node_->WaitForBlockAbove(head, 1000);
    }
  }

  grpc::ServerUnaryReactor* Submit(grpc::CallbackServerContext* ctx, const pb::SubmitRequest* req,
                                   pb::SubmitResponse* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    Transaction tx;
    Status s = wire::FromEnvelope(req->tx(), &tx);
    if (!s.ok()) {
      reactor->Finish(ToGrpc(s.Prefixed("transaction")));
      return reactor;
    }
    resp->set_tx_id(Bytes(tx.id()));
    node_->Submit(std::move(tx), req->wait_for_commit(), req->timeout_ms(),
                  [reactor, resp](const Status& st, const Hash256&, const std::optional<TxOutcome>& outcome) {
                    if (!st.ok()) {
                      reactor->Finish(ToGrpc(st));
                      return;
                    }
                    if (outcome) {
                      resp->set_committed(true);
                      FillOutcome(*outcome, resp->mutable_outcome());
                    }
                    reactor->Finish(grpc::Status::OK);
                  });
    return reactor;
  }

  grpc::ServerUnaryReactor* SubmitBatch(grpc::CallbackServerContext* ctx, const pb::SubmitBatchRequest* req,
                                        pb::SubmitBatchResponse* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    const int n = req->txs_size();
    if (n == 0 || static_cast<std::size_t>(n) > kMaxSubmitBatch) {
      reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                   "a batch holds 1 to " + std::to_string(kMaxSubmitBatch) + " transactions, not " +
                                       std::to_string(n)));
      return reactor;
    }
    // Each result is filled in place; the reactor finishes when the last one is in. The
    // node answers on its consensus thread (or at once on this one when it is stopping).
    struct Batch {
      grpc::ServerUnaryReactor* reactor;
      pb::SubmitBatchResponse* resp;
      std::vector<int> slot;  // index in `resp` of each submitted transaction
      std::atomic<std::size_t> left;
    };
    auto batch = std::make_shared<Batch>();
    batch->reactor = reactor;
    batch->resp = resp;
    std::vector<Transaction> txs;
    txs.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      pb::SubmitResult* r = resp->add_results();
      Transaction tx;
      Status s = wire::FromEnvelope(req->txs(i), &tx);
      if (!s.ok()) {
        const grpc::Status g = ToGrpc(s.Prefixed("transaction " + std::to_string(i)));
        r->set_code(static_cast<std::uint32_t>(g.error_code()));
        r->set_error(g.error_message());
        continue;
      }
      r->set_tx_id(Bytes(tx.id()));
      batch->slot.push_back(i);
      txs.push_back(std::move(tx));
    }
    if (txs.empty()) {
      reactor->Finish(grpc::Status::OK);
      return reactor;
    }
    batch->left = txs.size();
    node_->SubmitBatch(std::move(txs), req->wait_for_commit(), req->timeout_ms(),
                       [batch](std::size_t i, const Status& st, const Hash256&, const std::optional<TxOutcome>& outcome) {
                         pb::SubmitResult* r = batch->resp->mutable_results(batch->slot[i]);
                         if (!st.ok()) {
                           const grpc::Status g = ToGrpc(st);
                           r->set_code(static_cast<std::uint32_t>(g.error_code()));
                           r->set_error(g.error_message());
                         } else if (outcome) {
                           r->set_committed(true);
                           FillOutcome(*outcome, r->mutable_outcome());
                         }
                         if (--batch->left == 0) batch->reactor->Finish(grpc::Status::OK);
                       });
    return reactor;
  }

  grpc::Status GetStatus(ServerContext*, const pb::GetStatusRequest*, pb::NodeStatus* out) override {
    const NodeStatusInfo s = node_->status();
    out->set_community(s.community);
    out->set_chain_id(s.chain_id);
    out->set_genesis_hash(Bytes(s.genesis_hash));
    out->set_height(s.head.height);
    out->set_block_hash(Bytes(s.head.hash));
    out->set_state_root(Bytes(s.head.state_root));
    out->set_block_time_ms(s.block_time_ms);
    out->set_node_key(Bytes(node_->id()));
    out->set_validator(s.replica.validator);
    out->set_primary(s.replica.primary);
    out->set_view(s.replica.view);
    out->set_epoch(s.replica.epoch);
    out->set_validators(static_cast<std::uint32_t>(s.replica.validators));
    out->set_mempool(s.replica.pending);
    out->set_peers_connected(static_cast<std::uint32_t>(s.peers));
    out->set_version(NANUM_VERSION);
    const NodeCounters c = node_->counters();
    out->set_signature_checks(c.signature_checks);
    out->set_signature_check_cpu_us(c.signature_check_cpu_ns / 1000);
    return grpc::Status::OK;
  }

  grpc::Status GetBlock(ServerContext*, const pb::GetBlockRequest* req, pb::BlockResponse* out) override {
    const Store& store = node_->store();
    std::uint64_t height = 0;
    if (req->latest()) {
      height = store.Head()->height;
    } else if (req->at_case() == pb::GetBlockRequest::kHeight) {
      height = req->height();
    } else if (req->at_case() == pb::GetBlockRequest::kHash) {
      Hash256 h{};
      if (!HashFrom(req->hash(), &h)) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "a block hash is 32 bytes");
      Status s = store.GetHeightByHash(h, &height);
      if (!s.ok()) return ToGrpc(s);
    } else {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "give a height, a hash, or latest");
    }
    return ToGrpc(FillBlock(store, height, out));
  }

  grpc::Status SubscribeBlocks(ServerContext* ctx, const pb::SubscribeBlocksRequest* req,
                               grpc::ServerWriter<pb::BlockResponse>* writer) override {
    Subscription sub(this);
    if (!sub.admitted()) return TooManyStreams();
    const Store& store = node_->store();
    std::uint64_t next = req->only_new() ? store.Head()->height + 1 : req->from_height();
    return Follow(ctx, next, [&](std::uint64_t h) -> Status {
      pb::BlockResponse b;
      NANUM_RETURN_IF_ERROR(FillBlock(store, h, &b));
      if (!writer->Write(b)) return Status::Unavailable("the client went away");
      return Status::OK();
    });
  }

  grpc::Status SubscribeEvents(ServerContext* ctx, const pb::SubscribeEventsRequest* req,
                               grpc::ServerWriter<pb::MemberEvent>* writer) override {
    Subscription sub(this);
    if (!sub.admitted()) return TooManyStreams();
    const Store& store = node_->store();
    market::Member m;
    if (Status s = market::GetMember(store, req->member(), &m); !s.ok()) return ToGrpc(s);
    std::uint64_t next = req->only_new() ? store.Head()->height + 1 : req->from_height();
    std::vector<MemberEvent> events;
    return Follow(ctx, next, [&](std::uint64_t h) -> Status {
      WriteSet writes;
      Block b;
      NANUM_RETURN_IF_ERROR(store.GetWrites(h, &writes));
      NANUM_RETURN_IF_ERROR(store.GetBlock(h, &b));
      NANUM_RETURN_IF_ERROR(MemberEvents(writes, h, req->member(), &events));
      for (const MemberEvent& e : events) {
        pb::MemberEvent out;
        out.set_height(h);
        out.set_time_ms(b.header.timestamp_ms);
        out.set_kind(e.kind);
        if (e.kind == "contract") {
          FillContract(e.contract, out.mutable_contract());
        } else if (e.kind == "settlement") {
          FillSettlement(e.settlement, out.mutable_settlement());
        } else {
          FillOrder(e.order, out.mutable_order());
        }
        if (!writer->Write(out)) return Status::Unavailable("the client went away");
      }
      return Status::OK();
    });
  }

  grpc::Status GetTransaction(ServerContext*, const pb::GetTransactionRequest* req, pb::TransactionResponse* out) override {
    Hash256 id{};
    if (!HashFrom(req->id(), &id)) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "a transaction id is 32 bytes");
    const Store& store = node_->store();
    TxLocation loc;
    Status s = store.GetTxLocation(id, &loc);
    if (!s.ok()) return ToGrpc(s.code() == Status::Code::kNotFound ? Status::NotFound("no committed transaction " + ToHex(id)) : s);
    Block b;
    std::vector<TxResult> results;
    s = store.GetBlock(loc.height, &b);
    if (s.ok()) s = store.GetResults(loc.height, &results);
    if (!s.ok()) return ToGrpc(s);
    const Transaction& tx = b.txs.at(loc.index);
    wire::ToEnvelope(tx, out->mutable_tx());
    FillOutcome(TxOutcome{loc.height, loc.index, results.at(loc.index).code}, out->mutable_outcome());
    return grpc::Status::OK;
  }

  grpc::Status GetMember(ServerContext*, const pb::GetMemberRequest* req, pb::MemberInfo* out) override {
    market::Member m;
    Status s;
    if (req->who_case() == pb::GetMemberRequest::kId) {
      s = market::GetMember(node_->store(), req->id(), &m);
    } else if (req->who_case() == pb::GetMemberRequest::kKey) {
      PublicKey k;
      if (!KeyFrom(req->key(), &k)) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "a key is 32 bytes of a valid public key");
      s = market::GetMemberByKey(node_->store(), k, &m);
    } else {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "give a member id or key");
    }
    if (!s.ok()) return ToGrpc(s.code() == Status::Code::kNotFound ? Status::NotFound("no such member") : s);
    FillMember(m, out);
    return grpc::Status::OK;
  }

  grpc::Status GetMarket(ServerContext*, const pb::GetMarketRequest*, pb::MarketInfo* out) override {
    const Store& st = node_->store();
    market::CommunityInfo info;
    market::Params p;
    market::Supply supply;
    market::ValidatorSet vs;
    Status s = market::GetInfo(st, &info);
    if (s.ok()) s = market::GetParams(st, &p);
    if (s.ok()) s = market::GetSupply(st, &supply);
    if (s.ok()) s = market::GetValidators(st, &vs);
    if (!s.ok()) return ToGrpc(s);
    out->set_community(info.name);
    out->set_chain_id(info.chain_id);
    out->set_token_symbol(info.token_symbol);
    out->set_token_decimals(info.token_decimals);
    out->set_genesis_time_ms(info.genesis_time_ms);
    out->set_slot_seconds(p.slot_seconds);
    out->set_gate_closure_seconds(p.gate_closure_seconds);
    out->set_horizon_slots(p.horizon_slots);
    out->set_settlement_delay_seconds(p.settlement_delay_seconds);
    out->set_tolerance_permille(p.tolerance_permille);
    out->set_shortfall_penalty(p.shortfall_penalty);
    out->set_mechanism(p.mechanism == static_cast<std::uint8_t>(market::Mechanism::kUniformPrice) ? "uniform_price"
                                                                                                  : "continuous");
    out->set_initial_grant(p.initial_grant);
    out->set_governance_threshold(p.governance_threshold);
    out->set_validator_change_delay_blocks(p.validator_change_delay_blocks);
    out->set_max_open_orders_per_member(p.max_open_orders_per_member);
    out->set_max_orders_per_slot(p.max_orders_per_slot);
    out->set_supply_grants(supply.grants);
    out->set_supply_deposits(supply.deposits);
    out->set_supply_withdrawals(supply.withdrawals);
    for (const PublicKey& k : vs.current) out->add_validators(Bytes(k));
    out->set_validators_from_height(vs.current_from_height);
    for (const PublicKey& k : vs.pending) out->add_pending_validators(Bytes(k));
    out->set_pending_from_height(vs.pending_from_height);
    out->set_current_slot(market::SlotAt(p, node_->status().block_time_ms));
    return grpc::Status::OK;
  }

  grpc::Status ListMembers(ServerContext*, const pb::ListMembersRequest* req, pb::ListMembersResponse* out) override {
    std::vector<market::Member> ms;
    Status s = market::ListMembers(node_->store(), req->after(), Limit(req->limit()), &ms);
    if (!s.ok()) return ToGrpc(s);
    for (const market::Member& m : ms) FillMember(m, out->add_members());
    return grpc::Status::OK;
  }

  grpc::Status GetOrder(ServerContext*, const pb::GetOrderRequest* req, pb::OrderInfo* out) override {
    Hash256 id{};
    if (!HashFrom(req->id(), &id)) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "an order id is 32 bytes");
    market::Order o;
    Status s = market::GetOrder(node_->store(), id, &o);
    if (!s.ok()) return ToGrpc(s.code() == Status::Code::kNotFound ? Status::NotFound("no order " + ToHex(id)) : s);
    FillOrder(o, out);
    return grpc::Status::OK;
  }

  grpc::Status ListOrders(ServerContext*, const pb::ListOrdersRequest* req, pb::ListOrdersResponse* out) override {
    std::vector<market::Order> os;
    Status s = market::MemberOrders(node_->store(), req->member(), Limit(req->limit()), &os);
    if (!s.ok()) return ToGrpc(s);
    for (const market::Order& o : os) FillOrder(o, out->add_orders());
    return grpc::Status::OK;
  }

  grpc::Status GetBook(ServerContext*, const pb::GetBookRequest* req, pb::BookInfo* out) override {
    std::vector<market::PriceLevel> buys, sells;
    Status s = market::BookLevels(node_->store(), req->slot(), &buys, &sells);
    if (!s.ok()) return ToGrpc(s);
    out->set_slot(req->slot());
    for (const auto& l : buys) FillLevel(l, out->add_buys());
    for (const auto& l : sells) FillLevel(l, out->add_sells());
    return grpc::Status::OK;
  }

  grpc::Status GetSlot(ServerContext*, const pb::GetSlotRequest* req, pb::SlotInfo* out) override {
    market::Slot sl;
    Status s = market::GetSlot(node_->store(), req->slot(), &sl);
    if (s.code() == Status::Code::kNotFound) {
      sl = market::Slot{};  // a slot nobody traded in yet: open and empty
      sl.slot = req->slot();
    } else if (!s.ok()) {
      return ToGrpc(s);
    }
    out->set_slot(sl.slot);
    static const char* kPhases[] = {"", "open", "closed", "settled"};
    out->set_phase(sl.phase <= 3 ? kPhases[sl.phase] : "unknown");
    out->set_orders(sl.orders);
    out->set_clearing_price(sl.clearing_price);
    out->set_traded_wh(sl.traded_wh);
    out->set_contracts(sl.contracts);
    return grpc::Status::OK;
  }

  grpc::Status ListContracts(ServerContext*, const pb::ListContractsRequest* req, pb::ListContractsResponse* out) override {
    std::vector<market::Contract> cs;
    Status s;
    if (req->by_case() == pb::ListContractsRequest::kMember) {
      s = market::ContractsByMember(node_->store(), req->member(), req->from(), Limit(req->limit()), &cs);
    } else if (req->by_case() == pb::ListContractsRequest::kSlot) {
      s = market::ContractsBySlot(node_->store(), req->slot(), Limit(req->limit()), &cs);
    } else {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "give a member or a slot");
    }
    if (!s.ok()) return ToGrpc(s);
    for (const market::Contract& c : cs) FillContract(c, out->add_contracts());
    return grpc::Status::OK;
  }

  grpc::Status ListSettlements(ServerContext*, const pb::ListSettlementsRequest* req,
                               pb::ListSettlementsResponse* out) override {
    std::vector<market::Settlement> ss;
    Status s;
    if (req->by_case() == pb::ListSettlementsRequest::kMember) {
      s = market::SettlementsByMember(node_->store(), req->member(), req->from(), Limit(req->limit()), &ss);
    } else if (req->by_case() == pb::ListSettlementsRequest::kSlot) {
      s = market::SettlementsBySlot(node_->store(), req->slot(), Limit(req->limit()), &ss);
    } else {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "give a member or a slot");
    }
    if (!s.ok()) return ToGrpc(s);
    for (const market::Settlement& x : ss) FillSettlement(x, out->add_settlements());
    return grpc::Status::OK;
  }

  grpc::Status GetMeter(ServerContext*, const pb::GetMeterRequest* req, pb::MeterInfo* out) override {
    market::Meter m;
    Status s = market::GetMeter(node_->store(), req->id(), &m);
    if (!s.ok()) return ToGrpc(s.code() == Status::Code::kNotFound ? Status::NotFound("no meter " + req->id()) : s);
    out->set_id(m.id);
    out->set_owner(m.owner);
    out->set_oracle(Bytes(m.oracle));
    out->set_last_sequence(m.last_sequence);
    out->set_last_slot(m.last_slot);
    out->set_cum_export_wh(m.cum_export_wh);
    out->set_cum_import_wh(m.cum_import_wh);
    out->set_has_reading(m.has_reading);
    return grpc::Status::OK;
  }

  grpc::Status ListReadings(ServerContext*, const pb::ListReadingsRequest* req, pb::ListReadingsResponse* out) override {
    std::vector<market::StoredReading> rs;
    Status s = market::ReadingsByMeter(node_->store(), req->meter(), req->from_slot(), Limit(req->limit()), &rs);
    if (!s.ok()) return ToGrpc(s);
    for (const market::StoredReading& r : rs) {
      pb::ReadingInfo* o = out->add_readings();
      o->set_meter(r.reading.meter_id);
      o->set_slot(r.reading.slot);
      o->set_sequence(r.reading.sequence);
      o->set_export_wh(r.reading.export_wh);
      o->set_import_wh(r.reading.import_wh);
      o->set_cum_export_wh(r.reading.cum_export_wh);
      o->set_cum_import_wh(r.reading.cum_import_wh);
      o->set_power_mw(r.reading.power_mw);
      o->set_voltage_mv(r.reading.voltage_mv);
      o->set_current_ma(r.reading.current_ma);
      o->set_power_factor_permille(r.reading.power_factor_permille);
      o->set_height(r.height);
      o->set_late(r.late);
    }
    return grpc::Status::OK;
  }

  grpc::Status GetNextNonce(ServerContext*, const pb::GetNextNonceRequest* req, pb::GetNextNonceResponse* out) override {
    PublicKey k;
    if (!KeyFrom(req->key(), &k)) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "a key is 32 bytes of a valid public key");
    out->set_next_nonce(node_->NextNonce(k));
    return grpc::Status::OK;
  }

 private:
  Node* node_;
  std::atomic<int> streams_{0};
};

}  // namespace

Status ApiCredentials(const ApiTls& tls, std::shared_ptr<grpc::ServerCredentials>* out) {
  if (!tls.enabled()) {
    *out = grpc::InsecureServerCredentials();
    return Status::OK();
  }
  auto read = [](const std::string& path, std::string* text) -> Status {
    NANUM_RETURN_IF_ERROR(ReadFile(path, "TLS file", text, 1 << 20));
    return text->empty() ? Status::IOError("TLS file " + path + " is empty") : Status::OK();
  };
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  NANUM_RETURN_IF_ERROR(read(tls.key_file, &pair.private_key));
  NANUM_RETURN_IF_ERROR(read(tls.cert_file, &pair.cert_chain));
  grpc::SslServerCredentialsOptions opt(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  if (!tls.client_ca_file.empty()) {
    NANUM_RETURN_IF_ERROR(read(tls.client_ca_file, &opt.pem_root_certs));
    opt.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  opt.pem_key_cert_pairs.push_back(std::move(pair));
  *out = grpc::SslServerCredentials(opt);
  return Status::OK();
}

grpc::Status ToGrpc(const Status& s) {
  using C = Status::Code;
  grpc::StatusCode c = grpc::StatusCode::UNKNOWN;
  switch (s.code()) {
    case C::kOk: return grpc::Status::OK;
    case C::kNotFound: c = grpc::StatusCode::NOT_FOUND; break;
    case C::kInvalidArgument:
    case C::kTruncated:
    case C::kTrailingData:
    case C::kBadSignature:
    case C::kWrongChain:
    case C::kUnsupported: c = grpc::StatusCode::INVALID_ARGUMENT; break;
    case C::kTooLarge: c = grpc::StatusCode::RESOURCE_EXHAUSTED; break;
    case C::kFailedPrecondition: c = grpc::StatusCode::FAILED_PRECONDITION; break;
    case C::kPermissionDenied: c = grpc::StatusCode::PERMISSION_DENIED; break;
    case C::kUnavailable: c = grpc::StatusCode::UNAVAILABLE; break;
    case C::kTimedOut: c = grpc::StatusCode::DEADLINE_EXCEEDED; break;
    case C::kAlreadyExists: c = grpc::StatusCode::ALREADY_EXISTS; break;
    case C::kCorruption:
    case C::kIOError: c = grpc::StatusCode::INTERNAL; break;
  }
  return grpc::Status(c, s.ToString());
}

std::unique_ptr<nanum::v1::Nanum::Service> NewApiService(Node* node) { return std::make_unique<Api>(node); }

}  // namespace nanum::node
