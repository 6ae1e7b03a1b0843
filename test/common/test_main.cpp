// The Boost.Test runner, compiled once and linked into every test program
// (header-only Boost.Test: Debian's libboost1.81-dev ships no built library).
#define BOOST_TEST_MODULE asio_uring
#include <boost/test/included/unit_test.hpp>
