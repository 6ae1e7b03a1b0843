// asio_uring::system_timer and asio_uring::high_resolution_timer: the same
// cases as steady_timer (timer_test_cases.ipp), one suite per timer kind.
#include <asio_uring/system_timer.hpp>  // first: the header is self-contained
#include <asio_uring/high_resolution_timer.hpp>

#include <asio_uring/io_context.hpp>

#include <boost/asio.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <future>
#include <memory>
#include <random>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <vector>

static_assert(std::is_same_v<asio_uring::system_timer,
    asio_uring::basic_waitable_timer<std::chrono::system_clock>>);
static_assert(std::is_same_v<asio_uring::high_resolution_timer,
    asio_uring::basic_waitable_timer<std::chrono::high_resolution_clock>>);

BOOST_AUTO_TEST_SUITE(system_timer)

using timer_type = asio_uring::system_timer;
#include "timer_test_cases.ipp"

BOOST_AUTO_TEST_CASE(wait_on_time_before_unix_epoch_completes_at_once)
{
  asio_uring::io_context ctx;
  timer_type t(ctx, timer_type::time_point() - std::chrono::hours(24));
  int calls = 0;
  boost::system::error_code got = boost::asio::error::fault;
  t.async_wait([&](boost::system::error_code ec) {
    ++calls;
    got = ec;
  });
  ctx.run_for(hang_guard);
  BOOST_TEST(calls == 1);
  BOOST_TEST(!got);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(high_resolution_timer)

using timer_type = asio_uring::high_resolution_timer;
#include "timer_test_cases.ipp"

BOOST_AUTO_TEST_SUITE_END()
