// The API's streams over a real gRPC server on loopback, in front of a one-validator node:
// blocks from a height on, and a member's events as her orders trade.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "chaincode/queries.h"
#include "node/api.h"
#include "node/node.h"
#include "proto/wire.h"
#include "tests/node/test_keys.h"

namespace nanum::node {
namespace {

namespace pb = nanum::v1;

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("nanum-api-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    NodeOptions o;
    o.data_dir = dir_.string();
    o.key = node_key_;
    o.genesis.info.name = "Test Community";
    o.genesis.info.chain_id = "test-1";
    o.genesis.info.genesis_time_ms = 1'700'000'000'000;
    o.genesis.validators = {node_key_.public_key()};
    o.genesis.members = {{"op", op_.public_key(), true}, {"a", a_.public_key(), false}};
    o.consensus.batch_delay_ms = 5;
    ASSERT_TRUE(Node::Open(o, &node_).ok());
    node_->Start(nullptr);
    service_ = NewApiService(node_.get());
    grpc::ServerBuilder b;
    int port = 0;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    b.RegisterService(service_.get());
    server_ = b.BuildAndStart();
    ASSERT_NE(port, 0);
    client_ = pb::Nanum::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    node_->Stop();
    std::filesystem::remove_all(dir_);
  }

  // Signs and submits an order, waiting for its commit.
  void Order(const PrivateKey& who, std::uint64_t nonce, Side side, std::uint64_t slot, std::uint64_t wh,
             std::uint64_t price) {
    TxBody body{"test-1", who.public_key(), nonce, Payload{PlaceOrder{side, slot, wh, price}}};
    pb::SubmitRequest req;
    wire::ToEnvelope(Transaction::Sign(body, who), req.mutable_tx());
    req.set_wait_for_commit(true);
    pb::SubmitResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(client_->Submit(&ctx, req, &resp).ok());
    ASSERT_TRUE(resp.committed());
    ASSERT_EQ(resp.outcome().result_code(), 0u) << resp.outcome().result();
  }

  std::filesystem::path dir_;
  PrivateKey node_key_ = KeyFrom(1), op_ = KeyFrom(2), a_ = KeyFrom(3);
  std::unique_ptr<Node> node_;
  std::unique_ptr<pb::Nanum::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<pb::Nanum::Stub> client_;
};

TEST_F(ApiTest, MemberEventsFollowHerOrdersAsTheyTrade) {
  // Subscribe first, from the next block: only what happens below may arrive.
  grpc::ClientContext ctx;
  pb::SubscribeEventsRequest req;
  req.set_member("a");
  req.set_only_new(true);
  auto stream = client_->SubscribeEvents(&ctx, req);
  std::promise<std::vector<pb::MemberEvent>> got;
  std::thread reader([&] {
    std::vector<pb::MemberEvent> events;
    pb::MemberEvent e;
    while (events.size() < 4 && stream->Read(&e)) events.push_back(e);
    got.set_value(events);
  });

  const std::uint64_t slot = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count()) /
      900'000 + 2;
  Order(a_, 1, Side::kSell, slot, 300, 5);   // a's order rests
  Order(op_, 1, Side::kBuy, slot, 100, 7);   // and trades 100 Wh at its price, 5
  Order(a_, 2, Side::kBuy, slot + 1, 50, 1);  // a's buy for the next slot rests

  auto fut = got.get_future();
  const bool ready = fut.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  ctx.TryCancel();
  reader.join();
  ASSERT_TRUE(ready);
  const std::vector<pb::MemberEvent> ev = fut.get();
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[0].kind(), "order_accepted");
  EXPECT_EQ(ev[0].order().remaining_wh(), 300u);
  EXPECT_EQ(ev[1].kind(), "order_filled");
  EXPECT_EQ(ev[1].order().remaining_wh(), 200u);
  EXPECT_EQ(ev[1].order().id(), ev[0].order().id());
  EXPECT_EQ(ev[2].kind(), "contract");
  EXPECT_EQ(ev[2].contract().seller(), "a");
  EXPECT_EQ(ev[2].contract().buyer(), "op");
  EXPECT_EQ(ev[2].contract().quantity_wh(), 100u);
  EXPECT_EQ(ev[2].contract().price(), 5u);
  EXPECT_EQ(ev[2].height(), ev[1].height());
  EXPECT_GT(ev[1].height(), ev[0].height());
  EXPECT_EQ(ev[3].kind(), "order_accepted");
  EXPECT_EQ(ev[3].order().side(), "buy");
  EXPECT_EQ(ev[3].order().slot(), slot + 1);
}

TEST_F(ApiTest, BlocksStreamFromAHeightThenAsTheyCommit) {
  const std::uint64_t slot = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count()) /
      900'000 + 2;
  Order(a_, 1, Side::kSell, slot, 300, 5);
  const std::uint64_t stored = node_->store().Head()->height;

  grpc::ClientContext ctx;
  pb::SubscribeBlocksRequest req;
  req.set_from_height(0);
  auto stream = client_->SubscribeBlocks(&ctx, req);
  pb::BlockResponse b;
  for (std::uint64_t h = 0; h <= stored; ++h) {
    ASSERT_TRUE(stream->Read(&b));
    EXPECT_EQ(b.block().height(), h);
  }
  // Later blocks arrive as they commit, in order, with their outcomes.
  std::thread later([&] { Order(a_, 2, Side::kSell, slot, 100, 6); });
  std::uint64_t h = stored;
  do {
    ASSERT_TRUE(stream->Read(&b));
    EXPECT_EQ(b.block().height(), ++h);
  } while (b.outcomes_size() == 0);  // empty blocks may come first
  EXPECT_EQ(b.outcomes_size(), 1);
  EXPECT_EQ(b.outcomes(0).result_code(), 0u);
  later.join();
  ctx.TryCancel();
  EXPECT_FALSE(stream->Read(&b));

  // An unknown member's events: NOT_FOUND at once.
  grpc::ClientContext ctx2;
  pb::SubscribeEventsRequest er;
  er.set_member("nobody");
  auto events = client_->SubscribeEvents(&ctx2, er);
  pb::MemberEvent e;
  EXPECT_FALSE(events->Read(&e));
  EXPECT_EQ(events->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ApiTest, NextNonceCountsRequestsAcceptedButNotYetCommitted) {
  auto next = [&] {
    pb::GetNextNonceRequest req;
    req.set_key(wire::Bytes(a_.public_key()));
    pb::GetNextNonceResponse resp;
    grpc::ClientContext ctx;
    EXPECT_TRUE(client_->GetNextNonce(&ctx, req, &resp).ok());
    return resp.next_nonce();
  };
  EXPECT_EQ(next(), 1u);
  // Three transfers in a row without waiting, each numbered from GetNextNonce.
  for (int i = 0; i < 3; ++i) {
    TxBody body{"test-1", a_.public_key(), next(), Payload{nanum::Transfer{"op", 1}}};
    pb::SubmitRequest req;
    wire::ToEnvelope(Transaction::Sign(body, a_), req.mutable_tx());
    pb::SubmitResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(client_->Submit(&ctx, req, &resp).ok());
  }
  EXPECT_EQ(next(), 4u);
  // All three commit (a block or two later), and the answer stays.
  for (int i = 0; i < 100 && market::LastNonce(node_->store(), a_.public_key()) < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(market::LastNonce(node_->store(), a_.public_key()), 3u);
  EXPECT_EQ(next(), 4u);
}

TEST_F(ApiTest, SubmitBatchAnswersEachTransactionOnItsOwn) {
  pb::SubmitBatchRequest req;
  req.set_wait_for_commit(true);
  wire::ToEnvelope(SignedTransfer("test-1", a_, 1, "op", 1), req.add_txs());
  req.add_txs()->set_body("not a transaction body");
  pb::Envelope forged;
  wire::ToEnvelope(SignedTransfer("test-1", a_, 2, "op", 1), &forged);
  std::string sig = forged.signature();
  sig[0] = static_cast<char>(sig[0] ^ 1);
  forged.set_signature(sig);
  *req.add_txs() = forged;
  *req.add_txs() = req.txs(0);  // the first one again
  wire::ToEnvelope(SignedTransfer("test-1", a_, 3, "op", 1), req.add_txs());
  pb::SubmitBatchResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(client_->SubmitBatch(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.results_size(), 5);

  const Transaction first = SignedTransfer("test-1", a_, 1, "op", 1);
  EXPECT_EQ(resp.results(0).tx_id(), wire::Bytes(first.id()));
  EXPECT_EQ(resp.results(0).code(), 0u) << resp.results(0).error();
  EXPECT_TRUE(resp.results(0).committed());
  EXPECT_EQ(resp.results(0).outcome().result_code(), 0u);

  EXPECT_EQ(resp.results(1).code(), static_cast<std::uint32_t>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_TRUE(resp.results(1).tx_id().empty());
  EXPECT_NE(resp.results(1).error().find("transaction 1"), std::string::npos) << resp.results(1).error();

  EXPECT_EQ(resp.results(2).code(), static_cast<std::uint32_t>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_FALSE(resp.results(2).committed());
  EXPECT_EQ(resp.results(3).code(), static_cast<std::uint32_t>(grpc::StatusCode::ALREADY_EXISTS)) << resp.results(3).error();
  EXPECT_FALSE(resp.results(3).committed());

  EXPECT_EQ(resp.results(4).code(), 0u) << resp.results(4).error();
  EXPECT_TRUE(resp.results(4).committed());
  // The refused ones changed nothing: a's last nonce is the last accepted transaction's.
  EXPECT_EQ(market::LastNonce(node_->store(), a_.public_key()), 3u);
}

TEST_F(ApiTest, SubmitBatchRefusesAnEmptyOrOversizedBatchAsAWhole) {
  auto call = [&](int n) {
    pb::SubmitBatchRequest req;
    const pb::Envelope one = [&] {
      pb::Envelope e;
      wire::ToEnvelope(SignedTransfer("test-1", a_, 1, "op", 1), &e);
      return e;
    }();
    for (int i = 0; i < n; ++i) *req.add_txs() = one;
    pb::SubmitBatchResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = client_->SubmitBatch(&ctx, req, &resp);
    EXPECT_EQ(resp.results_size(), 0);
    return st;
  };
  grpc::Status empty = call(0);
  EXPECT_EQ(empty.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  grpc::Status over = call(static_cast<int>(kMaxSubmitBatch) + 1);
  EXPECT_EQ(over.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(over.error_message().find("1001"), std::string::npos) << over.error_message();
  // Nothing from the refused calls reached the node.
  EXPECT_EQ(node_->counters().submits_accepted + node_->counters().submits_refused, 0u);
}

// TLS and mutual TLS (deploy/make-tls.sh makes the material, as an operator would).
class TlsTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    tls_ = dir_.string() + "-tls";
    other_ = dir_.string() + "-other";
    std::filesystem::remove_all(tls_);
    std::filesystem::remove_all(other_);
    const std::string script = std::string(NANUM_SOURCE_DIR) + "/deploy/make-tls.sh";
    ASSERT_EQ(std::system((script + " " + tls_ + " >/dev/null").c_str()), 0);
    ASSERT_EQ(std::system((script + " " + other_ + " >/dev/null").c_str()), 0);  // another CA
  }
  void TearDown() override {
    if (tls_server_) tls_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    std::filesystem::remove_all(tls_);
    std::filesystem::remove_all(other_);
    ApiTest::TearDown();
  }
  // Starts a second API server on the same node with `tls`; returns its address.
  std::string Serve(const ApiTls& tls) {
    std::shared_ptr<grpc::ServerCredentials> creds;
    Status s = ApiCredentials(tls, &creds);
    EXPECT_TRUE(s.ok()) << s.ToString();
    grpc::ServerBuilder b;
    int port = 0;
    b.AddListeningPort("127.0.0.1:0", creds, &port);
    tls_service_ = NewApiService(node_.get());
    b.RegisterService(tls_service_.get());
    tls_server_ = b.BuildAndStart();
    return "127.0.0.1:" + std::to_string(port);
  }
  static std::string Pem(const std::string& path) {
    std::ifstream f(path);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
  }
  // GetStatus over a channel with `creds`: the status code.
  static grpc::StatusCode Call(const std::string& addr, std::shared_ptr<grpc::ChannelCredentials> creds) {
    auto client = pb::Nanum::NewStub(grpc::CreateChannel(addr, creds));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
    pb::NodeStatus st;
    return client->GetStatus(&ctx, pb::GetStatusRequest{}, &st).error_code();
  }
  std::shared_ptr<grpc::ChannelCredentials> Tls(const std::string& ca_dir, const std::string& client_dir = "") {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = Pem(ca_dir + "/ca.crt");
    if (!client_dir.empty()) {
      o.pem_cert_chain = Pem(client_dir + "/client.crt");
      o.pem_private_key = Pem(client_dir + "/client.key");
    }
    return grpc::SslCredentials(o);
  }

  std::string tls_, other_;
  std::unique_ptr<pb::Nanum::Service> tls_service_;
  std::unique_ptr<grpc::Server> tls_server_;
};

TEST_F(TlsTest, TlsServesOnlyClientsThatTrustItsCa) {
  const std::string addr = Serve(ApiTls{tls_ + "/node.crt", tls_ + "/node.key", ""});
  EXPECT_EQ(Call(addr, Tls(tls_)), grpc::StatusCode::OK);
  EXPECT_EQ(Call(addr, Tls(tls_, tls_)), grpc::StatusCode::OK);  // a client certificate is not asked for
  EXPECT_EQ(Call(addr, grpc::InsecureChannelCredentials()), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Call(addr, Tls(other_)), grpc::StatusCode::UNAVAILABLE);  // another CA: the node is not trusted
}

TEST_F(TlsTest, MutualTlsServesOnlyClientsWithACertificateFromItsCa) {
  const std::string addr = Serve(ApiTls{tls_ + "/node.crt", tls_ + "/node.key", tls_ + "/ca.crt"});
  EXPECT_EQ(Call(addr, Tls(tls_, tls_)), grpc::StatusCode::OK);
  EXPECT_EQ(Call(addr, Tls(tls_)), grpc::StatusCode::UNAVAILABLE);           // no client certificate
  EXPECT_EQ(Call(addr, Tls(tls_, other_)), grpc::StatusCode::UNAVAILABLE);   // signed by another CA
  EXPECT_EQ(Call(addr, grpc::InsecureChannelCredentials()), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, MissingTlsFilesAreAClearError) {
  std::shared_ptr<grpc::ServerCredentials> creds;
  const Status s = ApiCredentials(ApiTls{tls_ + "/nope.crt", tls_ + "/node.key", ""}, &creds);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_NE(s.ToString().find("nope.crt"), std::string::npos);
}

}  // namespace
}  // namespace nanum::node
