// stream_file on descriptors the program made non-blocking: the kernel
// answers -EAGAIN, the operation waits for readiness (a poll) and retries,
// without spinning.
#include <asio_uring/stream_file.hpp>

#include <asio_uring/facade.hpp>

#include <boost/test/unit_test.hpp>

#include "test_util.hpp"

#include <chrono>
#include <fcntl.h>
#include <string>
#include <thread>
#include <unistd.h>

namespace net = asio_uring;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(file_nonblocking)

BOOST_AUTO_TEST_CASE(read_of_nonblocking_pipe_waits_without_spinning)
{
  int fds[2];
  BOOST_REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
  net::io_context ctx;
  net::stream_file f(ctx, fds[0]);
  char buf[16] = {};
  boost::system::error_code ec = net::error::fault;
  std::size_t n = 0;
  f.async_read_some(net::buffer(buf), [&](boost::system::error_code e, std::size_t k) {
    ec = e;
    n = k;
  });
  std::thread writer([&] {
    std::this_thread::sleep_for(100ms);
    BOOST_REQUIRE(::write(fds[1], "ready", 5) == 5);
  });
  ctx.run_for(20s);
  writer.join();
  ::close(fds[1]);
  BOOST_TEST(!ec);
  BOOST_TEST(n == 5u);
  BOOST_TEST(std::string(buf, 5) == "ready");
  // A spinning retry would have entered the kernel thousands of times in
  // those 100 ms; waiting for readiness takes a handful.
  BOOST_TEST(ctx.enter_count() < 50u);
}

BOOST_AUTO_TEST_CASE(write_to_full_nonblocking_pipe_waits_for_room)
{
  int fds[2];
  BOOST_REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
  // Fill the pipe.
  char block[4096] = {};
  while (::write(fds[1], block, sizeof(block)) > 0)
  {
  }
  net::io_context ctx;
  net::stream_file f(ctx, fds[1]);
  boost::system::error_code ec = net::error::fault;
  std::size_t n = 0;
  f.async_write_some(net::buffer("x", 1), [&](boost::system::error_code e, std::size_t k) {
    ec = e;
    n = k;
  });
  std::thread reader([&] {
    std::this_thread::sleep_for(100ms);
    char sink[65536];
    while (::read(fds[0], sink, sizeof(sink)) > 0)
    {
    }
  });
  ctx.run_for(20s);
  reader.join();
  ::close(fds[0]);
  BOOST_TEST(!ec);
  BOOST_TEST(n == 1u);
  BOOST_TEST(ctx.enter_count() < 50u);
}

BOOST_AUTO_TEST_CASE(cancel_while_waiting_for_readiness_aborts)
{
  int fds[2];
  BOOST_REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
  net::io_context ctx;
  net::stream_file f(ctx, fds[0]);
  char buf[16];
  boost::system::error_code ec;
  f.async_read_some(net::buffer(buf), [&](boost::system::error_code e, std::size_t) { ec = e; });
  net::post(ctx, [&] { f.cancel(); });
  ctx.run_for(20s);
  ::close(fds[1]);
  BOOST_TEST(ec == net::error::operation_aborted);
}

BOOST_AUTO_TEST_SUITE_END()

// This kernel waits even on O_NONBLOCK pipes, so the EAGAIN path is driven
// through the fault seam on a regular file (a positional read that is
// repeated loses nothing): the first result becomes -EAGAIN, and the read
// must still deliver the right bytes, after a readiness poll.
namespace {

struct eagain_once : asio_uring::detail::core::fault_hooks
{
  int rewritten = 0;
  void on_completion(asio_uring::detail::core::completion& c) noexcept override
  {
    if (rewritten == 0 && c.user_data > 2 && c.res > 0)
    {
      c.res = -EAGAIN;
      ++rewritten;
    }
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(file_nonblocking_injected)

BOOST_AUTO_TEST_CASE(eagain_result_is_retried_after_readiness)
{
  auto data = asio_uring_test::random_bytes(1000, 17);
  asio_uring_test::temp_file tf(data);
  net::io_context ctx;
  eagain_once hooks;
  ctx.impl().ring().set_fault_hooks(&hooks);
  net::stream_file f(ctx, tf.path(), net::file_base::read_only);
  std::vector<unsigned char> buf(1000);
  boost::system::error_code ec = net::error::fault;
  std::size_t n = 0;
  f.async_read_some(net::buffer(buf), [&](boost::system::error_code e, std::size_t k) {
    ec = e;
    n = k;
  });
  ctx.run_for(20s);
  ctx.impl().ring().set_fault_hooks(nullptr);
  BOOST_TEST(hooks.rewritten == 1);
  BOOST_TEST(!ec);
  BOOST_TEST(n == 1000u);
  BOOST_TEST((buf == data));
}

BOOST_AUTO_TEST_CASE(interrupted_result_reaches_the_handler)
{
  // As Boost.Asio's io_uring file operations: EINTR is not retried (on some
  // kernels a cancelled blocking read reports it).
  struct eintr_once : asio_uring::detail::core::fault_hooks
  {
    void on_completion(asio_uring::detail::core::completion& c) noexcept override
    {
      if (c.user_data > 2 && c.res > 0)
        c.res = -EINTR;
    }
  } hooks;
  asio_uring_test::temp_file tf(asio_uring_test::random_bytes(100));
  net::io_context ctx;
  ctx.impl().ring().set_fault_hooks(&hooks);
  net::stream_file f(ctx, tf.path(), net::file_base::read_only);
  char buf[100];
  boost::system::error_code ec;
  f.async_read_some(net::buffer(buf), [&](boost::system::error_code e, std::size_t) { ec = e; });
  ctx.run_for(20s);
  ctx.impl().ring().set_fault_hooks(nullptr);
  BOOST_TEST(ec == net::error::interrupted);
}

BOOST_AUTO_TEST_SUITE_END()
