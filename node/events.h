// A member's events in a committed block, read from the block's write set (every record the
// block changed), for the API's SubscribeEvents:
//   order_accepted   the member's order was placed in this block
//   order_filled     it traded in this block (fully when remaining_wh is 0)
//   order_cancelled, order_expired
//   contract         a contract with the member as seller or buyer was made
//   settlement       a slot the member traded in was settled
// Orders come first, then contracts, then settlements, each in key order: the same block
// gives the same events everywhere.
//
// Thread safety: a plain function.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "chaincode/market.h"
#include "ledger/state.h"

namespace nanum::node {

struct MemberEvent {
  std::string kind;
  market::Order order;             // order_*
  market::Contract contract;       // contract
  market::Settlement settlement;   // settlement
};

// Errors: kCorruption when a written record does not decode.
Status MemberEvents(const WriteSet& writes, std::uint64_t height, std::string_view member,
                    std::vector<MemberEvent>* out);

}  // namespace nanum::node
