// Per-operation deadlines as linked timeouts (with_timeout token adapter).
#include <asio_uring/with_timeout.hpp>

#include <asio_uring/facade.hpp>
#include <asio_uring/random_access_file.hpp>
#include <asio_uring/stream_file.hpp>

#include <boost/test/unit_test.hpp>

#include "test_util.hpp"

#include <chrono>
#include <unistd.h>

namespace net = asio_uring;
using namespace std::chrono_literals;
using asio_uring_test::random_bytes;
using asio_uring_test::temp_file;

namespace {

// A stream_file on the read end of a pipe: reads wait until written.
struct pipe_pair
{
  pipe_pair()
  {
    if (::pipe2(fds, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe2");
  }
  ~pipe_pair()
  {
    if (fds[1] >= 0)
      ::close(fds[1]);
  }
  int release_read_end() { return std::exchange(fds[0], -1); }
  int fds[2];
};

} // namespace

BOOST_AUTO_TEST_SUITE(with_timeout)

BOOST_AUTO_TEST_CASE(read_that_never_completes_times_out)
{
  net::io_context ctx;
  pipe_pair p;
  net::stream_file f(ctx, p.release_read_end());
  char buf[16];
  boost::system::error_code ec;
  bool called = false;
  f.async_read_some(net::buffer(buf),
      net::with_timeout(20ms, [&](boost::system::error_code e, std::size_t) {
        ec = e;
        called = true;
      }));
  ctx.run_for(10s);
  BOOST_TEST(called);
  BOOST_TEST(ec == net::error::timed_out);
}

BOOST_AUTO_TEST_CASE(operation_finishing_first_keeps_its_result)
{
  auto data = random_bytes(4096);
  temp_file tf(data);
  net::io_context ctx;
  net::random_access_file f(ctx, tf.path(), net::file_base::read_only);
  std::vector<unsigned char> buf(4096);
  boost::system::error_code ec;
  std::size_t n = 0;
  f.async_read_some_at(0, net::buffer(buf),
      net::with_timeout(10s, [&](boost::system::error_code e, std::size_t k) {
        ec = e;
        n = k;
      }));
  ctx.run_for(20s);
  BOOST_TEST(!ec);
  BOOST_TEST(n == 4096u);
  BOOST_TEST((buf == data));
}

BOOST_AUTO_TEST_CASE(data_arriving_before_deadline_is_read)
{
  net::io_context ctx;
  pipe_pair p;
  net::stream_file f(ctx, p.release_read_end());
  char buf[16] = {};
  boost::system::error_code ec;
  std::size_t n = 0;
  f.async_read_some(net::buffer(buf),
      net::with_timeout(30s, [&](boost::system::error_code e, std::size_t k) {
        ec = e;
        n = k;
      }));
  net::post(ctx, [&] { BOOST_REQUIRE(::write(p.fds[1], "hello", 5) == 5); });
  ctx.run_for(20s);
  BOOST_TEST(!ec);
  BOOST_TEST(n == 5u);
  BOOST_TEST(std::string(buf, 5) == "hello");
}

BOOST_AUTO_TEST_CASE(works_with_coroutines_and_as_tuple)
{
  net::io_context ctx;
  pipe_pair p;
  net::stream_file f(ctx, p.release_read_end());
  boost::system::error_code result;
  net::co_spawn(ctx,
      [&]() -> net::awaitable<void> {
        char buf[8];
        auto [ec, n] = co_await f.async_read_some(net::buffer(buf),
            net::with_timeout(10ms, net::as_tuple(net::use_awaitable)));
        result = ec;
        (void)n;
      },
      net::detached);
  ctx.run_for(10s);
  BOOST_TEST(result == net::error::timed_out);
}

BOOST_AUTO_TEST_CASE(many_timed_out_operations_leave_nothing_behind)
{
  net::io_context ctx;
  pipe_pair p;
  net::stream_file f(ctx, p.release_read_end());
  char buf[8];
  int timed_out = 0;
  for (int i = 0; i < 200; ++i)
    f.async_read_some(net::buffer(buf),
        net::with_timeout(1ms, [&](boost::system::error_code e, std::size_t) {
          if (e == net::error::timed_out)
            ++timed_out;
        }));
  ctx.run_for(20s);
  BOOST_TEST(timed_out == 200);
  BOOST_TEST(ctx.stopped());
}

BOOST_AUTO_TEST_SUITE_END()
