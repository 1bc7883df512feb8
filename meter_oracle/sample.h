// One sample from a smart plug or meter, as the oracle keeps it: the ZigBee Cluster Library
// attributes of the Metering (0x0702) and Electrical Measurement (0x0b04) clusters, raw,
// with their multipliers and divisors, whatever the source (zigbee2mqtt or Tasmota JSON,
// IEEE 2030.5 XML). Conversion to the ledger's units (Wh, mW, mV, mA, permille) happens only
// at the edge, in the functions below, in integer arithmetic.
//
// ZCL references (ZigBee Cluster Library, 07-5123):
//   0x0702 Metering: 0x0000 CurrentSummationDelivered (import), 0x0001 CurrentSummationReceived
//     (export), 0x0300 UnitOfMeasure (0 = kWh), 0x0301 Multiplier, 0x0302 Divisor,
//     0x0400 InstantaneousDemand.
//   0x0b04 Electrical Measurement: 0x0505 RMSVoltage, 0x0508 RMSCurrent, 0x050b ActivePower,
//     0x0510 PowerFactor (hundredths, -100..100), 0x0600/0x0601 ACVoltageMultiplier/Divisor,
//     0x0602/0x0603 ACCurrentMultiplier/Divisor, 0x0604/0x0605 ACPowerMultiplier/Divisor.
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace nanum::oracle {

// A ZCL value with its scale: value = raw × multiplier / divisor (in the attribute's unit).
struct Scaled {
  std::int64_t raw = 0;
  std::uint64_t multiplier = 1;  // ≥ 1 (ZCL's are 24 bits; 2030.5's 10^p needs more)
  std::uint64_t divisor = 1;     // ≥ 1
  bool operator==(const Scaled&) const = default;
};

struct Sample {
  std::string device;          // the source's name for the plug or meter
  std::uint64_t time_ms = 0;   // when it was measured (Unix ms)
  // Metering 0x0702 registers in kWh (UnitOfMeasure 0), raw ≥ 0, each with the cluster's
  // Multiplier (0x0301) and Divisor (0x0302) as they were when it was read.
  std::optional<Scaled> summation_delivered;  // 0x0000, import register
  std::optional<Scaled> summation_received;   // 0x0001, export register
  // Electrical Measurement 0x0b04.
  std::optional<Scaled> rms_voltage;   // 0x0505 with 0x0600/0x0601, volts
  std::optional<Scaled> rms_current;   // 0x0508 with 0x0602/0x0603, amperes
  std::optional<Scaled> active_power;  // 0x050b with 0x0604/0x0605, watts; export < 0
  std::optional<std::int8_t> power_factor;  // 0x0510, hundredths
  std::optional<bool> on;                   // On/Off 0x0006 attribute 0x0000
};

// ---- The edge: ZCL values in the ledger's units. ----

// A kWh register in whole Wh, rounded down (so that a register never appears to go down);
// saturates at 2^64 - 1.
std::uint64_t RegisterWh(const Scaled& kwh);
// An instantaneous value in thousandths of its unit (mW, mV, mA), rounded to nearest.
std::int64_t Milli(const Scaled& v);
// Power factor in permille.
inline std::int32_t PowerFactorPermille(std::int8_t hundredths) { return std::int32_t{hundredths} * 10; }

// A number as a JSON source gives it (12.345 kWh, 229.8 V) as ZCL raw over `divisor`,
// rounded to nearest: 12.345 with divisor 1000 → raw 12345. False if it is not finite or
// does not fit.
bool FromNumber(double value, std::uint64_t divisor, Scaled* out);

// 10^p for p from 0 to 19.
std::uint64_t Pow10(int p);
// raw × 10^p as a multiplier or divisor (p from -19 to 19).
Scaled PowerOfTen(std::int64_t raw, int p);

}  // namespace nanum::oracle
