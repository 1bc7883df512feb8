// zigbee2mqtt and Tasmota JSON; see plug_json.h.
#include "meter_oracle/plug_json.h"

#include <charconv>
#include <cmath>

#include <nlohmann/json.hpp>

namespace nanum::oracle {
namespace {

using json = nlohmann::json;

// Resolutions kept from JSON numbers: Wh for registers, 0.1 W, 0.1 V, mA.
constexpr std::uint64_t kEnergyDivisor = 1000, kPowerDivisor = 10, kVoltageDivisor = 10, kCurrentDivisor = 1000;

Status Number(const json& obj, const char* field, std::optional<double>* out) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return Status::OK();
  if (!it->is_number()) return Status::InvalidArgument(std::string(field) + " is not a number");
  const double v = it->get<double>();
  if (!std::isfinite(v)) return Status::InvalidArgument(std::string(field) + " is not finite");
  *out = v;
  return Status::OK();
}

Status Set(const char* field, double v, std::uint64_t divisor, std::optional<Scaled>* out) {
  Scaled s;
  if (!FromNumber(v, divisor, &s)) return Status::InvalidArgument(std::string(field) + " is out of range");
  *out = s;
  return Status::OK();
}

Status Register(const char* field, const std::optional<double>& v, std::optional<Scaled>* out) {
  if (!v) return Status::OK();
  if (*v < 0) return Status::InvalidArgument(std::string(field) + " is negative");
  return Set(field, *v, kEnergyDivisor, out);
}

Status Factor(const char* field, const std::optional<double>& v, Sample* s) {
  if (!v) return Status::OK();
  double f = *v;
  if (std::fabs(f) > 1.0) f /= 100.0;  // some devices give percent
  if (std::fabs(f) > 1.0) return Status::InvalidArgument(std::string(field) + " is outside -1..1");
  s->power_factor = static_cast<std::int8_t>(std::lround(f * 100.0));
  return Status::OK();
}

// The common fields, named per format.
struct Fields {
  std::optional<double> energy, produced, power, voltage, current, factor;
};

Status Fill(const Fields& f, Flow flow, Sample* s) {
  if (flow == Flow::kImport) {
    NANUM_RETURN_IF_ERROR(Register("energy", f.energy, &s->summation_delivered));
  } else {
    NANUM_RETURN_IF_ERROR(Register("energy", f.energy, &s->summation_received));
  }
  if (f.produced) NANUM_RETURN_IF_ERROR(Register("produced energy", f.produced, &s->summation_received));
  if (f.power) NANUM_RETURN_IF_ERROR(Set("power", flow == Flow::kExport ? -std::fabs(*f.power) : *f.power, kPowerDivisor, &s->active_power));
  if (f.voltage) NANUM_RETURN_IF_ERROR(Set("voltage", *f.voltage, kVoltageDivisor, &s->rms_voltage));
  if (f.current) NANUM_RETURN_IF_ERROR(Set("current", *f.current, kCurrentDivisor, &s->rms_current));
  NANUM_RETURN_IF_ERROR(Factor("power factor", f.factor, s));
  if (!s->summation_delivered && !s->summation_received && !s->active_power && !s->rms_voltage && !s->rms_current) {
    return Status::NotFound("no energy, power, voltage or current in the message");
  }
  return Status::OK();
}

Status State(const json& obj, const char* field, Sample* s) {
  auto it = obj.find(field);
  if (it == obj.end()) return Status::OK();
  if (!it->is_string()) return Status::InvalidArgument(std::string(field) + " is not a string");
  const std::string v = it->get<std::string>();
  if (v == "ON") {
    s->on = true;
  } else if (v == "OFF") {
    s->on = false;
  } else {
    return Status::InvalidArgument(std::string(field) + " is neither ON nor OFF");
  }
  return Status::OK();
}

Status Time(const json& obj, const char* field, std::uint64_t now_ms, std::uint64_t* out) {
  *out = now_ms;
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return Status::OK();
  if (it->is_number_unsigned()) {
    *out = it->get<std::uint64_t>();
    return Status::OK();
  }
  if (it->is_string()) {
    const std::optional<std::uint64_t> t = ParseIsoTime(it->get<std::string>());
    if (!t) return Status::InvalidArgument(std::string(field) + " is not an ISO 8601 time");
    *out = *t;
    return Status::OK();
  }
  return Status::InvalidArgument(std::string(field) + " is neither Unix ms nor an ISO 8601 time");
}

std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned mp = m > 2 ? m - 3 : m + 9;  // March is 0
  const unsigned doy = (153 * mp + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool Digits(std::string_view s, std::size_t pos, std::size_t n, unsigned* out) {
  if (pos + n > s.size()) return false;
  unsigned v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + static_cast<unsigned>(s[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

std::optional<std::uint64_t> ParseIsoTime(std::string_view s) {
  unsigned y, mo, d, h, mi, se;
  if (!Digits(s, 0, 4, &y) || s.size() < 19 || s[4] != '-' || !Digits(s, 5, 2, &mo) || s[7] != '-' ||
      !Digits(s, 8, 2, &d) || (s[10] != 'T' && s[10] != ' ') || !Digits(s, 11, 2, &h) || s[13] != ':' ||
      !Digits(s, 14, 2, &mi) || s[16] != ':' || !Digits(s, 17, 2, &se)) {
    return std::nullopt;
  }
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  std::size_t pos = 19;
  std::uint64_t ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::uint64_t scale = 100;
    const std::size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      ms += static_cast<std::uint64_t>(s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  std::int64_t offset_min = 0;
  if (pos < s.size()) {
    if (s[pos] == 'Z' && pos + 1 == s.size()) {
      pos = s.size();
    } else if ((s[pos] == '+' || s[pos] == '-') && s.size() == pos + 6 && s[pos + 3] == ':') {
      unsigned oh, om;
      if (!Digits(s, pos + 1, 2, &oh) || !Digits(s, pos + 4, 2, &om) || oh > 14 || om > 59) return std::nullopt;
      offset_min = (s[pos] == '+' ? 1 : -1) * static_cast<std::int64_t>(oh * 60 + om);
    } else {
      return std::nullopt;
    }
  }
  const std::int64_t days = DaysFromCivil(y, mo, d);
  const std::int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - offset_min * 60;
  if (secs < 0) return std::nullopt;
  return static_cast<std::uint64_t>(secs) * 1000 + ms;
}

Status ParsePlugJson(Format format, const std::string& device, Flow flow, std::string_view text,
                     std::uint64_t now_ms, Sample* out) {
  *out = Sample();
  out->device = device;
  const json doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded()) return Status::InvalidArgument("malformed JSON");
  if (!doc.is_object()) return Status::InvalidArgument("the message is not a JSON object");
  Fields f;
  if (format == Format::kZigbee2Mqtt) {
    NANUM_RETURN_IF_ERROR(Number(doc, "energy", &f.energy));
    NANUM_RETURN_IF_ERROR(Number(doc, "produced_energy", &f.produced));
    NANUM_RETURN_IF_ERROR(Number(doc, "power", &f.power));
    NANUM_RETURN_IF_ERROR(Number(doc, "voltage", &f.voltage));
    NANUM_RETURN_IF_ERROR(Number(doc, "current", &f.current));
    NANUM_RETURN_IF_ERROR(Number(doc, "power_factor", &f.factor));
    NANUM_RETURN_IF_ERROR(State(doc, "state", out));
    NANUM_RETURN_IF_ERROR(Time(doc, "last_seen", now_ms, &out->time_ms));
    return Fill(f, flow, out);
  }
  NANUM_RETURN_IF_ERROR(State(doc, "POWER", out));
  auto energy = doc.find("ENERGY");
  if (energy == doc.end()) return Status::NotFound("no ENERGY object (a Tasmota STATE message?)");
  if (!energy->is_object()) return Status::InvalidArgument("ENERGY is not an object");
  NANUM_RETURN_IF_ERROR(Number(*energy, "Total", &f.energy));
  NANUM_RETURN_IF_ERROR(Number(*energy, "ExportActive", &f.produced));
  NANUM_RETURN_IF_ERROR(Number(*energy, "Power", &f.power));
  NANUM_RETURN_IF_ERROR(Number(*energy, "Voltage", &f.voltage));
  NANUM_RETURN_IF_ERROR(Number(*energy, "Current", &f.current));
  NANUM_RETURN_IF_ERROR(Number(*energy, "Factor", &f.factor));
  NANUM_RETURN_IF_ERROR(Time(doc, "Time", now_ms, &out->time_ms));
  return Fill(f, flow, out);
}

Status ParseTopicLine(std::string_view line, Format* format, std::string* device, std::string_view* json_text) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  const auto space = line.find(' ');
  if (space == std::string_view::npos) return Status::InvalidArgument("expected \"<topic> <json>\"");
  const std::string_view topic = line.substr(0, space);
  *json_text = line.substr(space + 1);
  constexpr std::string_view kZ = "zigbee2mqtt/", kT = "tele/";
  if (topic.substr(0, kZ.size()) == kZ) {
    const std::string_view name = topic.substr(kZ.size());
    if (name.empty() || name.substr(0, 7) == "bridge/" || name == "bridge" || name.find('/') != std::string_view::npos) {
      return Status::NotFound("not a device topic");
    }
    *format = Format::kZigbee2Mqtt;
    *device = std::string(name);
    return Status::OK();
  }
  if (topic.substr(0, kT.size()) == kT) {
    const std::string_view rest = topic.substr(kT.size());
    const auto slash = rest.rfind('/');
    if (slash == std::string_view::npos || slash == 0) return Status::InvalidArgument("bad Tasmota topic");
    const std::string_view kind = rest.substr(slash + 1);
    if (kind != "SENSOR") return Status::NotFound("a Tasmota " + std::string(kind) + " message carries no reading");
    *format = Format::kTasmota;
    *device = std::string(rest.substr(0, slash));
    return Status::OK();
  }
  return Status::NotFound("topic " + std::string(topic.substr(0, 64)) + " is not zigbee2mqtt/… or tele/…");
}

}  // namespace nanum::oracle
