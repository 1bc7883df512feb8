#include "node/events.h"

#include "chaincode/records.h"

namespace nanum::node {

Status MemberEvents(const WriteSet& writes, std::uint64_t height, std::string_view member,
                    std::vector<MemberEvent>* out) {
  out->clear();
  std::vector<MemberEvent> contracts, settlements;
  for (const auto& [key, value] : writes.entries()) {
    if (!value) continue;
    if (key.rfind("ord/", 0) == 0) {
      MemberEvent e;
      NANUM_RETURN_IF_ERROR(market::Decode(*value, &e.order));
      const market::Order& o = e.order;
      if (o.owner != member) continue;
      const bool placed_now = o.height == height;
      if (placed_now) {
        e.kind = "order_accepted";
        out->push_back(e);
      }
      // An order from an earlier block is written again only when it trades or leaves the book.
      switch (static_cast<market::OrderStatus>(o.status)) {
        case market::OrderStatus::kOpen:
          if (placed_now && o.remaining_wh == o.quantity_wh) continue;
          e.kind = "order_filled";
          break;
        case market::OrderStatus::kFilled: e.kind = "order_filled"; break;
        case market::OrderStatus::kCancelled: e.kind = "order_cancelled"; break;
        case market::OrderStatus::kExpired: e.kind = "order_expired"; break;
      }
      out->push_back(std::move(e));
    } else if (key.rfind("ctr/", 0) == 0) {
      MemberEvent e;
      NANUM_RETURN_IF_ERROR(market::Decode(*value, &e.contract));
      // Settlement rewrites its contracts; that is the settlement event's, not a new contract.
      if (e.contract.height != height || (e.contract.seller != member && e.contract.buyer != member)) continue;
      e.kind = "contract";
      contracts.push_back(std::move(e));
    } else if (key.rfind("stl/", 0) == 0) {
      MemberEvent e;
      NANUM_RETURN_IF_ERROR(market::Decode(*value, &e.settlement));
      if (e.settlement.member != member) continue;
      e.kind = "settlement";
      settlements.push_back(std::move(e));
    }
  }
  for (auto* list : {&contracts, &settlements}) {
    for (auto& e : *list) out->push_back(std::move(e));
  }
  return Status::OK();
}

}  // namespace nanum::node
