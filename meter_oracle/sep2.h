// IEEE 2030.5 (SEP 2.0) Metering Mirror documents: parsing what meters POST and writing
// what the oracle serves. The HTTP side is in server.cc; this part has no I/O.
//
// Accepted documents (namespace urn:ieee:std:2030.5:ns, or http://ieee.org/2030.5):
//   MirrorUsagePoint (POST /mup): mRID, description, deviceLFDI, and its MirrorMeterReadings
//     each with mRID and ReadingType (and optionally a first Reading).
//   MirrorMeterReading, MirrorMeterReadingList, MirrorReadingSet (POST /mup/{id}).
// ReadingType mapping to the ZCL model (sample.h):
//   uom 72 Wh, accumulationBehaviour 9 (summation): a register; flowDirection 1 import
//     (Metering 0x0000), 19 export (Metering 0x0001).
//   accumulationBehaviour 12 (instantaneous): uom 38 W (ActivePower; flowDirection 19
//     makes it export, negative), 29 V (RMSVoltage), 5 A (RMSCurrent), 65 power factor.
//   powerOfTenMultiplier -9..9 scales every value: value × 10^p.
// A Reading's time is the end of its timePeriod (start + duration), else its
// MirrorReadingSet's, else the MirrorMeterReading's lastUpdateTime, else the time received.
// Everything else is refused with the reason (the server answers 400 with it).
//
// Thread safety: plain functions and values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ledger/status.h"
#include "meter_oracle/sample.h"
#include "meter_oracle/xml.h"

namespace nanum::oracle::sep2 {

inline constexpr const char* kNamespace = "urn:ieee:std:2030.5:ns";
inline constexpr const char* kLegacyNamespace = "http://ieee.org/2030.5";
inline constexpr const char* kContentType = "application/sep+xml";

struct ReadingType {
  std::uint32_t uom = 0;
  std::int32_t power_of_ten = 0;
  std::uint32_t flow_direction = 0;  // 0 when absent
  std::uint32_t accumulation = 0;
  bool operator==(const ReadingType&) const = default;
};

struct Reading {
  std::int64_t value = 0;
  std::optional<std::uint64_t> time_s;  // end of its period, Unix seconds
};

struct MeterReading {  // a MirrorMeterReading
  std::string mrid;
  std::string description;
  std::optional<ReadingType> type;
  std::optional<std::uint64_t> last_update_s;
  std::vector<Reading> readings;  // its Reading and those of its MirrorReadingSets
};

struct UsagePoint {  // a MirrorUsagePoint
  std::string mrid;
  std::string description;
  std::string device_lfdi;
  std::vector<MeterReading> readings;
};

// Parses a POST /mup body.
Status ParseUsagePoint(const XmlElement& root, UsagePoint* out);
// Parses a POST /mup/{id} body (MirrorMeterReading, MirrorMeterReadingList or
// MirrorReadingSet). A MirrorReadingSet alone comes back as one MeterReading with an empty
// mRID; the caller decides which of the usage point's meter readings it belongs to.
Status ParseMirrorPost(const XmlElement& root, std::vector<MeterReading>* out);

// Checks a ReadingType against the mapping above.
Status CheckReadingType(const ReadingType& t);

// Turns meter readings of `device` into samples, one per distinct time, in time order.
// `types` gives the ReadingType of each MirrorMeterReading mRID registered before; a
// reading's own ReadingType wins. `now_ms` is the receive time.
Status ToSamples(const std::string& device, const std::map<std::string, ReadingType>& types,
                 const std::vector<MeterReading>& readings, std::uint64_t now_ms, std::vector<Sample>* out);

// ---- What the server sends. ----
std::string DeviceCapabilityXml();
struct ListedUsagePoint {
  std::string href, mrid, description, device_lfdi;
};
std::string UsagePointListXml(const std::vector<ListedUsagePoint>& mups);

}  // namespace nanum::oracle::sep2
