// `nanumctl audit`: the audit (audit.h) from a data directory or from a node over gRPC, with
// progress on stderr and the report for people or as JSON on stdout.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <unistd.h>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "chaincode/genesis_file.h"
#include "cli/audit.h"
#include "cli/cli.h"
#include "ledger/file.h"
#include "nanum/v1/node.grpc.pb.h"

namespace nanum::cli {
namespace {

using nlohmann::json;

// A node's blocks over the API. The node keeps results only as codes over the API, so the
// stored results and write set are not compared (their roots, in the certified header, are).
class GrpcSource : public audit::Source {
 public:
  explicit GrpcSource(std::shared_ptr<grpc::Channel> channel) : client_(v1::Nanum::NewStub(std::move(channel))) {}

  Status Head(std::uint64_t* height) override {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::NodeStatus st;
    grpc::Status s = client_->GetStatus(&ctx, v1::GetStatusRequest{}, &st);
    if (!s.ok()) return Status::IOError("node unreachable: " + s.error_message());
    *height = st.height();
    return Status::OK();
  }
  Status Fetch(std::uint64_t height, audit::SourceBlock* out) override {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::GetBlockRequest req;
    req.set_height(height);
    v1::BlockResponse resp;
    grpc::Status s = client_->GetBlock(&ctx, req, &resp);
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) return Status::NotFound(s.error_message());
    if (!s.ok()) return Status::IOError("block " + std::to_string(height) + ": " + s.error_message());
    out->bytes = std::move(*resp.mutable_block()->mutable_block());
    return Status::OK();
  }

 private:
  std::unique_ptr<v1::Nanum::Stub> client_;
};

Status ReadGenesis(const std::string& path, market::Genesis* out) {
  std::string text;
  NANUM_RETURN_IF_ERROR(ReadFile(path, "genesis file", &text));
  return market::ParseGenesis(text, out).Prefixed(path);
}

std::string Grouped(std::uint64_t v) {
  const std::string digits = std::to_string(v);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

}  // namespace

int Audit(const AuditArgs& args) {
  market::Genesis genesis;
  if (Status s = ReadGenesis(args.genesis_file, &genesis); !s.ok()) return Fail(s.ToString());
  std::unique_ptr<audit::Source> source;
  std::string from;
  if (!args.data_dir.empty()) {
    if (Status s = audit::OpenDataDir(args.data_dir, &source); !s.ok()) return Fail(s.ToString());
    from = args.data_dir;
  } else {
    source = std::make_unique<GrpcSource>(args.channel);
    from = "node " + args.node;
  }

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto last_print = start;
  const bool tty = isatty(STDERR_FILENO) != 0;
  audit::Options opt;
  opt.threads = args.threads;
  opt.progress = [&](const audit::Progress& p) {
    const auto now = Clock::now();
    if (!args.progress || (now - last_print < std::chrono::seconds(1) && p.height != p.head)) return;
    last_print = now;
    const double secs = std::chrono::duration<double>(now - start).count();
    std::fprintf(stderr, "%saudit: block %s of %s (%d%%), %s transactions, %.0f transactions/s%s",
                 tty ? "\r" : "", Grouped(p.height).c_str(), Grouped(p.head).c_str(),
                 p.head == 0 ? 100 : static_cast<int>(p.height * 100 / p.head), Grouped(p.transactions).c_str(),
                 secs > 0 ? static_cast<double>(p.transactions) / secs : 0.0, tty ? "   " : "\n");
    if (tty && p.height == p.head) std::fputc('\n', stderr);
  };
  audit::Report r;
  if (Status s = audit::Audit(genesis, source.get(), opt, &r); !s.ok()) return Fail("audit of " + from + ": " + s.ToString());
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  const double rate = secs > 0 ? static_cast<double>(r.transactions) / secs : 0.0;
  // The bound: transaction signatures per second per core in this very run, times the cores.
  const double sig_cpu = static_cast<double>(r.signature_cpu_ns) / 1e9;
  const double per_core = sig_cpu > 0 ? static_cast<double>(r.tx_signatures) / sig_cpu : 0.0;
  const double bound = per_core * r.cores;

  if (args.json) {
    json j = {{"ok", r.ok}, {"source", from}, {"blocks", r.blocks}, {"transactions", r.transactions},
              {"signatures", r.signatures}, {"head_height", r.head_height}, {"seconds", secs},
              {"transactions_per_second", rate}, {"signature_cpu_seconds", sig_cpu},
              {"signatures_per_second_per_core", per_core}, {"cores", r.cores},
              {"bound_transactions_per_second", bound}};
    if (r.ok) {
      j["state_root"] = ToHex(r.state_root);
    } else {
      j["height"] = r.height;
      j["rule"] = r.rule;
      j["detail"] = r.detail;
    }
    std::cout << j.dump() << "\n";
  } else if (r.ok) {
    std::cout << "audit of " << from << ": everything held\n"
              << "  blocks        " << Grouped(r.blocks) << " (0 to " << Grouped(r.head_height) << ")\n"
              << "  transactions  " << Grouped(r.transactions) << "\n"
              << "  signatures    " << Grouped(r.signatures) << "\n"
              << "  state root    " << ToHex(r.state_root) << "\n";
    std::printf("  time          %.1f s (%.0f transactions/s)\n", secs, rate);
    if (bound > 0) {
      std::printf("  bound         %.0f transactions/s: %.0f signatures/s per core in this run, on %d cores;\n"
                  "                the audit ran at %.0f %% of it\n",
                  bound, per_core, r.cores, 100 * rate / bound);
    }
  } else {
    std::cout << "audit of " << from << ": FAILED at height " << r.height << ", rule " << r.rule << "\n  " << r.detail
              << "\n  (" << Grouped(r.blocks) << " blocks and " << Grouped(r.transactions)
              << " transactions checked before it)\n";
  }
  return r.ok ? 0 : 3;
}

}  // namespace nanum::cli
