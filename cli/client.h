// The parts of nanumctl that talk to a node, shared by its subcommands: the channel (Dial),
// a node handle that signs and submits, the output for people or scripts, and the JSON of
// the API's records (field names: docs/CLI.md).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iomanip>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "chaincode/market.h"
#include "ledger/crypto.h"
#include "ledger/status.h"
#include "ledger/transaction.h"
#include "nanum/v1/node.grpc.pb.h"

namespace nanum::cli {

std::string Hex(const std::string& bytes);
// Wall-clock milliseconds since the Unix epoch.
std::uint64_t NowMs();
// Local time of day, HH:MM:SS, of `ms` since the Unix epoch.
std::string Clock(std::uint64_t ms);
// Prints the gRPC error ("node unreachable: …" when it is) and returns 1.
int GrpcFail(const grpc::Status& s);

// For the commands that run until stopped: SIGINT and SIGTERM set a flag they poll.
void CatchStopSignals();
bool StopRequested();

struct TlsArgs {
  std::string ca, cert, key, server_name;
};
// A channel to the node: plaintext, or TLS when a CA is given (mutual with a certificate).
Status Dial(const std::string& addr, const TlsArgs& tls, std::shared_ptr<grpc::Channel>* out);

// Output: a table for people, JSON lines for scripts.
class Output {
 public:
  explicit Output(bool as_json) : json_(as_json) {}
  bool json() const { return json_; }

  // One object: `key value` lines, or one JSON line.
  void Object(const nlohmann::json& j) const {
    if (json_) {
      std::cout << j.dump() << "\n";
      return;
    }
    std::size_t w = 0;
    for (auto& [k, v] : j.items()) w = std::max(w, k.size());
    for (auto& [k, v] : j.items()) std::cout << std::left << std::setw(static_cast<int>(w)) << k << "  " << Text(v) << "\n";
  }

  // Rows with the given columns: an aligned table, or one JSON line per row.
  void Rows(const std::vector<std::string>& columns, const std::vector<nlohmann::json>& rows) const {
    if (json_) {
      for (const auto& r : rows) std::cout << r.dump() << "\n";
      return;
    }
    std::vector<std::size_t> w;
    for (const auto& c : columns) w.push_back(c.size());
    for (const auto& r : rows) {
      for (std::size_t i = 0; i < columns.size(); ++i) w[i] = std::max(w[i], Text(r.value(columns[i], nlohmann::json())).size());
    }
    for (std::size_t i = 0; i < columns.size(); ++i) std::cout << std::left << std::setw(static_cast<int>(w[i] + 2)) << columns[i];
    std::cout << "\n";
    for (const auto& r : rows) {
      for (std::size_t i = 0; i < columns.size(); ++i) {
        std::cout << std::left << std::setw(static_cast<int>(w[i] + 2)) << Text(r.value(columns[i], nlohmann::json()));
      }
      std::cout << "\n";
    }
    if (rows.empty()) std::cout << "(none)\n";
  }

 private:
  static std::string Text(const nlohmann::json& v) {
    if (v.is_null()) return "-";
    if (v.is_string()) return v.get<std::string>();
    return v.dump();
  }
  bool json_;
};

// ---- JSON for the API's records (field names: docs/CLI.md). ----
nlohmann::json MemberJson(const v1::MemberInfo& m);
nlohmann::json OrderJson(const v1::OrderInfo& o);
nlohmann::json ContractJson(const v1::ContractInfo& c);
nlohmann::json SettlementJson(const v1::SettlementInfo& s);
nlohmann::json ReadingJson(const v1::ReadingInfo& r);
nlohmann::json PayloadJson(const Payload& p);

// A node and what the subcommands need from it.
class Node {
 public:
  explicit Node(std::shared_ptr<grpc::Channel> channel) : client_(v1::Nanum::NewStub(std::move(channel))) {}
  v1::Nanum::Stub* operator->() { return client_.get(); }

  static void Deadline(grpc::ClientContext* ctx, int seconds = 10) {
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  }

  grpc::Status Market(v1::MarketInfo* out);
  // The member id for --member, or for the key in --key.
  grpc::Status MemberId(const std::string& member, const std::string& key_path, std::string* out);
  // Signs `payload` with `key` (nonce from the node), submits it and waits for its commit.
  grpc::Status Submit(const PrivateKey& key, const Payload& payload, v1::SubmitResponse* out);
  // Submit with the key in `key_path`, printing the outcome; the exit code.
  int SubmitAndReport(const std::string& key_path, const Payload& payload, const Output& out);

 private:
  std::unique_ptr<v1::Nanum::Stub> client_;
};

}  // namespace nanum::cli
