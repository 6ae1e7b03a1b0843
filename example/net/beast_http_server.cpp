// An HTTP server written with Boost.Beast, running on asio_uring: the
// program is an ordinary Beast server whose `namespace net` line names
// asio_uring instead of boost::asio.
//
//   beast_http_server [port]     (port 0 or none: the kernel picks one)
//
// Accepting happens on the ring (asio_uring's acceptor). Each accepted
// socket is handed to beast::tcp_stream, which needs a Boost.Asio socket:
// the asio_uring socket converts by moving its descriptor into one on the
// same executor (see doc/networking.md, "Boost.Beast"). Prints
// "listening on <port>" once ready; SIGINT/SIGTERM stop it.
#include <asio_uring.hpp>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = asio_uring;  // was: namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

http::message_generator handle(http::request<http::string_body>&& req)
{
  if (req.method() != http::verb::get && req.method() != http::verb::head)
  {
    http::response<http::string_body> res{http::status::method_not_allowed,
        req.version()};
    res.set(http::field::content_type, "text/plain");
    res.keep_alive(req.keep_alive());
    res.body() = "only GET and HEAD\n";
    res.prepare_payload();
    return res;
  }
  http::response<http::string_body> res{http::status::ok, req.version()};
  res.set(http::field::server, BOOST_BEAST_VERSION_STRING);
  res.set(http::field::content_type, "text/plain");
  res.keep_alive(req.keep_alive());
  res.body() = "Hello from Beast on asio_uring: " + std::string(req.target())
      + "\n";
  res.prepare_payload();
  if (req.method() == http::verb::head)
    res.body().clear();
  return res;
}

class session : public std::enable_shared_from_this<session>
{
public:
  explicit session(tcp::socket&& socket) : stream_(std::move(socket)) {}

  void run()
  {
    net::dispatch(stream_.get_executor(),
        beast::bind_front_handler(&session::do_read, shared_from_this()));
  }

private:
  void do_read()
  {
    req_ = {};
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, req_,
        beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t)
  {
    if (ec == http::error::end_of_stream)
      return do_close();
    if (ec)
      return;
    const bool keep_alive = req_.keep_alive();
    beast::async_write(stream_, handle(std::move(req_)),
        [self = shared_from_this(), keep_alive](beast::error_code ec2,
            std::size_t) {
          if (ec2)
            return;
          if (!keep_alive)
            return self->do_close();
          self->do_read();
        });
  }

  void do_close()
  {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
};

class listener : public std::enable_shared_from_this<listener>
{
public:
  listener(net::io_context& ioc, tcp::endpoint endpoint)
    : ioc_(ioc), acceptor_(net::make_strand(ioc))
  {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(net::socket_base::max_listen_connections);
  }

  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  void run() { do_accept(); }
  void stop() { acceptor_.close(); }

private:
  void do_accept()
  {
    acceptor_.async_accept(net::make_strand(ioc_),
        beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket)
  {
    if (ec == net::error::operation_aborted)
      return;
    if (!ec)
      std::make_shared<session>(std::move(socket))->run();
    do_accept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
};

} // namespace

int main(int argc, char* argv[])
{
  try
  {
    net::io_context ioc(1);
    auto l = std::make_shared<listener>(ioc, tcp::endpoint(tcp::v4(),
        static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 0)));
    l->run();
    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](beast::error_code, int) { ioc.stop(); });
    std::printf("listening on %u\n", l->port());
    std::fflush(stdout);
    ioc.run();
  }
  catch (const std::exception& e)
  {
    std::cerr << "beast_http_server: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
