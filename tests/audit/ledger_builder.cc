#include "ledger_builder.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "chaincode/genesis_file.h"
#include "ledger/store.h"

namespace nanum::testing {
namespace {

constexpr char kChain[] = "audit-test-1";

struct Pending {
  int signer;  // index into the builder's key table
  Payload payload;
};

// xorshift64*: the builder's deterministic choices.
struct Rng {
  std::uint64_t s;
  std::uint64_t Next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ULL;
  }
  std::uint64_t Between(std::uint64_t lo, std::uint64_t hi) { return lo + Next() % (hi - lo + 1); }
};

std::string HouseId(int i) {
  char b[16];
  std::snprintf(b, sizeof b, "h-%04d", i);
  return b;
}

}  // namespace

PrivateKey BuilderKey(const std::string& name) {
  PrivateKey k;
  if (!PrivateKey::FromBytes(Sha256Of("nanum ledger builder " + name), &k).ok()) std::abort();
  return k;
}

Status BuildLedger(const std::string& dir, const LedgerSpec& spec, LedgerStats* stats) {
  *stats = LedgerStats();
  namespace fs = std::filesystem;
  if (fs::exists(dir + "/data/ledger")) return Status::FailedPrecondition(dir + " already holds a ledger");
  std::error_code ec;
  fs::create_directories(dir + "/data", ec);
  if (ec) return Status::IOError(dir + ": " + ec.message());

  // Keys: validators 0..3, the operator, then per household its own key and its oracle's.
  std::vector<PrivateKey> keys;
  std::vector<std::string> names;
  auto add_key = [&](const std::string& name) {
    names.push_back(name);
    keys.push_back(BuilderKey(name));
    return static_cast<int>(keys.size() - 1);
  };
  std::vector<int> validator_idx;
  for (int v = 0; v < 4; ++v) validator_idx.push_back(add_key("validator-" + std::to_string(v)));
  add_key("op");
  std::vector<int> house_idx, oracle_idx;
  for (int i = 0; i < spec.households; ++i) {
    house_idx.push_back(add_key(HouseId(i)));
    oracle_idx.push_back(add_key("oracle-" + HouseId(i)));
  }

  const std::uint64_t slot_ms = spec.slot_seconds * 1000;
  market::Genesis g;
  g.info.name = "Audit Test Community";
  g.info.chain_id = kChain;
  g.info.genesis_time_ms = 1'800'000'000'000ULL / slot_ms * slot_ms;
  g.params.slot_seconds = spec.slot_seconds;
  g.params.gate_closure_seconds = std::max<std::uint64_t>(1, spec.slot_seconds / 10);
  g.params.settlement_delay_seconds = spec.slot_seconds;
  g.params.initial_grant = 1'000'000'000;
  for (int v : validator_idx) g.validators.push_back(keys[static_cast<std::size_t>(v)].public_key());
  std::sort(g.validators.begin(), g.validators.end());
  g.members.push_back({"op", BuilderKey("op").public_key(), true});
  for (int i = 0; i < spec.households; ++i) {
    const std::string id = HouseId(i);
    g.members.push_back({id, keys[static_cast<std::size_t>(house_idx[static_cast<std::size_t>(i)])].public_key(), false});
    g.meters.push_back(
        BindMeter{"m-" + id, id, keys[static_cast<std::size_t>(oracle_idx[static_cast<std::size_t>(i)])].public_key()});
  }
  {
    std::ofstream f(dir + "/genesis.json", std::ios::binary | std::ios::trunc);
    f << market::FormatGenesis(g);
    if (!f.good()) return Status::IOError(dir + "/genesis.json cannot be written");
  }

  std::unique_ptr<Store> store;
  NANUM_RETURN_IF_ERROR(Store::OpenLevelDb(dir + "/data/ledger", &store));
  Block block;
  WriteSet writes;
  NANUM_RETURN_IF_ERROR(market::GenesisBlock(g, &block, &writes));
  NANUM_RETURN_IF_ERROR(store->Append(block, {}, writes));

  Rng rng{spec.seed * 0x9E3779B97F4A7C15ULL + 1};
  std::deque<Pending> queue;
  std::vector<std::uint64_t> nonce(keys.size(), 0);
  std::vector<std::uint64_t> sequence(static_cast<std::size_t>(spec.households), 0);
  std::vector<std::uint64_t> cum_export(sequence.size(), 0), cum_import(sequence.size(), 0);
  std::map<std::pair<int, std::uint64_t>, std::uint64_t> ordered_wh;  // (household, slot) → Wh
  const std::uint64_t per_slot = static_cast<std::uint64_t>(spec.households) * static_cast<std::uint64_t>(spec.orders_per_slot + 1);
  const std::uint64_t blocks_per_slot = std::max<std::uint64_t>(1, slot_ms / spec.block_interval_ms);
  const std::uint64_t per_block = std::max<std::uint64_t>(1, per_slot * 10 / (blocks_per_slot * 7) + 1);

  std::uint64_t time = g.info.genesis_time_ms;
  std::uint64_t scheduled_slot = time / slot_ms;  // slots before this one were scheduled
  Hash256 prev_hash = block.Hash();
  Hash256 prev_root = block.header.state_root;
  for (std::uint64_t h = 1; stats->transactions < spec.transactions; ++h) {
    time += spec.block_interval_ms;
    const std::uint64_t slot = time / slot_ms;
    for (; scheduled_slot < slot; ++scheduled_slot) {
      const std::uint64_t s = scheduled_slot + 1;  // the slot just entered
      for (int i = 0; i < spec.households; ++i) {
        const bool seller = i % 2 == 0;
        for (int k = 0; k < spec.orders_per_slot; ++k) {
          PlaceOrder o;
          o.side = seller ? Side::kSell : Side::kBuy;
          o.slot = s + 2;
          o.quantity_wh = rng.Between(100, 500);
          o.price = seller ? rng.Between(90, 130) : rng.Between(100, 140);
          ordered_wh[{i, o.slot}] += o.quantity_wh;
          queue.push_back({house_idx[static_cast<std::size_t>(i)], o});
        }
        // The reading for the slot that just ended: sellers export what they offered,
        // buyers import what they bid for, give or take 3 %.
        const auto ui = static_cast<std::size_t>(i);
        const std::uint64_t wh = ordered_wh[{i, s - 1}];
        ordered_wh.erase({i, s - 1});
        const std::uint64_t energy = wh * rng.Between(97, 103) / 100;
        SubmitReading r;
        r.meter_id = "m-" + HouseId(i);
        r.slot = s - 1;
        r.sequence = ++sequence[ui];
        r.export_wh = seller ? energy : 0;
        r.import_wh = seller ? 0 : energy;
        r.cum_export_wh = cum_export[ui] += r.export_wh;
        r.cum_import_wh = cum_import[ui] += r.import_wh;
        const auto mw = static_cast<std::int64_t>(energy * 3600 * 1000 / spec.slot_seconds);  // the slot's mean
        r.power_mw = seller ? -mw : mw;
        r.voltage_mv = static_cast<std::uint32_t>(rng.Between(225'000, 235'000));
        r.current_ma = static_cast<std::uint32_t>(rng.Between(100, 9'000));
        r.power_factor_permille = static_cast<std::int32_t>(rng.Between(950, 1000));
        queue.push_back({oracle_idx[ui], r});
      }
    }
    // This block's transactions, signed on `threads` threads.
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(per_block, queue.size()));
    std::vector<TxBody> bodies(n);
    std::vector<int> signers(n);
    for (std::size_t i = 0; i < n; ++i) {
      Pending p = std::move(queue.front());
      queue.pop_front();
      const auto us = static_cast<std::size_t>(p.signer);
      bodies[i] = TxBody{kChain, keys[us].public_key(), ++nonce[us], std::move(p.payload)};
      signers[i] = p.signer;
    }
    std::vector<Transaction> txs(n);
    {
      std::vector<std::thread> pool;
      const std::size_t t = static_cast<std::size_t>(std::max(1, spec.threads));
      for (std::size_t w = 0; w < t; ++w) {
        pool.emplace_back([&, w] {
          for (std::size_t i = w; i < n; i += t) {
            txs[i] = Transaction::Sign(bodies[i], keys[static_cast<std::size_t>(signers[i])]);
          }
        });
      }
      for (auto& th : pool) th.join();
    }
    Block b;
    b.header.height = h;
    b.header.prev_hash = prev_hash;
    b.header.timestamp_ms = time;
    b.header.proposer = g.validators[h % 4];
    std::vector<TxResult> results;
    WriteSet w;
    NANUM_RETURN_IF_ERROR(market::ExecuteBlock(*store, h, time, txs, &results, &w).Prefixed("block " + std::to_string(h)));
    b.header.tx_root = TxRoot(txs);
    b.header.results_root = ResultsRoot(results);
    b.header.state_root = NextStateRoot(prev_root, h, w);
    b.txs = std::move(txs);
    CommitCertificate cert;
    cert.view = 0;
    cert.block_hash = b.Hash();
    const Hash256 digest = CommitDigest(h, cert.view, cert.block_hash);
    for (int v = 0; v < 4; ++v) {
      if (static_cast<std::uint64_t>(v) == h % 4) continue;  // a different quorum of 3 each time
      const PrivateKey& k = keys[static_cast<std::size_t>(validator_idx[static_cast<std::size_t>(v)])];
      cert.signatures.push_back({k.public_key(), k.Sign(digest)});
    }
    std::sort(cert.signatures.begin(), cert.signatures.end(),
              [](const CommitSignature& a, const CommitSignature& c) { return a.validator < c.validator; });
    b.certificate = cert;
    NANUM_RETURN_IF_ERROR(store->Append(b, results, w));
    for (const TxResult& r : results) ++stats->results[market::ResultName(static_cast<market::Result>(r.code))];
    stats->transactions += b.txs.size();
    stats->blocks = h;
    prev_hash = b.Hash();
    prev_root = b.header.state_root;
  }
  return Status::OK();
}

}  // namespace nanum::testing
