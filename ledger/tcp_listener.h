// A TCP listener on its own I/O thread (Boost.Asio), under HttpEndpoint (ledger/http_endpoint.h),
// which nanumd's and nanum-oracle's HTTP sides use: it binds, accepts, and hands every
// accepted socket to a callback that runs on the listener's thread, where the socket's
// session then lives (the socket's executor is the listener's io_context).
//
// Thread safety: Start and Stop from one thread; the callback runs on the I/O thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>  // before asio (Boost 1.74 needs it)

#include <boost/asio/ip/tcp.hpp>

#include "ledger/status.h"

namespace nanum {

class TcpListener {
 public:
  using OnAccept = std::function<void(boost::asio::ip::tcp::socket)>;
  // Listens on `listen` (host:port, host an IP address; port 0 picks one). `option` names
  // the setting in error messages. Errors: kInvalidArgument (not host:port, or the host is
  // not an IP address), kUnavailable (cannot bind or listen).
  static Status Start(const std::string& listen, std::string_view option, OnAccept on_accept,
                      std::unique_ptr<TcpListener>* out);
  ~TcpListener();  // Stop()
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;
  // Closes the listener and stops the I/O thread (open sessions end with it).
  void Stop();
  int port() const;

 private:
  struct Impl;
  explicit TcpListener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nanum
