//
// steady_timer.hpp
// ~~~~~~~~~~~~~~~~
//
#pragma once

#include <asio_uring/basic_waitable_timer.hpp>

#include <chrono>

namespace asio_uring {

/// Typedef for a timer based on the steady clock.
using steady_timer = basic_waitable_timer<std::chrono::steady_clock>;

} // namespace asio_uring
