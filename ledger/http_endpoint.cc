#include "ledger/http_endpoint.h"

#include <optional>

#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include "ledger/tcp_listener.h"

namespace nanum {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

struct Shared {
  HttpOptions options;
  HttpEndpoint::Handler handler;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const Shared* shared) : stream_(std::move(socket)), shared_(shared) {}

  void Run() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(shared_->options.max_header_bytes));
    parser_->body_limit(shared_->options.max_body_bytes);
    stream_.expires_after(shared_->options.idle);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout) return Close();
    if (ec == http::error::body_limit && !shared_->options.body_too_large.empty()) {
      return Send(HttpText(http::status::payload_too_large, shared_->options.body_too_large), false);
    }
    if (ec) return Send(HttpText(http::status::bad_request, "bad request: " + ec.message()), false);
    const HttpRequest& req = parser_->get();
    Send(shared_->handler(req), req.keep_alive());
  }

  void Send(HttpReply r, bool keep) {
    const bool head = parser_ && parser_->is_header_done() && parser_->get().method() == http::verb::head;
    auto res = std::make_shared<http::response<http::string_body>>(r.status, 11);
    res->set(http::field::server, shared_->options.server);
    res->set(http::field::content_type, r.type);
    if (!r.location.empty()) res->set(http::field::location, r.location);
    res->keep_alive(keep);
    res->body() = std::move(r.body);
    res->prepare_payload();
    if (head) res->body().clear();
    http::async_write(stream_, *res, [self = shared_from_this(), res, keep](beast::error_code wec, std::size_t) {
      if (wec || !keep) return self->Close();
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
  const Shared* shared_;
};

}  // namespace

struct HttpEndpoint::Impl {
  Shared shared;
  std::unique_ptr<TcpListener> listener;
};

HttpEndpoint::HttpEndpoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpEndpoint::~HttpEndpoint() { Stop(); }

Status HttpEndpoint::Start(const std::string& listen, std::string_view option, HttpOptions options,
                           Handler handler, std::unique_ptr<HttpEndpoint>* out) {
  auto impl = std::make_unique<Impl>();
  impl->shared = {std::move(options), std::move(handler)};
  const Shared* shared = &impl->shared;  // outlives the listener's sessions: Stop joins them
  NANUM_RETURN_IF_ERROR(TcpListener::Start(
      listen, option, [shared](tcp::socket socket) { std::make_shared<Session>(std::move(socket), shared)->Run(); },
      &impl->listener));
  out->reset(new HttpEndpoint(std::move(impl)));
  return Status::OK();
}

void HttpEndpoint::Stop() {
  if (impl_ && impl_->listener) impl_->listener->Stop();
}

int HttpEndpoint::port() const { return impl_->listener->port(); }

}  // namespace nanum
