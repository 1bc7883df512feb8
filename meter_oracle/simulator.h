// `nanum-oracle simulate`: smart plugs and household meters with realistic profiles, for
// trying nanum without hardware, for the local community and for the end-to-end tests.
//
// Each plug has a profile, in watts at a simulated hour of day h:
//   household  standby 200 W, a morning peak around 07:30 (+900 W) and an evening peak
//              around 19:30 (+1,500 W);
//   solar      the household's load, less a rooftop array's output, 2,800 W × sin(π(h−6)/12)
//              between 06:00 and 18:00, so it exports around midday;
//   flat       500 W all day (tests that want round numbers).
// Every value carries noise within ±3 % (the standard's accuracy class). Energy goes to the
// import register when the net power is positive and to the export register when negative.
// Simulated time runs `time_scale` times faster than the wall clock (so a 15-minute slot
// can pass in 5 s); sample times are wall-clock times, which is what the ledger's slots use.
//
// It speaks zigbee2mqtt or Tasmota JSON, or IEEE 2030.5 (a MirrorUsagePoint, then a
// MirrorMeterReadingList per sample), posted to the oracle's HTTP side, or writes
// "<topic> <json>" lines for a file or pipe input. Like the plugs of the standard, it keeps
// the samples it could not deliver (an --offline window, or the oracle down) and sends
// them in order when it can again. With --state it keeps its registers in a file, so that a
// restarted simulator continues them (a real plug's registers never go back).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace nanum::oracle {

struct SimulatorOptions {
  std::vector<std::string> plugs;    // NAME:PROFILE[:FORMAT]; FORMAT zigbee2mqtt (default), tasmota, sep2
  std::string target;                // http://host:port of the oracle; empty: lines on stdout
  std::uint64_t interval_ms = 1000;  // between samples
  std::uint64_t time_scale = 1;      // simulated seconds per second
  double start_hour = -1;            // simulated hour at start; < 0: see day_start_ms
  std::uint64_t day_start_ms = 0;    // wall-clock ms at which a simulated day began, so that
                                     // hour = (now − it) × time_scale mod 24 h; 0: the wall
                                     // clock's hour (UTC), scaled
  std::string state_file;            // registers kept here across restarts (empty: none)
  std::uint64_t duration_s = 0;      // 0: until SIGTERM or SIGINT
  std::vector<std::string> offline;  // START_S:LENGTH_S windows (from start) without delivery
  std::uint64_t seed = 0;            // 0: from the clock
};

void AddSimulatorOptions(CLI::App* app, SimulatorOptions* o);
int RunSimulator(const SimulatorOptions& o);

// One plug's physics, apart so that tests can check the profiles.
struct PlugReading {
  double power_w = 0;  // net: export < 0
  double voltage_v = 0, current_a = 0, power_factor = 0;
  double import_kwh = 0, export_kwh = 0;
};
class PlugModel {
 public:
  PlugModel(std::string profile, std::uint64_t seed);
  // The mean net power of the profile at simulated hour h (no noise).
  double MeanPower(double hour) const;
  // Advances by `dt_s` simulated seconds at hour h and returns the plug's values.
  PlugReading Step(double hour, double dt_s);
  // The cumulative registers, to keep across restarts as a real plug does.
  double import_kwh() const { return import_kwh_; }
  double export_kwh() const { return export_kwh_; }
  void Restore(double import_kwh, double export_kwh) {
    import_kwh_ = import_kwh;
    export_kwh_ = export_kwh;
  }

 private:
  double Noise();
  std::string profile_;
  std::uint64_t state_;
  double import_kwh_ = 0, export_kwh_ = 0;
};

}  // namespace nanum::oracle
