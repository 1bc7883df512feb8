// pbft_sim: runs the PBFT simulator over a range of seeds, or prints the figures for
// docs/PERFORMANCE.md.
//
//   pbft_sim --seeds 0:500 --n 4,7      every seed with n = 4 and with n = 7 (CI: 1,000 runs)
//   pbft_sim --seeds 0:50000 --n 4,7    the soak (100,000 runs)
//   pbft_sim --seed 1234 --n 7 -v       one run, with its options and counters
//   pbft_sim --figures                  messages and bytes per block (n = 4, 7, 16) and the
//                                       time to elect a new primary after a crash
// A failing run prints its seed and options; re-running that seed replays it exactly.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/sim/sim.h"

using nanum::sim::Options;
using nanum::sim::Simulation;

namespace {

std::vector<std::size_t> ParseList(const std::string& s) {
  std::vector<std::size_t> out;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    std::size_t comma = s.find(',', pos);
    if (comma == std::string::npos) comma = s.size();
    out.push_back(std::stoul(s.substr(pos, comma - pos)));
    pos = comma + 1;
  }
  return out;
}

void PrintCounters(const Simulation& sim) {
  const auto& c = sim.counters();
  for (const auto& [type, count] : c.messages) {
    std::printf("  %-12s %10llu messages %14llu bytes\n", type.c_str(),
                static_cast<unsigned long long>(count),
                static_cast<unsigned long long>(c.bytes.at(type)));
  }
  std::printf("  delivered %llu, dropped %llu, requests accepted %llu, rejected %llu\n",
              static_cast<unsigned long long>(c.delivered),
              static_cast<unsigned long long>(c.dropped),
              static_cast<unsigned long long>(c.requests_accepted),
              static_cast<unsigned long long>(c.requests_rejected));
}

int Figures() {
  std::printf("Normal operation: no faults, a request every 20 ms for 10 s, batches of up to 50\n");
  std::printf("%4s %8s %10s %12s %14s %14s\n", "n", "blocks", "txs/block", "msgs/block",
              "bytes/block", "vote msgs/blk");
  for (std::size_t n : {std::size_t{4}, std::size_t{7}, std::size_t{16}}) {
    Simulation sim(Options::Quiet(n, 1, 0));
    sim.RunUntil(10000);
    sim.SetLoad(false);
    sim.RunUntilConverged(5000);
    if (!sim.failure().ok()) {
      std::printf("failure: %s\n", sim.failure().ToString().c_str());
      return 1;
    }
    const auto& c = sim.counters();
    std::uint64_t msgs = 0, bytes = 0, votes = 0;
    for (const auto& [t, k] : c.messages) {
      msgs += k;
      bytes += c.bytes.at(t);
      if (t == "pre-prepare" || t == "prepare" || t == "commit") votes += k;
    }
    const double blocks = static_cast<double>(sim.Height(0));
    const double txs = static_cast<double>(c.requests_accepted);
    std::printf("%4zu %8.0f %10.1f %12.1f %14.0f %14.1f\n", n, blocks, txs / blocks,
                static_cast<double>(msgs) / blocks, static_cast<double>(bytes) / blocks,
                static_cast<double>(votes) / blocks);
  }
  std::printf("\nPrimary crash: the primary of view 0 is killed at t = 2 s under load\n");
  std::printf("%4s %22s %26s\n", "n", "new view entered (ms)", "first commit after (ms)");
  for (std::size_t n : {std::size_t{4}, std::size_t{7}, std::size_t{16}}) {
    Simulation sim(Options::Quiet(n, 2, 0));
    sim.RunUntil(2000);
    const std::uint64_t h0 = sim.Height(1);
    sim.Crash(0);
    const std::uint64_t crash = sim.now();
    std::uint64_t entered = 0, committed = 0;
    while (sim.now() < crash + 20000 && (entered == 0 || committed == 0)) {
      sim.RunUntil(sim.now() + 1);
      if (entered == 0) {
        std::size_t in_view = 0;
        for (std::size_t i = 1; i < n; ++i) {
          auto st = sim.status(i);
          if (st.view >= 1 && !st.changing) ++in_view;
        }
        if (in_view >= 2 * ((n - 1) / 3) + 1) entered = sim.now() - crash;
      }
      if (committed == 0 && sim.Height(1) > h0 && sim.status(1).view >= 1) {
        committed = sim.now() - crash;
      }
    }
    std::printf("%4zu %22llu %26llu\n", n, static_cast<unsigned long long>(entered),
                static_cast<unsigned long long>(committed));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t from = 0, to = 100;
  std::vector<std::size_t> ns = {4, 7};
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--figures") return Figures();
    if (a == "--seeds") {
      std::string v = next();
      std::size_t colon = v.find(':');
      if (colon == std::string::npos) {
        std::fprintf(stderr, "--seeds FROM:TO\n");
        return 2;
      }
      from = std::stoull(v.substr(0, colon));
      to = std::stoull(v.substr(colon + 1));
    } else if (a == "--seed") {
      from = std::stoull(next());
      to = from + 1;
    } else if (a == "--n") {
      ns = ParseList(next());
    } else if (a == "-v") {
      verbose = true;
    } else {
      std::fprintf(stderr,
                   "usage: pbft_sim [--seeds FROM:TO | --seed S] [--n 4,7] [-v] | --figures\n");
      return 2;
    }
  }
  std::uint64_t runs = 0, failures = 0;
  for (std::uint64_t seed = from; seed < to; ++seed) {
    for (std::size_t n : ns) {
      Options o = Options::FromSeed(seed, n);
      Simulation sim(o);
      nanum::Status s = sim.Run();
      ++runs;
      if (verbose) {
        std::printf("%s\n  final height %llu, view %llu\n", o.Describe().c_str(),
                    static_cast<unsigned long long>(sim.MaxCorrectHeight()),
                    static_cast<unsigned long long>(sim.status(1).view));
        PrintCounters(sim);
      }
      if (!s.ok()) {
        ++failures;
        std::printf("FAIL %s\n  replay: pbft_sim --seed %llu --n %zu -v\n", s.ToString().c_str(),
                    static_cast<unsigned long long>(seed), n);
      }
    }
    if (!verbose && (seed - from + 1) % 100 == 0) {
      std::printf("%llu seeds, %llu runs, %llu failures\n",
                  static_cast<unsigned long long>(seed - from + 1),
                  static_cast<unsigned long long>(runs), static_cast<unsigned long long>(failures));
      std::fflush(stdout);
    }
  }
  std::printf("pbft_sim: %llu runs, %llu failures\n", static_cast<unsigned long long>(runs),
              static_cast<unsigned long long>(failures));
  return failures == 0 ? 0 : 1;
}
