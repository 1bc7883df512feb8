#include "ledger/state.h"

#include <algorithm>
#include <array>
#include <functional>

#include "ledger/encoding.h"
#include "ledger/limits.h"

namespace nanum {

Status KeyNotFound() {
  static const Status* const kStatus = new Status(Status::NotFound("no such key"));
  return *kStatus;
}

namespace {
bool KeyLess(const WriteSet::Entry& e, std::string_view key) { return std::string_view(e.first) < key; }
}  // namespace

WriteSet::Entries::const_iterator WriteSet::LowerBound(std::string_view key) const {
  return std::lower_bound(entries_.begin(), entries_.end(), key, KeyLess);
}

const std::optional<std::string>* WriteSet::Find(std::string_view key) const {
  auto it = LowerBound(key);
  return it != entries_.end() && it->first == key ? &it->second : nullptr;
}

std::optional<std::string>& WriteSet::Slot(std::string_view key) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), key, KeyLess);
  if (it == entries_.end() || it->first != key) it = entries_.insert(it, Entry(std::string(key), std::nullopt));
  return it->second;
}

void WriteSet::Merge(const WriteSet& later) {
  WriteSet copy = later;
  Merge(std::move(copy));
}

void WriteSet::Merge(WriteSet&& later) {
  // Both are in key order: one pass, where a key in both takes `later`'s value.
  Entries out;
  out.reserve(entries_.size() + later.entries_.size());
  auto a = entries_.begin(), b = later.entries_.begin();
  while (a != entries_.end() || b != later.entries_.end()) {
    if (b == later.entries_.end() || (a != entries_.end() && a->first < b->first)) {
      out.push_back(std::move(*a++));
    } else {
      if (a != entries_.end() && a->first == b->first) ++a;
      out.push_back(std::move(*b++));
    }
  }
  entries_ = std::move(out);
  later.entries_.clear();
}

std::string WriteSet::Encode() const {
  std::size_t size = 4;
  for (const auto& [k, v] : entries_) size += 4 + k.size() + 1 + (v ? 4 + v->size() : 0);
  Writer w(size);
  w.U32(static_cast<std::uint32_t>(entries_.size()));
  for (const auto& [k, v] : entries_) {
    w.Bytes(k);
    w.Bool(v.has_value());
    if (v) w.Bytes(*v);
  }
  return w.Release();
}

bool WriteSet::EncodesAs(std::string_view bytes) const {
  std::size_t at = 0;
  auto take = [&](std::string_view want) {
    if (bytes.size() - at < want.size() || bytes.compare(at, want.size(), want) != 0) return false;
    at += want.size();
    return true;
  };
  auto be32 = [](std::size_t v) {
    std::array<char, 4> b{};
    for (int i = 3; i >= 0; --i, v >>= 8) b[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
    return b;
  };
  auto bytes_field = [&](std::string_view b) {
    const auto len = be32(b.size());
    return take(std::string_view(len.data(), len.size())) && take(b);
  };
  const auto count = be32(entries_.size());
  if (!take(std::string_view(count.data(), count.size()))) return false;
  for (const auto& [k, v] : entries_) {
    const char present = v ? 1 : 0;
    if (!bytes_field(k) || !take(std::string_view(&present, 1))) return false;
    if (v && !bytes_field(*v)) return false;
  }
  return at == bytes.size();
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
    ws.entries_.emplace_back(std::string(key), present ? std::optional<std::string>(value) : std::nullopt);
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

// Merges a base iterator with buffered writes in key order; a buffered write hides the base
// entry with the same key, and a buffered deletion hides it altogether. `Writes` walks the
// buffered writes from the first key >= the start: Valid, key, present, value, Next.
template <class Writes>
class OverlayIterator : public StateIterator {
 public:
  OverlayIterator(std::unique_ptr<StateIterator> base, Writes writes, std::string_view prefix)
      : base_(std::move(base)), w_(std::move(writes)), prefix_(prefix) {
    Settle();
  }

  bool Valid() const override { return on_ != Source::kNone; }
  void Next() override {
    if (on_ == Source::kBase) {
      base_->Next();
    } else {
      if (base_->Valid() && base_->key() == w_.key()) base_->Next();
      w_.Next();
    }
    Settle();
  }
  std::string_view key() const override { return on_ == Source::kBase ? base_->key() : w_.key(); }
  std::string_view value() const override { return on_ == Source::kBase ? base_->value() : w_.value(); }
  Status status() const override { return base_->status(); }

 private:
  enum class Source { kNone, kBase, kWrites };

  bool WritesValid() const { return w_.Valid() && w_.key().substr(0, prefix_.size()) == prefix_; }

  // Positions on the smallest visible key of the two sources.
  void Settle() {
    for (;;) {
      const bool w = WritesValid();
      const bool b = base_->Valid();
      if (!w && !b) { on_ = Source::kNone; return; }
      if (w && (!b || w_.key() <= base_->key())) {
        if (w_.present()) { on_ = Source::kWrites; return; }
        // A deletion: skip it, and the base entry it hides.
        if (b && base_->key() == w_.key()) base_->Next();
        w_.Next();
        continue;
      }
      on_ = Source::kBase;
      return;
    }
  }

  std::unique_ptr<StateIterator> base_;
  Writes w_;
  std::string prefix_;
  Source on_ = Source::kNone;
};

// A WriteSet's entries from a start key.
class MapWrites {
 public:
  MapWrites(const WriteSet& w, std::string_view from) : it_(w.LowerBound(from)), end_(w.entries().end()) {}
  bool Valid() const { return it_ != end_; }
  std::string_view key() const { return it_->first; }
  bool present() const { return it_->second.has_value(); }
  std::string_view value() const { return *it_->second; }
  void Next() { ++it_; }

 private:
  WriteSet::Entries::const_iterator it_, end_;
};

std::string_view From(std::string_view prefix, std::string_view start) { return start > prefix ? start : prefix; }

}  // namespace

Status WriteSetView::Get(std::string_view key, std::string* value) const {
  if (const std::optional<std::string>* v = writes_->Find(key)) {
    if (!*v) return KeyNotFound();
    *value = **v;
    return Status::OK();
  }
  return base_->Get(key, value);
}

std::unique_ptr<StateIterator> WriteSetView::NewIterator(std::string_view prefix,
                                                         std::string_view start) const {
  return std::make_unique<OverlayIterator<MapWrites>>(base_->NewIterator(prefix, start),
                                                      MapWrites(*writes_, From(prefix, start)), prefix);
}

// ---- StateOverlay ----

// A StateOverlay's entries in key order, from a start key: those of one family, or (for a
// prefix that names no family) all of them.
class OverlayEntriesIterator {
 public:
  OverlayEntriesIterator(const StateOverlay* o, std::string_view prefix, std::string_view from) : o_(o) {
    const std::size_t slash = prefix.find('/');
    if (slash != std::string_view::npos) {
      const std::string_view name = prefix.substr(0, slash + 1);
      for (StateOverlay::Family& f : o_->families_) {
        if (f.name == name) {
          o_->SortFamily(f);
          family_ = &f.sorted;
          break;
        }
      }
    } else {
      all_ = o_->AllSorted();
    }
    const std::vector<std::uint32_t>& ix = index();
    pos_ = static_cast<std::size_t>(
        std::lower_bound(ix.begin(), ix.end(), from,
                         [&](std::uint32_t e, std::string_view k) { return std::string_view(o_->entries_[e].key) < k; }) -
        ix.begin());
  }
  bool Valid() const { return pos_ < index().size(); }
  std::string_view key() const { return entry().key; }
  bool present() const { return entry().present; }
  std::string_view value() const { return entry().value; }
  void Next() { ++pos_; }

 private:
  // The family's index, or all_ (every entry, or none when the family has no entry). The
  // iterator is moved once made, so it keeps no pointer to its own all_.
  const std::vector<std::uint32_t>& index() const { return family_ != nullptr ? *family_ : all_; }
  const StateOverlay::Entry& entry() const { return o_->entries_[index()[pos_]]; }
  const StateOverlay* o_;
  const std::vector<std::uint32_t>* family_ = nullptr;
  std::vector<std::uint32_t> all_;
  std::size_t pos_ = 0;
};

namespace {
std::uint64_t KeyHash(std::string_view key) { return std::hash<std::string_view>()(key); }
}  // namespace

std::int64_t StateOverlay::Find(std::string_view key, std::uint64_t hash) const {
  if (table_.empty()) return -1;
  const std::size_t mask = table_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const std::uint32_t slot = table_[i];
    if (slot == 0) return -1;
    const Entry& e = entries_[slot - 1];
    if (e.hash == hash && e.key == key) return slot - 1;
  }
}

void StateOverlay::Insert(std::uint32_t entry) {
  const std::size_t mask = table_.size() - 1;
  std::size_t i = entries_[entry].hash & mask;
  while (table_[i] != 0) i = (i + 1) & mask;
  table_[i] = entry + 1;
}

void StateOverlay::Rehash(std::size_t slots) {
  table_.assign(slots, 0);
  for (std::size_t e = 0; e < entries_.size(); ++e) Insert(static_cast<std::uint32_t>(e));
}

Status StateOverlay::Get(std::string_view key, std::string* value) const {
  const std::int64_t e = Find(key, KeyHash(key));
  if (e < 0) return base_->Get(key, value);
  const Entry& entry = entries_[static_cast<std::size_t>(e)];
  if (!entry.present) return KeyNotFound();
  value->assign(entry.value);
  return Status::OK();
}

std::uint32_t StateOverlay::FamilyOf(std::string_view key) {
  const std::size_t slash = key.find('/');
  const std::string_view name = slash == std::string_view::npos ? key : key.substr(0, slash + 1);
  const auto byte = [&](std::size_t i) -> std::size_t { return i < name.size() ? static_cast<unsigned char>(name[i]) : 0; };
  std::uint32_t& cached = family_cache_[(name.size() * 31 + byte(0) * 7 + byte(1)) % family_cache_.size()];
  if (cached != 0 && families_[cached - 1].name == name) return cached - 1;
  std::size_t f = 0;
  while (f < families_.size() && families_[f].name != name) ++f;
  if (f == families_.size()) families_.push_back(Family{std::string(name), {}, {}});
  cached = static_cast<std::uint32_t>(f + 1);
  return static_cast<std::uint32_t>(f);
}

void StateOverlay::SortFamily(Family& f) const {
  if (f.pending.empty()) return;
  auto less = [&](std::uint32_t a, std::uint32_t b) { return entries_[a].key < entries_[b].key; };
  if (f.pending.size() * 32 < f.sorted.size()) {
    // A few keys (a transaction's worth) into many: each goes in at the place a binary
    // search finds, which reads a few keys instead of all of them.
    for (std::uint32_t i : f.pending) f.sorted.insert(std::upper_bound(f.sorted.begin(), f.sorted.end(), i, less), i);
  } else {
    // Sort by the 8 bytes after what the new keys all share, as an integer, and compare
    // whole keys only where those tie: the sort then mostly reads a compact array instead
    // of a key elsewhere in memory at every comparison.
    std::string_view first = entries_[f.pending[0]].key;
    std::size_t common = first.size();
    for (std::uint32_t i : f.pending) {
      std::string_view k = entries_[i].key;
      std::size_t c = 0;
      while (c < common && c < k.size() && k[c] == first[c]) ++c;
      common = c;
    }
    struct Item {
      std::uint64_t head;
      std::uint32_t entry;
    };
    std::vector<Item> items;
    items.reserve(f.pending.size());
    for (std::uint32_t i : f.pending) items.push_back({KeyHead(entries_[i].key, common), i});
    std::sort(items.begin(), items.end(), [&](const Item& a, const Item& b) {
      return a.head != b.head ? a.head < b.head : entries_[a.entry].key < entries_[b.entry].key;
    });
    const std::size_t old = f.sorted.size();
    for (const Item& it : items) f.sorted.push_back(it.entry);
    std::inplace_merge(f.sorted.begin(), f.sorted.begin() + static_cast<std::ptrdiff_t>(old), f.sorted.end(), less);
  }
  f.pending.clear();
}

std::vector<std::uint32_t> StateOverlay::AllSorted() const {
  std::vector<Family*> order;
  for (Family& f : families_) order.push_back(&f);
  std::sort(order.begin(), order.end(), [](const Family* a, const Family* b) { return a->name < b->name; });
  std::vector<std::uint32_t> all;
  all.reserve(entries_.size());
  for (Family* f : order) {
    SortFamily(*f);
    all.insert(all.end(), f->sorted.begin(), f->sorted.end());
  }
  return all;
}

std::unique_ptr<StateIterator> StateOverlay::NewIterator(std::string_view prefix, std::string_view start) const {
  return std::make_unique<OverlayIterator<OverlayEntriesIterator>>(
      base_->NewIterator(prefix, start), OverlayEntriesIterator(this, prefix, From(prefix, start)), prefix);
}

void StateOverlay::Write(std::string_view key, std::string_view value, bool present) {
  const std::uint64_t hash = KeyHash(key);
  const std::int64_t found = Find(key, hash);
  if (found >= 0) {
    Entry& e = entries_[static_cast<std::size_t>(found)];
    if (savepoints_ > 0) undo_.push_back({static_cast<std::uint32_t>(found), false, e.present, std::move(e.value)});
    e.value.assign(value);
    e.present = present;
    return;
  }
  const auto index = static_cast<std::uint32_t>(entries_.size());
  const std::uint32_t family = FamilyOf(key);
  entries_.push_back({std::string(key), std::string(value), hash, family, present});
  families_[family].pending.push_back(index);
  if (savepoints_ > 0) undo_.push_back({index, true, false, {}});
  if (2 * entries_.size() > table_.size()) {
    Rehash(std::max<std::size_t>(64, 2 * table_.size()));  // inserts the new entry too
  } else {
    Insert(index);
  }
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
  Write(key, value, true);
  return Status::OK();
}

Status StateOverlay::Delete(std::string_view key) {
  NANUM_RETURN_IF_ERROR(CheckKey(key));
  Write(key, {}, false);
  return Status::OK();
}

std::size_t StateOverlay::Savepoint() {
  ++savepoints_;
  return undo_.size();
}

void StateOverlay::RollbackTo(std::size_t sp) {
  bool removed = false;
  while (undo_.size() > sp) {
    Undo& u = undo_.back();
    if (u.created) {
      entries_.pop_back();  // entries are created in log order, so this one is the last
      removed = true;
    } else {
      Entry& e = entries_[u.entry];
      e.value = std::move(u.old_value);
      e.present = u.was_present;
    }
    undo_.pop_back();
  }
  if (removed) {
    // Rare (a transaction that failed after adding keys): rebuild the hash table, and drop
    // the removed entries from the key-order index.
    Rehash(table_.size());
    auto gone = [&](std::uint32_t e) { return e >= entries_.size(); };
    for (Family& f : families_) {
      std::erase_if(f.sorted, gone);
      std::erase_if(f.pending, gone);
    }
  }
}

void StateOverlay::Release(std::size_t) {
  // An inner savepoint's writes stay in the log, for an outer one to undo; the outermost's
  // release ends the log.
  if (savepoints_ > 0 && --savepoints_ == 0) undo_.clear();
}

WriteSet StateOverlay::writes() const {
  WriteSet ws;
  ws.entries_.reserve(entries_.size());
  for (std::uint32_t i : AllSorted()) {
    const Entry& e = entries_[i];
    ws.entries_.emplace_back(e.key, e.present ? std::optional<std::string>(e.value) : std::nullopt);
  }
  return ws;
}

WriteSet StateOverlay::TakeWrites() {
  WriteSet ws;
  ws.entries_.reserve(entries_.size());
  for (std::uint32_t i : AllSorted()) {
    Entry& e = entries_[i];
    ws.entries_.emplace_back(std::move(e.key), e.present ? std::optional<std::string>(std::move(e.value)) : std::nullopt);
  }
  Discard();
  return ws;
}

void StateOverlay::Apply(const WriteSet& writes) {
  for (const auto& [k, v] : writes.entries()) Write(k, v ? std::string_view(*v) : std::string_view(), v.has_value());
}

void StateOverlay::Discard() {
  entries_.clear();
  table_.clear();
  families_.clear();
  family_cache_.fill(0);
  undo_.clear();
}

void StateOverlay::Reserve(std::size_t entries) {
  entries_.reserve(entries);
  std::size_t slots = 64;
  while (slots < 2 * entries) slots *= 2;
  if (slots > table_.size()) Rehash(slots);
}

}  // namespace nanum
