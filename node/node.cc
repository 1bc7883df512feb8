// The node's consensus thread; see node.h.
#include "node/node.h"

#include <chrono>
#include <filesystem>

#include "chaincode/queries.h"
#include "ledger/file.h"
#include "ledger/log.h"

namespace nanum::node {
namespace {

constexpr std::uint64_t kTickMs = 10;

// The consensus hard state (this validator's votes) is a meta record in the ledger's store:
// one synced LevelDB write per change, where a file of its own cost a new file, a rename
// and two syncs. Nodes from before kept it in this file, which is read once if the record
// is missing, then removed after the first write.
constexpr char kHardStateRecord[] = "consensus-state";
std::string LegacyHardStatePath(const std::string& dir) { return dir + "/consensus-state"; }

}  // namespace

std::uint64_t WallMs() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

Node::Node(NodeOptions options) : options_(std::move(options)) {}

Node::~Node() { Stop(); }

Status Node::Open(NodeOptions options, std::unique_ptr<Node>* out) {
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) return Status::IOError("data directory " + options.data_dir + ": " + ec.message());
  std::unique_ptr<Node> n(new Node(std::move(options)));
  NodeOptions& o = n->options_;

  Block genesis;
  WriteSet genesis_writes;
  NANUM_RETURN_IF_ERROR(market::GenesisBlock(o.genesis, &genesis, &genesis_writes).Prefixed("genesis"));
  n->genesis_hash_ = genesis.Hash();

  NANUM_RETURN_IF_ERROR(Store::OpenLevelDb(o.data_dir + "/ledger", &n->store_, o.store));
  if (!n->store_->Head()) {
    NANUM_RETURN_IF_ERROR(n->store_->Append(genesis, {}, genesis_writes).Prefixed("writing the genesis block"));
    Log(Level::kInfo, "initialised ledger", {{"chain", o.genesis.info.chain_id}, {"genesis", ToHex(n->genesis_hash_)}});
  } else {
    Block stored;
    NANUM_RETURN_IF_ERROR(n->store_->GetBlock(0, &stored).Prefixed("reading block 0"));
    if (stored.Hash() != n->genesis_hash_) {
      return Status::FailedPrecondition("the ledger in " + o.data_dir + " belongs to another genesis (block 0 is " +
                                        ToHex(stored.Hash()) + ", this genesis gives " + ToHex(n->genesis_hash_) + ")");
    }
  }

  n->app_ = std::make_unique<ChainApp>(n->store_.get(), o.genesis.info.chain_id);
  NANUM_RETURN_IF_ERROR(pbft::Replica::CheckEpoch(n->app_->CurrentEpoch()).Prefixed("validator set in the ledger"));
  o.consensus.key = o.key;
  o.consensus.pool_hash_salt = RandomSalt();
  NANUM_RETURN_IF_ERROR(pbft::Replica::CheckConfig(o.consensus).Prefixed("consensus settings"));

  pbft::HardState hs;
  std::string hard;
  Status read = n->store_->GetMeta(kHardStateRecord, &hard);
  std::string where = "the consensus state in " + o.data_dir + "/ledger";
  if (read.IsNotFound()) {
    where = LegacyHardStatePath(o.data_dir);
    read = ReadFile(where, "consensus hard state", &hard);
  }
  if (read.ok()) {
    NANUM_RETURN_IF_ERROR(pbft::HardState::Decode(hard, &hs).Prefixed(where));
  } else if (!read.IsNotFound()) {
    return read;
  }
  Block head;
  NANUM_RETURN_IF_ERROR(n->store_->GetBlock(n->store_->Head()->height, &head));
  n->replica_ = std::make_unique<pbft::Replica>(o.consensus, n->app_.get(), head, hs, WallMs());
  n->replica_status_ = n->replica_->status();
  n->head_ = *n->store_->Head();
  n->head_time_ms_ = head.header.timestamp_ms;
  n->validators_ = n->replica_->epoch().validators;
  *out = std::move(n);
  return Status::OK();
}

void Node::Start(Transport* transport) {
  transport_ = transport;
  thread_ = std::thread([this] { Loop(); });
}

void Node::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  committed_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Submissions the loop did not take (or all, if it never ran) get their answer too, so
  // that no client call is left open.
  std::deque<Item> left;
  {
    std::lock_guard<std::mutex> l(mu_);
    left.swap(queue_);
  }
  for (Item& it : left) {
    if (it.tx) RefuseStopping(&it);
  }
}

void Node::RefuseStopping(Item* it) {
  it->done(Status::Unavailable("the node is stopping"), it->tx->id(), std::nullopt);
}

void Node::Enqueue(std::vector<Item> items) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!stop_) {
      for (Item& it : items) queue_.push_back(std::move(it));
      items.clear();
    }
  }
  for (Item& it : items) RefuseStopping(&it);  // outside the lock: `done` may call back in
  cv_.notify_one();
}

void Node::Submit(Transaction tx, bool wait, std::uint64_t timeout_ms, SubmitDone done) {
  std::vector<Item> one(1);
  one[0].tx = std::move(tx);
  one[0].wait = wait;
  one[0].timeout_ms = timeout_ms;
  one[0].done = std::move(done);
  Enqueue(std::move(one));
}

void Node::SubmitBatch(std::vector<Transaction> txs, bool wait, std::uint64_t timeout_ms, BatchDone done) {
  auto shared = std::make_shared<BatchDone>(std::move(done));
  std::vector<Item> items(txs.size());
  for (std::size_t i = 0; i < txs.size(); ++i) {
    items[i].tx = std::move(txs[i]);
    items[i].wait = wait;
    items[i].timeout_ms = timeout_ms;
    items[i].done = [shared, i](const Status& s, const Hash256& id, const std::optional<TxOutcome>& o) {
      (*shared)(i, s, id, o);
    };
  }
  Enqueue(std::move(items));
}

void Node::Deliver(std::string bytes) {
  std::vector<std::string> one;
  one.push_back(std::move(bytes));
  Deliver(std::move(one));
}

void Node::Deliver(std::vector<std::string> messages) {
  {
    std::lock_guard<std::mutex> l(mu_);
    for (std::string& m : messages) {
      if (queue_.size() >= kMaxQueued) break;
      Item it;
      it.message = std::move(m);
      queue_.push_back(std::move(it));
    }
  }
  cv_.notify_one();
}

NodeStatusInfo Node::status() const {
  NodeStatusInfo s;
  s.community = options_.genesis.info.name;
  s.chain_id = options_.genesis.info.chain_id;
  s.genesis_hash = genesis_hash_;
  std::lock_guard<std::mutex> l(mu_);
  s.head = head_;
  s.block_time_ms = head_time_ms_;
  s.replica = replica_status_;
  s.peers = transport_ ? transport_->Connected() : 0;
  return s;
}

NodeCounters Node::counters() const {
  std::lock_guard<std::mutex> l(mu_);
  return counters_;
}

std::vector<PublicKey> Node::validators() const {
  std::lock_guard<std::mutex> l(mu_);
  return validators_;
}

Status Node::PersistHardState(const std::string& bytes) {
  NANUM_RETURN_IF_ERROR(store_->PutMeta(kHardStateRecord, bytes));
  HardStatePersisted();
  return Status::OK();
}

void Node::HardStatePersisted() {
  if (!legacy_hard_state_removed_) {
    std::error_code ec;
    std::filesystem::remove(LegacyHardStatePath(options_.data_dir), ec);
    legacy_hard_state_removed_ = !ec;
  }
}

void Node::Loop() {
  std::uint64_t next_tick = WallMs();
  for (;;) {
    std::deque<Item> items;
    {
      std::unique_lock<std::mutex> l(mu_);
      // While this node is the primary with requests waiting, tick every millisecond so that
      // a batch is cut as soon as its delay is up.
      const bool proposing = replica_status_.primary && replica_status_.pending > 0;
      cv_.wait_for(l, std::chrono::milliseconds(proposing ? 1 : kTickMs), [&] { return stop_ || !queue_.empty(); });
      if (stop_) break;
      items.swap(queue_);
    }
    const std::uint64_t now = WallMs();
    {
      std::lock_guard<std::mutex> l(mu_);
      counters_.loop_ms = now;
      while (!recent_commits_.empty() && recent_commits_.front().first + NodeCounters::kRateWindowMs <= now) {
        counters_.txs_in_window -= recent_commits_.front().second;
        recent_commits_.pop_front();
      }
    }
    for (Item& it : items) {
      if (it.tx) {
        const Hash256 id = it.tx->id();
        Status s = replica_->Submit(*it.tx);
        {
          std::lock_guard<std::mutex> l(mu_);
          (s.ok() ? counters_.submits_accepted : counters_.submits_refused)++;
        }
        if (!s.ok()) {
          it.done(s, id, std::nullopt);
        } else {
          accepted_at_.emplace(id, now);
          {
            std::lock_guard<std::mutex> l(mu_);
            std::uint64_t& hi = pending_nonce_[it.tx->body().signer];
            hi = std::max(hi, it.tx->body().nonce);
            if (pending_nonce_.size() > kMaxPendingNonces) pending_nonce_.clear();  // bounded; only a hint
          }
          if (it.wait) {
            const std::uint64_t timeout = it.timeout_ms == 0 ? 10'000 : it.timeout_ms;
            waiters_.emplace(id, Waiter{std::move(it.done), now + timeout, now, true});
          } else {
            it.done(Status::OK(), id, std::nullopt);
          }
        }
      } else {
        pbft::Message m;
        if (pbft::Message::Decode(it.message, &m).ok()) {
          Status ignored = replica_->Step(m);  // refusals are normal (late, duplicate, …)
          (void)ignored;
        }
      }
    }
    // One Ready for everything that arrived: one hard-state write, one send per message.
    HandleReady();
    const bool proposing = replica_status_.primary && replica_status_.pending > 0;
    if (now >= next_tick || proposing) {
      replica_->Tick(now);
      next_tick = now + kTickMs;
      HandleReady();
      for (auto w = waiters_.begin(); w != waiters_.end();) {
        if (w->second.deadline_ms <= now) {
          w->second.done(Status::TimedOut("not committed within the timeout; it may still commit"),
                         w->first, std::nullopt);
          w = waiters_.erase(w);
        } else {
          ++w;
        }
      }
    }
  }
  for (auto& [id, w] : waiters_) w.done(Status::Unavailable("the node is stopping"), id, std::nullopt);
  waiters_.clear();
}

void Node::HandleReady() {
  {
    // Before any client hears of a commit: the checks that led to it are counted.
    const ChainApp::SignatureStats sig = app_->signature_stats();
    std::lock_guard<std::mutex> l(mu_);
    counters_.signature_checks = sig.checks;
    counters_.signature_check_cpu_ns = sig.cpu_ns;
  }
  while (replica_->HasReady()) {
    pbft::Ready r = replica_->GetReady();
    // The votes must be on disk before any message leaves. With a block to store as well,
    // they go in the block's write: one synced write instead of two.
    const bool with_block = r.hard_state && !r.committed.empty();
    if (r.hard_state && !with_block) {
      Status s = PersistHardState(*r.hard_state);
      if (!s.ok()) {
        // Sending votes that are not on disk could make this node equivocate after a crash.
        Log(Level::kFatal, "cannot persist consensus state; stopping", {{"error", s.ToString()}});
        std::abort();
      }
    }
    const std::uint64_t now = WallMs();
    Store::Meta votes;
    if (with_block) votes = {kHardStateRecord, *r.hard_state};
    for (const Block& b : r.committed) {
      std::vector<TxResult> results;
      const bool first = &b == &r.committed.front();
      Status s = app_->Apply(b, &results, with_block && first ? &votes : nullptr);
      if (s.ok() && with_block && first) HardStatePersisted();
      if (!s.ok()) {
        Log(Level::kFatal, "cannot store a committed block; stopping",
            {{"height", std::to_string(b.header.height)}, {"error", s.ToString()}});
        std::abort();
      }
      std::lock_guard<std::mutex> l(mu_);
      head_ = StoreHead{b.header.height, b.Hash(), b.header.state_root};
      head_time_ms_ = b.header.timestamp_ms;
      committed_cv_.notify_all();
      counters_.blocks_committed++;
      counters_.txs_committed += b.txs.size();
      counters_.txs_in_window += b.txs.size();
      recent_commits_.emplace_back(now, b.txs.size());
      for (std::size_t i = 0; i < b.txs.size(); ++i) {
        const Hash256& id = b.txs[i].id();
        auto acc = accepted_at_.find(id);
        if (acc != accepted_at_.end()) {
          const std::uint64_t ms = now - acc->second;
          std::size_t k = 0;
          while (k < std::size(NodeCounters::kBuckets) && ms > NodeCounters::kBuckets[k]) ++k;
          counters_.latency_count[k]++;
          counters_.latency_sum_ms += ms;
          accepted_at_.erase(acc);
        }
        auto [lo, hi] = waiters_.equal_range(id);
        for (auto w = lo; w != hi; ++w) {
          w->second.done(Status::OK(), id,
                         TxOutcome{b.header.height, static_cast<std::uint32_t>(i), results[i].code});
        }
        waiters_.erase(lo, hi);
      }
    }
    for (auto& [id, why] : r.rejected) {
      accepted_at_.erase(id);
      auto [lo, hi] = waiters_.equal_range(id);
      for (auto w = lo; w != hi; ++w) w->second.done(why, id, std::nullopt);
      waiters_.erase(lo, hi);
    }
    if (transport_ != nullptr) {
      const std::vector<PublicKey>& set = replica_->epoch().validators;
      for (const pbft::Outgoing& o : r.messages) transport_->Send(o.to, set, o.msg.Encode());
    }
    replica_->Advance();
  }
  UpdateSnapshot();
}

std::uint64_t Node::NextNonce(const PublicKey& key) const {
  std::uint64_t last = market::LastNonce(*store_, key);
  std::lock_guard<std::mutex> l(mu_);
  auto it = pending_nonce_.find(key);
  if (it != pending_nonce_.end()) last = std::max(last, it->second);
  return last + 1;
}

std::uint64_t Node::WaitForBlockAbove(std::uint64_t height, std::uint64_t timeout_ms) const {
  std::unique_lock<std::mutex> l(mu_);
  committed_cv_.wait_for(l, std::chrono::milliseconds(timeout_ms), [&] { return stop_ || head_.height > height; });
  return head_.height;
}

bool Node::stopping() const {
  std::lock_guard<std::mutex> l(mu_);
  return stop_;
}

void Node::UpdateSnapshot() {
  // Also when there was no Ready: a request that joined the pool changes `pending`, which
  // decides how often the loop ticks.
  std::lock_guard<std::mutex> l(mu_);
  const pbft::ReplicaStatus before = replica_status_;
  replica_status_ = replica_->status();
  if (replica_status_.epoch != before.epoch) {
    validators_ = replica_->epoch().validators;
    Log(Level::kInfo, "validator set changed", {{"from_height", std::to_string(replica_status_.epoch)},
                                                {"validators", std::to_string(validators_.size())},
                                                {"validator", replica_status_.validator ? "true" : "false"}});
  }
  if (replica_status_.view != before.view || replica_status_.changing != before.changing) {
    if (replica_status_.changing) {
      Log(Level::kInfo, "view change started",
          {{"view", std::to_string(replica_status_.view)}, {"height", std::to_string(replica_status_.committed_height)},
           {"reason", replica_status_.view_change_reason}});
    } else {
      Log(Level::kInfo, "view changed",
          {{"view", std::to_string(replica_status_.view)}, {"primary", replica_status_.primary ? "true" : "false"},
           {"height", std::to_string(replica_status_.committed_height)}});
    }
  }
}

}  // namespace nanum::node
