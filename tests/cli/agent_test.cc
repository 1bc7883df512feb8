// The trading agent's forecast (cli/agent.h): Holt's smoothing over the meter's net export.
#include "cli/agent.h"

#include <gtest/gtest.h>

namespace nanum::cli {
namespace {

TEST(AgentForecastTest, NoHistoryNoForecast) {
  EXPECT_FALSE(ForecastNet({}, 10).ok);
  EXPECT_FALSE(ForecastNet({{10, 100}}, 10).ok) << "the slot must come after the history";
  EXPECT_FALSE(ForecastNet({{10, 100}}, 9).ok);
}

TEST(AgentForecastTest, OneReadingIsCarriedForward) {
  const Forecast f = ForecastNet({{10, -240}}, 12);
  ASSERT_TRUE(f.ok);
  EXPECT_EQ(f.net_wh, -240);
  EXPECT_EQ(f.from_readings, 1u);
}

TEST(AgentForecastTest, SteadyHistoryGivesItsLevel) {
  const Forecast f = ForecastNet({{1, 500}, {2, 500}, {3, 500}, {4, 500}}, 6);
  ASSERT_TRUE(f.ok);
  EXPECT_EQ(f.net_wh, 500);
}

TEST(AgentForecastTest, FollowsATrend) {
  // Solar export rising by 100 Wh a slot: two slots on, the forecast is near 1400 Wh, well
  // above the last value (a forecast without trend would say 1200 or less).
  std::vector<std::pair<std::uint64_t, std::int64_t>> h;
  for (std::uint64_t s = 1; s <= 12; ++s) h.emplace_back(s, static_cast<std::int64_t>(100 * s));
  const Forecast f = ForecastNet(h, 14);
  ASSERT_TRUE(f.ok);
  EXPECT_GE(f.net_wh, 1350);
  EXPECT_LE(f.net_wh, 1450);
}

TEST(AgentForecastTest, GapsCountAsSlotsAndTheForecastIsBounded) {
  // A steep fall over a gap would project far below anything seen: bounded at twice the
  // largest magnitude.
  const Forecast f = ForecastNet({{1, 1000}, {2, 1000}, {10, -1000}}, 40);
  ASSERT_TRUE(f.ok);
  EXPECT_GE(f.net_wh, -2000);
  EXPECT_LT(f.net_wh, 0);
}

}  // namespace
}  // namespace nanum::cli
