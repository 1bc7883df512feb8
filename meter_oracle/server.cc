// nanum-oracle's HTTP side; see server.h.
#include "meter_oracle/server.h"

#include <charconv>
#include <chrono>
#include <optional>
#include <utility>  // Boost 1.74's asio uses std::exchange without including it

#include "ledger/http_endpoint.h"
#include "meter_oracle/xml.h"

namespace nanum::oracle {
namespace {

namespace http = boost::beast::http;

constexpr std::size_t kMaxHeaderBytes = 8 * 1024;
constexpr std::size_t kMaxBodyBytes = 64 * 1024;
constexpr auto kIdle = std::chrono::seconds(10);
constexpr std::uint64_t kStallMs = 10'000;

constexpr const char* kText = "text/plain; charset=utf-8";

bool IsXml(std::string_view type) {
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  return type == sep2::kContentType || type == "application/xml" || type == "text/xml";
}

std::optional<std::uint64_t> ParseId(std::string_view s) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string MupXml(const sep2::ListedUsagePoint& m) {
  return std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<MirrorUsagePoint xmlns=\"") + sep2::kNamespace +
         "\" href=\"" + XmlEscape(m.href) + "\">\n  <mRID>" + XmlEscape(m.mrid) + "</mRID>\n" +
         (m.description.empty() ? "" : "  <description>" + XmlEscape(m.description) + "</description>\n") +
         "  <roleFlags>0</roleFlags>\n  <serviceCategoryKind>0</serviceCategoryKind>\n  <status>1</status>\n" +
         (m.device_lfdi.empty() ? "" : "  <deviceLFDI>" + XmlEscape(m.device_lfdi) + "</deviceLFDI>\n") +
         "</MirrorUsagePoint>\n";
}

HttpReply Route(Oracle* o, const HttpRequest& req) {
  const std::string target(req.target());
  const std::string path = target.substr(0, target.find('?'));
  const bool get = req.method() == http::verb::get || req.method() == http::verb::head;
  const bool post = req.method() == http::verb::post;
  const HttpReply not_allowed = HttpText(http::status::method_not_allowed, "method not allowed on " + path);
  auto status_reply = [](const Status& s, http::status ok_status) {
    if (s.ok()) return HttpReply{ok_status, "", kText, ""};
    if (s.IsNotFound()) return HttpText(http::status::not_found, s.message());
    if (s.code() == Status::Code::kIOError) return HttpText(http::status::internal_server_error, s.message());
    return HttpText(http::status::bad_request, s.message());
  };

  if (path == "/health") {
    if (!get) return not_allowed;
    const OracleCounters c = o->counters();
    if (c.flusher_turn_ms + kStallMs < o->now()) return HttpText(http::status::service_unavailable, "the flusher has stalled");
    return HttpText(http::status::ok, "ok");
  }
  if (path == "/ready") {
    if (!get) return not_allowed;
    const OracleCounters c = o->counters();
    if (!c.node_up) {
      return HttpText(http::status::service_unavailable,
                  "the node is not reachable; " + std::to_string(c.queue) + " readings wait in the queue");
    }
    return HttpText(http::status::ok, "ready");
  }
  if (path == "/metrics") {
    if (!get) return not_allowed;
    return {http::status::ok, RenderMetrics(o->counters()), "text/plain; version=0.0.4; charset=utf-8", ""};
  }
  if (path == "/dcap") {
    if (!get) return not_allowed;
    return {http::status::ok, sep2::DeviceCapabilityXml(), sep2::kContentType, ""};
  }
  const bool sep_post = post && (path == "/mup" || path.rfind("/mup/", 0) == 0);
  const auto ct = req[http::field::content_type];
  const std::string_view content_type(ct.data(), ct.size());
  if (sep_post && !IsXml(content_type)) {
    return HttpText(http::status::bad_request, "Content-Type must be application/sep+xml, not \"" +
                                               std::string(content_type.substr(0, 64)) + "\"");
  }
  if (path == "/mup") {
    if (get) return {http::status::ok, sep2::UsagePointListXml(o->UsagePoints()), sep2::kContentType, ""};
    if (!post) return not_allowed;
    XmlElement root;
    sep2::UsagePoint mup;
    Status s = ParseXml(req.body(), &root);
    if (s.ok()) s = sep2::ParseUsagePoint(root, &mup);
    std::string location;
    bool created = false;
    if (s.ok()) s = o->RegisterUsagePoint(mup, &location, &created);
    HttpReply r = status_reply(s, http::status::created);
    r.location = location;
    return r;
  }
  if (path.rfind("/mup/", 0) == 0) {
    const std::optional<std::uint64_t> id = ParseId(std::string_view(path).substr(5));
    if (!id) return HttpText(http::status::bad_request, "bad usage point id in " + path);
    if (get) {
      sep2::ListedUsagePoint m;
      if (!o->UsagePoint(*id, &m)) return HttpText(http::status::not_found, "no MirrorUsagePoint " + path);
      return {http::status::ok, MupXml(m), sep2::kContentType, ""};
    }
    if (!post) return not_allowed;
    XmlElement root;
    std::vector<sep2::MeterReading> readings;
    Status s = ParseXml(req.body(), &root);
    if (s.ok()) s = sep2::ParseMirrorPost(root, &readings);
    if (s.ok()) s = o->PostMirror(*id, readings);
    HttpReply r = status_reply(s, http::status::created);
    if (s.ok()) r.location = path;
    return r;
  }
  for (const auto& [prefix, format] : {std::pair{std::string_view("/zigbee2mqtt/"), Format::kZigbee2Mqtt},
                                       std::pair{std::string_view("/tasmota/"), Format::kTasmota}}) {
    if (path.rfind(prefix, 0) != 0) continue;
    if (!post) return not_allowed;
    const std::string device = path.substr(prefix.size());
    if (device.empty()) return HttpText(http::status::bad_request, "no device name in " + path);
    return status_reply(o->TakePlugJson(format, device, req.body()), http::status::no_content);
  }
  return HttpText(http::status::not_found, "not found; try /dcap, /mup, /zigbee2mqtt/{name}, /tasmota/{topic}, /health, "
                                       "/ready or /metrics");
}

void Counter(std::string* out, const char* name, const char* help, const char* type) {
  *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

std::string RenderMetrics(const OracleCounters& c) {
  std::string out;
  auto one = [&](const char* name, const char* help, const char* type, std::uint64_t v) {
    Counter(&out, name, help, type);
    out += std::string(name) + " " + std::to_string(v) + "\n";
  };
  auto labelled = [&](const char* name, const char* help, const char* label,
                      const std::map<std::string, std::uint64_t>& values, std::initializer_list<const char*> always) {
    Counter(&out, name, help, "counter");
    std::map<std::string, std::uint64_t> all(values);
    for (const char* k : always) all.emplace(k, 0);
    for (const auto& [k, v] : all) out += std::string(name) + "{" + label + "=\"" + k + "\"} " + std::to_string(v) + "\n";
  };
  Counter(&out, "nanum_oracle_samples_total", "Samples taken in.", "counter");
  out += "nanum_oracle_samples_total{result=\"accepted\"} " + std::to_string(c.samples_accepted) + "\n";
  labelled("nanum_oracle_samples_rejected_total", "Samples the checks rejected, by reason.", "reason", c.samples_rejected,
           {"future", "out_of_order", "late", "voltage", "current", "power", "register_down", "no_values"});
  labelled("nanum_oracle_messages_rejected_total", "Messages refused before any check, by reason.", "reason",
           c.messages_rejected, {"malformed", "unknown_device"});
  one("nanum_oracle_readings_made_total", "Slot readings signed and queued.", "counter", c.readings_made);
  one("nanum_oracle_readings_committed_total", "Readings the ledger committed.", "counter", c.readings_committed);
  one("nanum_oracle_readings_duplicate_total", "Readings the ledger had already.", "counter", c.readings_duplicate);
  labelled("nanum_oracle_readings_refused_total", "Readings the ledger refused, by result.", "result", c.readings_refused, {});
  one("nanum_oracle_readings_resigned_total", "Readings re-signed with a new nonce.", "counter", c.resigned);
  one("nanum_oracle_submit_failures_total", "Submissions that failed (node unreachable or erring).", "counter",
      c.submit_failures);
  one("nanum_oracle_queue_readings", "Readings waiting for the ledger.", "gauge", c.queue);
  one("nanum_oracle_node_up", "1 if the node answered the last submission.", "gauge", c.node_up ? 1 : 0);
  one("nanum_oracle_last_commit_height", "Height of the last committed reading.", "gauge", c.last_commit_height);
  return out;
}

class Server::Impl {
 public:
  std::unique_ptr<HttpEndpoint> endpoint;
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() { Stop(); }

Status Server::Start(const std::string& listen, Oracle* oracle, std::unique_ptr<Server>* out) {
  auto impl = std::make_unique<Impl>();
  HttpOptions options;
  options.server = "nanum-oracle/" NANUM_VERSION;
  options.max_header_bytes = kMaxHeaderBytes;
  options.max_body_bytes = kMaxBodyBytes;
  options.idle = kIdle;
  options.body_too_large = "the body is over 64 KiB";
  NANUM_RETURN_IF_ERROR(HttpEndpoint::Start(listen, "oracle.http_listen", options,
                                            [oracle](const HttpRequest& req) { return Route(oracle, req); },
                                            &impl->endpoint));
  out->reset(new Server(std::move(impl)));
  return Status::OK();
}

void Server::Stop() {
  if (impl_ && impl_->endpoint) impl_->endpoint->Stop();
}

int Server::port() const { return impl_->endpoint->port(); }

}  // namespace nanum::oracle
