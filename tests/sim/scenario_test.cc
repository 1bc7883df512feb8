// The paper's cases, each as a scripted run of the simulator: normal operation, primary
// crash, primary equivocation, view change during a view change, checkpoint garbage
// collection, and state transfer to a replica that missed more than a checkpoint interval.
// Every run also checks safety after each committed block (sim.h).
#include <gtest/gtest.h>

#include "tests/sim/sim.h"
#include "tests/sim/sim_app.h"

namespace nanum::sim {
namespace {

// A quiet network: no random faults; the test scripts the faults it wants.
Options Quiet(std::size_t n) { return Options::Quiet(n, 7); }

std::size_t Follower(const Simulation& sim) { return sim.size() - 1; }

TEST(PbftScenario, NormalOperation) {
  Simulation sim(Quiet(4));
  sim.RunUntil(3000);
  sim.SetLoad(false);
  ASSERT_TRUE(sim.RunUntilConverged(5000)) << sim.failure().ToString();
  ASSERT_TRUE(sim.failure().ok()) << sim.failure().ToString();
  EXPECT_GT(sim.Height(0), 10u);
  for (std::size_t i = 0; i < sim.size(); ++i) {
    EXPECT_EQ(sim.Height(i), sim.Height(0)) << "node " << i;
    if (i == Follower(sim)) continue;
    EXPECT_EQ(sim.status(i).view, 0u);
    EXPECT_EQ(sim.status(i).view_changes_started, 0u) << "node " << i;
  }
  EXPECT_TRUE(sim.status(0).primary);
  EXPECT_EQ(sim.RequestsUnresolved(), 0u);
}

TEST(PbftScenario, PrimaryCrash) {
  Simulation sim(Quiet(4));
  sim.RunUntil(1000);
  const std::uint64_t before = sim.Height(1);
  sim.Crash(0);  // the primary of view 0
  sim.RunUntil(5000);
  ASSERT_TRUE(sim.failure().ok()) << sim.failure().ToString();
  for (std::size_t i = 1; i < 4; ++i) {
    EXPECT_GE(sim.status(i).view, 1u) << "node " << i;
    EXPECT_FALSE(sim.status(i).changing) << "node " << i;
  }
  EXPECT_GT(sim.Height(1), before + 5) << "commits go on with 3 of 4";
  sim.Restart(0);
  sim.SetLoad(false);
  ASSERT_TRUE(sim.RunUntilConverged(10000)) << sim.failure().ToString();
  EXPECT_EQ(sim.Height(0), sim.Height(1));
  EXPECT_EQ(sim.Height(Follower(sim)), sim.Height(1));
}

TEST(PbftScenario, PrimaryEquivocation) {
  Simulation sim(Quiet(4));
  sim.SetByzantine(0, Byzantine::kEquivocate);  // a different block to nodes 1 and 3
  sim.RunUntil(5000);
  sim.SetLoad(false);
  ASSERT_TRUE(sim.RunUntilConverged(10000)) << sim.failure().ToString();
  ASSERT_TRUE(sim.failure().ok()) << sim.failure().ToString();
  for (std::size_t i = 1; i < 4; ++i) {
    EXPECT_GE(sim.status(i).view, 1u) << "the equivocating primary was voted out";
    EXPECT_EQ(sim.Height(i), sim.Height(1));
  }
  EXPECT_GT(sim.Height(1), 5u);
}

TEST(PbftScenario, OverloadKeepsAWorkingPrimary) {
  // Requests arrive about four times faster than blocks of 10, one at a time, can commit
  // them: the queue grows for 3 s and requests wait far longer than request_timeout_ms (600)
  // while every block commits. Nobody votes the primary out for that.
  Options o = Quiet(4);
  o.request_interval_ms = 1;
  o.consensus.max_batch_txs = 2;
  o.consensus.max_in_flight = 1;
  Simulation sim(o);
  std::size_t most_pending = 0;
  for (std::uint64_t t = 100; t <= 3000; t += 100) {
    sim.RunUntil(t);
    most_pending = std::max(most_pending, sim.status(1).pending);
  }
  sim.SetLoad(false);
  ASSERT_TRUE(sim.RunUntilConverged(30000)) << sim.failure().ToString();
  ASSERT_TRUE(sim.failure().ok()) << sim.failure().ToString();
  EXPECT_GT(most_pending, 500u) << "the load did not outrun the validators";
  EXPECT_GT(sim.now(), 3000u + 2 * o.consensus.request_timeout_ms) << "the queue drained too soon to test anything";
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(sim.status(i).view_changes_started, 0u) << "node " << i;
  }
  EXPECT_EQ(sim.RequestsUnresolved(), 0u);
}

TEST(PbftScenario, PrimaryCensorship) {
  // The primary commits blocks but leaves out a third of the requests: commits go on, so
  // only the later requests committing before the oldest one show it. (Its blocks take every
  // idle request it has, so that the censored ones never fill a block's worth on their own
  // and stop it.)
  Options o = Quiet(4);
  o.consensus.max_batch_txs = 1000;
  Simulation sim(o);
  sim.SetByzantine(0, Byzantine::kCensor);
  // A request counts as passed over when one that arrived ten request timeouts (6 s) after
  // it commits first.
  sim.RunUntil(6000);
  for (std::size_t i = 1; i < 4; ++i) EXPECT_EQ(sim.status(i).view, 0u) << "too soon (node " << i << ")";
  sim.RunUntil(9000);
  for (std::size_t i = 1; i < 4; ++i) {
    EXPECT_GE(sim.status(i).view, 1u) << "voted out while it still committed blocks (node " << i << ")";
  }
  sim.SetLoad(false);
  ASSERT_TRUE(sim.RunUntilConverged(10000)) << sim.failure().ToString();
  ASSERT_TRUE(sim.failure().ok()) << sim.failure().ToString();
  for (std::size_t i = 1; i < 4; ++i) EXPECT_EQ(sim.Height(i), sim.Height(1));
  EXPECT_EQ(sim.RequestsUnresolved(), 0u) << "every censored request committed in a later view";
}

TEST(PbftScenario, ViewChangeDuringViewChange) {
  // n = 7 tolerates 2 faults: the primaries of views 0 and 1 both crash, so the change to
  // view 1 cannot finish and the replicas go on to view 2.
  Simulation sim(Quiet(7));
  sim.RunUntil(1000);
  const std::uint64_t before = sim.Height(2);
  sim.Crash(0);
  sim.Crash(1);
  sim.RunUntil(8000);
  ASSERT_TRUE(sim.failure().ok()) << sim.failure().ToString();
  for (std::size_t i = 2; i < 7; ++i) {
    EXPECT_GE(sim.status(i).view, 2u) << "node " << i;
    EXPECT_GE(sim.status(i).view_changes_started, 2u) << "node " << i;
  }
  EXPECT_GT(sim.Height(2), before + 5);
  sim.Restart(0);
  sim.Restart(1);
  sim.SetLoad(false);
  ASSERT_TRUE(sim.RunUntilConverged(15000)) << sim.failure().ToString();
  EXPECT_EQ(sim.Height(0), sim.Height(2));
  EXPECT_EQ(sim.Height(1), sim.Height(2));
}

TEST(PbftScenario, CheckpointGarbageCollection) {
  Simulation sim(Quiet(4));
  std::size_t max_log = 0;
  for (std::uint64_t t = 100; t <= 6000; t += 100) {
    sim.RunUntil(t);
    for (std::size_t i = 0; i < 4; ++i) max_log = std::max(max_log, sim.status(i).log_entries);
  }
  ASSERT_TRUE(sim.failure().ok()) << sim.failure().ToString();
  // Simulator config: checkpoint every 4 blocks, watermark window 8.
  for (std::size_t i = 0; i < 4; ++i) {
    const pbft::ReplicaStatus st = sim.status(i);
    EXPECT_GT(st.committed_height, 40u);
    EXPECT_EQ(st.stable_checkpoint % 4, 0u);
    EXPECT_GT(st.stable_checkpoint, 0u);
    EXPECT_LE(st.committed_height - st.stable_checkpoint, 8u) << "node " << i;
  }
  // The log never held more than the watermark window, though dozens of blocks committed.
  EXPECT_LE(max_log, 8u);
}

TEST(PbftScenario, StateTransferAfterMissingCheckpoints) {
  Simulation sim(Quiet(4));
  sim.RunUntil(500);
  sim.Partition({3});  // replica 3 hears nothing for 4 s
  const std::uint64_t cut_at = sim.Height(3);
  sim.RunUntil(4500);
  ASSERT_TRUE(sim.failure().ok()) << sim.failure().ToString();
  // The others moved on by more than the watermark window (8): the votes replica 3 missed
  // are garbage-collected, so only state transfer can bring it back.
  EXPECT_GT(sim.status(0).stable_checkpoint, cut_at + 8);
  EXPECT_EQ(sim.Height(3), cut_at);
  const std::size_t fetches_before = sim.FetchesSent(3);
  sim.Heal();
  sim.SetLoad(false);
  ASSERT_TRUE(sim.RunUntilConverged(10000)) << sim.failure().ToString();
  EXPECT_EQ(sim.Height(3), sim.Height(0));
  EXPECT_GT(sim.FetchesSent(3), fetches_before);
  EXPECT_EQ(sim.status(3).view, sim.status(0).view);
}

TEST(PbftScenario, FollowerTakesCertifiedBlocks) {
  Simulation sim(Quiet(4));
  sim.RunUntil(2000);
  sim.SetLoad(false);
  ASSERT_TRUE(sim.RunUntilConverged(5000)) << sim.failure().ToString();
  const std::size_t f = Follower(sim);
  EXPECT_FALSE(sim.status(f).primary);
  EXPECT_EQ(sim.Height(f), sim.Height(0));
  EXPECT_GT(sim.FetchesSent(f), 0u);
}

TEST(PbftScenario, ValidatorSetChangeTakesEffectAtOneHeight) {
  Simulation sim(Quiet(4));  // validators 0-3, follower 4
  sim.RunUntil(500);
  const std::uint64_t before = sim.Height(0);
  sim.ChangeValidators({0, 1, 2, 4});  // 3 leaves, the follower joins
  sim.RunUntil(3000);
  ASSERT_TRUE(sim.failure().ok()) << sim.failure().ToString();
  const std::uint64_t start = sim.status(0).epoch;
  EXPECT_GT(start, before + kChangeDelay) << "in force kChangeDelay blocks after the approval";
  for (std::size_t i = 0; i < 5; ++i) {
    const pbft::ReplicaStatus st = sim.status(i);
    EXPECT_EQ(st.epoch, start) << "node " << i;
    EXPECT_EQ(st.validator, i != 3) << "node " << i;
    EXPECT_EQ(st.validators, 4u);
  }
  // Node 4's votes are now needed: without the old primary (node 0) the quorum of 3 is
  // nodes 1, 2 and 4, and node 3's would not count.
  sim.Crash(0);
  const std::uint64_t mid = sim.Height(1);
  sim.RunUntil(8000);
  ASSERT_TRUE(sim.failure().ok()) << sim.failure().ToString();
  EXPECT_GT(sim.Height(1), mid + 5) << "commits go on with nodes 1, 2 and 4";
  EXPECT_GE(sim.status(4).view, 1u);
  EXPECT_GT(sim.Height(3), mid + 5) << "the validator that left follows";
  sim.Restart(0);
  sim.SetLoad(false);
  ASSERT_TRUE(sim.RunUntilConverged(10000)) << sim.failure().ToString();
  EXPECT_EQ(sim.RequestsUnresolved(), 0u);
}

TEST(PbftScenario, SingleValidator) {
  // A community's first node before it has peers: n = 1, f = 0, every block decided alone.
  Simulation sim(Quiet(1));
  sim.RunUntil(2000);
  sim.SetLoad(false);
  ASSERT_TRUE(sim.RunUntilConverged(5000)) << sim.failure().ToString();
  EXPECT_GT(sim.Height(0), 10u);
  EXPECT_EQ(sim.Height(1), sim.Height(0)) << "the follower keeps up";
}

TEST(PbftScenario, SameSeedSameRun) {
  Options o = Options::FromSeed(4242, 4);
  Simulation a(o), b(o);
  ASSERT_TRUE(a.Run().ok());
  ASSERT_TRUE(b.Run().ok());
  EXPECT_EQ(a.Height(0), b.Height(0));
  EXPECT_EQ(a.status(0).committed_hash, b.status(0).committed_hash);
  EXPECT_EQ(a.counters().messages, b.counters().messages);
  EXPECT_EQ(a.counters().bytes, b.counters().bytes);
}

}  // namespace
}  // namespace nanum::sim
