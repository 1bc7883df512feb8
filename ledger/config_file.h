// Helpers for the daemons' TOML configuration files (nanumd, nanum-oracle), on toml++:
// unknown keys refused with their line, paths taken relative to the file's directory,
// values checked for their type. Header-only: include it only from a target that links
// tomlplusplus.
#pragma once

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>

#include <toml++/toml.h>

#include "ledger/status.h"

namespace nanum::config {

// Parses `path`; kNotFound if it does not exist, kInvalidArgument with the line otherwise.
inline Status ParseFile(const std::string& path, toml::table* out) {
  if (!std::filesystem::exists(path)) return Status::NotFound("configuration file " + path + " does not exist");
  try {
    *out = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(path + ": " + std::string(e.description()) + " (line " +
                                   std::to_string(e.source().begin.line) + ")");
  }
  return Status::OK();
}

inline std::string Where(const toml::node& n) {
  return "line " + std::to_string(n.source().begin.line);
}

inline Status CheckKeys(const toml::table& t, const std::string& table, const std::set<std::string>& allowed) {
  for (const auto& [k, v] : t) {
    if (allowed.count(std::string(k.str())) == 0) {
      return Status::InvalidArgument("unknown key " + (table.empty() ? "" : table + ".") + std::string(k.str()) +
                                     " (" + Where(v) + ")");
    }
  }
  return Status::OK();
}

inline Status GetString(const toml::table& t, const char* key, const std::filesystem::path* base, std::string* out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return Status::OK();
  auto v = n->value<std::string>();
  if (!v) return Status::InvalidArgument(std::string(key) + " must be a string (" + Where(*n) + ")");
  *out = *v;
  if (base != nullptr && !out->empty() && std::filesystem::path(*out).is_relative()) {
    *out = (*base / *out).lexically_normal().string();
  }
  return Status::OK();
}

inline Status GetU64(const toml::table& t, const char* key, std::uint64_t* out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return Status::OK();
  auto v = n->value<std::int64_t>();
  if (!v || *v < 0) return Status::InvalidArgument(std::string(key) + " must be a whole number >= 0 (" + Where(*n) + ")");
  *out = static_cast<std::uint64_t>(*v);
  return Status::OK();
}

// "host:port" or "[v6]:port" as a listen address; the host must be an IP address literal
// (checked by the caller's socket library), the port 0 to 65535.
inline Status SplitHostPort(const std::string& listen, const char* what, std::string* host, unsigned short* port) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument(std::string(what) + " must be host:port, not " + listen);
  *host = listen.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') *host = host->substr(1, host->size() - 2);
  const std::string p = listen.substr(colon + 1);
  unsigned long v = 0;
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos || (v = std::stoul(p)) > 65535) {
    return Status::InvalidArgument(std::string(what) + ": bad port in " + listen);
  }
  *port = static_cast<unsigned short>(v);
  return Status::OK();
}

}  // namespace nanum::config
