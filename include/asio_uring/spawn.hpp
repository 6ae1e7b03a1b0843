//
// spawn.hpp
// ~~~~~~~~~
//
// Stackful coroutines: Boost.Asio's spawn and yield_context, reachable as
// asio_uring::spawn and asio_uring::yield_context.
//
// Kept out of the umbrella header, as Boost.Asio keeps <boost/asio/spawn.hpp>
// out of <boost/asio.hpp>: a program that includes it links Boost.Context
// (CMake: find_package(boost_context 1.81 CONFIG) and Boost::context; Debian:
// libboost-context1.81-dev), exactly as it would with Boost.Asio.
//
#pragma once

#include <asio_uring/facade.hpp>

#include <boost/asio/spawn.hpp>

namespace asio_uring {

using boost::asio::basic_yield_context;
using boost::asio::spawn;
using boost::asio::yield_context;

} // namespace asio_uring
