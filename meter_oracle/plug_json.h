// ZigBee smart plugs as zigbee2mqtt and Tasmota publish them, into the ZCL model (sample.h).
//
// zigbee2mqtt (topic zigbee2mqtt/<friendly name>), fields as its device converters name them:
//   energy (kWh, the plug's register), produced_energy (kWh, export register where the device
//   has one), power (W), voltage (V), current (A), power_factor (0..1, or percent when > 1),
//   state ("ON"/"OFF"), last_seen (Unix ms, or ISO 8601) as the measurement time.
// Tasmota (topic tele/<topic>/SENSOR): Time (ISO 8601; UTC unless it carries an offset) and
//   ENERGY {Total, ExportActive (kWh), Power (W), Voltage (V), Current (A), Factor (0..1)};
//   tele/<topic>/STATE gives POWER "ON"/"OFF" only and carries no measurement.
// A plug that measures what flows into a solar inverter (flow = export) reports its energy
// and power as export: energy goes to the export register and power is negative.
//
// Lines from a file or a pipe are "<topic> <json>", as `mosquitto_sub -v` prints them.
//
// Thread safety: plain functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/status.h"
#include "meter_oracle/sample.h"

namespace nanum::oracle {

enum class Format { kZigbee2Mqtt, kTasmota };
enum class Flow { kImport, kExport };

// Parses one message of `device`. `now_ms` is used when the message has no time. kNotFound
// for a message that carries no measurement (a Tasmota STATE, a zigbee2mqtt availability
// message), kInvalidArgument with the reason for a malformed one.
Status ParsePlugJson(Format format, const std::string& device, Flow flow, std::string_view json,
                     std::uint64_t now_ms, Sample* out);

// Splits a "<topic> <json>" line: zigbee2mqtt/<name> or tele/<name>/SENSOR (or STATE).
// kNotFound for topics that are not a plug's (zigbee2mqtt/bridge/…, other tele/ kinds).
Status ParseTopicLine(std::string_view line, Format* format, std::string* device, std::string_view* json);

// ISO 8601 date and time (YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]) as Unix ms; no offset is UTC.
std::optional<std::uint64_t> ParseIsoTime(std::string_view text);

}  // namespace nanum::oracle
