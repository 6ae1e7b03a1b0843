//
// system_timer.hpp
// ~~~~~~~~~~~~~~~~
//
#pragma once

#include <asio_uring/basic_waitable_timer.hpp>

#include <chrono>

namespace asio_uring {

/// Typedef for a timer based on the system clock.
using system_timer = basic_waitable_timer<std::chrono::system_clock>;

} // namespace asio_uring
