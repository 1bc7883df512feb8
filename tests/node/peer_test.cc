// Nodes talking over the real peer transport on loopback, in one process: four validators
// commit together and a follower catches up; the handshake refuses impostors and other
// chains. Also the HTTP endpoint and the configuration's peer tables.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <future>
#include <thread>

#include "node/config.h"
#include "node/http.h"
#include "node/node.h"
#include "tests/node/test_keys.h"
#include "node/peer.h"
#include "ledger/encoding.h"

namespace nanum::node {
namespace {

// A free loopback port (bound and released; good enough for a test on one machine).
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool WaitFor(const std::function<bool()>& cond, int ms = 15000) {
  for (int i = 0; i < ms / 20; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

struct Running {
  std::unique_ptr<Node> node;
  std::unique_ptr<PeerNet> net;
  void Stop() {
    if (node) node->Stop();
    if (net) net->Stop();
  }
};

class PeerTest : public ::testing::Test {
 protected:
  PeerTest() {
    dir_ = std::filesystem::temp_directory_path() / ("nanum-peer-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    for (std::uint8_t i = 0; i < 5; ++i) keys_.push_back(KeyFrom(static_cast<std::uint8_t>(10 + i)));
    genesis_.info.name = "Peer Test";
    genesis_.info.chain_id = "peer-1";
    genesis_.info.genesis_time_ms = 1'700'000'000'000;
    for (int i = 0; i < 4; ++i) genesis_.validators.push_back(keys_[static_cast<std::size_t>(i)].public_key());
    std::sort(genesis_.validators.begin(), genesis_.validators.end());
    genesis_.members = {{"op", op_.public_key(), true}, {"a", a_.public_key(), false}};
    for (int i = 0; i < 5; ++i) ports_.push_back(FreePort());
  }
  ~PeerTest() override {
    for (auto& r : nodes_) r.Stop();
    std::filesystem::remove_all(dir_);
  }

  // Node i (0-3 validators, 4 a follower that only dials) with every validator as a peer.
  Status StartNode(std::size_t i, const market::Genesis& genesis, PeerNet::Allowed allowed = nullptr) {
    NodeOptions o;
    o.data_dir = (dir_ / ("n" + std::to_string(i))).string();
    o.key = keys_[i];
    o.genesis = genesis;
    o.consensus.batch_delay_ms = 5;
    o.consensus.request_timeout_ms = 1000;
    o.consensus.resend_interval_ms = 100;
    Running r;
    NANUM_RETURN_IF_ERROR(Node::Open(o, &r.node));
    PeerOptions p;
    if (i < 4) p.listen = "127.0.0.1:" + std::to_string(ports_[i]);
    for (std::size_t j = 0; j < 4; ++j) p.peers.push_back({keys_[j].public_key(), "127.0.0.1:" + std::to_string(ports_[j])});
    p.peers.push_back({keys_[4].public_key(), ""});
    if (!allowed) allowed = [](const PublicKey&) { return true; };
    NANUM_RETURN_IF_ERROR(PeerNet::Start(p, keys_[i], genesis.info.chain_id, r.node->status().genesis_hash,
                                         r.node.get(), allowed, &r.net));
    r.node->Start(r.net.get());
    if (nodes_.size() <= i) nodes_.resize(i + 1);
    nodes_[i] = std::move(r);
    return Status::OK();
  }

  // Validator 0's node, opened but not started, for a test that sets up its links itself.
  void OpenNode0(Running* r) {
    NodeOptions o;
    o.data_dir = (dir_ / "n0").string();
    o.key = keys_[0];
    o.genesis = genesis_;
    ASSERT_TRUE(Node::Open(o, &r->node).ok());
  }

  Transaction Transfer(std::uint64_t nonce, std::uint64_t amount) {
    return SignedTransfer(genesis_.info.chain_id, a_, nonce, "op", amount);
  }

  std::pair<Status, std::optional<TxOutcome>> SubmitAndWait(Node* n, const Transaction& tx) {
    std::promise<std::pair<Status, std::optional<TxOutcome>>> p;
    n->Submit(tx, true, 10000, [&](const Status& s, const Hash256&, const std::optional<TxOutcome>& o) {
      p.set_value({s, o});
    });
    return p.get_future().get();
  }

  std::filesystem::path dir_;
  std::vector<PrivateKey> keys_;
  PrivateKey op_ = KeyFrom(2), a_ = KeyFrom(3);
  market::Genesis genesis_;
  std::vector<int> ports_;
  std::vector<Running> nodes_;
};

TEST_F(PeerTest, FourValidatorsCommitTogetherAndAFollowerCatchesUp) {
  for (std::size_t i = 0; i < 4; ++i) ASSERT_TRUE(StartNode(i, genesis_).ok());
  ASSERT_TRUE(WaitFor([&] {
    for (std::size_t i = 0; i < 4; ++i) {
      if (nodes_[i].net->Connected() < 3) return false;
    }
    return true;
  })) << "validators did not link up";
  // Submitted at a backup, committed by all four.
  for (std::uint64_t nonce = 1; nonce <= 3; ++nonce) {
    auto [s, outcome] = SubmitAndWait(nodes_[(nonce % 4)].node.get(), Transfer(nonce, 10));
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_TRUE(outcome.has_value());
    EXPECT_EQ(outcome->code, 0u);
  }
  ASSERT_TRUE(WaitFor([&] {
    for (std::size_t i = 0; i < 4; ++i) {
      if (nodes_[i].node->status().head.height != nodes_[0].node->status().head.height) return false;
    }
    return true;
  }));
  const StoreHead head = nodes_[0].node->status().head;
  EXPECT_GE(head.height, 1u);
  for (std::size_t i = 1; i < 4; ++i) {
    EXPECT_EQ(nodes_[i].node->status().head.hash, head.hash);
    EXPECT_EQ(nodes_[i].node->status().head.state_root, head.state_root);
  }
  // A follower that only dials out gets every block, over the links it opened.
  ASSERT_TRUE(StartNode(4, genesis_).ok());
  ASSERT_TRUE(WaitFor([&] { return nodes_[4].node->status().head.height == head.height; }))
      << "follower at " << nodes_[4].node->status().head.height << ", validators at " << head.height;
  EXPECT_EQ(nodes_[4].node->status().head.state_root, head.state_root);
  // And a request sent to the follower is forwarded and committed.
  auto [s, outcome] = SubmitAndWait(nodes_[4].node.get(), Transfer(4, 10));
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(outcome.has_value());
}

TEST_F(PeerTest, RefusesPeersThatAreNotAllowedAndOtherChains) {
  // Validator 0 allows nobody; the others link up among themselves only.
  ASSERT_TRUE(StartNode(0, genesis_, [](const PublicKey&) { return false; }).ok());
  for (std::size_t i = 1; i < 4; ++i) ASSERT_TRUE(StartNode(i, genesis_).ok());
  ASSERT_TRUE(WaitFor([&] { return nodes_[1].net->Connected() >= 3; }));  // 2, 3 and its own dial to 0
  // Validator 0's own dials succeed (the others allow it); nothing dials into it.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(nodes_[0].net->Connected(), 3u);
  // A node of another chain is refused by everyone.
  market::Genesis other = genesis_;
  other.info.chain_id = "other-1";
  ASSERT_TRUE(StartNode(4, other).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(nodes_[4].net->Connected(), 0u);
}

TEST_F(PeerTest, ADialledNodeWithAnotherKeyIsRefused) {
  ASSERT_TRUE(StartNode(1, genesis_).ok());
  // Node 0 is configured with node 1's address under node 2's key: an impostor from its view.
  Running r;
  OpenNode0(&r);
  PeerOptions p;
  p.peers.push_back({keys_[2].public_key(), "127.0.0.1:" + std::to_string(ports_[1])});
  ASSERT_TRUE(PeerNet::Start(p, keys_[0], genesis_.info.chain_id, r.node->status().genesis_hash, r.node.get(),
                             [](const PublicKey&) { return true; }, &r.net)
                  .ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_EQ(r.net->Connected(), 0u);
  r.Stop();
}

// A raw TCP client for the peer port, to send what a real node never would.
class RawPeer {
 public:
  explicit RawPeer(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{8, 0};  // past the node's 5 s handshake limit
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~RawPeer() { ::close(fd_); }
  bool connected() const { return connected_; }
  void Send(const std::string& bytes) { ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL); }
  // The next frame's kind and payload; false when the node closed the link (or 8 s passed).
  bool ReadFrame(std::uint8_t* kind, std::string* payload) {
    std::string head;
    if (!ReadExactly(5, &head)) return false;
    const auto* p = reinterpret_cast<const unsigned char*>(head.data());
    const std::size_t len = (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) | p[3];
    *kind = p[4];
    return ReadExactly(len - 1, payload);
  }
  // Whether the node closed the link (rather than the wait running out).
  bool ClosedByNode() {
    char c;
    return ::recv(fd_, &c, 1, 0) == 0;
  }

 private:
  bool ReadExactly(std::size_t n, std::string* out) {
    out->assign(n, '\0');
    std::size_t got = 0;
    while (got < n) {
      const ssize_t r = ::recv(fd_, out->data() + got, n - got, 0);
      if (r <= 0) return false;
      got += static_cast<std::size_t>(r);
    }
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
};

std::string Frame(std::uint8_t kind, const std::string& payload) {
  Writer w;
  w.U32(static_cast<std::uint32_t>(payload.size() + 1));
  w.U8(kind);
  w.Raw(payload);
  return w.Release();
}

TEST_F(PeerTest, TheWireRefusesWhatANodeWouldNotSend) {
  ASSERT_TRUE(StartNode(0, genesis_).ok());
  const int port = nodes_[0].net->listen_port();
  std::uint8_t kind = 0;
  std::string payload;
  {
    // A connection that says nothing gets the challenge (nonce, then the node's key), and is
    // cut off once the handshake's 5 s are up.
    RawPeer quiet(port);
    ASSERT_TRUE(quiet.connected());
    ASSERT_TRUE(quiet.ReadFrame(&kind, &payload));
    EXPECT_EQ(kind, 1);
    ASSERT_EQ(payload.size(), 64u);
    EXPECT_EQ(payload.substr(32), std::string(reinterpret_cast<const char*>(keys_[0].public_key().bytes().data()), 32));
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(quiet.ClosedByNode());
    const auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_GE(waited, std::chrono::milliseconds(4000));
    EXPECT_LT(waited, std::chrono::milliseconds(7500));
  }
  {
    // A length over the handshake's 1 KiB closes the link before anything is read into it.
    RawPeer big(port);
    ASSERT_TRUE(big.ReadFrame(&kind, &payload));
    big.Send(std::string("\x06\x00\x00\x00\x02", 5));  // 100 MB
    EXPECT_TRUE(big.ClosedByNode());
  }
  {
    // Messages before the handshake: a kind out of turn.
    RawPeer early(port);
    ASSERT_TRUE(early.ReadFrame(&kind, &payload));
    early.Send(Frame(3, std::string("\x00\x00\x00\x00", 4)));
    EXPECT_TRUE(early.ClosedByNode());
  }
  {
    // A hello whose signature does not answer the challenge: refused, with the reason.
    RawPeer forger(port);
    ASSERT_TRUE(forger.ReadFrame(&kind, &payload));
    Writer hello;
    hello.Fixed(keys_[1].public_key().bytes());
    hello.Fixed(Hash256{});
    hello.Fixed(Signature{});
    hello.Bytes(genesis_.info.chain_id);
    hello.Fixed(nodes_[0].node->status().genesis_hash);
    forger.Send(Frame(2, hello.Release()));
    ASSERT_TRUE(forger.ReadFrame(&kind, &payload));
    EXPECT_EQ(kind, 4);
    EXPECT_NE(payload.find("does not verify"), std::string::npos) << payload;
    EXPECT_TRUE(forger.ClosedByNode());
  }
  {
    // A hello that does not decode (cut short): refused.
    RawPeer garbled(port);
    ASSERT_TRUE(garbled.ReadFrame(&kind, &payload));
    garbled.Send(Frame(2, std::string(40, 'x')));
    ASSERT_TRUE(garbled.ReadFrame(&kind, &payload));
    EXPECT_EQ(kind, 4);
    EXPECT_TRUE(garbled.ClosedByNode());
  }
  EXPECT_EQ(nodes_[0].net->Connected(), 0u);
  // None of it harmed the node: the other validators link up with it.
  for (std::size_t i = 1; i < 4; ++i) ASSERT_TRUE(StartNode(i, genesis_).ok());
  ASSERT_TRUE(WaitFor([&] { return nodes_[0].net->Connected() == 3; }));
  auto [s, outcome] = SubmitAndWait(nodes_[0].node.get(), Transfer(1, 10));
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(outcome.has_value());
}

TEST_F(PeerTest, InboundLinksBeyondTheLimitAreRefused) {
  Running r;
  OpenNode0(&r);
  PeerOptions p;
  p.listen = "127.0.0.1:0";
  p.max_inbound = 1;
  ASSERT_TRUE(PeerNet::Start(p, keys_[0], genesis_.info.chain_id, r.node->status().genesis_hash, r.node.get(),
                             [](const PublicKey&) { return true; }, &r.net)
                  .ok());
  std::uint8_t kind = 0;
  std::string payload;
  RawPeer first(r.net->listen_port());
  ASSERT_TRUE(first.ReadFrame(&kind, &payload));
  EXPECT_EQ(kind, 1);
  RawPeer second(r.net->listen_port());
  ASSERT_TRUE(second.ReadFrame(&kind, &payload));
  EXPECT_EQ(kind, 4);
  EXPECT_NE(payload.find("too many inbound peers"), std::string::npos) << payload;
  EXPECT_TRUE(second.ClosedByNode());
  r.Stop();
}

std::string HttpGet(int port, const std::string& path, int* status) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return "";
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ::send(fd, req.data(), req.size(), 0);
  std::string resp;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) resp.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  *status = resp.size() > 12 ? std::stoi(resp.substr(9, 3)) : 0;
  const auto body = resp.find("\r\n\r\n");
  return body == std::string::npos ? "" : resp.substr(body + 4);
}

TEST_F(PeerTest, HttpServesHealthReadinessAndMetrics) {
  // One validator alone is ready without peers.
  market::Genesis g = genesis_;
  g.validators = {keys_[0].public_key()};
  NodeOptions o;
  o.data_dir = (dir_ / "solo").string();
  o.key = keys_[0];
  o.genesis = g;
  o.consensus.batch_delay_ms = 5;
  std::unique_ptr<Node> n;
  ASSERT_TRUE(Node::Open(o, &n).ok());
  n->Start(nullptr);
  std::unique_ptr<HttpServer> http;
  ASSERT_TRUE(HttpServer::Start("127.0.0.1:0", n.get(), &http).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  int status = 0;
  EXPECT_EQ(HttpGet(http->port(), "/health", &status), "ok\n");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(HttpGet(http->port(), "/ready", &status), "ready\n");
  EXPECT_EQ(status, 200);
  ASSERT_TRUE(SubmitAndWait(n.get(), Transfer(1, 5)).first.ok());
  const std::string m = HttpGet(http->port(), "/metrics", &status);
  EXPECT_EQ(status, 200);
  EXPECT_NE(m.find("\nnanum_height 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("\nnanum_transactions_committed_total 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("nanum_commit_latency_seconds_count 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("# TYPE nanum_commit_latency_seconds histogram"), std::string::npos);
  // Its signature was verified once (at admission; not again when its block was built).
  EXPECT_NE(m.find("\nnanum_signature_checks_total 1\n"), std::string::npos) << m;
  const auto cpu = m.find("\nnanum_signature_check_cpu_seconds_total 0.");
  ASSERT_NE(cpu, std::string::npos) << m;
  EXPECT_NE(m.substr(cpu + 43, 6), "000000") << m;  // a BIP-340 check takes tens of µs
  HttpGet(http->port(), "/nope", &status);
  EXPECT_EQ(status, 404);
  // Stalled loop: /health turns 503.
  n->Stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  HttpGet(http->port(), "/health", &status);
  EXPECT_EQ(status, 503);
  http->Stop();
}

// The gateway template (deploy/gateway/nanumd.toml), with its placeholders filled in as
// docs/OPERATING.md says, loads; left unfilled, it is refused naming the key.
TEST(ConfigTest, TheGatewayTemplateLoads) {
  std::ifstream in(std::string(NANUM_SOURCE_DIR) + "/deploy/gateway/nanumd.toml");
  std::stringstream text;
  text << in.rdbuf();
  std::string t = text.str();
  const auto dir = std::filesystem::temp_directory_path() / ("nanum-template-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "nanumd.toml").string();
  std::ofstream(path) << t;
  Config c;
  Status s = LoadConfig(path, &c);
  EXPECT_NE(s.ToString().find("peers.key"), std::string::npos) << s.ToString();

  const std::string key = KeyFrom(9).public_key().Hex();
  t.replace(t.find("<validator-0 public key, 64 hex digits>"), std::strlen("<validator-0 public key, 64 hex digits>"), key);
  t.replace(t.find("<host>"), std::strlen("<host>"), "10.0.0.11");
  std::ofstream(path, std::ios::trunc) << t;
  s = LoadConfig(path, &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.data_dir, "/var/lib/nanum");
  EXPECT_EQ(c.key_file, "/etc/nanum/node.key");
  EXPECT_EQ(c.api_listen, "127.0.0.1:7701");
  EXPECT_EQ(c.peer.listen, "");
  ASSERT_EQ(c.peer.peers.size(), 1u);
  EXPECT_EQ(c.peer.peers[0].address, "10.0.0.11:7702");
  std::filesystem::remove_all(dir);
}

TEST(ConfigTest, ReadsPeersAndRefusesBadKeys) {
  const auto dir = std::filesystem::temp_directory_path() / ("nanum-config-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "n.toml").string();
  const std::string key = KeyFrom(9).public_key().Hex();
  std::ofstream(path) << "[node]\ndata_dir = \"d\"\n[peer]\nlisten = \"127.0.0.1:7801\"\nmax_inbound = 8\n"
                      << "[http]\nlisten = \"127.0.0.1:7901\"\n"
                      << "[[peers]]\nkey = \"" << key << "\"\naddress = \"10.0.0.2:7801\"\n"
                      << "[[peers]]\nkey = \"" << key << "\"\n";
  Config c;
  ASSERT_TRUE(LoadConfig(path, &c).ok());
  EXPECT_EQ(c.data_dir, (dir / "d").string());
  EXPECT_EQ(c.peer.listen, "127.0.0.1:7801");
  EXPECT_EQ(c.peer.max_inbound, 8u);
  EXPECT_EQ(c.http_listen, "127.0.0.1:7901");
  ASSERT_EQ(c.peer.peers.size(), 2u);
  EXPECT_EQ(c.peer.peers[0].address, "10.0.0.2:7801");
  EXPECT_EQ(c.peer.peers[1].address, "");
  EXPECT_EQ(c.peer.peers[0].key.Hex(), key);

  std::ofstream(path) << "[[peers]]\nkey = \"abcd\"\n";
  Status s = LoadConfig(path, &c);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.ToString().find("peers.key"), std::string::npos) << s.ToString();
  std::ofstream(path) << "[[peers]]\nkey = \"" << key << "\"\nadress = \"x\"\n";
  s = LoadConfig(path, &c);
  EXPECT_NE(s.ToString().find("unknown key peers.adress"), std::string::npos) << s.ToString();

  // TLS files, relative to the file's directory; half a pair, or a client CA alone, refused.
  std::ofstream(path) << "[api]\ntls_cert_file = \"tls/node.crt\"\ntls_key_file = \"tls/node.key\"\n"
                      << "tls_client_ca_file = \"tls/ca.crt\"\n";
  ASSERT_TRUE(LoadConfig(path, &c).ok());
  EXPECT_EQ(c.api_tls.cert_file, (dir / "tls/node.crt").string());
  EXPECT_EQ(c.api_tls.client_ca_file, (dir / "tls/ca.crt").string());
  std::ofstream(path) << "[api]\ntls_cert_file = \"tls/node.crt\"\n";
  s = LoadConfig(path, &c);
  EXPECT_NE(s.ToString().find("go together"), std::string::npos) << s.ToString();
  std::ofstream(path) << "[api]\ntls_client_ca_file = \"tls/ca.crt\"\n";
  s = LoadConfig(path, &c);
  EXPECT_NE(s.ToString().find("needs tls_cert_file"), std::string::npos) << s.ToString();
  std::filesystem::remove_all(dir);
}

TEST(ConfigTest, StateCacheIs32MbUnlessSetAndBounded) {
  const auto dir = std::filesystem::temp_directory_path() / ("nanum-config-cache-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "n.toml").string();
  Config c;
  std::ofstream(path) << "[node]\ndata_dir = \"d\"\n";
  ASSERT_TRUE(LoadConfig(path, &c).ok());
  EXPECT_EQ(c.state_cache_mb, 32u);
  std::ofstream(path) << "[node]\nstate_cache_mb = 0\n";
  ASSERT_TRUE(LoadConfig(path, &c).ok());
  EXPECT_EQ(c.state_cache_mb, 0u);
  std::ofstream(path) << "[node]\nstate_cache_mb = 5000\n";
  Status s = LoadConfig(path, &c);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.ToString().find("state_cache_mb must be at most 4096"), std::string::npos) << s.ToString();
  std::filesystem::remove_all(dir);
}

TEST(ConfigTest, CompactionPriorityIsLowUnlessSet) {
  const auto dir = std::filesystem::temp_directory_path() / ("nanum-config-prio-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "n.toml").string();
  Config c;
  std::ofstream(path) << "[node]\ndata_dir = \"d\"\n";
  ASSERT_TRUE(LoadConfig(path, &c).ok());
  EXPECT_EQ(c.compaction_priority, CompactionPriority::kLow);
  std::ofstream(path) << "[node]\ncompaction_priority = \"idle\"\n";
  ASSERT_TRUE(LoadConfig(path, &c).ok());
  EXPECT_EQ(c.compaction_priority, CompactionPriority::kIdle);
  std::ofstream(path) << "[node]\ncompaction_priority = \"normal\"\n";
  ASSERT_TRUE(LoadConfig(path, &c).ok());
  EXPECT_EQ(c.compaction_priority, CompactionPriority::kNormal);
  std::ofstream(path) << "[node]\ncompaction_priority = \"highest\"\n";
  Status s = LoadConfig(path, &c);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.ToString().find("must be low, idle or normal"), std::string::npos) << s.ToString();
  EXPECT_EQ(c.compaction_priority, CompactionPriority::kNormal) << "a refused file changes nothing";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace nanum::node
