//
// posix/stream_descriptor.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~
//
#pragma once

#include <asio_uring/posix/basic_stream_descriptor.hpp>

namespace asio_uring::posix {

/// Typedef for the typical usage of a stream-oriented descriptor.
using stream_descriptor = basic_stream_descriptor<>;

} // namespace asio_uring::posix
