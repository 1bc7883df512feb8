// The peer transport; see peer.h.
#include "node/peer.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "consensus/messages.h"
#include "ledger/encoding.h"
#include "nanum/v1/node.grpc.pb.h"
#include "ledger/log.h"
#include "proto/wire.h"

namespace nanum::node {
namespace {

namespace pb = nanum::v1;

constexpr std::uint64_t kHandshakeMs = 5000;
constexpr std::uint64_t kMinBackoffMs = 100;
constexpr std::uint64_t kMaxBackoffMs = 2000;
constexpr std::size_t kMaxBatchBytes = 4 * 1024 * 1024;
constexpr int kMaxFrameBytes = static_cast<int>(pbft::kMaxMessageBytes + 4096);

std::uint64_t NowMs() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

using wire::Bytes;

std::string NewNonce() {
  std::string n(32, '\0');
  SecureRandom(reinterpret_cast<std::uint8_t*>(n.data()), n.size());
  return n;
}

// What each side signs. `role` is "client" (the dialler) or "server"; `theirs` is the other
// side's challenge, `mine` this side's, so each signature answers a fresh challenge.
Hash256 HandshakeDigest(std::string_view role, const std::string& chain_id, const Hash256& genesis,
                        const std::string& theirs, const PublicKey& server, const PublicKey& client,
                        const std::string& mine) {
  Writer w;
  w.Bytes(role);
  w.Bytes(chain_id);
  w.Fixed(genesis);
  w.Bytes(theirs);
  w.Fixed(server.bytes());
  w.Fixed(client.bytes());
  w.Bytes(mine);
  return TaggedHash("nanum/peer-handshake", w.data());
}

pb::PeerFrame HelloFrame(const PrivateKey& key, const std::string& chain_id, const Hash256& genesis,
                         const std::string& nonce, const Signature& sig) {
  pb::PeerFrame f;
  pb::PeerHello* h = f.mutable_hello();
  h->set_key(Bytes(key.public_key()));
  h->set_nonce(nonce);
  h->set_signature(Bytes(sig));
  h->set_chain_id(chain_id);
  h->set_genesis_hash(Bytes(genesis));
  return f;
}

// Checks a hello's chain, key and signature; `role` is the signer's role.
Status CheckHello(const pb::PeerHello& h, std::string_view role, const std::string& chain_id, const Hash256& genesis,
                  const std::string& my_nonce, const PublicKey& server, const PublicKey& client) {
  if (h.chain_id() != chain_id || h.genesis_hash() != Bytes(genesis)) {
    return Status::WrongChain("the peer is on chain " + h.chain_id() + ", not " + chain_id);
  }
  if (h.nonce().size() != 32) return Status::InvalidArgument("the peer's challenge is not 32 bytes");
  if (h.signature().size() != 64) return Status::InvalidArgument("the peer's signature is not 64 bytes");
  Signature sig{};
  std::copy(h.signature().begin(), h.signature().end(), sig.begin());
  if (!Verify(role == "client" ? client : server,
              HandshakeDigest(role, chain_id, genesis, my_nonce, server, client, h.nonce()), sig)) {
    return Status::BadSignature("the peer's handshake signature does not verify");
  }
  return Status::OK();
}

}  // namespace

// One authenticated stream, either direction. The stream's reads run on one thread and its
// writes on another; the queue between Send and the writer is bounded.
struct Link {
  PublicKey peer;
  bool outbound = false;
  std::mutex mu;
  std::function<void()> cancel;  // cancels the stream's context; thread-safe; null once detached
  std::condition_variable cv;
  std::deque<std::string> queue;
  std::size_t queued_bytes = 0;
  bool closed = false;
  bool up = false;                      // handshake done
  std::uint64_t handshake_deadline = 0;  // steady ms, while !up

  // Cancels the stream's context, unless its owner has detached it (the context is gone).
  void Cancel() {
    std::lock_guard<std::mutex> l(mu);
    if (cancel) cancel();
  }
  void Detach() {
    std::lock_guard<std::mutex> l(mu);
    cancel = nullptr;
  }
  void Close() {
    {
      std::lock_guard<std::mutex> l(mu);
      closed = true;
    }
    cv.notify_all();
  }
};

class PeerNet::Impl final : public pb::Peer::Service {
 public:
  PeerOptions options;
  PrivateKey key;
  std::string chain_id;
  Hash256 genesis{};
  Node* node = nullptr;
  Allowed allowed;

  std::unique_ptr<grpc::Server> server;
  int port = 0;

  mutable std::mutex mu;  // guards links, stopping, and the dialler contexts
  std::condition_variable cv;
  bool stopping = false;
  std::set<std::shared_ptr<Link>> links;
  std::vector<std::thread> diallers;
  std::thread reaper;
  std::size_t inbound = 0;

  // ---- Sending. ----

  void Enqueue(const PublicKey& to, const std::string& bytes) {
    std::shared_ptr<Link> best;
    {
      std::lock_guard<std::mutex> l(mu);
      for (const auto& link : links) {
        std::lock_guard<std::mutex> ll(link->mu);
        if (link->peer != to || !link->up || link->closed) continue;
        if (!best || (link->outbound && !best->outbound)) best = link;
      }
    }
    if (!best) return;  // not connected: PBFT resends
    {
      std::lock_guard<std::mutex> l(best->mu);
      best->queue.push_back(bytes);
      best->queued_bytes += bytes.size();
      while (best->queue.size() > options.queue_messages ||
             (best->queued_bytes > options.queue_bytes && best->queue.size() > 1)) {
        best->queued_bytes -= best->queue.front().size();
        best->queue.pop_front();
      }
    }
    best->cv.notify_one();
  }

  // Writes queued messages until the link closes or a write fails: whatever has queued up
  // since the last write goes as one frame (up to kMaxBatchBytes), so a busy link costs one
  // write per batch rather than per message.
  template <typename Stream>
  void WriteLoop(Link* link, Stream* stream) {
    for (;;) {
      pb::PeerFrame f;
      {
        std::unique_lock<std::mutex> l(link->mu);
        link->cv.wait(l, [&] { return link->closed || !link->queue.empty(); });
        if (link->closed) return;
        std::size_t bytes = 0;
        if (link->queue.size() == 1) {
          bytes = link->queue.front().size();
          f.set_message(std::move(link->queue.front()));
          link->queue.pop_front();
        } else {
          pb::PeerBatch* b = f.mutable_batch();
          while (!link->queue.empty() && (b->messages_size() == 0 || bytes + link->queue.front().size() <= kMaxBatchBytes)) {
            bytes += link->queue.front().size();
            b->add_messages(std::move(link->queue.front()));
            link->queue.pop_front();
          }
        }
        link->queued_bytes -= bytes;
      }
      if (!stream->Write(f)) {
        link->Close();
        link->Cancel();
        return;
      }
    }
  }

  // Delivers messages until the stream ends or sends something else.
  template <typename Stream>
  void ReadLoop(Link* link, Stream* stream) {
    pb::PeerFrame f;
    while (stream->Read(&f)) {
      if (f.frame_case() == pb::PeerFrame::kMessage) {
        node->Deliver(std::move(*f.mutable_message()));
      } else if (f.frame_case() == pb::PeerFrame::kBatch) {
        std::vector<std::string> batch;
        batch.reserve(static_cast<std::size_t>(f.batch().messages_size()));
        for (std::string& m : *f.mutable_batch()->mutable_messages()) batch.push_back(std::move(m));
        node->Deliver(std::move(batch));
      } else {
        Log(Level::kWarn, "peer sent a handshake frame after the handshake; closing", {{"peer", link->peer.Hex()}});
        break;
      }
    }
    link->Close();
    link->Cancel();
  }

  bool Register(const std::shared_ptr<Link>& link) {
    std::lock_guard<std::mutex> l(mu);
    if (stopping) return false;
    links.insert(link);
    return true;
  }
  void Unregister(const std::shared_ptr<Link>& link) {
    std::lock_guard<std::mutex> l(mu);
    links.erase(link);
  }

  // ---- Inbound: the Peer service. ----

  grpc::Status Connect(grpc::ServerContext* ctx, grpc::ServerReaderWriter<pb::PeerFrame, pb::PeerFrame>* stream) override {
    auto link = std::make_shared<Link>();
    link->cancel = [ctx] { ctx->TryCancel(); };
    link->handshake_deadline = NowMs() + kHandshakeMs;
    {
      std::lock_guard<std::mutex> l(mu);
      if (stopping) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the node is stopping");
      if (inbound >= options.max_inbound) {
        return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many inbound peers");
      }
      ++inbound;
      links.insert(link);
    }
    grpc::Status result = Serve(ctx, stream, link);
    link->Close();
    link->Detach();
    Unregister(link);
    {
      std::lock_guard<std::mutex> l(mu);
      --inbound;
    }
    return result;
  }

  grpc::Status Serve(grpc::ServerContext* ctx, grpc::ServerReaderWriter<pb::PeerFrame, pb::PeerFrame>* stream,
                     const std::shared_ptr<Link>& link) {
    const std::string nonce = NewNonce();
    pb::PeerFrame f;
    f.mutable_challenge()->set_nonce(nonce);
    f.mutable_challenge()->set_key(Bytes(key.public_key()));
    if (!stream->Write(f)) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the peer went away");
    pb::PeerFrame in;
    if (!stream->Read(&in) || in.frame_case() != pb::PeerFrame::kHello) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "expected a hello");
    }
    PublicKey client;
    if (!wire::KeyFrom(in.hello().key(), &client)) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the peer's key is not a valid public key");
    }
    Status s = CheckHello(in.hello(), "client", chain_id, genesis, nonce, key.public_key(), client);
    if (!s.ok()) {
      Log(Level::kWarn, "refused a peer", {{"peer", client.Hex()}, {"peer_addr", ctx->peer()}, {"error", s.ToString()}});
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, s.ToString());
    }
    if (client == key.public_key() || !allowed(client)) {
      Log(Level::kWarn, "refused a peer that is not allowed", {{"peer", client.Hex()}, {"peer_addr", ctx->peer()}});
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "this node does not accept peer " + client.Hex());
    }
    const Signature sig = key.Sign(HandshakeDigest("server", chain_id, genesis, in.hello().nonce(), key.public_key(),
                                                   client, nonce));
    if (!stream->Write(HelloFrame(key, chain_id, genesis, nonce, sig))) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the peer went away");
    }
    {
      std::lock_guard<std::mutex> l(link->mu);
      link->peer = client;
      link->up = true;
    }
    Log(Level::kInfo, "peer connected", {{"peer", client.Hex()}, {"direction", "inbound"}});
    std::thread writer([&] { WriteLoop(link.get(), stream); });
    ReadLoop(link.get(), stream);
    writer.join();
    Log(Level::kInfo, "peer disconnected", {{"peer", client.Hex()}, {"direction", "inbound"}});
    return grpc::Status::OK;
  }

  // ---- Outbound: one dialler thread per peer with an address. ----

  void Dial(const PeerEntry& peer) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(kMaxFrameBytes);
    args.SetMaxSendMessageSize(kMaxFrameBytes);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, static_cast<int>(kMinBackoffMs));
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, static_cast<int>(kMinBackoffMs));
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(kMaxBackoffMs));
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10'000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5'000);
    auto channel = grpc::CreateCustomChannel(peer.address, grpc::InsecureChannelCredentials(), args);
    auto client = pb::Peer::NewStub(channel);
    std::uint64_t backoff = kMinBackoffMs;
    bool logged_down = false;
    for (;;) {
      {
        std::lock_guard<std::mutex> l(mu);
        if (stopping) return;
      }
      const bool was_up = DialOnce(peer, client.get(), &logged_down);
      backoff = was_up ? kMinBackoffMs : std::min(backoff * 2, kMaxBackoffMs);
      std::unique_lock<std::mutex> l(mu);
      cv.wait_for(l, std::chrono::milliseconds(backoff), [&] { return stopping; });
    }
  }

  // One connection attempt and, if the handshake succeeds, the link's life. Returns whether
  // the link came up.
  bool DialOnce(const PeerEntry& peer, pb::Peer::Stub* client, bool* logged_down) {
    grpc::ClientContext ctx;
    auto link = std::make_shared<Link>();
    link->outbound = true;
    link->peer = peer.key;
    link->cancel = [&ctx] { ctx.TryCancel(); };
    link->handshake_deadline = NowMs() + kHandshakeMs;
    if (!Register(link)) return false;
    std::unique_ptr<grpc::ClientReaderWriter<pb::PeerFrame, pb::PeerFrame>> stream = client->Connect(&ctx);
    const Status why = Handshake(peer, stream.get(), link.get());
    const bool up = why.ok();
    if (up) {
      *logged_down = false;
      Log(Level::kInfo, "peer connected", {{"peer", peer.key.Hex()}, {"direction", "outbound"}, {"address", peer.address}});
      std::thread reader([&] { ReadLoop(link.get(), stream.get()); });
      WriteLoop(link.get(), stream.get());
      ctx.TryCancel();
      reader.join();
      Log(Level::kInfo, "peer disconnected", {{"peer", peer.key.Hex()}, {"direction", "outbound"}});
    } else if (why.code() != Status::Code::kUnavailable) {
      ctx.TryCancel();  // our refusal: the peer may still be waiting for a hello
    }
    link->Close();
    link->Detach();
    Unregister(link);
    // Drain, so that Finish does not wait for unread messages.
    pb::PeerFrame ignored;
    while (stream->Read(&ignored)) {
    }
    const grpc::Status finish = stream->Finish();
    if (!up && !*logged_down) {
      const std::string error = why.code() == Status::Code::kUnavailable && !finish.error_message().empty()
                                    ? finish.error_message()
                                    : why.ToString();
      Log(Level::kInfo, "cannot connect to peer; retrying", {{"peer", peer.key.Hex()}, {"address", peer.address}, {"error", error}});
      *logged_down = true;
    }
    return up;
  }

  Status Handshake(const PeerEntry& peer, grpc::ClientReaderWriter<pb::PeerFrame, pb::PeerFrame>* stream, Link* link) {
    pb::PeerFrame in;
    if (!stream->Read(&in)) return Status::Unavailable("no answer");
    if (in.frame_case() != pb::PeerFrame::kChallenge || in.challenge().nonce().size() != 32) {
      return Status::InvalidArgument("expected a challenge");
    }
    if (in.challenge().key() != Bytes(peer.key)) {
      return Status::PermissionDenied("the node at this address has key " + ToHex(in.challenge().key()) +
                                      ", not the configured one");
    }
    const std::string theirs = in.challenge().nonce();
    const std::string mine = NewNonce();
    const Signature sig = key.Sign(HandshakeDigest("client", chain_id, genesis, theirs, peer.key, key.public_key(), mine));
    if (!stream->Write(HelloFrame(key, chain_id, genesis, mine, sig))) return Status::Unavailable("refused");
    if (!stream->Read(&in)) return Status::Unavailable("refused");
    if (in.frame_case() != pb::PeerFrame::kHello || in.hello().key() != Bytes(peer.key)) {
      return Status::InvalidArgument("expected the peer's hello");
    }
    NANUM_RETURN_IF_ERROR(CheckHello(in.hello(), "server", chain_id, genesis, mine, peer.key, key.public_key()));
    if (in.hello().nonce() != theirs) return Status::InvalidArgument("the peer's hello names another challenge");
    std::lock_guard<std::mutex> l(link->mu);
    link->up = true;
    return Status::OK();
  }

  // Cuts off handshakes that take too long (a sync stream read has no timeout of its own).
  void Reap() {
    std::unique_lock<std::mutex> l(mu);
    while (!stopping) {
      cv.wait_for(l, std::chrono::milliseconds(500), [&] { return stopping; });
      const std::uint64_t now = NowMs();
      for (const auto& link : links) {
        std::lock_guard<std::mutex> ll(link->mu);
        if (!link->up && !link->closed && link->handshake_deadline <= now && link->cancel) link->cancel();
      }
    }
  }
};

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
    grpc::ServerBuilder b;
    b.AddListeningPort(impl->options.listen, grpc::InsecureServerCredentials(), &impl->port);
    b.SetMaxReceiveMessageSize(kMaxFrameBytes);
    b.SetMaxSendMessageSize(kMaxFrameBytes);
    b.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5'000);
    b.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    b.RegisterService(impl.get());
    impl->server = b.BuildAndStart();
    if (!impl->server || impl->port == 0) {
      return Status::Unavailable("cannot listen for peers on " + impl->options.listen);
    }
  }
  Impl* p = impl.get();
  p->reaper = std::thread([p] { p->Reap(); });
  for (const PeerEntry& e : p->options.peers) {
    if (e.address.empty() || e.key == key.public_key()) continue;
    p->diallers.emplace_back([p, e] { p->Dial(e); });
  }
  out->reset(new PeerNet(std::move(impl)));
  return Status::OK();
}

void PeerNet::Stop() {
  if (!impl_) return;
  std::vector<std::shared_ptr<Link>> links;
  {
    std::lock_guard<std::mutex> l(impl_->mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
    links.assign(impl_->links.begin(), impl_->links.end());
  }
  impl_->cv.notify_all();
  for (const auto& link : links) {
    link->Close();
    link->Cancel();
  }
  if (impl_->server) impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  for (std::thread& t : impl_->diallers) t.join();
  impl_->reaper.join();
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
  for (const auto& link : impl_->links) {
    std::lock_guard<std::mutex> ll(link->mu);
    if (link->up && !link->closed) up.insert(link->peer);
  }
  return up.size();
}

int PeerNet::listen_port() const { return impl_->port; }

}  // namespace nanum::node
