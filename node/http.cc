// nanumd's HTTP endpoint; see http.h.
#include "node/http.h"

#include <chrono>
#include <cstdio>
#include <utility>  // Boost 1.74's asio uses std::exchange without including it

#include "ledger/http_endpoint.h"

namespace nanum::node {
namespace {

namespace http = boost::beast::http;

constexpr std::uint64_t kStallMs = 2000;
constexpr std::size_t kMaxRequestBytes = 8 * 1024;
constexpr auto kIdle = std::chrono::seconds(5);

void Metric(std::string* out, const char* name, const char* type, const char* help, const std::string& value) {
  *out += "# HELP ";
  *out += name;
  *out += " ";
  *out += help;
  *out += "\n# TYPE ";
  *out += name;
  *out += " ";
  *out += type;
  *out += "\n";
  *out += name;
  *out += " ";
  *out += value;
  *out += "\n";
}

std::string U(std::uint64_t v) { return std::to_string(v); }

// Milliseconds as seconds with three decimals, without floating point.
std::string Seconds(std::uint64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llu.%03llu", static_cast<unsigned long long>(ms / 1000),
                static_cast<unsigned long long>(ms % 1000));
  return buf;
}

// Microseconds as seconds with six decimals.
std::string SecondsFromUs(std::uint64_t us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llu.%06llu", static_cast<unsigned long long>(us / 1'000'000),
                static_cast<unsigned long long>(us % 1'000'000));
  return buf;
}

// Why the node is not ready, or "" if it is.
std::string NotReady(const NodeStatusInfo& s, const NodeCounters& c, std::uint64_t now) {
  if (c.loop_ms + kStallMs < now) return "the consensus loop has stalled";
  const bool alone = s.replica.validator && s.replica.validators == 1;
  if (!alone && s.peers == 0) return "no peer connected";
  if (s.replica.lagging) return "catching up with the validators";
  return "";
}

HttpReply Route(const Node* node, const HttpRequest& req) {
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    return HttpText(http::status::method_not_allowed, "only GET and HEAD");
  }
  const std::string target(req.target());
  const std::string path = target.substr(0, target.find('?'));
  const NodeStatusInfo st = node->status();
  const NodeCounters c = node->counters();
  const std::uint64_t now = WallMs();
  if (path == "/health") {
    if (c.loop_ms + kStallMs < now) return HttpText(http::status::service_unavailable, "the consensus loop has stalled");
    return HttpText(http::status::ok, "ok");
  }
  if (path == "/ready") {
    const std::string why = NotReady(st, c, now);
    if (!why.empty()) return HttpText(http::status::service_unavailable, why);
    return HttpText(http::status::ok, "ready");
  }
  if (path == "/metrics") return {http::status::ok, RenderMetrics(st, c), "text/plain; version=0.0.4; charset=utf-8", ""};
  return HttpText(http::status::not_found, "not found; try /health, /ready or /metrics");
}

}  // namespace

std::string RenderMetrics(const NodeStatusInfo& s, const NodeCounters& c) {
  std::string out;
  Metric(&out, "nanum_height", "gauge", "Height of the last committed block.", U(s.head.height));
  Metric(&out, "nanum_view", "gauge", "Current PBFT view.", U(s.replica.view));
  Metric(&out, "nanum_epoch", "gauge", "First height of the validator set in force.", U(s.replica.epoch));
  Metric(&out, "nanum_validators", "gauge", "Validators in force.", U(s.replica.validators));
  Metric(&out, "nanum_validator", "gauge", "1 if this node is a validator.", U(s.replica.validator ? 1 : 0));
  Metric(&out, "nanum_primary", "gauge", "1 if this node is the primary of its view.", U(s.replica.primary ? 1 : 0));
  Metric(&out, "nanum_lagging", "gauge", "1 while the node is catching up.", U(s.replica.lagging ? 1 : 0));
  Metric(&out, "nanum_mempool_requests", "gauge", "Requests pending at this node.", U(s.replica.pending));
  Metric(&out, "nanum_peers_connected", "gauge", "Peers with an authenticated link.", U(s.peers));
  // Transactions per second over the window, with two decimals.
  const std::uint64_t centi = c.txs_in_window * 100'000 / NodeCounters::kRateWindowMs;
  char tps[32];
  std::snprintf(tps, sizeof tps, "%llu.%02llu", static_cast<unsigned long long>(centi / 100),
                static_cast<unsigned long long>(centi % 100));
  Metric(&out, "nanum_transactions_per_second", "gauge", "Transactions committed per second over the last 10 s.", tps);
  Metric(&out, "nanum_transactions_committed_total", "counter", "Transactions committed since start.", U(c.txs_committed));
  Metric(&out, "nanum_blocks_committed_total", "counter", "Blocks committed since start.", U(c.blocks_committed));
  Metric(&out, "nanum_view_changes_total", "counter", "View changes this node started.", U(s.replica.view_changes_started));
  Metric(&out, "nanum_signature_checks_total", "counter", "Transactions' signatures this node verified.", U(c.signature_checks));
  Metric(&out, "nanum_signature_check_cpu_seconds_total", "counter",
         "CPU time spent verifying them (estimated from one check in 16).",
         SecondsFromUs(c.signature_check_cpu_ns / 1000));
  out += "# HELP nanum_submits_total Client submissions, by outcome.\n# TYPE nanum_submits_total counter\n";
  out += "nanum_submits_total{result=\"accepted\"} " + U(c.submits_accepted) + "\n";
  out += "nanum_submits_total{result=\"refused\"} " + U(c.submits_refused) + "\n";
  out += "# HELP nanum_commit_latency_seconds From acceptance at this node to commit at this node.\n";
  out += "# TYPE nanum_commit_latency_seconds histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < std::size(NodeCounters::kBuckets); ++i) {
    cumulative += c.latency_count[i];
    out += "nanum_commit_latency_seconds_bucket{le=\"" + Seconds(NodeCounters::kBuckets[i]) + "\"} " + U(cumulative) + "\n";
  }
  cumulative += c.latency_count[std::size(NodeCounters::kBuckets)];
  out += "nanum_commit_latency_seconds_bucket{le=\"+Inf\"} " + U(cumulative) + "\n";
  out += "nanum_commit_latency_seconds_sum " + Seconds(c.latency_sum_ms) + "\n";
  out += "nanum_commit_latency_seconds_count " + U(cumulative) + "\n";
  return out;
}

class HttpServer::Impl {
 public:
  std::unique_ptr<HttpEndpoint> endpoint;
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start(const std::string& listen, const Node* node, std::unique_ptr<HttpServer>* out) {
  auto impl = std::make_unique<Impl>();
  HttpOptions options;
  options.server = "nanumd/" NANUM_VERSION;
  options.max_header_bytes = kMaxRequestBytes;
  options.max_body_bytes = kMaxRequestBytes;
  options.idle = kIdle;
  NANUM_RETURN_IF_ERROR(HttpEndpoint::Start(
      listen, "http.listen", options, [node](const HttpRequest& req) { return Route(node, req); }, &impl->endpoint));
  out->reset(new HttpServer(std::move(impl)));
  return Status::OK();
}

void HttpServer::Stop() {
  if (impl_ && impl_->endpoint) impl_->endpoint->Stop();
}

int HttpServer::port() const { return impl_->endpoint->port(); }

}  // namespace nanum::node
