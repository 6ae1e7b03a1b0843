// asio_uring::steady_timer: every member, every completion token kind,
// cancellation, moves, threads (the cases are in timer_test_cases.ipp).
#include <asio_uring/steady_timer.hpp>  // first: the header is self-contained

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

static_assert(std::is_same_v<asio_uring::steady_timer,
    asio_uring::basic_waitable_timer<std::chrono::steady_clock,
        boost::asio::wait_traits<std::chrono::steady_clock>,
        boost::asio::any_io_executor>>);

BOOST_AUTO_TEST_SUITE(steady_timer)

using timer_type = asio_uring::steady_timer;
#include "timer_test_cases.ipp"

BOOST_AUTO_TEST_SUITE_END()
