//
// stream_file.hpp
// ~~~~~~~~~~~~~~~
//
#pragma once

#include <asio_uring/basic_stream_file.hpp>

namespace asio_uring {

/// Typedef for the typical usage of a stream-oriented file.
using stream_file = basic_stream_file<>;

} // namespace asio_uring
