// A running node: the ledger store, the chain (ChainApp) and a PBFT replica, driven by one
// thread that owns them. Everything else (the gRPC and HTTP servers, the peer transport)
// talks to it through the thread-safe calls below, which queue work for that thread.
//
// The loop: take queued requests and peer messages, tick the replica with the wall clock
// every 10 ms, then handle each Ready in order: write the hard state (atomically, synced)
// before anything is sent, store the committed blocks, hand messages to the transport,
// answer clients, Advance.
//
// Opening a data directory: an empty one is initialised from the genesis; one that holds a
// ledger must hold this genesis (its block 0 hash), and Store::Open has already checked that
// its stored head and blocks agree. A node never runs on a state it cannot vouch for.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "chaincode/market.h"
#include "consensus/pbft.h"
#include "ledger/store.h"
#include "node/app.h"

namespace nanum::node {

// Wall-clock time in ms since the Unix epoch (block times, deadlines, metrics).
std::uint64_t WallMs();

// Where the replica's messages go. `to` empty: every validator of `validators` but this node.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual void Send(const std::optional<PublicKey>& to, const std::vector<PublicKey>& validators,
                    const std::string& bytes) = 0;
  virtual std::size_t Connected() const = 0;
};

struct NodeOptions {
  std::string data_dir;
  PrivateKey key;
  market::Genesis genesis;
  pbft::Config consensus;  // key is filled in from `key`
  StoreOptions store;
};

// What a client learns about its transaction.
struct TxOutcome {
  std::uint64_t height = 0;
  std::uint32_t index = 0;
  std::uint32_t code = 0;
};

struct NodeStatusInfo {
  std::string community, chain_id;
  Hash256 genesis_hash{};
  StoreHead head;
  std::uint64_t block_time_ms = 0;
  pbft::ReplicaStatus replica;
  std::size_t peers = 0;
};

// Counters for metrics, read from any thread.
struct NodeCounters {
  std::uint64_t txs_committed = 0;
  std::uint64_t blocks_committed = 0;
  std::uint64_t submits_accepted = 0;
  std::uint64_t submits_refused = 0;
  // Commit latency (accepted here -> committed here) histogram, buckets in ms.
  static constexpr std::uint64_t kBuckets[] = {5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};
  std::uint64_t latency_count[std::size(kBuckets) + 1] = {};
  std::uint64_t latency_sum_ms = 0;
  // Transactions committed in the last kRateWindowMs, for a transactions-per-second gauge.
  static constexpr std::uint64_t kRateWindowMs = 10'000;
  std::uint64_t txs_in_window = 0;
  // Wall time (ms) of the consensus loop's last turn; it turns at least every 10 ms.
  std::uint64_t loop_ms = 0;
  // ChainApp::signature_stats, as of the last Ready handled.
  std::uint64_t signature_checks = 0;
  std::uint64_t signature_check_cpu_ns = 0;
};

class Node {
 public:
  // Opens or initialises the data directory. Errors name what is wrong (the genesis does
  // not match, the store is inconsistent at height h, the hard state is damaged, …).
  static Status Open(NodeOptions options, std::unique_ptr<Node>* out);
  ~Node();  // stops the loop if running

  // Starts and stops the consensus thread. Stop waits for it; pending waiters, and
  // submissions the thread had not taken yet, get kUnavailable.
  void Start(Transport* transport);
  void Stop();

  // Thread-safe. `done` runs on the consensus thread once the transaction is accepted or
  // refused (wait == false), or committed, rejected or timed out (wait == true).
  using SubmitDone = std::function<void(const Status&, const Hash256& id, const std::optional<TxOutcome>&)>;
  void Submit(Transaction tx, bool wait, std::uint64_t timeout_ms, SubmitDone done);
  // As Submit for each of `txs`, in order, handed to the consensus thread at once. `done`
  // runs once per transaction, with its index in `txs`.
  using BatchDone =
      std::function<void(std::size_t i, const Status&, const Hash256& id, const std::optional<TxOutcome>&)>;
  void SubmitBatch(std::vector<Transaction> txs, bool wait, std::uint64_t timeout_ms, BatchDone done);
  // Messages from a peer (already authenticated by the transport). Dropped when the queue
  // holds kMaxQueued items already: peers resend what matters.
  void Deliver(std::string bytes);
  void Deliver(std::vector<std::string> messages);
  static constexpr std::size_t kMaxQueued = 100'000;

  NodeStatusInfo status() const;
  // Waits until a block above `height` is stored, the node stops, or `timeout_ms` passes;
  // returns the stored head's height then. For the API's subscriptions (any thread).
  std::uint64_t WaitForBlockAbove(std::uint64_t height, std::uint64_t timeout_ms) const;
  // The nonce the key's next transaction should carry: one above the highest of its last
  // committed nonce and the nonces of its requests this node accepted. A request that is
  // later refused leaves a gap, which the ledger allows (nonces need only increase).
  std::uint64_t NextNonce(const PublicKey& key) const;
  bool stopping() const;
  NodeCounters counters() const;
  const Store& store() const { return *store_; }
  const PublicKey& id() const { return options_.key.public_key(); }
  const std::string& chain_id() const { return options_.genesis.info.chain_id; }
  // The validators this node's replica is using now.
  std::vector<PublicKey> validators() const;

 private:
  explicit Node(NodeOptions options);
  void Loop();
  void HandleReady();
  void UpdateSnapshot();
  Status PersistHardState(const std::string& bytes);
  void HardStatePersisted();  // removes an earlier version's file, once
  bool legacy_hard_state_removed_ = false;  // consensus thread only

  struct Waiter {
    SubmitDone done;
    std::uint64_t deadline_ms = 0;
    std::uint64_t accepted_ms = 0;
    bool wait = false;
  };
  struct Item {
    std::optional<Transaction> tx;
    bool wait = false;
    std::uint64_t timeout_ms = 0;
    SubmitDone done;
    std::string message;
  };
  // Queues client submissions for the loop, or answers them kUnavailable once stopping.
  void Enqueue(std::vector<Item> items);
  static void RefuseStopping(Item* it);

  NodeOptions options_;
  Hash256 genesis_hash_{};
  std::unique_ptr<Store> store_;
  std::unique_ptr<ChainApp> app_;
  std::unique_ptr<pbft::Replica> replica_;
  Transport* transport_ = nullptr;

  mutable std::mutex mu_;  // guards the queue, stop_, and the snapshots below
  std::condition_variable cv_;
  mutable std::condition_variable committed_cv_;  // a block was stored, or stop_
  static constexpr std::size_t kMaxPendingNonces = 100'000;
  std::map<PublicKey, std::uint64_t> pending_nonce_;  // highest nonce accepted per signer
  std::deque<Item> queue_;
  bool stop_ = false;
  pbft::ReplicaStatus replica_status_;
  StoreHead head_;                  // the last stored block,
  std::uint64_t head_time_ms_ = 0;  // and its time
  std::vector<PublicKey> validators_;
  NodeCounters counters_;

  std::unordered_multimap<Hash256, Waiter, IdHash> waiters_;  // consensus thread only
  std::unordered_map<Hash256, std::uint64_t, IdHash> accepted_at_;  // for the latency histogram
  std::deque<std::pair<std::uint64_t, std::size_t>> recent_commits_;  // (ms, txs), consensus thread only
  std::thread thread_;
};

}  // namespace nanum::node
