// The PBFT replica. The protocol and its rules are described in pbft.h; this file follows
// the same order: helpers, requests, the normal case, checkpoints, view changes, state
// transfer, timers, Ready.
#include "consensus/pbft.h"

#include <algorithm>
#include <cassert>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "ledger/encoding.h"
#include "ledger/id_hash.h"

namespace nanum::pbft {
namespace {

constexpr std::size_t kMaxResendRequests = 256;
// A backup's oldest request counts as passed over when one that reached this replica this many
// request timeouts after it commits first. Not one: arrival times are when the consensus thread
// admits a request, and under load each node's queue in front of it differs by hundreds of ms.
constexpr std::uint64_t kPassedOverTimeouts = 10;
// How many request timeouts a follower keeps sending a request it forwarded.
constexpr std::uint64_t kFollowerRequestTimeouts = 10;
constexpr std::size_t kMaxFetchBytes = 8 * 1024 * 1024;
constexpr std::uint32_t kMaxBackoffShift = 5;

// BIP-340 signing with zero auxiliary data: deterministic, so a replica's messages depend on
// nothing but its inputs (no randomness inside consensus/).
Signature SignDigest(const PrivateKey& key, const Hash256& digest) {
  return key.SignWithAux(digest, Hash256{});
}

}  // namespace

// ---- HardState encoding ----------------------------------------------------------------
// u64 epoch | u64 view | bool changing | list of {u64 height, u64 view, hash[32]} votes |
// list of {u64 height, bytes proof} | bytes NEW-VIEW message (empty if none)

std::string HardState::Encode() const {
  std::size_t size = 40 + votes.size() * 48 + new_view.size();
  for (const auto& [h, p] : prepared) size += 12 + p.size();
  Writer w(size);
  w.U64(epoch);
  w.U64(view);
  w.Bool(changing);
  w.U32(static_cast<std::uint32_t>(votes.size()));
  for (const auto& [h, v] : votes) {
    w.U64(h);
    w.U64(v.view);
    w.Fixed(v.hash);
  }
  w.U32(static_cast<std::uint32_t>(prepared.size()));
  for (const auto& [h, p] : prepared) {
    w.U64(h);
    w.Bytes(p);
  }
  w.Bytes(new_view);
  return w.Release();
}

Status HardState::Decode(std::string_view bytes, HardState* out) {
  Reader r(bytes, "consensus hard state");
  HardState hs;
  hs.epoch = r.U64();
  hs.view = r.U64();
  hs.changing = r.Bool();
  const std::uint32_t n = r.Count(kMaxPreparedProofs, 48, "votes");
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
    const std::uint64_t h = r.U64();
    VoteRecord v;
    v.view = r.U64();
    v.hash = r.Fixed<32>();
    hs.votes[h] = v;
  }
  const std::uint32_t k = r.Count(kMaxPreparedProofs, 12, "prepared proofs");
  for (std::uint32_t i = 0; i < k && r.ok(); ++i) {
    const std::uint64_t h = r.U64();
    std::string_view p = r.Bytes(kMaxMessageBytes, "prepared proof");
    PreparedProof proof;
    if (r.ok()) {
      Status s = DecodePreparedProof(p, &proof);
      if (!s.ok()) r.Fail(s.Prefixed("hard state"));
      if (s.ok() && proof.block.header.height != h) {
        r.Fail(Status::Corruption("hard state: proof filed under the wrong height"));
      }
    }
    hs.prepared[h] = std::string(p);
  }
  hs.new_view = std::string(r.Bytes(kMaxMessageBytes, "new view"));
  if (r.ok() && !hs.new_view.empty()) {
    Message m;
    Status s = Message::Decode(hs.new_view, &m);
    if (!s.ok() || m.type() != MessageType::kNewView) {
      r.Fail(Status::Corruption("hard state holds no valid new view"));
    }
  }
  NANUM_RETURN_IF_ERROR(r.Finish());
  *out = std::move(hs);
  return Status::OK();
}

// ---- SelectReproposals -----------------------------------------------------------------

std::vector<const PreparedProof*> SelectReproposals(const std::vector<SignedViewChange>& vcs,
                                                    BlockHeader* base) {
  const SignedViewChange* top = nullptr;
  for (const SignedViewChange& s : vcs) {
    if (top == nullptr || s.vc.committed.height > top->vc.committed.height) top = &s;
  }
  std::vector<const PreparedProof*> chosen;
  if (top == nullptr) return chosen;
  *base = top->vc.committed;
  std::map<std::uint64_t, const PreparedProof*> best;
  for (const SignedViewChange& s : vcs) {
    for (const PreparedProof& p : s.vc.prepared) {
      const std::uint64_t h = p.block.header.height;
      if (h <= base->height) continue;
      auto it = best.find(h);
      if (it == best.end() || p.view > it->second->view) best[h] = &p;
    }
  }
  Hash256 prev = base->Hash();
  for (std::uint64_t h = base->height + 1;; ++h) {
    auto it = best.find(h);
    if (it == best.end() || it->second->block.header.prev_hash != prev) break;
    chosen.push_back(it->second);
    prev = it->second->block.Hash();
  }
  return chosen;
}

// ---- The replica -----------------------------------------------------------------------

struct Replica::Impl {
  struct Entry {
    std::optional<Block> block;  // the pre-prepared block of this view
    Hash256 hash{};
    Signature pp_sig{};
    bool reproposed = false;  // from a NEW-VIEW: no clock check
    bool checked = false;
    bool invalid = false;
    std::map<PublicKey, std::pair<Hash256, Signature>> prepares;  // first vote per sender
    std::map<PublicKey, std::pair<Hash256, Signature>> commits;
    bool prepared = false;
    bool prepare_sent = false;
    bool commit_sent = false;
    std::uint64_t since_ms = 0;
    std::uint64_t sent_ms = 0;
  };
  struct Pending {
    Transaction tx;
    std::uint64_t seq = 0;
    std::uint64_t arrival_ms = 0;
  };
  // For tables of transaction ids that are looked up, never iterated (Config::pool_hash_salt).
  using IdHash = SaltedIdHash;

  Config cfg;
  Application* app;
  Epoch epoch;
  Hash256 epoch_base_hash{};  // the block at epoch.start - 1
  std::size_t n = 0, f = 0, quorum = 0;
  bool validator = false;
  std::uint64_t now = 0;

  // Committed chain.
  BlockHeader committed;
  Hash256 committed_hash{};
  std::optional<CommitCertificate> committed_cert;
  std::vector<std::pair<std::uint64_t, Hash256>> checkpoints_due;  // after Advance
  std::unordered_set<Hash256, IdHash> committed_unapplied_txs;  // salted in Replica()
  bool committed_since_advance = false;  // the applied state (and with it the epoch) moved

  HardState hs;
  bool hs_dirty = false;
  std::map<std::uint64_t, Entry> log;  // this view's heights, above the stable checkpoint
  std::uint64_t view_entered_ms = 0;
  // Heights up to the new view's base (the highest committed block among its view changes) are
  // decided: in this view nobody proposes or accepts anything there, however far behind.
  std::uint64_t view_base = 0;

  // Checkpoints above the stable one.
  std::uint64_t stable = 0;
  std::map<std::uint64_t, std::map<Hash256, std::map<PublicKey, Signature>>> checkpoints;
  std::optional<Message> own_checkpoint;

  // View changes: each validator's latest.
  std::map<PublicKey, SignedViewChange> latest_vc;
  std::optional<Message> own_vc;
  std::optional<Message> new_view_msg;  // hs.new_view, decoded
  std::map<PublicKey, std::uint64_t> new_view_forwarded;
  std::map<PublicKey, std::uint64_t> status_replied;
  std::uint64_t vc_started_ms = 0;
  std::uint32_t vc_attempt = 0;
  bool vc_timer_running = false;
  std::uint64_t view_changes_started = 0;
  std::string view_change_reason;
  bool restart_view_change = false;  // a restarted primary moves on

  // Request pool. The ids are looked up, never iterated: order and idle give the order.
  std::unordered_map<Hash256, Pending, IdHash> pool;  // salted in Replica()
  std::map<std::uint64_t, Hash256> order;  // arrival order
  std::map<std::uint64_t, Hash256> idle;   // the requests of `order` not in a logged block
  std::uint64_t next_seq = 1;
  // Whether the primary is working (TimedOut): when this replica last committed a block, and
  // whether, in this view, a request that arrived here kPassedOverTimeouts request timeouts or
  // more after the oldest pending one has committed before it. A request stays the oldest until
  // it leaves the pool, so the flag is cleared then.
  std::uint64_t last_commit_ms = 0;
  bool passed_over = false;

  // Peers and state transfer.
  std::map<PublicKey, std::uint64_t> reported_height;
  std::map<PublicKey, std::uint64_t> last_heard;  // validators, by key
  std::optional<std::uint64_t> quorum_since;
  std::uint64_t last_resend_ms = 0;
  std::uint64_t fetch_sent_ms = 0;
  bool fetch_outstanding = false;
  std::size_t fetch_rr = 0;

  Ready out;

  // -- helpers --
  bool Verify(const PublicKey& k, const Hash256& d, const Signature& s) const {
    return cfg.verify ? cfg.verify(k, d, s) : nanum::Verify(k, d, s);
  }
  bool IsValidator(const PublicKey& k) const {
    return std::binary_search(epoch.validators.begin(), epoch.validators.end(), k);
  }
  const PublicKey& PrimaryOf(std::uint64_t v) const { return epoch.validators[v % n]; }
  // Heights this epoch's validators are known to decide (nothing crosses its end).
  bool InEpoch(std::uint64_t h) const { return h >= epoch.start && h <= epoch.end; }
  // Prepares (besides the pre-prepare) that make a block prepared: 2f when n = 3f+1.
  std::size_t PreparesNeeded() const { return quorum - 1; }
  bool IsPrimary() const { return validator && PrimaryOf(hs.view) == cfg.key.public_key(); }
  const PublicKey& self() const { return cfg.key.public_key(); }

  // A message from this replica, signed if its kind is signed.
  Message Signed(Body body) const {
    Message m;
    m.from = self();
    if (auto d = SigningDigest(body)) m.sig = SignDigest(cfg.key, *d);
    m.body = std::move(body);
    return m;
  }
  void Send(std::optional<PublicKey> to, Body body) {
    out.messages.push_back(Outgoing{std::move(to), Signed(std::move(body))});
  }
  void Broadcast(Body body) { Send(std::nullopt, std::move(body)); }
  void Dirty() { hs_dirty = true; }

  Status VerifyCert(const CommitCertificate& cert, const BlockHeader& header) const {
    return VerifyCertificate(cert, header, epoch.validators, quorum, cfg.verify);
  }

  // ---- requests ----

  void RemoveFromPool(const Hash256& id) {
    auto it = pool.find(id);
    if (it == pool.end()) return;
    if (it->second.seq == order.begin()->first) passed_over = false;
    order.erase(it->second.seq);
    idle.erase(it->second.seq);
    pool.erase(it);
  }

  void MarkInFlight(const Hash256& id) {
    auto it = pool.find(id);
    if (it == pool.end()) return;
    idle.erase(it->second.seq);
  }
  // Every pending request is free to be proposed again (the log was dropped).
  void ClearInFlight() { idle = order; }

  Status AddToPool(const Transaction& tx) {
    if (pool.count(tx.id()) != 0 || committed_unapplied_txs.count(tx.id()) != 0) {
      return Status::AlreadyExists("request " + ToHex(tx.id()) + " is already pending");
    }
    NANUM_RETURN_IF_ERROR(app->Admit(tx));
    if (pool.size() >= cfg.max_pending) {
      return Status::TooLarge("request pool is full (" + std::to_string(cfg.max_pending) +
                              " pending); try again later");
    }
    Pending p;
    p.tx = tx;
    p.seq = next_seq++;
    p.arrival_ms = now;
    order[p.seq] = tx.id();
    idle[p.seq] = tx.id();
    pool.emplace(tx.id(), std::move(p));
    return Status::OK();
  }

  // A follower keeps the request too, only to send it again (Resend); it proposes nothing.
  Status Submit(const Transaction& tx) {
    NANUM_RETURN_IF_ERROR(AddToPool(tx));
    if (!validator) idle.erase(pool.at(tx.id()).seq);
    Broadcast(Request{tx});
    MaybePropose();
    return Status::OK();
  }

  // ---- normal case ----

  std::uint64_t LastLoggedHeight() const {
    std::uint64_t h = committed.height;
    for (auto it = log.rbegin(); it != log.rend(); ++it) {
      if (it->second.block) {
        h = std::max(h, it->first);
        break;
      }
    }
    return h;
  }

  const BlockHeader* HeaderAt(std::uint64_t h) const {
    if (h == committed.height) return &committed;
    auto it = log.find(h);
    if (it == log.end() || !it->second.block) return nullptr;
    return &it->second.block->header;
  }

  void MaybePropose() {
    if (!validator || hs.changing || !IsPrimary()) return;
    if (committed.height < view_base) return;  // fetch the decided blocks first
    for (;;) {
      const std::uint64_t last = LastLoggedHeight();
      const std::uint64_t next = last + 1;
      if (next > committed.height + cfg.max_in_flight) return;
      if (!InEpoch(next)) return;  // the next epoch's set is not known yet
      if (next > stable + cfg.watermark_window) return;
      const BlockHeader* parent = HeaderAt(last);
      if (parent == nullptr) return;
      // Never sign a second block for a height already voted on in this view.
      auto v = hs.votes.find(next);
      if (v != hs.votes.end() && v->second.view == hs.view) return;

      // Decide from the idle requests' count and oldest arrival before copying any: this
      // runs on every request and tick, and the pool may hold many thousands.
      const bool empty_due = cfg.empty_block_interval_ms != 0 &&
                             parent->timestamp_ms + cfg.empty_block_interval_ms <= now;
      if (idle.empty() && !empty_due) return;
      const std::uint64_t oldest = idle.empty() ? now : pool.at(idle.begin()->second).arrival_ms;
      if (!idle.empty() && idle.size() < cfg.max_batch_txs && oldest + cfg.batch_delay_ms > now &&
          !empty_due) {
        return;
      }
      std::vector<Transaction> txs;
      txs.reserve(std::min<std::size_t>(idle.size(), cfg.max_batch_txs));
      for (const auto& [seq, id] : idle) {
        txs.push_back(pool.at(id).tx);
        if (txs.size() >= cfg.max_batch_txs) break;
      }
      const std::uint64_t time = std::max(now, parent->timestamp_ms + 1);
      Block block;
      std::vector<std::pair<Hash256, Status>> rejected;
      Status s = app->Build(parent->Hash(), next, time, self(), txs, &block, &rejected);
      const bool pool_shrank = !rejected.empty();
      for (auto& r : rejected) {
        RemoveFromPool(r.first);
        out.rejected.push_back(std::move(r));
      }
      if (!s.ok()) return;  // the application could not build; try again at the next tick
      if (block.txs.empty() && !empty_due) {
        // Every request was rejected: try the next ones. Requests left out without a reason
        // (the application breaking its contract) would only be offered again.
        if (pool_shrank) continue;
        return;
      }
      for (const Transaction& tx : block.txs) MarkInFlight(tx.id());
      const Hash256 hash = block.Hash();
      Entry& e = log[next];
      e.block = block;
      e.hash = hash;
      Message m = Signed(PrePrepare{hs.view, std::move(block)});
      e.pp_sig = m.sig;
      e.checked = true;
      e.since_ms = now;
      e.sent_ms = now;
      hs.votes[next] = VoteRecord{hs.view, hash};
      Dirty();
      out.messages.push_back(Outgoing{std::nullopt, std::move(m)});
    }
  }

  Status OnPrePrepare(const Message& m, const PrePrepare& pp) {
    if (!validator) return Status::FailedPrecondition("a follower takes no pre-prepare");
    if (pp.view != hs.view || hs.changing) {
      return Status::FailedPrecondition("pre-prepare for view " + std::to_string(pp.view) +
                                        ", not this replica's view");
    }
    if (m.from != PrimaryOf(pp.view)) {
      return Status::InvalidArgument("pre-prepare from a replica that is not the primary");
    }
    const std::uint64_t h = pp.block.header.height;
    if (h <= committed.height || h > stable + cfg.watermark_window) {
      return Status::FailedPrecondition("pre-prepare outside the watermarks");
    }
    if (!InEpoch(h)) {
      return Status::FailedPrecondition("pre-prepare beyond the heights this epoch is known for");
    }
    if (h <= view_base) {
      return Status::InvalidArgument("pre-prepare at height " + std::to_string(h) +
                                     ", decided before this view began");
    }
    const Hash256 hash = pp.block.Hash();
    if (!Verify(m.from, PrePrepareDigest(pp.view, h, hash), m.sig)) {
      return Status::BadSignature("pre-prepare signature does not verify");
    }
    if (pp.block.certificate) return Status::InvalidArgument("pre-prepared block has a certificate");
    NANUM_RETURN_IF_ERROR(CheckBlockContent(pp.block));
    if (pp.block.header.proposer != m.from) {
      return Status::InvalidArgument("pre-prepared block names another proposer");
    }
    Entry& e = log[h];
    if (e.block) {
      if (e.hash == hash) return Status::OK();
      return Status::InvalidArgument("primary equivocates at height " + std::to_string(h));
    }
    auto v = hs.votes.find(h);
    if (v != hs.votes.end() && v->second.view == pp.view && v->second.hash != hash) {
      return Status::InvalidArgument("already voted for another block at this view and height");
    }
    e.block = pp.block;
    e.hash = hash;
    e.pp_sig = m.sig;
    e.since_ms = now;
    Progress();
    return Status::OK();
  }

  Status OnVote(const Message& m, std::uint64_t view, std::uint64_t height, const Hash256& hash,
                bool commit) {
    if (!validator) return Status::FailedPrecondition("a follower takes no votes");
    if (!IsValidator(m.from)) return Status::InvalidArgument("vote from a non-validator");
    if (view != hs.view || hs.changing) return Status::FailedPrecondition("vote for another view");
    if (!commit && m.from == PrimaryOf(view)) {
      return Status::InvalidArgument("the primary does not send prepares");
    }
    if (height <= committed.height || height > stable + cfg.watermark_window || !InEpoch(height)) {
      return Status::FailedPrecondition("vote outside the watermarks");
    }
    const Hash256 digest = commit ? CommitDigest(height, view, hash)
                                  : PrepareDigest(view, height, hash);
    if (!Verify(m.from, digest, m.sig)) return Status::BadSignature("vote does not verify");
    Entry& e = log[height];
    if (e.since_ms == 0) e.since_ms = now;
    auto& votes = commit ? e.commits : e.prepares;
    votes.emplace(m.from, std::make_pair(hash, m.sig));
    Progress();
    return Status::OK();
  }

  std::size_t Matching(const std::map<PublicKey, std::pair<Hash256, Signature>>& votes,
                       const Hash256& hash) const {
    std::size_t c = 0;
    for (const auto& [k, v] : votes) if (v.first == hash) ++c;
    return c;
  }

  // Checks blocks, sends prepares and commits, commits blocks: everything that can follow
  // from what the log now holds.
  void Progress() {
    if (!validator || hs.changing) return;
    bool all_prepared_below = true;  // every height from committed+1 up to here prepared
    for (auto it = log.upper_bound(committed.height); it != log.end(); ++it) {
      const std::uint64_t h = it->first;
      Entry& e = it->second;
      if (e.block && !e.checked && !e.invalid) TryCheck(h, e);
      if (e.checked && !e.prepared) {
        if (!IsPrimary() && !e.prepare_sent) {
          hs.votes[h] = VoteRecord{hs.view, e.hash};
          Dirty();
          e.prepares.emplace(self(), std::make_pair(
              e.hash, SignDigest(cfg.key, PrepareDigest(hs.view, h, e.hash))));
          Broadcast(Prepare{hs.view, h, e.hash});
          e.prepare_sent = true;
          e.sent_ms = now;
        }
        if (Matching(e.prepares, e.hash) >= PreparesNeeded()) {
          e.prepared = true;
          PreparedProof p;
          p.view = hs.view;
          p.block = *e.block;
          p.preprepare_sig = e.pp_sig;
          for (const auto& [k, v] : e.prepares) {
            if (v.first == e.hash && p.prepares.size() < PreparesNeeded()) {
              p.prepares.push_back({k, v.second});
            }
          }
          hs.prepared[h] = EncodePreparedProof(p);
          Dirty();
        }
      }
      all_prepared_below = all_prepared_below && e.prepared;
      if (all_prepared_below && !e.commit_sent) {
        e.commits.emplace(self(), std::make_pair(
            e.hash, SignDigest(cfg.key, CommitDigest(h, hs.view, e.hash))));
        Broadcast(Commit{hs.view, h, e.hash});
        e.commit_sent = true;
        e.sent_ms = now;
      }
      if (h == committed.height + 1 && e.prepared && e.commit_sent &&
          Matching(e.commits, e.hash) >= quorum) {
        Block b = *e.block;
        CommitCertificate cert;
        cert.view = hs.view;
        cert.block_hash = e.hash;
        for (const auto& [k, v] : e.commits) {
          if (v.first == e.hash) cert.signatures.push_back({k, v.second});
        }
        b.certificate = std::move(cert);
        CommitBlock(std::move(b));
      }
      if (!all_prepared_below && !e.block) break;
    }
    MaybePropose();
  }

  void TryCheck(std::uint64_t h, Entry& e) {
    const BlockHeader* parent = HeaderAt(h - 1);
    if (parent == nullptr) return;  // wait for the block below
    const BlockHeader& hd = e.block->header;
    if (hd.prev_hash != parent->Hash()) {
      e.invalid = true;
      return;
    }
    if (h - 1 > committed.height) {
      const Entry& below = log.at(h - 1);
      if (!below.checked) return;
    }
    if (hd.timestamp_ms <= parent->timestamp_ms) {
      e.invalid = true;
      return;
    }
    if (!e.reproposed && (hd.timestamp_ms > now + cfg.max_clock_drift_ms ||
                          hd.timestamp_ms + cfg.max_clock_drift_ms < now)) {
      e.invalid = true;
      return;
    }
    Status s = app->Check(*e.block);
    if (s.code() == Status::Code::kFailedPrecondition) return;  // parent not applied yet
    if (!s.ok()) {
      e.invalid = true;
      return;
    }
    e.checked = true;
  }

  void CommitBlock(Block b) {
    const std::uint64_t h = b.header.height;
    const std::uint64_t oldest_seq = order.empty() ? 0 : order.begin()->first;
    const std::uint64_t oldest_arrival = order.empty() ? 0 : pool.at(order.begin()->second).arrival_ms;
    bool late_committed = false;
    for (const Transaction& tx : b.txs) {
      auto p = pool.find(tx.id());
      if (p != pool.end() && p->second.arrival_ms >= oldest_arrival + kPassedOverTimeouts * cfg.request_timeout_ms) {
        late_committed = true;
      }
      RemoveFromPool(tx.id());
      committed_unapplied_txs.insert(tx.id());
    }
    if (late_committed && !order.empty() && order.begin()->first == oldest_seq) passed_over = true;
    last_commit_ms = now;
    committed = b.header;
    committed_hash = b.Hash();
    committed_since_advance = true;
    committed_cert = b.certificate;
    hs.votes.erase(hs.votes.begin(), hs.votes.upper_bound(h));
    hs.prepared.erase(hs.prepared.begin(), hs.prepared.upper_bound(h));
    Dirty();
    if (validator && cfg.checkpoint_interval != 0 && h % cfg.checkpoint_interval == 0) {
      checkpoints_due.emplace_back(h, committed_hash);
    }
    out.committed.push_back(std::move(b));
    // Blocks above that no longer link to the committed chain can never commit in this view.
    auto next = log.find(h + 1);
    if (next != log.end() && next->second.block &&
        next->second.block->header.prev_hash != committed_hash) {
      next->second.invalid = true;
    }
  }

  // ---- checkpoints ----

  Status OnCheckpoint(const Message& m, const Checkpoint& c) {
    if (!validator) return Status::FailedPrecondition("a follower takes no checkpoints");
    if (!IsValidator(m.from)) return Status::InvalidArgument("checkpoint from a non-validator");
    if (cfg.checkpoint_interval == 0 || c.height % cfg.checkpoint_interval != 0 ||
        c.height <= stable || !InEpoch(c.height) ||
        c.height > std::max(stable, committed.height) + cfg.watermark_window) {
      return Status::FailedPrecondition("checkpoint outside the window");
    }
    if (!Verify(m.from, CheckpointDigest(c.height, c.hash), m.sig)) {
      return Status::BadSignature("checkpoint does not verify");
    }
    auto& by_hash = checkpoints[c.height];
    for (auto& [hash, signers] : by_hash) {
      if (hash != c.hash && signers.count(m.from) != 0) {
        return Status::InvalidArgument("validator signed two checkpoints at one height");
      }
    }
    auto& signers = by_hash[c.hash];
    signers.emplace(m.from, m.sig);
    if (signers.size() >= quorum) Stabilize(c.height, m.from);
    return Status::OK();
  }

  void Stabilize(std::uint64_t h, const PublicKey& some_signer) {
    stable = h;
    checkpoints.erase(checkpoints.begin(), checkpoints.upper_bound(h));
    // Garbage collection: the log below the stable checkpoint is no longer needed.
    log.erase(log.begin(), log.upper_bound(std::min(h, committed.height)));
    if (h > committed.height) RequestBlocks(some_signer);
    MaybePropose();
  }

  void SignCheckpoints() {
    for (const auto& [h, hash] : checkpoints_due) {
      Checkpoint c{h, hash};
      Message m = Signed(c);
      out.messages.push_back(Outgoing{std::nullopt, m});
      own_checkpoint = m;  // re-sent until a later one, for replicas that missed it
      if (h > stable) {
        Status ignored = OnCheckpoint(m, c);  // count our own
        (void)ignored;
      }
    }
    checkpoints_due.clear();
  }

  // ---- view changes ----

  Status CheckViewChange(const ViewChange& vc) const {
    const BlockHeader& c = vc.committed;
    // The sender's epoch follows from its committed height; only this epoch's count.
    if (c.height + 1 < epoch.start) {
      return Status::FailedPrecondition("view change from a replica in an earlier epoch");
    }
    if (c.height + 1 > epoch.end) {
      return Status::FailedPrecondition("view change from beyond the heights this epoch is known for");
    }
    if (c.height + 1 == epoch.start) {
      // The epoch's base block: this replica has it; its certificate is the previous set's.
      if (c.Hash() != epoch_base_hash) {
        return Status::InvalidArgument("view change: wrong block below the epoch");
      }
    } else {
      if (!vc.cert) return Status::InvalidArgument("view change: committed block uncertified");
      NANUM_RETURN_IF_ERROR(VerifyCert(*vc.cert, c).Prefixed("view change"));
    }
    std::uint64_t last = c.height;
    for (const PreparedProof& p : vc.prepared) {
      const std::uint64_t h = p.block.header.height;
      if (h <= last) return Status::InvalidArgument("view change: proofs out of order");
      if (h > c.height + cfg.watermark_window || !InEpoch(h)) {
        return Status::InvalidArgument("view change: proof above the watermarks");
      }
      last = h;
      if (p.view >= vc.new_view) return Status::InvalidArgument("view change: proof from the future");
      if (p.block.certificate) return Status::InvalidArgument("view change: proof block certified");
      NANUM_RETURN_IF_ERROR(CheckBlockContent(p.block).Prefixed("view change"));
      const Hash256 hash = p.block.Hash();
      const PublicKey& primary = PrimaryOf(p.view);
      if (!Verify(primary, PrePrepareDigest(p.view, h, hash), p.preprepare_sig)) {
        return Status::BadSignature("view change: pre-prepare in a proof does not verify");
      }
      if (p.prepares.size() < PreparesNeeded()) {
        return Status::InvalidArgument("view change: proof too small");
      }
      std::set<PublicKey> seen;
      const Hash256 digest = PrepareDigest(p.view, h, hash);
      for (const Vote& v : p.prepares) {
        if (!IsValidator(v.from) || v.from == primary || !seen.insert(v.from).second) {
          return Status::InvalidArgument("view change: bad prepare signer in a proof");
        }
        if (!Verify(v.from, digest, v.sig)) {
          return Status::BadSignature("view change: prepare in a proof does not verify");
        }
      }
    }
    return Status::OK();
  }

  void StartViewChange(std::uint64_t v, std::string why) {
    if (!validator || (hs.changing && v <= hs.view)) return;
    view_change_reason = std::move(why);
    vc_attempt = (hs.changing && v == hs.view + 1) ? vc_attempt + 1 : 0;
    hs.view = v;
    hs.changing = true;
    hs.new_view.clear();
    new_view_msg.reset();
    Dirty();
    log.clear();
    ClearInFlight();
    vc_started_ms = now;
    vc_timer_running = false;
    ++view_changes_started;

    ViewChange vc;
    vc.new_view = v;
    vc.committed = committed;
    vc.cert = committed_cert;
    for (const auto& [h, bytes] : hs.prepared) {
      PreparedProof p;
      if (h > committed.height && DecodePreparedProof(bytes, &p).ok()) {
        vc.prepared.push_back(std::move(p));
      }
    }
    Message m = Signed(vc);
    own_vc = m;
    latest_vc[self()] = SignedViewChange{self(), m.sig, std::move(vc)};
    out.messages.push_back(Outgoing{std::nullopt, m});
    AfterViewChangeMessage();
  }

  Status OnViewChange(const Message& m, const ViewChange& vc) {
    if (!validator) return Status::FailedPrecondition("a follower takes no view changes");
    if (!IsValidator(m.from)) return Status::InvalidArgument("view change from a non-validator");
    auto it = latest_vc.find(m.from);
    if (it != latest_vc.end() && it->second.vc.new_view >= vc.new_view) {
      return Status::OK();  // nothing newer
    }
    if (vc.new_view <= hs.view && !(hs.changing && vc.new_view == hs.view)) {
      return Status::FailedPrecondition("view change for a past view");
    }
    if (!Verify(m.from, ViewChangeDigest(vc), m.sig)) {
      return Status::BadSignature("view change signature does not verify");
    }
    NANUM_RETURN_IF_ERROR(CheckViewChange(vc));
    latest_vc[m.from] = SignedViewChange{m.from, m.sig, vc};
    AfterViewChangeMessage();
    return Status::OK();
  }

  void AfterViewChangeMessage() {
    // Join: when f+1 validators want a view above ours, move to the highest view that at
    // least f+1 of them want (so at least one correct replica is there).
    std::vector<std::uint64_t> higher;
    for (const auto& [k, s] : latest_vc) {
      if (k != self() && s.vc.new_view > hs.view) higher.push_back(s.vc.new_view);
    }
    if (higher.size() >= f + 1) {
      std::sort(higher.begin(), higher.end(), std::greater<>());
      StartViewChange(higher[f], std::to_string(f + 1) + " validators moved to a later view");
      return;
    }
    if (!hs.changing) return;
    // The timer for the next view starts once 2f+1 validators are changing to this view or a
    // later one: if this view's primary does not deliver, we move on together.
    std::size_t for_view = 0, at_least = 0;
    for (const auto& [k, s] : latest_vc) {
      if (s.vc.new_view == hs.view) ++for_view;
      if (s.vc.new_view >= hs.view) ++at_least;
    }
    if (at_least >= quorum && !vc_timer_running) {
      vc_timer_running = true;
      vc_started_ms = now;
    }
    if (IsPrimary() && for_view >= quorum) MakeNewView();
  }

  void MakeNewView() {
    NewView nv;
    nv.view = hs.view;
    // Our own first, then the others in key order, up to a quorum.
    nv.view_changes.push_back(latest_vc.at(self()));
    for (const auto& [k, s] : latest_vc) {
      if (nv.view_changes.size() >= quorum) break;
      if (k != self() && s.vc.new_view == hs.view) nv.view_changes.push_back(s);
    }
    BlockHeader base;
    std::vector<const PreparedProof*> chosen = SelectReproposals(nv.view_changes, &base);
    for (const PreparedProof* p : chosen) {
      nv.preprepare_sigs.push_back(SignDigest(
          cfg.key, PrePrepareDigest(hs.view, p->block.header.height, p->block.Hash())));
    }
    Message m = Signed(std::move(nv));
    out.messages.push_back(Outgoing{std::nullopt, m});
    EnterView(m);
  }

  Status CheckNewView(const Message& m, const NewView& nv) const {
    if (m.from != PrimaryOf(nv.view)) {
      return Status::InvalidArgument("new view from a replica that is not its primary");
    }
    if (!Verify(m.from, *SigningDigest(nv), m.sig)) {
      return Status::BadSignature("new view signature does not verify");
    }
    if (nv.view_changes.size() < quorum) return Status::InvalidArgument("new view: too few view changes");
    std::set<PublicKey> seen;
    for (const SignedViewChange& s : nv.view_changes) {
      if (!IsValidator(s.from) || !seen.insert(s.from).second) {
        return Status::InvalidArgument("new view: bad or repeated view change signer");
      }
      if (s.vc.new_view != nv.view) return Status::InvalidArgument("new view: view change for another view");
      if (!Verify(s.from, ViewChangeDigest(s.vc), s.sig)) {
        return Status::BadSignature("new view: a view change does not verify");
      }
      NANUM_RETURN_IF_ERROR(CheckViewChange(s.vc));
    }
    BlockHeader base;
    std::vector<const PreparedProof*> chosen = SelectReproposals(nv.view_changes, &base);
    if (chosen.size() != nv.preprepare_sigs.size()) {
      return Status::InvalidArgument("new view: wrong number of pre-prepares");
    }
    for (std::size_t i = 0; i < chosen.size(); ++i) {
      const Block& b = chosen[i]->block;
      if (!Verify(m.from, PrePrepareDigest(nv.view, b.header.height, b.Hash()),
                  nv.preprepare_sigs[i])) {
        return Status::BadSignature("new view: a pre-prepare does not verify");
      }
    }
    return Status::OK();
  }

  Status OnNewView(const Message& m, const NewView& nv) {
    if (!validator) return Status::FailedPrecondition("a follower takes no new views");
    if (nv.view < hs.view || (nv.view == hs.view && !hs.changing)) {
      return Status::FailedPrecondition("new view for a view this replica has passed");
    }
    NANUM_RETURN_IF_ERROR(CheckNewView(m, nv));
    EnterView(m);
    return Status::OK();
  }

  // Enters the view of a checked NEW-VIEW message.
  void EnterView(const Message& m) {
    const NewView& nv = std::get<NewView>(m.body);
    hs.view = nv.view;
    hs.changing = false;
    hs.new_view = m.Encode();
    new_view_msg = m;
    Dirty();
    vc_timer_running = false;
    vc_attempt = 0;
    view_entered_ms = now;
    passed_over = false;  // judge the new primary on its own blocks
    log.clear();
    ClearInFlight();
    for (auto it = latest_vc.begin(); it != latest_vc.end();) {
      it = it->second.vc.new_view <= hs.view ? latest_vc.erase(it) : std::next(it);
    }
    own_vc.reset();
    BlockHeader base;
    std::vector<const PreparedProof*> chosen = SelectReproposals(nv.view_changes, &base);
    view_base = base.height;
    for (std::size_t i = 0; i < chosen.size(); ++i) {
      const Block& b = chosen[i]->block;
      const std::uint64_t h = b.header.height;
      if (h <= committed.height) continue;
      Entry& e = log[h];
      e.block = b;
      e.hash = b.Hash();
      e.pp_sig = nv.preprepare_sigs[i];
      e.reproposed = true;
      e.since_ms = now;
      if (IsPrimary()) {
        hs.votes[h] = VoteRecord{hs.view, e.hash};
        for (const Transaction& tx : b.txs) MarkInFlight(tx.id());
      }
    }
    if (base.height > committed.height) {
      for (const SignedViewChange& s : nv.view_changes) {
        if (s.vc.committed.height == base.height) {
          RequestBlocks(s.from);
          break;
        }
      }
    }
    Progress();
  }

  // ---- state transfer ----

  void RequestBlocks(const PublicKey& peer) {
    if (peer == self()) return;
    if (fetch_outstanding && fetch_sent_ms + cfg.resend_interval_ms > now) return;
    fetch_outstanding = true;
    fetch_sent_ms = now;
    Send(peer, Fetch{committed.height + 1, static_cast<std::uint32_t>(kMaxBlocksPerFetch)});
  }

  Status OnFetch(const Message& m, const Fetch& fe) {
    Blocks reply;
    std::size_t bytes = 0;
    const std::uint64_t max = std::min<std::uint64_t>(fe.max_blocks, kMaxBlocksPerFetch);
    for (std::uint64_t h = fe.from_height; h < fe.from_height + max; ++h) {
      std::optional<Block> b = app->CommittedBlock(h);
      if (!b) break;
      bytes += b->Encode().size();
      reply.blocks.push_back(std::move(*b));
      if (bytes >= kMaxFetchBytes) break;
    }
    if (!reply.blocks.empty()) Send(m.from, std::move(reply));
    return Status::OK();
  }

  Status OnBlocks(const Message& m, const Blocks& bl) {
    fetch_outstanding = false;
    std::size_t taken = 0;
    for (const Block& b : bl.blocks) {
      if (b.header.height <= committed.height) continue;
      if (b.header.height != committed.height + 1) break;
      if (!InEpoch(b.header.height)) break;  // its validators are known once applied
      if (b.header.prev_hash != committed_hash) {
        return Status::InvalidArgument("fetched block " + std::to_string(b.header.height) +
                                       " does not link to the committed chain");
      }
      if (!b.certificate) return Status::InvalidArgument("fetched block has no certificate");
      NANUM_RETURN_IF_ERROR(CheckBlockContent(b));
      NANUM_RETURN_IF_ERROR(VerifyCert(*b.certificate, b.header));
      CommitBlock(b);
      ++taken;
    }
    if (taken > 0) {
      if (bl.blocks.size() >= kMaxBlocksPerFetch) RequestBlocks(m.from);
      Progress();
    }
    return Status::OK();
  }

  Status OnStatus(const Message& m, const StatusMsg& s) {
    if (IsValidator(m.from)) reported_height[m.from] = s.height;
    if (s.height > committed.height) RequestBlocks(m.from);
    if (s.height < committed.height && !IsValidator(m.from)) {
      // A validator that left the set and has not seen it yet hears from nobody else: tell it,
      // at most once per resend interval. (STATUS is not signed, so the map is bounded against
      // made-up senders.)
      if (status_replied.size() >= 2 * kMaxValidators) status_replied.clear();
      std::uint64_t& last = status_replied[m.from];
      if (last == 0 || last + cfg.resend_interval_ms <= now) {
        last = now;
        Send(m.from, StatusMsg{hs.view, hs.changing, committed.height});
      }
    }
    const bool behind = s.view < hs.view || (s.view == hs.view && s.changing);
    if (validator && behind && !hs.changing && new_view_msg && IsValidator(m.from)) {
      // At most once per view-change timeout per peer: a new view is large.
      std::uint64_t& last = new_view_forwarded[m.from];
      if (last == 0 || last + cfg.view_change_timeout_ms <= now) {
        last = now;
        out.messages.push_back(Outgoing{m.from, *new_view_msg});
      }
    }
    return Status::OK();
  }

  // True when at least f+1 validators (so one correct one) report a higher committed height.
  bool Lagging() const {
    std::vector<std::uint64_t> heights;
    for (const auto& [k, h] : reported_height) heights.push_back(h);
    if (heights.size() < f + 1) return false;
    std::sort(heights.begin(), heights.end(), std::greater<>());
    return heights[f] > committed.height;
  }

  // ---- timers ----

  // True when 2f other validators were heard from lately. A replica cut off from them could not
  // finish a view change, and one that starts alone waits in it until the others change view
  // too (it cannot go back: its view change may still be counted), so it does not start one.
  bool HearsQuorum() const {
    std::size_t heard = 0;
    for (const auto& [k, t] : last_heard) {
      if (t + 3 * cfg.resend_interval_ms >= now) ++heard;
    }
    return heard >= PreparesNeeded();
  }
  // ... and has been for two resend intervals, so their status reports (and with them whether
  // this replica is merely behind) have arrived.
  bool QuorumHeardSteadily() {
    if (!HearsQuorum()) {
      quorum_since.reset();
      return false;
    }
    if (!quorum_since) quorum_since = now;
    return *quorum_since + 2 * cfg.resend_interval_ms <= now;
  }

  void Tick(std::uint64_t t) {
    now = std::max(now, t);
    if (restart_view_change) {
      restart_view_change = false;
      StartViewChange(hs.view + 1, "restarted as the primary");
    }
    if (validator) {
      if (!hs.changing) {
        if (IsPrimary()) {
          MaybePropose();
        } else if (!Lagging() && QuorumHeardSteadily()) {
          if (const char* why = TimedOut()) StartViewChange(hs.view + 1, why);
        }
      } else if (vc_timer_running &&
                 now >= vc_started_ms + (cfg.view_change_timeout_ms
                                         << std::min(vc_attempt, kMaxBackoffShift))) {
        StartViewChange(hs.view + 1, "no new view in time");
      }
    }
    if (now >= last_resend_ms + cfg.resend_interval_ms) {
      last_resend_ms = now;
      Resend();
    }
  }

  // Whether this backup should vote the primary out. Waiting alone is not enough: under a
  // load above what the validators can commit, requests queue for longer than any timeout
  // while the primary works as hard as it can, and voting it out would only stop commits for
  // a view change (it did, every half second, at saturation). So a request or block counts
  // as waiting too long only
  // - when nothing has committed for request_timeout_ms while it waited (a primary that is
  //   down, silent or proposing what cannot commit), or
  // - for the oldest request, when one that arrived here kPassedOverTimeouts request timeouts
  //   after it has committed first (a primary passing it over). A correct primary takes
  //   requests in the order they reach it, and that differs from this replica's order only by
  //   network and queueing delays, far shorter than that.
  const char* TimedOut() const {
    const std::uint64_t base = view_entered_ms;
    const std::uint64_t progress = std::max(base, last_commit_ms);
    if (!order.empty()) {
      const Pending& p = pool.at(order.begin()->second);
      if (std::max(p.arrival_ms, progress) + cfg.request_timeout_ms <= now) {
        return "a request waited with no block committed";
      }
      if (passed_over) return "a request was passed over";
    }
    for (auto it = log.upper_bound(committed.height); it != log.end(); ++it) {
      if (it->second.block && std::max(it->second.since_ms, progress) + cfg.request_timeout_ms <= now) {
        return "a proposed block did not commit";
      }
    }
    return nullptr;
  }

  void Resend() {
    if (!validator) {
      // A follower polls the validators in turn, and sends the requests it forwarded (or
      // held when it left the validators) to them again until a block commits them: a lost
      // message must not lose a request. It gives up on one after kFollowerRequestTimeouts
      // request timeouts: by then the validators have it, or have refused it.
      Send(epoch.validators[fetch_rr++ % n],
           Fetch{committed.height + 1, static_cast<std::uint32_t>(kMaxBlocksPerFetch)});
      const std::uint64_t give_up_ms = kFollowerRequestTimeouts * cfg.request_timeout_ms;
      while (!order.empty()) {
        const Hash256 id = order.begin()->second;
        if (pool.at(id).arrival_ms + give_up_ms > now) break;
        RemoveFromPool(id);
        out.rejected.emplace_back(id, Status::TimedOut("not committed within " + std::to_string(give_up_ms) +
                                                       " ms of reaching this follower; submit it again"));
      }
      std::size_t sent = 0;
      for (const auto& [seq, id] : order) {
        const Pending& p = pool.at(id);
        if (p.arrival_ms + cfg.request_timeout_ms / 2 > now) break;
        Broadcast(Request{p.tx});
        if (++sent >= kMaxResendRequests) break;
      }
      return;
    }
    Broadcast(StatusMsg{hs.view, hs.changing, committed.height});
    if (own_checkpoint) out.messages.push_back(Outgoing{std::nullopt, *own_checkpoint});
    // Requests waiting long go to the primary again (to every validator while changing
    // view, so that whoever leads next has them).
    std::size_t sent = 0;
    for (const auto& [seq, id] : order) {
      const Pending& p = pool.at(id);
      if (p.arrival_ms + cfg.request_timeout_ms / 2 > now) break;
      if (hs.changing) {
        Broadcast(Request{p.tx});
      } else if (!IsPrimary()) {
        Send(PrimaryOf(hs.view), Request{p.tx});
      }
      if (++sent >= kMaxResendRequests) break;
    }
    if (hs.changing) {
      if (own_vc) out.messages.push_back(Outgoing{std::nullopt, *own_vc});
      return;
    }
    for (auto it = log.upper_bound(committed.height); it != log.end(); ++it) {
      const std::uint64_t h = it->first;
      Entry& e = it->second;
      if (!e.block || e.sent_ms + cfg.resend_interval_ms > now) continue;
      e.sent_ms = now;
      if (IsPrimary()) {
        Message m;
        m.from = self();
        m.sig = e.pp_sig;
        m.body = PrePrepare{hs.view, *e.block};
        out.messages.push_back(Outgoing{std::nullopt, std::move(m)});
      }
      if (e.prepare_sent) Broadcast(Prepare{hs.view, h, e.hash});
      if (e.commit_sent) Broadcast(Commit{hs.view, h, e.hash});
    }
  }

  // ---- dispatch ----

  Status Step(const Message& m) {
    if (m.from == self()) return Status::InvalidArgument("message from this replica itself");
    if (IsValidator(m.from)) last_heard[m.from] = now;
    return std::visit(
        [&](const auto& body) -> Status {
          using T = std::decay_t<decltype(body)>;
          if constexpr (std::is_same_v<T, Request>) {
            if (!validator) return Status::FailedPrecondition("a follower keeps no requests");
            Status s = AddToPool(body.tx);
            if (s.ok()) MaybePropose();
            return s;
          } else if constexpr (std::is_same_v<T, PrePrepare>) {
            return OnPrePrepare(m, body);
          } else if constexpr (std::is_same_v<T, Prepare>) {
            return OnVote(m, body.view, body.height, body.hash, false);
          } else if constexpr (std::is_same_v<T, Commit>) {
            return OnVote(m, body.view, body.height, body.hash, true);
          } else if constexpr (std::is_same_v<T, Checkpoint>) {
            return OnCheckpoint(m, body);
          } else if constexpr (std::is_same_v<T, ViewChange>) {
            return OnViewChange(m, body);
          } else if constexpr (std::is_same_v<T, NewView>) {
            return OnNewView(m, body);
          } else if constexpr (std::is_same_v<T, StatusMsg>) {
            return OnStatus(m, body);
          } else if constexpr (std::is_same_v<T, Fetch>) {
            return OnFetch(m, body);
          } else {
            return OnBlocks(m, body);
          }
        },
        m.body);
  }

  Ready TakeReady() {
    Ready r = std::move(out);
    out = Ready{};
    if (hs_dirty) {
      r.hard_state = hs.Encode();
      hs_dirty = false;
    }
    return r;
  }

  void Advance() {
    committed_unapplied_txs.clear();
    SignCheckpoints();
    if (committed_since_advance) {
      committed_since_advance = false;
      Epoch e = app->CurrentEpoch();
      if (e.start != epoch.start) {
        SwitchEpoch(std::move(e));
      } else {
        epoch.end = std::max(epoch.end, e.end);
      }
    }
    Progress();  // blocks waiting for their parent's state may check now
  }

  // Sets n, f and the quorum for the epoch's validators.
  void SetEpoch(Epoch e) {
    epoch = std::move(e);
    n = epoch.validators.size();
    f = (n - 1) / 3;
    quorum = Quorum(n);
    validator = IsValidator(self());
  }

  // The last block of the epoch is committed and applied: start the next one at view 0. No
  // vote, proposal or prepared proof exists above the committed height (nothing crosses an
  // epoch's end), so nothing of the old views is needed.
  void SwitchEpoch(Epoch e) {
    const bool was_validator = validator;
    SetEpoch(std::move(e));
    epoch_base_hash = committed_hash;
    hs = HardState{};
    hs.epoch = epoch.start;
    Dirty();
    log.clear();
    view_base = 0;
    view_entered_ms = now;
    passed_over = false;
    checkpoints.clear();
    stable = std::max(stable, committed.height - committed.height % cfg.checkpoint_interval);
    latest_vc.clear();
    own_vc.reset();
    new_view_msg.reset();
    new_view_forwarded.clear();
    vc_timer_running = false;
    vc_attempt = 0;
    restart_view_change = false;
    quorum_since.reset();
    for (auto it = last_heard.begin(); it != last_heard.end();) {
      it = IsValidator(it->first) ? std::next(it) : last_heard.erase(it);
    }
    for (auto it = reported_height.begin(); it != reported_height.end();) {
      it = IsValidator(it->first) ? std::next(it) : reported_height.erase(it);
    }
    fetch_outstanding = false;
    if (was_validator && !validator) {
      // Hand the pending requests to the new validators, and keep them to send again (Resend)
      // until they commit.
      for (const auto& [seq, id] : order) Broadcast(Request{pool.at(id).tx});
      idle.clear();
      own_checkpoint.reset();
    } else {
      ClearInFlight();
    }
  }
};

std::size_t Quorum(std::size_t n) {
  const std::size_t f = (n - 1) / 3;
  return (n + f) / 2 + 1;
}

Status Replica::CheckEpoch(const Epoch& e) {
  if (e.validators.empty() || e.validators.size() > kMaxValidators) {
    return Status::InvalidArgument("an epoch needs 1 to " + std::to_string(kMaxValidators) +
                                   " validators");
  }
  for (std::size_t i = 1; i < e.validators.size(); ++i) {
    if (!(e.validators[i - 1] < e.validators[i])) {
      return Status::InvalidArgument("validators must be sorted and distinct");
    }
  }
  if (e.start == 0 || e.end + 1 < e.start) {
    return Status::InvalidArgument("an epoch starts at height 1 or later and ends at or after its start minus one");
  }
  return Status::OK();
}

Status Replica::CheckConfig(const Config& c) {
  if (c.max_in_flight == 0 || c.max_batch_txs == 0) {
    return Status::InvalidArgument("max_in_flight and max_batch_txs must be positive");
  }
  if (c.checkpoint_interval == 0 || c.watermark_window < 2 * c.checkpoint_interval) {
    return Status::InvalidArgument("watermark_window must be at least twice checkpoint_interval");
  }
  if (c.max_in_flight > c.watermark_window) {
    return Status::InvalidArgument("max_in_flight must not exceed watermark_window");
  }
  if (c.resend_interval_ms == 0 || c.request_timeout_ms == 0 || c.view_change_timeout_ms == 0) {
    return Status::InvalidArgument("timeouts must be positive");
  }
  return Status::OK();
}

Replica::Replica(Config config, Application* app, const Block& head, const HardState& hard,
                 std::uint64_t now_ms)
    : impl_(std::make_unique<Impl>()) {
  assert(CheckConfig(config).ok());
  Impl& s = *impl_;
  s.cfg = std::move(config);
  s.pool = decltype(s.pool)(0, Impl::IdHash{s.cfg.pool_hash_salt});
  s.committed_unapplied_txs = decltype(s.committed_unapplied_txs)(0, Impl::IdHash{s.cfg.pool_hash_salt});
  s.app = app;
  s.SetEpoch(app->CurrentEpoch());
  assert(CheckEpoch(s.epoch).ok());
  if (head.header.height + 1 == s.epoch.start) {
    s.epoch_base_hash = head.Hash();
  } else if (std::optional<Block> base = app->CommittedBlock(s.epoch.start - 1)) {
    s.epoch_base_hash = base->Hash();
  }
  s.now = now_ms;
  s.view_entered_ms = now_ms;
  s.last_resend_ms = now_ms;
  s.committed = head.header;
  s.committed_hash = head.Hash();
  s.committed_cert = head.certificate;
  s.stable = head.header.height - head.header.height % s.cfg.checkpoint_interval;
  s.hs = hard;
  if (s.hs.epoch != s.epoch.start) {
    // Persisted in an earlier epoch (the switch was not yet written): its views are over.
    s.hs = HardState{};
    s.hs.epoch = s.epoch.start;
  }
  s.hs.votes.erase(s.hs.votes.begin(), s.hs.votes.upper_bound(head.header.height));
  s.hs.prepared.erase(s.hs.prepared.begin(), s.hs.prepared.upper_bound(head.header.height));
  if (!s.validator) return;
  // The checkpoint this replica signed last is gone with its memory; sign it again (the same
  // height and hash, so nothing new is said) for replicas that still need it.
  if (s.stable > 0) {
    if (std::optional<Block> b = app->CommittedBlock(s.stable)) {
      s.checkpoints_due.emplace_back(s.stable, b->Hash());
    }
  }
  if (s.hs.changing) {
    // The view change this replica signed before it stopped is lost with its log; it moves on
    // to the next view rather than sign a second, different one for the same view.
    s.restart_view_change = true;
  } else if (s.IsPrimary()) {
    // A primary does not remember the blocks it proposed, only their hashes: it gives up the
    // view rather than risk proposing a different block at a height it already proposed.
    s.restart_view_change =
        s.hs.view != 0 || !s.hs.votes.empty() || head.header.height + 1 > s.epoch.start;
  } else if (!s.hs.new_view.empty()) {
    Message nv;
    if (Message::Decode(s.hs.new_view, &nv).ok()) s.EnterView(nv);
  }
}

Replica::~Replica() = default;

Status Replica::Submit(const Transaction& tx) { return impl_->Submit(tx); }
Status Replica::Step(const Message& m) { return impl_->Step(m); }
void Replica::Tick(std::uint64_t now_ms) { impl_->Tick(now_ms); }
bool Replica::HasReady() const { return !impl_->out.empty() || impl_->hs_dirty; }
Ready Replica::GetReady() { return impl_->TakeReady(); }
void Replica::Advance() { impl_->Advance(); }
const PublicKey& Replica::id() const { return impl_->self(); }
bool Replica::is_validator() const { return impl_->validator; }
const Epoch& Replica::epoch() const { return impl_->epoch; }

ReplicaStatus Replica::status() const {
  const Impl& s = *impl_;
  ReplicaStatus st;
  st.epoch = s.epoch.start;
  st.validators = s.n;
  st.validator = s.validator;
  st.view = s.hs.view;
  st.changing = s.hs.changing;
  st.primary = s.IsPrimary();
  st.committed_height = s.committed.height;
  st.committed_hash = s.committed_hash;
  st.stable_checkpoint = s.stable;
  st.log_entries = s.log.size();
  st.pending = s.pool.size();
  st.view_changes_started = s.view_changes_started;
  st.view_change_reason = s.view_change_reason;
  st.lagging = s.Lagging();
  return st;
}

}  // namespace nanum::pbft
