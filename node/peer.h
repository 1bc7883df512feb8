// The peer transport: consensus messages between nodes over gRPC streams (service Peer in
// proto/nanum/v1/node.proto), each end authenticated by its node key.
//
// Links. A node dials every peer that has an address in its configuration and keeps one
// Connect stream open to each, redialling with backoff (100 ms doubling to 2 s) when it
// drops. It also accepts streams from peers that dial it. Either kind of link carries
// messages both ways, so a follower behind a home router, which validators cannot dial,
// still receives the blocks and replies addressed to it on the stream it opened.
//
// Authentication. The stream starts with a handshake in which the dialled node sends a
// fresh 32-byte challenge and its key, the dialler answers with its key, its own challenge
// and a signature over both challenges, both keys, the chain id and the genesis hash, and
// the dialled node answers likewise (see PeerHello). A dialler refuses a node whose key is
// not the one it dialled; the dialled node refuses keys `allowed` rejects, other chains,
// and bad signatures. A handshake not done within 5 s is cut off. Consensus messages are
// themselves signed, so the transport only decides who may talk, not what is believed.
//
// Sending never blocks the caller: each link has a bounded queue (oldest dropped when full;
// PBFT resends what matters). A message for a key goes on an outbound link to it if one is
// up, else on an inbound one.
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
  std::size_t max_inbound = 64;
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
