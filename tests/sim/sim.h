// The deterministic PBFT simulator: n validators and some followers over a simulated
// network, clock and disk, all derived from one seed (TigerBeetle/FoundationDB style).
//
// Time is simulated milliseconds; events (message deliveries, a 10 ms tick of every node,
// client requests, faults) run in (time, sequence) order from one priority queue, and every
// random choice comes from one generator seeded with the run's seed, so a seed replays
// exactly. Messages travel encoded, so byte counts are real and every decoder is exercised.
//
// Faults: message loss, duplication, reordering (random delays), partitions that heal,
// replicas crashing and restarting from what they persisted (their hard state and blocks),
// clock drift, and at most f Byzantine validators: a primary that equivocates (a different
// block to half the replicas) or goes silent, or a backup that sends conflicting votes.
//
// Validator-set changes: a governance request, committed like any other, replaces the set
// kChangeDelay blocks later (sim_app.h); a seed may do this in its fault phase.
//
// Checks: after every block a correct node commits, safety (no two correct nodes commit
// different blocks at a height; the block was pre-prepared by the primary of a view; its
// certificate verifies against the set in force at its height; its roots are what executing it gives). After the fault phase,
// liveness: every correct node reaches the same height, above the height when faults
// stopped, and every request a correct replica accepted is committed or was rejected.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "consensus/pbft.h"

namespace nanum::sim {

// splitmix64: a small generator whose output is the same on every platform.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t Next();
  std::uint64_t Below(std::uint64_t n) { return n == 0 ? 0 : Next() % n; }
  std::uint64_t Between(std::uint64_t lo, std::uint64_t hi) { return lo + Below(hi - lo + 1); }
  bool Chance(std::uint64_t per_mille) { return Below(1000) < per_mille; }

 private:
  std::uint64_t s_;
};

// kCensor: a primary that proposes valid blocks but leaves out every request whose nonce is a
// multiple of 3 (sim_app.h), as one that shuts a household out of the market would.
enum class Byzantine { kNone, kEquivocate, kSilent, kConflictingVotes, kCensor };
const char* ByzantineName(Byzantine b);

// The consensus settings of every simulated replica unless a test changes them: small batches
// and windows, so that runs of a few seconds cross many checkpoints.
pbft::Config SimConsensusConfig();

struct Options {
  std::uint64_t seed = 1;
  std::size_t n = 4;
  std::size_t followers = 1;
  // Faults during the fault phase [0, fault_ms).
  std::uint64_t loss_per_mille = 0;
  std::uint64_t dup_per_mille = 0;
  std::uint64_t max_delay_ms = 5;  // above 5: reordering
  bool partitions = false;
  bool crashes = false;
  std::uint64_t max_drift_ms = 0;
  Byzantine byzantine = Byzantine::kNone;
  std::uint64_t fault_ms = 3000;
  // When nonzero: at this time a governance request replaces one validator by a follower.
  std::uint64_t change_validators_at_ms = 0;
  // Client load: a request every request_interval_ms until fault_ms + load_after_ms.
  std::uint64_t request_interval_ms = 20;
  std::uint64_t load_after_ms = 1000;
  std::uint64_t liveness_bound_ms = 30000;
  pbft::Config consensus = SimConsensusConfig();  // the key is filled in by the simulation

  // Every fault kind is on in about half of the seeds; the Byzantine kind rotates.
  static Options FromSeed(std::uint64_t seed, std::size_t n);
  // No random faults at all: scenario tests and figures script what they want.
  static Options Quiet(std::size_t n, std::uint64_t seed, std::size_t followers = 1);
  std::string Describe() const;
};

struct Counters {
  std::map<std::string, std::uint64_t> messages;  // by type
  std::map<std::string, std::uint64_t> bytes;
  std::uint64_t delivered = 0, dropped = 0;
  std::uint64_t requests_accepted = 0, requests_rejected = 0;
};

class Simulation {
 public:
  explicit Simulation(const Options& o);
  ~Simulation();

  // The whole run: fault phase, then liveness. OK, or the first failure (with the seed).
  Status Run();

  // Controls for scenario tests.
  void RunUntil(std::uint64_t t_ms);  // relative to the start
  void Crash(std::size_t i);
  void Restart(std::size_t i);
  void Partition(const std::vector<std::size_t>& group);  // cut `group` off from the rest
  void Heal();
  void SetByzantine(std::size_t i, Byzantine b);
  void SetLoad(bool on) { load_ = on; }
  void SetFaults(std::uint64_t loss, std::uint64_t dup, std::uint64_t max_delay);
  // Submits a governance request that makes exactly `nodes` the validators (kChangeDelay
  // blocks after the block that commits it) to every validator that is up.
  void ChangeValidators(const std::vector<std::size_t>& nodes);
  // True when every correct node is up, at the same height, and no request is unresolved.
  bool Converged() const;
  // Runs until Converged or `bound_ms` more have passed; false on timeout.
  bool RunUntilConverged(std::uint64_t bound_ms);

  const Status& failure() const { return failure_; }
  std::uint64_t now() const;  // relative
  std::size_t size() const;
  pbft::ReplicaStatus status(std::size_t i) const;
  bool up(std::size_t i) const;
  std::uint64_t Height(std::size_t i) const;
  std::uint64_t MaxCorrectHeight() const;
  std::size_t FetchesSent(std::size_t i) const;
  std::size_t RequestsUnresolved() const;
  const Counters& counters() const { return counters_; }
  const std::vector<PublicKey>& validators() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Status failure_;
  Counters counters_;
  bool load_ = true;
};

}  // namespace nanum::sim
