// The genesis file's JSON; see genesis_file.h.
#include "chaincode/genesis_file.h"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "ledger/file.h"

namespace nanum::market {
namespace {

using nlohmann::json;

// market::Params' fields, in the order of Params::Fields.
constexpr const char* kParamNames[] = {
    "slot_seconds", "gate_closure_seconds", "horizon_slots", "settlement_delay_seconds",
    "tolerance_permille", "shortfall_penalty", "mechanism", "initial_grant",
    "governance_threshold", "validator_change_delay_blocks", "max_open_orders_per_member",
    "max_orders_per_slot"};

const char* MechanismName(std::uint8_t m) {
  return m == static_cast<std::uint8_t>(Mechanism::kUniformPrice) ? "uniform_price" : "continuous";
}

Status KeyFromJson(const json& j, const std::string& field, PublicKey* out) {
  if (!j.is_string()) return Status::InvalidArgument("genesis: " + field + " must be a hex string");
  auto bytes = FixedFromHex<32>(j.get<std::string>());
  if (!bytes) return Status::InvalidArgument("genesis: " + field + " is not 64 hex digits");
  return PublicKey::Parse(*bytes, out).Prefixed("genesis: " + field);
}

Status OnlyFields(const json& obj, const std::string& what, std::set<std::string> allowed) {
  if (!obj.is_object()) return Status::InvalidArgument("genesis: " + what + " must be an object");
  for (const auto& [k, v] : obj.items()) {
    if (allowed.count(k) == 0) return Status::InvalidArgument("genesis: unknown field " + what + "." + k);
  }
  return Status::OK();
}

template <class T>
Status Get(const json& obj, const char* name, T* out, bool required = true) {
  auto it = obj.find(name);
  if (it == obj.end()) {
    return required ? Status::InvalidArgument(std::string("genesis: missing field ") + name) : Status::OK();
  }
  try {
    if constexpr (std::is_same_v<T, std::string>) {
      if (!it->is_string()) return Status::InvalidArgument(std::string("genesis: ") + name + " must be a string");
      *out = it->template get<std::string>();
    } else if constexpr (std::is_same_v<T, bool>) {
      if (!it->is_boolean()) return Status::InvalidArgument(std::string("genesis: ") + name + " must be true or false");
      *out = it->template get<bool>();
    } else {
      if (!it->is_number_unsigned()) {
        return Status::InvalidArgument(std::string("genesis: ") + name + " must be a whole number >= 0");
      }
      const std::uint64_t v = it->template get<std::uint64_t>();
      if (v > std::numeric_limits<T>::max()) return Status::InvalidArgument(std::string("genesis: ") + name + " is too large");
      *out = static_cast<T>(v);
    }
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("genesis: ") + name + ": " + e.what());
  }
  return Status::OK();
}

Status ParseParams(const json& j, Params* p) {
  NANUM_RETURN_IF_ERROR(OnlyFields(j, "params", std::set<std::string>(std::begin(kParamNames), std::end(kParamNames))));
  std::size_t i = 0;
  Status st;
  p->Fields([&](auto& v) {
    const char* name = kParamNames[i++];
    if (!st.ok()) return;
    using T = std::decay_t<decltype(v)>;
    if (std::string_view(name) == "mechanism") {
      auto it = j.find(name);
      if (it == j.end()) return;
      if (*it == "continuous") {
        v = static_cast<T>(Mechanism::kContinuous);
      } else if (*it == "uniform_price") {
        v = static_cast<T>(Mechanism::kUniformPrice);
      } else {
        st = Status::InvalidArgument("genesis: params.mechanism must be \"continuous\" or \"uniform_price\"");
      }
      return;
    }
    st = Get(j, name, &v, false);
  });
  return st;
}

}  // namespace

Status ParseGenesis(std::string_view text, Genesis* out) {
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) return Status::InvalidArgument("genesis: not valid JSON");
  NANUM_RETURN_IF_ERROR(OnlyFields(j, "genesis", {"community", "chain_id", "genesis_time_ms", "token_symbol",
                                                  "token_decimals", "params", "validators", "members", "meters"}));
  Genesis g;
  NANUM_RETURN_IF_ERROR(Get(j, "community", &g.info.name));
  NANUM_RETURN_IF_ERROR(Get(j, "chain_id", &g.info.chain_id));
  NANUM_RETURN_IF_ERROR(Get(j, "genesis_time_ms", &g.info.genesis_time_ms));
  NANUM_RETURN_IF_ERROR(Get(j, "token_symbol", &g.info.token_symbol, false));
  NANUM_RETURN_IF_ERROR(Get(j, "token_decimals", &g.info.token_decimals, false));
  if (j.contains("params")) NANUM_RETURN_IF_ERROR(ParseParams(j["params"], &g.params));

  if (!j.contains("validators") || !j["validators"].is_array()) {
    return Status::InvalidArgument("genesis: validators must be a list of keys");
  }
  for (std::size_t i = 0; i < j["validators"].size(); ++i) {
    PublicKey k;
    NANUM_RETURN_IF_ERROR(KeyFromJson(j["validators"][i], "validators[" + std::to_string(i) + "]", &k));
    g.validators.push_back(k);
  }
  std::sort(g.validators.begin(), g.validators.end());
  if (std::adjacent_find(g.validators.begin(), g.validators.end()) != g.validators.end()) {
    return Status::InvalidArgument("genesis: a validator is listed twice");
  }
  if (!j.contains("members") || !j["members"].is_array()) {
    return Status::InvalidArgument("genesis: members must be a list");
  }
  for (std::size_t i = 0; i < j["members"].size(); ++i) {
    const json& m = j["members"][i];
    const std::string where = "members[" + std::to_string(i) + "]";
    NANUM_RETURN_IF_ERROR(OnlyFields(m, where, {"id", "key", "admin"}));
    GenesisMember gm;
    NANUM_RETURN_IF_ERROR(Get(m, "id", &gm.id).Prefixed(where));
    NANUM_RETURN_IF_ERROR(Get(m, "admin", &gm.admin, false).Prefixed(where));
    if (!m.contains("key")) return Status::InvalidArgument("genesis: " + where + " has no key");
    NANUM_RETURN_IF_ERROR(KeyFromJson(m["key"], where + ".key", &gm.key));
    g.members.push_back(gm);
  }
  if (j.contains("meters")) {
    if (!j["meters"].is_array()) return Status::InvalidArgument("genesis: meters must be a list");
    for (std::size_t i = 0; i < j["meters"].size(); ++i) {
      const json& m = j["meters"][i];
      const std::string where = "meters[" + std::to_string(i) + "]";
      NANUM_RETURN_IF_ERROR(OnlyFields(m, where, {"meter_id", "member_id", "oracle"}));
      BindMeter b;
      NANUM_RETURN_IF_ERROR(Get(m, "meter_id", &b.meter_id).Prefixed(where));
      NANUM_RETURN_IF_ERROR(Get(m, "member_id", &b.member_id).Prefixed(where));
      if (!m.contains("oracle")) return Status::InvalidArgument("genesis: " + where + " has no oracle");
      NANUM_RETURN_IF_ERROR(KeyFromJson(m["oracle"], where + ".oracle", &b.oracle));
      g.meters.push_back(b);
    }
  }
  *out = std::move(g);
  return Status::OK();
}

std::string FormatGenesis(const Genesis& g) {
  json j = json::object();
  j["community"] = g.info.name;
  j["chain_id"] = g.info.chain_id;
  j["genesis_time_ms"] = g.info.genesis_time_ms;
  j["token_symbol"] = g.info.token_symbol;
  j["token_decimals"] = g.info.token_decimals;
  json p = json::object();
  std::size_t i = 0;
  Params params = g.params;
  params.Fields([&](auto& v) {
    const char* name = kParamNames[i++];
    if (std::string_view(name) == "mechanism") {
      p[name] = MechanismName(static_cast<std::uint8_t>(v));
    } else {
      p[name] = static_cast<std::uint64_t>(v);
    }
  });
  j["params"] = p;
  j["validators"] = json::array();
  for (const PublicKey& k : g.validators) j["validators"].push_back(k.Hex());
  j["members"] = json::array();
  for (const GenesisMember& m : g.members) {
    j["members"].push_back({{"id", m.id}, {"key", m.key.Hex()}, {"admin", m.admin}});
  }
  j["meters"] = json::array();
  for (const BindMeter& m : g.meters) {
    j["meters"].push_back({{"meter_id", m.meter_id}, {"member_id", m.member_id}, {"oracle", m.oracle.Hex()}});
  }
  return j.dump(2) + "\n";
}

Status ReadGenesisFile(const std::string& path, Genesis* out) {
  std::string text;
  NANUM_RETURN_IF_ERROR(ReadFile(path, "genesis file", &text));
  return ParseGenesis(text, out).Prefixed(path);
}

}  // namespace nanum::market
