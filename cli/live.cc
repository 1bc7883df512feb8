// `nanumctl live`: the community trading, slot by slot, as the ledger records it. See live.h.
#include "cli/live.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <sstream>
#include <thread>

#include "cli/cli.h"

namespace nanum::cli {

using nlohmann::json;

namespace {

// 1234567 → "1,234,567".
std::string Num(std::int64_t v) {
  std::string d = std::to_string(v < 0 ? -v : v), r;
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (i != 0 && (d.size() - i) % 3 == 0) r += ',';
    r += d[i];
  }
  return v < 0 ? "-" + r : r;
}

class Live {
 public:
  Live(Node& node, const LiveOptions& o, const Output& out) : node_(node), o_(o), out_(out) {}

  int Run() {
    CatchStopSignals();
    bool said_down = false;
    while (!StopRequested()) {
      if (grpc::Status s = Step(); !s.ok()) {
        if (s.error_code() == grpc::StatusCode::NOT_FOUND || s.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
          return GrpcFail(s);
        }
        if (!said_down) std::cerr << "nanumctl: live: " << s.error_message() << "; trying again\n";
        said_down = true;
      } else {
        said_down = false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(tick_ms_));
    }
    return 0;
  }

 private:
  grpc::Status Step() {
    if (slot_ms_ == 0) {
      if (grpc::Status s = node_.Market(&market_); !s.ok()) return s;
      slot_ms_ = market_.slot_seconds() * 1000;
      gate_ms_ = market_.gate_closure_seconds() * 1000;
      delay_ms_ = market_.settlement_delay_seconds() * 1000;
      tick_ms_ = static_cast<int>(std::clamp<std::uint64_t>(slot_ms_ / 10, 200, 1000));
    }
    v1::NodeStatus st;
    {
      grpc::ClientContext ctx;
      Node::Deadline(&ctx);
      if (grpc::Status s = node_->GetStatus(&ctx, v1::GetStatusRequest{}, &st); !s.ok()) return s;
    }
    const std::uint64_t bt = st.block_time_ms();
    if (!started_) {
      started_ = true;
      const std::uint64_t closed = (bt + gate_ms_) / slot_ms_;                       // last slot whose gate passed
      const std::uint64_t settled = bt >= delay_ms_ + slot_ms_ ? (bt - delay_ms_) / slot_ms_ - 1 : 0;  // last due
      next_close_ = closed + 1 > o_.back ? closed + 1 - o_.back : 0;
      next_settle_ = settled + 1 > o_.back ? settled + 1 - o_.back : 0;
      if (!out_.json()) {
        std::cout << market_.community() << " (" << market_.chain_id() << "): " << market_.validators_size()
                  << " validators; slots of " << market_.slot_seconds() << " s, " << market_.mechanism()
                  << " matching; height " << st.height() << ", slot " << bt / slot_ms_ << " now. Prices in base units per Wh."
                  << std::endl;
      }
    }
    while (next_close_ * slot_ms_ <= bt + gate_ms_) {
      v1::SlotInfo si;
      if (grpc::Status s = Slot(next_close_, &si); !s.ok()) return s;
      if (si.phase() == "open" && si.orders() != 0) break;  // its gate closure is not executed yet
      if (grpc::Status s = ReportClosed(si, bt); !s.ok()) return s;
      ++next_close_;
    }
    while ((next_settle_ + 1) * slot_ms_ + delay_ms_ <= bt) {
      v1::SlotInfo si;
      if (grpc::Status s = Slot(next_settle_, &si); !s.ok()) return s;
      if (si.contracts() != 0 && si.phase() != "settled") break;
      if (grpc::Status s = ReportSettled(si, bt); !s.ok()) return s;
      ++next_settle_;
    }
    return grpc::Status::OK;
  }

  grpc::Status Slot(std::uint64_t slot, v1::SlotInfo* out) {
    v1::GetSlotRequest req;
    req.set_slot(slot);
    grpc::ClientContext ctx;
    Node::Deadline(&ctx);
    return node_->GetSlot(&ctx, req, out);
  }

  grpc::Status ReportClosed(const v1::SlotInfo& si, std::uint64_t bt) {
    std::uint64_t lo = 0, hi = 0, value = 0, wh = 0;
    if (si.contracts() != 0) {
      v1::ListContractsRequest req;
      req.set_slot(si.slot());
      req.set_limit(100000);
      v1::ListContractsResponse resp;
      grpc::ClientContext ctx;
      Node::Deadline(&ctx);
      if (grpc::Status s = node_->ListContracts(&ctx, req, &resp); !s.ok()) return s;
      for (const auto& c : resp.contracts()) {
        lo = lo == 0 ? c.price() : std::min(lo, c.price());
        hi = std::max(hi, c.price());
        value += c.quantity_wh() * c.price();
        wh += c.quantity_wh();
      }
    }
    const std::uint64_t avg = wh == 0 ? 0 : value / wh;
    const std::uint64_t price = si.clearing_price() != 0 ? si.clearing_price() : avg;
    const std::uint64_t starts = si.slot() * slot_ms_;
    if (out_.json()) {
      std::cout << json{{"event", "closed"}, {"slot", si.slot()}, {"starts_ms", starts}, {"block_time_ms", bt},
                        {"orders", si.orders()}, {"contracts", si.contracts()}, {"traded_wh", si.traded_wh()},
                        {"clearing_price", si.clearing_price()}, {"average_price", avg}, {"min_price", lo},
                        {"max_price", hi}}
                       .dump()
                << std::endl;
      return grpc::Status::OK;
    }
    std::ostringstream line;
    line << Clock(bt) << "  slot " << si.slot() << " (" << Clock(starts) << ")  gate closed  ";
    if (si.orders() == 0) {
      line << "no orders";
    } else if (si.contracts() == 0) {
      line << si.orders() << " orders, none matched";
    } else {
      line << (si.clearing_price() != 0 ? "cleared at " : "average price ") << price;
      if (si.clearing_price() == 0 && lo != hi) line << " (" << lo << "–" << hi << ")";
      line << ": " << Num(static_cast<std::int64_t>(si.traded_wh())) << " Wh in " << si.contracts() << " contracts, "
           << si.orders() << " orders";
    }
    std::cout << line.str() << std::endl;
    return grpc::Status::OK;
  }

  grpc::Status ReportSettled(const v1::SlotInfo& si, std::uint64_t bt) {
    std::uint64_t members = 0, sold = 0, delivered = 0, exported = 0, imported = 0, measured = 0;
    std::int64_t paid = 0, refunded = 0, penalties = 0;
    if (si.contracts() != 0) {
      v1::ListSettlementsRequest req;
      req.set_slot(si.slot());
      req.set_limit(100000);
      v1::ListSettlementsResponse resp;
      grpc::ClientContext ctx;
      Node::Deadline(&ctx);
      if (grpc::Status s = node_->ListSettlements(&ctx, req, &resp); !s.ok()) return s;
      for (const auto& x : resp.settlements()) {
        ++members;
        sold += x.sold_wh();
        delivered += x.delivered_sold_wh();
        exported += x.exported_wh();
        imported += x.imported_wh();
        paid += x.paid();
        refunded += x.refunded();
        penalties += x.penalty_paid();
        const bool side_measured = x.sold_wh() != 0 ? x.export_measured() : x.import_measured();
        measured += side_measured ? 1 : 0;
      }
    }
    if (out_.json()) {
      std::cout << json{{"event", "settled"}, {"slot", si.slot()}, {"block_time_ms", bt}, {"members", members},
                        {"measured", measured}, {"sold_wh", sold}, {"delivered_wh", delivered},
                        {"exported_wh", exported}, {"imported_wh", imported}, {"paid", paid},
                        {"refunded", refunded}, {"penalties", penalties}}
                       .dump()
                << std::endl;
      return grpc::Status::OK;
    }
    std::ostringstream line;
    line << Clock(bt) << "  slot " << si.slot() << " (" << Clock(si.slot() * slot_ms_) << ")  settled      ";
    if (si.contracts() == 0) {
      line << "nothing was traded";
    } else {
      line << Num(static_cast<std::int64_t>(delivered)) << " of " << Num(static_cast<std::int64_t>(sold))
           << " Wh delivered; paid " << Num(paid) << ", refunded " << Num(refunded) << ", penalties "
           << Num(penalties) << "; " << measured << " of " << members << " members metered";
    }
    std::cout << line.str() << std::endl;
    return grpc::Status::OK;
  }

  Node& node_;
  const LiveOptions o_;
  const Output& out_;
  v1::MarketInfo market_;
  std::uint64_t slot_ms_ = 0, gate_ms_ = 0, delay_ms_ = 0;
  int tick_ms_ = 500;
  bool started_ = false;
  std::uint64_t next_close_ = 0, next_settle_ = 0;
};

}  // namespace

int RunLive(Node& node, const LiveOptions& o, const Output& out) { return Live(node, o, out).Run(); }

}  // namespace nanum::cli
