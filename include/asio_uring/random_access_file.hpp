//
// random_access_file.hpp
// ~~~~~~~~~~~~~~~~~~~~~~
//
#pragma once

#include <asio_uring/basic_random_access_file.hpp>

namespace asio_uring {

/// Typedef for the typical usage of a random-access file.
using random_access_file = basic_random_access_file<>;

} // namespace asio_uring
