//
// coro_file_copy.cpp
// ~~~~~~~~~~~~~~~~~~
//
// Copies a file with a C++20 coroutine:
//
//   coro_file_copy SRC DST
//
// The same loop as async_file_copy, written with co_spawn and
// use_awaitable: every co_await suspends the coroutine until the ring
// reports the read or write complete. DST is created or truncated. Exit
// status: 0 on success, 1 on an I/O error (the message names it), 2 on bad
// usage.
//
#include <asio_uring.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace {

// Copies source to target; returns the number of bytes copied. Throws
// boost::system::system_error on the first I/O error.
asio_uring::awaitable<std::uint64_t> copy_file(
    asio_uring::stream_file& source, asio_uring::stream_file& target)
{
  std::vector<unsigned char> buffer(128 * 1024);
  std::uint64_t copied = 0;
  for (;;)
  {
    auto [ec, n] = co_await source.async_read_some(asio_uring::buffer(buffer),
        asio_uring::as_tuple(asio_uring::use_awaitable));
    if (ec == asio_uring::error::eof)
      break;
    if (ec)
      throw boost::system::system_error(ec, "read");
    copied += co_await asio_uring::async_write(target,
        asio_uring::buffer(buffer.data(), n), asio_uring::use_awaitable);
  }
  co_return copied;
}

} // namespace

int main(int argc, char** argv)
{
  if (argc != 3)
  {
    std::fprintf(stderr, "usage: coro_file_copy SRC DST\n");
    return 2;
  }

  try
  {
    asio_uring::io_context ctx;
    asio_uring::stream_file source(ctx, argv[1],
        asio_uring::stream_file::read_only);
    asio_uring::stream_file target(ctx, argv[2],
        asio_uring::stream_file::write_only | asio_uring::stream_file::create
            | asio_uring::stream_file::truncate);

    std::string error;
    std::uint64_t copied = 0;
    asio_uring::co_spawn(ctx, copy_file(source, target),
        [&](std::exception_ptr e, std::uint64_t n)
        {
          copied = n;
          if (!e)
            return;
          try
          {
            std::rethrow_exception(e);
          }
          catch (const std::exception& ex)
          {
            error = ex.what();
          }
        });
    ctx.run();

    if (!error.empty())
    {
      std::fprintf(stderr, "coro_file_copy: %s\n", error.c_str());
      return 1;
    }
    std::printf("copied %llu bytes\n", static_cast<unsigned long long>(copied));
    return 0;
  }
  catch (const std::exception& e)
  {
    std::fprintf(stderr, "coro_file_copy: %s\n", e.what());
    return 1;
  }
}
