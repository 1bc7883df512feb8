#include "ledger/state.h"

#include "ledger/encoding.h"
#include "ledger/limits.h"

namespace nanum {

void WriteSet::Merge(const WriteSet& later) {
  for (const auto& [k, v] : later.map_) map_[k] = v;
}

void WriteSet::Merge(WriteSet&& later) {
  // Both maps are in key order, so each entry is placed starting from where the one before
  // it went; an entry whose key is already here overwrites that value.
  auto hint = map_.begin();
  while (!later.map_.empty()) {
    auto node = later.map_.extract(later.map_.begin());
    auto it = map_.insert(hint, std::move(node));
    if (node) it->second = std::move(node.mapped());  // the key was here: node kept
    hint = std::next(it);
  }
}

std::string WriteSet::Encode() const {
  Writer w;
  w.U32(static_cast<std::uint32_t>(map_.size()));
  for (const auto& [k, v] : map_) {
    w.Bytes(k);
    w.Bool(v.has_value());
    if (v) w.Bytes(*v);
  }
  return w.Release();
}

Status WriteSet::Decode(std::string_view bytes, WriteSet* out) {
  Reader r(bytes, "write set");
  // Smallest entry: 4-byte key length, 1-byte key, 1-byte flag.
  const std::uint32_t n = r.Count(limits::kMaxWritesPerBlock, 6, "writes");
  WriteSet ws;
  std::string_view prev;
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
    std::string_view key = r.Bytes(limits::kMaxStateKeyBytes, "key");
    const bool present = r.Bool();
    std::string_view value = present ? r.Bytes(limits::kMaxStateValueBytes, "value") : std::string_view();
    if (!r.ok()) break;
    if (i > 0 && !(prev < key)) {
      r.Fail(Status::Corruption("write set: keys not in strictly increasing order at entry " +
                                std::to_string(i)));
      break;
    }
    prev = key;
    auto& slot = ws.map_.emplace_hint(ws.map_.end(), std::string(key), std::nullopt)->second;
    if (present) slot = std::string(value);
  }
  NANUM_RETURN_IF_ERROR(r.Finish());
  *out = std::move(ws);
  return Status::OK();
}

Hash256 WriteSetDigest(const WriteSet& writes) { return EncodedWriteSetDigest(writes.Encode()); }

Hash256 EncodedWriteSetDigest(std::string_view encoding) { return TaggedHash("nanum/writes", encoding); }

Hash256 NextStateRoot(const Hash256& prev_root, std::uint64_t height, const WriteSet& writes) {
  return NextStateRoot(prev_root, height, WriteSetDigest(writes));
}

Hash256 NextStateRoot(const Hash256& prev_root, std::uint64_t height, const Hash256& writes_digest) {
  Writer w(72);
  w.Fixed(prev_root);
  w.U64(height);
  w.Fixed(writes_digest);
  return TaggedHash("nanum/state", w.data());
}

namespace {

// Merges a base iterator with the overlay's buffered writes in key order; a buffered write
// hides the base entry with the same key, and a buffered deletion hides it altogether.
class OverlayIterator : public StateIterator {
 public:
  OverlayIterator(std::unique_ptr<StateIterator> base, const WriteSet::Map& writes,
                  std::string_view prefix, std::string_view start)
      : base_(std::move(base)), prefix_(prefix) {
    std::string_view from = start > prefix ? start : prefix;
    it_ = writes.lower_bound(from);
    end_ = writes.end();
    Settle();
  }

  bool Valid() const override { return on_ != Source::kNone; }
  void Next() override {
    if (on_ == Source::kBase) {
      base_->Next();
    } else {
      if (base_->Valid() && base_->key() == it_->first) base_->Next();
      ++it_;
    }
    Settle();
  }
  std::string_view key() const override {
    return on_ == Source::kBase ? base_->key() : std::string_view(it_->first);
  }
  std::string_view value() const override {
    return on_ == Source::kBase ? base_->value() : std::string_view(*it_->second);
  }
  Status status() const override { return base_->status(); }

 private:
  enum class Source { kNone, kBase, kWrites };

  bool WritesValid() const {
    return it_ != end_ && std::string_view(it_->first).substr(0, prefix_.size()) == prefix_;
  }

  // Positions on the smallest visible key of the two sources.
  void Settle() {
    for (;;) {
      const bool w = WritesValid();
      const bool b = base_->Valid();
      if (!w && !b) { on_ = Source::kNone; return; }
      if (w && (!b || std::string_view(it_->first) <= base_->key())) {
        if (it_->second.has_value()) { on_ = Source::kWrites; return; }
        // A deletion: skip it, and the base entry it hides.
        if (b && base_->key() == it_->first) base_->Next();
        ++it_;
        continue;
      }
      on_ = Source::kBase;
      return;
    }
  }

  std::unique_ptr<StateIterator> base_;
  std::string prefix_;
  WriteSet::Map::const_iterator it_, end_;
  Source on_ = Source::kNone;
};

}  // namespace

Status WriteSetView::Get(std::string_view key, std::string* value) const {
  auto it = writes_->entries().find(key);
  if (it != writes_->entries().end()) {
    if (!it->second) return Status::NotFound("state key deleted");
    *value = *it->second;
    return Status::OK();
  }
  return base_->Get(key, value);
}

std::unique_ptr<StateIterator> WriteSetView::NewIterator(std::string_view prefix,
                                                         std::string_view start) const {
  return std::make_unique<OverlayIterator>(base_->NewIterator(prefix, start), writes_->entries(),
                                           prefix, start);
}

namespace {
Status CheckKey(std::string_view key) {
  if (key.empty() || key.size() > limits::kMaxStateKeyBytes) {
    return Status::TooLarge("state key of " + std::to_string(key.size()) +
                            " bytes; keys are 1 to " + std::to_string(limits::kMaxStateKeyBytes));
  }
  return Status::OK();
}
}  // namespace

Status StateOverlay::Put(std::string_view key, std::string_view value) {
  NANUM_RETURN_IF_ERROR(CheckKey(key));
  if (value.size() > limits::kMaxStateValueBytes) {
    return Status::TooLarge("state value of " + std::to_string(value.size()) + " bytes, limit " +
                            std::to_string(limits::kMaxStateValueBytes));
  }
  writes_.Put(key, value);
  return Status::OK();
}

Status StateOverlay::Delete(std::string_view key) {
  NANUM_RETURN_IF_ERROR(CheckKey(key));
  writes_.Delete(key);
  return Status::OK();
}

}  // namespace nanum
