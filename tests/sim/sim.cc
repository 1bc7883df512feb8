// The simulator; see sim.h.
#include "tests/sim/sim.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <sstream>

#include "ledger/encoding.h"
#include "tests/sim/sim_app.h"

namespace nanum::sim {

std::uint64_t Rng::Next() {
  std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

const char* ByzantineName(Byzantine b) {
  switch (b) {
    case Byzantine::kNone: return "none";
    case Byzantine::kEquivocate: return "equivocating primary";
    case Byzantine::kSilent: return "silent primary";
    case Byzantine::kConflictingVotes: return "conflicting votes";
    case Byzantine::kCensor: return "censoring primary";
  }
  return "?";
}

namespace {

constexpr std::uint64_t kStartMs = 1'800'000'000'000;  // simulated wall clock at t = 0
constexpr std::uint64_t kTickMs = 10;


// Caches signature checks: every replica checks the same votes, and the outcome of a check
// depends only on its inputs.
class VerifyCache {
 public:
  bool operator()(const PublicKey& k, const Hash256& d, const Signature& s) {
    std::array<std::uint8_t, 128> key{};
    std::memcpy(key.data(), k.bytes().data(), 32);
    std::memcpy(key.data() + 32, d.data(), 32);
    std::memcpy(key.data() + 64, s.data(), 64);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    const bool ok = nanum::Verify(k, d, s);
    cache_.emplace(key, ok);
    return ok;
  }

 private:
  std::map<std::array<std::uint8_t, 128>, bool> cache_;
};

}  // namespace

pbft::Config SimConsensusConfig() {
  pbft::Config c;
  c.max_batch_txs = 50;
  c.batch_delay_ms = 80;
  c.max_in_flight = 3;
  c.checkpoint_interval = 4;
  c.watermark_window = 8;
  c.request_timeout_ms = 600;
  c.view_change_timeout_ms = 600;
  c.resend_interval_ms = 100;
  c.max_clock_drift_ms = 1000;
  c.max_pending = 10'000;
  return c;
}

Options Options::FromSeed(std::uint64_t seed, std::size_t n) {
  Rng r(seed * 0x100000001b3ULL + n);
  Options o;
  o.seed = seed;
  o.n = n;
  o.loss_per_mille = r.Chance(500) ? r.Between(10, 150) : 0;
  o.dup_per_mille = r.Chance(500) ? r.Between(10, 100) : 0;
  o.max_delay_ms = r.Chance(500) ? r.Between(20, 200) : 5;
  o.partitions = r.Chance(500);
  o.crashes = r.Chance(500);
  o.max_drift_ms = r.Chance(500) ? r.Between(10, 400) : 0;
  switch (seed % 5) {
    case 0: o.byzantine = Byzantine::kNone; break;
    case 1: o.byzantine = Byzantine::kEquivocate; break;
    case 2: o.byzantine = Byzantine::kSilent; break;
    case 3: o.byzantine = Byzantine::kConflictingVotes; break;
    default: o.byzantine = Byzantine::kCensor; break;
  }
  o.fault_ms = r.Between(1500, 4000);
  o.change_validators_at_ms = r.Chance(300) ? r.Between(100, o.fault_ms) : 0;
  return o;
}

Options Options::Quiet(std::size_t n, std::uint64_t seed, std::size_t followers) {
  Options o;
  o.seed = seed;
  o.n = n;
  o.followers = followers;
  o.fault_ms = 0;
  return o;
}

std::string Options::Describe() const {
  std::ostringstream s;
  s << "seed " << seed << ", n=" << n << ", followers " << followers << ", loss "
    << loss_per_mille << "‰, dup " << dup_per_mille << "‰, delay<=" << max_delay_ms
    << "ms, partitions " << partitions << ", crashes " << crashes << ", drift<="
    << max_drift_ms << "ms, byzantine: " << ByzantineName(byzantine) << ", faults for "
    << fault_ms << "ms";
  if (change_validators_at_ms != 0) s << ", validator change at " << change_validators_at_ms << "ms";
  return s.str();
}

struct Simulation::Impl {
  struct Node {
    std::size_t index = 0;
    PrivateKey key;
    bool validator = false;
    Byzantine byz = Byzantine::kNone;
    bool up = true;
    bool crashed_since_submit = false;
    std::int64_t clock_offset = 0;
    std::uint64_t silent_from = 0;
    std::string hard_state;
    std::vector<Block> disk;  // disk[h] is the block at height h
    std::unique_ptr<SimApp> app;
    std::unique_ptr<pbft::Replica> replica;
    std::size_t fetches = 0;
    std::set<Hash256> accepted;  // requests this node accepted from clients
  };
  enum class Kind { kDeliver, kTick, kRequest };
  struct Event {
    std::uint64_t time;
    std::uint64_t seq;
    Kind kind;
    std::size_t to;
    std::string bytes;
    bool operator>(const Event& o) const { return std::tie(time, seq) > std::tie(o.time, o.seq); }
  };

  Simulation* self;
  Options opt;
  Rng rng;
  std::uint64_t now = kStartMs;
  std::uint64_t seq = 0;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> queue;
  std::vector<Node> nodes;
  std::vector<PublicKey> validators;  // sorted
  std::map<PublicKey, std::size_t> index_of;
  std::size_t f = 0;
  Block genesis;
  VerifyCache verify_cache;
  std::set<std::size_t> cut;  // partitioned group
  std::uint64_t loss = 0, dup = 0, max_delay = 5;

  // Observations for the checks.
  std::map<std::uint64_t, Hash256> chain;      // what correct nodes committed
  std::set<Hash256> primary_proposals;         // blocks pre-prepared by their view's primary
  std::map<Hash256, bool> requests;            // accepted request -> resolved
  std::uint64_t next_nonce = 1;
  std::vector<Transaction> submitted;          // for re-submitting duplicates

  Impl(Simulation* s, const Options& o) : self(s), opt(o), rng(o.seed) {
    loss = o.loss_per_mille;
    dup = o.dup_per_mille;
    max_delay = o.max_delay_ms;
    f = (o.n - 1) / 3;
    Rng keys(0x6e616e756dULL + o.n);  // keys depend only on n, so figures compare
    std::vector<PrivateKey> vkeys;
    for (std::size_t i = 0; i < o.n + o.followers; ++i) {
      std::array<std::uint8_t, 32> secret{};
      for (auto& b : secret) b = static_cast<std::uint8_t>(keys.Next());
      PrivateKey k;
      Status st = PrivateKey::FromBytes(secret, &k);
      (void)st;
      vkeys.push_back(k);
    }
    // Validators sorted by key; node index = position in the sorted set, followers after.
    std::vector<PrivateKey> v(vkeys.begin(), vkeys.begin() + static_cast<std::ptrdiff_t>(o.n));
    std::sort(v.begin(), v.end(), [](const PrivateKey& a, const PrivateKey& b) {
      return a.public_key() < b.public_key();
    });
    for (const PrivateKey& k : v) validators.push_back(k.public_key());
    genesis.header.height = 0;
    genesis.header.timestamp_ms = kStartMs - 1000;
    genesis.header.tx_root = TxRoot({});
    genesis.header.state_root = TaggedHash("nanum/sim/genesis", "");
    genesis.header.results_root = ResultsRoot({});
    for (std::size_t i = 0; i < o.n + o.followers; ++i) {
      Node nd;
      nd.index = i;
      nd.key = i < o.n ? v[i] : vkeys[i];
      nd.validator = i < o.n;
      nd.disk.push_back(genesis);
      if (o.max_drift_ms > 0) {
        nd.clock_offset = static_cast<std::int64_t>(rng.Below(2 * o.max_drift_ms + 1)) -
                          static_cast<std::int64_t>(o.max_drift_ms);
      }
      index_of[nd.key.public_key()] = i;
      nodes.push_back(std::move(nd));
    }
    for (std::size_t i = 0; i < nodes.size(); ++i) Start(i);
    Push(now + kTickMs, Kind::kTick, 0, {});
    Push(now + opt.request_interval_ms, Kind::kRequest, 0, {});
  }

  pbft::Config ConfigFor(const Node& nd) {
    pbft::Config c = opt.consensus;
    c.key = nd.key;
    c.verify = [this](const PublicKey& k, const Hash256& d, const Signature& s) {
      return verify_cache(k, d, s);
    };
    return c;
  }

  std::uint64_t LocalNow(const Node& nd) const {
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(now) + nd.clock_offset);
  }

  void Start(std::size_t i) {
    Node& nd = nodes[i];
    pbft::HardState hs;
    if (!nd.hard_state.empty()) {
      Status s = pbft::HardState::Decode(nd.hard_state, &hs);
      if (!s.ok()) Fail("node " + std::to_string(i) + " cannot read its hard state: " + s.ToString());
    }
    nd.app = std::make_unique<SimApp>(&nd.disk, validators);
    nd.app->set_censor(nd.byz == Byzantine::kCensor);
    nd.replica = std::make_unique<pbft::Replica>(ConfigFor(nd), nd.app.get(), nd.disk.back(), hs,
                                                 LocalNow(nd));
    nd.up = true;
    Drain(i);
  }

  void Push(std::uint64_t t, Kind k, std::size_t to, std::string bytes) {
    queue.push(Event{t, seq++, k, to, std::move(bytes)});
  }

  bool Correct(std::size_t i) const { return nodes[i].byz == Byzantine::kNone; }
  bool Faulty() const { return now - kStartMs < opt.fault_ms; }

  void Fail(const std::string& what) {
    if (self->failure_.ok()) {
      self->failure_ = Status::Corruption(what + " at t=" + std::to_string(now - kStartMs) +
                                          "ms [" + opt.Describe() + "]");
    }
  }

  // Handles every Ready of node i: persist, apply, check, send.
  void Drain(std::size_t i) {
    Node& nd = nodes[i];
    while (nd.up && nd.replica->HasReady()) {
      pbft::Ready r = nd.replica->GetReady();
      if (r.hard_state) nd.hard_state = *r.hard_state;
      for (const Block& b : r.committed) {
        Status s = nd.app->Apply(b);
        if (!s.ok()) Fail("node " + std::to_string(i) + " cannot apply block " +
                          std::to_string(b.header.height) + ": " + s.ToString());
        if (Correct(i)) CheckCommitted(i, b);
      }
      for (auto& [id, why] : r.rejected) {
        auto it = requests.find(id);
        if (it != requests.end()) it->second = true;
        ++self->counters_.requests_rejected;
      }
      for (pbft::Outgoing& o : r.messages) Send(i, o);
      nd.replica->Advance();
    }
  }

  void CheckCommitted(std::size_t i, const Block& b) {
    const std::uint64_t h = b.header.height;
    const Hash256 hash = b.Hash();
    auto [it, fresh] = chain.emplace(h, hash);
    if (!fresh && it->second != hash) {
      Fail("SAFETY: node " + std::to_string(i) + " committed " + ToHex(hash).substr(0, 16) +
           " at height " + std::to_string(h) + " where another committed " +
           ToHex(it->second).substr(0, 16));
    }
    if (primary_proposals.count(hash) == 0) {
      Fail("SAFETY: block at height " + std::to_string(h) +
           " was never pre-prepared by a primary of its view");
    }
    if (!b.certificate) {
      Fail("SAFETY: committed block without a certificate");
      return;
    }
    const std::vector<PublicKey>& set = nodes[i].app->ValidatorsAt(h);
    Status cert = VerifyCertificate(
        *b.certificate, b.header, set, pbft::Quorum(set.size()),
        [this](const PublicKey& k, const Hash256& d, const Signature& s) {
          return verify_cache(k, d, s);
        });
    if (!cert.ok()) {
      Fail("SAFETY: certificate of block " + std::to_string(h) + ": " + cert.ToString());
    }
    for (const Transaction& tx : b.txs) {
      auto r = requests.find(tx.id());
      if (r != requests.end()) r->second = true;
    }
  }

  void Send(std::size_t from, const pbft::Outgoing& o) {
    Node& nd = nodes[from];
    if (nd.byz == Byzantine::kSilent && now - kStartMs >= nd.silent_from) return;
    const pbft::Message& m = o.msg;
    // Messages of this Ready were made in the epoch the replica is in until Advance.
    const std::vector<PublicKey>& set = nd.replica->epoch().validators;
    if (auto* pp = std::get_if<pbft::PrePrepare>(&m.body)) {
      if (set[pp->view % set.size()] == m.from) primary_proposals.insert(pp->block.Hash());
    }
    if (auto* nv = std::get_if<pbft::NewView>(&m.body)) {
      BlockHeader base;
      for (const pbft::PreparedProof* p : pbft::SelectReproposals(nv->view_changes, &base)) {
        primary_proposals.insert(p->block.Hash());
      }
    }
    const std::string bytes = m.Encode();
    const std::string type = pbft::TypeName(m.type());
    std::vector<std::size_t> to;
    if (o.to) {
      auto it = index_of.find(*o.to);
      if (it != index_of.end()) to.push_back(it->second);
    } else {
      for (const PublicKey& k : set) {
        const std::size_t j = index_of.at(k);
        if (j != from) to.push_back(j);
      }
    }
    for (std::size_t j : to) {
      std::string out = bytes;
      if (nd.byz != Byzantine::kNone && (j % 2 == 1)) out = Tamper(nd, m, bytes);
      ++self->counters_.messages[type];
      self->counters_.bytes[type] += out.size();
      Transmit(from, j, std::move(out));
    }
  }

  // What a Byzantine node sends to half of its peers instead of the honest message.
  std::string Tamper(const Node& nd, const pbft::Message& m, const std::string& honest) {
    pbft::Message t = m;
    if (nd.byz == Byzantine::kEquivocate) {
      auto* pp = std::get_if<pbft::PrePrepare>(&t.body);
      if (pp == nullptr) return honest;
      pp->block.header.timestamp_ms += 1;  // still valid, a different block
      const Hash256 h = pp->block.Hash();
      t.sig = nd.key.SignWithAux(pbft::PrePrepareDigest(pp->view, pp->block.header.height, h),
                                 Hash256{});
      primary_proposals.insert(h);
      return t.Encode();
    }
    if (nd.byz == Byzantine::kConflictingVotes) {
      Hash256 other{};
      for (auto& b : other) b = static_cast<std::uint8_t>(rng.Next());
      if (auto* p = std::get_if<pbft::Prepare>(&t.body)) {
        p->hash = other;
        t.sig = nd.key.SignWithAux(pbft::PrepareDigest(p->view, p->height, p->hash), Hash256{});
        return t.Encode();
      }
      if (auto* c = std::get_if<pbft::Commit>(&t.body)) {
        c->hash = other;
        t.sig = nd.key.SignWithAux(CommitDigest(c->height, c->view, c->hash), Hash256{});
        return t.Encode();
      }
    }
    return honest;
  }

  void Transmit(std::size_t from, std::size_t to, std::string bytes) {
    const bool faulty = Faulty();
    if (cut.count(from) != cut.count(to)) {
      ++self->counters_.dropped;
      return;
    }
    if (faulty && rng.Chance(loss)) {
      ++self->counters_.dropped;
      return;
    }
    const std::uint64_t delay = rng.Between(1, faulty ? max_delay : 5);
    if (faulty && rng.Chance(dup)) Push(now + rng.Between(1, max_delay), Kind::kDeliver, to, bytes);
    Push(now + delay, Kind::kDeliver, to, std::move(bytes));
  }

  void Deliver(const Event& e) {
    Node& nd = nodes[e.to];
    if (!nd.up) return;
    pbft::Message m;
    Status s = pbft::Message::Decode(e.bytes, &m);
    if (!s.ok()) {
      Fail("a message does not decode: " + s.ToString());
      return;
    }
    if (m.type() == pbft::MessageType::kFetch) ++nodes[index_of.at(m.from)].fetches;
    if (trace) Trace(e.to, m);
    ++self->counters_.delivered;
    Status ignored = nd.replica->Step(m);  // refusals are normal under faults
    (void)ignored;
    Drain(e.to);
  }

  // NANUM_SIM_TRACE=1 prints every delivered message and each node's state once a second.
  bool trace = std::getenv("NANUM_SIM_TRACE") != nullptr;
  void Trace(std::size_t to, const pbft::Message& m) {
    std::printf("%6llu %zu->%zu %-11s", static_cast<unsigned long long>(now - kStartMs),
                index_of.count(m.from) ? index_of.at(m.from) : 99, to, pbft::TypeName(m.type()));
    std::visit(
        [](const auto& b) {
          using T = std::decay_t<decltype(b)>;
          if constexpr (std::is_same_v<T, pbft::PrePrepare>) {
            std::printf(" v=%llu h=%llu", static_cast<unsigned long long>(b.view),
                        static_cast<unsigned long long>(b.block.header.height));
          } else if constexpr (std::is_same_v<T, pbft::Prepare> || std::is_same_v<T, pbft::Commit>) {
            std::printf(" v=%llu h=%llu %s", static_cast<unsigned long long>(b.view),
                        static_cast<unsigned long long>(b.height), ToHex(b.hash).substr(0, 8).c_str());
          } else if constexpr (std::is_same_v<T, pbft::Checkpoint>) {
            std::printf(" h=%llu", static_cast<unsigned long long>(b.height));
          } else if constexpr (std::is_same_v<T, pbft::ViewChange>) {
            std::printf(" to v=%llu committed=%llu proofs=%zu", static_cast<unsigned long long>(b.new_view),
                        static_cast<unsigned long long>(b.committed.height), b.prepared.size());
            for (const auto& p : b.prepared) {
              std::printf(" [h=%llu v=%llu %s]", static_cast<unsigned long long>(p.block.header.height),
                          static_cast<unsigned long long>(p.view), ToHex(p.block.Hash()).substr(0, 8).c_str());
            }
          } else if constexpr (std::is_same_v<T, pbft::NewView>) {
            std::printf(" v=%llu reproposals=%zu from", static_cast<unsigned long long>(b.view),
                        b.preprepare_sigs.size());
            for (const auto& vc : b.view_changes) {
              std::printf(" [committed=%llu proofs=%zu]",
                          static_cast<unsigned long long>(vc.vc.committed.height), vc.vc.prepared.size());
            }
          } else if constexpr (std::is_same_v<T, pbft::StatusMsg>) {
            std::printf(" v=%llu%s h=%llu", static_cast<unsigned long long>(b.view),
                        b.changing ? "*" : "", static_cast<unsigned long long>(b.height));
          }
        },
        m.body);
    std::printf("\n");
  }

  void TickAll() {
    if (trace && (now - kStartMs) % 1000 == 0) {
      for (std::size_t i = 0; i < nodes.size(); ++i) {
        if (!nodes[i].up) {
          std::printf("       node %zu down\n", i);
          continue;
        }
        pbft::ReplicaStatus st = nodes[i].replica->status();
        std::printf("       node %zu h=%llu v=%llu%s stable=%llu log=%zu pending=%zu\n", i,
                    static_cast<unsigned long long>(st.committed_height),
                    static_cast<unsigned long long>(st.view), st.changing ? "*" : "",
                    static_cast<unsigned long long>(st.stable_checkpoint), st.log_entries,
                    st.pending);
      }
    }
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (!nodes[i].up) continue;
      nodes[i].replica->Tick(LocalNow(nodes[i]));
      Drain(i);
    }
    if (Faulty()) InjectFaults();
    if (opt.change_validators_at_ms != 0 && !change_done &&
        now - kStartMs >= opt.change_validators_at_ms) {
      SeededValidatorChange();
    }
    Push(now + kTickMs, Kind::kTick, 0, {});
  }

  void InjectFaults() {
    // About once per second each: a crash, a restart, a partition, a heal.
    if (opt.crashes && rng.Chance(10)) {
      std::size_t down = 0;
      for (const Node& nd : nodes) down += nd.up ? 0 : 1;
      const std::size_t i = rng.Below(nodes.size());
      if (down < f && nodes[i].up && Correct(i)) self->Crash(i);
    }
    if (opt.crashes && rng.Chance(15)) {
      const std::size_t i = rng.Below(nodes.size());
      if (!nodes[i].up) self->Restart(i);
    }
    if (opt.partitions && cut.empty() && rng.Chance(10)) {
      std::vector<std::size_t> g;
      for (std::size_t i = 0; i < nodes.size(); ++i) {
        if (rng.Chance(300)) g.push_back(i);
      }
      self->Partition(g);
    } else if (opt.partitions && !cut.empty() && rng.Chance(20)) {
      self->Heal();
    }
  }

  void NewRequest() {
    Push(now + rng.Between(1, 2 * opt.request_interval_ms), Kind::kRequest, 0, {});
    if (!self->load_) return;
    const std::size_t i = rng.Below(nodes.size());
    Node& nd = nodes[i];
    if (!nd.up || !Correct(i)) return;
    Transaction tx;
    if (!submitted.empty() && rng.Chance(50)) {
      tx = submitted[rng.Below(submitted.size())];  // a client retrying
    } else {
      TxBody body;
      body.chain_id = "sim";
      body.signer = validators[0];
      body.nonce = next_nonce++;
      body.payload = Payload{Transfer{"member-b", 1}};
      tx = Transaction::Unsigned(body);
    }
    Status s = nd.replica->Submit(tx);
    if (s.ok()) {
      ++self->counters_.requests_accepted;
      if (nd.replica->is_validator()) {
        requests.emplace(tx.id(), false);
        nd.accepted.insert(tx.id());
        submitted.push_back(tx);
      }
    } else {
      ++self->counters_.requests_rejected;  // refused at once: an explicit rejection
    }
    Drain(i);
  }

  void ChangeValidators(const std::vector<std::size_t>& members) {
    SetValidators sv;
    for (std::size_t i : members) sv.validators.push_back(nodes[i].key.public_key());
    std::sort(sv.validators.begin(), sv.validators.end());
    TxBody body;
    body.chain_id = "sim";
    body.signer = validators[0];
    if (next_nonce % 97 == 0) ++next_nonce;  // not one the application refuses
    body.nonce = next_nonce++;
    body.payload = Payload{Govern{body.nonce, std::move(sv)}};
    const Transaction tx = Transaction::Unsigned(body);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (!nodes[i].up || !Correct(i) || !nodes[i].replica->is_validator()) continue;
      if (nodes[i].replica->Submit(tx).ok()) {
        requests.emplace(tx.id(), false);
        nodes[i].accepted.insert(tx.id());
      }
      Drain(i);
    }
  }

  // The seed's validator change: one validator out, the first follower not in the set in.
  void SeededValidatorChange() {
    Rng r(opt.seed ^ 0xc4a);
    std::vector<std::size_t> members;
    std::size_t joining = nodes.size();
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i].up && nodes[i].replica->is_validator()) {
        members.push_back(i);
      } else if (joining == nodes.size() && i >= opt.n) {
        joining = i;
      }
    }
    if (members.size() < opt.n || joining == nodes.size()) return;  // not now
    members.erase(members.begin() + static_cast<std::ptrdiff_t>(r.Below(members.size())));
    members.push_back(joining);
    ChangeValidators(members);
    change_done = true;
  }
  bool change_done = false;

  void RunUntil(std::uint64_t t) {
    while (!queue.empty() && queue.top().time <= t && self->failure_.ok()) {
      Event e = queue.top();
      queue.pop();
      now = e.time;
      switch (e.kind) {
        case Kind::kDeliver: Deliver(e); break;
        case Kind::kTick: TickAll(); break;
        case Kind::kRequest: NewRequest(); break;
      }
    }
    if (now < t) now = t;
  }
};

Simulation::Simulation(const Options& o) {
  impl_ = std::make_unique<Impl>(this, o);
  const Options& opt = impl_->opt;
  if (opt.byzantine != Byzantine::kNone) {
    // The first primary is the Byzantine one for a primary fault; any backup otherwise.
    Rng r(opt.seed ^ 0xb42);
    const std::size_t i = opt.byzantine == Byzantine::kConflictingVotes ? 1 + r.Below(opt.n - 1) : 0;
    SetByzantine(i, opt.byzantine);
    impl_->nodes[i].silent_from = r.Below(opt.fault_ms);
  }
}

Simulation::~Simulation() = default;

void Simulation::RunUntil(std::uint64_t t_ms) { impl_->RunUntil(kStartMs + t_ms); }
std::uint64_t Simulation::now() const { return impl_->now - kStartMs; }
std::size_t Simulation::size() const { return impl_->nodes.size(); }
bool Simulation::up(std::size_t i) const { return impl_->nodes[i].up; }
const std::vector<PublicKey>& Simulation::validators() const { return impl_->validators; }
std::size_t Simulation::FetchesSent(std::size_t i) const { return impl_->nodes[i].fetches; }

pbft::ReplicaStatus Simulation::status(std::size_t i) const {
  return impl_->nodes[i].replica->status();
}

std::uint64_t Simulation::Height(std::size_t i) const {
  return impl_->nodes[i].disk.back().header.height;
}

std::uint64_t Simulation::MaxCorrectHeight() const {
  std::uint64_t h = 0;
  for (std::size_t i = 0; i < size(); ++i) {
    if (impl_->Correct(i)) h = std::max(h, Height(i));
  }
  return h;
}

void Simulation::Crash(std::size_t i) {
  Impl::Node& nd = impl_->nodes[i];
  if (!nd.up) return;
  nd.up = false;
  nd.replica.reset();
  nd.app.reset();
  // A crashed replica's request pool is gone; its clients must resubmit, so the liveness
  // check does not hold the replica to the requests it had accepted.
  for (const Hash256& id : nd.accepted) {
    auto it = impl_->requests.find(id);
    if (it != impl_->requests.end() && !it->second) impl_->requests.erase(it);
  }
  nd.accepted.clear();
}

void Simulation::Restart(std::size_t i) {
  if (impl_->nodes[i].up) return;
  impl_->Start(i);
}

void Simulation::Partition(const std::vector<std::size_t>& group) {
  impl_->cut = std::set<std::size_t>(group.begin(), group.end());
}
void Simulation::Heal() { impl_->cut.clear(); }

void Simulation::SetByzantine(std::size_t i, Byzantine b) {
  impl_->nodes[i].byz = b;
  impl_->nodes[i].app->set_censor(b == Byzantine::kCensor);
}

void Simulation::ChangeValidators(const std::vector<std::size_t>& nodes) {
  impl_->ChangeValidators(nodes);
}

void Simulation::SetFaults(std::uint64_t loss, std::uint64_t dup, std::uint64_t max_delay) {
  impl_->loss = loss;
  impl_->dup = dup;
  impl_->max_delay = max_delay;
}

std::size_t Simulation::RequestsUnresolved() const {
  std::size_t n = 0;
  for (const auto& [id, done] : impl_->requests) n += done ? 0 : 1;
  return n;
}

bool Simulation::Converged() const {
  std::optional<std::uint64_t> h;
  for (std::size_t i = 0; i < size(); ++i) {
    if (!impl_->Correct(i)) continue;
    if (!up(i)) return false;
    if (h && *h != Height(i)) return false;
    h = Height(i);
  }
  return RequestsUnresolved() == 0;
}

bool Simulation::RunUntilConverged(std::uint64_t bound_ms) {
  const std::uint64_t end = now() + bound_ms;
  while (now() < end && failure_.ok()) {
    RunUntil(now() + 100);
    if (Converged()) return true;
  }
  return false;
}

Status Simulation::Run() {
  const Options& o = impl_->opt;
  RunUntil(o.fault_ms);
  if (!failure_.ok()) return failure_;
  // Faults stop: every replica back up, the network whole and reliable.
  for (std::size_t i = 0; i < size(); ++i) Restart(i);
  Heal();
  const std::uint64_t height_at_heal = MaxCorrectHeight();
  RunUntil(o.fault_ms + o.load_after_ms);
  SetLoad(false);
  if (!RunUntilConverged(o.liveness_bound_ms)) {
    if (!failure_.ok()) return failure_;
    std::ostringstream s;
    s << "LIVENESS: not converged " << o.liveness_bound_ms << "ms after the load stopped:";
    for (std::size_t i = 0; i < size(); ++i) {
      pbft::ReplicaStatus st = status(i);
      s << " [node " << i << (impl_->Correct(i) ? "" : " byzantine") << " h=" << Height(i)
        << " v=" << st.view << (st.changing ? "*" : "") << " pending=" << st.pending
        << " stable=" << st.stable_checkpoint << " log=" << st.log_entries
        << " vcs=" << st.view_changes_started << "]";
    }
    s << " unresolved requests " << RequestsUnresolved() << " [" << o.Describe() << "]";
    return Status::Corruption(s.str());
  }
  if (MaxCorrectHeight() <= height_at_heal) {
    return Status::Corruption("LIVENESS: no block committed after faults stopped [" +
                              o.Describe() + "]");
  }
  return failure_;
}

}  // namespace nanum::sim
