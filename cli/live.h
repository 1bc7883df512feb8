// `nanumctl live`: the community trading, slot by slot, as the ledger records it. It follows
// the node's block time and prints one line (or JSON object) when a slot's gate closes (its
// orders, contracts, traded energy and clearing price; under continuous matching, the
// volume-weighted average and the range of the contracts' prices) and one when it settles
// (energy delivered of energy sold, what buyers paid and got back, penalties, and how many
// of the members settled had a meter reading). It starts `back` slots behind, so that
// there is something to see at once, rides out node restarts, and runs until SIGINT or
// SIGTERM.
//
// JSON objects: {"event":"closed", slot, starts_ms, block_time_ms, orders, contracts,
// traded_wh, clearing_price, average_price, min_price, max_price} and {"event":"settled",
// slot, block_time_ms, members, measured, sold_wh, delivered_wh, exported_wh, imported_wh,
// paid, refunded, penalties}.
#pragma once

#include <cstdint>

#include "cli/client.h"

namespace nanum::cli {

struct LiveOptions {
  std::uint64_t back = 3;
};

int RunLive(Node& node, const LiveOptions& o, const Output& out);

}  // namespace nanum::cli
