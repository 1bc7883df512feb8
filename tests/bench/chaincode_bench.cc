// Chaincode benchmarks.
//   cmake --preset release && cmake --build --preset release --target chaincode_bench
//   build/release/tests/bench/chaincode_bench
#include <benchmark/benchmark.h>

#include <random>

#include "chaincode/book.h"
#include "chaincode/market.h"
#include "ledger/store.h"

namespace nanum::market {
namespace {

// Continuous matching in the book engine the chaincode uses: a stream of buys and sells with
// prices drawn around a common level, so that about half of them trade on arrival and the
// rest rest. Each order: Match, then Add of any remainder. Reported: orders per second.
void BM_ContinuousMatching(benchmark::State& state) {
  const std::size_t n = 100'000;
  std::mt19937_64 rng(7);
  struct In { Side side; std::uint64_t price, q; };
  std::vector<In> stream(n);
  std::vector<Hash256> ids(n);
  for (std::size_t i = 0; i < n; ++i) {
    stream[i] = {rng() % 2 ? Side::kBuy : Side::kSell, 90 + rng() % 21, 1 + rng() % 500};
    ids[i] = Sha256Of(std::to_string(i));
  }
  std::vector<Fill> fills;
  fills.reserve(64);
  std::uint64_t traded = 0;
  for (auto _ : state) {
    Book book;
    for (std::size_t i = 0; i < n; ++i) {
      fills.clear();
      const In& o = stream[i];
      const std::uint64_t rest = book.Match(o.side, ids[i], o.price, o.q, &fills);
      for (const Fill& f : fills) traded += f.quantity;
      if (rest > 0) book.Add(o.side, BookOrder{ids[i], "member", o.price, rest, {1, static_cast<std::uint32_t>(i)}});
    }
    benchmark::DoNotOptimize(book);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
  benchmark::DoNotOptimize(traded);
}
BENCHMARK(BM_ContinuousMatching)->Unit(benchmark::kMillisecond);

// A call auction over a book of 10,000 resting orders.
void BM_UniformPriceAuction(benchmark::State& state) {
  std::mt19937_64 rng(9);
  Book proto;
  for (std::uint32_t i = 0; i < 10'000; ++i) {
    const Side side = rng() % 2 ? Side::kBuy : Side::kSell;
    proto.Add(side, BookOrder{Sha256Of(std::to_string(i)), "m", 90 + rng() % 21, 1 + rng() % 500, {1, i}});
  }
  std::vector<Fill> fills;
  for (auto _ : state) {
    Book book = proto;
    fills.clear();
    benchmark::DoNotOptimize(book.Auction(&fills));
  }
  state.SetItemsProcessed(state.iterations() * 10'000);
}
BENCHMARK(BM_UniformPriceAuction)->Unit(benchmark::kMillisecond);

PublicKey KeyFor(const std::string& name) {
  PrivateKey k;
  if (!PrivateKey::FromBytes(Sha256Of("bench " + name), &k).ok()) std::abort();
  return k.public_key();
}

// Executing a 1,000-transaction block of mixed market traffic, without signature checks
// (the node verifies signatures before execution, in parallel): 600 orders (buys and sells
// around one price, about half matching), 100 cancels, 200 meter readings for the slot that
// just ended, 100 transfers; 200 households. The same block runs on the same state each
// iteration (execution only reads the state and returns the writes).
void BM_ExecuteMixedBlock(benchmark::State& state, Mechanism mech) {
  const int households = 200;
  Genesis g;
  g.info.chain_id = "bench";
  g.info.genesis_time_ms = 1'000'000'000;
  g.params.mechanism = static_cast<std::uint8_t>(mech);
  g.params.initial_grant = 10'000'000;
  g.validators = {KeyFor("v")};
  g.members.push_back({"op", KeyFor("op"), true});
  for (int i = 0; i < households; ++i) {
    const std::string h = "h" + std::to_string(i);
    g.members.push_back({h, KeyFor(h), false});
    g.meters.push_back(BindMeter{"m" + std::to_string(i), h, KeyFor("o" + std::to_string(i))});
  }
  auto empty = Store::NewInMemory();
  StateOverlay base(empty.get());
  if (!InitGenesis(g, &base).ok()) state.SkipWithError("genesis");

  const std::uint64_t slot_ms = 900'000;
  const std::uint64_t time = (g.info.genesis_time_ms / slot_ms + 1) * slot_ms + 1000;  // just into a new slot
  const std::uint64_t next = time / slot_ms + 1, ended = time / slot_ms - 1;
  std::mt19937_64 rng(11);
  std::vector<Transaction> txs;
  std::vector<std::pair<Hash256, std::string>> orders;  // id, owner
  std::map<std::string, std::uint64_t> nonce;
  auto tx = [&](const std::string& who, Payload p) {
    return Transaction::Unsigned(TxBody{"bench", KeyFor(who), ++nonce[who], std::move(p)});
  };
  for (int i = 0; i < 1000; ++i) {
    const int h = static_cast<int>(rng() % households);
    const std::string m = "h" + std::to_string(h);
    if (i % 10 < 6) {
      // Sellers are the even households, buyers the odd: nobody holds both sides.
      const Side side = h % 2 == 0 ? Side::kSell : Side::kBuy;
      txs.push_back(tx(m, PlaceOrder{side, next, 1 + rng() % 500, 90 + rng() % 21}));
      orders.emplace_back(txs.back().id(), m);
    } else if (i % 10 == 6) {
      const auto& [id, owner] = orders[rng() % orders.size()];
      txs.push_back(tx(owner, CancelOrder{id}));  // by its owner; it may have filled already
    } else if (i % 10 < 9) {
      static std::uint64_t seq[households] = {};
      const int meter = static_cast<int>(rng() % households);
      if (seq[meter] > 0) continue;  // one reading per meter and slot
      seq[meter] = 1;
      txs.push_back(tx("o" + std::to_string(meter),
                       SubmitReading{"m" + std::to_string(meter), ended, 1, 100, 50, 100, 50, 0, 230000, 1000, 990}));
    } else {
      txs.push_back(tx(m, Transfer{"h" + std::to_string((h + 1) % households), 1 + rng() % 1000}));
    }
  }
  while (txs.size() < 1000) txs.push_back(tx("h0", Transfer{"h1", 1}));
  std::vector<TxResult> results;
  WriteSet writes;
  std::size_t ok = 0;
  for (auto _ : state) {
    Status s = ExecuteBlock(base, 1, time, txs, &results, &writes);
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  }
  for (const auto& r : results) ok += r.code == 0 ? 1 : 0;
  state.counters["ok_txs"] = static_cast<double>(ok);
  state.counters["writes"] = static_cast<double>(writes.size());
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK_CAPTURE(BM_ExecuteMixedBlock, continuous, Mechanism::kContinuous)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ExecuteMixedBlock, uniform_price, Mechanism::kUniformPrice)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace nanum::market

BENCHMARK_MAIN();
