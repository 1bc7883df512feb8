// `nanumctl agent`: a household's automated trader, the kind of program a household's
// energy-management system runs. It places, for each of the next `lead` slots whose gate is
// still open, one order from its own forecast of the household's net energy:
//
//   - the forecast: Holt's linear exponential smoothing (level α = 0.5, trend β = 0.3) over
//     the net export (export − import Wh) of the household's meter's last `history`
//     readings on the ledger, projected to the slot, and bounded by twice the largest
//     net seen. No readings yet: no orders.
//   - a forecast surplus is offered (sell) and a deficit bought, `hedge_permille` of it (the
//     settlement's tolerance is ±3 %, and a seller that delivers less forfeits the rest);
//     less than `min_wh`: no order for that slot.
//   - prices: `ask` for sells, `bid` for buys, each plus a part of `price_spread` taken
//     from the member id, so that the households of a community differ. A buy is cut to
//     what the member's available balance can escrow.
//
// It remembers which slots it has decided (and, after a restart, reads its open orders from
// the ledger), so that it places at most one order per slot. It prints one line (or JSON
// object) per decision and runs until SIGINT or SIGTERM. It does not cancel or re-price.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cli/client.h"

namespace nanum::cli {

struct AgentOptions {
  std::string key_path;
  std::string meter;  // empty: m-<member id>, as nanumctl init names meters
  unsigned lead = 2;
  unsigned history = 16;
  std::uint64_t ask = 90, bid = 110, price_spread = 20;  // base units per Wh
  std::uint64_t hedge_permille = 900;
  std::uint64_t min_wh = 10;
};

int RunAgent(Node& node, const AgentOptions& o, const Output& out);

// The forecast, apart for tests: `history` is (slot, net export Wh) in slot order.
struct Forecast {
  bool ok = false;  // false: no history, or the slot is not after it
  std::int64_t net_wh = 0;
  std::size_t from_readings = 0;
};
Forecast ForecastNet(const std::vector<std::pair<std::uint64_t, std::int64_t>>& history, std::uint64_t slot);

}  // namespace nanum::cli
