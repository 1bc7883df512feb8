// The replay's B+ tree; see replay_state.h.
//
// Layout. A node's `prefix` (plen bytes) is a prefix of every key in it (a leaf) or every
// separator (an inner node); it need not be the longest one: it only shrinks when an entry
// that does not share it comes in, and grows again when the node splits. head[i] is
// HeadAt(key i, plen). Inner node: n separators and n + 1 children; child j holds the keys k
// with sep[j - 1] <= k < sep[j]. Leaves are linked in key order.
//
// A key that does not start with a node's prefix sorts before or after everything in the
// node (PrefixOrder), so a search needs no bounds from the levels above.
#include "cli/replay_state.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <new>
#include <vector>

namespace nanum::audit {

namespace {
// A node's heads fill 4 cache lines, which a search reads 2 or 3 of. Nodes of 64 made the
// replay of the million-transaction ledger slower (5 of 7 alternating runs; best 14.6 s
// against 13.1 s with signature checks off); 16 or 24 too.
constexpr std::size_t kLeafCap = 32;   // entries per leaf
constexpr std::size_t kInnerCap = 32;  // separators per inner node
constexpr std::size_t kMaxPrefix = 46;
}  // namespace

// One entry: the key's bytes, then the value's, in one allocation. `vcap` is the room for
// the value, so that a new value of no greater size is written in place.
struct ReplayState::Rec {
  std::uint32_t klen, vlen, vcap;

  char* bytes() { return reinterpret_cast<char*>(this + 1); }
  const char* bytes() const { return reinterpret_cast<const char*>(this + 1); }
  std::string_view key() const { return {bytes(), klen}; }
  std::string_view value() const { return {bytes() + klen, vlen}; }

  static Rec* New(std::string_view key, std::string_view value) {
    // Round the allocation up to what malloc gives anyway, and keep the rest for the value.
    const std::size_t need = sizeof(Rec) + key.size() + value.size();
    const std::size_t size = (need + 15) & ~std::size_t{15};
    auto* r = static_cast<Rec*>(::operator new(size));
    r->klen = static_cast<std::uint32_t>(key.size());
    r->vlen = static_cast<std::uint32_t>(value.size());
    r->vcap = static_cast<std::uint32_t>(size - sizeof(Rec) - key.size());
    std::memcpy(r->bytes(), key.data(), key.size());
    if (!value.empty()) std::memcpy(r->bytes() + key.size(), value.data(), value.size());
    return r;
  }
  static void Delete(Rec* r) { ::operator delete(r); }
};

struct ReplayState::Node {
  bool leaf;
  std::uint8_t plen = 0;
  std::uint16_t n = 0;
  char prefix[kMaxPrefix];

  explicit Node(bool is_leaf) : leaf(is_leaf) {}
  std::string_view Prefix() const { return {prefix, plen}; }
};

struct ReplayState::Leaf : Node {
  Leaf* prev = nullptr;
  Leaf* next = nullptr;
  std::uint64_t head[kLeafCap + 1];  // one over, to insert before splitting
  Rec* rec[kLeafCap + 1];

  Leaf() : Node(true) {}
};

struct ReplayState::Inner : Node {
  std::uint64_t head[kInnerCap + 1];
  // The 8 bytes after the head: a separator's key bytes [plen + 8, plen + 16). An inner node
  // high in the tree spans families, so its prefix is short and the heads of one family's
  // separators ("mctr/mem" ...) tie; these tell most of them apart without reading the
  // separators' strings.
  std::uint64_t head2[kInnerCap + 1];
  std::string sep[kInnerCap + 1];
  Node* child[kInnerCap + 2];

  Inner() : Node(false) {}
};

namespace {

using Leaf = ReplayState::Leaf;
using Inner = ReplayState::Inner;
using Node = ReplayState::Node;
using Rec = ReplayState::Rec;

// The key's head at offset p (ledger/state.h).
std::uint64_t HeadAt(std::string_view key, std::size_t p) { return KeyHead(key, p); }

std::size_t CommonPrefix(std::string_view a, std::string_view b) {
  const std::size_t m = std::min(a.size(), b.size());
  std::size_t i = 0;
  while (i < m && a[i] == b[i]) ++i;
  return i;
}

// Where `key` sorts against the keys that start with the node's prefix: -1 before all of
// them, 1 after all of them, 0 when it starts with the prefix itself.
int PrefixOrder(const Node& node, std::string_view key) {
  const std::size_t m = std::min<std::size_t>(node.plen, key.size());
  if (const int c = std::memcmp(key.data(), node.prefix, m); c != 0) return c < 0 ? -1 : 1;
  return key.size() < node.plen ? -1 : 0;
}

// Sets the node's prefix to `p`, or its first kMaxPrefix bytes.
void SetPrefix(Node* node, std::string_view p) {
  node->plen = static_cast<std::uint8_t>(std::min(p.size(), kMaxPrefix));
  std::memcpy(node->prefix, p.data(), node->plen);
}

// Shortens the node's prefix to its first `p` bytes and rewrites the heads, which need no key
// bytes beyond the old prefix and the old heads: new head = prefix[p, plen) then the old head.
void ShrinkPrefix(Node* node, std::uint64_t* heads, std::size_t count, std::size_t p) {
  const std::size_t d = node->plen - p;
  if (d == 0) return;
  const std::uint64_t from_prefix = HeadAt(node->Prefix(), p);  // zero past plen
  for (std::size_t i = 0; i < count; ++i) {
    heads[i] = d >= 8 ? from_prefix : (from_prefix | heads[i] >> (8 * d));
  }
  node->plen = static_cast<std::uint8_t>(p);
}

// The first index in [0, n) whose key is >= `key` (n when none), and whether it is equal.
std::size_t LeafLowerBound(const Leaf& l, std::string_view key, bool* equal) {
  *equal = false;
  if (const int po = PrefixOrder(l, key); po != 0) return po < 0 ? 0 : l.n;
  const std::uint64_t h = HeadAt(key, l.plen);
  std::size_t i = static_cast<std::size_t>(std::lower_bound(l.head, l.head + l.n, h) - l.head);
  for (; i < l.n && l.head[i] == h; ++i) {
    const int c = l.rec[i]->key().compare(key);
    if (c >= 0) {
      *equal = c == 0;
      return i;
    }
  }
  return i;
}

// The child of `in` whose range holds `key`: the number of separators <= key. Where heads
// tie, a smaller second head means a smaller separator (zero padding past a string's end
// keeps that true), a greater one a greater separator; only where both tie are the strings
// compared.
std::size_t Route(const Inner& in, std::string_view key) {
  if (const int po = PrefixOrder(in, key); po != 0) return po < 0 ? 0 : in.n;
  const std::uint64_t h = HeadAt(key, in.plen);
  std::size_t j = static_cast<std::size_t>(std::lower_bound(in.head, in.head + in.n, h) - in.head);
  if (j == in.n || in.head[j] != h) return j;
  const std::uint64_t h2 = HeadAt(key, in.plen + 8u);
  while (j < in.n && in.head[j] == h &&
         (in.head2[j] < h2 || (in.head2[j] == h2 && std::string_view(in.sep[j]) <= key))) {
    ++j;
  }
  return j;
}

// Sets the node's prefix to what its first and last entries share and recomputes the heads.
// Returns whether the prefix changed.
template <class KeyOf>
bool Reprefix(Node* node, std::uint64_t* heads, std::size_t count, KeyOf key_of) {
  if (count == 0) {
    const bool changed = node->plen != 0;
    node->plen = 0;
    return changed;
  }
  const std::string_view first = key_of(0), last = key_of(count - 1);
  const std::size_t p = std::min(CommonPrefix(first, last), kMaxPrefix);
  if (p == node->plen && std::memcmp(node->prefix, first.data(), p) == 0) return false;  // heads still hold
  SetPrefix(node, first.substr(0, p));
  for (std::size_t i = 0; i < count; ++i) heads[i] = HeadAt(key_of(i), p);
  return true;
}

// Recomputes an inner node's second heads from its separators, after its prefix changed.
void RefreshHead2(Inner* in) {
  for (std::size_t j = 0; j < in->n; ++j) in->head2[j] = HeadAt(in->sep[j], in->plen + 8u);
}

void ReprefixLeaf(Leaf* l) {
  Reprefix(l, l->head, l->n, [l](std::size_t i) { return l->rec[i]->key(); });
}
void ReprefixInner(Inner* in) {
  if (Reprefix(in, in->head, in->n, [in](std::size_t i) { return std::string_view(in->sep[i]); })) RefreshHead2(in);
}

// Makes the node's prefix one that `key`, about to come in, shares too.
void AdmitPrefix(Node* node, std::uint64_t* heads, std::string_view key) {
  if (node->n == 0) {
    SetPrefix(node, key);
  } else if (PrefixOrder(*node, key) != 0) {
    ShrinkPrefix(node, heads, node->n, CommonPrefix(node->Prefix(), key));
  }
}

// Inserts `sep` at position j of `in`, with `right` as the child after it.
void InsertSeparator(Inner* in, std::size_t j, std::string sep, Node* right) {
  const std::uint8_t plen = in->plen;
  AdmitPrefix(in, in->head, sep);
  if (in->plen != plen) RefreshHead2(in);  // a prefix only ever shrinks here
  std::move_backward(in->head + j, in->head + in->n, in->head + in->n + 1);
  std::move_backward(in->head2 + j, in->head2 + in->n, in->head2 + in->n + 1);
  std::move_backward(in->sep + j, in->sep + in->n, in->sep + in->n + 1);
  std::move_backward(in->child + j + 1, in->child + in->n + 1, in->child + in->n + 2);
  in->head[j] = HeadAt(sep, in->plen);
  in->head2[j] = HeadAt(sep, in->plen + 8u);
  in->sep[j] = std::move(sep);
  in->child[j + 1] = right;
  ++in->n;
}

// A node that split: the separator between it and its new right sibling, and the sibling.
struct Split {
  std::string sep;
  Node* right = nullptr;
};

void FreeTree(Node* node) {
  if (node->leaf) {
    auto* l = static_cast<Leaf*>(node);
    for (std::size_t i = 0; i < l->n; ++i) Rec::Delete(l->rec[i]);
    delete l;
    return;
  }
  auto* in = static_cast<Inner*>(node);
  for (std::size_t j = 0; j <= in->n; ++j) FreeTree(in->child[j]);
  delete in;
}

}  // namespace

ReplayState::ReplayState() {
  auto* l = new Leaf();
  root_ = l;
  first_ = l;
}

ReplayState::~ReplayState() { FreeTree(root_); }

namespace {

// Puts into the leaf; splits it when it overflows. Returns whether a key was added.
bool PutLeaf(Leaf* l, std::string_view key, std::string_view value, Split* split) {
  bool equal = false;
  const std::size_t i = LeafLowerBound(*l, key, &equal);
  if (equal) {
    Rec* r = l->rec[i];
    if (value.size() <= r->vcap) {
      if (!value.empty()) std::memcpy(r->bytes() + r->klen, value.data(), value.size());
      r->vlen = static_cast<std::uint32_t>(value.size());
    } else {
      l->rec[i] = Rec::New(key, value);
      Rec::Delete(r);
    }
    return false;
  }
  AdmitPrefix(l, l->head, key);
  std::move_backward(l->head + i, l->head + l->n, l->head + l->n + 1);
  std::move_backward(l->rec + i, l->rec + l->n, l->rec + l->n + 1);
  l->head[i] = HeadAt(key, l->plen);
  l->rec[i] = Rec::New(key, value);
  ++l->n;
  if (l->n <= kLeafCap) return true;

  // Split. A key added at the end of the leaf starts a new one, so that keys written in
  // increasing order (ids, slots) fill their leaves; otherwise halves.
  const std::size_t keep = i == kLeafCap ? kLeafCap : (kLeafCap + 1) / 2;
  auto* r = new Leaf();
  r->n = static_cast<std::uint16_t>(l->n - keep);
  std::copy(l->rec + keep, l->rec + l->n, r->rec);
  std::copy(l->head + keep, l->head + l->n, r->head);
  SetPrefix(r, l->Prefix());
  l->n = static_cast<std::uint16_t>(keep);
  ReprefixLeaf(l);
  ReprefixLeaf(r);
  r->next = l->next;
  r->prev = l;
  if (l->next) l->next->prev = r;
  l->next = r;
  split->sep = std::string(r->rec[0]->key());
  split->right = r;
  return true;
}

bool PutNode(Node* node, std::string_view key, std::string_view value, Split* split) {
  if (node->leaf) return PutLeaf(static_cast<Leaf*>(node), key, value, split);
  auto* in = static_cast<Inner*>(node);
  const std::size_t j = Route(*in, key);
  Split below;
  const bool added = PutNode(in->child[j], key, value, &below);
  if (below.right == nullptr) return added;
  InsertSeparator(in, j, std::move(below.sep), below.right);
  if (in->n <= kInnerCap) return added;
  // Split: the middle separator moves up.
  const std::size_t m = in->n / 2;
  auto* r = new Inner();
  r->n = static_cast<std::uint16_t>(in->n - m - 1);
  std::move(in->sep + m + 1, in->sep + in->n, r->sep);
  std::copy(in->head + m + 1, in->head + in->n, r->head);
  std::copy(in->head2 + m + 1, in->head2 + in->n, r->head2);
  std::copy(in->child + m + 1, in->child + in->n + 1, r->child);
  SetPrefix(r, in->Prefix());
  split->sep = std::move(in->sep[m]);
  for (std::size_t k = m; k < in->n; ++k) in->sep[k].clear();
  in->n = static_cast<std::uint16_t>(m);
  ReprefixInner(in);
  ReprefixInner(r);
  split->right = r;
  return added;
}

// Erases from the subtree; returns whether a key went, and sets *empty when the node has
// nothing left (its parent then frees it).
bool EraseNode(Node* node, std::string_view key, bool* empty, Leaf** first) {
  *empty = false;
  if (node->leaf) {
    auto* l = static_cast<Leaf*>(node);
    bool equal = false;
    const std::size_t i = LeafLowerBound(*l, key, &equal);
    if (!equal) return false;
    Rec::Delete(l->rec[i]);
    std::move(l->head + i + 1, l->head + l->n, l->head + i);
    std::move(l->rec + i + 1, l->rec + l->n, l->rec + i);
    --l->n;
    *empty = l->n == 0;
    return true;
  }
  auto* in = static_cast<Inner*>(node);
  const std::size_t j = Route(*in, key);
  bool child_empty = false;
  const bool erased = EraseNode(in->child[j], key, &child_empty, first);
  if (!child_empty) return erased;
  Node* gone = in->child[j];
  if (gone->leaf) {
    auto* l = static_cast<Leaf*>(gone);
    if (l->prev) l->prev->next = l->next;
    if (l->next) l->next->prev = l->prev;
    if (*first == l) *first = l->next;
    delete l;
  } else {
    delete static_cast<Inner*>(gone);
  }
  if (in->n == 0) {
    *empty = true;  // its only child went
    return erased;
  }
  // Drop the child and a separator beside it: the neighbour's range takes in the gap,
  // which holds no keys.
  const std::size_t s = j > 0 ? j - 1 : 0;
  std::move(in->head + s + 1, in->head + in->n, in->head + s);
  std::move(in->head2 + s + 1, in->head2 + in->n, in->head2 + s);
  std::move(in->sep + s + 1, in->sep + in->n, in->sep + s);
  in->sep[in->n - 1].clear();
  std::move(in->child + j + 1, in->child + in->n + 1, in->child + j);
  --in->n;
  return erased;
}

}  // namespace

void ReplayState::Put(std::string_view key, std::string_view value) {
  Split split;
  if (PutNode(root_, key, value, &split)) ++size_;
  if (split.right == nullptr) return;
  auto* root = new Inner();
  root->child[0] = root_;
  InsertSeparator(root, 0, std::move(split.sep), split.right);
  root_ = root;
}

void ReplayState::Erase(std::string_view key) {
  bool empty = false;
  if (!EraseNode(root_, key, &empty, &first_)) return;
  --size_;
  // Only a leaf root is ever left empty: an inner root has two children or more.
  assert(!empty || root_->leaf);
  // A root with one child and no separator hands over to that child.
  while (!root_->leaf && root_->n == 0) {
    auto* in = static_cast<Inner*>(root_);
    root_ = in->child[0];
    delete in;
  }
}

void ReplayState::Apply(const WriteSet& writes) {
  for (const auto& [key, value] : writes.entries()) {
    if (value) {
      Put(key, *value);
    } else {
      Erase(key);
    }
  }
}

std::vector<std::string> ReplayState::SplitKeys() const {
  if (root_->leaf) return {};
  const auto* in = static_cast<const Inner*>(root_);
  return std::vector<std::string>(in->sep, in->sep + in->n);
}

namespace {
// The leaf whose range holds `key`.
const Leaf* FindLeaf(const Node* node, std::string_view key) {
  while (!node->leaf) {
    const auto* in = static_cast<const Inner*>(node);
    node = in->child[Route(*in, key)];
  }
  return static_cast<const Leaf*>(node);
}
}  // namespace

void ReplayState::LowerBound(std::string_view key, const Leaf** leaf, std::size_t* index) const {
  const Leaf* l = FindLeaf(root_, key);
  bool equal = false;
  std::size_t i = LeafLowerBound(*l, key, &equal);
  if (i == l->n) {  // past this leaf: the next one's first (no leaf but an empty root is empty)
    l = l->next;
    i = 0;
  }
  *leaf = l;
  *index = i;
}

Status ReplayState::Get(std::string_view key, std::string* value) const {
  const Leaf& l = *FindLeaf(root_, key);
  bool equal = false;
  const std::size_t i = LeafLowerBound(l, key, &equal);
  if (!equal) return KeyNotFound();
  value->assign(l.rec[i]->value());
  return Status::OK();
}

class ReplayState::Iter : public StateIterator {
 public:
  Iter(const Leaf* leaf, std::size_t index, std::string_view prefix) : leaf_(leaf), i_(index), prefix_(prefix) {}
  bool Valid() const override { return leaf_ != nullptr && leaf_->rec[i_]->key().starts_with(prefix_); }
  void Next() override {
    if (++i_ == leaf_->n) {
      leaf_ = leaf_->next;
      i_ = 0;
    }
  }
  std::string_view key() const override { return leaf_->rec[i_]->key(); }
  std::string_view value() const override { return leaf_->rec[i_]->value(); }
  Status status() const override { return Status::OK(); }

 private:
  const Leaf* leaf_;
  std::size_t i_;
  std::string prefix_;
};

std::unique_ptr<StateIterator> ReplayState::NewIterator(std::string_view prefix, std::string_view start) const {
  const Leaf* leaf = nullptr;
  std::size_t i = 0;
  LowerBound(std::max(prefix, start), &leaf, &i);
  return std::make_unique<Iter>(leaf, i, prefix);
}

namespace {

struct Checker {
  const Leaf* expect_leaf = nullptr;  // the next leaf an in-order walk should meet
  const Leaf* prev_leaf = nullptr;
  std::string last_key;
  bool any = false;
  std::size_t count = 0;
  Status status;

  bool Fail(std::string what) {
    if (status.ok()) status = Status::Corruption("replay state: " + what);
    return false;
  }

  // Checks the subtree, whose keys must lie in [lo, hi) (null: unbounded).
  bool Walk(const Node* node, const std::string* lo, const std::string* hi, bool is_root) {
    if (node->plen > kMaxPrefix) return Fail("prefix too long");
    if (node->leaf) {
      const auto* l = static_cast<const Leaf*>(node);
      if (l != expect_leaf) return Fail("leaves not linked in key order");
      if (l->prev != prev_leaf) return Fail("a leaf's prev link is wrong");
      if (l->n == 0 && !is_root) return Fail("an empty leaf below the root");
      if (l->n > kLeafCap) return Fail("a leaf over capacity");
      for (std::size_t i = 0; i < l->n; ++i) {
        const std::string_view k = l->rec[i]->key();
        if (!k.starts_with(l->Prefix())) return Fail("a key without its leaf's prefix");
        if (l->head[i] != HeadAt(k, l->plen)) return Fail("a stale head");
        if (any && !(std::string_view(last_key) < k)) return Fail("keys out of order");
        if ((lo && k < std::string_view(*lo)) || (hi && !(k < std::string_view(*hi)))) {
          return Fail("a key outside its separators");
        }
        if (l->rec[i]->vlen > l->rec[i]->vcap) return Fail("a value over its room");
        last_key.assign(k);
        any = true;
        ++count;
      }
      prev_leaf = l;
      expect_leaf = l->next;
      return true;
    }
    const auto* in = static_cast<const Inner*>(node);
    if (in->n > kInnerCap) return Fail("an inner node over capacity");
    if (in->n == 0 && is_root) return Fail("a root with one child");
    for (std::size_t j = 0; j < in->n; ++j) {
      if (!std::string_view(in->sep[j]).starts_with(in->Prefix())) return Fail("a separator without its node's prefix");
      if (in->head[j] != HeadAt(in->sep[j], in->plen)) return Fail("a stale separator head");
      if (in->head2[j] != HeadAt(in->sep[j], in->plen + 8u)) return Fail("a stale second separator head");
      if (j > 0 && !(in->sep[j - 1] < in->sep[j])) return Fail("separators out of order");
    }
    for (std::size_t j = 0; j <= in->n; ++j) {
      const std::string* clo = j == 0 ? lo : &in->sep[j - 1];
      const std::string* chi = j == in->n ? hi : &in->sep[j];
      if (!Walk(in->child[j], clo, chi, false)) return false;
    }
    return true;
  }
};

}  // namespace

Status ReplayState::CheckStructure() const {
  Checker c;
  c.expect_leaf = first_;
  if (!c.Walk(root_, nullptr, nullptr, true)) return c.status;
  if (c.expect_leaf != nullptr) return Status::Corruption("replay state: the leaf list runs past the last leaf");
  if (c.count != size_) {
    return Status::Corruption("replay state: " + std::to_string(c.count) + " keys, size says " + std::to_string(size_));
  }
  return Status::OK();
}

}  // namespace nanum::audit
