// Registered (fixed) descriptors: register_descriptor() on files and sockets.
#include <asio_uring/random_access_file.hpp>

#include <asio_uring.hpp>

#include <boost/test/unit_test.hpp>

#include "test_util.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace net = asio_uring;
using asio_uring_test::random_bytes;
using asio_uring_test::temp_file;

BOOST_AUTO_TEST_SUITE(registered_files)

BOOST_AUTO_TEST_CASE(registered_file_reads_and_writes_every_byte)
{
  auto data = random_bytes(64 * 1024, 31);
  temp_file tf(data);
  net::io_context ctx;
  net::random_access_file f(ctx, tf.path(), net::file_base::read_write);
  BOOST_TEST(!f.is_descriptor_registered());
  f.register_descriptor();
  BOOST_TEST(f.is_descriptor_registered());
  std::vector<unsigned char> in(data.size());
  auto out = random_bytes(8192, 32);
  boost::system::error_code rec, wec;
  net::async_read_at(f, 0, net::buffer(in),
      [&](boost::system::error_code e, std::size_t) { rec = e; });
  ctx.run();
  ctx.restart();
  net::async_write_at(f, 1000, net::buffer(out),
      [&](boost::system::error_code e, std::size_t) { wec = e; });
  ctx.run();
  BOOST_TEST(!rec);
  BOOST_TEST(!wec);
  BOOST_TEST((in == data));
  auto after = tf.contents();
  BOOST_TEST(std::equal(out.begin(), out.end(), after.begin() + 1000));
}

// The table holds the open file itself: replacing what the descriptor number
// refers to (dup2) does not change what a registered object reads. An
// unregistered object reads whatever the number refers to now.
BOOST_AUTO_TEST_CASE(operations_use_the_table_slot_not_the_number)
{
  temp_file a(std::vector<unsigned char>(4096, 'A'));
  temp_file b(std::vector<unsigned char>(4096, 'B'));
  net::io_context ctx;
  net::random_access_file f(ctx, a.path(), net::file_base::read_only);
  f.register_descriptor();
  int other = ::open(b.path().c_str(), O_RDONLY | O_CLOEXEC);
  BOOST_REQUIRE(other >= 0);
  BOOST_REQUIRE(::dup2(other, f.native_handle()) == f.native_handle());
  ::close(other);
  char c = 0;
  f.async_read_some_at(0, net::buffer(&c, 1),
      [&](boost::system::error_code, std::size_t) {});
  ctx.run();
  BOOST_TEST(c == 'A');

  net::random_access_file g(ctx, a.path(), net::file_base::read_only);
  other = ::open(b.path().c_str(), O_RDONLY | O_CLOEXEC);
  BOOST_REQUIRE(::dup2(other, g.native_handle()) == g.native_handle());
  ::close(other);
  c = 0;
  ctx.restart();
  g.async_read_some_at(0, net::buffer(&c, 1),
      [&](boost::system::error_code, std::size_t) {});
  ctx.run();
  BOOST_TEST(c == 'B');
}

BOOST_AUTO_TEST_CASE(close_forgets_the_slot_so_a_reused_number_is_read_plainly)
{
  temp_file a(std::vector<unsigned char>(100, 'A'));
  temp_file b(std::vector<unsigned char>(100, 'B'));
  net::io_context ctx;
  net::random_access_file f(ctx, a.path(), net::file_base::read_only);
  f.register_descriptor();
  const int number = f.native_handle();
  f.close();
  BOOST_TEST(!f.is_descriptor_registered());
  net::random_access_file g(ctx, b.path(), net::file_base::read_only);
  BOOST_TEST(g.native_handle() == number);  // the lowest free number
  char c = 0;
  g.async_read_some_at(0, net::buffer(&c, 1),
      [&](boost::system::error_code, std::size_t) {});
  ctx.run();
  BOOST_TEST(c == 'B');
}

BOOST_AUTO_TEST_CASE(register_closed_object_is_bad_descriptor)
{
  net::io_context ctx;
  net::random_access_file f(ctx);
  boost::system::error_code ec;
  f.register_descriptor(ec);
  BOOST_TEST(ec == net::error::bad_descriptor);
  BOOST_CHECK_THROW(f.register_descriptor(), boost::system::system_error);
}

BOOST_AUTO_TEST_CASE(cancel_reaches_operations_on_a_registered_descriptor)
{
  int fds[2];
  BOOST_REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  net::io_context ctx;
  net::stream_file f(ctx, fds[0]);
  f.register_descriptor();
  char buf[8];
  boost::system::error_code ec;
  f.async_read_some(net::buffer(buf), [&](boost::system::error_code e, std::size_t) { ec = e; });
  net::post(ctx, [&] { f.cancel(); });
  ctx.run_for(std::chrono::seconds(20));
  ::close(fds[1]);
  BOOST_TEST(ec == net::error::operation_aborted);
}

BOOST_AUTO_TEST_CASE(registered_sockets_echo)
{
  net::io_context ctx;
  net::ip::tcp::acceptor acc(ctx,
      net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  net::ip::tcp::socket client(ctx);
  net::ip::tcp::socket server(ctx);
  client.connect(acc.local_endpoint());
  acc.accept(server);
  client.register_descriptor();
  server.register_descriptor();
  BOOST_TEST(client.is_descriptor_registered());
  auto msg = random_bytes(100000, 5);
  std::vector<unsigned char> got(msg.size());
  boost::system::error_code wec, rec;
  net::async_write(client, net::buffer(msg),
      [&](boost::system::error_code e, std::size_t) { wec = e; });
  net::async_read(server, net::buffer(got),
      [&](boost::system::error_code e, std::size_t) { rec = e; });
  ctx.run_for(std::chrono::seconds(20));
  BOOST_TEST(!wec);
  BOOST_TEST(!rec);
  BOOST_TEST((got == msg));
}

BOOST_AUTO_TEST_SUITE_END()
