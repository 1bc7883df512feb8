// Ledger benchmarks: signing, verifying, and appending a 1,000-transaction block.
//   cmake --preset release && cmake --build --preset release --target ledger_bench
//   build/release/tests/bench/ledger_bench
#include <benchmark/benchmark.h>

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include <filesystem>

#include "ledger/store.h"
#include "test_chain.h"

namespace nanum {
namespace {

using testing::TestChain;

void BM_Sign(benchmark::State& state) {
  const PrivateKey k = testing::KeyFor("bench");
  Hash256 msg = Sha256Of("message");
  for (auto _ : state) {
    benchmark::DoNotOptimize(k.Sign(msg));
    msg[0]++;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Sign);

void BM_Verify(benchmark::State& state) {
  const PrivateKey k = testing::KeyFor("bench");
  const Hash256 msg = Sha256Of("message");
  const Signature sig = k.Sign(msg);
  for (auto _ : state) {
    benchmark::DoNotOptimize(Verify(k.public_key(), msg, sig));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Verify);

// The library's own floor: libsecp256k1 verifying with the public key already parsed, as
// its own benchmark does. BM_Verify above also parses (decompresses) the x-only key.
void BM_LibSecp256k1VerifyOnly(benchmark::State& state) {
  secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
  const PrivateKey k = testing::KeyFor("bench");
  const Hash256 msg = Sha256Of("message");
  const Signature sig = k.Sign(msg);
  secp256k1_xonly_pubkey pk;
  if (!secp256k1_xonly_pubkey_parse(ctx, &pk, k.public_key().bytes().data())) state.SkipWithError("parse");
  for (auto _ : state) {
    benchmark::DoNotOptimize(secp256k1_schnorrsig_verify(ctx, sig.data(), msg.data(), 32, &pk));
  }
  state.SetItemsProcessed(state.iterations());
  secp256k1_context_destroy(ctx);
}
BENCHMARK(BM_LibSecp256k1VerifyOnly);

// Decode an envelope and verify it, as a node does for each incoming transaction.
void BM_DecodeAndVerifyTransaction(benchmark::State& state) {
  TestChain chain(2);
  const std::string env = chain.MakeTransfer(0, 1, 5, 0).Encode();
  for (auto _ : state) {
    Transaction tx;
    benchmark::DoNotOptimize(Transaction::Decode(env, &tx).ok() && tx.Verify(testing::kChainId).ok());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeAndVerifyTransaction);

constexpr int kTxsPerBlock = 1000;
constexpr int kAccounts = 200;

// Pre-signed blocks of 1,000 transfers, each from a distinct nonce sequence.
std::vector<std::vector<Transaction>> MakeTxs(const TestChain& chain, int blocks) {
  std::vector<std::vector<Transaction>> out(static_cast<std::size_t>(blocks));
  std::vector<std::uint64_t> nonce(kAccounts, 0);
  for (int b = 0; b < blocks; ++b) {
    for (int i = 0; i < kTxsPerBlock; ++i) {
      const int from = (b * kTxsPerBlock + i) % kAccounts;
      out[static_cast<std::size_t>(b)].push_back(
          chain.MakeTransfer(from, (from + 1) % kAccounts, 1, nonce[static_cast<std::size_t>(from)]++));
    }
  }
  return out;
}

// Appending a 1,000-transaction block: execution is done beforehand (it is the chaincode's
// cost, not the store's); measured is Append: content checks, Merkle roots, duplicate-id
// look-ups, encoding and the one synced atomic write.
void AppendBench(benchmark::State& state, bool on_disk) {
  TestChain chain(kAccounts);
  const int blocks = 40;
  auto txs = MakeTxs(chain, blocks);
  std::string dir;
  int round = 0;
  while (state.KeepRunningBatch(blocks)) {
    state.PauseTiming();
    std::unique_ptr<Store> store;
    if (on_disk) {
      dir = "/tmp/nanum-bench-" + std::to_string(getpid()) + "-" + std::to_string(round++);
      std::filesystem::remove_all(dir);
      if (!Store::OpenLevelDb(dir, &store).ok()) state.SkipWithError("open failed");
    } else {
      store = Store::NewInMemory();
    }
    Block g;
    std::vector<TxResult> r;
    WriteSet w;
    chain.Genesis(&g, &r, &w);
    (void)store->Append(g, r, w);
    std::vector<Block> bs(static_cast<std::size_t>(blocks));
    std::vector<std::vector<TxResult>> rs(static_cast<std::size_t>(blocks));
    std::vector<WriteSet> ws(static_cast<std::size_t>(blocks));
    // Each block is made on top of the previous one's state, so execute as we go but
    // outside the timed region.
    for (int b = 0; b < blocks; ++b) {
      const auto i = static_cast<std::size_t>(b);
      StoreHead head = b == 0 ? *store->Head() : StoreHead{bs[i - 1].header.height, bs[i - 1].Hash(), bs[i - 1].header.state_root};
      if (b == 0) {
        chain.MakeBlock(*store, head, txs[i], 1000, &bs[i], &rs[i], &ws[i]);
      } else {
        // Later blocks are executed against the state as it will be after the earlier ones.
        StateOverlay ahead(store.get());
        for (std::size_t j = 0; j < i; ++j) ahead.Apply(ws[j]);
        chain.MakeBlock(ahead, head, txs[i], 1000 + static_cast<std::uint64_t>(b), &bs[i], &rs[i], &ws[i]);
      }
    }
    state.ResumeTiming();
    for (int b = 0; b < blocks; ++b) {
      const auto i = static_cast<std::size_t>(b);
      Status s = store->Append(bs[i], rs[i], ws[i]);
      if (!s.ok()) state.SkipWithError(s.ToString().c_str());
    }
    state.PauseTiming();
    store.reset();
    if (on_disk) std::filesystem::remove_all(dir);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kTxsPerBlock);
  state.counters["blocks/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_Append1000TxBlock_LevelDb(benchmark::State& state) { AppendBench(state, true); }
void BM_Append1000TxBlock_InMemory(benchmark::State& state) { AppendBench(state, false); }
BENCHMARK(BM_Append1000TxBlock_LevelDb)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Append1000TxBlock_InMemory)->Unit(benchmark::kMillisecond)->UseRealTime();

// Decoding a stored 1,000-transaction block and checking its content (no signatures).
void BM_DecodeAndCheck1000TxBlock(benchmark::State& state) {
  TestChain chain(kAccounts);
  auto txs = MakeTxs(chain, 1);
  auto store = Store::NewInMemory();
  Block g, b;
  std::vector<TxResult> r;
  WriteSet w;
  chain.Genesis(&g, &r, &w);
  (void)store->Append(g, r, w);
  chain.MakeBlock(*store, *store->Head(), txs[0], 1000, &b, &r, &w);
  const std::string enc = b.Encode();
  for (auto _ : state) {
    Block d;
    benchmark::DoNotOptimize(Block::Decode(enc, &d).ok() && CheckBlockContent(d).ok());
  }
  state.SetItemsProcessed(state.iterations() * kTxsPerBlock);
}
BENCHMARK(BM_DecodeAndCheck1000TxBlock)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace nanum

BENCHMARK_MAIN();
