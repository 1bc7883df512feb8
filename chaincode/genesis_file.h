// The genesis file: a community's founding document as JSON, written by `nanumctl init` and
// read by nanumd and by auditors. Every field is required except where marked; keys are
// 64 hex digits (BIP-340 x-only public keys). Unknown fields are refused, so a typo never
// silently falls back to a default. The chain is named by the genesis block's hash, not by
// the file's bytes: reformatting the file changes nothing.
//
//   {
//     "community": "Haneul Apartments",
//     "chain_id": "haneul-1",
//     "genesis_time_ms": 1800000000000,
//     "token_symbol": "NANUM",            (optional, default NANUM)
//     "token_decimals": 3,                (optional, default 3)
//     "params": { "slot_seconds": 900, … }, (optional; each of market::Params' fields optional)
//     "validators": ["<key>", …],          (any order; stored sorted)
//     "members": [{"id": "op", "key": "<key>", "admin": true}, …],
//     "meters": [{"meter_id": "m-a", "member_id": "a", "oracle": "<key>"}, …]
//   }
//
// This is the one part of chaincode/ that parses text; it is its own library target
// (nanum::genesis), outside the deterministic chaincode. ReadGenesisFile is its one file read.
#pragma once

#include <string>
#include <string_view>

#include "chaincode/market.h"

namespace nanum::market {

// Errors: kInvalidArgument naming the field (and, for JSON syntax, the byte offset).
Status ParseGenesis(std::string_view json, Genesis* out);
std::string FormatGenesis(const Genesis& g);  // pretty-printed, fields in the order above

// Reads and parses a genesis file: kNotFound / kIOError for the file, else ParseGenesis's
// error prefixed with the path.
Status ReadGenesisFile(const std::string& path, Genesis* out);

}  // namespace nanum::market
