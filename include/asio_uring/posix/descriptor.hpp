//
// posix/descriptor.hpp
// ~~~~~~~~~~~~~~~~~~~~
//
#pragma once

#include <asio_uring/posix/basic_descriptor.hpp>

namespace asio_uring::posix {

/// Typedef for the typical usage of basic_descriptor.
using descriptor = basic_descriptor<>;

} // namespace asio_uring::posix
