// asio_uring::async_send_file: file-to-socket splice through a pipe.
#include <asio_uring/send_file.hpp>  // first: the header is self-contained

#include <asio_uring.hpp>

#include "tcp_test_util.hpp"
#include "test_util.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

namespace {

using asio_uring::ip::tcp;
using asio_uring_test::connected_pair;
using asio_uring_test::random_bytes;
using asio_uring_test::temp_file;
using namespace std::chrono_literals;

struct result
{
  int calls = 0;
  boost::system::error_code ec;
  std::size_t n = 0;
};

auto record(result& r)
{
  return [&r](boost::system::error_code ec, std::size_t n) {
    ++r.calls;
    r.ec = ec;
    r.n = n;
  };
}

// Reads from s until EOF into out (the peer of the sending socket).
void read_to_eof(tcp::socket& s, std::vector<unsigned char>& out,
    boost::system::error_code& final_ec)
{
  auto buf = std::make_shared<std::vector<unsigned char>>(65536);
  s.async_read_some(boost::asio::buffer(*buf),
      [&s, &out, &final_ec, buf](boost::system::error_code ec, std::size_t n) {
        out.insert(out.end(), buf->begin(), buf->begin() + n);
        if (ec)
        {
          final_ec = ec;
          return;
        }
        read_to_eof(s, out, final_ec);
      });
}

// A file with known contents, an io_context, a connected socket pair: a
// sends, b receives.
struct sender
{
  explicit sender(std::size_t file_size, std::uint32_t seed,
      asio_uring::file_base::flags open_flags
      = asio_uring::file_base::read_only)
    : contents(random_bytes(file_size, seed)), f(contents),
      file(ctx, f.path(), open_flags)
  {
  }

  // Sends file[offset, offset + size) with a handler that records the
  // result and half-closes a; b reads to EOF from start_reading_after on.
  void send_and_receive(std::uint64_t offset, std::size_t size,
      std::chrono::milliseconds start_reading_after = 0ms)
  {
    asio_uring::async_send_file(a, file, offset, size,
        [this](boost::system::error_code ec, std::size_t n) {
          record(r)(ec, n);
          a.shutdown(tcp::socket::shutdown_send);
        });
    receive(start_reading_after);
  }

  // b reads to EOF (from a delay on); runs the context until all is done.
  void receive(std::chrono::milliseconds start_reading_after = 0ms)
  {
    asio_uring::steady_timer t(ctx, start_reading_after);
    t.async_wait([this](boost::system::error_code) {
      read_to_eof(b, received, reader_ec);
    });
    ctx.run_for(60s);
  }

  // The bytes b received are file[offset, offset + size).
  bool received_range(std::size_t offset, std::size_t size) const
  {
    return received.size() == size
        && std::equal(received.begin(), received.end(),
            contents.begin() + static_cast<std::ptrdiff_t>(offset));
  }

  std::vector<unsigned char> contents;
  temp_file f;
  asio_uring::io_context ctx;
  asio_uring::random_access_file file;
  std::pair<tcp::socket, tcp::socket> sockets = connected_pair(ctx);
  tcp::socket& a = sockets.first;
  tcp::socket& b = sockets.second;
  result r;
  std::vector<unsigned char> received;
  boost::system::error_code reader_ec;
};

} // namespace

BOOST_AUTO_TEST_SUITE(send_file)

BOOST_AUTO_TEST_CASE(sends_a_whole_file_byte_for_byte)
{
  // Larger than the pipe (1 MiB at most): several fill/drain rounds.
  sender t(5 * 1024 * 1024 + 123, 7);
  t.send_and_receive(0, t.contents.size());
  BOOST_TEST(t.r.calls == 1);
  BOOST_TEST(!t.r.ec, t.r.ec.message());
  BOOST_TEST(t.r.n == t.contents.size());
  BOOST_TEST((t.reader_ec == boost::asio::error::eof));
  BOOST_TEST(t.received_range(0, t.contents.size()));
}

BOOST_AUTO_TEST_CASE(sends_a_range_from_an_offset)
{
  sender t(300000, 8);
  t.send_and_receive(4097, 200000);
  BOOST_TEST(!t.r.ec, t.r.ec.message());
  BOOST_TEST(t.r.n == 200000u);
  BOOST_TEST(t.received_range(4097, 200000));
}

BOOST_AUTO_TEST_CASE(file_shorter_than_size_sends_the_rest_then_reports_eof)
{
  sender t(100000, 9);
  t.send_and_receive(90000, 50000);
  BOOST_TEST((t.r.ec == boost::asio::error::eof), t.r.ec.message());
  BOOST_TEST(t.r.n == 10000u);
  BOOST_TEST(t.received_range(90000, 10000));
}

BOOST_AUTO_TEST_CASE(offset_past_the_end_reports_eof_with_nothing_sent)
{
  sender t(1000, 10);
  t.send_and_receive(5000, 10);
  BOOST_TEST((t.r.ec == boost::asio::error::eof), t.r.ec.message());
  BOOST_TEST(t.r.n == 0u);
  BOOST_TEST(t.received.empty());
}

BOOST_AUTO_TEST_CASE(zero_size_completes_with_zero_never_inline)
{
  sender t(1000, 11);
  asio_uring::async_send_file(t.a, t.file, 0, 0, record(t.r));
  BOOST_TEST(t.r.calls == 0);  // not inside the initiating function
  t.ctx.run_for(10s);
  BOOST_TEST(t.r.calls == 1);
  BOOST_TEST(!t.r.ec);
  BOOST_TEST(t.r.n == 0u);
}

BOOST_AUTO_TEST_CASE(closed_socket_or_file_reports_bad_descriptor)
{
  sender t(1000, 12);
  asio_uring::random_access_file closed_file(t.ctx);
  tcp::socket closed_socket(t.ctx);
  result r1, r2;
  asio_uring::async_send_file(closed_socket, t.file, 0, 10, record(r1));
  asio_uring::async_send_file(t.a, closed_file, 0, 10, record(r2));
  BOOST_TEST(r1.calls + r2.calls == 0);
  t.ctx.run_for(10s);
  BOOST_TEST(r1.calls == 1);
  BOOST_TEST((r1.ec == boost::asio::error::bad_descriptor), r1.ec.message());
  BOOST_TEST(r2.calls == 1);
  BOOST_TEST((r2.ec == boost::asio::error::bad_descriptor), r2.ec.message());
}

BOOST_AUTO_TEST_CASE(write_only_file_reports_bad_descriptor)
{
  sender t(1000, 13, asio_uring::file_base::write_only);
  t.send_and_receive(0, 1000);
  BOOST_TEST(t.r.calls == 1);
  BOOST_TEST((t.r.ec == boost::asio::error::bad_descriptor),
      t.r.ec.message());
  BOOST_TEST(t.r.n == 0u);
  BOOST_TEST(t.received.empty());
}

BOOST_AUTO_TEST_CASE(peer_gone_reports_a_socket_error_without_sigpipe)
{
  sender t(8 * 1024 * 1024, 14);
  t.b.set_option(boost::asio::socket_base::linger(true, 0));
  t.b.close();  // reset: the sender gets ECONNRESET or EPIPE
  asio_uring::async_send_file(t.a, t.file, 0, t.contents.size(),
      record(t.r));
  t.ctx.run_for(30s);
  BOOST_TEST(t.r.calls == 1);
  BOOST_TEST((t.r.ec == boost::asio::error::connection_reset
                 || t.r.ec == boost::asio::error::broken_pipe),
      t.r.ec.message());
  BOOST_TEST(t.r.n < t.contents.size());
}

// A 32 MiB transfer to a peer that does not read yet: once the socket
// buffers are full, the splice to the socket blocks in the kernel until
// something aborts it. abort() runs 200 ms in, from the loop.
struct blocked_transfer : sender
{
  blocked_transfer() : sender(32 * 1024 * 1024, 15) {}

  template <typename Abort>
  void run(Abort abort)
  {
    asio_uring::async_send_file(a, file, 0, contents.size(),
        boost::asio::bind_cancellation_slot(signal.slot(), record(r)));
    asio_uring::steady_timer t(ctx, 200ms);
    t.async_wait([&](boost::system::error_code) { abort(); });
    ctx.run_for(30s);
    BOOST_TEST(r.calls == 1);
    BOOST_TEST((r.ec == boost::asio::error::operation_aborted),
        r.ec.message());
    BOOST_TEST(r.n < contents.size());
  }

  // What was reported as sent reached the peer, in order (the socket is
  // still open).
  void check_peer_received_what_was_sent()
  {
    a.shutdown(tcp::socket::shutdown_send);
    ctx.restart();
    receive();
    BOOST_TEST((reader_ec == boost::asio::error::eof));
    BOOST_TEST(received.size() >= r.n);
    BOOST_TEST(received_range(0, received.size()));
  }

  boost::asio::cancellation_signal signal;
};

BOOST_FIXTURE_TEST_CASE(terminal_cancellation_aborts_a_blocked_transfer,
    blocked_transfer)
{
  run([&] { signal.emit(boost::asio::cancellation_type::terminal); });
  check_peer_received_what_was_sent();
}

BOOST_FIXTURE_TEST_CASE(partial_cancellation_aborts_a_blocked_transfer,
    blocked_transfer)
{
  run([&] { signal.emit(boost::asio::cancellation_type::partial); });
  check_peer_received_what_was_sent();
}

BOOST_FIXTURE_TEST_CASE(socket_cancel_aborts_a_blocked_transfer,
    blocked_transfer)
{
  run([&] { a.cancel(); });
  BOOST_TEST(a.is_open());  // cancel() leaves the socket usable
  check_peer_received_what_was_sent();
}

BOOST_FIXTURE_TEST_CASE(socket_close_aborts_a_blocked_transfer,
    blocked_transfer)
{
  run([&] { a.close(); });
}

BOOST_AUTO_TEST_CASE(non_blocking_socket_sends_everything)
{
  // A non-blocking socket takes part of each splice and answers EAGAIN
  // when full: the transfer polls and goes on until every byte is out.
  // The peer starts reading late, so the socket buffers fill first.
  sender t(16 * 1024 * 1024 + 77, 21);
  t.a.non_blocking(true);
  t.send_and_receive(0, t.contents.size(), 100ms);
  BOOST_TEST(!t.r.ec, t.r.ec.message());
  BOOST_TEST(t.r.n == t.contents.size());
  BOOST_TEST(t.received_range(0, t.contents.size()));
}

BOOST_AUTO_TEST_CASE(works_with_use_awaitable_and_as_tuple)
{
  sender t(3 * 1024 * 1024 + 5, 17);
  boost::asio::co_spawn(t.ctx,
      [&]() -> boost::asio::awaitable<void> {
        auto [ec, n] = co_await asio_uring::async_send_file(t.a, t.file, 0,
            t.contents.size(),
            boost::asio::as_tuple(boost::asio::use_awaitable));
        record(t.r)(ec, n);
        t.a.shutdown(tcp::socket::shutdown_send);
      },
      boost::asio::detached);
  t.receive();
  BOOST_TEST(t.r.calls == 1);
  BOOST_TEST(!t.r.ec, t.r.ec.message());
  BOOST_TEST(t.r.n == t.contents.size());
  BOOST_TEST(t.received_range(0, t.contents.size()));
}

BOOST_AUTO_TEST_CASE(registered_socket_and_file_work)
{
  sender t(2 * 1024 * 1024 + 9, 18);
  t.a.register_descriptor();
  t.file.register_descriptor();
  t.send_and_receive(0, t.contents.size());
  BOOST_TEST(!t.r.ec, t.r.ec.message());
  BOOST_TEST(t.r.n == t.contents.size());
  BOOST_TEST(t.received_range(0, t.contents.size()));
}

BOOST_AUTO_TEST_CASE(no_descriptor_for_the_pipe_reports_no_descriptors)
{
  sender t(1000, 19);
  rlimit saved{};
  ::getrlimit(RLIMIT_NOFILE, &saved);
  int highest = 2;
  for (int fd = 3; fd < 65536; ++fd)
    if (::fcntl(fd, F_GETFD) != -1)
      highest = fd;
  rlimit low = saved;
  low.rlim_cur = static_cast<rlim_t>(highest) + 1;
  BOOST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
  std::vector<int> fillers;
  for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;)
    fillers.push_back(fd);

  asio_uring::async_send_file(t.a, t.file, 0, t.contents.size(),
      record(t.r));
  t.ctx.run_for(10s);
  for (int fd : fillers)
    ::close(fd);
  ::setrlimit(RLIMIT_NOFILE, &saved);
  BOOST_TEST(t.r.calls == 1);
  BOOST_TEST((t.r.ec == boost::asio::error::no_descriptors),
      t.r.ec.message());
  BOOST_TEST(t.r.n == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
