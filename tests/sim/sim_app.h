// The simulator's application: a toy state machine that executes deterministically and checks
// what it is given, standing in for the chaincode (tests only).
#pragma once

#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "consensus/pbft.h"
#include "ledger/encoding.h"

namespace nanum::sim {

// The toy state machine: the state root chains the transaction roots, every transaction
// succeeds. What matters here is that execution is deterministic and checked.
inline Hash256 StateAfter(const Hash256& parent_state, const Hash256& tx_root) {
  Writer w;
  w.Fixed(parent_state);
  w.Fixed(tx_root);
  return TaggedHash("nanum/sim/state", w.data());
}

// A nonce that marks a request the application refuses outright.
inline bool Refused(const Transaction& tx) { return tx.body().nonce % 97 == 0; }

// The requests a censoring primary leaves out of its blocks (Byzantine::kCensor).
inline bool Censored(const Transaction& tx) { return tx.body().nonce % 3 == 0; }

// A committed Govern{SetValidators} changes the validator set this many blocks later (more
// than the simulator's max_in_flight, as the chaincode's delay is more than nanumd's), unless
// a change is already pending.
inline constexpr std::uint64_t kChangeDelay = 5;

inline const SetValidators* ValidatorChange(const Transaction& tx) {
  const auto* g = std::get_if<Govern>(&tx.body().payload);
  return g == nullptr ? nullptr : std::get_if<SetValidators>(&g->action);
}

class SimApp : public pbft::Application {
 public:
  SimApp(std::vector<Block>* disk, std::vector<PublicKey> genesis_validators) : disk_(disk) {
    sets_[1] = std::move(genesis_validators);
    for (const Block& b : *disk_) {
      for (const Transaction& tx : b.txs) committed_txs_.insert(tx.id());
      Schedule(b);
    }
  }

  pbft::Epoch CurrentEpoch() override {
    const std::uint64_t next = disk_->back().header.height + 1;
    auto it = std::prev(sets_.upper_bound(next));
    pbft::Epoch e;
    e.start = it->first;
    e.validators = it->second;
    auto later = std::next(it);
    e.end = later != sets_.end() ? later->first - 1 : next - 1 + kChangeDelay;
    return e;
  }

  // The validators in force at `height`, as far as the applied blocks say.
  const std::vector<PublicKey>& ValidatorsAt(std::uint64_t height) const {
    return std::prev(sets_.upper_bound(height))->second;
  }

  Status Admit(const Transaction& tx) override {
    if (Refused(tx)) return Status::InvalidArgument("the simulated application refuses it");
    if (committed_txs_.count(tx.id()) != 0) return Status::AlreadyExists("already committed");
    return Status::OK();
  }

  Status Build(const Hash256& parent_hash, std::uint64_t height, std::uint64_t time_ms,
               const PublicKey& proposer, const std::vector<Transaction>& txs, Block* out,
               std::vector<std::pair<Hash256, Status>>* rejected) override {
    const BlockHeader* parent = Find(parent_hash);
    if (parent == nullptr) return Status::FailedPrecondition("unknown parent");
    std::set<Hash256> above = TxsAbove(parent_hash);
    Block b;
    for (const Transaction& tx : txs) {
      if (committed_txs_.count(tx.id()) != 0 || above.count(tx.id()) != 0) {
        rejected->emplace_back(tx.id(), Status::AlreadyExists("already committed"));
        continue;
      }
      if (censor_ && Censored(tx)) continue;  // neither proposed nor rejected: left to wait
      b.txs.push_back(tx);
    }
    b.header.height = height;
    b.header.prev_hash = parent_hash;
    b.header.timestamp_ms = time_ms;
    b.header.proposer = proposer;
    b.header.tx_root = TxRoot(b.txs);
    b.header.state_root = StateAfter(parent->state_root, b.header.tx_root);
    b.header.results_root = ResultsRoot(std::vector<TxResult>(b.txs.size()));
    Remember(b);
    *out = std::move(b);
    return Status::OK();
  }

  // A censoring primary's application (Byzantine::kCensor).
  void set_censor(bool on) { censor_ = on; }

  Status Check(const Block& b) override {
    const BlockHeader* parent = Find(b.header.prev_hash);
    if (parent == nullptr) return Status::FailedPrecondition("unknown parent");
    NANUM_RETURN_IF_ERROR(Verify(b, *parent));
    std::set<Hash256> above = TxsAbove(b.header.prev_hash);
    for (const Transaction& tx : b.txs) {
      if (committed_txs_.count(tx.id()) != 0 || above.count(tx.id()) != 0) {
        return Status::InvalidArgument("block repeats a committed transaction");
      }
    }
    Remember(b);
    return Status::OK();
  }

  std::optional<Block> CommittedBlock(std::uint64_t height) override {
    if (height >= disk_->size()) return std::nullopt;
    return (*disk_)[height];
  }

  // Applies a committed block to the "disk". Errors are safety failures.
  Status Apply(const Block& b) {
    const Block& head = disk_->back();
    if (b.header.height != head.header.height + 1 || b.header.prev_hash != head.Hash()) {
      return Status::Corruption("committed block does not extend the chain");
    }
    NANUM_RETURN_IF_ERROR(Verify(b, head.header));
    for (const Transaction& tx : b.txs) {
      if (!committed_txs_.insert(tx.id()).second) {
        return Status::Corruption("committed block repeats a transaction");
      }
    }
    disk_->push_back(b);
    Schedule(b);
    for (auto it = spec_.begin(); it != spec_.end();) {
      it = it->second.header.height <= b.header.height ? spec_.erase(it) : std::next(it);
    }
    return Status::OK();
  }

 private:
  struct Spec {
    BlockHeader header;
    std::vector<Hash256> txs;
  };

  void Schedule(const Block& b) {
    const std::uint64_t h = b.header.height;
    for (const Transaction& tx : b.txs) {
      const SetValidators* sv = ValidatorChange(tx);
      if (sv == nullptr || sv->validators.empty()) continue;
      if (std::prev(sets_.end())->first > h) continue;  // a change is pending
      sets_[h + kChangeDelay] = sv->validators;
    }
  }

  static Status Verify(const Block& b, const BlockHeader& parent) {
    if (b.header.tx_root != TxRoot(b.txs)) return Status::InvalidArgument("wrong tx root");
    if (b.header.state_root != StateAfter(parent.state_root, b.header.tx_root)) {
      return Status::InvalidArgument("wrong state root");
    }
    if (b.header.results_root != ResultsRoot(std::vector<TxResult>(b.txs.size()))) {
      return Status::InvalidArgument("wrong results root");
    }
    return Status::OK();
  }

  const BlockHeader* Find(const Hash256& hash) const {
    if (disk_->back().Hash() == hash) return &disk_->back().header;
    auto it = spec_.find(hash);
    return it == spec_.end() ? nullptr : &it->second.header;
  }

  // Transactions in the uncommitted ancestors of `hash`.
  std::set<Hash256> TxsAbove(const Hash256& hash) const {
    std::set<Hash256> out;
    Hash256 h = hash;
    for (auto it = spec_.find(h); it != spec_.end(); it = spec_.find(h)) {
      out.insert(it->second.txs.begin(), it->second.txs.end());
      h = it->second.header.prev_hash;
    }
    return out;
  }

  void Remember(const Block& b) {
    Spec s;
    s.header = b.header;
    for (const Transaction& tx : b.txs) s.txs.push_back(tx.id());
    spec_[b.Hash()] = std::move(s);
  }

  std::vector<Block>* disk_;
  std::map<Hash256, Spec> spec_;
  std::set<Hash256> committed_txs_;
  std::map<std::uint64_t, std::vector<PublicKey>> sets_;  // by the first height in force
  bool censor_ = false;
};

}  // namespace nanum::sim
