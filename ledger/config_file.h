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

}  // namespace nanum::config
