// nanumd's configuration file; see config.h.
#include "node/config.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include <toml++/toml.h>

#include "ledger/config_file.h"

namespace nanum::node {

Status LoadConfig(const std::string& path, Config* out) {
  using config::CheckKeys, config::GetString, config::GetU64, config::Where;
  toml::table root;
  NANUM_RETURN_IF_ERROR(config::ParseFile(path, &root));
  const std::filesystem::path base = std::filesystem::absolute(path).parent_path();
  Config c;
  auto fail = [&](const Status& s) { return s.Prefixed(path); };
  if (Status s = CheckKeys(root, "", {"node", "api", "http", "peer", "peers", "log", "consensus"}); !s.ok()) return fail(s);
  if (const toml::table* t = root["node"].as_table()) {
    if (Status s = CheckKeys(*t, "node", {"data_dir", "key_file", "genesis_file", "compaction_priority", "state_cache_mb"}); !s.ok()) {
      return fail(s);
    }
    for (auto [k, p] : {std::pair{"data_dir", &c.data_dir}, {"key_file", &c.key_file}, {"genesis_file", &c.genesis_file}}) {
      if (Status s = GetString(*t, k, &base, p); !s.ok()) return fail(s.Prefixed("node"));
    }
    std::string priority = "low";
    if (Status s = GetString(*t, "compaction_priority", nullptr, &priority); !s.ok()) return fail(s.Prefixed("node"));
    const std::pair<const char*, CompactionPriority> priorities[] = {
        {"low", CompactionPriority::kLow}, {"idle", CompactionPriority::kIdle}, {"normal", CompactionPriority::kNormal}};
    auto found = std::find_if(std::begin(priorities), std::end(priorities), [&](const auto& p) { return priority == p.first; });
    if (found == std::end(priorities)) {
      return fail(Status::InvalidArgument("node.compaction_priority must be low, idle or normal, not \"" + priority + "\""));
    }
    c.compaction_priority = found->second;
    if (Status s = GetU64(*t, "state_cache_mb", &c.state_cache_mb); !s.ok()) return fail(s.Prefixed("node"));
    if (c.state_cache_mb > 4096) {
      return fail(Status::InvalidArgument("node.state_cache_mb must be at most 4096, not " + std::to_string(c.state_cache_mb)));
    }
  }
  if (const toml::table* t = root["api"].as_table()) {
    if (Status s = CheckKeys(*t, "api", {"listen", "tls_cert_file", "tls_key_file", "tls_client_ca_file"}); !s.ok()) {
      return fail(s);
    }
    if (Status s = GetString(*t, "listen", nullptr, &c.api_listen); !s.ok()) return fail(s.Prefixed("api"));
    for (auto [k, p] : {std::pair{"tls_cert_file", &c.api_tls.cert_file}, {"tls_key_file", &c.api_tls.key_file},
                        {"tls_client_ca_file", &c.api_tls.client_ca_file}}) {
      if (Status s = GetString(*t, k, &base, p); !s.ok()) return fail(s.Prefixed("api"));
    }
    if (c.api_tls.cert_file.empty() != c.api_tls.key_file.empty()) {
      return fail(Status::InvalidArgument("api: tls_cert_file and tls_key_file go together"));
    }
    if (!c.api_tls.client_ca_file.empty() && c.api_tls.cert_file.empty()) {
      return fail(Status::InvalidArgument("api: tls_client_ca_file (mutual TLS) needs tls_cert_file and tls_key_file"));
    }
  }
  if (const toml::table* t = root["http"].as_table()) {
    if (Status s = CheckKeys(*t, "http", {"listen"}); !s.ok()) return fail(s);
    if (Status s = GetString(*t, "listen", nullptr, &c.http_listen); !s.ok()) return fail(s.Prefixed("http"));
  }
  if (const toml::table* t = root["peer"].as_table()) {
    if (Status s = CheckKeys(*t, "peer", {"listen", "max_inbound"}); !s.ok()) return fail(s);
    if (Status s = GetString(*t, "listen", nullptr, &c.peer.listen); !s.ok()) return fail(s.Prefixed("peer"));
    std::uint64_t max_inbound = c.peer.max_inbound;
    if (Status s = GetU64(*t, "max_inbound", &max_inbound); !s.ok()) return fail(s.Prefixed("peer"));
    c.peer.max_inbound = static_cast<std::size_t>(max_inbound);
  }
  if (const toml::node* n = root.get("peers")) {
    const toml::array* a = n->as_array();
    if (a == nullptr) return fail(Status::InvalidArgument("peers must be an array of tables, [[peers]] (" + Where(*n) + ")"));
    for (const toml::node& e : *a) {
      const toml::table* t = e.as_table();
      if (t == nullptr) return fail(Status::InvalidArgument("each peers entry must be a table (" + Where(e) + ")"));
      if (Status s = CheckKeys(*t, "peers", {"key", "address"}); !s.ok()) return fail(s);
      std::string key_hex;
      PeerEntry p;
      if (Status s = GetString(*t, "key", nullptr, &key_hex); !s.ok()) return fail(s.Prefixed("peers"));
      if (Status s = GetString(*t, "address", nullptr, &p.address); !s.ok()) return fail(s.Prefixed("peers"));
      auto bytes = FixedFromHex<32>(key_hex);
      if (!bytes || !PublicKey::Parse(*bytes, &p.key).ok()) {
        return fail(Status::InvalidArgument("peers.key must be a public key, 64 hex digits (" + Where(e) + ")"));
      }
      c.peer.peers.push_back(std::move(p));
    }
  }
  if (const toml::table* t = root["log"].as_table()) {
    if (Status s = CheckKeys(*t, "log", {"level"}); !s.ok()) return fail(s);
    std::string level = "info";
    if (Status s = GetString(*t, "level", nullptr, &level); !s.ok()) return fail(s.Prefixed("log"));
    if (!ParseLevel(level, &c.log_level)) return fail(Status::InvalidArgument("log.level must be debug, info, warn or error"));
  }
  if (const toml::table* t = root["consensus"].as_table()) {
    pbft::Config& k = c.consensus;
    std::uint64_t max_pending = k.max_pending;
    const std::pair<const char*, std::uint64_t*> fields[] = {
        {"max_batch_txs", &k.max_batch_txs}, {"batch_delay_ms", &k.batch_delay_ms},
        {"empty_block_interval_ms", &k.empty_block_interval_ms}, {"max_in_flight", &k.max_in_flight},
        {"checkpoint_interval", &k.checkpoint_interval}, {"watermark_window", &k.watermark_window},
        {"request_timeout_ms", &k.request_timeout_ms}, {"view_change_timeout_ms", &k.view_change_timeout_ms},
        {"resend_interval_ms", &k.resend_interval_ms}, {"max_clock_drift_ms", &k.max_clock_drift_ms},
        {"max_pending", &max_pending}};
    std::set<std::string> names;
    for (const auto& [name, p] : fields) names.insert(name);
    if (Status s = CheckKeys(*t, "consensus", names); !s.ok()) return fail(s);
    for (const auto& [name, p] : fields) {
      if (Status s = GetU64(*t, name, p); !s.ok()) return fail(s.Prefixed("consensus"));
    }
    k.max_pending = static_cast<std::size_t>(max_pending);
  }
  *out = std::move(c);
  return Status::OK();
}

}  // namespace nanum::node
