// Per meter and slot: readings from samples, the checks, and the on-disk queue.
#include <filesystem>

#include <gtest/gtest.h>

#include "meter_oracle/queue.h"
#include "meter_oracle/slotter.h"

namespace nanum::oracle {
namespace {

constexpr std::uint64_t kSlot = 60'000;  // 1-minute slots
constexpr std::uint64_t kT0 = 1'800'000'000'000;  // a slot boundary: 30,000,000 slots of 60 s

Sample At(std::uint64_t t, std::int64_t import_wh, std::int64_t export_wh = 0, std::int64_t power_w = 100) {
  Sample s;
  s.device = "d";
  s.time_ms = t;
  s.summation_delivered = Scaled{import_wh, 1, 1000};  // Wh as kWh / 1000
  s.summation_received = Scaled{export_wh, 1, 1000};
  s.active_power = Scaled{power_w, 1, 1};
  s.rms_voltage = Scaled{2300, 1, 10};
  s.rms_current = Scaled{435, 1, 1000};
  s.power_factor = 98;
  return s;
}

struct Fixture {
  MeterState m;
  Limits limits;
  std::vector<SubmitReading> out;
  SampleResult Take(const Sample& s, std::uint64_t now) {
    SampleResult r = TakeSample(&m, "m-a", s, now, kSlot, limits);
    out.insert(out.end(), r.closed.begin(), r.closed.end());
    return r;
  }
};

TEST(SlotterTest, ReadingsFromRegisters) {
  Fixture f;
  const std::uint64_t slot = kT0 / kSlot;
  // Slot 0: registers 1000 → 1010 (import); its first sample is the base.
  EXPECT_FALSE(f.Take(At(kT0 + 1000, 1000, 50), kT0 + 1000).rejected);
  EXPECT_FALSE(f.Take(At(kT0 + 30'000, 1004, 50), kT0 + 30'000).rejected);
  EXPECT_FALSE(f.Take(At(kT0 + 59'000, 1010, 52, -200), kT0 + 59'000).rejected);
  EXPECT_TRUE(f.out.empty());
  // The first sample of slot 1 closes slot 0.
  EXPECT_FALSE(f.Take(At(kT0 + kSlot + 500, 1011, 60), kT0 + kSlot + 500).rejected);
  ASSERT_EQ(f.out.size(), 1u);
  const SubmitReading& r = f.out[0];
  EXPECT_EQ(r.meter_id, "m-a");
  EXPECT_EQ(r.slot, slot);
  EXPECT_EQ(r.sequence, 1u);
  EXPECT_EQ(r.import_wh, 10u);
  EXPECT_EQ(r.export_wh, 2u);
  EXPECT_EQ(r.cum_import_wh, 1010u);
  EXPECT_EQ(r.cum_export_wh, 52u);
  EXPECT_EQ(r.power_mw, -200'000);  // the last sample's
  EXPECT_EQ(r.voltage_mv, 230'000u);
  EXPECT_EQ(r.current_ma, 435u);
  EXPECT_EQ(r.power_factor_permille, 980);
  // Slot 1 then closes by the clock, after the grace; its base is slot 0's end (1010, 52).
  EXPECT_FALSE(CloseIfDue(&f.m, "m-a", kT0 + 2 * kSlot + f.limits.close_grace_ms - 1, kSlot, f.limits));
  std::optional<SubmitReading> r1 = CloseIfDue(&f.m, "m-a", kT0 + 2 * kSlot + f.limits.close_grace_ms, kSlot, f.limits);
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->slot, slot + 1);
  EXPECT_EQ(r1->sequence, 2u);
  EXPECT_EQ(r1->import_wh, 1u);
  EXPECT_EQ(r1->export_wh, 8u);
  EXPECT_FALSE(CloseIfDue(&f.m, "m-a", kT0 + 10 * kSlot, kSlot, f.limits));  // nothing open
  // After a quiet gap, the next slot's energy counts from the last close.
  f.Take(At(kT0 + 5 * kSlot, 1030, 60), kT0 + 5 * kSlot);
  std::optional<SubmitReading> r5 = CloseIfDue(&f.m, "m-a", kT0 + 7 * kSlot, kSlot, f.limits);
  ASSERT_TRUE(r5);
  EXPECT_EQ(r5->slot, slot + 5);
  EXPECT_EQ(r5->sequence, 3u);
  EXPECT_EQ(r5->import_wh, 19u);
  EXPECT_EQ(r5->cum_import_wh, 1030u);
}

TEST(SlotterTest, ChecksRejectAndChangeNothing) {
  Fixture f;
  ASSERT_FALSE(f.Take(At(kT0 + 1000, 1000), kT0 + 1000).rejected);
  const MeterState before = f.m;
  auto reject = [&](Sample s, std::uint64_t now) {
    SampleResult r = f.Take(s, now);
    EXPECT_EQ(f.m, before) << (r.rejected ? RejectName(*r.rejected) : "accepted");
    return r.rejected ? std::string(RejectName(*r.rejected)) : std::string("accepted");
  };
  EXPECT_EQ(reject(At(kT0 + 20'000, 1001), kT0 + 10'000), "future");          // 10 s ahead
  EXPECT_EQ(reject(At(kT0 + 1000, 1001), kT0 + 5000), "out_of_order");       // same time again
  EXPECT_EQ(reject(At(kT0 + 500, 1001), kT0 + 5000), "out_of_order");        // older
  EXPECT_EQ(reject(At(kT0 + 2000, 999), kT0 + 5000), "register_down");
  Sample s = At(kT0 + 2000, 1001);
  s.rms_voltage = Scaled{251, 1, 1};
  EXPECT_EQ(reject(s, kT0 + 5000), "voltage");
  s.rms_voltage = Scaled{49, 1, 1};
  EXPECT_EQ(reject(s, kT0 + 5000), "voltage");
  s = At(kT0 + 2000, 1001);
  s.rms_current = Scaled{16'001, 1, 1000};
  EXPECT_EQ(reject(s, kT0 + 5000), "current");
  s = At(kT0 + 2000, 1001, 0, 4001);
  EXPECT_EQ(reject(s, kT0 + 5000), "power");
  s = At(kT0 + 2000, 1001, 0, -4001);
  EXPECT_EQ(reject(s, kT0 + 5000), "power");
  Sample empty;
  empty.time_ms = kT0 + 2000;
  EXPECT_EQ(reject(empty, kT0 + 5000), "no_values");
  // Registers may stand still; at the rating's edges: accepted.
  EXPECT_FALSE(f.Take(At(kT0 + 1500, 1000), kT0 + 5000).rejected);
  s = At(kT0 + 2000, 1001, 0, 4000);
  s.rms_voltage = Scaled{250, 1, 1};
  s.rms_current = Scaled{16, 1, 1};
  EXPECT_FALSE(f.Take(s, kT0 + 5000).rejected);
}

TEST(SlotterTest, LateSamplesForAClosedSlot) {
  Fixture f;
  f.Take(At(kT0 + 1000, 1000), kT0 + 1000);
  ASSERT_TRUE(CloseIfDue(&f.m, "m-a", kT0 + kSlot + f.limits.close_grace_ms, kSlot, f.limits));
  // A plug's stored sample of that slot, sent after it closed.
  SampleResult r = f.Take(At(kT0 + 50'000, 1002), kT0 + kSlot + 5000);
  ASSERT_TRUE(r.rejected);
  EXPECT_EQ(*r.rejected, Reject::kLate);
  // Stored samples of later slots, sent together after an outage, make one reading each.
  for (std::uint64_t i = 1; i <= 3; ++i) {
    f.Take(At(kT0 + i * kSlot + 1000, 1002 + static_cast<std::int64_t>(i)), kT0 + 4 * kSlot);
  }
  f.Take(At(kT0 + 4 * kSlot + 1, 1010), kT0 + 4 * kSlot + 5);
  ASSERT_EQ(f.out.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(f.out[i].slot, kT0 / kSlot + 1 + i);
    EXPECT_EQ(f.out[i].sequence, 2 + i);
    EXPECT_EQ(f.out[i].import_wh, i == 0 ? 3u : 1u);  // slot 1 from slot 0's close at 1000
  }
}

TEST(SlotterTest, StateRoundTrips) {
  Fixture f;
  f.Take(At(kT0 + 1000, 1000, 7, -3), kT0 + 1000);
  std::string bytes = f.m.Encode();
  MeterState back;
  ASSERT_TRUE(MeterState::Decode(bytes, &back).ok());
  EXPECT_EQ(back, f.m);
  bytes.push_back('x');
  EXPECT_FALSE(MeterState::Decode(bytes, &back).ok());
  EXPECT_FALSE(MeterState::Decode(bytes.substr(0, 10), &back).ok());
}

class QueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("nanum-queue-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(QueueTest, AppendsInOrderAndSurvivesReopen) {
  {
    std::unique_ptr<Queue> q;
    ASSERT_TRUE(Queue::Open(dir_, &q).ok());
    Queue::Batch b;
    MeterState m;
    m.last_sequence = 2;
    b.PutMeter("m-a", m);
    b.Append("first", 7);
    b.Append("second", 8);
    ASSERT_TRUE(q->Write(b).ok());
    Queue::Batch c;
    c.Append("third", 9);
    c.PutUsagePoint({1, "MRID", "desc", "lfdi", {{"mmr", {72, 0, 1, 9}}}});
    ASSERT_TRUE(q->Write(c).ok());
    EXPECT_EQ(q->pending(), 3u);
    EXPECT_EQ(q->last_nonce(), 9u);
    // Another process cannot open it while this one holds it.
    std::unique_ptr<Queue> other;
    EXPECT_EQ(Queue::Open(dir_, &other).code(), Status::Code::kIOError);
  }
  std::unique_ptr<Queue> q;
  ASSERT_TRUE(Queue::Open(dir_, &q).ok());
  EXPECT_EQ(q->pending(), 3u);
  EXPECT_EQ(q->last_nonce(), 9u);
  EXPECT_EQ(q->last_position(), 3u);
  std::vector<QueuedReading> p;
  ASSERT_TRUE(q->Pending(10, &p).ok());
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].envelope, "first");
  EXPECT_EQ(p[2].envelope, "third");
  std::map<std::string, MeterState> meters;
  ASSERT_TRUE(q->Meters(&meters).ok());
  EXPECT_EQ(meters.at("m-a").last_sequence, 2u);
  std::vector<UsagePointRecord> mups;
  ASSERT_TRUE(q->UsagePoints(&mups).ok());
  ASSERT_EQ(mups.size(), 1u);
  EXPECT_EQ(mups[0].types.at("mmr"), (sep2::ReadingType{72, 0, 1, 9}));

  // Committed, re-signed, refused.
  ASSERT_TRUE(q->Remove(p[0].position).ok());
  ASSERT_TRUE(q->Replace(p[1].position, "second, re-signed", 12).ok());
  EXPECT_EQ(q->last_nonce(), 12u);
  ASSERT_TRUE(q->Refuse(p[2].position, "wrong_oracle").ok());
  ASSERT_TRUE(q->Pending(10, &p).ok());
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].envelope, "second, re-signed");
  std::vector<QueuedReading> refused;
  ASSERT_TRUE(q->Refused(10, &refused).ok());
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].envelope, "third");
  EXPECT_EQ(refused[0].why, "wrong_oracle");

  // The operator's reset drops both; counters and meters stay.
  std::uint64_t dropped = 0;
  ASSERT_TRUE(q->Reset(&dropped).ok());
  EXPECT_EQ(dropped, 2u);
  EXPECT_EQ(q->pending(), 0u);
  ASSERT_TRUE(q->Pending(10, &p).ok());
  EXPECT_TRUE(p.empty());
  ASSERT_TRUE(q->Meters(&meters).ok());
  EXPECT_EQ(meters.size(), 1u);
  Queue::Batch d;
  d.Append("after", 13);
  ASSERT_TRUE(q->Write(d).ok());
  ASSERT_TRUE(q->Pending(10, &p).ok());
  EXPECT_EQ(p[0].position, 4u);  // positions are never reused
}

}  // namespace
}  // namespace nanum::oracle
