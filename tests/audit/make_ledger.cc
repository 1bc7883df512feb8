// nanum-make-ledger: builds a community's ledger directly (ledger_builder.h), for the audit's
// replay figure (docs/PERFORMANCE.md):
//
//   nanum-make-ledger --out /tmp/ledger-1m --transactions 1000000
//   nanumctl audit --data-dir /tmp/ledger-1m/data --genesis /tmp/ledger-1m/genesis.json
#include <chrono>
#include <cstdio>

#include <CLI/CLI.hpp>

#include "ledger_builder.h"

int main(int argc, char** argv) {
  CLI::App app{"nanum-make-ledger: a community's ledger built directly, for auditing"};
  std::string out;
  nanum::testing::LedgerSpec spec;
  app.add_option("--out", out, "directory for genesis.json and data/ledger")->required();
  app.add_option("--transactions", spec.transactions, "at least this many transactions");
  app.add_option("--households", spec.households, "households (half sell, half buy)");
  app.add_option("--orders-per-slot", spec.orders_per_slot, "orders per household per slot");
  app.add_option("--slot-seconds", spec.slot_seconds);
  app.add_option("--block-interval-ms", spec.block_interval_ms);
  app.add_option("--seed", spec.seed);
  app.add_option("--threads", spec.threads, "signing threads");
  CLI11_PARSE(app, argc, argv);

  const auto start = std::chrono::steady_clock::now();
  nanum::testing::LedgerStats stats;
  if (nanum::Status s = nanum::testing::BuildLedger(out, spec, &stats); !s.ok()) {
    std::fprintf(stderr, "nanum-make-ledger: %s\n", s.ToString().c_str());
    return 1;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s: %llu blocks, %llu transactions in %.1f s\n", out.c_str(),
              static_cast<unsigned long long>(stats.blocks), static_cast<unsigned long long>(stats.transactions), secs);
  for (const auto& [name, count] : stats.results) {
    std::printf("  %-24s %llu\n", name.c_str(), static_cast<unsigned long long>(count));
  }
  return 0;
}
