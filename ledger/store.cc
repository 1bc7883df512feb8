#include "ledger/store.h"

#include <cstring>

#include <leveldb/db.h>
#include <leveldb/env.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <shared_mutex>

#include "ledger/encoding.h"
#include "ledger/limits.h"

namespace nanum {

// Key layout, one byte of kind then the rest:
//   'm' "head"         u64 height, fixed[32] block hash, fixed[32] state root
//   'b' u64 height     the block's canonical encoding (block.cc)
//   'h' fixed[32] hash u64 height
//   't' fixed[32] id   u64 height, u32 index in the block
//   'r' u64 height     the block's results (EncodeResults)
//   'w' u64 height     the block's write set (WriteSet::Encode)
//   's' state key      state value
//   'o' name           a record its owner keeps beside the ledger (PutMeta)
// Heights are big-endian so that LevelDB's byte order is height order.

namespace {

const std::string kHeadKey = "mhead";

std::string HeightKey(char kind, std::uint64_t height) {
  Writer w(9);
  w.U8(static_cast<std::uint8_t>(kind));
  w.U64(height);
  return w.Release();
}

std::string HashKey(char kind, const Hash256& h) {
  std::string k(1, kind);
  k.append(reinterpret_cast<const char*>(h.data()), h.size());
  return k;
}

std::string StateKey(std::string_view key) {
  std::string k(1, 's');
  k.append(key);
  return k;
}

std::string EncodeHead(const StoreHead& h) {
  Writer w(72);
  w.U64(h.height);
  w.Fixed(h.hash);
  w.Fixed(h.state_root);
  return w.Release();
}

}  // namespace

// A sorted key-value engine with atomic batches: the only thing the two store kinds differ in.
class KvEngine {
 public:
  struct Op {
    std::string key;
    std::optional<std::string> value;  // nullopt deletes
  };
  virtual ~KvEngine() = default;
  virtual Status Get(std::string_view key, std::string* value) const = 0;
  // Applies every op or none, and is durable when it returns OK.
  virtual Status Write(const std::vector<Op>& batch) = 0;
  // Raw keys starting with `prefix`, from `start` (>= prefix) on.
  virtual std::unique_ptr<StateIterator> NewIterator(std::string_view prefix,
                                                     std::string_view start) const = 0;
};

namespace {

// ---- LevelDB engine ----

class LevelDbIterator : public StateIterator {
 public:
  LevelDbIterator(leveldb::Iterator* it, std::string prefix, std::string_view start)
      : it_(it), prefix_(std::move(prefix)) {
    it_->Seek(leveldb::Slice(start.data(), start.size()));
  }
  bool Valid() const override {
    return it_->Valid() && it_->key().starts_with(leveldb::Slice(prefix_));
  }
  void Next() override { it_->Next(); }
  std::string_view key() const override { return {it_->key().data(), it_->key().size()}; }
  std::string_view value() const override { return {it_->value().data(), it_->value().size()}; }
  Status status() const override {
    leveldb::Status s = it_->status();
    return s.ok() ? Status::OK() : Status::IOError(s.ToString());
  }

 private:
  std::unique_ptr<leveldb::Iterator> it_;
  std::string prefix_;
};

// LevelDB's default Env, except that each piece of background work first puts the thread
// running it at the store's CompactionPriority (store.h). The thread is LevelDB's, so the
// priority is set from inside it, and only when it changes. "Normal" is the nice value of
// the thread that opened the store, as it was then.
class PriorityEnv : public leveldb::EnvWrapper {
 public:
  explicit PriorityEnv(CompactionPriority priority)
      : leveldb::EnvWrapper(leveldb::Env::Default()),
        priority_(priority),
        nice_(priority == CompactionPriority::kLow ? 19 : getpriority(PRIO_PROCESS, 0)) {}

  void Schedule(void (*work)(void*), void* arg) override {
    target()->Schedule(&Run, new Job{work, arg, priority_ == CompactionPriority::kIdle, nice_});
  }

 private:
  struct Job {
    void (*work)(void*);
    void* arg;
    bool idle;
    int nice;
  };

  static void Run(void* raw) {
    std::unique_ptr<Job> job(static_cast<Job*>(raw));
    thread_local std::optional<std::pair<bool, int>> current;
    if (current != std::pair{job->idle, job->nice}) {
      current = std::pair{job->idle, job->nice};  // once, even if refused: a refusal would repeat
      sched_param none{};
      sched_setscheduler(0, job->idle ? SCHED_IDLE : SCHED_OTHER, &none);
      setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), job->nice);
    }
    job->work(job->arg);
  }

  const CompactionPriority priority_;
  const int nice_;
};

class LevelDbEngine : public KvEngine {
 public:
  static Status Open(const std::string& dir, CompactionPriority priority, std::unique_ptr<KvEngine>* out) {
    auto e = std::unique_ptr<LevelDbEngine>(new LevelDbEngine(priority));
    e->filter_.reset(leveldb::NewBloomFilterPolicy(10));
    leveldb::Options opt;
    opt.create_if_missing = true;
    opt.paranoid_checks = true;
    opt.filter_policy = e->filter_.get();
    opt.env = &e->env_;
    leveldb::DB* db = nullptr;
    leveldb::Status s = leveldb::DB::Open(opt, dir, &db);
    if (!s.ok()) {
      if (s.IsCorruption()) return Status::Corruption("store " + dir + ": " + s.ToString());
      return Status::IOError("cannot open store " + dir + ": " + s.ToString() +
                             " (is another nanum process using this data directory?)");
    }
    e->db_.reset(db);
    *out = std::move(e);
    return Status::OK();
  }

  ~LevelDbEngine() override { db_.reset(); }  // before the filter and Env it uses

  Status Get(std::string_view key, std::string* value) const override {
    leveldb::Status s = db_->Get(leveldb::ReadOptions(), leveldb::Slice(key.data(), key.size()), value);
    if (s.IsNotFound()) return KeyNotFound();
    if (s.IsCorruption()) return Status::Corruption(s.ToString());
    if (!s.ok()) return Status::IOError(s.ToString());
    return Status::OK();
  }

  Status Write(const std::vector<Op>& batch) override {
    leveldb::WriteBatch wb;
    for (const auto& op : batch) {
      if (op.value) wb.Put(op.key, *op.value); else wb.Delete(op.key);
    }
    leveldb::WriteOptions wo;
    wo.sync = true;
    leveldb::Status s = db_->Write(wo, &wb);
    return s.ok() ? Status::OK() : Status::IOError("store write failed: " + s.ToString());
  }

  std::unique_ptr<StateIterator> NewIterator(std::string_view prefix,
                                             std::string_view start) const override {
    return std::make_unique<LevelDbIterator>(db_->NewIterator(leveldb::ReadOptions()),
                                             std::string(prefix), start);
  }

 private:
  explicit LevelDbEngine(CompactionPriority priority) : env_(priority) {}
  PriorityEnv env_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_;
  std::unique_ptr<leveldb::DB> db_;
};

// ---- In-memory engine ----

// Holds a copy of its range, taken under the lock: a consistent view that later writes do
// not disturb (test data sets are small).
class MemIterator : public StateIterator {
 public:
  explicit MemIterator(std::vector<std::pair<std::string, std::string>> rows)
      : rows_(std::move(rows)) {}
  bool Valid() const override { return i_ < rows_.size(); }
  void Next() override { ++i_; }
  std::string_view key() const override { return rows_[i_].first; }
  std::string_view value() const override { return rows_[i_].second; }
  Status status() const override { return Status::OK(); }

 private:
  std::vector<std::pair<std::string, std::string>> rows_;
  std::size_t i_ = 0;
};

class MemEngine : public KvEngine {
 public:
  Status Get(std::string_view key, std::string* value) const override {
    std::shared_lock lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return KeyNotFound();
    *value = it->second;
    return Status::OK();
  }
  Status Write(const std::vector<Op>& batch) override {
    std::unique_lock lock(mu_);
    for (const auto& op : batch) {
      if (op.value) map_[op.key] = *op.value; else map_.erase(op.key);
    }
    return Status::OK();
  }
  std::unique_ptr<StateIterator> NewIterator(std::string_view prefix,
                                             std::string_view start) const override {
    std::shared_lock lock(mu_);
    std::vector<std::pair<std::string, std::string>> rows;
    for (auto it = map_.lower_bound(start); it != map_.end() && it->first.starts_with(prefix); ++it) {
      rows.emplace_back(it->first, it->second);
    }
    return std::make_unique<MemIterator>(std::move(rows));
  }

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, std::string, std::less<>> map_;
};

// Presents the 's' range of the engine as the state, without the kind byte.
class StateRangeIterator : public StateIterator {
 public:
  explicit StateRangeIterator(std::unique_ptr<StateIterator> raw) : raw_(std::move(raw)) {}
  bool Valid() const override { return raw_->Valid(); }
  void Next() override { raw_->Next(); }
  std::string_view key() const override { return raw_->key().substr(1); }
  std::string_view value() const override { return raw_->value(); }
  Status status() const override { return raw_->status(); }

 private:
  std::unique_ptr<StateIterator> raw_;
};

}  // namespace

struct Store::Mutable {
  std::mutex append_mu;            // one Append at a time
  mutable std::shared_mutex head_mu;
  std::optional<StoreHead> head;   // guarded by head_mu
};

Store::Store(std::unique_ptr<KvEngine> engine)
    : engine_(std::move(engine)), m_(std::make_unique<Mutable>()) {}

Store::~Store() = default;

std::unique_ptr<Store> Store::NewInMemory() {
  auto store = std::unique_ptr<Store>(new Store(std::make_unique<MemEngine>()));
  store->tx_ids_ = std::make_unique<IdFilter>(std::size_t{1} << 12);
  return store;
}

Status Store::OpenLevelDb(const std::string& dir, std::unique_ptr<Store>* out,
                         const StoreOptions& options) {
  std::unique_ptr<KvEngine> engine;
  NANUM_RETURN_IF_ERROR(LevelDbEngine::Open(dir, options.compaction_priority, &engine));
  std::unique_ptr<Store> store(new Store(std::move(engine)));
  NANUM_RETURN_IF_ERROR(store->LoadHead().Prefixed("store " + dir));
  NANUM_RETURN_IF_ERROR(store->LoadTxIds().Prefixed("store " + dir));
  if (options.state_cache_bytes > 0) store->cache_ = std::make_unique<StateCache>(options.state_cache_bytes);
  *out = std::move(store);
  return Status::OK();
}

Status Store::OpenLevelDbForAudit(const std::string& dir, std::unique_ptr<Store>* out,
                                  Status* head_check) {
  std::unique_ptr<KvEngine> engine;
  NANUM_RETURN_IF_ERROR(LevelDbEngine::Open(dir, CompactionPriority::kLow, &engine));
  std::unique_ptr<Store> store(new Store(std::move(engine)));
  *head_check = store->LoadHead();
  *out = std::move(store);
  return Status::OK();
}

Status Store::LoadTxIds() {
  auto filter = std::make_unique<IdFilter>();
  for (auto it = engine_->NewIterator("t", "t"); it->Valid(); it->Next()) {
    const std::string_view k = it->key();
    if (k.size() != 1 + 32) return Status::Corruption("transaction index key of " + std::to_string(k.size()) + " bytes");
    Hash256 id;
    std::memcpy(id.data(), k.data() + 1, 32);
    filter->Add(id);
  }
  tx_ids_ = std::move(filter);
  return Status::OK();
}

Status Store::LoadHead() {
  std::string raw;
  Status s = engine_->Get(kHeadKey, &raw);
  if (s.IsNotFound()) {
    // An empty store must hold no blocks at all.
    auto it = engine_->NewIterator("b", "b");
    if (it->Valid()) return Status::Corruption("blocks are stored but the head record is missing");
    return it->status();
  }
  NANUM_RETURN_IF_ERROR(s);
  Reader r(raw, "head record");
  StoreHead head;
  head.height = r.U64();
  head.hash = r.Fixed<32>();
  head.state_root = r.Fixed<32>();
  if (!r.Finish().ok()) return Status::Corruption("head record does not decode");

  const std::string at = "at height " + std::to_string(head.height);
  Block block;
  s = GetBlock(head.height, &block);
  if (!s.ok()) return Status::Corruption("head block " + at + " unreadable: " + s.ToString());
  if (block.Hash() != head.hash) return Status::Corruption("head block " + at + " does not match the head's hash");
  if (block.header.state_root != head.state_root) {
    return Status::Corruption("state root " + at + " does not match the head record");
  }
  auto next = engine_->NewIterator("b", HeightKey('b', head.height + 1));
  if (next->Valid()) {
    return Status::Corruption("a block is stored above the head " + at);
  }
  std::unique_lock lock(m_->head_mu);
  m_->head = head;
  return Status::OK();
}

std::optional<StoreHead> Store::Head() const {
  std::shared_lock lock(m_->head_mu);
  return m_->head;
}

namespace {

Status CheckMeta(std::string_view name, std::string_view value) {
  if (name.empty() || name.size() > 64) {
    return Status::InvalidArgument("meta record name of " + std::to_string(name.size()) + " bytes; 1 to 64");
  }
  if (value.size() > (16u << 20)) {
    return Status::InvalidArgument("meta record of " + std::to_string(value.size()) + " bytes; at most 16 MiB");
  }
  return Status::OK();
}

}  // namespace

Status Store::Append(const Block& block, const std::vector<TxResult>& results,
                     const WriteSet& writes, const Meta* meta) {
  if (meta != nullptr) NANUM_RETURN_IF_ERROR(CheckMeta(meta->name, meta->value));
  std::lock_guard append_lock(m_->append_mu);
  const std::optional<StoreHead> head = Head();
  const BlockHeader& h = block.header;
  const std::uint64_t want = head ? head->height + 1 : 0;
  const std::string where = "block " + std::to_string(h.height);
  if (h.height != want) {
    return Status::FailedPrecondition(where + ": the store expects height " + std::to_string(want));
  }
  const Hash256 prev_hash = head ? head->hash : Hash256{};
  if (h.prev_hash != prev_hash) {
    return Status::FailedPrecondition(where + ": previous hash does not match the stored head");
  }
  NANUM_RETURN_IF_ERROR(CheckBlockContent(block));
  if (h.height > 0 && !block.certificate) {
    return Status::InvalidArgument(where + " has no commit certificate");
  }
  if (results.size() != block.txs.size()) {
    return Status::InvalidArgument(where + ": " + std::to_string(results.size()) + " results for " +
                                   std::to_string(block.txs.size()) + " transactions");
  }
  if (ResultsRoot(results) != h.results_root) {
    return Status::InvalidArgument(where + ": results do not match the header's results_root");
  }
  const Hash256 prev_root = head ? head->state_root : Hash256{};
  std::string encoded_writes = writes.Encode();
  if (NextStateRoot(prev_root, h.height, EncodedWriteSetDigest(encoded_writes)) != h.state_root) {
    return Status::InvalidArgument(where + ": writes do not match the header's state_root");
  }
  if (writes.size() > limits::kMaxWritesPerBlock) {
    return Status::TooLarge(where + ": " + std::to_string(writes.size()) + " writes");
  }
  for (const auto& [k, v] : writes.entries()) {
    if (k.empty() || k.size() > limits::kMaxStateKeyBytes ||
        (v && v->size() > limits::kMaxStateValueBytes)) {
      return Status::TooLarge(where + ": a state key or value is over its limit");
    }
  }
  std::string scratch;
  for (const auto& tx : block.txs) {
    if (!MayHoldTx(tx.id())) continue;
    Status s = engine_->Get(HashKey('t', tx.id()), &scratch);
    if (s.ok()) return Status::FailedPrecondition(where + ": transaction " + ToHex(tx.id()) + " is already stored");
    if (!s.IsNotFound()) return s;
  }

  const Hash256 hash = block.Hash();
  std::vector<KvEngine::Op> batch;
  batch.reserve(block.txs.size() + writes.size() + 5);
  batch.push_back({HeightKey('b', h.height), block.Encode()});
  {
    Writer w(8);
    w.U64(h.height);
    batch.push_back({HashKey('h', hash), w.Release()});
  }
  for (std::size_t i = 0; i < block.txs.size(); ++i) {
    Writer w(12);
    w.U64(h.height);
    w.U32(static_cast<std::uint32_t>(i));
    batch.push_back({HashKey('t', block.txs[i].id()), w.Release()});
  }
  batch.push_back({HeightKey('r', h.height), EncodeResults(results)});
  batch.push_back({HeightKey('w', h.height), std::move(encoded_writes)});
  for (const auto& [k, v] : writes.entries()) batch.push_back({StateKey(k), v});
  const StoreHead new_head{h.height, hash, h.state_root};
  batch.push_back({kHeadKey, EncodeHead(new_head)});
  if (meta != nullptr) batch.push_back({"o" + std::string(meta->name), std::string(meta->value)});
  // Before the write: should it fail, the filter only holds ids it need not (still correct).
  if (tx_ids_ != nullptr) {
    for (const auto& tx : block.txs) tx_ids_->Add(tx.id());
  }
  NANUM_RETURN_IF_ERROR(engine_->Write(batch).Prefixed(where));
  if (cache_ != nullptr) cache_->Update(writes);

  std::unique_lock lock(m_->head_mu);
  m_->head = new_head;
  return Status::OK();
}

Status Store::GetBlockBytes(std::uint64_t height, std::string* out) const {
  Status s = engine_->Get(HeightKey('b', height), out);
  if (s.IsNotFound()) return Status::NotFound("no block at height " + std::to_string(height));
  return s;
}

Status Store::GetBlock(std::uint64_t height, Block* out) const {
  std::string raw;
  NANUM_RETURN_IF_ERROR(GetBlockBytes(height, &raw));
  Status s = Block::Decode(raw, out);
  if (!s.ok()) return Status::Corruption("stored block " + std::to_string(height) + ": " + s.ToString());
  if (out->header.height != height) {
    return Status::Corruption("stored block " + std::to_string(height) + " says it is at height " +
                              std::to_string(out->header.height));
  }
  return Status::OK();
}

Status Store::GetHeightByHash(const Hash256& hash, std::uint64_t* height) const {
  std::string raw;
  Status s = engine_->Get(HashKey('h', hash), &raw);
  if (s.IsNotFound()) return Status::NotFound("no block with hash " + ToHex(hash));
  NANUM_RETURN_IF_ERROR(s);
  Reader r(raw, "block hash index");
  *height = r.U64();
  return r.Finish().ok() ? Status::OK() : Status::Corruption("block hash index entry does not decode");
}

Status Store::GetTxLocation(const Hash256& id, TxLocation* out) const {
  if (!MayHoldTx(id)) return Status::NotFound("no transaction " + ToHex(id));
  std::string raw;
  Status s = engine_->Get(HashKey('t', id), &raw);
  if (s.IsNotFound()) return Status::NotFound("no transaction " + ToHex(id));
  NANUM_RETURN_IF_ERROR(s);
  Reader r(raw, "transaction index");
  out->height = r.U64();
  out->index = r.U32();
  return r.Finish().ok() ? Status::OK() : Status::Corruption("transaction index entry does not decode");
}

Status Store::GetResults(std::uint64_t height, std::vector<TxResult>* out) const {
  std::string raw;
  Status s = engine_->Get(HeightKey('r', height), &raw);
  if (s.IsNotFound()) return Status::NotFound("no results at height " + std::to_string(height));
  NANUM_RETURN_IF_ERROR(s);
  s = DecodeResults(raw, out);
  return s.ok() ? s : Status::Corruption("results of block " + std::to_string(height) + ": " + s.ToString());
}

Status Store::GetWritesBytes(std::uint64_t height, std::string* out) const {
  Status s = engine_->Get(HeightKey('w', height), out);
  if (s.IsNotFound()) return Status::NotFound("no write set at height " + std::to_string(height));
  return s;
}

Status Store::GetWrites(std::uint64_t height, WriteSet* out) const {
  std::string raw;
  NANUM_RETURN_IF_ERROR(GetWritesBytes(height, &raw));
  Status s = WriteSet::Decode(raw, out);
  return s.ok() ? s : Status::Corruption("write set of block " + std::to_string(height) + ": " + s.ToString());
}

Status Store::PutMeta(std::string_view name, std::string_view value) {
  NANUM_RETURN_IF_ERROR(CheckMeta(name, value));
  std::vector<KvEngine::Op> batch;
  batch.push_back(KvEngine::Op{"o" + std::string(name), std::string(value)});
  return engine_->Write(batch).Prefixed("writing meta record " + std::string(name));
}

Status Store::GetMeta(std::string_view name, std::string* value) const {
  return engine_->Get("o" + std::string(name), value);
}

Status Store::Get(std::string_view key, std::string* value) const {
  if (cache_ == nullptr) return engine_->Get(StateKey(key), value);
  std::uint64_t generation = 0;
  if (auto hit = cache_->Lookup(key, &generation)) {
    if (!*hit) return KeyNotFound();
    *value = std::move(**hit);
    return Status::OK();
  }
  Status s = engine_->Get(StateKey(key), value);
  if (s.ok()) {
    cache_->Insert(key, *value, generation);
  } else if (s.IsNotFound()) {
    cache_->Insert(key, std::nullopt, generation);
  }
  return s;
}

std::unique_ptr<StateIterator> Store::NewIterator(std::string_view prefix,
                                                  std::string_view start) const {
  const std::string p = StateKey(prefix);
  const std::string from = start > prefix ? StateKey(start) : p;
  return std::make_unique<StateRangeIterator>(engine_->NewIterator(p, from));
}

}  // namespace nanum
