// asio_uring extensions: metadata operations through the ring.
#include <asio_uring/random_access_file.hpp>

#include <asio_uring/facade.hpp>
#include <asio_uring/stream_file.hpp>

#include <boost/test/unit_test.hpp>

#include "test_util.hpp"

#include <sys/stat.h>

namespace net = asio_uring;
using asio_uring_test::random_bytes;
using asio_uring_test::temp_file;

namespace {

std::uint64_t file_size(const std::string& path)
{
  struct stat s;
  BOOST_REQUIRE(::stat(path.c_str(), &s) == 0);
  return static_cast<std::uint64_t>(s.st_size);
}

} // namespace

BOOST_AUTO_TEST_SUITE(file_async_metadata)

BOOST_AUTO_TEST_CASE(async_size_reports_the_size)
{
  temp_file tf(random_bytes(12345));
  net::io_context ctx;
  net::random_access_file f(ctx, tf.path(), net::file_base::read_only);
  boost::system::error_code ec;
  std::uint64_t size = 0;
  f.async_size([&](boost::system::error_code e, std::uint64_t s) {
    ec = e;
    size = s;
  });
  BOOST_TEST(size == 0u);  // not inside the initiating function
  ctx.run();
  BOOST_TEST(!ec);
  BOOST_TEST(size == 12345u);
}

BOOST_AUTO_TEST_CASE(async_resize_truncates_and_extends)
{
  temp_file tf(random_bytes(10000));
  net::io_context ctx;
  net::random_access_file f(ctx, tf.path(), net::file_base::read_write);
  boost::system::error_code ec1, ec2;
  f.async_resize(100, [&](boost::system::error_code e) {
    ec1 = e;
    BOOST_TEST(file_size(tf.path()) == 100u);
    f.async_resize(1 << 20, [&](boost::system::error_code e2) { ec2 = e2; });
  });
  ctx.run();
  BOOST_TEST(!ec1);
  BOOST_TEST(!ec2);
  BOOST_TEST(file_size(tf.path()) == (1u << 20));
}

BOOST_AUTO_TEST_CASE(async_resize_of_read_only_file_fails)
{
  temp_file tf(random_bytes(100));
  net::io_context ctx;
  net::random_access_file f(ctx, tf.path(), net::file_base::read_only);
  boost::system::error_code ec;
  f.async_resize(10, [&](boost::system::error_code e) { ec = e; });
  ctx.run();
  BOOST_TEST(ec.failed());
  BOOST_TEST(file_size(tf.path()) == 100u);
}

BOOST_AUTO_TEST_CASE(async_sync_all_and_sync_data_succeed)
{
  temp_file tf(random_bytes(100));
  net::io_context ctx;
  net::random_access_file f(ctx, tf.path(), net::file_base::read_write);
  boost::system::error_code ec1 = net::error::fault, ec2 = net::error::fault;
  f.async_sync_all([&](boost::system::error_code e) { ec1 = e; });
  f.async_sync_data([&](boost::system::error_code e) { ec2 = e; });
  ctx.run();
  BOOST_TEST(!ec1);
  BOOST_TEST(!ec2);
}

BOOST_AUTO_TEST_CASE(async_allocate_grows_the_file)
{
  temp_file tf;
  net::io_context ctx;
  net::random_access_file f(ctx, tf.path(), net::file_base::read_write);
  boost::system::error_code ec = net::error::fault;
  f.async_allocate(0, 65536, [&](boost::system::error_code e) { ec = e; });
  ctx.run();
  if (ec == boost::system::error_code(EOPNOTSUPP, boost::system::system_category()))
  {
    BOOST_TEST_MESSAGE("skipped: fallocate not supported here");
    return;
  }
  BOOST_TEST(!ec);
  BOOST_TEST(file_size(tf.path()) == 65536u);
}

BOOST_AUTO_TEST_CASE(async_open_opens_and_reads)
{
  auto data = random_bytes(5000, 8);
  temp_file tf(data);
  net::io_context ctx;
  net::stream_file f(ctx);
  boost::system::error_code ec = net::error::fault;
  std::vector<unsigned char> buf(8000);
  std::size_t n = 0;
  f.async_open(tf.path(), net::file_base::read_only, [&](boost::system::error_code e) {
    ec = e;
    BOOST_TEST(f.is_open());
    net::async_read(f, net::buffer(buf),
        [&](boost::system::error_code, std::size_t k) { n = k; });
  });
  BOOST_TEST(!f.is_open());
  ctx.run();
  BOOST_TEST(!ec);
  BOOST_TEST(n == data.size());
  BOOST_TEST(std::equal(data.begin(), data.end(), buf.begin()));
}

BOOST_AUTO_TEST_CASE(async_open_missing_file_fails_with_no_such_file)
{
  net::io_context ctx;
  net::random_access_file f(ctx);
  boost::system::error_code ec;
  f.async_open("/nonexistent/asio_uring/file", net::file_base::read_only,
      [&](boost::system::error_code e) { ec = e; });
  ctx.run();
  BOOST_TEST(ec == boost::system::error_code(ENOENT, boost::system::system_category()));
  BOOST_TEST(!f.is_open());
}

BOOST_AUTO_TEST_CASE(async_open_on_open_file_is_already_open)
{
  temp_file tf(random_bytes(10));
  net::io_context ctx;
  net::random_access_file f(ctx, tf.path(), net::file_base::read_only);
  boost::system::error_code ec;
  f.async_open(tf.path(), net::file_base::read_only,
      [&](boost::system::error_code e) { ec = e; });
  ctx.run();
  BOOST_TEST(ec == net::error::already_open);
}

BOOST_AUTO_TEST_CASE(metadata_operations_on_closed_file_are_bad_descriptor)
{
  net::io_context ctx;
  net::random_access_file f(ctx);
  boost::system::error_code e1, e2, e3, e4, e5;
  f.async_size([&](boost::system::error_code e, std::uint64_t) { e1 = e; });
  f.async_sync_all([&](boost::system::error_code e) { e2 = e; });
  f.async_sync_data([&](boost::system::error_code e) { e3 = e; });
  f.async_resize(1, [&](boost::system::error_code e) { e4 = e; });
  f.async_allocate(0, 1, [&](boost::system::error_code e) { e5 = e; });
  ctx.run();
  for (auto& e : {e1, e2, e3, e4, e5})
    BOOST_TEST(e == net::error::bad_descriptor);
}

BOOST_AUTO_TEST_CASE(async_sync_all_works_with_coroutines)
{
  temp_file tf(random_bytes(10));
  net::io_context ctx;
  net::random_access_file f(ctx, tf.path(), net::file_base::read_write);
  std::uint64_t size = 0;
  net::co_spawn(ctx,
      [&]() -> net::awaitable<void> {
        co_await f.async_sync_all(net::use_awaitable);
        size = co_await f.async_size(net::use_awaitable);
      },
      net::detached);
  ctx.run();
  BOOST_TEST(size == 10u);
}

BOOST_AUTO_TEST_SUITE_END()
