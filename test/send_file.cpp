// asio_uring::async_send_file: file-to-socket splice through a pipe.
#include <asio_uring/send_file.hpp>  // first: the header is self-contained

#include <asio_uring.hpp>
#include <asio_uring/detail/splice_ops.hpp>
#include <asio_uring/detail/uring_handler_op.hpp>

#include "tcp_test_util.hpp"
#include "test_util.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <liburing.h>
#include <sys/resource.h>
#include <sys/syscall.h>
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

// Reads from s until EOF into out (the peer of the sending socket), and
// calls on_data(out.size()) after each read that got bytes.
void read_to_eof(tcp::socket& s, std::vector<unsigned char>& out,
    boost::system::error_code& final_ec,
    std::function<void(std::size_t)> on_data = {})
{
  auto buf = std::make_shared<std::vector<unsigned char>>(65536);
  s.async_read_some(boost::asio::buffer(*buf),
      [&s, &out, &final_ec, buf, on_data = std::move(on_data)](
          boost::system::error_code ec, std::size_t n) mutable {
        out.insert(out.end(), buf->begin(), buf->begin() + n);
        if (n != 0 && on_data)
          on_data(out.size());
        if (ec)
        {
          final_ec = ec;
          return;
        }
        read_to_eof(s, out, final_ec, std::move(on_data));
      });
}

// Reads from s until EOF into out in pieces of 128 KiB, one per
// millisecond: a peer slower than the file, so that the drains block on a
// full socket while the fills race ahead.
void read_slowly_to_eof(tcp::socket& s, std::vector<unsigned char>& out,
    boost::system::error_code& final_ec)
{
  auto buf = std::make_shared<std::vector<unsigned char>>(128 * 1024);
  s.async_read_some(boost::asio::buffer(*buf),
      [&s, &out, &final_ec, buf](boost::system::error_code ec, std::size_t n) {
        out.insert(out.end(), buf->begin(), buf->begin() + n);
        if (ec)
        {
          final_ec = ec;
          return;
        }
        auto t = std::make_shared<asio_uring::steady_timer>(
            s.get_executor(), 1ms);
        t->async_wait([&s, &out, &final_ec, t](boost::system::error_code) {
          read_slowly_to_eof(s, out, final_ec);
        });
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

// The transfer keeps a fill (file -> pipe) in flight while a drain (other
// pipe -> socket) runs, over two pipes used in turn. These cases aim at
// that overlap: bytes in file order across many pipe turns, the file
// ending while a drain runs, and stops (cancellation, peer reset) that
// find one or both splices in the kernel.

BOOST_AUTO_TEST_CASE(many_pipe_turns_from_an_odd_offset_arrive_in_order)
{
  // Several pipes' worth (1 MiB each at most), an offset and a size that
  // are no multiple of a page or of a pipe. The peer starts late, so both
  // pipes fill and the drains wait before it reads. A non-blocking socket
  // takes part of a pipe per drain: the rest must go before the next pipe.
  for (bool non_blocking : {false, true})
  {
    BOOST_TEST_CONTEXT("non_blocking " << non_blocking)
    {
      sender t(9 * 1024 * 1024 + 4321, 31);
      t.a.non_blocking(non_blocking);
      const std::size_t offset = 333;
      const std::size_t size = t.contents.size() - offset - 1001;
      t.send_and_receive(offset, size, 50ms);
      BOOST_TEST(t.r.calls == 1);
      BOOST_TEST(!t.r.ec, t.r.ec.message());
      BOOST_TEST(t.r.n == size);
      BOOST_TEST((t.reader_ec == boost::asio::error::eof));
      BOOST_TEST(t.received_range(offset, size));
    }
  }
}

BOOST_AUTO_TEST_CASE(sizes_around_one_pipe_arrive_in_order)
{
  // One fill, one fill and a byte, and a file that ends a byte early, at
  // the pipe's actual capacity.
  int fds[2];
  BOOST_REQUIRE(::pipe(fds) == 0);
  (void)::fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
  const int capacity = ::fcntl(fds[1], F_GETPIPE_SZ);
  ::close(fds[0]);
  ::close(fds[1]);
  BOOST_REQUIRE(capacity > 0);
  const std::size_t cap = static_cast<std::size_t>(capacity);
  for (std::size_t size : {cap, cap + 1, 2 * cap})
  {
    BOOST_TEST_CONTEXT("size " << size)
    {
      sender t(size, 32);
      t.send_and_receive(0, size);
      BOOST_TEST(t.r.calls == 1);
      BOOST_TEST(!t.r.ec, t.r.ec.message());
      BOOST_TEST(t.r.n == size);
      BOOST_TEST(t.received_range(0, size));
    }
  }
  sender t(2 * cap - 1, 33);
  t.send_and_receive(0, 2 * cap);
  BOOST_TEST((t.r.ec == boost::asio::error::eof), t.r.ec.message());
  BOOST_TEST(t.r.n == 2 * cap - 1);
  BOOST_TEST(t.received_range(0, 2 * cap - 1));
}

BOOST_AUTO_TEST_CASE(file_ending_while_a_drain_runs_reports_eof_after_every_byte)
{
  // The peer reads slower than the file: when the fill that finds the end
  // completes, the drain of the pipes before it is still waiting for the
  // socket. eof comes only after those bytes, with their exact count.
  sender t(24 * 1024 * 1024 + 777, 34);
  const std::size_t offset = 12345;
  asio_uring::async_send_file(t.a, t.file, offset, 40 * 1024 * 1024,
      [&t](boost::system::error_code ec, std::size_t n) {
        record(t.r)(ec, n);
        t.a.shutdown(tcp::socket::shutdown_send);
      });
  read_slowly_to_eof(t.b, t.received, t.reader_ec);
  t.ctx.run_for(60s);
  BOOST_TEST(t.r.calls == 1);
  BOOST_TEST((t.r.ec == boost::asio::error::eof), t.r.ec.message());
  BOOST_TEST(t.r.n == t.contents.size() - offset);
  BOOST_TEST((t.reader_ec == boost::asio::error::eof));
  BOOST_TEST(t.received_range(offset, t.contents.size() - offset));
}

BOOST_AUTO_TEST_CASE(cancellation_right_after_the_start_sends_nothing)
{
  // Only the first fill is in flight: no drain may start after it.
  for (auto type : {boost::asio::cancellation_type::terminal,
           boost::asio::cancellation_type::partial})
  {
    BOOST_TEST_CONTEXT(asio_uring_test::name_of(type))
    {
      sender t(4 * 1024 * 1024, 35);
      boost::asio::cancellation_signal signal;
      asio_uring::async_send_file(t.a, t.file, 0, t.contents.size(),
          boost::asio::bind_cancellation_slot(signal.slot(),
              [&t](boost::system::error_code ec, std::size_t n) {
                record(t.r)(ec, n);
                t.a.shutdown(tcp::socket::shutdown_send);
              }));
      signal.emit(type);
      t.receive();
      BOOST_TEST(t.r.calls == 1);
      BOOST_TEST((t.r.ec == boost::asio::error::operation_aborted),
          t.r.ec.message());
      BOOST_TEST(t.r.n == 0u);
      BOOST_TEST(t.received.empty());
    }
  }
}

namespace {

enum class stop_kind { terminal, partial, socket_cancel, socket_close };

const char* name_of(stop_kind k)
{
  switch (k)
  {
  case stop_kind::terminal: return "terminal";
  case stop_kind::partial: return "partial";
  case stop_kind::socket_cancel: return "socket.cancel()";
  case stop_kind::socket_close: return "socket.close()";
  }
  return "?";
}

// Stops a transfer on socket a whose handler is bound to signal's slot.
void stop_transfer(stop_kind kind, boost::asio::cancellation_signal& signal,
    tcp::socket& a)
{
  switch (kind)
  {
  case stop_kind::terminal:
    signal.emit(boost::asio::cancellation_type::terminal);
    break;
  case stop_kind::partial:
    signal.emit(boost::asio::cancellation_type::partial);
    break;
  case stop_kind::socket_cancel:
    a.cancel();
    break;
  case stop_kind::socket_close:
    a.close();
    break;
  }
}

} // namespace

BOOST_AUTO_TEST_CASE(stopping_a_running_transfer_anywhere_reports_what_arrived)
{
  // The peer reads as fast as it can and stops the transfer once it has
  // seen `threshold` bytes: at that moment the drain is usually in the
  // kernel, and the next fill often too. Thresholds move across pipe
  // turns. Whatever was in flight, the handler runs once, after both
  // splices are back, with exactly the bytes the peer then receives.
  const std::size_t file_size = 8 * 1024 * 1024 + 3;
  const stop_kind kinds[] = {stop_kind::terminal, stop_kind::partial,
      stop_kind::socket_cancel, stop_kind::socket_close};
  int aborted = 0;
  for (int i = 0; i < 32; ++i)
  {
    const stop_kind kind = kinds[i % 4];
    const std::size_t threshold =
        1 + (static_cast<std::size_t>(i) * 263167) % (file_size - 1);
    BOOST_TEST_CONTEXT("run " << i << ", " << name_of(kind)
                              << ", threshold " << threshold)
    {
      sender t(file_size, 40 + static_cast<std::uint32_t>(i));
      boost::asio::cancellation_signal signal;
      bool fired = false;
      asio_uring::async_send_file(t.a, t.file, 0, file_size,
          boost::asio::bind_cancellation_slot(signal.slot(),
              [&t](boost::system::error_code ec, std::size_t n) {
                record(t.r)(ec, n);
                boost::system::error_code ignored;
                t.a.shutdown(tcp::socket::shutdown_send, ignored);
              }));
      read_to_eof(t.b, t.received, t.reader_ec, [&](std::size_t total) {
        if (fired || total < threshold)
          return;
        fired = true;
        stop_transfer(kind, signal, t.a);
      });
      t.ctx.run_for(60s);
      BOOST_TEST(t.r.calls == 1);
      if (t.r.ec == boost::asio::error::operation_aborted)
      {
        ++aborted;
        BOOST_TEST(t.r.n < file_size);
      }
      else
      {
        // The last drain completed before the stop reached it.
        BOOST_TEST(!t.r.ec, t.r.ec.message());
        BOOST_TEST(t.r.n == file_size);
      }
      BOOST_TEST((t.reader_ec == boost::asio::error::eof));
      BOOST_TEST(t.received.size() == t.r.n);
      BOOST_TEST(t.received_range(0, t.received.size()));
    }
  }
  BOOST_TEST_MESSAGE(aborted << " of 32 runs were aborted");
  BOOST_TEST(aborted > 0);
}

// A stop that loses the race to the last drain: the drain sent every byte
// by the time the stop came, so the transfer succeeded, as async_write
// reports it. A fault hook holds the drain's completion back for one turn,
// and a handler posted meanwhile stops the transfer.
BOOST_AUTO_TEST_CASE(a_stop_after_the_last_drain_sent_everything_reports_success)
{
  // Holds back the second completion of `size` bytes: one fill, then one
  // drain, both of size bytes (nothing reads the peer until the end).
  struct hold_last_drain : asio_uring::detail::core::fault_hooks
  {
    int size = 0;
    int seen = 0;
    bool held = false;
    std::function<void()> on_hold;

    bool delay(const asio_uring::detail::core::completion& c) noexcept override
    {
      if (held || c.res != size || ++seen < 2)
        return false;
      held = true;
      on_hold();
      return true;
    }
  };

  const std::size_t file_size = 4096;
  for (stop_kind kind : {stop_kind::terminal, stop_kind::partial,
           stop_kind::socket_cancel, stop_kind::socket_close})
  {
    BOOST_TEST_CONTEXT(name_of(kind))
    {
      hold_last_drain hooks;  // outlives the context
      sender t(file_size, 41);
      hooks.size = static_cast<int>(file_size);
      boost::asio::cancellation_signal signal;
      hooks.on_hold = [&] {
        boost::asio::post(t.ctx, [&] { stop_transfer(kind, signal, t.a); });
      };
      t.ctx.impl().ring().set_fault_hooks(&hooks);
      asio_uring::async_send_file(t.a, t.file, 0, file_size,
          boost::asio::bind_cancellation_slot(signal.slot(), record(t.r)));
      t.ctx.run_for(10s);

      BOOST_TEST(hooks.held);
      BOOST_TEST(t.r.calls == 1);
      BOOST_TEST(!t.r.ec, t.r.ec.message());
      BOOST_TEST(t.r.n == file_size);
      boost::system::error_code ignored;
      t.a.shutdown(tcp::socket::shutdown_send, ignored);
      t.a.close(ignored);
      t.ctx.restart();
      t.receive();
      BOOST_TEST((t.reader_ec == boost::asio::error::eof));
      BOOST_TEST(t.received_range(0, file_size));
    }
  }
}

BOOST_AUTO_TEST_CASE(cancelling_a_drain_that_waits_for_pollout_reports_what_arrived)
{
  // A non-blocking socket whose peer does not read: the drain answers
  // EAGAIN and waits for POLLOUT on the ring. Cancelling ends that wait.
  sender t(32 * 1024 * 1024, 36);
  t.a.non_blocking(true);
  boost::asio::cancellation_signal signal;
  asio_uring::async_send_file(t.a, t.file, 0, t.contents.size(),
      boost::asio::bind_cancellation_slot(signal.slot(), record(t.r)));
  asio_uring::steady_timer timer(t.ctx, 200ms);
  timer.async_wait([&](boost::system::error_code) {
    signal.emit(boost::asio::cancellation_type::terminal);
  });
  t.ctx.run_for(30s);
  BOOST_TEST(t.r.calls == 1);
  BOOST_TEST((t.r.ec == boost::asio::error::operation_aborted),
      t.r.ec.message());
  BOOST_TEST(t.r.n > 0u);
  BOOST_TEST(t.r.n < t.contents.size());
  t.a.shutdown(tcp::socket::shutdown_send);
  t.ctx.restart();
  t.receive();
  BOOST_TEST(t.received.size() == t.r.n);
  BOOST_TEST(t.received_range(0, t.received.size()));
}

BOOST_AUTO_TEST_CASE(peer_reset_mid_transfer_reports_the_socket_error_once)
{
  // The peer reads a few pipes' worth, then resets the connection while
  // the transfer runs: the drain fails, the fill in flight (if any) is
  // cancelled, and the handler runs once with the socket's error.
  sender t(32 * 1024 * 1024, 37);
  asio_uring::async_send_file(t.a, t.file, 0, t.contents.size(),
      record(t.r));
  bool reset = false;
  read_to_eof(t.b, t.received, t.reader_ec, [&](std::size_t total) {
    if (reset || total < 3 * 1024 * 1024)
      return;
    reset = true;
    t.b.set_option(boost::asio::socket_base::linger(true, 0));
    t.b.close();
  });
  t.ctx.run_for(60s);
  BOOST_TEST(reset);
  BOOST_TEST(t.r.calls == 1);
  BOOST_TEST((t.r.ec == boost::asio::error::connection_reset
                 || t.r.ec == boost::asio::error::broken_pipe),
      t.r.ec.message());
  BOOST_TEST(t.r.n >= t.received.size());
  BOOST_TEST(t.r.n < t.contents.size());
  BOOST_TEST(t.received_range(0, t.received.size()));
}

BOOST_AUTO_TEST_CASE(two_threads_running_the_context_send_every_byte)
{
  // The fill and the drain may complete on different threads at once.
  // Results are checked on this thread after the join.
  sender t(12 * 1024 * 1024 + 11, 38);
  asio_uring::async_send_file(t.a, t.file, 5, t.contents.size() - 5,
      [&t](boost::system::error_code ec, std::size_t n) {
        record(t.r)(ec, n);
        t.a.shutdown(tcp::socket::shutdown_send);
      });
  read_to_eof(t.b, t.received, t.reader_ec);
  std::thread second([&t] { t.ctx.run_for(60s); });
  t.ctx.run_for(60s);
  second.join();
  BOOST_TEST(t.r.calls == 1);
  BOOST_TEST(!t.r.ec, t.r.ec.message());
  BOOST_TEST(t.r.n == t.contents.size() - 5);
  BOOST_TEST(t.received_range(5, t.contents.size() - 5));
}

BOOST_AUTO_TEST_CASE(destroying_the_context_mid_transfer_frees_everything)
{
  // Both splices may be in the kernel when the context goes: it cancels
  // and destroys them, and the transfer with them, without the handler.
  // (ASan reports a leak or a use after free.)
  for (int turns : {1, 3, 20})
  {
    BOOST_TEST_CONTEXT("turns " << turns)
    {
      auto t = std::make_unique<sender>(16 * 1024 * 1024, 39);
      asio_uring::async_send_file(t->a, t->file, 0, t->contents.size(),
          record(t->r));
      read_to_eof(t->b, t->received, t->reader_ec);
      for (int i = 0; i < turns; ++i)
        t->ctx.run_one_for(1s);
      const int calls = t->r.calls;
      t.reset();
      BOOST_TEST(calls == 0);
    }
  }
}

// The kernel's io-wq resolves a splice's descriptors only when a worker
// picks the splice up. A splice still queued there when one of its
// descriptors is closed must be cancelled then (CANCEL_FD cannot match it:
// it has no file yet), or it would later move data from or to whatever gets
// the same number. held_io_wq keeps a splice queued: a ring with one io-wq
// worker (a limit registered on the ring, so each test builds it in a
// thread of its own, whose io-wq dies with it), held by a splice from an
// empty pipe until release().
struct held_io_wq
{
  asio_uring::io_context ctx;
  asio_uring::detail::scheduler& sched = ctx.impl();
  int setup_error = 0;
  result blocker;
  int block_pipe[2] = {-1, -1};
  int block_sink[2] = {-1, -1};

  held_io_wq()
  {
    unsigned workers[2] = {1, 1};  // bounded, unbounded
    if (::syscall(__NR_io_uring_register, sched.ring().fd(),
            IORING_REGISTER_IOWQ_MAX_WORKERS, workers, 2) < 0
        || ::pipe2(block_pipe, O_CLOEXEC) != 0
        || ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, block_sink) != 0)
    {
      setup_error = errno;
      return;
    }
    // Holds the only worker: the pipe is empty and its writer open.
    splice(block_pipe[0], block_sink[0], 1, blocker);
  }

  held_io_wq(const held_io_wq&) = delete;
  held_io_wq& operator=(const held_io_wq&) = delete;

  ~held_io_wq()
  {
    for (int fd : {block_pipe[0], block_pipe[1], block_sink[0], block_sink[1]})
      if (fd >= 0)
        ::close(fd);
  }

  // Starts a splice of len bytes from the pipe in to out and submits it.
  void splice(int in, int out, std::size_t len, result& r)
  {
    asio_uring::detail::start_uring_op<asio_uring::detail::splice_op_base>(
        sched, record(r), ctx.get_executor(), in, std::int64_t(-1), out, len);
    ctx.poll();
  }

  // Frees the worker and runs whatever is still queued.
  void release()
  {
    (void)::write(block_pipe[1], "x", 1);
    ctx.run_for(5s);
  }
};

// What a late-bound test saw, from its own thread; checked on the main one
// (Boost.Test's checks are not thread-safe).
struct late_bound_outcome
{
  int setup_error = 0;
  bool number_reused = false;
  result blocker, victim;
  long leaked = -1;  // bytes that went where the closed number now points
};

// The victim splice was cancelled and moved nothing through the reused
// number.
void check_cancelled_without_leak(const late_bound_outcome& out)
{
  BOOST_TEST_REQUIRE(out.setup_error == 0);
  BOOST_TEST(out.blocker.calls == 1);
  BOOST_TEST(!out.blocker.ec);
  BOOST_TEST(out.victim.calls == 1);
  BOOST_TEST(out.victim.ec == boost::asio::error::operation_aborted);
  BOOST_TEST_REQUIRE(out.number_reused);
  BOOST_TEST(out.leaked == 0);
}

BOOST_AUTO_TEST_CASE(closing_a_socket_cancels_its_splice_still_queued_in_io_wq)
{
  late_bound_outcome out;

  std::thread t([&out] {
    held_io_wq held;
    int data_pipe[2], s2[2];
    if (held.setup_error != 0 || ::pipe2(data_pipe, O_CLOEXEC) != 0
        || ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s2) != 0)
    {
      out.setup_error = held.setup_error ? held.setup_error : errno;
      return;
    }
    const char secret[] = "secret";
    if (::write(data_pipe[1], secret, 6) != 6)
    {
      out.setup_error = errno;
      return;
    }
    // Queued behind the blocker, its descriptors not yet resolved.
    held.splice(data_pipe[0], s2[0], 6, out.victim);
    std::this_thread::sleep_for(50ms);  // let the kernel queue it

    const int closed = s2[0];
    boost::system::error_code ec;
    held.sched.close_fd(closed, ec);
    int s3[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s3) != 0)
    {
      out.setup_error = errno;
      return;
    }
    // The lowest free number: the one just closed.
    int reused_peer = s3[0] == closed ? s3[1] : s3[1] == closed ? s3[0] : -1;
    out.number_reused = reused_peer >= 0;

    held.release();
    out.blocker = held.blocker;

    char buf[16];
    if (reused_peer >= 0)
    {
      const ssize_t n = ::recv(reused_peer, buf, sizeof buf, MSG_DONTWAIT);
      out.leaked = n > 0 ? n : 0;
    }
    for (int fd : {data_pipe[0], data_pipe[1], s2[1], s3[0], s3[1]})
      ::close(fd);
  });
  t.join();
  check_cancelled_without_leak(out);
}

// The same on the input side (a file closed while async_send_file's fill
// splice waits in io-wq): the splice must not read from whatever reuses the
// number and send that.
BOOST_AUTO_TEST_CASE(closing_a_source_cancels_its_splice_still_queued_in_io_wq)
{
  late_bound_outcome out;

  std::thread t([&out] {
    held_io_wq held;
    int source[2], s[2];
    if (held.setup_error != 0 || ::pipe2(source, O_CLOEXEC) != 0
        || ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) != 0)
    {
      out.setup_error = held.setup_error ? held.setup_error : errno;
      return;
    }
    // The source is empty, its writer open: the splice has nothing of its
    // own to send.
    held.splice(source[0], s[0], 6, out.victim);
    std::this_thread::sleep_for(50ms);  // let the kernel queue it

    const int closed = source[0];
    boost::system::error_code ec;
    held.sched.close_fd(closed, ec);
    int other[2];
    if (::pipe2(other, O_CLOEXEC) != 0)
    {
      out.setup_error = errno;
      return;
    }
    // The lowest free number, the one just closed, goes to the read end.
    out.number_reused = other[0] == closed;
    const char secret[] = "secret";
    if (::write(other[1], secret, 6) != 6)
    {
      out.setup_error = errno;
      return;
    }

    held.release();
    out.blocker = held.blocker;

    char buf[16];
    const ssize_t n = ::recv(s[1], buf, sizeof buf, MSG_DONTWAIT);
    out.leaked = n > 0 ? n : 0;  // from the file that reused the number
    for (int fd : {source[1], s[0], s[1], other[0], other[1]})
      ::close(fd);
  });
  t.join();
  check_cancelled_without_leak(out);
}

BOOST_AUTO_TEST_SUITE_END()
