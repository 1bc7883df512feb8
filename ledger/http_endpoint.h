// An HTTP/1.1 endpoint (Boost.Beast on a TcpListener), shared by nanumd's and nanum-oracle's
// HTTP sides, which differ only in their handlers. Each connection is kept alive: a request is
// read within the limits, the handler's reply is written (headers only for HEAD), and the next
// request is read, until the client closes or asks to close, or stays idle past the limit.
// A malformed request gets 400 "bad request: <why>" and the connection closes.
//
// Thread safety: Start and Stop from one thread; the handler runs on the I/O thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>  // before asio (Boost 1.74 needs it)

#include <boost/beast/http.hpp>

#include "ledger/status.h"

namespace nanum {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;

struct HttpReply {
  boost::beast::http::status status = boost::beast::http::status::ok;
  std::string body;
  std::string type = "text/plain; charset=utf-8";
  std::string location;  // sent as Location when set
};

// A plain-text reply: `line` and a newline.
inline HttpReply HttpText(boost::beast::http::status status, std::string line) {
  return {status, std::move(line) + "\n", "text/plain; charset=utf-8", ""};
}

struct HttpOptions {
  std::string server;  // the Server header, "name/version"
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_body_bytes = 8 * 1024;
  std::chrono::seconds idle{5};
  // The 413 reply's text for a body over max_body_bytes; empty: 400, like any malformed request.
  std::string body_too_large;
};

class HttpEndpoint {
 public:
  using Handler = std::function<HttpReply(const HttpRequest&)>;
  // Listens on `listen` (TcpListener::Start's rules and errors; `option` names the setting).
  static Status Start(const std::string& listen, std::string_view option, HttpOptions options, Handler handler,
                      std::unique_ptr<HttpEndpoint>* out);
  ~HttpEndpoint();  // Stop()
  HttpEndpoint(const HttpEndpoint&) = delete;
  HttpEndpoint& operator=(const HttpEndpoint&) = delete;
  void Stop();
  int port() const;

 private:
  struct Impl;
  explicit HttpEndpoint(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nanum
