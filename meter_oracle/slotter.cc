// Per meter and slot; see slotter.h.
#include "meter_oracle/slotter.h"

#include <cstdlib>

#include "ledger/encoding.h"

namespace nanum::oracle {
namespace {

constexpr std::uint8_t kStateVersion = 1;

SampleResult Rejected(Reject r, std::string detail) {
  SampleResult out;
  out.rejected = r;
  out.detail = std::move(detail);
  return out;
}

SubmitReading Close(MeterState* m, const std::string& meter_id) {
  SubmitReading r;
  r.meter_id = meter_id;
  r.slot = m->open_slot;
  r.sequence = m->last_sequence + 1;
  r.cum_import_wh = m->import_wh;
  r.cum_export_wh = m->export_wh;
  r.import_wh = m->import_wh - m->base_import_wh;
  r.export_wh = m->export_wh - m->base_export_wh;
  r.power_mw = m->power_mw;
  r.voltage_mv = m->voltage_mv;
  r.current_ma = m->current_ma;
  r.power_factor_permille = m->power_factor_permille;
  m->last_sequence = r.sequence;
  m->open = false;
  m->has_closed = true;
  m->closed_slot = r.slot;
  return r;
}

std::string Mv(std::int64_t milli) {
  return std::to_string(milli / 1000) + "." + std::to_string(std::llabs(milli % 1000) / 100);
}

}  // namespace

const char* RejectName(Reject r) {
  switch (r) {
    case Reject::kFuture: return "future";
    case Reject::kOutOfOrder: return "out_of_order";
    case Reject::kLate: return "late";
    case Reject::kVoltage: return "voltage";
    case Reject::kCurrent: return "current";
    case Reject::kPower: return "power";
    case Reject::kRegisterDown: return "register_down";
    case Reject::kNoValues: return "no_values";
  }
  return "?";
}

std::string MeterState::Encode() const {
  Writer w(128);
  w.U8(kStateVersion);
  w.U64(last_sequence);
  w.U64(last_time_ms);
  w.U64(import_wh);
  w.U64(export_wh);
  w.Bool(has_registers);
  w.I64(power_mw);
  w.U32(voltage_mv);
  w.U32(current_ma);
  w.I64(power_factor_permille);
  w.Bool(open);
  w.U64(open_slot);
  w.U64(base_import_wh);
  w.U64(base_export_wh);
  w.Bool(has_closed);
  w.U64(closed_slot);
  return w.Release();
}

Status MeterState::Decode(std::string_view bytes, MeterState* out) {
  Reader r(bytes, "meter state");
  if (r.U8() != kStateVersion && r.ok()) return Status::Corruption("meter state: unknown version");
  MeterState m;
  m.last_sequence = r.U64();
  m.last_time_ms = r.U64();
  m.import_wh = r.U64();
  m.export_wh = r.U64();
  m.has_registers = r.Bool();
  m.power_mw = r.I64();
  m.voltage_mv = r.U32();
  m.current_ma = r.U32();
  m.power_factor_permille = static_cast<std::int32_t>(r.I64());
  m.open = r.Bool();
  m.open_slot = r.U64();
  m.base_import_wh = r.U64();
  m.base_export_wh = r.U64();
  m.has_closed = r.Bool();
  m.closed_slot = r.U64();
  NANUM_RETURN_IF_ERROR(r.Finish());
  *out = m;
  return Status::OK();
}

SampleResult TakeSample(MeterState* m, const std::string& meter_id, const Sample& s, std::uint64_t now_ms,
                        std::uint64_t slot_ms, const Limits& limits) {
  if (s.time_ms > now_ms + limits.future_tolerance_ms) {
    return Rejected(Reject::kFuture, "measured " + std::to_string(s.time_ms - now_ms) + " ms in the future");
  }
  if (m->last_time_ms != 0 && s.time_ms <= m->last_time_ms) {
    return Rejected(Reject::kOutOfOrder, "measured at " + std::to_string(s.time_ms) + ", not after the last sample at " +
                                             std::to_string(m->last_time_ms));
  }
  const std::uint64_t slot = s.time_ms / slot_ms;
  if (m->has_closed && slot <= m->closed_slot) {
    return Rejected(Reject::kLate, "slot " + std::to_string(slot) + " is closed already");
  }
  const bool has_register = s.summation_delivered || s.summation_received;
  if (!has_register && !s.active_power && !s.rms_voltage && !s.rms_current) {
    return Rejected(Reject::kNoValues, "no register, power, voltage or current");
  }
  const std::int64_t mv = s.rms_voltage ? Milli(*s.rms_voltage) : 0;
  const std::int64_t ma = s.rms_current ? Milli(*s.rms_current) : 0;
  const std::int64_t mw = s.active_power ? Milli(*s.active_power) : 0;
  if (s.rms_voltage && (mv < limits.min_voltage_mv || mv > limits.max_voltage_mv)) {
    return Rejected(Reject::kVoltage, Mv(mv) + " V is outside the rating " + Mv(limits.min_voltage_mv) + " to " +
                                          Mv(limits.max_voltage_mv) + " V");
  }
  if (s.rms_current && (ma < 0 || ma > limits.max_current_ma)) {
    return Rejected(Reject::kCurrent, Mv(ma) + " A is above the rating of " + Mv(limits.max_current_ma) + " A");
  }
  const std::int64_t max_mw = std::int64_t{limits.max_voltage_mv} * limits.max_current_ma / 1000;
  if (std::llabs(mw) > max_mw) {
    return Rejected(Reject::kPower, Mv(mw) + " W is beyond what the rating allows (" + Mv(max_mw) + " W)");
  }
  std::uint64_t imp = m->import_wh, exp = m->export_wh;
  if (s.summation_delivered) imp = RegisterWh(*s.summation_delivered);
  if (s.summation_received) exp = RegisterWh(*s.summation_received);
  if (m->has_registers && (imp < m->import_wh || exp < m->export_wh)) {
    return Rejected(Reject::kRegisterDown, "registers went down: import " + std::to_string(m->import_wh) + " -> " +
                                               std::to_string(imp) + " Wh, export " + std::to_string(m->export_wh) +
                                               " -> " + std::to_string(exp) + " Wh");
  }

  SampleResult out;
  if (m->open && slot > m->open_slot) out.closed.push_back(Close(m, meter_id));
  if (!m->open) {
    m->open = true;
    m->open_slot = slot;
    // The base: the registers at the previous close; for a meter's first slot, its first sample.
    m->base_import_wh = m->has_registers ? m->import_wh : imp;
    m->base_export_wh = m->has_registers ? m->export_wh : exp;
  }
  m->last_time_ms = s.time_ms;
  if (has_register) {
    m->import_wh = imp;
    m->export_wh = exp;
    if (!m->has_registers) {
      m->base_import_wh = imp;
      m->base_export_wh = exp;
    }
    m->has_registers = true;
  }
  if (s.active_power) m->power_mw = mw;
  if (s.rms_voltage) m->voltage_mv = static_cast<std::uint32_t>(mv);
  if (s.rms_current) m->current_ma = static_cast<std::uint32_t>(ma);
  if (s.power_factor) m->power_factor_permille = PowerFactorPermille(*s.power_factor);
  return out;
}

std::optional<SubmitReading> CloseIfDue(MeterState* m, const std::string& meter_id, std::uint64_t now_ms,
                                        std::uint64_t slot_ms, const Limits& limits) {
  if (!m->open || now_ms < (m->open_slot + 1) * slot_ms + limits.close_grace_ms) return std::nullopt;
  return Close(m, meter_id);
}

}  // namespace nanum::oracle
