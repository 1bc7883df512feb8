// nanum-oracle's configuration file; see config.h.
#include "meter_oracle/config.h"

#include <filesystem>
#include <set>

#include "ledger/config_file.h"
#include "ledger/payload.h"

namespace nanum::oracle {

Status LoadConfig(const std::string& path, Config* out) {
  using config::CheckKeys, config::GetString, config::GetU64, config::Where;
  toml::table root;
  NANUM_RETURN_IF_ERROR(config::ParseFile(path, &root));
  const std::filesystem::path base = std::filesystem::absolute(path).parent_path();
  Config c;
  auto fail = [&](const Status& s) { return s.Prefixed(path); };
  if (Status s = CheckKeys(root, "", {"oracle", "node", "meter", "input", "checks", "log"}); !s.ok()) return fail(s);
  if (const toml::table* t = root["oracle"].as_table()) {
    if (Status s = CheckKeys(*t, "oracle", {"data_dir", "key_file", "genesis_file", "http_listen"}); !s.ok()) return fail(s);
    for (auto [k, p] : {std::pair{"data_dir", &c.data_dir}, {"key_file", &c.key_file}, {"genesis_file", &c.genesis_file}}) {
      if (Status s = GetString(*t, k, &base, p); !s.ok()) return fail(s.Prefixed("oracle"));
    }
    if (Status s = GetString(*t, "http_listen", nullptr, &c.http_listen); !s.ok()) return fail(s.Prefixed("oracle"));
  }
  if (const toml::table* t = root["node"].as_table()) {
    if (Status s = CheckKeys(*t, "node", {"address", "tls_ca_file", "tls_cert_file", "tls_key_file", "tls_server_name",
                                          "submit_timeout_ms", "max_backoff_ms"});
        !s.ok()) {
      return fail(s);
    }
    if (Status s = GetString(*t, "address", nullptr, &c.node); !s.ok()) return fail(s.Prefixed("node"));
    for (auto [k, p] : {std::pair{"tls_ca_file", &c.tls.ca_file}, {"tls_cert_file", &c.tls.cert_file},
                        {"tls_key_file", &c.tls.key_file}}) {
      if (Status s = GetString(*t, k, &base, p); !s.ok()) return fail(s.Prefixed("node"));
    }
    if (Status s = GetString(*t, "tls_server_name", nullptr, &c.tls.server_name); !s.ok()) return fail(s.Prefixed("node"));
    if (Status s = GetU64(*t, "submit_timeout_ms", &c.submit_timeout_ms); !s.ok()) return fail(s.Prefixed("node"));
    if (Status s = GetU64(*t, "max_backoff_ms", &c.max_backoff_ms); !s.ok()) return fail(s.Prefixed("node"));
    if (c.max_backoff_ms < 100) return fail(Status::InvalidArgument("node.max_backoff_ms must be at least 100"));
  }
  if (const toml::node* n = root.get("meter")) {
    const toml::array* a = n->as_array();
    if (a == nullptr) return fail(Status::InvalidArgument("meter must be an array of tables, [[meter]] (" + Where(*n) + ")"));
    std::set<std::string> ids, devices;
    for (const toml::node& e : *a) {
      const toml::table* t = e.as_table();
      if (t == nullptr) return fail(Status::InvalidArgument("each meter entry must be a table (" + Where(e) + ")"));
      if (Status s = CheckKeys(*t, "meter", {"id", "device", "flow"}); !s.ok()) return fail(s);
      MeterConfig m;
      std::string flow = "import";
      for (auto [k, p] : {std::pair{"id", &m.id}, {"device", &m.device}, {"flow", &flow}}) {
        if (Status s = GetString(*t, k, nullptr, p); !s.ok()) return fail(s.Prefixed("meter"));
      }
      if (!IsValidName(m.id)) return fail(Status::InvalidArgument("meter.id \"" + m.id + "\" is not a meter id (" + Where(e) + ")"));
      if (m.device.empty()) return fail(Status::InvalidArgument("meter.device is required (" + Where(e) + ")"));
      if (flow == "export") {
        m.flow = Flow::kExport;
      } else if (flow != "import") {
        return fail(Status::InvalidArgument("meter.flow must be import or export (" + Where(e) + ")"));
      }
      if (!ids.insert(m.id).second) return fail(Status::InvalidArgument("meter " + m.id + " is configured twice"));
      if (!devices.insert(m.device).second) return fail(Status::InvalidArgument("device " + m.device + " is configured twice"));
      c.meters.push_back(std::move(m));
    }
  }
  if (const toml::node* n = root.get("input")) {
    const toml::array* a = n->as_array();
    if (a == nullptr) return fail(Status::InvalidArgument("input must be an array of tables, [[input]] (" + Where(*n) + ")"));
    for (const toml::node& e : *a) {
      const toml::table* t = e.as_table();
      if (t == nullptr) return fail(Status::InvalidArgument("each input entry must be a table (" + Where(e) + ")"));
      if (Status s = CheckKeys(*t, "input", {"file", "pipe"}); !s.ok()) return fail(s);
      InputConfig in;
      std::string file, pipe;
      if (Status s = GetString(*t, "file", &base, &file); !s.ok()) return fail(s.Prefixed("input"));
      if (Status s = GetString(*t, "pipe", nullptr, &pipe); !s.ok()) return fail(s.Prefixed("input"));
      if (file.empty() == pipe.empty()) return fail(Status::InvalidArgument("input needs one of file or pipe (" + Where(e) + ")"));
      if (!file.empty()) {
        in.path = file;
      } else {
        in.kind = InputConfig::Kind::kPipe;
        in.path = (pipe == "-" || std::filesystem::path(pipe).is_absolute()) ? pipe : (base / pipe).lexically_normal().string();
      }
      c.inputs.push_back(std::move(in));
    }
  }
  if (const toml::table* t = root["checks"].as_table()) {
    if (Status s = CheckKeys(*t, "checks", {"min_voltage_v", "max_voltage_v", "max_current_a", "future_tolerance_ms",
                                            "close_grace_ms"});
        !s.ok()) {
      return fail(s);
    }
    std::uint64_t vmin = c.limits.min_voltage_mv / 1000, vmax = c.limits.max_voltage_mv / 1000,
                  amax = c.limits.max_current_ma / 1000;
    for (auto [k, p] : {std::pair{"min_voltage_v", &vmin}, {"max_voltage_v", &vmax}, {"max_current_a", &amax},
                        {"future_tolerance_ms", &c.limits.future_tolerance_ms}, {"close_grace_ms", &c.limits.close_grace_ms}}) {
      if (Status s = GetU64(*t, k, p); !s.ok()) return fail(s.Prefixed("checks"));
    }
    if (vmin >= vmax || vmax > 1000 || amax == 0 || amax > 1000) {
      return fail(Status::InvalidArgument("checks: need min_voltage_v < max_voltage_v <= 1000 and 0 < max_current_a <= 1000"));
    }
    c.limits.min_voltage_mv = static_cast<std::uint32_t>(vmin * 1000);
    c.limits.max_voltage_mv = static_cast<std::uint32_t>(vmax * 1000);
    c.limits.max_current_ma = static_cast<std::uint32_t>(amax * 1000);
  }
  if (const toml::table* t = root["log"].as_table()) {
    if (Status s = CheckKeys(*t, "log", {"level"}); !s.ok()) return fail(s);
    std::string level = "info";
    if (Status s = GetString(*t, "level", nullptr, &level); !s.ok()) return fail(s.Prefixed("log"));
    if (!ParseLevel(level, &c.log_level)) return fail(Status::InvalidArgument("log.level must be debug, info, warn or error"));
  }
  if (c.data_dir.empty() || c.key_file.empty() || c.genesis_file.empty()) {
    return fail(Status::InvalidArgument("oracle.data_dir, oracle.key_file and oracle.genesis_file are required"));
  }
  if (c.meters.empty()) return fail(Status::InvalidArgument("no [[meter]]: configure at least one"));
  *out = std::move(c);
  return Status::OK();
}

}  // namespace nanum::oracle
