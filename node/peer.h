// The peer transport: consensus messages between nodes over TCP (Boost.Asio, one I/O
// thread), each end authenticated by its node key.
//
// Links. A node dials every peer that has an address in its configuration and keeps one
// connection open to each, redialling with backoff (100 ms doubling to 2 s) when it drops; a
// connect gets 5 s. It also accepts connections from peers that dial it. Either kind of link
// carries messages both ways, so a follower behind a home router, which validators cannot
// dial, still receives the blocks and replies addressed to it on the link it opened. TCP
// keepalive (10 s idle, 3 probes 5 s apart) ends links to machines that vanished.
//
// Frames. Every frame is a u32 big-endian length (of what follows), a u8 kind and a payload
// in the canonical encoding (ledger/encoding.h):
//   1 challenge  nonce[32], key[32]
//   2 hello      key[32], nonce[32], signature[64], chain_id (bytes), genesis_hash[32]
//   3 messages   a list of bytes: consensus messages (consensus/messages.h encoding)
//   4 refusal    reason (bytes); the sender then closes
// Before the handshake a frame may be at most 1 KiB; after it, a batch of up to 4 MiB of
// messages (or one larger message, up to pbft::kMaxMessageBytes). Anything else (a frame too
// long, a kind out of turn, a payload that does not decode) closes the link.
//
// Authentication. The dialled node sends a challenge (a fresh nonce and its key); the dialler
// answers with a hello: its key, its own nonce and a signature over both nonces, both keys,
// the chain id and the genesis hash; the dialled node answers with its hello, likewise. A
// dialler refuses a node whose key is not the one it dialled; the dialled node refuses keys
// `allowed` rejects, other chains and bad signatures, with a refusal frame saying why, and
// cuts off a handshake not done within 5 s. Consensus messages are themselves signed, so
// the transport only decides who may talk, not what is believed. The links are not
// encrypted: what they carry is signed public ledger data.
//
// Sending never blocks the caller: each link has a bounded queue (oldest dropped when full;
// PBFT resends what matters), and its writer sends whatever has queued up since its last
// write as one frame. A message for a key goes on an outbound link to it if one is up, else
// on an inbound one. Received messages go to Node::Deliver on the I/O thread.
//
// Thread safety: Send and Connected may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/status.h"
#include "node/node.h"

namespace nanum::node {

struct PeerEntry {
  PublicKey key;
  std::string address;  // host:port to dial; empty: this peer dials us, we only accept it
};

struct PeerOptions {
  std::string listen;  // host:port for inbound links; empty: dial only
  std::vector<PeerEntry> peers;
  std::size_t max_inbound = 64;                 // more are refused ("too many inbound peers")
  std::size_t queue_messages = 4096;            // per link
  std::size_t queue_bytes = 64 * 1024 * 1024;   // per link
};

class PeerNet final : public Transport {
 public:
  // Whether a node with this (proven) key may open an inbound link.
  using Allowed = std::function<bool(const PublicKey&)>;

  // Listens (if options.listen is set) and starts dialling. Messages received go to
  // node->Deliver. Errors: kUnavailable if the listen address cannot be bound.
  static Status Start(PeerOptions options, const PrivateKey& key, const std::string& chain_id,
                      const Hash256& genesis_hash, Node* node, Allowed allowed, std::unique_ptr<PeerNet>* out);
  ~PeerNet() override;  // Stop()
  // Closes every link and waits for the transport's threads.
  void Stop();

  void Send(const std::optional<PublicKey>& to, const std::vector<PublicKey>& validators,
            const std::string& bytes) override;
  // Distinct peers with an authenticated link up.
  std::size_t Connected() const override;
  // The port actually bound (for listen addresses with port 0).
  int listen_port() const;

  class Impl;

 private:
  explicit PeerNet(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nanum::node
