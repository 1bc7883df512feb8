// IEEE 2030.5 Metering Mirror documents; see sep2.h.
#include "meter_oracle/sep2.h"

#include <algorithm>
#include <charconv>
#include <limits>

namespace nanum::oracle::sep2 {
namespace {

constexpr std::uint32_t kUomA = 5, kUomV = 29, kUomW = 38, kUomPf = 65, kUomWh = 72;
constexpr std::uint32_t kSummation = 9, kInstantaneous = 12;
constexpr std::uint32_t kForward = 1, kReverse = 19;
constexpr std::size_t kMaxMrid = 64;

bool OurNamespace(const XmlElement& e) { return e.ns == kNamespace || e.ns == kLegacyNamespace; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

Status Integer(const XmlElement& e, std::int64_t min, std::int64_t max, std::int64_t* out) {
  const std::string_view t = Trim(e.text);
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size()) {
    return Status::InvalidArgument(e.name + " is not an integer: \"" + std::string(t.substr(0, 32)) + "\"");
  }
  if (v < min || v > max) {
    return Status::InvalidArgument(e.name + " " + std::to_string(v) + " is outside " + std::to_string(min) + ".." +
                                   std::to_string(max));
  }
  *out = v;
  return Status::OK();
}

// An optional integer child.
Status OptInteger(const XmlElement& parent, std::string_view name, std::int64_t min, std::int64_t max,
                  std::optional<std::int64_t>* out) {
  const XmlElement* c = parent.Child(name);
  if (c == nullptr) return Status::OK();
  std::int64_t v = 0;
  NANUM_RETURN_IF_ERROR(Integer(*c, min, max, &v));
  *out = v;
  return Status::OK();
}

Status Text(const XmlElement& parent, std::string_view name, std::size_t max, std::string* out) {
  const XmlElement* c = parent.Child(name);
  if (c == nullptr) return Status::OK();
  const std::string_view t = Trim(c->text);
  if (t.size() > max) return Status::InvalidArgument(std::string(name) + " is longer than " + std::to_string(max));
  *out = std::string(t);
  return Status::OK();
}

Status ParseReadingType(const XmlElement& e, ReadingType* out) {
  std::optional<std::int64_t> uom, p, flow, acc;
  NANUM_RETURN_IF_ERROR(OptInteger(e, "uom", 0, 255, &uom));
  NANUM_RETURN_IF_ERROR(OptInteger(e, "powerOfTenMultiplier", -128, 127, &p));
  NANUM_RETURN_IF_ERROR(OptInteger(e, "flowDirection", 0, 255, &flow));
  NANUM_RETURN_IF_ERROR(OptInteger(e, "accumulationBehaviour", 0, 255, &acc));
  if (!uom) return Status::InvalidArgument("ReadingType has no uom");
  out->uom = static_cast<std::uint32_t>(*uom);
  out->power_of_ten = static_cast<std::int32_t>(p.value_or(0));
  out->flow_direction = static_cast<std::uint32_t>(flow.value_or(0));
  out->accumulation = static_cast<std::uint32_t>(acc.value_or(0));
  return CheckReadingType(*out);
}

// The end of a DateTimeInterval (start + duration), if it has one.
Status PeriodEnd(const XmlElement& parent, std::optional<std::uint64_t>* out) {
  const XmlElement* tp = parent.Child("timePeriod");
  if (tp == nullptr) return Status::OK();
  std::optional<std::int64_t> start, duration;
  NANUM_RETURN_IF_ERROR(OptInteger(*tp, "start", 0, std::int64_t{1} << 40, &start));
  NANUM_RETURN_IF_ERROR(OptInteger(*tp, "duration", 0, std::int64_t{1} << 32, &duration));
  if (!start) return Status::InvalidArgument("timePeriod has no start");
  *out = static_cast<std::uint64_t>(*start + duration.value_or(0));
  return Status::OK();
}

Status ParseReading(const XmlElement& e, std::optional<std::uint64_t> default_time, Reading* out) {
  const XmlElement* v = e.Child("value");
  if (v == nullptr) return Status::InvalidArgument("Reading has no value");
  // value is Int48.
  NANUM_RETURN_IF_ERROR(Integer(*v, -(std::int64_t{1} << 47), (std::int64_t{1} << 47) - 1, &out->value));
  NANUM_RETURN_IF_ERROR(PeriodEnd(e, &out->time_s));
  if (!out->time_s) out->time_s = default_time;
  return Status::OK();
}

Status ParseReadingSet(const XmlElement& e, std::optional<std::uint64_t> default_time, MeterReading* mr) {
  std::optional<std::uint64_t> set_end;
  NANUM_RETURN_IF_ERROR(PeriodEnd(e, &set_end));
  if (!set_end) set_end = default_time;
  std::size_t n = 0;
  for (const XmlElement& c : e.children) {
    if (c.name != "Reading" || !OurNamespace(c)) continue;
    Reading r;
    NANUM_RETURN_IF_ERROR(ParseReading(c, set_end, &r).Prefixed("MirrorReadingSet"));
    mr->readings.push_back(r);
    ++n;
  }
  if (n == 0) return Status::InvalidArgument("MirrorReadingSet has no Reading");
  return Status::OK();
}

Status ParseMeterReading(const XmlElement& e, MeterReading* out) {
  NANUM_RETURN_IF_ERROR(Text(e, "mRID", kMaxMrid, &out->mrid));
  if (out->mrid.empty()) return Status::InvalidArgument("MirrorMeterReading has no mRID");
  NANUM_RETURN_IF_ERROR(Text(e, "description", 64, &out->description));
  std::optional<std::int64_t> last;
  NANUM_RETURN_IF_ERROR(OptInteger(e, "lastUpdateTime", 0, std::int64_t{1} << 40, &last));
  if (last) out->last_update_s = static_cast<std::uint64_t>(*last);
  if (const XmlElement* t = e.Child("ReadingType")) {
    ReadingType rt;
    NANUM_RETURN_IF_ERROR(ParseReadingType(*t, &rt).Prefixed("MirrorMeterReading " + out->mrid));
    out->type = rt;
  }
  for (const XmlElement& c : e.children) {
    if (!OurNamespace(c)) continue;
    if (c.name == "Reading") {
      Reading r;
      NANUM_RETURN_IF_ERROR(ParseReading(c, out->last_update_s, &r).Prefixed("MirrorMeterReading " + out->mrid));
      out->readings.push_back(r);
    } else if (c.name == "MirrorReadingSet") {
      NANUM_RETURN_IF_ERROR(ParseReadingSet(c, out->last_update_s, out).Prefixed("MirrorMeterReading " + out->mrid));
    }
  }
  return Status::OK();
}

Status CheckRoot(const XmlElement& root) {
  if (!OurNamespace(root)) {
    return Status::InvalidArgument("<" + root.name + "> is not in the IEEE 2030.5 namespace (" + kNamespace + ")" +
                                   (root.ns.empty() ? "" : "; it is in " + root.ns.substr(0, 64)));
  }
  return Status::OK();
}

}  // namespace

Status CheckReadingType(const ReadingType& t) {
  if (t.power_of_ten < -9 || t.power_of_ten > 9) {
    return Status::InvalidArgument("powerOfTenMultiplier " + std::to_string(t.power_of_ten) + " is outside -9..9");
  }
  switch (t.uom) {
    case kUomWh:
      if (t.accumulation != kSummation) {
        return Status::InvalidArgument("uom 72 (Wh) needs accumulationBehaviour 9 (summation), not " +
                                       std::to_string(t.accumulation));
      }
      if (t.flow_direction != kForward && t.flow_direction != kReverse) {
        return Status::InvalidArgument("uom 72 (Wh) needs flowDirection 1 (import) or 19 (export), not " +
                                       std::to_string(t.flow_direction));
      }
      return Status::OK();
    case kUomW:
    case kUomV:
    case kUomA:
    case kUomPf:
      if (t.accumulation != kInstantaneous) {
        return Status::InvalidArgument("uom " + std::to_string(t.uom) +
                                       " needs accumulationBehaviour 12 (instantaneous), not " +
                                       std::to_string(t.accumulation));
      }
      if (t.flow_direction != 0 && t.flow_direction != kForward && t.flow_direction != kReverse) {
        return Status::InvalidArgument("flowDirection " + std::to_string(t.flow_direction) + " is not 1 or 19");
      }
      return Status::OK();
    default:
      return Status::InvalidArgument("uom " + std::to_string(t.uom) +
                                     " is not one of 72 (Wh), 38 (W), 29 (V), 5 (A), 65 (power factor)");
  }
}

Status ParseUsagePoint(const XmlElement& root, UsagePoint* out) {
  NANUM_RETURN_IF_ERROR(CheckRoot(root));
  if (root.name != "MirrorUsagePoint") {
    return Status::InvalidArgument("POST /mup takes a MirrorUsagePoint, not <" + root.name + ">");
  }
  NANUM_RETURN_IF_ERROR(Text(root, "mRID", kMaxMrid, &out->mrid));
  if (out->mrid.empty()) return Status::InvalidArgument("MirrorUsagePoint has no mRID");
  NANUM_RETURN_IF_ERROR(Text(root, "description", 64, &out->description));
  NANUM_RETURN_IF_ERROR(Text(root, "deviceLFDI", 64, &out->device_lfdi));
  for (const XmlElement& c : root.children) {
    if (c.name != "MirrorMeterReading" || !OurNamespace(c)) continue;
    MeterReading mr;
    NANUM_RETURN_IF_ERROR(ParseMeterReading(c, &mr));
    if (!mr.type) return Status::InvalidArgument("MirrorMeterReading " + mr.mrid + " has no ReadingType");
    out->readings.push_back(std::move(mr));
  }
  return Status::OK();
}

Status ParseMirrorPost(const XmlElement& root, std::vector<MeterReading>* out) {
  NANUM_RETURN_IF_ERROR(CheckRoot(root));
  out->clear();
  if (root.name == "MirrorMeterReading") {
    out->emplace_back();
    return ParseMeterReading(root, &out->back());
  }
  if (root.name == "MirrorMeterReadingList") {
    for (const XmlElement& c : root.children) {
      if (c.name != "MirrorMeterReading" || !OurNamespace(c)) continue;
      out->emplace_back();
      NANUM_RETURN_IF_ERROR(ParseMeterReading(c, &out->back()));
    }
    if (out->empty()) return Status::InvalidArgument("MirrorMeterReadingList has no MirrorMeterReading");
    return Status::OK();
  }
  if (root.name == "MirrorReadingSet") {
    out->emplace_back();
    return ParseReadingSet(root, std::nullopt, &out->back());
  }
  return Status::InvalidArgument("POST /mup/{id} takes a MirrorMeterReading, MirrorMeterReadingList or "
                                 "MirrorReadingSet, not <" + root.name + ">");
}

Status ToSamples(const std::string& device, const std::map<std::string, ReadingType>& types,
                 const std::vector<MeterReading>& readings, std::uint64_t now_ms, std::vector<Sample>* out) {
  std::map<std::uint64_t, Sample> by_time;
  for (const MeterReading& mr : readings) {
    ReadingType t;
    if (mr.type) {
      t = *mr.type;
    } else {
      auto it = types.find(mr.mrid);
      if (it == types.end()) {
        return Status::InvalidArgument("MirrorMeterReading " + mr.mrid +
                                       " is not registered with this usage point and has no ReadingType");
      }
      t = it->second;
    }
    for (const Reading& r : mr.readings) {
      const std::uint64_t time_ms = r.time_s ? *r.time_s * 1000 : now_ms;
      Sample& s = by_time[time_ms];
      s.device = device;
      s.time_ms = time_ms;
      const int p = t.power_of_ten;
      if (t.uom == kUomWh) {
        if (r.value < 0) return Status::InvalidArgument("a register reading is negative in " + mr.mrid);
        // Wh × 10^p is kWh × 10^(p - 3).
        const Scaled kwh = PowerOfTen(r.value, p - 3);
        (t.flow_direction == kReverse ? s.summation_received : s.summation_delivered) = kwh;
      } else if (t.uom == kUomW) {
        s.active_power = PowerOfTen(t.flow_direction == kReverse ? -r.value : r.value, p);
      } else if (t.uom == kUomV) {
        s.rms_voltage = PowerOfTen(r.value, p);
      } else if (t.uom == kUomA) {
        s.rms_current = PowerOfTen(r.value, p);
      } else {  // power factor, as hundredths
        std::int64_t h = 0;
        if (p + 2 >= 0) {
          const std::uint64_t m = Pow10(p + 2);
          if (r.value > 1000 || r.value < -1000) return Status::InvalidArgument("power factor out of range in " + mr.mrid);
          h = r.value * static_cast<std::int64_t>(m);
        } else {
          const auto d = static_cast<std::int64_t>(Pow10(-(p + 2)));
          h = (r.value >= 0 ? r.value + d / 2 : r.value - d / 2) / d;
        }
        if (h < -100 || h > 100) {
          return Status::InvalidArgument("power factor " + std::to_string(r.value) + "e" + std::to_string(p) +
                                         " is outside -1..1 in " + mr.mrid);
        }
        s.power_factor = static_cast<std::int8_t>(h);
      }
    }
  }
  out->clear();
  for (auto& [time, s] : by_time) out->push_back(std::move(s));
  return Status::OK();
}

std::string DeviceCapabilityXml() {
  return std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DeviceCapability xmlns=\"") + kNamespace +
         "\" href=\"/dcap\" pollRate=\"900\">\n"
         "  <MirrorUsagePointListLink href=\"/mup\" all=\"0\"/>\n"
         "</DeviceCapability>\n";
}

std::string UsagePointListXml(const std::vector<ListedUsagePoint>& mups) {
  std::string n = std::to_string(mups.size());
  std::string out = std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<MirrorUsagePointList xmlns=\"") +
                    kNamespace + "\" href=\"/mup\" all=\"" + n + "\" results=\"" + n + "\">\n";
  for (const ListedUsagePoint& m : mups) {
    out += "  <MirrorUsagePoint href=\"" + XmlEscape(m.href) + "\">\n";
    out += "    <mRID>" + XmlEscape(m.mrid) + "</mRID>\n";
    if (!m.description.empty()) out += "    <description>" + XmlEscape(m.description) + "</description>\n";
    out += "    <roleFlags>0</roleFlags>\n    <serviceCategoryKind>0</serviceCategoryKind>\n    <status>1</status>\n";
    if (!m.device_lfdi.empty()) out += "    <deviceLFDI>" + XmlEscape(m.device_lfdi) + "</deviceLFDI>\n";
    out += "  </MirrorUsagePoint>\n";
  }
  out += "</MirrorUsagePointList>\n";
  return out;
}

}  // namespace nanum::oracle::sep2
