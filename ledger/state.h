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

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

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

class StateReader {
 public:
  virtual ~StateReader() = default;
  // kNotFound if the key has no value.
  virtual Status Get(std::string_view key, std::string* value) const = 0;
  // Keys that start with `prefix` and are >= `start` (when `start` is not empty).
  virtual std::unique_ptr<StateIterator> NewIterator(std::string_view prefix,
                                                     std::string_view start = {}) const = 0;
};

// An ordered set of writes: key -> new value, or nullopt for a deletion.
class WriteSet {
 public:
  using Map = std::map<std::string, std::optional<std::string>, std::less<>>;

  void Put(std::string_view key, std::string_view value) { map_[std::string(key)] = std::string(value); }
  void Delete(std::string_view key) { map_[std::string(key)] = std::nullopt; }
  // Later writes win: used to fold one transaction's writes into its block's. The rvalue
  // form moves `later`'s entries (no key or value is copied) and leaves it empty.
  void Merge(const WriteSet& later);
  void Merge(WriteSet&& later);
  void Clear() { map_.clear(); }

  const Map& entries() const { return map_; }
  std::size_t size() const { return map_.size(); }
  bool empty() const { return map_.empty(); }
  bool operator==(const WriteSet&) const = default;

  // Layout: u32 count, then per entry in key order: bytes key, bool present, bytes value
  // if present.
  std::string Encode() const;
  // Errors: kTruncated, kTrailingData, kTooLarge (a key or value over its limit, or more
  // than limits::kMaxWritesPerBlock entries), kCorruption (keys not strictly increasing).
  static Status Decode(std::string_view bytes, WriteSet* out);

 private:
  Map map_;
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
class StateOverlay : public StateReader {
 public:
  explicit StateOverlay(const StateReader* base) : base_(base) {}

  Status Get(std::string_view key, std::string* value) const override { return View().Get(key, value); }
  std::unique_ptr<StateIterator> NewIterator(std::string_view prefix,
                                             std::string_view start = {}) const override {
    return View().NewIterator(prefix, start);
  }

  // Errors: kTooLarge for a key over limits::kMaxStateKeyBytes, an empty key, or a value
  // over limits::kMaxStateValueBytes; nothing is written then.
  Status Put(std::string_view key, std::string_view value);
  Status Delete(std::string_view key);

  const WriteSet& writes() const { return writes_; }
  // Hands over the buffered writes and leaves the overlay empty.
  WriteSet TakeWrites() { return std::exchange(writes_, WriteSet()); }
  // Folds another overlay's writes (made on top of this one) into this one.
  void Apply(const WriteSet& writes) { writes_.Merge(writes); }
  void Apply(WriteSet&& writes) { writes_.Merge(std::move(writes)); }
  void Discard() { writes_.Clear(); }

 private:
  WriteSetView View() const { return WriteSetView(base_, &writes_); }

  const StateReader* base_;
  WriteSet writes_;
};

}  // namespace nanum
