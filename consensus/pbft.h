// PBFT (Castro and Liskov, OSDI '99 and TOCS '02) as a pure state machine, in the shape of
// etcd's raft: the caller feeds in messages (Step), client requests (Submit) and time (Tick),
// then takes what to persist, send and apply (GetReady), does it, and calls Advance. The
// replica touches no socket, thread, disk or clock; its only outside calls are to the
// Application below, which must be deterministic.
//
// The protocol. Validators (n = 3f+1, sorted by key; "2f+1" below is a quorum, see Validator
// sets for other n) take turns as primary: the primary of view v is validators[v mod n]. The
// primary cuts blocks from pending requests (at max_batch_txs, or when the oldest has waited
// batch_delay_ms), executes each on top of the previous one (Application::Build) and sends
// PRE-PREPARE. A backup checks the block (Application::Check re-executes it and compares its
// roots) and its time, then sends PREPARE. With the pre-prepare and 2f matching prepares a
// replica has *prepared* the block; it sends COMMIT for a height only once every height from
// its last committed block up to it is prepared, so commit votes go out in height order. 2f+1
// matching commits commit the block; their signatures are its commit certificate
// (ledger/block.h), which anyone can check offline. Up to max_in_flight heights may be between
// pre-prepare and commit at once, within the watermarks (stable checkpoint, stable checkpoint +
// watermark_window].
//
// Checkpoints: after applying a block whose height is a multiple of checkpoint_interval a
// validator signs CHECKPOINT(height, hash). 2f+1 matching ones make it stable: the low
// watermark moves up and the log below it is discarded.
//
// View change: a backup whose oldest pending request (or uncommitted block) has waited
// request_timeout_ms in this view with no block committed meanwhile, or whose oldest request
// sees one that arrived ten request timeouts after it commit first (a primary passing it over),
// sends VIEW-CHANGE(v+1) with its highest committed block and
// certificate and a prepared proof for each height above it. f+1 view changes for higher
// views make a replica join the smallest. The new primary collects 2f+1, and sends NEW-VIEW
// with them; everyone derives the same blocks to propose again (SelectReproposals: from the
// highest committed block up, at each height the proof of the highest view, stopping at the
// first gap or the first block that does not link to the one below). A commit certificate for
// a block implies that f+1 correct replicas prepared it and every block below it, so those
// blocks are always chosen; what is dropped was never committed anywhere. If no new view
// arrives within view_change_timeout_ms (doubling each attempt) the replica moves on to the
// next view.
//
// Requests: a request submitted to a validator is sent to every validator, and stays pending
// at each until a committed block contains it or the Application rejects it (reported in
// Ready::rejected). A pending request that waits too long makes its replica vote the primary
// out, so a request reaching any correct replica is committed or explicitly rejected, across
// view changes too.
//
// State transfer: every resend_interval_ms a replica sends STATUS(view, committed height);
// one that sees a peer ahead (or a stable checkpoint above its own height) sends FETCH and
// takes the certified blocks, checking each certificate and hash link before committing it.
// Followers (non-validators) do only this, and forward requests to the validators, sending
// them again until a block commits them (a validator leaving the set does the same with its
// pending requests).
//
// Validator sets: the Application says which validators are in force (CurrentEpoch), from
// the state of the last applied block, so a governance transaction changes the set and every
// replica switches at the same height. An epoch is the run of heights one set is in force
// for. Nothing crosses an epoch's end: a primary proposes, and a replica votes, only at
// heights the applied state vouches for (up to Epoch::end), so the last block of an epoch is
// committed before anyone proposes the first of the next. Then each replica switches: views
// start again at 0 with the new set (heights tell epochs apart, so a vote can never be
// counted in the wrong one); a validator that left becomes a follower and hands its pending
// requests to the new validators; one that joined starts voting. A certificate is checked
// against the set in force at its block's height. Quorums are ⌊(n+f)/2⌋+1 with f = ⌊(n−1)/3⌋
// (2f+1 when n = 3f+1), so any n from 1 up is safe.
//
// Persistence: whatever a replica's future votes depend on (its view, the block hash it voted
// for at each height in each view, its prepared proofs, the new view it sent) is in
// Ready::hard_state, which the caller must write to disk before sending Ready::messages. A
// replica restarted from its last hard state and its stored blocks never signs two different
// things for the same view and height.
//
// Thread safety: none; one thread drives a replica.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "consensus/messages.h"
#include "ledger/block.h"
#include "ledger/crypto.h"
#include "ledger/status.h"
#include "ledger/transaction.h"

namespace nanum::pbft {

// The validators in force from height `start` (>= 1) through at least `end`.
struct Epoch {
  std::uint64_t start = 1;
  // The last height the applied state vouches for: the height before a scheduled change, or
  // the highest height a change approved in a later block could not reach yet.
  std::uint64_t end = 0;
  std::vector<PublicKey> validators;  // sorted, distinct, 1 to kMaxValidators
  bool operator==(const Epoch&) const = default;
};

// The application that executes blocks: the chaincode over the store in nanumd, a toy
// machine in the simulator. Every call must be deterministic.
class Application {
 public:
  virtual ~Application() = default;
  // Whether a request may wait for a block at all: its envelope is valid for this chain and
  // it is not in a block this node has applied. Called when a request arrives.
  virtual Status Admit(const Transaction& tx) = 0;
  // Builds the block at `height` on top of the block `parent_hash` (the last committed
  // block or one already built or checked): executes `txs` in order and fills the header's
  // roots, time `time_ms` and proposer. Requests that can never be included (bad signature,
  // already committed, …) are left out and returned in `rejected` with the reason.
  virtual Status Build(const Hash256& parent_hash, std::uint64_t height, std::uint64_t time_ms,
                       const PublicKey& proposer, const std::vector<Transaction>& txs,
                       Block* out, std::vector<std::pair<Hash256, Status>>* rejected) = 0;
  // Checks a proposed block by re-executing it on its parent. kFailedPrecondition if the
  // parent is unknown (yet); any other error means the block is invalid.
  virtual Status Check(const Block& block) = 0;
  // A committed block with its certificate, for a peer that is behind; nullopt if this node
  // does not have it (yet).
  virtual std::optional<Block> CommittedBlock(std::uint64_t height) = 0;
  // The epoch of the height after the last applied block, from the applied state. Called
  // when the replica starts and in Advance.
  virtual Epoch CurrentEpoch() = 0;
};

struct Config {
  PrivateKey key;  // this node's key; validators come from Application::CurrentEpoch
  std::uint64_t max_batch_txs = 500;
  std::uint64_t batch_delay_ms = 50;
  std::uint64_t empty_block_interval_ms = 0;  // 0: no blocks without requests
  std::uint64_t max_in_flight = 4;            // heights between pre-prepare and commit
  std::uint64_t checkpoint_interval = 16;
  std::uint64_t watermark_window = 64;        // >= 2 * checkpoint_interval
  std::uint64_t request_timeout_ms = 2000;
  std::uint64_t view_change_timeout_ms = 2000;
  std::uint64_t resend_interval_ms = 500;
  std::uint64_t max_clock_drift_ms = 2000;
  std::size_t max_pending = 100'000;
  // Signature check; nanum::Verify if empty. A caller may cache results.
  SignatureCheck verify;
  // Salts the request pool's hash table (look-ups only: nothing iterates it), so that no
  // client can choose transaction ids that collide there. The node sets a random one; it
  // changes no result.
  std::uint64_t pool_hash_salt = 0;
};

// A block this replica voted for: used never to vote for another at the same view and height.
struct VoteRecord {
  std::uint64_t view = 0;
  Hash256 hash{};
};

// Kept encoded where the parts are large (a proof holds a whole block), so that handing the
// hard state out after each vote costs a copy, not a re-encoding.
struct HardState {
  std::uint64_t epoch = 1;  // Epoch::start of the epoch `view` belongs to
  std::uint64_t view = 0;
  bool changing = false;                     // sent VIEW-CHANGE(view), no NEW-VIEW yet
  std::map<std::uint64_t, VoteRecord> votes;  // by height, above the committed height
  std::map<std::uint64_t, std::string> prepared;  // by height: EncodePreparedProof
  std::string new_view;  // the signed NEW-VIEW message that started `view`; empty if none

  std::string Encode() const;
  // Checks the layout and that every proof and the new view decode.
  static Status Decode(std::string_view bytes, HardState* out);
};

struct Outgoing {
  std::optional<PublicKey> to;  // nullopt: every other validator of Replica::epoch()
  Message msg;
};

struct Ready {
  std::optional<std::string> hard_state;  // encoded HardState, to persist before sending
  std::vector<Outgoing> messages;
  std::vector<Block> committed;           // in height order, each with its certificate
  std::vector<std::pair<Hash256, Status>> rejected;  // requests that will never commit
  bool empty() const {
    return !hard_state && messages.empty() && committed.empty() && rejected.empty();
  }
};

struct ReplicaStatus {
  std::uint64_t epoch = 1;  // Epoch::start
  std::size_t validators = 0;
  bool validator = false;
  std::uint64_t view = 0;
  bool changing = false;
  bool primary = false;
  std::uint64_t committed_height = 0;
  Hash256 committed_hash{};
  std::uint64_t stable_checkpoint = 0;
  std::size_t log_entries = 0;
  std::size_t pending = 0;
  std::uint64_t view_changes_started = 0;
  std::string view_change_reason;  // why this replica started its last view change
  bool lagging = false;  // f+1 validators report a higher committed height: catching up
};

class Replica {
 public:
  // `head` is the last block in the node's store (the genesis block at first) with its
  // certificate; `hard` what the node last persisted from Ready::hard_state (empty at first).
  // REQUIRES: config valid (CheckConfig), app->CurrentEpoch() valid (CheckEpoch), app
  // outlives the replica.
  Replica(Config config, Application* app, const Block& head, const HardState& hard,
          std::uint64_t now_ms);
  ~Replica();
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  static Status CheckConfig(const Config& c);
  static Status CheckEpoch(const Epoch& e);

  // A client's request. Errors: kAlreadyExists (already pending), kTooLarge (pool full), or
  // the application's Admit refusal.
  // Signature and chain checks are the caller's (the node checks envelopes on arrival).
  Status Submit(const Transaction& tx);
  // A message from a peer. Errors say why it was ignored; none changes the replica.
  Status Step(const Message& m);
  // Time moves to `now_ms` (never backwards).
  void Tick(std::uint64_t now_ms);

  bool HasReady() const;
  // Hands out everything accumulated since the last call, once.
  Ready GetReady();
  // The caller has persisted, sent and applied the last Ready (its committed blocks are now
  // in the Application's state).
  void Advance();

  ReplicaStatus status() const;
  const PublicKey& id() const;
  bool is_validator() const;
  // The epoch this replica is in; its validators are whom Outgoing{nullopt} goes to.
  const Epoch& epoch() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Matching votes that decide among n validators: ⌊(n+f)/2⌋+1 with f = ⌊(n−1)/3⌋, so two
// quorums share at least f+1 validators (2f+1 when n = 3f+1).
std::size_t Quorum(std::size_t n);

// The blocks a new primary must propose again, from 2f+1 view changes (see above). Exposed for
// tests; the replica uses it both as new primary and as backup checking a NEW-VIEW.
// `base` is set to the highest committed header among them.
std::vector<const PreparedProof*> SelectReproposals(const std::vector<SignedViewChange>& vcs,
                                                    BlockHeader* base);

}  // namespace nanum::pbft
