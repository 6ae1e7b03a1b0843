// Stackful coroutines (asio_uring/spawn.hpp): Boost.Asio's spawn and
// yield_context on asio_uring's context, files and sockets: results, errors
// through yield[ec] and as exceptions, the spawn's own completion token
// (callback, use_future), cancellation bound to that token reaching a ring
// operation, many coroutines in flight at once, and a strand run by two
// threads.
#include <asio_uring/spawn.hpp>

#include <asio_uring/io_context.hpp>
#include <asio_uring/ip/tcp.hpp>
#include <asio_uring/random_access_file.hpp>
#include <asio_uring/steady_timer.hpp>
#include <asio_uring/stream_file.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include "tcp_test_util.hpp"
#include "test_util.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <future>
#include <string>
#include <thread>
#include <vector>

namespace net = asio_uring;
using asio_uring_test::random_bytes;
using asio_uring_test::runs_dry;
using asio_uring_test::temp_file;

namespace {

// A spawn completion handler that records the coroutine's exception.
struct finished
{
  int* calls;
  std::exception_ptr* error;

  void operator()(std::exception_ptr e) const
  {
    ++*calls;
    *error = e;
  }
};

// An endpoint on 127.0.0.1 where nothing listens.
net::ip::tcp::endpoint closed_endpoint(net::io_context& ctx)
{
  auto listener = asio_uring_test::make_listener(ctx);
  return listener.local_endpoint();
}

} // namespace

BOOST_AUTO_TEST_SUITE(spawn)

BOOST_AUTO_TEST_CASE(file_reads_and_writes_through_yield)
{
  const auto data = random_bytes(1 << 20);
  temp_file src(data);
  temp_file dst;
  net::io_context ctx;
  std::vector<unsigned char> got(data.size());
  std::size_t read_n = 0, written_n = 0;
  int calls = 0;
  std::exception_ptr error;

  net::spawn(ctx,
      [&](net::yield_context yield)
      {
        net::stream_file in(ctx, src.path(), net::file_base::read_only);
        read_n = net::async_read(in, net::buffer(got), yield);
        net::random_access_file out(ctx, dst.path(), net::file_base::write_only);
        written_n = net::async_write_at(out, 0, net::buffer(got), yield);
      },
      finished{&calls, &error});

  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(calls == 1);
  BOOST_TEST(!error);
  BOOST_TEST(read_n == data.size());
  BOOST_TEST(written_n == data.size());
  BOOST_TEST((dst.contents() == data));
}

BOOST_AUTO_TEST_CASE(tcp_echo_between_two_coroutines)
{
  net::io_context ctx;
  auto acceptor = asio_uring_test::make_listener(ctx);
  const auto endpoint = acceptor.local_endpoint();
  const std::string message(100000, 'x');
  std::string echoed;
  int calls = 0;
  std::exception_ptr server_error, client_error;

  net::spawn(ctx,
      [&](net::yield_context yield)
      {
        net::ip::tcp::socket peer = acceptor.async_accept(yield);
        std::string line;
        std::size_t n = net::async_read_until(
            peer, net::dynamic_buffer(line), '\n', yield);
        net::async_write(peer, net::buffer(line, n), yield);
      },
      finished{&calls, &server_error});

  net::spawn(ctx,
      [&](net::yield_context yield)
      {
        net::ip::tcp::socket s(ctx);
        s.async_connect(endpoint, yield);
        net::async_write(s, net::buffer(message + '\n'), yield);
        echoed.resize(message.size() + 1);
        net::async_read(s, net::buffer(echoed), yield);
      },
      finished{&calls, &client_error});

  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(calls == 2);
  BOOST_TEST(!server_error);
  BOOST_TEST(!client_error);
  BOOST_TEST((echoed == message + '\n'));
}

BOOST_AUTO_TEST_CASE(errors_reach_yield_ec)
{
  net::io_context ctx;
  const auto closed_port = closed_endpoint(ctx);
  temp_file empty;
  boost::system::error_code refused_ec, eof_ec;
  int calls = 0;
  std::exception_ptr error;

  net::spawn(ctx,
      [&](net::yield_context yield)
      {
        net::ip::tcp::socket s(ctx);
        s.async_connect(closed_port, yield[refused_ec]);
        net::stream_file f(ctx, empty.path(), net::file_base::read_only);
        char byte;
        f.async_read_some(net::buffer(&byte, 1), yield[eof_ec]);
      },
      finished{&calls, &error});

  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(calls == 1);
  BOOST_TEST(!error);
  BOOST_TEST(refused_ec == boost::asio::error::connection_refused);
  BOOST_TEST(eof_ec == boost::asio::error::eof);
}

// Left out under AddressSanitizer: Debian's Boost.Context switches stacks
// without telling ASan (its fcontext fibers have no sanitizer hooks), and
// ASan then reports a false stack-buffer-overflow when a coroutine throws.
// The same happens with Boost.Asio's own sockets; the build with the hooks
// (BOOST_USE_UCONTEXT, BOOST_USE_ASAN) needs a Boost.Context library built
// that way.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool throwing_on_a_fiber_stack_is_checkable = false;
#else
constexpr bool throwing_on_a_fiber_stack_is_checkable = true;
#endif

BOOST_AUTO_TEST_CASE(errors_throw_from_yield_without_ec,
    *boost::unit_test::enable_if<throwing_on_a_fiber_stack_is_checkable>())
{
  net::io_context ctx;
  const auto closed_port = closed_endpoint(ctx);
  temp_file empty;
  boost::system::error_code thrown_code;
  int calls = 0;
  std::exception_ptr error, escaped;

  net::spawn(ctx,
      [&](net::yield_context yield)
      {
        net::stream_file f(ctx, empty.path(), net::file_base::read_only);
        char byte;
        try
        {
          f.async_read_some(net::buffer(&byte, 1), yield);
        }
        catch (const boost::system::system_error& e)
        {
          thrown_code = e.code();
        }
      },
      finished{&calls, &error});

  // Not caught inside: it reaches the spawn's completion handler.
  net::spawn(ctx,
      [&](net::yield_context yield)
      {
        net::ip::tcp::socket s(ctx);
        s.async_connect(closed_port, yield);
      },
      finished{&calls, &escaped});

  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(calls == 2);
  BOOST_TEST(!error);
  BOOST_TEST(thrown_code == boost::asio::error::eof);
  BOOST_REQUIRE(escaped);
  try
  {
    std::rethrow_exception(escaped);
  }
  catch (const boost::system::system_error& e)
  {
    BOOST_TEST(e.code() == boost::asio::error::connection_refused);
  }
}

BOOST_AUTO_TEST_CASE(spawn_result_through_use_future_and_callback)
{
  const auto data = random_bytes(4096, 7);
  temp_file file(data);
  net::io_context ctx;

  auto byte_sum = [&](net::yield_context yield)
  {
    net::random_access_file f(ctx, file.path(), net::file_base::read_only);
    std::vector<unsigned char> buf(data.size());
    net::async_read_at(f, 0, net::buffer(buf), yield);
    unsigned sum = 0;
    for (unsigned char b : buf)
      sum += b;
    return sum;
  };
  unsigned expected = 0;
  for (unsigned char b : data)
    expected += b;

  std::future<unsigned> future = net::spawn(ctx, byte_sum, net::use_future);
  unsigned from_callback = 0;
  int calls = 0;
  net::spawn(ctx, byte_sum,
      [&](std::exception_ptr e, unsigned sum)
      {
        ++calls;
        BOOST_TEST(!e);
        from_callback = sum;
      });

  BOOST_TEST(runs_dry(ctx));
  BOOST_REQUIRE(future.wait_for(std::chrono::seconds(0))
      == std::future_status::ready);
  BOOST_TEST(future.get() == expected);
  BOOST_TEST(calls == 1);
  BOOST_TEST(from_callback == expected);
}

// The spawn's token carries a cancellation slot: emitting on it cancels the
// ring operation the coroutine waits on, and the socket loses no data.
BOOST_AUTO_TEST_CASE(cancellation_bound_to_the_spawn_token)
{
  net::io_context ctx;
  auto [server, client] = asio_uring_test::connected_pair(ctx);
  boost::asio::cancellation_signal signal;
  boost::system::error_code timer_ec, read_ec;
  std::string after;
  int calls = 0;
  std::exception_ptr error;
  bool waiting = false, read_done = false;

  net::spawn(ctx,
      [&](net::yield_context yield)
      {
        net::steady_timer t(ctx, std::chrono::hours(1));
        waiting = true;
        t.async_wait(yield[timer_ec]);

        char buf[16];
        waiting = true;
        server.async_read_some(net::buffer(buf), yield[read_ec]);
        read_done = true;

        // The cancelled receive took nothing: the bytes sent now all arrive.
        after.resize(5);
        net::async_read(server, net::buffer(after), yield);
      },
      boost::asio::bind_cancellation_slot(signal.slot(),
          finished{&calls, &error}));

  for (int step = 0; step < 2; ++step)
  {
    waiting = false;
    while (!waiting && ctx.run_one_for(std::chrono::seconds(10)) != 0)
      ;
    BOOST_REQUIRE(waiting);
    ctx.poll(); // the operation reaches the ring
    signal.emit(boost::asio::cancellation_type::terminal);
  }
  // Nothing is sent until the receive has completed: the cancellation
  // cannot lose the race to the data.
  while (!read_done && ctx.run_one_for(std::chrono::seconds(10)) != 0)
    ;
  BOOST_REQUIRE(read_done);
  net::write(client, net::buffer(std::string("hello")));

  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(calls == 1);
  BOOST_TEST(!error);
  BOOST_TEST(timer_ec == boost::asio::error::operation_aborted);
  BOOST_TEST(read_ec == boost::asio::error::operation_aborted);
  BOOST_TEST(after == "hello");
}

// 64 coroutines each read their own 4 KiB block of one file object, all
// suspended at once.
BOOST_AUTO_TEST_CASE(many_coroutines_share_one_file)
{
  constexpr std::size_t blocks = 64, block = 4096;
  const auto data = random_bytes(blocks * block, 99);
  temp_file file(data);
  net::io_context ctx;
  net::random_access_file f(ctx, file.path(), net::file_base::read_only);
  std::vector<unsigned char> got(data.size());
  int calls = 0;
  std::exception_ptr error;

  for (std::size_t i = 0; i < blocks; ++i)
    net::spawn(ctx,
        [&, i](net::yield_context yield)
        {
          net::async_read_at(f, i * block,
              net::buffer(got.data() + i * block, block), yield);
        },
        [&](std::exception_ptr e)
        {
          ++calls;
          if (e)
            error = e;
        });

  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(calls == static_cast<int>(blocks));
  BOOST_TEST(!error);
  BOOST_TEST((got == data));
}

// Coroutines on one strand, the context run by two threads: the strand
// serialises them across their suspensions.
BOOST_AUTO_TEST_CASE(coroutines_on_a_strand_run_by_two_threads)
{
  net::io_context ctx;
  auto strand = net::make_strand(ctx);
  constexpr int coroutines = 8, steps = 50;
  int counter = 0; // guarded by the strand only
  std::atomic<int> inside{0}, overlaps{0}, calls{0}, failed{0};

  for (int c = 0; c < coroutines; ++c)
    net::spawn(strand,
        [&](net::yield_context yield)
        {
          net::steady_timer t(yield.get_executor());
          for (int i = 0; i < steps; ++i)
          {
            if (inside.fetch_add(1) != 0)
              ++overlaps;
            ++counter;
            inside.fetch_sub(1);
            t.expires_after(std::chrono::microseconds(50));
            t.async_wait(yield);
          }
        },
        [&](std::exception_ptr e)
        {
          if (e)
            ++failed;
          ++calls;
        });

  std::thread other([&] { ctx.run(); });
  ctx.run();
  other.join();
  BOOST_TEST(calls.load() == coroutines);
  BOOST_TEST(failed.load() == 0);
  BOOST_TEST(overlaps.load() == 0);
  BOOST_TEST(counter == coroutines * steps);
}

BOOST_AUTO_TEST_SUITE_END()
