// The audit; see audit.h.
//
// Pipeline: a checker thread reads windows of blocks from the source and checks what each
// block shows by itself (decode, content, every signature, on `threads` threads), up to a
// few windows ahead of the replay on the calling thread. Replay is sequential by nature:
// each block executes on the state the one before left. While the replay has no checked
// window to take, it checks signatures with the checker.
#include "cli/audit.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <time.h>

#include "chaincode/invariants.h"
#include "chaincode/queries.h"
#include "cli/replay_state.h"
#include "consensus/pbft.h"
#include "ledger/id_hash.h"

namespace nanum::audit {
namespace {

constexpr std::size_t kWindowTxs = 8192;      // transactions per window, about 0.1 s of checks
constexpr std::size_t kWindowBlocks = 1024;   // blocks per window when blocks are small
constexpr std::size_t kChunkTxs = 64;         // transactions per unit of signature work

// ---- Sources ----

class StoreSourceImpl : public Source {
 public:
  StoreSourceImpl(const Store* store, std::unique_ptr<Store> owned, Status head_check)
      : store_(store), owned_(std::move(owned)), head_check_(std::move(head_check)) {}

  Status Head(std::uint64_t* height) override {
    // The last block stored, found by reading up from the head record's height (or 0): a
    // damaged head record must not hide blocks from the audit.
    std::uint64_t h = 0;
    if (auto head = store_->Head()) h = head->height;
    std::string bytes;
    if (!store_->GetBlockBytes(h, &bytes).ok()) {
      if (h == 0) return Status::NotFound("the data directory holds no blocks");
      h = 0;
    }
    while (store_->GetBlockBytes(h + 1, &bytes).ok()) ++h;
    *height = h;
    return Status::OK();
  }
  Status Fetch(std::uint64_t height, SourceBlock* out) override {
    NANUM_RETURN_IF_ERROR(store_->GetBlockBytes(height, &out->bytes));
    // The stored results are decoded strictly (a record that decodes has exactly one
    // encoding), so comparing them decoded compares the stored bytes. The write set, a
    // thousand entries a block, is compared encoded, which spares decoding it.
    out->keeps_records = true;
    out->stored = store_->GetResults(height, &out->results);
    if (out->stored.ok()) out->stored = store_->GetWritesBytes(height, &out->writes);
    return Status::OK();
  }
  std::optional<StoreHead> HeadRecord() override { return store_->Head(); }
  Status HeadCheck() override { return head_check_; }
  const StateReader* LiveState() override { return store_; }

 private:
  const Store* store_;
  std::unique_ptr<Store> owned_;
  Status head_check_;
};

// ---- The window of blocks being checked ----

struct Item {
  std::uint64_t height = 0;
  SourceBlock src;
  Block block;
  Hash256 hash{};
  // The first failure the parallel checks found: rule and detail, empty when none.
  std::string rule, detail;
  std::vector<char> tx_ok;    // per transaction: its signature verified for this chain
  std::vector<char> cert_ok;  // per certificate signature
  // The digests of the stored results and writes, when the source keeps them: the replay
  // uses them once it has found its own results and writes equal to the stored ones.
  Hash256 stored_results_root{}, stored_writes_digest{};
};

void Fail(Item* it, std::string rule, std::string detail) {
  if (it->rule.empty()) {
    it->rule = std::move(rule);
    it->detail = std::move(detail);
  }
}

std::uint64_t ThreadCpuNanos() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000U + static_cast<std::uint64_t>(ts.tv_nsec);
}

// Checked windows on their way from the checker thread to the replay.
struct Window {
  std::vector<Item> items;
  Status read;  // a read error after the items
};

// The checker thread pushes checked windows, up to kWindowsAhead ahead of the replay, which
// pops them. The checker's parallel loops (Share) are open to the replay thread too: while
// it waits for a window, it works on them. On two cores that keeps two threads busy, not
// three, so the replay is not preempted by a checker for its core and its caches.
class Pipeline {
 public:
  static constexpr std::size_t kWindowsAhead = 4;
  explicit Pipeline(bool replay_helps) : replay_helps_(replay_helps) {}
  // Blocks while full; false once closed.
  bool Push(Window w) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return closed_ || q_.size() < kWindowsAhead; });
    if (closed_) return false;
    q_.push_back(std::move(w));
    cv_.notify_all();
    return true;
  }
  // Waits for a window, working on the checker's loop meanwhile.
  void Pop(Window* w) {
    std::unique_lock lock(mu_);
    while (q_.empty()) {
      if (!replay_helps_ || job_ == nullptr || next_ >= job_n_) {
        cv_.wait(lock);
        continue;
      }
      const std::function<void(std::size_t)>* job = job_;
      ++joined_;
      lock.unlock();
      Drain(*job);
      lock.lock();
      if (--joined_ == 0) cv_.notify_all();
    }
    *w = std::move(q_.front());
    q_.pop_front();
    cv_.notify_all();
  }
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  // Runs work(i) for i in [0, n) on the calling thread, `extra` threads of its own and the
  // replay thread if it is waiting; returns when every item is done. One loop at a time.
  void Share(std::size_t n, int extra, const std::function<void(std::size_t)>& work) {
    {
      std::lock_guard lock(mu_);
      job_ = &work;
      job_n_ = n;
      next_ = 0;
      cv_.notify_all();
    }
    std::vector<std::thread> pool;
    const std::size_t spawn = std::min<std::size_t>(n, static_cast<std::size_t>(std::max(0, extra)));
    for (std::size_t t = 0; t < spawn; ++t) pool.emplace_back([&] { Drain(work); });
    Drain(work);
    for (auto& t : pool) t.join();
    std::unique_lock lock(mu_);
    job_ = nullptr;
    cv_.wait(lock, [&] { return joined_ == 0; });
  }
  // A replayed window goes back to the checker thread, which frees it between windows:
  // freeing thousands of blocks' records is work the replay need not wait for.
  void Recycle(Window w) {
    std::lock_guard lock(mu_);
    spent_.push_back(std::move(w));
  }
  void FreeSpent() {
    std::vector<Window> spent;
    {
      std::lock_guard lock(mu_);
      spent.swap(spent_);
    }
  }

 private:
  void Drain(const std::function<void(std::size_t)>& work) {
    for (std::size_t i = next_++; i < job_n_; i = next_++) work(i);
  }

  const bool replay_helps_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Window> q_;
  std::vector<Window> spent_;
  bool closed_ = false;
  const std::function<void(std::size_t)>* job_ = nullptr;  // the loop Share is running
  std::size_t job_n_ = 0;
  std::atomic<std::size_t> next_{0};
  int joined_ = 0;  // replay threads inside the loop
};

// Decodes and checks everything a block shows by itself: the parallel half of the audit.
// Adds the CPU time spent verifying transaction signatures to `verify_ns`.
void CheckWindow(std::vector<Item>* window, const std::string& chain_id, int extra, Pipeline* pipe,
                 std::atomic<std::uint64_t>* verify_ns) {
  pipe->Share(window->size(), extra, [&](std::size_t i) {
    Item& it = (*window)[i];
    if (!it.rule.empty()) return;
    if (Status s = Block::Decode(it.src.bytes, &it.block); !s.ok()) {
      Fail(&it, "decode", "the stored block does not decode: " + s.ToString());
      return;
    }
    it.hash = it.block.Hash();
    if (it.block.header.height != it.height) {
      Fail(&it, "height", "the block stored at this height says it is block " + std::to_string(it.block.header.height));
      return;
    }
    if (Status s = CheckBlockContent(it.block); !s.ok()) Fail(&it, "content", s.ToString());
    if (it.src.keeps_records && it.src.stored.ok()) {
      it.stored_results_root = ResultsRoot(it.src.results);
      it.stored_writes_digest = EncodedWriteSetDigest(it.src.writes);
    }
    it.tx_ok.assign(it.block.txs.size(), 0);
    if (it.block.certificate) {
      const Hash256 digest = CommitDigest(it.height, it.block.certificate->view, it.hash);
      for (const CommitSignature& cs : it.block.certificate->signatures) {
        it.cert_ok.push_back(Verify(cs.validator, digest, cs.signature) ? 1 : 0);
      }
    }
  });
  struct Chunk {
    Item* item;
    std::size_t begin, end;
  };
  std::vector<Chunk> chunks;
  for (Item& it : *window) {
    for (std::size_t b = 0; b < it.tx_ok.size(); b += kChunkTxs) {
      chunks.push_back({&it, b, std::min(it.tx_ok.size(), b + kChunkTxs)});
    }
  }
  pipe->Share(chunks.size(), extra, [&](std::size_t c) {
    const Chunk& ch = chunks[c];
    const std::uint64_t start = ThreadCpuNanos();
    for (std::size_t k = ch.begin; k < ch.end; ++k) ch.item->tx_ok[k] = ch.item->block.txs[k].Verify(chain_id).ok();
    *verify_ns += ThreadCpuNanos() - start;
  });
}

// ---- The replay ----

// Reads both states in key order over the keys in [from, to) (an empty `to`: to the end) and
// names the first key where they differ.
Status CompareRange(const StateReader& replay, const StateReader& live, const std::string& from, const std::string& to) {
  auto a = replay.NewIterator("", from);
  auto b = live.NewIterator("", from);
  auto in_range = [&](const std::unique_ptr<StateIterator>& it) { return it->Valid() && (to.empty() || it->key() < to); };
  for (;;) {
    const bool av = in_range(a), bv = in_range(b);
    if (!av && !bv) break;
    if (av && bv && a->key() == b->key()) {
      if (a->value() != b->value()) return Status::Corruption("state key " + ToHex(a->key()) + " holds another value");
      a->Next();
      b->Next();
      continue;
    }
    if (!bv || (av && a->key() < b->key())) return Status::Corruption("state key " + ToHex(a->key()) + " is missing");
    return Status::Corruption("state key " + ToHex(b->key()) + " is there but the replay never wrote it");
  }
  NANUM_RETURN_IF_ERROR(a->status());
  return b->status();
}

// CompareRange over the whole state, in key ranges that two threads take in turn: at the end
// of the audit nothing else is left to run, and many ranges keep both busy to the end. The
// first difference in key order is reported.
Status CompareStates(const ReplayState& replay, const StateReader& live) {
  const std::vector<std::string> splits = replay.SplitKeys();
  const std::size_t ranges = splits.size() + 1;
  std::vector<Status> result(ranges);
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t r = next++; r < ranges; r = next++) {
      result[r] = CompareRange(replay, live, r == 0 ? std::string() : splits[r - 1], r == splits.size() ? std::string() : splits[r]);
    }
  };
  std::thread t(work);
  work();
  t.join();
  for (const Status& s : result) NANUM_RETURN_IF_ERROR(s);
  return Status::OK();
}

// The transactions replayed so far, by the first 8 bytes of their ids, with the height of
// the block that held each. Open addressing over one array (16 bytes an id), grown by
// doubling: a million ids are one cache miss each, not a node allocation each.
class SeenIds {
 public:
  // Records `prefix` at `height` and returns true; false if it was there, with its height.
  bool Insert(std::uint64_t prefix, std::uint64_t height, std::uint64_t* earlier) {
    if (2 * (used_ + 1) > slots_.size()) Grow();
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = Mix(prefix) & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.height_plus_one == 0) {
        s = {prefix, height + 1};
        ++used_;
        return true;
      }
      if (s.prefix == prefix) {
        *earlier = s.height_plus_one - 1;
        return false;
      }
    }
  }

 private:
  struct Slot {
    std::uint64_t prefix = 0;
    std::uint64_t height_plus_one = 0;  // 0: empty
  };
  // The ids come from the ledger under audit, which may have been made to collide; the
  // salt, drawn per run, keeps their places unpredictable.
  std::uint64_t Mix(std::uint64_t x) const { return MixWord(x, salt_); }
  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(std::max<std::size_t>(1024, 2 * old.size()), Slot{});
    const std::size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.height_plus_one == 0) continue;
      std::size_t i = Mix(s.prefix) & mask;
      while (slots_[i].height_plus_one != 0) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  std::size_t used_ = 0;
  const std::uint64_t salt_ = RandomSalt();
};

class Replay {
 public:
  Replay(const market::Genesis& genesis, Source* source, const Options& options, Report* report)
      : genesis_(genesis), source_(source), options_(options), report_(report) {}

  Status Run() {
    std::uint64_t head = 0;
    NANUM_RETURN_IF_ERROR(source_->Head(&head));
    report_->head_height = head;
    const int cores = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
    const int threads = options_.threads > 0 ? options_.threads : cores;
    report_->cores = std::min(threads, cores);
    std::atomic<std::uint64_t> verify_ns{0};
    // The checker: reads and checks windows in order, up to kWindowsAhead ahead of the
    // replay, so that neither waits for the other while there is work.
    // `threads` counts the replay thread, which checks while it waits for a window: the
    // checker thread, threads - 2 more, and the replay. One thread: the checker alone.
    Pipeline pipe(threads > 1);
    std::thread checker([&] {
      std::uint64_t next = 0;
      while (next <= head) {
        Window w;
        std::size_t txs = 0;
        while (next <= head && w.items.size() < kWindowBlocks && txs < kWindowTxs) {
          Item it;
          it.height = next;
          Status s = source_->Fetch(next, &it.src);
          if (s.IsNotFound()) {
            Fail(&it, "missing", "the source has no block at this height, below its head " + std::to_string(head));
          } else if (!s.ok()) {
            w.read = s.Prefixed("reading block " + std::to_string(next));
            break;
          }
          txs += it.src.bytes.size() / 200;  // an estimate from the size; the checkers decode
          w.items.push_back(std::move(it));
          ++next;
        }
        CheckWindow(&w.items, genesis_.info.chain_id, std::max(0, threads - 2), &pipe, &verify_ns);
        pipe.FreeSpent();
        const bool stop = !w.read.ok();
        if (!pipe.Push(std::move(w)) || stop) return;
      }
    });
    Status result;
    bool failed = false;
    for (std::uint64_t replayed = 0; replayed <= head && !failed;) {
      Window w;
      pipe.Pop(&w);
      for (Item& it : w.items) {
        if (!ReplayBlock(&it)) {
          failed = true;
          break;
        }
        ++replayed;
      }
      if (!failed && !w.read.ok()) {
        result = w.read;
        failed = true;
      }
      pipe.Recycle(std::move(w));
    }
    pipe.Close();
    checker.join();
    report_->signature_cpu_ns = verify_ns.load();
    if (result.ok() && !failed) Finish();
    return result;
  }

 private:
  bool Failed(std::uint64_t height, std::string rule, std::string detail) {
    report_->ok = false;
    report_->height = height;
    report_->rule = std::move(rule);
    report_->detail = std::move(detail);
    return false;
  }

  bool ReplayGenesis(Item* it) {
    Block g;
    WriteSet writes;
    if (Status s = market::GenesisBlock(genesis_, &g, &writes); !s.ok()) {
      return Failed(0, "genesis", "the genesis file does not make a genesis block: " + s.ToString());
    }
    if (g.Encode() != it->src.bytes) {
      return Failed(0, "genesis", "block 0 is not the genesis file's (it should hash to " + ToHex(g.Hash()) + ")");
    }
    if (it->src.keeps_records && (!it->src.stored.ok() || it->src.writes != writes.Encode())) {
      return Failed(0, "stored_writes", "the stored genesis write set is not the genesis file's");
    }
    state_.Apply(writes);
    prev_ = g.header;
    prev_hash_ = g.Hash();
    return true;
  }

  bool ReplayBlock(Item* it) {
    const std::uint64_t h = it->height;
    if (it->rule == "missing" || it->rule == "decode" || it->rule == "height") return Failed(h, it->rule, it->detail);
    ++report_->blocks;
    if (h == 0) {
      if (!ReplayGenesis(it)) return false;
      Progress(h);
      return true;
    }
    const Block& b = it->block;
    if (b.header.prev_hash != prev_hash_) {
      return Failed(h, "hash_link", "prev_hash " + ToHex(b.header.prev_hash) + " is not block " + std::to_string(h - 1) +
                                        "'s hash " + ToHex(prev_hash_));
    }
    if (b.header.timestamp_ms <= prev_.timestamp_ms) {
      return Failed(h, "time", "block time " + std::to_string(b.header.timestamp_ms) + " does not follow the previous block's " +
                                   std::to_string(prev_.timestamp_ms));
    }
    if (!it->rule.empty()) return Failed(h, it->rule, it->detail);
    for (std::size_t i = 0; i < b.txs.size(); ++i) {
      if (!it->tx_ok[i]) {
        return Failed(h, "signature", "transaction " + std::to_string(i) + " (" + ToHex(b.txs[i].id()) + "): " +
                                          b.txs[i].Verify(genesis_.info.chain_id).ToString());
      }
    }
    report_->signatures += b.txs.size();
    report_->tx_signatures += b.txs.size();
    if (!CheckNoReplay(it)) return false;
    if (!CheckCertificate(it)) return false;

    // Execute on the state after the block before, with the invariant checker watching.
    checker_.BeginBlock(h);
    std::vector<TxResult>& results = results_;  // reused: its room is allocated once
    WriteSet writes;
    if (Status s = market::ExecuteBlock(state_, h, b.header.timestamp_ms, b.txs, &results, &writes, checker_.Observer());
        !s.ok()) {
      return Failed(h, "execution", s.ToString());
    }
    // Where the source keeps results and writes and the replay's equal them, the checkers
    // have already hashed them.
    const bool stored = it->src.keeps_records && it->src.stored.ok();
    const bool same_results = stored && it->src.results == results;
    const bool same_writes = stored && writes.EncodesAs(it->src.writes);
    if ((same_results ? it->stored_results_root : ResultsRoot(results)) != b.header.results_root) {
      return Failed(h, "results_root", "executing the block gives other results than its header commits to");
    }
    const Hash256 root =
        NextStateRoot(prev_.state_root, h, same_writes ? it->stored_writes_digest : WriteSetDigest(writes));
    if (root != b.header.state_root) {
      return Failed(h, "state_root", "executing the block gives state root " + ToHex(root) + ", its header says " +
                                         ToHex(b.header.state_root));
    }
    state_.Apply(writes);
    if (Status s = checker_.CheckBlock(state_, writes); !s.ok()) return Failed(h, "execution", s.ToString());
    if (checker_.rule() != 0) {
      return Failed(h, "invariant_" + std::to_string(checker_.rule()), checker_.status().ToString());
    }
    if (it->src.keeps_records) {
      if (!it->src.stored.ok()) return Failed(h, "stored_results", "unreadable: " + it->src.stored.ToString());
      if (!same_results) {
        return Failed(h, "stored_results", "the results stored with the block are not the replay's");
      }
      if (!same_writes) {
        return Failed(h, "stored_writes", "the write set stored with the block is not the replay's");
      }
    }
    report_->transactions += b.txs.size();
    prev_ = b.header;
    prev_hash_ = it->hash;
    Progress(h);
    return true;
  }

  bool CheckNoReplay(const Item* it) {
    for (const Transaction& tx : it->block.txs) {
      std::uint64_t prefix = 0;
      for (std::size_t k = 0; k < 8; ++k) prefix = prefix << 8 | tx.id()[k];
      std::uint64_t earlier_height = 0;
      if (seen_.Insert(prefix, it->height, &earlier_height)) continue;
      // Same first 8 bytes: look at the earlier block to tell a replay from a coincidence.
      SourceBlock earlier;
      Block eb;
      if (source_->Fetch(earlier_height, &earlier).ok() && Block::Decode(earlier.bytes, &eb).ok()) {
        for (const Transaction& e : eb.txs) {
          if (e.id() == tx.id()) {
            return Failed(it->height, "duplicate_tx", "transaction " + ToHex(tx.id()) + " was already committed in block " +
                                                          std::to_string(earlier_height));
          }
        }
      }
    }
    return true;
  }

  bool CheckCertificate(const Item* it) {
    const Block& b = it->block;
    const std::uint64_t h = it->height;
    if (!b.certificate) return Failed(h, "certificate", "the block has no commit certificate");
    market::ValidatorEpoch epoch;
    if (Status s = market::ValidatorEpochAt(state_, h, &epoch); !s.ok()) {
      return Failed(h, "certificate", "no validator set in force: " + s.ToString());
    }
    const auto& sigs = b.certificate->signatures;
    auto check = [&](const PublicKey& key, const Hash256&, const Signature& sig) {
      for (std::size_t i = 0; i < sigs.size(); ++i) {
        if (sigs[i].validator == key && sigs[i].signature == sig) return it->cert_ok[i] != 0;
      }
      return false;
    };
    if (Status s = VerifyCertificate(*b.certificate, b.header, epoch.validators, pbft::Quorum(epoch.validators.size()), check);
        !s.ok()) {
      return Failed(h, "certificate", s.ToString());
    }
    report_->signatures += sigs.size();
    return true;
  }

  void Progress(std::uint64_t h) {
    if (options_.progress && (h % options_.progress_every_blocks == 0)) {
      options_.progress({h, report_->head_height, report_->transactions});
    }
  }

  void Finish() {
    const std::uint64_t h = report_->head_height;
    report_->state_root = prev_.state_root;
    if (options_.progress) options_.progress({h, h, report_->transactions});
    if (Status s = source_->HeadCheck(); !s.ok()) {
      Failed(h, "head", s.ToString());
      return;
    }
    if (auto head = source_->HeadRecord(); head && (head->height != h || head->hash != prev_hash_ ||
                                                    head->state_root != prev_.state_root)) {
      Failed(h, "head", "the head record does not name the last block and its state root");
      return;
    }
    if (const StateReader* live = source_->LiveState()) {
      if (Status s = CompareStates(state_, *live); !s.ok()) {
        Failed(h, "live_state", "the node's state after block " + std::to_string(h) + " is not the replay's: " + s.ToString());
        return;
      }
    }
    report_->ok = true;
  }

  const market::Genesis& genesis_;
  Source* source_;
  const Options& options_;
  Report* report_;
  ReplayState state_;
  BlockHeader prev_;
  Hash256 prev_hash_{};
  market::InvariantChecker checker_;
  SeenIds seen_;
  std::vector<TxResult> results_;
};

}  // namespace

Status OpenDataDir(const std::string& data_dir, std::unique_ptr<Source>* out) {
  std::unique_ptr<Store> store;
  Status head_check;
  Status s = Store::OpenLevelDbForAudit(data_dir + "/ledger", &store, &head_check);
  if (!s.ok()) {
    return Status::IOError("cannot open the ledger in " + data_dir + " (" + s.ToString() +
                           "); if its node is running, stop it or audit over gRPC with --node");
  }
  const Store* raw = store.get();
  *out = std::make_unique<StoreSourceImpl>(raw, std::move(store), head_check);
  return Status::OK();
}

std::unique_ptr<Source> StoreSource(const Store* store) {
  return std::make_unique<StoreSourceImpl>(store, nullptr, Status::OK());
}

Status Audit(const market::Genesis& genesis, Source* source, const Options& options, Report* report) {
  *report = Report();
  Replay replay(genesis, source, options, report);
  return replay.Run();
}

}  // namespace nanum::audit
