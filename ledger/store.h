// The ledger's storage: blocks (by height and by hash), transactions by id, each block's
// results and write set, the live state, the head (height, hash, state root), and small
// records its owner keeps beside the ledger (PutMeta).
//
// Append() checks a block against the head and against its own results and writes, then
// stores block, results, write set, state changes and the new head in one atomic, synced
// write. After a crash at any instant the store reopens at the last appended block or the
// one before it, never in between. Open() checks that the head and the stored blocks agree
// and refuses, naming the height, if they do not.
//
// Two engines hold the same layout: LevelDB on disk, and a sorted in-memory map for tests.
//
// A store opened for a node keeps in memory the ids of all its transactions in an IdFilter
// (built at Open by reading the transaction index once: about 1.25 MB and 0.15 s per million
// transactions), so that GetTxLocation, and Append's check for transactions stored already,
// read LevelDB only for ids it may hold; and the live-state values it last read, kept current
// as blocks write them, in a StateCache (StoreOptions::state_cache_bytes). The audit's store does without either.
//
// Thread safety: one thread appends at a time (Append serialises itself); any number of
// threads may read meanwhile. A read sees the state as of some fully appended block.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ledger/block.h"
#include "ledger/id_filter.h"
#include "ledger/state_cache.h"
#include "ledger/state.h"
#include "ledger/status.h"

namespace nanum {

class KvEngine;  // store.cc

struct TxLocation {
  std::uint64_t height = 0;
  std::uint32_t index = 0;
};

struct StoreHead {
  std::uint64_t height = 0;
  Hash256 hash{};
  Hash256 state_root{};
};

// The CPU priority of LevelDB's background thread, which flushes full memtables to disk and
// compacts tables. Its work comes in bursts (a few MB every few seconds under load) that
// would otherwise take CPU from the thread committing blocks just when it is needed: at
// 1,000 transactions per second, every flush showed as a second of commit latency twice the
// usual (docs/PERFORMANCE.md).
//   kLow     nice 19: gives way to everything else, yet keeps a small share when the CPU is
//            busy, so flushes always finish
//   kIdle    SCHED_IDLE: runs only on an otherwise idle CPU; a CPU kept busy by another
//            program delays flushes, and writes wait for them once a memtable is full
//   kNormal  the nice value of the thread that opened the store
// LevelDB runs one background thread per process: it takes the priority of the store whose
// work it is doing. Raising a priority again needs CAP_SYS_NICE; without it the thread stays
// where it was.
enum class CompactionPriority { kLow, kIdle, kNormal };

struct StoreOptions {
  CompactionPriority compaction_priority = CompactionPriority::kLow;
  // Live-state values kept in memory (StateCache): at most this many bytes; 0 keeps none.
  std::size_t state_cache_bytes = std::size_t{32} << 20;
};

class Store : public StateReader {
 public:
  // Opens (creating if missing) a LevelDB store in directory `dir`. Errors: kIOError (the
  // directory cannot be used, or another process holds it), kCorruption (the stored head
  // and blocks disagree; the message names the height).
  static Status OpenLevelDb(const std::string& dir, std::unique_ptr<Store>* out,
                            const StoreOptions& options = {});
  // For the audit: opens the store even when the head check fails, so that a damaged ledger
  // can still be read block by block and its damage located. The check's outcome goes to
  // `head_check`; when it failed, Head() is nullopt. Errors: kIOError (as above).
  static Status OpenLevelDbForAudit(const std::string& dir, std::unique_ptr<Store>* out,
                                    Status* head_check);
  static std::unique_ptr<Store> NewInMemory();

  ~Store() override;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // The last appended block; nullopt for an empty store.
  std::optional<StoreHead> Head() const;

  // Appends `block` with the results and writes of executing it. REQUIRES nothing of the
  // caller; checks, and fails with nothing written:
  //   kFailedPrecondition  height is not head+1 (0 for an empty store), prev_hash is not
  //                        the head's hash, or a transaction is already stored
  //   kInvalidArgument     a block above 0 without a certificate; results count, results
  //                        root or state root do not match; a key or value over its limit
  //   kCorruption          the block's own content is inconsistent (CheckBlockContent)
  //   kIOError             the disk write failed
  // With `meta`, that meta record (PutMeta's rules) is written in the same atomic write, so
  // that an owner which must make both durable pays for one synced write, not two.
  struct Meta {
    std::string_view name;
    std::string_view value;
  };
  Status Append(const Block& block, const std::vector<TxResult>& results, const WriteSet& writes,
                const Meta* meta = nullptr);

  // A small record its owner keeps beside the ledger (the node keeps its consensus votes
  // here): one atomic, synced write, outside the ledger's blocks and state, so that no
  // state root or audit sees it. `name` is 1 to 64 bytes, `value` at most 16 MiB.
  // Errors: kInvalidArgument (name or value size), kIOError; GetMeta: kNotFound.
  Status PutMeta(std::string_view name, std::string_view value);
  Status GetMeta(std::string_view name, std::string* value) const;

  // Reads. kNotFound when absent; kCorruption when a stored record does not decode.
  Status GetBlock(std::uint64_t height, Block* out) const;
  Status GetBlockBytes(std::uint64_t height, std::string* out) const;
  Status GetHeightByHash(const Hash256& hash, std::uint64_t* height) const;
  Status GetTxLocation(const Hash256& id, TxLocation* out) const;
  Status GetResults(std::uint64_t height, std::vector<TxResult>* out) const;
  Status GetWrites(std::uint64_t height, WriteSet* out) const;
  // The write set as stored, not decoded (the audit compares encodings).
  Status GetWritesBytes(std::uint64_t height, std::string* out) const;

  // The live state as of the head.
  Status Get(std::string_view key, std::string* value) const override;
  std::unique_ptr<StateIterator> NewIterator(std::string_view prefix,
                                             std::string_view start = {}) const override;

 private:
  explicit Store(std::unique_ptr<KvEngine> engine);
  Status LoadHead();
  Status LoadTxIds();  // builds tx_ids_ from the transaction index
  // Whether a transaction with this id may be stored (false: certainly not).
  bool MayHoldTx(const Hash256& id) const { return tx_ids_ == nullptr || tx_ids_->MayContain(id); }

  std::unique_ptr<KvEngine> engine_;
  std::unique_ptr<IdFilter> tx_ids_;  // null: not kept (the audit's store)
  std::unique_ptr<StateCache> cache_;  // null: none
  struct Mutable;
  std::unique_ptr<Mutable> m_;  // head and the append lock
};

}  // namespace nanum
