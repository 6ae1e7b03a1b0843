//
// high_resolution_timer.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~
//
#pragma once

#include <asio_uring/basic_waitable_timer.hpp>

#include <chrono>

namespace asio_uring {

/// Typedef for a timer based on the high resolution clock.
using high_resolution_timer =
    basic_waitable_timer<std::chrono::high_resolution_clock>;

} // namespace asio_uring
