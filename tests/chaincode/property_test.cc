// Property tests: thousands of random, seeded, reproducible communities trading through many
// slots, with both mechanisms. After every transaction and block the auditor's invariants
// must hold (InvariantChecker: supply, no negative balance, contract prices within limits,
// price-time priority, delivery bounded by readings); and every sequence, run twice, must end
// in the same state root.
//
//   chaincode_property_test                       10,000 sequences from seed 1
//   chaincode_property_test --seeds=N --first=S   N sequences from seed S
// A failure prints its seed; --first=SEED --seeds=1 replays it exactly.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "chaincode/invariants.h"
#include "chaincode/market.h"
#include "chaincode/queries.h"
#include "ledger/store.h"

namespace nanum::market {
namespace {

std::uint64_t g_first = 1;
std::uint64_t g_seeds = 10000;

PrivateKey Key(const std::string& name) {
  PrivateKey k;
  if (!PrivateKey::FromBytes(Sha256Of("nanum property " + name), &k).ok()) std::abort();
  return k;
}

// Keys are the same for every sequence: derive them once.
const PublicKey& KeyFor(const std::string& name) {
  static std::map<std::string, PublicKey> cache;
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, Key(name).public_key()).first;
  return it->second;
}

struct Outcome {
  Hash256 root{};
  std::uint64_t contracts = 0;
  std::uint64_t settlements = 0;
  std::uint64_t txs = 0;
  Status status;
};

// Runs the sequence for `seed`.
Outcome RunSequence(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](std::uint64_t n) { return rng() % n; };

  Genesis g;
  g.info.chain_id = "prop";
  g.info.genesis_time_ms = 1'000'000;
  g.params.slot_seconds = 60;
  g.params.gate_closure_seconds = pick(3) * 10;
  g.params.horizon_slots = 1 + pick(5);
  g.params.settlement_delay_seconds = pick(3) * 30;
  g.params.tolerance_permille = pick(2) ? 30 : pick(200);
  g.params.shortfall_penalty = pick(2) ? 0 : pick(20);
  g.params.mechanism = static_cast<std::uint8_t>(pick(2) ? Mechanism::kContinuous : Mechanism::kUniformPrice);
  g.params.initial_grant = 20000 + pick(80000);
  g.params.max_open_orders_per_member = 4 + static_cast<std::uint32_t>(pick(8));
  g.validators = {KeyFor("validator")};
  const int households = 2 + static_cast<int>(pick(7));
  g.members.push_back({"op", KeyFor("op"), true});
  std::vector<std::string> names;
  for (int i = 0; i < households; ++i) {
    const std::string h = "h" + std::to_string(i);
    names.push_back(h);
    g.members.push_back({h, KeyFor(h), false});
    g.meters.push_back(BindMeter{"m" + std::to_string(i), h, KeyFor("o" + std::to_string(i))});
  }

  auto empty = Store::NewInMemory();
  StateOverlay state(empty.get());
  Outcome out;
  out.status = InitGenesis(g, &state);
  if (!out.status.ok()) return out;
  Hash256 root = NextStateRoot(Hash256{}, 0, state.writes());

  std::map<std::string, std::uint64_t> nonce;
  std::vector<std::uint64_t> seq(static_cast<std::size_t>(households), 0), cum_e(seq), cum_i(seq);
  std::vector<Hash256> orders;
  std::uint64_t time = g.info.genesis_time_ms;
  const std::uint64_t slot_ms = g.params.slot_seconds * 1000;
  auto tx = [&](const std::string& who, Payload p) {
    TxBody b{"prop", KeyFor(who), ++nonce[who], std::move(p)};
    return Transaction::Unsigned(b);
  };

  InvariantChecker checker;
  const int blocks = 10 + static_cast<int>(pick(10));
  for (int h = 1; h <= blocks; ++h) {
    time += 1000 + pick(20'000);
    const std::uint64_t now_slot = time / slot_ms;
    std::vector<Transaction> txs;
    const int n = static_cast<int>(pick(9));
    for (int t = 0; t < n; ++t) {
      const std::size_t who = pick(static_cast<std::uint64_t>(households));
      const std::string& m = names[who];
      switch (pick(10)) {
        case 0: case 1: case 2: case 3: {  // an order, sometimes for a closed or distant slot
          const std::uint64_t slot = now_slot + (pick(4) != 0 ? 1 : pick(g.params.horizon_slots + 2));
          txs.push_back(tx(m, PlaceOrder{pick(2) ? Side::kBuy : Side::kSell, slot, 1 + pick(200), 5 + pick(20)}));
          orders.push_back(txs.back().id());
          break;
        }
        case 4:  // a cancel, of anyone's order
          if (!orders.empty()) txs.push_back(tx(m, CancelOrder{orders[pick(orders.size())]}));
          break;
        case 5: case 6: {  // a reading for a slot that ended (or, rarely, has not)
          const std::uint64_t slot = now_slot >= 1 ? now_slot - pick(std::min<std::uint64_t>(now_slot, 3)) - (pick(8) ? 1 : 0) : 0;
          SubmitReading r;
          r.meter_id = "m" + std::to_string(who);
          r.slot = slot;
          r.sequence = pick(20) ? ++seq[who] : seq[who];  // sometimes stale
          r.export_wh = pick(400);
          r.import_wh = pick(400);
          const bool honest = pick(10) != 0;
          r.cum_export_wh = cum_e[who] + r.export_wh + (honest ? 0 : pick(5));
          r.cum_import_wh = cum_i[who] + r.import_wh;
          if (!honest && pick(2)) r.export_wh += 1 + pick(50);  // claims more than the register rose
          cum_e[who] = r.cum_export_wh;
          cum_i[who] = r.cum_import_wh;
          txs.push_back(tx("o" + std::to_string(who), r));
          break;
        }
        case 7:
          txs.push_back(tx(m, Transfer{names[pick(names.size())], 1 + pick(2000)}));
          break;
        case 8:
          txs.push_back(tx("op", Govern{rng(), pick(2) ? Action(Deposit{m, 1 + pick(5000)}) : Action(Withdraw{m, 1 + pick(5000)})}));
          break;
        case 9:
          txs.push_back(tx("op", Govern{rng(), SetMemberStatus{m, pick(4) != 0}}));
          break;
      }
    }
    std::vector<TxResult> results;
    WriteSet writes;
    checker.BeginBlock(static_cast<std::uint64_t>(h));
    out.status = ExecuteBlock(state, static_cast<std::uint64_t>(h), time, txs, &results, &writes, checker.Observer());
    if (!out.status.ok()) return out;
    state.Apply(writes);
    out.status = checker.CheckBlock(state, writes);
    if (out.status.ok()) out.status = checker.status();
    if (!out.status.ok()) return out;
    root = NextStateRoot(root, static_cast<std::uint64_t>(h), writes);
    out.txs += txs.size();
  }
  // Run on past every slot's settlement.
  time += (g.params.horizon_slots + 3) * slot_ms + g.params.settlement_delay_seconds * 1000;
  std::vector<TxResult> results;
  WriteSet writes;
  checker.BeginBlock(static_cast<std::uint64_t>(blocks + 1));
  out.status = ExecuteBlock(state, static_cast<std::uint64_t>(blocks + 1), time, {}, &results, &writes, checker.Observer());
  if (!out.status.ok()) return out;
  state.Apply(writes);
  out.status = checker.CheckBlock(state, writes);
  if (out.status.ok()) out.status = checker.CheckWholeState(state);
  if (out.status.ok()) out.status = checker.status();
  out.root = NextStateRoot(root, static_cast<std::uint64_t>(blocks + 1), writes);
  for (auto it = state.NewIterator("ctr/"); it->Valid(); it->Next()) out.contracts++;
  for (auto it = state.NewIterator("stl/"); it->Valid(); it->Next()) out.settlements++;
  // Every escrow must be free once everything has settled.
  std::vector<Member> members;
  if (out.status.ok() && ListMembers(state, "", kMaxPage, &members).ok()) {
    for (const auto& m : members) {
      if (m.escrow != 0) out.status = Status::Corruption("member " + m.id + " has escrow left after settlement");
      if (m.open_orders != 0) out.status = Status::Corruption("member " + m.id + " has open orders left after every gate");
    }
  }
  return out;
}

TEST(MarketProperties, InvariantsHoldAndRunsAreDeterministic) {
  std::uint64_t contracts = 0, settlements = 0, txs = 0;
  for (std::uint64_t seed = g_first; seed < g_first + g_seeds; ++seed) {
    const Outcome a = RunSequence(seed);
    ASSERT_TRUE(a.status.ok()) << "seed " << seed << ": " << a.status.ToString()
                               << "\n  replay: chaincode_property_test --first=" << seed << " --seeds=1";
    const Outcome b = RunSequence(seed);
    ASSERT_EQ(ToHex(a.root), ToHex(b.root)) << "seed " << seed << " is not deterministic";
    contracts += a.contracts;
    settlements += a.settlements;
    txs += a.txs;
  }
  std::printf("property test: %llu sequences, %llu transactions, %llu contracts, %llu settlement records\n",
              static_cast<unsigned long long>(g_seeds), static_cast<unsigned long long>(txs),
              static_cast<unsigned long long>(contracts), static_cast<unsigned long long>(settlements));
  // The generator must actually exercise trading and settlement, or the test proves nothing.
  EXPECT_GT(contracts, 2 * g_seeds);
  EXPECT_GT(settlements, g_seeds);
}

}  // namespace
}  // namespace nanum::market

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--seeds=", 8) == 0) nanum::market::g_seeds = std::strtoull(argv[i] + 8, nullptr, 10);
    if (std::strncmp(argv[i], "--first=", 8) == 0) nanum::market::g_first = std::strtoull(argv[i] + 8, nullptr, 10);
  }
  return RUN_ALL_TESTS();
}
