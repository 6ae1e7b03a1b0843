// Smoke test of the run loop (the full io_context suite is io_context.cpp).
#include <asio_uring/io_context.hpp>

#include <boost/asio/post.hpp>
#include <boost/test/unit_test.hpp>

BOOST_AUTO_TEST_SUITE(io_context_basic)

BOOST_AUTO_TEST_CASE(run_executes_posted_handler_once)
{
  asio_uring::io_context ctx;
  int count = 0;
  boost::asio::post(ctx, [&] { ++count; });
  BOOST_TEST(ctx.run() == 1u);
  BOOST_TEST(count == 1);
  BOOST_TEST(ctx.stopped());
}

BOOST_AUTO_TEST_SUITE_END()
