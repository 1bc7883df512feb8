// The peer transport; see peer.h.
#include "node/peer.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>  // before asio (Boost 1.74 needs it)

#include <boost/asio.hpp>

#include "consensus/messages.h"
#include "ledger/config_file.h"
#include "ledger/encoding.h"
#include "ledger/log.h"

namespace nanum::node {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using ErrorCode = boost::system::error_code;

constexpr auto kHandshakeTime = std::chrono::milliseconds(5000);
constexpr std::uint64_t kMinBackoffMs = 100;
constexpr std::uint64_t kMaxBackoffMs = 2000;
// Keepalive probes find a peer whose machine vanished: 10 s idle, then 3 probes 5 s apart.
constexpr int kKeepIdleS = 10;
constexpr int kKeepIntervalS = 5;
constexpr int kKeepCount = 3;

constexpr std::uint8_t kChallenge = 1;
constexpr std::uint8_t kHello = 2;
constexpr std::uint8_t kMessages = 3;
constexpr std::uint8_t kRefusal = 4;

constexpr std::size_t kHeaderBytes = 5;  // u32 length (of kind + payload), u8 kind
constexpr std::size_t kMaxBatchBytes = 4 * 1024 * 1024;
constexpr std::size_t kMaxBatchMessages = 65536;
// Before the handshake a frame is a challenge, a hello or a refusal: small.
constexpr std::size_t kMaxHandshakeFrame = 1024;
constexpr std::size_t kMaxFrame = kMaxBatchBytes + pbft::kMaxMessageBytes + 4 * kMaxBatchMessages + 16;
constexpr std::size_t kMaxChainIdBytes = 256;
constexpr std::size_t kMaxRefusalBytes = 512;
constexpr std::size_t kReadChunk = 64 * 1024;

Hash256 NewNonce() {
  Hash256 n{};
  SecureRandom(n.data(), n.size());
  return n;
}

// What each side signs. `role` is "client" (the dialler) or "server"; `theirs` is the other
// side's challenge, `mine` this side's, so each signature answers a fresh challenge.
Hash256 HandshakeDigest(std::string_view role, const std::string& chain_id, const Hash256& genesis,
                        const Hash256& theirs, const PublicKey& server, const PublicKey& client,
                        const Hash256& mine) {
  Writer w;
  w.Bytes(role);
  w.Bytes(chain_id);
  w.Fixed(genesis);
  w.Bytes(std::string_view(reinterpret_cast<const char*>(theirs.data()), theirs.size()));
  w.Fixed(server.bytes());
  w.Fixed(client.bytes());
  w.Bytes(std::string_view(reinterpret_cast<const char*>(mine.data()), mine.size()));
  return TaggedHash("nanum/peer-handshake", w.data());
}

// A frame: the header, then the payload the Writer built after it.
class FrameWriter {
 public:
  explicit FrameWriter(std::uint8_t kind) {
    w_.U32(0);
    w_.U8(kind);
  }
  Writer* operator->() { return &w_; }
  std::string Done() {
    std::string f = w_.Release();
    const auto n = static_cast<std::uint32_t>(f.size() - 4);
    for (int i = 0; i < 4; ++i) f[static_cast<std::size_t>(i)] = static_cast<char>(n >> (24 - 8 * i));
    return f;
  }

 private:
  Writer w_;
};

std::string ChallengeFrame(const Hash256& nonce, const PublicKey& key) {
  FrameWriter f(kChallenge);
  f->Fixed(nonce);
  f->Fixed(key.bytes());
  return f.Done();
}

struct Hello {
  PublicKey key;
  Hash256 nonce{};
  Signature signature{};
  std::string chain_id;
  Hash256 genesis{};
};

std::string HelloFrame(const Hello& h) {
  FrameWriter f(kHello);
  f->Fixed(h.key.bytes());
  f->Fixed(h.nonce);
  f->Fixed(h.signature);
  f->Bytes(h.chain_id);
  f->Fixed(h.genesis);
  return f.Done();
}

Status DecodeHello(std::string_view payload, Hello* h) {
  Reader r(payload, "peer hello");
  h->key = PublicKey::FromBytesUnchecked(r.Fixed<32>());
  h->nonce = r.Fixed<32>();
  h->signature = r.Fixed<64>();
  h->chain_id = std::string(r.Bytes(kMaxChainIdBytes, "chain id"));
  h->genesis = r.Fixed<32>();
  return r.Finish();
}

std::string RefusalFrame(std::string_view why) {
  FrameWriter f(kRefusal);
  f->Bytes(why.substr(0, kMaxRefusalBytes));
  return f.Done();
}

// Checks a hello's chain and signature; `role` is the signer's role.
Status CheckHello(const Hello& h, std::string_view role, const std::string& chain_id, const Hash256& genesis,
                  const Hash256& my_nonce, const PublicKey& server, const PublicKey& client) {
  if (h.chain_id != chain_id || h.genesis != genesis) {
    return Status::WrongChain("the peer is on chain " + h.chain_id + ", not " + chain_id);
  }
  if (!Verify(role == "client" ? client : server,
              HandshakeDigest(role, chain_id, genesis, my_nonce, server, client, h.nonce), h.signature)) {
    return Status::BadSignature("the peer's handshake signature does not verify");
  }
  return Status::OK();
}

void SetSocketOptions(tcp::socket* s) {
  ErrorCode ignored;
  s->set_option(tcp::no_delay(true), ignored);
  s->set_option(asio::socket_base::keep_alive(true), ignored);
  const int fd = s->native_handle();
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &kKeepIdleS, sizeof kKeepIdleS);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &kKeepIntervalS, sizeof kKeepIntervalS);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &kKeepCount, sizeof kKeepCount);
}

std::string Remote(const tcp::socket& s) {
  ErrorCode ec;
  const tcp::endpoint ep = s.remote_endpoint(ec);
  if (ec) return "unknown";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace

class Dialler;

// One TCP connection, either direction. Everything but Enqueue runs on the I/O thread.
class Conn : public std::enable_shared_from_this<Conn> {
 public:
  Conn(PeerNet::Impl* net, tcp::socket socket, Dialler* dialler, const PeerEntry* dialled);

  // Starts the handshake; with a reason, refuses the peer at once instead.
  void Begin(const std::string& refuse = "");
  // Any thread. False if the link is not up.
  bool Enqueue(const std::string& bytes);
  // I/O thread. Ends the connection; `why` is logged (and told to the dialler).
  void Close(const std::string& why);

  bool outbound() const { return dialler_ != nullptr; }
  // Whether this is an up link to `key` (takes mu_).
  bool UpTo(const PublicKey& key) {
    std::lock_guard<std::mutex> l(mu_);
    return up_ && !closed_ && peer_ == key;
  }
  std::optional<PublicKey> UpPeer() {
    std::lock_guard<std::mutex> l(mu_);
    if (!up_ || closed_) return std::nullopt;
    return peer_;
  }

 private:
  enum class Stage { kAwaitChallenge, kAwaitHello, kUp };

  void Read();
  // Handles every whole frame in the buffer. False once the connection is closed.
  bool Parse();
  bool OnFrame(std::uint8_t kind, std::string_view payload);
  bool OnChallenge(std::string_view payload);
  bool OnHello(std::string_view payload);
  bool OnMessages(std::string_view payload);
  // Refuses the peer: sends the reason, then closes once it is written (or at the deadline).
  void Refuse(const std::string& why, const std::string& log_message);
  void QueueControl(std::string frame);
  void StartWrite();  // I/O thread; mu_ not held; writing_ set
  void MarkUp(const PublicKey& peer);

  PeerNet::Impl* net_;
  tcp::socket socket_;
  asio::steady_timer deadline_;
  Dialler* dialler_;   // null for inbound
  PeerEntry dialled_;  // outbound: whom we dialled
  std::string remote_;
  Stage stage_;
  Hash256 my_nonce_{};
  Hash256 their_nonce_{};
  bool refusing_ = false;

  // Reading (I/O thread only).
  std::vector<char> in_;
  std::size_t have_ = 0;

  // Writing: `out_` is in flight on the I/O thread; the queues are shared.
  std::string out_;
  bool close_after_write_ = false;
  std::mutex mu_;
  std::deque<std::string> control_;  // handshake frames, before any message
  std::deque<std::string> queue_;    // consensus messages, once up
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool up_ = false;
  bool closed_ = false;
  PublicKey peer_;
};

// Keeps one outbound link to a configured peer: resolves, connects, and redials with backoff.
class Dialler : public std::enable_shared_from_this<Dialler> {
 public:
  Dialler(PeerNet::Impl* net, PeerEntry peer);
  void Attempt();
  // The link this dialler made has ended.
  void Ended(bool was_up, const std::string& why);
  void Cancel();
  const PeerEntry& peer() const { return peer_; }

 private:
  void Retry(const std::string& why);

  PeerNet::Impl* net_;
  PeerEntry peer_;
  tcp::resolver resolver_;
  asio::steady_timer timer_;
  std::optional<tcp::socket> socket_;
  std::uint64_t backoff_ms_ = kMinBackoffMs;
  bool logged_down_ = false;
  bool connecting_ = false;
};

class PeerNet::Impl {
 public:
  PeerOptions options;
  PrivateKey key;
  std::string chain_id;
  Hash256 genesis{};
  Node* node = nullptr;
  Allowed allowed;

  asio::io_context io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;
  std::thread thread;
  int port = 0;
  std::vector<std::shared_ptr<Dialler>> diallers;

  bool closing = false;  // I/O thread: Stop has begun
  mutable std::mutex mu;  // guards links, inbound and stopping
  std::set<std::shared_ptr<Conn>> links;
  std::size_t inbound = 0;
  bool stopping = false;

  void Accept() {
    acceptor->async_accept([this](ErrorCode ec, tcp::socket socket) {
      if (closing || ec == asio::error::operation_aborted) return;
      if (!ec) {
        SetSocketOptions(&socket);
        auto conn = std::make_shared<Conn>(this, std::move(socket), nullptr, nullptr);
        bool full = false;
        {
          std::lock_guard<std::mutex> l(mu);
          full = inbound >= options.max_inbound;
          ++inbound;
          links.insert(conn);
        }
        conn->Begin(full ? "too many inbound peers" : "");
      }
      Accept();
    });
  }

  void Forget(const std::shared_ptr<Conn>& conn) {
    std::lock_guard<std::mutex> l(mu);
    links.erase(conn);
    if (!conn->outbound()) --inbound;
  }

  // I/O thread: ends everything, so that the thread's run() returns.
  void CloseAll() {
    closing = true;
    ErrorCode ignored;
    if (acceptor) acceptor->close(ignored);
    for (const auto& d : diallers) d->Cancel();
    std::vector<std::shared_ptr<Conn>> all;
    {
      std::lock_guard<std::mutex> l(mu);
      all.assign(links.begin(), links.end());
    }
    for (const auto& c : all) c->Close("the node is stopping");
    work.reset();
  }

  void Enqueue(const PublicKey& to, const std::string& bytes) {
    std::shared_ptr<Conn> best;
    {
      std::lock_guard<std::mutex> l(mu);
      for (const auto& c : links) {
        if (!c->UpTo(to)) continue;
        if (!best || (c->outbound() && !best->outbound())) best = c;
      }
    }
    if (best) best->Enqueue(bytes);  // not connected: PBFT resends
  }
};

// ---- Conn. ----

Conn::Conn(PeerNet::Impl* net, tcp::socket socket, Dialler* dialler, const PeerEntry* dialled)
    : net_(net),
      socket_(std::move(socket)),
      deadline_(net->io),
      dialler_(dialler),
      stage_(dialler != nullptr ? Stage::kAwaitChallenge : Stage::kAwaitHello) {
  if (dialled != nullptr) dialled_ = *dialled;
  remote_ = Remote(socket_);
}

void Conn::Begin(const std::string& refuse) {
  deadline_.expires_after(kHandshakeTime);
  deadline_.async_wait([self = shared_from_this()](ErrorCode ec) {
    if (ec) return;
    bool up = false;
    {
      std::lock_guard<std::mutex> l(self->mu_);
      up = self->up_;
    }
    if (!up) self->Close(self->refusing_ ? "refused" : "the handshake took more than 5 s");
  });
  if (!refuse.empty()) {
    Refuse(refuse, "refused a peer");
    return;
  }
  if (!outbound()) {
    my_nonce_ = NewNonce();
    QueueControl(ChallengeFrame(my_nonce_, net_->key.public_key()));
  }
  Read();
}

void Conn::Read() {
  if (in_.size() - have_ < kReadChunk) in_.resize(have_ + kReadChunk);
  socket_.async_read_some(asio::buffer(in_.data() + have_, in_.size() - have_),
                          [self = shared_from_this()](ErrorCode ec, std::size_t n) {
                            if (ec) {
                              if (ec != asio::error::operation_aborted) {
                                self->Close(ec == asio::error::eof ? "the peer closed the connection" : ec.message());
                              }
                              return;
                            }
                            self->have_ += n;
                            if (self->Parse()) self->Read();
                          });
}

bool Conn::Parse() {
  std::size_t pos = 0;
  bool open = true;
  while (open && have_ - pos >= kHeaderBytes) {
    const auto* p = reinterpret_cast<const unsigned char*>(in_.data() + pos);
    const std::size_t length = (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) | p[3];
    const std::size_t limit = stage_ == Stage::kUp ? kMaxFrame : kMaxHandshakeFrame;
    if (length < 1 || length > limit) {
      Close("a frame of " + std::to_string(length) + " bytes (at most " + std::to_string(limit) + " here)");
      return false;
    }
    if (have_ - pos < 4 + length) {
      if (in_.size() < 4 + length) {  // make room for the whole frame
        std::memmove(in_.data(), in_.data() + pos, have_ - pos);
        have_ -= pos;
        pos = 0;
        in_.resize(4 + length);
      }
      break;
    }
    open = OnFrame(p[4], std::string_view(in_.data() + pos + kHeaderBytes, length - 1));
    pos += 4 + length;
  }
  if (!open) return false;
  if (pos > 0) {
    std::memmove(in_.data(), in_.data() + pos, have_ - pos);
    have_ -= pos;
  }
  if (have_ == 0 && in_.size() > 4 * kReadChunk) {
    in_.resize(kReadChunk);
    in_.shrink_to_fit();
  }
  return true;
}

bool Conn::OnFrame(std::uint8_t kind, std::string_view payload) {
  if (refusing_) return true;  // waiting for the refusal to go out; ignore the rest
  if (kind == kRefusal) {
    Reader r(payload, "peer refusal");
    const std::string why(r.Bytes(kMaxRefusalBytes, "reason"));
    Close(r.Finish().ok() ? "refused by the peer: " + why : "refused by the peer");
    return false;
  }
  switch (stage_) {
    case Stage::kAwaitChallenge:
      if (kind == kChallenge) return OnChallenge(payload);
      break;
    case Stage::kAwaitHello:
      if (kind == kHello) return OnHello(payload);
      break;
    case Stage::kUp:
      if (kind == kMessages) return OnMessages(payload);
      break;
  }
  Close("unexpected frame kind " + std::to_string(kind) + " at this stage");
  return false;
}

// The dialler's side: the dialled node's challenge.
bool Conn::OnChallenge(std::string_view payload) {
  Reader r(payload, "peer challenge");
  their_nonce_ = r.Fixed<32>();
  const PublicKey key = PublicKey::FromBytesUnchecked(r.Fixed<32>());
  if (Status s = r.Finish(); !s.ok()) {
    Close(s.ToString());
    return false;
  }
  if (key != dialled_.key) {
    Close("the node at this address has key " + key.Hex() + ", not the configured one");
    return false;
  }
  my_nonce_ = NewNonce();
  Hello h;
  h.key = net_->key.public_key();
  h.nonce = my_nonce_;
  h.signature = net_->key.Sign(HandshakeDigest("client", net_->chain_id, net_->genesis, their_nonce_, dialled_.key,
                                               h.key, my_nonce_));
  h.chain_id = net_->chain_id;
  h.genesis = net_->genesis;
  QueueControl(HelloFrame(h));
  stage_ = Stage::kAwaitHello;
  return true;
}

bool Conn::OnHello(std::string_view payload) {
  Hello h;
  if (Status s = DecodeHello(payload, &h); !s.ok()) {
    if (outbound()) {
      Close(s.ToString());
      return false;
    }
    Refuse(s.ToString(), "refused a peer");
    return true;
  }
  if (outbound()) {
    // The dialled node's answer to our challenge.
    Status s = h.key == dialled_.key ? CheckHello(h, "server", net_->chain_id, net_->genesis, my_nonce_, dialled_.key,
                                                   net_->key.public_key())
                                     : Status::InvalidArgument("the peer's hello names another key");
    if (s.ok() && h.nonce != their_nonce_) s = Status::InvalidArgument("the peer's hello names another challenge");
    if (!s.ok()) {
      Close(s.ToString());
      return false;
    }
    MarkUp(dialled_.key);
    return true;
  }
  // The dialler's answer to our challenge.
  const PublicKey me = net_->key.public_key();
  if (Status s = CheckHello(h, "client", net_->chain_id, net_->genesis, my_nonce_, me, h.key); !s.ok()) {
    Refuse(s.ToString(), "refused a peer");
    return true;
  }
  if (h.key == me || !net_->allowed(h.key)) {
    Refuse("this node does not accept peer " + h.key.Hex(), "refused a peer that is not allowed");
    return true;
  }
  Hello mine;
  mine.key = me;
  mine.nonce = my_nonce_;
  mine.signature = net_->key.Sign(HandshakeDigest("server", net_->chain_id, net_->genesis, h.nonce, me, h.key, my_nonce_));
  mine.chain_id = net_->chain_id;
  mine.genesis = net_->genesis;
  QueueControl(HelloFrame(mine));
  MarkUp(h.key);
  return true;
}

void Conn::MarkUp(const PublicKey& peer) {
  stage_ = Stage::kUp;
  {
    std::lock_guard<std::mutex> l(mu_);
    peer_ = peer;
    up_ = true;
  }
  deadline_.cancel();
  Log(Level::kInfo, "peer connected",
      {{"peer", peer.Hex()}, {"direction", outbound() ? "outbound" : "inbound"}, {"peer_addr", remote_}});
}

bool Conn::OnMessages(std::string_view payload) {
  Reader r(payload, "peer messages");
  const std::uint32_t n = r.Count(kMaxBatchMessages, 4, "messages");
  std::vector<std::string> batch;
  batch.reserve(n);
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) batch.emplace_back(r.Bytes(pbft::kMaxMessageBytes, "message"));
  if (Status s = r.Finish(); !s.ok()) {
    Close(s.ToString());
    return false;
  }
  if (!batch.empty()) net_->node->Deliver(std::move(batch));
  return true;
}

void Conn::Refuse(const std::string& why, const std::string& log_message) {
  Log(Level::kWarn, log_message, {{"peer_addr", remote_}, {"error", why}});
  refusing_ = true;
  close_after_write_ = true;
  QueueControl(RefusalFrame(why));
}

void Conn::QueueControl(std::string frame) {
  bool start = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return;
    control_.push_back(std::move(frame));
    start = !writing_;
    writing_ = true;
  }
  if (start) StartWrite();
}

bool Conn::Enqueue(const std::string& bytes) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!up_ || closed_) return false;
    queue_.push_back(bytes);
    queued_bytes_ += bytes.size();
    while (queue_.size() > net_->options.queue_messages ||
           (queued_bytes_ > net_->options.queue_bytes && queue_.size() > 1)) {
      queued_bytes_ -= queue_.front().size();
      queue_.pop_front();
    }
    if (writing_) return true;
    writing_ = true;
  }
  asio::post(net_->io, [self = shared_from_this()] { self->StartWrite(); });
  return true;
}

// Writes the next control frame, or every queued message (up to kMaxBatchBytes) as one frame.
void Conn::StartWrite() {
  out_.clear();
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) {
      writing_ = false;
      return;
    }
    if (!control_.empty()) {
      out_ = std::move(control_.front());
      control_.pop_front();
    } else if (!queue_.empty() && !close_after_write_) {
      std::size_t bytes = 0;
      std::size_t n = 0;
      for (const std::string& m : queue_) {
        if (n > 0 && (bytes + m.size() > kMaxBatchBytes || n == kMaxBatchMessages)) break;
        bytes += m.size();
        ++n;
      }
      out_.reserve(kHeaderBytes + 4 + 4 * n + bytes);
      FrameWriter f(kMessages);
      f->U32(static_cast<std::uint32_t>(n));
      out_ = f.Done();  // the length is fixed below, once the messages are in
      for (std::size_t i = 0; i < n; ++i) {
        const std::string& m = queue_.front();
        const auto len = static_cast<std::uint32_t>(m.size());
        const char be[4] = {static_cast<char>(len >> 24), static_cast<char>(len >> 16), static_cast<char>(len >> 8),
                            static_cast<char>(len)};
        out_.append(be, 4);
        out_.append(m);
        queued_bytes_ -= m.size();
        queue_.pop_front();
      }
      const auto total = static_cast<std::uint32_t>(out_.size() - 4);
      for (int i = 0; i < 4; ++i) out_[static_cast<std::size_t>(i)] = static_cast<char>(total >> (24 - 8 * i));
    } else {
      writing_ = false;
      if (!close_after_write_) return;
    }
  }
  if (out_.empty()) {  // a refusal has gone out
    Close("refused");
    return;
  }
  asio::async_write(socket_, asio::buffer(out_), [self = shared_from_this()](ErrorCode ec, std::size_t) {
    if (ec) {
      if (ec != asio::error::operation_aborted) self->Close(ec.message());
      return;
    }
    self->StartWrite();
  });
}

void Conn::Close(const std::string& why) {
  bool was_up = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return;
    closed_ = true;
    was_up = up_;
    queue_.clear();
    control_.clear();
    queued_bytes_ = 0;
  }
  ErrorCode ignored;
  deadline_.cancel();
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  auto self = shared_from_this();
  net_->Forget(self);
  if (was_up) {
    Log(Level::kInfo, "peer disconnected",
        {{"peer", peer_.Hex()}, {"direction", outbound() ? "outbound" : "inbound"}, {"reason", why}});
  } else if (!outbound() && !refusing_ && why != "the node is stopping") {
    Log(Level::kInfo, "inbound peer connection ended before the handshake", {{"peer_addr", remote_}, {"reason", why}});
  }
  if (dialler_ != nullptr) dialler_->Ended(was_up, why);
}

// ---- Dialler. ----

Dialler::Dialler(PeerNet::Impl* net, PeerEntry peer)
    : net_(net), peer_(std::move(peer)), resolver_(net->io), timer_(net->io) {}

void Dialler::Attempt() {
  if (net_->closing) return;
  std::string host;
  unsigned short port = 0;
  if (Status s = config::SplitHostPort(peer_.address, "peer address", &host, &port); !s.ok()) {
    Retry(s.ToString());
    return;
  }
  connecting_ = true;
  // The connect gets the handshake's time too; a silent address must not hold the dialler.
  timer_.expires_after(kHandshakeTime);
  timer_.async_wait([self = shared_from_this()](ErrorCode ec) {
    if (ec || !self->connecting_) return;
    self->resolver_.cancel();
    if (self->socket_) {
      ErrorCode ignored;
      self->socket_->close(ignored);
    }
  });
  resolver_.async_resolve(host, std::to_string(port), [self = shared_from_this()](ErrorCode ec, tcp::resolver::results_type results) {
    if (self->net_->closing) return;
    if (ec) {
      self->connecting_ = false;
      self->timer_.cancel();
      self->Retry(ec == asio::error::operation_aborted ? "resolving took too long" : ec.message());
      return;
    }
    self->socket_.emplace(self->net_->io);
    asio::async_connect(*self->socket_, results, [self](ErrorCode ec2, const tcp::endpoint&) {
      if (self->net_->closing) return;
      self->connecting_ = false;
      self->timer_.cancel();
      if (ec2) {
        self->socket_.reset();
        self->Retry(ec2 == asio::error::operation_aborted ? "connecting took too long" : ec2.message());
        return;
      }
      SetSocketOptions(&*self->socket_);
      auto conn = std::make_shared<Conn>(self->net_, std::move(*self->socket_), self.get(), &self->peer_);
      self->socket_.reset();
      {
        std::lock_guard<std::mutex> l(self->net_->mu);
        self->net_->links.insert(conn);
      }
      conn->Begin();
    });
  });
}

void Dialler::Ended(bool was_up, const std::string& why) {
  if (net_->closing) return;
  if (was_up) {
    backoff_ms_ = kMinBackoffMs;
    logged_down_ = false;
  }
  Retry(was_up ? "" : why);
}

void Dialler::Retry(const std::string& why) {
  if (net_->closing) return;
  if (!why.empty() && !logged_down_) {
    Log(Level::kInfo, "cannot connect to peer; retrying",
        {{"peer", peer_.key.Hex()}, {"address", peer_.address}, {"error", why}});
    logged_down_ = true;
  }
  const std::uint64_t wait = backoff_ms_;
  backoff_ms_ = std::min(backoff_ms_ * 2, kMaxBackoffMs);
  timer_.expires_after(std::chrono::milliseconds(wait));
  timer_.async_wait([self = shared_from_this()](ErrorCode ec) {
    if (!ec) self->Attempt();
  });
}

void Dialler::Cancel() {
  ErrorCode ignored;
  timer_.cancel();
  resolver_.cancel();
  if (socket_) socket_->close(ignored);
}

// ---- PeerNet. ----

PeerNet::PeerNet(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PeerNet::~PeerNet() { Stop(); }

Status PeerNet::Start(PeerOptions options, const PrivateKey& key, const std::string& chain_id,
                      const Hash256& genesis_hash, Node* node, Allowed allowed, std::unique_ptr<PeerNet>* out) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->key = key;
  impl->chain_id = chain_id;
  impl->genesis = genesis_hash;
  impl->node = node;
  impl->allowed = std::move(allowed);
  if (!impl->options.listen.empty()) {
    const std::string& listen = impl->options.listen;
    std::string host;
    unsigned short port = 0;
    if (Status s = config::SplitHostPort(listen, "peer listen", &host, &port); !s.ok()) {
      return Status::Unavailable("cannot listen for peers on " + listen + ": " + s.message());
    }
    ErrorCode ec;
    tcp::resolver resolver(impl->io);
    const auto found = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
    if (ec || found.empty()) {
      return Status::Unavailable("cannot listen for peers on " + listen + ": " + (ec ? ec.message() : "no address"));
    }
    const tcp::endpoint ep = found.begin()->endpoint();
    impl->acceptor.emplace(impl->io);
    impl->acceptor->open(ep.protocol(), ec);
    if (!ec) impl->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) impl->acceptor->bind(ep, ec);
    if (!ec) impl->acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Status::Unavailable("cannot listen for peers on " + listen + ": " + ec.message());
    impl->port = impl->acceptor->local_endpoint().port();
  }
  Impl* p = impl.get();
  p->work.emplace(asio::make_work_guard(p->io));
  for (const PeerEntry& e : p->options.peers) {
    if (e.address.empty() || e.key == key.public_key()) continue;
    p->diallers.push_back(std::make_shared<Dialler>(p, e));
  }
  asio::post(p->io, [p] {
    if (p->acceptor) p->Accept();
    for (const auto& d : p->diallers) d->Attempt();
  });
  p->thread = std::thread([p] { p->io.run(); });
  out->reset(new PeerNet(std::move(impl)));
  return Status::OK();
}

void PeerNet::Stop() {
  if (!impl_) return;
  {
    std::lock_guard<std::mutex> l(impl_->mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  asio::post(impl_->io, [p = impl_.get()] { p->CloseAll(); });
  impl_->thread.join();
}

void PeerNet::Send(const std::optional<PublicKey>& to, const std::vector<PublicKey>& validators,
                   const std::string& bytes) {
  if (to) {
    impl_->Enqueue(*to, bytes);
    return;
  }
  for (const PublicKey& v : validators) {
    if (v != impl_->key.public_key()) impl_->Enqueue(v, bytes);
  }
}

std::size_t PeerNet::Connected() const {
  std::set<PublicKey> up;
  std::lock_guard<std::mutex> l(impl_->mu);
  for (const auto& c : impl_->links) {
    if (std::optional<PublicKey> k = c->UpPeer()) up.insert(*k);
  }
  return up.size();
}

int PeerNet::listen_port() const { return impl_->port; }

}  // namespace nanum::node
