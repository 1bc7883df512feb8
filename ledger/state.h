// The state the chaincode sees: an ordered map from byte-string keys to byte-string values,
// and the write sets that blocks make to it.
//
// Reads go through StateReader; writes are collected in a StateOverlay on top of a reader,
// so that a block (or one transaction inside it) can be executed and then kept or dropped
// as a whole. Iteration is always in ascending byte order of keys, never in hash order, so a
// result never depends on how a container happens to lay out its entries.
//
// The state root after block h is
//   TaggedHash("nanum/state", root(h-1) || u64 h || WriteSetDigest(writes of h))
// with root(-1) = 32 zero bytes: it commits to every write of every block in order, so the
// same blocks give the same root everywhere and any divergence shows at the height it began.
//
// Thread safety: a StateOverlay is used by one thread. StateReader implementations say
// their own rule.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/status.h"

namespace nanum {

// Iterates keys with a given prefix in ascending order. Usage:
//   for (auto it = r.NewIterator(prefix); it->Valid(); it->Next()) { it->key() ... }
//   check it->status() afterwards.
class StateIterator {
 public:
  virtual ~StateIterator() = default;
  virtual bool Valid() const = 0;
  virtual void Next() = 0;  // REQUIRES: Valid()
  virtual std::string_view key() const = 0;    // REQUIRES: Valid()
  virtual std::string_view value() const = 0;  // REQUIRES: Valid()
  virtual Status status() const = 0;
};

// The 8 bytes of `key` from `offset`, big-endian, zero past its end. Two keys' heads compare
// as integers the way their bytes from `offset` do, up to ties: sorting and searching by
// heads first reads a compact array instead of each key elsewhere in memory.
inline std::uint64_t KeyHead(std::string_view key, std::size_t offset) {
  std::uint64_t h = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    const std::size_t at = offset + i;
    h = h << 8 | (at < key.size() ? static_cast<unsigned char>(key[at]) : 0U);
  }
  return h;
}

// The kNotFound a StateReader returns for a key with no value. One status shared by every
// miss (its reference count is all a copy touches), so that a look-up of an absent key,
// which the chaincode makes for every new order, slot and member record, allocates nothing.
Status KeyNotFound();

class StateReader {
 public:
  virtual ~StateReader() = default;
  // kNotFound if the key has no value.
  virtual Status Get(std::string_view key, std::string* value) const = 0;
  // Keys that start with `prefix` and are >= `start` (when `start` is not empty).
  virtual std::unique_ptr<StateIterator> NewIterator(std::string_view prefix,
                                                     std::string_view start = {}) const = 0;
};

// An ordered set of writes: key -> new value, or nullopt for a deletion. Kept as one sorted
// array: a block's write set is built in key order once (StateOverlay::TakeWrites, Decode) and
// then only walked and searched.
class WriteSet {
 public:
  using Entry = std::pair<std::string, std::optional<std::string>>;
  using Entries = std::vector<Entry>;

  // Each places its key by binary search: O(size) for a key that is new.
  void Put(std::string_view key, std::string_view value) { Slot(key) = std::string(value); }
  void Delete(std::string_view key) { Slot(key) = std::nullopt; }
  // Later writes win. The rvalue form moves `later`'s entries and leaves it empty.
  void Merge(const WriteSet& later);
  void Merge(WriteSet&& later);
  void Clear() { entries_.clear(); }

  const Entries& entries() const { return entries_; }
  // The first entry whose key is >= `key`.
  Entries::const_iterator LowerBound(std::string_view key) const;
  // The entry for `key`, or null.
  const std::optional<std::string>* Find(std::string_view key) const;
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  bool operator==(const WriteSet&) const = default;

  // Layout: u32 count, then per entry in key order: bytes key, bool present, bytes value
  // if present.
  std::string Encode() const;
  // Whether Encode() would give exactly `bytes`, without making the encoding.
  bool EncodesAs(std::string_view bytes) const;
  // Errors: kTruncated, kTrailingData, kTooLarge (a key or value over its limit, or more
  // than limits::kMaxWritesPerBlock entries), kCorruption (keys not strictly increasing).
  static Status Decode(std::string_view bytes, WriteSet* out);

 private:
  friend class StateOverlay;
  std::optional<std::string>& Slot(std::string_view key);
  Entries entries_;  // strictly increasing keys
};

Hash256 WriteSetDigest(const WriteSet& writes);
// The same from the write set's encoding (WriteSet::Encode).
Hash256 EncodedWriteSetDigest(std::string_view encoding);
Hash256 NextStateRoot(const Hash256& prev_root, std::uint64_t height, const WriteSet& writes);
// The same from WriteSetDigest(writes), for a digest computed ahead (the audit's checkers).
Hash256 NextStateRoot(const Hash256& prev_root, std::uint64_t height, const Hash256& writes_digest);

// A read-only view of a write set over a base reader: reads see the writes first. The base
// and the write set must outlive the view and not change while it is read. Views stack: the
// state after several uncommitted blocks is a view of each one's writes over the one below.
class WriteSetView : public StateReader {
 public:
  WriteSetView(const StateReader* base, const WriteSet* writes) : base_(base), writes_(writes) {}
  Status Get(std::string_view key, std::string* value) const override;
  std::unique_ptr<StateIterator> NewIterator(std::string_view prefix,
                                             std::string_view start = {}) const override;

 private:
  const StateReader* base_;
  const WriteSet* writes_;
};

// Writes buffered over a base reader. Reads see the buffered writes first.
//
// The chaincode executes a whole block in one overlay: a key is found by hash (a block
// writes the same members, slots and counters again and again), and only iteration needs
// key order. That is kept per family of keys (a key up to its first '/', or the whole key
// if it has none), brought up to date when an iterator over the family is made, so that
// iterating a slot's book after each transaction does not sort the block's other keys. A
// transaction's writes are undone, if it fails, from a log kept since its savepoint, instead
// of living in an overlay of their own that is folded into the block's.
class StateOverlay : public StateReader {
 public:
  explicit StateOverlay(const StateReader* base) : base_(base) {}

  Status Get(std::string_view key, std::string* value) const override;
  // The overlay must not be written while the iterator is in use.
  std::unique_ptr<StateIterator> NewIterator(std::string_view prefix,
                                             std::string_view start = {}) const override;

  // Errors: kTooLarge for a key over limits::kMaxStateKeyBytes, an empty key, or a value
  // over limits::kMaxStateValueBytes; nothing is written then.
  Status Put(std::string_view key, std::string_view value);
  Status Delete(std::string_view key);

  // Every write made after Savepoint() returned `sp` can be undone by RollbackTo(sp), until
  // Release(sp) keeps them. Savepoints nest; the outermost one's Release ends the log.
  std::size_t Savepoint();
  void RollbackTo(std::size_t sp);
  void Release(std::size_t sp);

  // The buffered writes in key order (a copy).
  WriteSet writes() const;
  bool empty() const { return entries_.empty(); }
  // Hands over the buffered writes and leaves the overlay empty.
  WriteSet TakeWrites();
  // Writes a write set's entries, as Put and Delete would.
  void Apply(const WriteSet& writes);
  void Discard();
  // Makes room for `entries` keys, so that a block's overlay is not copied as it grows.
  void Reserve(std::size_t entries);

 private:
  struct Entry {
    std::string key;
    std::string value;
    std::uint64_t hash;
    std::uint32_t family;  // index in families_
    bool present;          // false: a deletion
  };
  // The entries whose keys share a family name. Families partition the keys in key order:
  // every key of a family sorts before every key of a family with a greater name.
  struct Family {
    std::string name;
    std::vector<std::uint32_t> sorted;   // entry indexes in key order
    std::vector<std::uint32_t> pending;  // entries added since, not yet in `sorted`
  };
  struct Undo {
    std::uint32_t entry;
    bool created;        // the write added the entry
    bool was_present;    // otherwise, what it held before
    std::string old_value;
  };
  friend class OverlayEntriesIterator;

  // The index of `key`'s entry, or -1.
  std::int64_t Find(std::string_view key, std::uint64_t hash) const;
  void Write(std::string_view key, std::string_view value, bool present);
  void Insert(std::uint32_t entry);  // into the hash table
  void Rehash(std::size_t slots);
  std::uint32_t FamilyOf(std::string_view key);
  void SortFamily(Family& f) const;  // moves its pending entries into `sorted`
  // Every entry index in key order.
  std::vector<std::uint32_t> AllSorted() const;

  const StateReader* base_;
  std::vector<Entry> entries_;        // in the order keys were first written
  std::vector<std::uint32_t> table_;  // open addressing: entry index + 1, 0 when empty
  mutable std::vector<Family> families_;  // sorted and pending change in const iteration
  // Family indexes + 1 by a hash of the name's length and first two bytes (0: none), checked
  // before the names are searched one by one.
  std::array<std::uint32_t, 64> family_cache_{};
  std::vector<Undo> undo_;
  std::size_t savepoints_ = 0;
};

}  // namespace nanum
