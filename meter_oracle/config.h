// nanum-oracle's configuration: a TOML file (deploy/nanum-oracle.toml.sample documents every
// option), then command-line flags over it. Relative paths are from the file's directory;
// unknown keys are refused.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ledger/log.h"
#include "ledger/status.h"
#include "meter_oracle/plug_json.h"
#include "meter_oracle/slotter.h"

namespace nanum::oracle {

// A meter bound on the ledger to this oracle's key, and the device that measures it: a
// zigbee2mqtt friendly name, a Tasmota topic, or an IEEE 2030.5 MirrorUsagePoint mRID.
struct MeterConfig {
  std::string id;
  std::string device;
  Flow flow = Flow::kImport;  // what a plug's "energy" and "power" measure
};

// Lines of "<topic> <json>" (mosquitto_sub -v) from a file the oracle follows as it grows,
// or from a named pipe (or "-", standard input) it reopens when the writer goes away.
struct InputConfig {
  enum class Kind { kFile, kPipe } kind = Kind::kFile;
  std::string path;
};

struct NodeTls {
  std::string ca_file, cert_file, key_file, server_name;
};

struct Config {
  // [oracle]
  std::string data_dir;
  std::string key_file;
  std::string genesis_file;
  std::string http_listen = "127.0.0.1:7801";  // "" turns the HTTP side off
  // [node]
  std::string node = "127.0.0.1:7701";
  NodeTls tls;
  std::uint64_t submit_timeout_ms = 10'000;
  std::uint64_t max_backoff_ms = 30'000;
  // [[meter]], [[input]]
  std::vector<MeterConfig> meters;
  std::vector<InputConfig> inputs;
  // [checks]
  Limits limits;
  // [log]
  Level log_level = Level::kInfo;
};

// Errors: kNotFound (no such file), kInvalidArgument naming the key and line.
Status LoadConfig(const std::string& path, Config* out);

}  // namespace nanum::oracle
