// The Nanum gRPC service; see api.h.
#include "node/api.h"


#include "chaincode/market.h"
#include "chaincode/queries.h"
#include "ledger/encoding.h"

namespace nanum::node {
namespace {

using grpc::ServerContext;
namespace pb = nanum::v1;

std::string Bytes(const Hash256& h) { return std::string(reinterpret_cast<const char*>(h.data()), h.size()); }
std::string Bytes(const PublicKey& k) { return std::string(reinterpret_cast<const char*>(k.bytes().data()), 32); }

bool KeyFrom(const std::string& b, PublicKey* out) {
  if (b.size() != 32) return false;
  std::array<std::uint8_t, 32> a{};
  std::copy(b.begin(), b.end(), a.begin());
  return PublicKey::Parse(a, out).ok();
}

bool HashFrom(const std::string& b, Hash256* out) {
  if (b.size() != 32) return false;
  std::copy(b.begin(), b.end(), out->begin());
  return true;
}

void FillOutcome(const TxOutcome& o, pb::TxOutcome* out) {
  out->set_height(o.height);
  out->set_index(o.index);
  out->set_result_code(o.code);
  out->set_result(market::ResultName(static_cast<market::Result>(o.code)));
}

// Submit is asynchronous (gRPC's callback API), so that clients waiting for their commits
// hold no server thread; the other calls are quick reads and run on gRPC's thread pool.
class Api final : public pb::Nanum::WithCallbackMethod_Submit<pb::Nanum::Service> {
 public:
  explicit Api(Node* node) : node_(node) {}

  grpc::ServerUnaryReactor* Submit(grpc::CallbackServerContext* ctx, const pb::SubmitRequest* req,
                                   pb::SubmitResponse* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    if (req->tx().signature().size() != 64) {
      reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the signature must be 64 bytes"));
      return reactor;
    }
    Writer envelope;
    envelope.Bytes(req->tx().body());
    envelope.Raw(req->tx().signature());
    Transaction tx;
    Status s = Transaction::Decode(envelope.data(), &tx);
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
    std::string bytes;
    Status s = store.GetBlockBytes(height, &bytes);
    if (!s.ok()) return ToGrpc(s.code() == Status::Code::kNotFound ? Status::NotFound("no block at height " + std::to_string(height)) : s);
    std::vector<TxResult> results;
    s = store.GetResults(height, &results);
    if (!s.ok()) return ToGrpc(s);
    out->mutable_block()->set_height(height);
    out->mutable_block()->set_block(std::move(bytes));
    for (std::size_t i = 0; i < results.size(); ++i) {
      FillOutcome(TxOutcome{height, static_cast<std::uint32_t>(i), results[i].code}, out->add_outcomes());
    }
    return grpc::Status::OK;
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
    out->mutable_tx()->set_body(tx.body_bytes());
    out->mutable_tx()->set_signature(std::string(reinterpret_cast<const char*>(tx.signature().data()), 64));
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
    out->set_id(m.id);
    out->set_key(Bytes(m.key));
    out->set_active(m.active);
    out->set_admin(m.admin);
    out->set_available(m.available);
    out->set_escrow(m.escrow);
    out->set_open_orders(m.open_orders);
    return grpc::Status::OK;
  }

  grpc::Status GetNextNonce(ServerContext*, const pb::GetNextNonceRequest* req, pb::GetNextNonceResponse* out) override {
    PublicKey k;
    if (!KeyFrom(req->key(), &k)) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "a key is 32 bytes of a valid public key");
    // Unfinished: the nonces of this key's requests still pending are not counted yet, so a
    // client submitting several at once numbers them itself from this value.
    out->set_next_nonce(market::LastNonce(node_->store(), k) + 1);
    return grpc::Status::OK;
  }

 private:
  Node* node_;
};

}  // namespace

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
    case C::kCorruption:
    case C::kIOError: c = grpc::StatusCode::INTERNAL; break;
  }
  return grpc::Status(c, s.ToString());
}

std::unique_ptr<nanum::v1::Nanum::Service> NewApiService(Node* node) { return std::make_unique<Api>(node); }

}  // namespace nanum::node
