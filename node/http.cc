// nanumd's HTTP endpoint; see http.h.
#include "node/http.h"

#include <chrono>
#include <cstdio>
#include <utility>  // Boost 1.74's asio uses std::exchange without including it

#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include "ledger/config_file.h"
#include "ledger/tcp_listener.h"

namespace nanum::node {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

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

// Why the node is not ready, or "" if it is.
std::string NotReady(const NodeStatusInfo& s, const NodeCounters& c, std::uint64_t now) {
  if (c.loop_ms + kStallMs < now) return "the consensus loop has stalled";
  const bool alone = s.replica.validator && s.replica.validators == 1;
  if (!alone && s.peers == 0) return "no peer connected";
  if (s.replica.lagging) return "catching up with the validators";
  return "";
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const Node* node) : stream_(std::move(socket)), node_(node) {}

  void Run() {
    parser_.emplace();
    parser_->header_limit(kMaxRequestBytes);
    parser_->body_limit(kMaxRequestBytes);
    stream_.expires_after(kIdle);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout) return Close();
    if (ec) {
      Reply(http::status::bad_request, "bad request: " + ec.message() + "\n", false);
      return;
    }
    const auto& req = parser_->get();
    const bool keep = req.keep_alive();
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      Reply(http::status::method_not_allowed, "only GET and HEAD\n", keep);
      return;
    }
    const std::string target(req.target());
    const std::string path = target.substr(0, target.find('?'));
    const NodeStatusInfo st = node_->status();
    const NodeCounters c = node_->counters();
    const std::uint64_t now = WallMs();
    if (path == "/health") {
      if (c.loop_ms + kStallMs < now) {
        Reply(http::status::service_unavailable, "the consensus loop has stalled\n", keep);
      } else {
        Reply(http::status::ok, "ok\n", keep);
      }
    } else if (path == "/ready") {
      const std::string why = NotReady(st, c, now);
      if (why.empty()) {
        Reply(http::status::ok, "ready\n", keep);
      } else {
        Reply(http::status::service_unavailable, why + "\n", keep);
      }
    } else if (path == "/metrics") {
      Reply(http::status::ok, RenderMetrics(st, c), keep, "text/plain; version=0.0.4; charset=utf-8");
    } else {
      Reply(http::status::not_found, "not found; try /health, /ready or /metrics\n", keep);
    }
  }

  void Reply(http::status status, std::string body, bool keep, const char* type = "text/plain; charset=utf-8") {
    const bool head = parser_ && parser_->is_header_done() && parser_->get().method() == http::verb::head;
    auto res = std::make_shared<http::response<http::string_body>>(status, 11);
    res->set(http::field::server, "nanumd/" NANUM_VERSION);
    res->set(http::field::content_type, type);
    res->keep_alive(keep);
    res->body() = std::move(body);
    res->prepare_payload();
    if (head) res->body().clear();
    http::async_write(stream_, *res, [self = shared_from_this(), res, keep](beast::error_code ec, std::size_t) {
      if (ec || !keep) return self->Close();
      self->buffer_.consume(self->buffer_.size());
      self->Run();
    });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const Node* node_;
};

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
  std::unique_ptr<TcpListener> listener;
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start(const std::string& listen, const Node* node, std::unique_ptr<HttpServer>* out) {
  auto impl = std::make_unique<Impl>();
  NANUM_RETURN_IF_ERROR(TcpListener::Start(
      listen, "http.listen",
      [node](tcp::socket socket) { std::make_shared<Session>(std::move(socket), node)->Run(); },
      &impl->listener));
  out->reset(new HttpServer(std::move(impl)));
  return Status::OK();
}

void HttpServer::Stop() {
  if (impl_ && impl_->listener) impl_->listener->Stop();
}

int HttpServer::port() const { return impl_->listener->port(); }

}  // namespace nanum::node
