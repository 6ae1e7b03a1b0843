// Echo server written with completion handlers, on asio_uring's ring.
//
//   echo_server_callbacks [port]     (port 0 or none: the kernel picks one)
//
// Prints "listening on <port>" once ready; SIGINT/SIGTERM stop it.
// Each connection is a session object kept alive by the handlers that
// reference it: read some bytes, write them all back, repeat until EOF.
#include <asio_uring.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>

namespace net = asio_uring;
using net::ip::tcp;

class session : public std::enable_shared_from_this<session>
{
public:
  explicit session(tcp::socket socket) : socket_(std::move(socket)) {}

  void start() { do_read(); }

private:
  void do_read()
  {
    socket_.async_read_some(net::buffer(data_),
        [self = shared_from_this()](boost::system::error_code ec,
            std::size_t n) {
          if (!ec)
            self->do_write(n);
          // eof or an error: the session ends when the last handler
          // holding it returns.
        });
  }

  void do_write(std::size_t n)
  {
    net::async_write(socket_, net::buffer(data_, n),
        [self = shared_from_this()](boost::system::error_code ec,
            std::size_t) {
          if (!ec)
            self->do_read();
        });
  }

  tcp::socket socket_;
  std::array<char, 8192> data_;
};

class server
{
public:
  server(net::io_context& ctx, unsigned short port)
    : acceptor_(ctx, tcp::endpoint(tcp::v4(), port))
  {
    do_accept();
  }

  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  void stop() { acceptor_.close(); }

private:
  void do_accept()
  {
    acceptor_.async_accept(
        [this](boost::system::error_code ec, tcp::socket socket) {
          if (ec == net::error::operation_aborted)
            return;  // stopped
          if (!ec)
          {
            // Echoes are small writes: don't let Nagle hold them back.
            socket.set_option(tcp::no_delay(true), ec);
            std::make_shared<session>(std::move(socket))->start();
          }
          // Other errors (EMFILE...) are reported and the server goes on.
          else
            std::cerr << "accept: " << ec.message() << "\n";
          do_accept();
        });
  }

  tcp::acceptor acceptor_;
};

int main(int argc, char* argv[])
{
  try
  {
    net::io_context ctx(1);
    server s(ctx, static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 0));
    net::signal_set signals(ctx, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code, int) { ctx.stop(); });
    std::printf("listening on %u\n", s.port());
    std::fflush(stdout);
    ctx.run();
  }
  catch (const std::exception& e)
  {
    std::cerr << "echo_server_callbacks: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
