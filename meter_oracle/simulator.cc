// The plug simulator; see simulator.h.
#include "meter_oracle/simulator.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <iostream>
#include <thread>
#include <utility>  // Boost 1.74's asio uses std::exchange without including it

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <nlohmann/json.hpp>

#include "meter_oracle/sep2.h"

namespace nanum::oracle {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr double kPi = 3.14159265358979323846;

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

std::uint64_t WallMs() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

std::string IsoUtc(std::uint64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

double Round(double v, double unit) { return std::round(v / unit) * unit; }
// A register to whole Wh, rounded down as a meter's display does.
double FloorKwh(double kwh) { return std::floor(kwh * 1000) / 1000; }

struct Plug {
  std::string name, format;
  PlugModel model;
  std::string mup;  // its /mup/{id} once registered (2030.5)
  std::deque<std::pair<std::string, std::string>> backlog;  // (path or topic, body) not yet delivered
};

// One HTTP POST; the status, or 0 when the oracle cannot be reached.
unsigned Post(const std::string& host, const std::string& port, const std::string& path, const std::string& type,
              const std::string& body, std::string* location, std::string* reply) {
  try {
    asio::io_context io;
    tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(5));
    stream.connect(resolver.resolve(host, port));
    http::request<http::string_body> req(http::verb::post, path, 11);
    req.set(http::field::host, host);
    req.set(http::field::content_type, type);
    req.body() = body;
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(stream, buf, res);
    if (location != nullptr) *location = std::string(res[http::field::location]);
    if (reply != nullptr) *reply = res.body();
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return res.result_int();
  } catch (const std::exception&) {
    return 0;
  }
}

std::string MupXml(const std::string& name) {
  auto mmr = [&](const char* suffix, const char* what, int acc, int flow, int p, int uom) {
    return std::string("  <MirrorMeterReading>\n    <mRID>") + name + "-" + suffix + "</mRID>\n    <description>" + what +
           "</description>\n    <ReadingType>\n      <accumulationBehaviour>" + std::to_string(acc) +
           "</accumulationBehaviour>\n      <commodity>1</commodity>\n      <dataQualifier>0</dataQualifier>\n"
           "      <flowDirection>" + std::to_string(flow) + "</flowDirection>\n      <powerOfTenMultiplier>" +
           std::to_string(p) + "</powerOfTenMultiplier>\n      <uom>" + std::to_string(uom) +
           "</uom>\n    </ReadingType>\n  </MirrorMeterReading>\n";
  };
  return std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<MirrorUsagePoint xmlns=\"") + sep2::kNamespace +
         "\">\n  <mRID>" + name + "</mRID>\n  <description>simulated " + name +
         "</description>\n  <roleFlags>13</roleFlags>\n  <serviceCategoryKind>0</serviceCategoryKind>\n"
         "  <status>1</status>\n  <deviceLFDI>" + name + "</deviceLFDI>\n" +
         mmr("imp", "Real energy imported", 9, 1, 0, 72) + mmr("exp", "Real energy exported", 9, 19, 0, 72) +
         mmr("w", "Real power", 12, 1, -1, 38) + mmr("v", "Voltage", 12, 0, -1, 29) + mmr("a", "Current", 12, 0, -3, 5) +
         mmr("pf", "Power factor", 12, 0, -3, 65) + "  <postRate>1</postRate>\n</MirrorUsagePoint>\n";
}

std::string ReadingsXml(const std::string& name, std::uint64_t ms, const PlugReading& r) {
  const std::string t = std::to_string(ms / 1000);
  auto one = [&](const char* suffix, long long value) {
    return std::string("  <MirrorMeterReading>\n    <mRID>") + name + "-" + suffix +
           "</mRID>\n    <Reading>\n      <timePeriod><duration>0</duration><start>" + t +
           "</start></timePeriod>\n      <value>" + std::to_string(value) + "</value>\n    </Reading>\n  </MirrorMeterReading>\n";
  };
  return std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<MirrorMeterReadingList xmlns=\"") + sep2::kNamespace +
         "\" all=\"6\" results=\"6\">\n" + one("imp", std::llround(std::floor(r.import_kwh * 1000))) +
         one("exp", std::llround(std::floor(r.export_kwh * 1000))) + one("w", std::llround(r.power_w * 10)) +
         one("v", std::llround(r.voltage_v * 10)) + one("a", std::llround(r.current_a * 1000)) +
         one("pf", std::llround(r.power_factor * 1000)) + "</MirrorMeterReadingList>\n";
}

std::string Json(const std::string& format, std::uint64_t ms, const PlugReading& r) {
  nlohmann::json j;
  if (format == "tasmota") {
    j = {{"Time", IsoUtc(ms)},
         {"ENERGY",
          {{"Total", FloorKwh(r.import_kwh)}, {"ExportActive", FloorKwh(r.export_kwh)},
           {"Power", Round(r.power_w, 0.1)}, {"Voltage", Round(r.voltage_v, 0.1)}, {"Current", Round(r.current_a, 0.001)},
           {"Factor", Round(r.power_factor, 0.01)}}}};
  } else {
    j = {{"energy", FloorKwh(r.import_kwh)}, {"produced_energy", FloorKwh(r.export_kwh)},
         {"power", Round(r.power_w, 0.1)}, {"voltage", Round(r.voltage_v, 0.1)}, {"current", Round(r.current_a, 0.001)},
         {"power_factor", Round(r.power_factor, 0.01)}, {"state", "ON"}, {"last_seen", ms}};
  }
  return j.dump();
}

}  // namespace

PlugModel::PlugModel(std::string profile, std::uint64_t seed) : profile_(std::move(profile)), state_(seed | 1) {}

double PlugModel::Noise() {
  // xorshift64*: a uniform value in [-0.03, 0.03].
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  const std::uint64_t v = state_ * 2685821657736338717ULL;
  return (static_cast<double>(v >> 11) / 9007199254740992.0 - 0.5) * 0.06;
}

double PlugModel::MeanPower(double h) const {
  if (profile_ == "flat") return 500;
  const double load = 200 + 900 * std::exp(-std::pow((h - 7.5) / 1.2, 2)) + 1500 * std::exp(-std::pow((h - 19.5) / 1.8, 2));
  if (profile_ != "solar" || h <= 6 || h >= 18) return load;
  return load - 2800 * std::sin(kPi * (h - 6) / 12);
}

PlugReading PlugModel::Step(double hour, double dt_s) {
  PlugReading r;
  r.power_w = MeanPower(std::fmod(hour, 24.0)) * (1 + Noise());
  r.voltage_v = 230 * (1 + Noise() * 0.66);
  r.power_factor = r.power_w >= 0 ? 0.95 + Noise() : 0.99 + Noise() / 3;
  if (r.power_factor > 1) r.power_factor = 1;
  r.current_a = std::fabs(r.power_w) / r.voltage_v / r.power_factor;
  const double kwh = std::fabs(r.power_w) * dt_s / 3.6e6;
  (r.power_w >= 0 ? import_kwh_ : export_kwh_) += kwh;
  r.import_kwh = import_kwh_;
  r.export_kwh = export_kwh_;
  return r;
}

namespace {

// The state file: one line per plug, "NAME IMPORT_KWH EXPORT_KWH".
bool LoadState(const std::string& path, std::vector<Plug>* plugs, std::string* error) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return true;  // a first start
  char name[256];
  double imp = 0, exp = 0;
  int n = 0;
  while ((n = std::fscanf(f, "%255s %lf %lf", name, &imp, &exp)) == 3) {
    for (Plug& p : *plugs) {
      if (p.name == name) p.model.Restore(imp, exp);
    }
  }
  std::fclose(f);
  if (n != EOF) {
    *error = path + " is not a simulator state file (NAME IMPORT_KWH EXPORT_KWH lines)";
    return false;
  }
  return true;
}

// Written whole to a temporary file, synced, and renamed over the old one.
bool SaveState(const std::string& path, const std::vector<Plug>& plugs, std::string* error) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  bool ok = f != nullptr;
  for (std::size_t i = 0; ok && i < plugs.size(); ++i) {
    ok = std::fprintf(f, "%s %.9f %.9f\n", plugs[i].name.c_str(), plugs[i].model.import_kwh(), plugs[i].model.export_kwh()) > 0;
  }
  ok = ok && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  if (f != nullptr) ok = std::fclose(f) == 0 && ok;
  ok = ok && std::rename(tmp.c_str(), path.c_str()) == 0;
  if (!ok) *error = "cannot write the state file " + path;
  return ok;
}

}  // namespace

void AddSimulatorOptions(CLI::App* app, SimulatorOptions* o) {
  app->add_option("--plug", o->plugs, "NAME:PROFILE[:FORMAT]: profile household, solar or flat; format zigbee2mqtt "
                                      "(default), tasmota or sep2. NAME is the device name the oracle's [[meter]] uses")
      ->required();
  app->add_option("--target", o->target, "the oracle's HTTP side, http://host:port; without it, \"<topic> <json>\" "
                                         "lines on stdout");
  app->add_option("--interval-ms", o->interval_ms, "between samples (sep2 needs at least 1000)");
  app->add_option("--time-scale", o->time_scale, "simulated seconds per second");
  app->add_option("--start-hour", o->start_hour, "simulated hour of day at start (default: see --day-start-ms)");
  app->add_option("--day-start-ms", o->day_start_ms,
                  "wall-clock ms (Unix) at which a simulated day began: the hour is (now − it) × time scale, so "
                  "restarts and other simulators agree (default: the UTC hour of the wall clock × time scale)");
  app->add_option("--state", o->state_file, "keep the plugs' registers in this file across restarts");
  app->add_option("--duration", o->duration_s, "seconds to run (0: until stopped)");
  app->add_option("--offline", o->offline, "START_S:LENGTH_S, a window with no delivery (samples are kept)");
  app->add_option("--seed", o->seed, "noise seed (0: from the clock)");
}

int RunSimulator(const SimulatorOptions& o) {
  std::string host, port;
  if (!o.target.empty()) {
    constexpr std::string_view kHttp = "http://";
    std::string t = o.target;
    if (t.rfind(kHttp, 0) == 0) t = t.substr(kHttp.size());
    while (!t.empty() && t.back() == '/') t.pop_back();
    const auto colon = t.rfind(':');
    if (colon == std::string::npos) return std::cerr << "simulate: --target must be http://host:port\n", 1;
    host = t.substr(0, colon);
    port = t.substr(colon + 1);
  }
  std::vector<std::pair<std::uint64_t, std::uint64_t>> offline;
  for (const std::string& w : o.offline) {
    unsigned long long a = 0, b = 0;
    if (std::sscanf(w.c_str(), "%llu:%llu", &a, &b) != 2) return std::cerr << "simulate: bad --offline " << w << "\n", 1;
    offline.emplace_back(a * 1000, (a + b) * 1000);
  }
  const std::uint64_t seed = o.seed != 0 ? o.seed : WallMs();
  std::vector<Plug> plugs;
  for (const std::string& spec : o.plugs) {
    const auto a = spec.find(':');
    const auto b = a == std::string::npos ? a : spec.find(':', a + 1);
    if (a == std::string::npos) return std::cerr << "simulate: --plug wants NAME:PROFILE[:FORMAT], not " << spec << "\n", 1;
    const std::string name = spec.substr(0, a);
    const std::string profile = spec.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1);
    const std::string format = b == std::string::npos ? "zigbee2mqtt" : spec.substr(b + 1);
    if (profile != "household" && profile != "solar" && profile != "flat") {
      return std::cerr << "simulate: unknown profile " << profile << "\n", 1;
    }
    if (format != "zigbee2mqtt" && format != "tasmota" && format != "sep2") {
      return std::cerr << "simulate: unknown format " << format << "\n", 1;
    }
    if (format == "sep2" && (o.target.empty() || o.interval_ms < 1000)) {
      return std::cerr << "simulate: sep2 needs --target and --interval-ms of at least 1000 (2030.5 times are seconds)\n", 1;
    }
    plugs.push_back({name, format, PlugModel(profile, seed + plugs.size() * 7919), "", {}});
  }
  if (!o.state_file.empty()) {
    if (std::string error; !LoadState(o.state_file, &plugs, &error)) return std::cerr << "simulate: " << error << "\n", 1;
  }
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);

  const std::uint64_t start = WallMs();
  double hour = o.start_hour;
  if (hour < 0) {
    const std::uint64_t since = start - std::min(start, o.day_start_ms);
    hour = static_cast<double>(since % 86'400'000 * o.time_scale % 86'400'000) / 3.6e6;
  }
  std::uint64_t last = start;
  std::uint64_t next = start;
  while (!g_stop) {
    const std::uint64_t now = WallMs();
    if (o.duration_s != 0 && now >= start + o.duration_s * 1000) break;
    if (next > now) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<std::uint64_t>(next - now, 100)));
      continue;
    }
    next += o.interval_ms;
    const std::uint64_t t = WallMs();
    const double dt_s = static_cast<double>((t - last) * o.time_scale) / 1000.0;
    hour += dt_s / 3600.0;
    last = t;
    bool down = false;
    for (const auto& [a, b] : offline) down = down || (t - start >= a && t - start < b);
    for (Plug& p : plugs) {
      const PlugReading r = p.model.Step(hour, dt_s);
      if (p.format == "sep2") {
        p.backlog.emplace_back("", ReadingsXml(p.name, t, r));
      } else {
        const std::string topic = p.format == "tasmota" ? "tele/" + p.name + "/SENSOR" : "zigbee2mqtt/" + p.name;
        p.backlog.emplace_back(topic, Json(p.format, t, r));
      }
      if (down) continue;
      // Deliver what waits, oldest first; stop at the first failure and keep the rest.
      while (!p.backlog.empty()) {
        const auto& [topic, body] = p.backlog.front();
        if (o.target.empty()) {
          std::cout << topic << " " << body << "\n" << std::flush;
        } else if (p.format == "sep2") {
          if (p.mup.empty()) {
            std::string location, reply;
            const unsigned st = Post(host, port, "/mup", sep2::kContentType, MupXml(p.name), &location, &reply);
            if (st != 201) {
              if (st != 0) std::cerr << "simulate: " << p.name << ": POST /mup: " << st << " " << reply;
              break;
            }
            p.mup = location;
          }
          std::string reply;
          const unsigned st = Post(host, port, p.mup, sep2::kContentType, body, nullptr, &reply);
          if (st == 0) break;
          if (st != 201) std::cerr << "simulate: " << p.name << ": " << st << " " << reply;
        } else {
          const std::string path = (p.format == "tasmota" ? "/tasmota/" : "/zigbee2mqtt/") + p.name;
          std::string reply;
          const unsigned st = Post(host, port, path, "application/json", body, nullptr, &reply);
          if (st == 0) break;
          if (st != 204) std::cerr << "simulate: " << p.name << ": " << st << " " << reply;
        }
        p.backlog.pop_front();
      }
    }
    if (!o.state_file.empty()) {
      if (std::string error; !SaveState(o.state_file, plugs, &error)) return std::cerr << "simulate: " << error << "\n", 1;
    }
  }
  return 0;
}

}  // namespace nanum::oracle
