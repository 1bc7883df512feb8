// The chain as consensus sees it; see app.h.
#include "node/app.h"

#include <time.h>

#include <algorithm>

#include "chaincode/queries.h"

namespace nanum::node {

namespace {

std::uint64_t ThreadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace

// Transactions remembered between a request's admission and its block's commit.
constexpr std::size_t kMaxKnown = 262'144;

ChainApp::ChainApp(Store* store, std::string chain_id)
    : store_(store), chain_id_(std::move(chain_id)) {}

Status ChainApp::CheckNew(const Transaction& tx) {
  auto it = known_.find(tx.id());
  if (it != known_.end() && it->second == tx.signature()) return Status::OK();
  if (checks_++ % kSampleEvery == 0) {
    const std::uint64_t t0 = ThreadCpuNs();
    Status s = tx.Verify(chain_id_);
    sampled_cpu_ns_ += ThreadCpuNs() - t0;
    ++sampled_;
    NANUM_RETURN_IF_ERROR(s);
  } else {
    NANUM_RETURN_IF_ERROR(tx.Verify(chain_id_));
  }
  TxLocation loc;
  if (store_->GetTxLocation(tx.id(), &loc).ok()) {
    return Status::AlreadyExists("transaction " + ToHex(tx.id()) + " is already committed");
  }
  if (known_.size() >= kMaxKnown) known_.clear();  // bounded; a miss only costs the checks again
  known_.insert_or_assign(tx.id(), tx.signature());
  return Status::OK();
}

ChainApp::SignatureStats ChainApp::signature_stats() const {
  return {checks_, sampled_ == 0 ? 0 : sampled_cpu_ns_ * checks_ / sampled_};
}

Status ChainApp::Admit(const Transaction& tx) {
  NANUM_RETURN_IF_ERROR(CheckNew(tx));
  const std::uint64_t last = market::LastNonce(*store_, tx.body().signer);
  if (tx.body().nonce <= last) {
    return Status::FailedPrecondition("nonce " + std::to_string(tx.body().nonce) +
                                      " is not above the signer's last committed nonce " +
                                      std::to_string(last));
  }
  return Status::OK();
}

std::optional<ChainApp::Parent> ChainApp::FindParent(const Hash256& hash) const {
  auto it = spec_.find(hash);
  if (it != spec_.end()) return Parent{it->second.header.height, it->second.header.state_root};
  std::optional<StoreHead> head = store_->Head();
  if (!head || head->hash != hash) return std::nullopt;
  return Parent{head->height, head->state_root};
}

Status ChainApp::Includable(const Transaction& tx, const IdSet& above, IdSet* seen) {
  NANUM_RETURN_IF_ERROR(CheckNew(tx));
  if (above.count(tx.id()) != 0 || !seen->insert(tx.id()).second) {
    return Status::InvalidArgument("transaction " + ToHex(tx.id()) + " is already in the chain");
  }
  return Status::OK();
}

IdSet ChainApp::TxsAbove(const Hash256& hash) const {
  IdSet out;
  Hash256 h = hash;
  for (auto it = spec_.find(h); it != spec_.end(); it = spec_.find(h)) {
    out.insert(it->second.txs.begin(), it->second.txs.end());
    h = it->second.header.prev_hash;
  }
  return out;
}

Status ChainApp::Execute(const Hash256& parent_hash, const std::vector<Transaction>& txs,
                         BlockHeader* header, Spec* spec) {
  const std::optional<Parent> parent = FindParent(parent_hash);
  if (!parent) return Status::FailedPrecondition("parent block unknown");
  if (header->height != parent->height + 1) return Status::InvalidArgument("height does not follow the parent");
  // The state after the parent: the store, then a view of each uncommitted ancestor's writes
  // over the one below (read in place, not copied).
  std::vector<const WriteSet*> chain;
  for (auto it = spec_.find(parent_hash); it != spec_.end(); it = spec_.find(it->second.header.prev_hash)) {
    chain.push_back(&it->second.writes);
  }
  std::vector<WriteSetView> views;
  views.reserve(chain.size());
  const StateReader* state = store_;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) state = &views.emplace_back(state, *it);
  spec->results.clear();
  spec->writes.Clear();
  NANUM_RETURN_IF_ERROR(market::ExecuteBlock(*state, header->height, header->timestamp_ms, txs,
                                             &spec->results, &spec->writes));
  header->tx_root = TxRoot(txs);
  header->state_root = NextStateRoot(parent->state_root, header->height, spec->writes);
  header->results_root = ResultsRoot(spec->results);
  spec->txs.clear();
  for (const Transaction& tx : txs) spec->txs.push_back(tx.id());
  return Status::OK();
}

Status ChainApp::Build(const Hash256& parent_hash, std::uint64_t height, std::uint64_t time_ms,
                       const PublicKey& proposer, const std::vector<Transaction>& txs, Block* out,
                       std::vector<std::pair<Hash256, Status>>* rejected) {
  if (!FindParent(parent_hash)) return Status::FailedPrecondition("parent block unknown");
  const IdSet above = TxsAbove(parent_hash);
  IdSet seen;
  seen.reserve(txs.size());
  std::vector<Transaction> chosen;
  for (const Transaction& tx : txs) {
    if (Status s = Includable(tx, above, &seen); !s.ok()) {
      rejected->emplace_back(tx.id(), s);
      continue;
    }
    chosen.push_back(tx);
  }
  // Each signer's transactions in nonce order, in the places its transactions took: a sender
  // may submit nonces 5, 6, 7 quickly and they may arrive in any order.
  std::map<PublicKey, std::vector<std::size_t>> places;
  for (std::size_t i = 0; i < chosen.size(); ++i) places[chosen[i].body().signer].push_back(i);
  std::vector<Transaction> ordered(chosen.size());
  for (auto& [signer, idx] : places) {
    std::vector<const Transaction*> mine;
    for (std::size_t i : idx) mine.push_back(&chosen[i]);
    std::stable_sort(mine.begin(), mine.end(), [](const Transaction* a, const Transaction* b) {
      return a->body().nonce < b->body().nonce;
    });
    for (std::size_t k = 0; k < idx.size(); ++k) ordered[idx[k]] = *mine[k];
  }
  Block b;
  b.header.height = height;
  b.header.prev_hash = parent_hash;
  b.header.timestamp_ms = time_ms;
  b.header.proposer = proposer;
  Spec spec;
  NANUM_RETURN_IF_ERROR(Execute(parent_hash, ordered, &b.header, &spec));
  b.txs = std::move(ordered);
  spec.header = b.header;
  spec_[b.Hash()] = std::move(spec);
  *out = std::move(b);
  return Status::OK();
}

Status ChainApp::Check(const Block& block) {
  const Hash256 hash = block.Hash();
  if (spec_.count(hash) != 0) return Status::OK();
  NANUM_RETURN_IF_ERROR(CheckBlockContent(block));
  if (!FindParent(block.header.prev_hash)) return Status::FailedPrecondition("parent block unknown");
  const IdSet above = TxsAbove(block.header.prev_hash);
  IdSet seen;
  seen.reserve(block.txs.size());
  for (const Transaction& tx : block.txs) {
    if (Status s = Includable(tx, above, &seen); !s.ok()) return s.Prefixed("block " + std::to_string(block.header.height));
  }
  BlockHeader h = block.header;
  Spec spec;
  NANUM_RETURN_IF_ERROR(Execute(block.header.prev_hash, block.txs, &h, &spec));
  if (h.tx_root != block.header.tx_root || h.state_root != block.header.state_root ||
      h.results_root != block.header.results_root) {
    return Status::InvalidArgument("block " + std::to_string(block.header.height) +
                                   ": executing it gives other roots than its header's");
  }
  spec.header = block.header;
  spec_[hash] = std::move(spec);
  return Status::OK();
}

std::optional<Block> ChainApp::CommittedBlock(std::uint64_t height) {
  Block b;
  if (!store_->GetBlock(height, &b).ok()) return std::nullopt;
  return b;
}

pbft::Epoch ChainApp::CurrentEpoch() {
  const std::uint64_t next = store_->Head()->height + 1;
  market::ValidatorEpoch v;
  pbft::Epoch e;
  if (!market::ValidatorEpochAt(*store_, next, &v).ok()) return e;  // CheckEpoch refuses it
  e.start = v.start;
  e.end = v.end;
  e.validators = std::move(v.validators);
  return e;
}

Status ChainApp::Apply(const Block& block, std::vector<TxResult>* results, const Store::Meta* meta) {
  const Hash256 hash = block.Hash();
  auto it = spec_.find(hash);
  Spec fresh;
  Spec* spec = nullptr;
  if (it != spec_.end()) {
    spec = &it->second;
  } else {
    // Fetched from a peer (state transfer): check and execute it now.
    for (const Transaction& tx : block.txs) {
      if (Status s = CheckNew(tx); !s.ok()) return s.Prefixed("block " + std::to_string(block.header.height));
    }
    BlockHeader h = block.header;
    NANUM_RETURN_IF_ERROR(Execute(block.header.prev_hash, block.txs, &h, &fresh)
                              .Prefixed("block " + std::to_string(block.header.height)));
    spec = &fresh;
  }
  NANUM_RETURN_IF_ERROR(store_->Append(block, spec->results, spec->writes, meta)
                            .Prefixed("storing block " + std::to_string(block.header.height)));
  *results = spec->results;
  // Committed: known_ must not hold them any more (a replay is then refused by the store).
  for (const Transaction& tx : block.txs) known_.erase(tx.id());
  for (auto s = spec_.begin(); s != spec_.end();) {
    s = s->second.header.height <= block.header.height ? spec_.erase(s) : std::next(s);
  }
  return Status::OK();
}

}  // namespace nanum::node
