// The run loop of a context constructed with concurrency hint 1: handlers
// run from a queue the running thread owns, without the mutex. These cases
// pin down that it keeps Boost.Asio's semantics.
#include <asio_uring/io_context.hpp>

#include <asio_uring/facade.hpp>
#include <asio_uring/random_access_file.hpp>
#include <asio_uring/steady_timer.hpp>

#include <boost/test/unit_test.hpp>

#include "test_util.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

namespace net = asio_uring;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(single_thread_loop)

BOOST_AUTO_TEST_CASE(posted_handlers_run_in_order_and_run_counts_them)
{
  net::io_context ctx(1);
  std::vector<int> order;
  for (int i = 0; i < 5; ++i)
    net::post(ctx, [&, i] {
      order.push_back(i);
      if (i == 0)
        net::post(ctx, [&] { order.push_back(100); });
    });
  BOOST_TEST(ctx.run() == 6u);
  BOOST_TEST((order == std::vector<int>{0, 1, 2, 3, 4, 100}));
  BOOST_TEST(ctx.stopped());
}

BOOST_AUTO_TEST_CASE(post_from_another_thread_wakes_a_sleeping_loop)
{
  net::io_context ctx(1);
  auto guard = net::make_work_guard(ctx);
  std::atomic<int> ran{0};
  std::thread poster([&] {
    std::this_thread::sleep_for(50ms);  // let run() go to sleep in the ring
    for (int i = 0; i < 100; ++i)
      net::post(ctx, [&] { ++ran; });
    net::post(ctx, [&] { guard.reset(); });
  });
  std::thread watchdog([&] {
    std::this_thread::sleep_for(30s);
    ctx.stop();
  });
  ctx.run();
  poster.join();
  BOOST_TEST(ran.load() == 100);
  ctx.stop();
  watchdog.detach();
}

BOOST_AUTO_TEST_CASE(stop_inside_a_handler_keeps_the_rest_for_later)
{
  net::io_context ctx(1);
  int ran = 0;
  net::post(ctx, [&] { ++ran; ctx.stop(); });
  net::post(ctx, [&] { ++ran; });
  net::post(ctx, [&] { ++ran; });
  BOOST_TEST(ctx.run() == 1u);
  BOOST_TEST(ran == 1);
  ctx.restart();
  BOOST_TEST(ctx.run() == 2u);
  BOOST_TEST(ran == 3);
}

BOOST_AUTO_TEST_CASE(exception_leaves_remaining_handlers_queued)
{
  net::io_context ctx(1);
  int ran = 0;
  net::post(ctx, [&] { ++ran; throw std::runtime_error("boom"); });
  net::post(ctx, [&] { ++ran; });
  BOOST_CHECK_THROW(ctx.run(), std::runtime_error);
  BOOST_TEST(ran == 1);
  BOOST_TEST(ctx.run() == 1u);
  BOOST_TEST(ran == 2);
}

BOOST_AUTO_TEST_CASE(nested_poll_and_run_one_see_the_enclosing_queue)
{
  net::io_context ctx(1);
  std::vector<int> order;
  net::post(ctx, [&] {
    order.push_back(1);
    net::post(ctx, [&] { order.push_back(3); });
    // Queued before this handler ran, and posted by it: both visible.
    BOOST_TEST(ctx.poll_one() == 1u);
    BOOST_TEST(ctx.run_one() == 1u);
    order.push_back(4);
  });
  net::post(ctx, [&] { order.push_back(2); });
  ctx.run();
  BOOST_TEST((order == std::vector<int>{1, 2, 3, 4}));
}

BOOST_AUTO_TEST_CASE(ring_operations_and_timers_complete)
{
  auto data = asio_uring_test::random_bytes(64 * 1024);
  asio_uring_test::temp_file tf(data);
  net::io_context ctx(1);
  net::random_access_file f(ctx, tf.path(), net::file_base::read_only);
  std::vector<unsigned char> buf(data.size());
  std::size_t reads = 0;
  for (std::size_t off = 0; off < data.size(); off += 4096)
    f.async_read_some_at(off, net::buffer(buf.data() + off, 4096),
        [&](boost::system::error_code ec, std::size_t n) {
          BOOST_TEST(!ec);
          BOOST_TEST(n == 4096u);
          ++reads;
        });
  net::steady_timer t(ctx, 5ms);
  bool fired = false;
  t.async_wait([&](boost::system::error_code ec) { fired = !ec; });
  // A post-only stretch while reads are in flight must not starve them.
  int posts = 0;
  std::function<void()> again = [&] {
    if (++posts < 1000)
      net::post(ctx, again);
  };
  net::post(ctx, again);
  ctx.run();
  BOOST_TEST(reads == data.size() / 4096);
  BOOST_TEST(fired);
  BOOST_TEST(posts == 1000);
  BOOST_TEST((buf == data));
}

BOOST_AUTO_TEST_CASE(completions_interleave_with_endless_posts)
{
  // A handler that always reposts itself keeps handlers ready forever; the
  // read still completes because the loop keeps turning the ring.
  auto data = asio_uring_test::random_bytes(4096);
  asio_uring_test::temp_file tf(data);
  net::io_context ctx(1);
  net::random_access_file f(ctx, tf.path(), net::file_base::read_only);
  std::vector<unsigned char> buf(4096);
  bool read_done = false;
  f.async_read_some_at(0, net::buffer(buf),
      [&](boost::system::error_code, std::size_t) { read_done = true; });
  long spins = 0;
  std::function<void()> spin = [&] {
    ++spins;
    if (!read_done && spins < 10'000'000)
      net::post(ctx, spin);
  };
  net::post(ctx, spin);
  ctx.run();
  BOOST_TEST(read_done);
  BOOST_TEST(spins < 10'000'000);
}

BOOST_AUTO_TEST_CASE(run_with_no_work_returns_at_once)
{
  net::io_context ctx(1);
  BOOST_TEST(ctx.run() == 0u);
  BOOST_TEST(ctx.stopped());
}

BOOST_AUTO_TEST_CASE(work_guard_keeps_run_until_released_from_a_handler)
{
  net::io_context ctx(1);
  auto guard = net::make_work_guard(ctx);
  net::steady_timer t(ctx, 1ms);
  t.async_wait([&](boost::system::error_code) { guard.reset(); });
  BOOST_TEST(ctx.run() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
