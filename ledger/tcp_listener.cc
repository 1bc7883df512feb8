#include "ledger/tcp_listener.h"

#include <thread>

#include <boost/asio.hpp>

#include "ledger/config_file.h"

namespace nanum {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct TcpListener::Impl {
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  OnAccept on_accept;
  std::thread thread;
  int port = 0;

  void Accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) on_accept(std::move(socket));
      Accept();
    });
  }
};

TcpListener::TcpListener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TcpListener::~TcpListener() { Stop(); }

Status TcpListener::Start(const std::string& listen, std::string_view option, OnAccept on_accept,
                          std::unique_ptr<TcpListener>* out) {
  const std::string name(option);
  std::string host;
  unsigned short port = 0;
  NANUM_RETURN_IF_ERROR(config::SplitHostPort(listen, name.c_str(), &host, &port));
  auto impl = std::make_unique<Impl>();
  impl->on_accept = std::move(on_accept);
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument(name + ": " + host + " is not an IP address");
  const tcp::endpoint ep(addr, port);
  impl->acceptor.open(ep.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(ep, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("cannot listen for HTTP on " + listen + ": " + ec.message());
  impl->port = impl->acceptor.local_endpoint().port();
  Impl* p = impl.get();
  p->Accept();
  p->thread = std::thread([p] { p->io.run(); });
  out->reset(new TcpListener(std::move(impl)));
  return Status::OK();
}

void TcpListener::Stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  asio::post(impl_->io, [p = impl_.get()] {
    boost::system::error_code ignored;
    p->acceptor.close(ignored);
    p->io.stop();
  });
  impl_->thread.join();
}

int TcpListener::port() const { return impl_->port; }

}  // namespace nanum
