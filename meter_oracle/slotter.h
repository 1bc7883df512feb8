// Per meter and slot: from samples (sample.h) to the reading the ledger takes for a slot
// (SubmitReading: energy exported and imported in the slot, the registers at its end, the
// instantaneous W, V, A and power factor, a sequence number).
//
// A meter's samples arrive in time order. The first sample in a later slot closes the open
// slot; so does the clock, `close_grace_ms` after the slot's end, for a plug that went
// quiet. A closed slot's reading is:
//   registers  the last sample's registers in the slot (carried from before if the slot's
//              samples had none), in whole Wh;
//   energy     those registers minus the registers at the end of the meter's previous
//              closed slot (or, for its very first slot, at the slot's first sample);
//   instant    the last sample's power, voltage, current and power factor;
//   sequence   one more than the meter's last.
// The ledger checks the same register arithmetic (MARKET.md).
//
// Checks, each a named rejection (the sample changes nothing): from the future (beyond
// `future_tolerance_ms`), out of order (not after the meter's last sample), late (its slot
// already closed), voltage outside the plug's rating, current above it, power above
// voltage × current allows at the rating, a register that went down, no values at all.
//
// No I/O and no clock: the caller passes the time and persists MeterState.
// Thread safety: plain values and functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/payload.h"
#include "ledger/status.h"
#include "meter_oracle/sample.h"

namespace nanum::oracle {

struct Limits {
  std::uint32_t min_voltage_mv = 50'000;   // the plug standard's rating: 50 to 250 V,
  std::uint32_t max_voltage_mv = 250'000;
  std::uint32_t max_current_ma = 16'000;   // at most 16 A
  std::uint64_t future_tolerance_ms = 5'000;
  std::uint64_t close_grace_ms = 2'000;
};

enum class Reject : std::uint8_t {
  kFuture, kOutOfOrder, kLate, kVoltage, kCurrent, kPower, kRegisterDown, kNoValues,
};
inline constexpr Reject kAllRejects[] = {Reject::kFuture, Reject::kOutOfOrder, Reject::kLate,
                                         Reject::kVoltage, Reject::kCurrent, Reject::kPower,
                                         Reject::kRegisterDown, Reject::kNoValues};
const char* RejectName(Reject r);  // "future", "out_of_order", …

// What the oracle keeps per meter between samples (persisted; see Encode).
struct MeterState {
  std::uint64_t last_sequence = 0;  // of the last reading made
  // The last sample taken.
  std::uint64_t last_time_ms = 0;
  std::uint64_t import_wh = 0, export_wh = 0;  // registers, Wh
  bool has_registers = false;
  std::int64_t power_mw = 0;
  std::uint32_t voltage_mv = 0, current_ma = 0;
  std::int32_t power_factor_permille = 0;
  // The open slot, if any, and the registers at its base (the previous close, or its first sample).
  bool open = false;
  std::uint64_t open_slot = 0;
  std::uint64_t base_import_wh = 0, base_export_wh = 0;
  // The last closed slot (no sample for it or before it is taken any more).
  bool has_closed = false;
  std::uint64_t closed_slot = 0;

  std::string Encode() const;
  static Status Decode(std::string_view bytes, MeterState* out);
  bool operator==(const MeterState&) const = default;
};

struct SampleResult {
  std::optional<Reject> rejected;
  std::string detail;                    // why, for the log
  std::vector<SubmitReading> closed;     // readings of slots this sample closed
};

// Takes one sample of `meter_id`. REQUIRES: slot_ms > 0.
SampleResult TakeSample(MeterState* m, const std::string& meter_id, const Sample& s, std::uint64_t now_ms,
                        std::uint64_t slot_ms, const Limits& limits);

// Closes the open slot if its end plus the grace has passed; its reading, if any.
std::optional<SubmitReading> CloseIfDue(MeterState* m, const std::string& meter_id, std::uint64_t now_ms,
                                        std::uint64_t slot_ms, const Limits& limits);

}  // namespace nanum::oracle
