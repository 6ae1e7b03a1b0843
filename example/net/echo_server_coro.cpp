// Echo server written with C++20 coroutines, on asio_uring's ring.
//
//   echo_server_coro [port]     (port 0 or none: the kernel picks one)
//
// Prints "listening on <port>" once ready; SIGINT/SIGTERM stop it.
#include <asio_uring.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace net = asio_uring;
using net::ip::tcp;

net::awaitable<void> echo(tcp::socket socket)
{
  char data[8192];
  for (;;)
  {
    auto [ec, n] = co_await socket.async_read_some(net::buffer(data),
        net::as_tuple(net::use_awaitable));
    if (ec)
      co_return;  // eof, reset or cancelled
    auto [wec, written] = co_await net::async_write(socket,
        net::buffer(data, n), net::as_tuple(net::use_awaitable));
    if (wec)
      co_return;
  }
}

net::awaitable<void> listener(tcp::acceptor& acceptor)
{
  for (;;)
  {
    auto [ec, socket] = co_await acceptor.async_accept(
        net::as_tuple(net::use_awaitable));
    if (ec == net::error::operation_aborted)
      co_return;
    if (ec)
    {
      std::cerr << "accept: " << ec.message() << "\n";
      continue;
    }
    // Echoes are small writes: don't let Nagle hold them back.
    socket.set_option(tcp::no_delay(true), ec);
    net::co_spawn(acceptor.get_executor(), echo(std::move(socket)),
        net::detached);
  }
}

int main(int argc, char* argv[])
{
  try
  {
    net::io_context ctx(1);
    tcp::acceptor acceptor(ctx, tcp::endpoint(tcp::v4(),
        static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 0)));
    net::co_spawn(ctx, listener(acceptor), net::detached);
    net::signal_set signals(ctx, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code, int) { ctx.stop(); });
    std::printf("listening on %u\n", acceptor.local_endpoint().port());
    std::fflush(stdout);
    ctx.run();
  }
  catch (const std::exception& e)
  {
    std::cerr << "echo_server_coro: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
