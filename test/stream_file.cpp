// stream_file / basic_stream_file: every member, every completion token kind,
// EOF, zero-size buffers, error paths, Asio's free functions, threads.
#include <asio_uring/stream_file.hpp>  // first: the header is self-contained

#include <asio_uring/io_context.hpp>
#include <asio_uring/random_access_file.hpp>

#include "file_test_support.hpp"
#include "test_util.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/promise.hpp>
#include <boost/asio/experimental/use_promise.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <future>
#include <limits>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

namespace asio = boost::asio;
using asio_uring::file_base;
using asio_uring::stream_file;
using asio_uring_test::io_result;
using asio_uring_test::pattern;
using asio_uring_test::temp_file;
using boost::system::error_code;

namespace {

constexpr auto hang_guard = std::chrono::seconds(20);

using native_stream_file =
    asio_uring::basic_stream_file<asio_uring::io_context::executor_type>;

// The public contract, checked at compile time.
static_assert(std::is_same_v<stream_file::executor_type, asio::any_io_executor>);
static_assert(std::is_same_v<stream_file::native_handle_type, int>);
static_assert(std::is_same_v<stream_file::rebind_executor<
                  asio_uring::io_context::executor_type>::other,
    native_stream_file>);
static_assert(!std::is_copy_constructible_v<stream_file>);
static_assert(!std::is_copy_assignable_v<stream_file>);
static_assert(std::is_nothrow_move_constructible_v<stream_file>);
static_assert(std::is_move_assignable_v<stream_file>);
static_assert(std::is_constructible_v<stream_file, native_stream_file&&>);
static_assert(std::is_assignable_v<stream_file&, native_stream_file&&>);
static_assert(!std::is_constructible_v<native_stream_file, stream_file&&>);
static_assert(!std::is_constructible_v<stream_file,
    asio_uring::basic_random_access_file<asio_uring::io_context::executor_type>&&>);
static_assert(!std::is_constructible_v<stream_file,
    asio_uring::random_access_file&&>);
static_assert(!std::is_constructible_v<stream_file, int>);  // needs a context

// file_base carries Boost.Asio's names and values.
static_assert(file_base::read_only == O_RDONLY);
static_assert(file_base::write_only == O_WRONLY);
static_assert(file_base::read_write == O_RDWR);
static_assert(file_base::append == O_APPEND);
static_assert(file_base::create == O_CREAT);
static_assert(file_base::exclusive == O_EXCL);
static_assert(file_base::truncate == O_TRUNC);
static_assert(file_base::sync_all_on_write == O_SYNC);
static_assert(file_base::seek_set == SEEK_SET);
static_assert(file_base::seek_cur == SEEK_CUR);
static_assert(file_base::seek_end == SEEK_END);

std::string text(const std::vector<unsigned char>& v)
{
  return std::string(v.begin(), v.end());
}

std::vector<unsigned char> bytes(const std::string& s)
{
  return std::vector<unsigned char>(s.begin(), s.end());
}

} // namespace

BOOST_AUTO_TEST_SUITE(stream_file_suite)

BOOST_AUTO_TEST_CASE(file_base_flag_operators_combine_bits)
{
  file_base::flags f = file_base::read_write | file_base::create;
  BOOST_TEST(int(f) == (O_RDWR | O_CREAT));
  f |= file_base::truncate;
  BOOST_TEST(int(f) == (O_RDWR | O_CREAT | O_TRUNC));
  f &= ~file_base::create;
  BOOST_TEST(int(f) == (O_RDWR | O_TRUNC));
  f ^= file_base::append;
  BOOST_TEST(int(f & file_base::append) == O_APPEND);
  BOOST_TEST(int(f ^ f) == 0);
}

// ---------------------------------------------------------------------------
// Construction

BOOST_AUTO_TEST_CASE(construct_from_executor_leaves_file_closed)
{
  asio_uring::io_context ctx;
  stream_file f(ctx.get_executor());
  BOOST_TEST(!f.is_open());
  BOOST_TEST(f.native_handle() == -1);
  BOOST_TEST((f.get_executor() == asio::any_io_executor(ctx.get_executor())));
}

BOOST_AUTO_TEST_CASE(construct_from_context_leaves_file_closed)
{
  asio_uring::io_context ctx;
  stream_file f(ctx);
  BOOST_TEST(!f.is_open());
  BOOST_TEST((f.get_executor() == asio::any_io_executor(ctx.get_executor())));
}

BOOST_AUTO_TEST_CASE(construct_with_path_opens_file)
{
  temp_file tf(bytes("hello"));
  asio_uring::io_context ctx;
  const std::string& path = tf.path();

  stream_file a(ctx.get_executor(), path.c_str(), file_base::read_only);
  stream_file b(ctx.get_executor(), path, file_base::read_only);
  stream_file c(ctx, path.c_str(), file_base::read_only);
  stream_file d(ctx, path, file_base::read_only);
  native_stream_file e(ctx, path, file_base::read_only);
  for (stream_file* f : {&a, &b, &c, &d})
  {
    BOOST_TEST(f->is_open());
    BOOST_TEST(f->size() == 5u);
  }
  BOOST_TEST(e.is_open());
  BOOST_TEST(a.native_handle() != b.native_handle());
}

BOOST_AUTO_TEST_CASE(construct_with_missing_path_throws_no_such_file)
{
  asio_uring::io_context ctx;
  try
  {
    stream_file f(ctx, "/nonexistent-dir/asio_uring/x", file_base::read_only);
    BOOST_FAIL("no exception");
  }
  catch (const boost::system::system_error& e)
  {
    BOOST_TEST(e.code() == boost::system::errc::no_such_file_or_directory);
    BOOST_TEST((e.code().category() == boost::system::system_category()));
  }
}

BOOST_AUTO_TEST_CASE(construct_from_native_handle_takes_ownership)
{
  temp_file tf(bytes("abc"));
  asio_uring::io_context ctx;
  int fd1 = ::open(tf.path().c_str(), O_RDONLY | O_CLOEXEC);
  int fd2 = ::open(tf.path().c_str(), O_RDONLY | O_CLOEXEC);
  BOOST_REQUIRE(fd1 >= 0 && fd2 >= 0);
  {
    stream_file a(ctx.get_executor(), fd1);
    stream_file b(ctx, fd2);
    BOOST_TEST(a.is_open());
    BOOST_TEST(a.native_handle() == fd1);
    BOOST_TEST(b.native_handle() == fd2);
    BOOST_TEST(a.size() == 3u);
  }
  BOOST_TEST(!asio_uring_test::fd_is_open(fd1));
  BOOST_TEST(!asio_uring_test::fd_is_open(fd2));
}

BOOST_AUTO_TEST_CASE(construct_from_invalid_native_handle_throws_bad_descriptor)
{
  asio_uring::io_context ctx;
  try
  {
    stream_file f(ctx, 987654);
    BOOST_FAIL("no exception");
  }
  catch (const boost::system::system_error& e)
  {
    BOOST_TEST(e.code() == asio::error::bad_descriptor);
  }
}

BOOST_AUTO_TEST_CASE(construct_from_native_handle_starts_at_descriptor_position)
{
  temp_file tf(bytes("0123456789"));
  asio_uring::io_context ctx;
  int fd = ::open(tf.path().c_str(), O_RDONLY | O_CLOEXEC);
  BOOST_REQUIRE(fd >= 0);
  BOOST_REQUIRE(::lseek(fd, 4, SEEK_SET) == 4);
  stream_file f(ctx, fd);
  char buf[3];
  BOOST_TEST(f.read_some(asio::buffer(buf)) == 3u);
  BOOST_TEST(std::string(buf, 3) == "456");
  BOOST_TEST(f.seek(0, file_base::seek_cur) == 7u);
}

BOOST_AUTO_TEST_CASE(construct_with_foreign_executor_throws_invalid_argument)
{
  asio::io_context other;
  BOOST_CHECK_THROW(stream_file f(other.get_executor()), std::invalid_argument);
  BOOST_CHECK_THROW(stream_file f(other), std::invalid_argument);
}

// ---------------------------------------------------------------------------
// Moves

BOOST_AUTO_TEST_CASE(move_construct_leaves_source_closed)
{
  temp_file tf(bytes("0123456789"));
  asio_uring::io_context ctx;
  stream_file a(ctx, tf.path(), file_base::read_only);
  char buf[4];
  BOOST_TEST(a.read_some(asio::buffer(buf)) == 4u);
  int fd = a.native_handle();

  stream_file b(std::move(a));
  BOOST_TEST(!a.is_open());
  BOOST_TEST(a.native_handle() == -1);
  BOOST_TEST(b.native_handle() == fd);
  // The position travels with the descriptor.
  BOOST_TEST(b.read_some(asio::buffer(buf)) == 4u);
  BOOST_TEST(std::string(buf, 4) == "4567");

  // The moved-from object is usable again, like a fresh one.
  BOOST_TEST((a.get_executor() == asio::any_io_executor(ctx.get_executor())));
  a.open(tf.path(), file_base::read_only);
  BOOST_TEST(a.read_some(asio::buffer(buf)) == 4u);
  BOOST_TEST(std::string(buf, 4) == "0123");
}

BOOST_AUTO_TEST_CASE(move_assign_closes_target_and_leaves_source_closed)
{
  temp_file t1(bytes("first")), t2(bytes("second"));
  asio_uring::io_context ctx;
  stream_file a(ctx, t1.path(), file_base::read_only);
  stream_file b(ctx, t2.path(), file_base::read_only);
  int fa = a.native_handle();
  int fb = b.native_handle();
  b = std::move(a);
  BOOST_TEST(!a.is_open());
  BOOST_TEST(b.native_handle() == fa);
  BOOST_TEST(!asio_uring_test::fd_is_open(fb));
  BOOST_TEST(b.size() == 5u);

  // Self-move keeps the file open.
  stream_file& self = b;
  b = std::move(self);
  BOOST_TEST(b.is_open());
}

BOOST_AUTO_TEST_CASE(move_across_executor_types_keeps_descriptor)
{
  temp_file tf(bytes("payload"));
  asio_uring::io_context ctx;
  native_stream_file n(ctx, tf.path(), file_base::read_only);
  int fd = n.native_handle();

  stream_file a(std::move(n));
  BOOST_TEST(!n.is_open());
  BOOST_TEST(a.native_handle() == fd);

  native_stream_file n2(ctx, tf.path(), file_base::read_only);
  int fd2 = n2.native_handle();
  a = std::move(n2);
  BOOST_TEST(!n2.is_open());
  BOOST_TEST(a.native_handle() == fd2);
  BOOST_TEST(!asio_uring_test::fd_is_open(fd));

  // The file still works after the moves.
  io_result r;
  std::array<char, 16> buf{};
  a.async_read_some(asio::buffer(buf), asio_uring_test::recording_handler(r));
  ctx.run_for(hang_guard);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(!r.ec);
  BOOST_TEST(std::string(buf.data(), r.n) == "payload");
}

BOOST_AUTO_TEST_CASE(as_default_on_rebinds_through_executor_move)
{
  temp_file tf(bytes("rebound"));
  asio_uring::io_context ctx;
  auto f = asio::use_awaitable.as_default_on(
      stream_file(ctx, tf.path(), file_base::read_only));
  std::string got;
  asio::co_spawn(ctx,
      [&]() -> asio::awaitable<void> {
        char buf[16];
        std::size_t n = co_await f.async_read_some(asio::buffer(buf));
        got.assign(buf, n);
      },
      asio::detached);
  ctx.run_for(hang_guard);
  BOOST_TEST(got == "rebound");
}

// ---------------------------------------------------------------------------
// open / close / release / native_handle / cancel

BOOST_AUTO_TEST_CASE(open_when_already_open_fails_with_already_open)
{
  temp_file tf(bytes("x"));
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_only);
  int fd = f.native_handle();
  error_code ec;
  f.open(tf.path(), file_base::read_only, ec);
  BOOST_TEST(ec == asio::error::already_open);
  BOOST_CHECK_THROW(f.open(tf.path().c_str(), file_base::read_only),
      boost::system::system_error);
  BOOST_TEST(f.native_handle() == fd);

  int other = ::open(tf.path().c_str(), O_RDONLY | O_CLOEXEC);
  f.assign(other, ec);
  BOOST_TEST(ec == asio::error::already_open);
  ::close(other);
}

BOOST_AUTO_TEST_CASE(open_missing_file_fails_with_no_such_file)
{
  asio_uring::io_context ctx;
  stream_file f(ctx);
  error_code ec;
  f.open("/nonexistent-dir/x", file_base::read_only, ec);
  BOOST_TEST(ec == boost::system::errc::no_such_file_or_directory);
  BOOST_TEST(!f.is_open());
  BOOST_CHECK_THROW(f.open(std::string("/nonexistent-dir/x"), file_base::read_only),
      boost::system::system_error);
}

BOOST_AUTO_TEST_CASE(open_exclusive_existing_file_fails_with_already_exists)
{
  temp_file tf;
  asio_uring::io_context ctx;
  stream_file f(ctx);
  error_code ec;
  f.open(tf.path(), file_base::write_only | file_base::create | file_base::exclusive, ec);
  BOOST_TEST(ec == boost::system::errc::file_exists);
  BOOST_TEST(!f.is_open());
}

BOOST_AUTO_TEST_CASE(open_create_and_truncate_flags_take_effect)
{
  temp_file dir_marker;
  std::string path = dir_marker.path() + ".new";
  asio_uring::io_context ctx;
  {
    stream_file f(ctx);
    f.open(path, file_base::write_only | file_base::create);
    BOOST_TEST(f.write_some(asio::buffer("abcdef", 6)) == 6u);
  }
  {
    stream_file f(ctx, path, file_base::read_write | file_base::truncate);
    BOOST_TEST(f.size() == 0u);
  }
  ::unlink(path.c_str());
}

BOOST_AUTO_TEST_CASE(open_directory_for_writing_fails_with_is_directory)
{
  asio_uring::io_context ctx;
  stream_file f(ctx);
  error_code ec;
  f.open("/tmp", file_base::read_write, ec);
  BOOST_TEST(ec == boost::system::errc::is_a_directory);
  BOOST_TEST(!f.is_open());
}

BOOST_AUTO_TEST_CASE(close_releases_descriptor_and_reopen_starts_at_zero)
{
  temp_file tf(bytes("0123456789"));
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_only);
  char buf[4];
  f.read_some(asio::buffer(buf));
  int fd = f.native_handle();
  f.close();
  BOOST_TEST(!f.is_open());
  BOOST_TEST(!asio_uring_test::fd_is_open(fd));
  error_code ec = asio::error::eof;
  f.close(ec);  // closing a closed file is not an error
  BOOST_TEST(!ec);
  f.close();

  f.open(tf.path(), file_base::read_only);
  BOOST_TEST(f.read_some(asio::buffer(buf)) == 4u);
  BOOST_TEST(std::string(buf, 4) == "0123");
}

BOOST_AUTO_TEST_CASE(release_returns_descriptor_at_stream_position)
{
  temp_file tf(bytes("0123456789"));
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_only);
  char buf[3];
  f.read_some(asio::buffer(buf));
  f.seek(2, file_base::seek_cur);
  int fd = f.native_handle();
  int released = f.release();
  BOOST_TEST(released == fd);
  BOOST_TEST(!f.is_open());
  BOOST_TEST(asio_uring_test::fd_is_open(fd));
  BOOST_TEST(::lseek(fd, 0, SEEK_CUR) == 5);
  ::close(fd);

  // Released, the file is closed: as with Boost.Asio's files (not its
  // sockets), releasing it again gives -1 and no error.
  error_code ec = asio::error::bad_descriptor;
  BOOST_TEST(f.release(ec) == -1);
  BOOST_TEST(!ec);
  BOOST_TEST(f.release() == -1);
}

BOOST_AUTO_TEST_CASE(cancel_on_closed_file_fails_with_bad_descriptor)
{
  asio_uring::io_context ctx;
  stream_file f(ctx);
  error_code ec;
  f.cancel(ec);
  BOOST_TEST(ec == asio::error::bad_descriptor);
  BOOST_CHECK_THROW(f.cancel(), boost::system::system_error);
}

BOOST_AUTO_TEST_CASE(cancel_without_operations_succeeds)
{
  temp_file tf(bytes("x"));
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_only);
  error_code ec = asio::error::eof;
  f.cancel(ec);
  BOOST_TEST(!ec);
  f.cancel();
  // The file is still usable.
  char c;
  BOOST_TEST(f.read_some(asio::buffer(&c, 1)) == 1u);
}

// ---------------------------------------------------------------------------
// size / resize / sync_all / sync_data

BOOST_AUTO_TEST_CASE(size_and_resize_track_file_length)
{
  temp_file tf(bytes("0123456789"));
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_write);
  BOOST_TEST(f.size() == 10u);
  f.resize(4);
  BOOST_TEST(f.size() == 4u);
  error_code ec = asio::error::eof;
  f.resize(8, ec);
  BOOST_TEST(!ec);
  BOOST_TEST(f.size(ec) == 8u);
  BOOST_TEST(!ec);
  BOOST_TEST(text(tf.contents()) == std::string("0123\0\0\0\0", 8));
}

BOOST_AUTO_TEST_CASE(resize_read_only_file_fails)
{
  temp_file tf(bytes("0123"));
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_only);
  error_code ec;
  f.resize(1, ec);
  BOOST_TEST(!!ec);
  BOOST_TEST((ec.category() == boost::system::system_category()));
  BOOST_CHECK_THROW(f.resize(1), boost::system::system_error);
  BOOST_TEST(f.size() == 4u);
}

BOOST_AUTO_TEST_CASE(sync_all_and_sync_data_succeed_on_open_file)
{
  temp_file tf;
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::write_only);
  f.write_some(asio::buffer("data", 4));
  error_code ec = asio::error::eof;
  f.sync_all(ec);
  BOOST_TEST(!ec);
  ec = asio::error::eof;
  f.sync_data(ec);
  BOOST_TEST(!ec);
  f.sync_all();
  f.sync_data();
}

BOOST_AUTO_TEST_CASE(file_members_on_closed_file_fail_with_bad_descriptor)
{
  asio_uring::io_context ctx;
  stream_file f(ctx);
  error_code ec;
  BOOST_TEST(f.size(ec) == 0u);
  BOOST_TEST(ec == asio::error::bad_descriptor);
  ec.clear();
  f.resize(10, ec);
  BOOST_TEST(ec == asio::error::bad_descriptor);
  ec.clear();
  f.sync_all(ec);
  BOOST_TEST(ec == asio::error::bad_descriptor);
  ec.clear();
  f.sync_data(ec);
  BOOST_TEST(ec == asio::error::bad_descriptor);
  ec.clear();
  BOOST_TEST(f.seek(0, file_base::seek_set, ec) == 0u);
  BOOST_TEST(ec == asio::error::bad_descriptor);
  char c;
  ec.clear();
  BOOST_TEST(f.read_some(asio::buffer(&c, 1), ec) == 0u);
  BOOST_TEST(ec == asio::error::bad_descriptor);
  ec.clear();
  BOOST_TEST(f.write_some(asio::buffer(&c, 1), ec) == 0u);
  BOOST_TEST(ec == asio::error::bad_descriptor);

  BOOST_CHECK_THROW(f.size(), boost::system::system_error);
  BOOST_CHECK_THROW(f.resize(1), boost::system::system_error);
  BOOST_CHECK_THROW(f.sync_all(), boost::system::system_error);
  BOOST_CHECK_THROW(f.sync_data(), boost::system::system_error);
  BOOST_CHECK_THROW(f.seek(0, file_base::seek_set), boost::system::system_error);
  BOOST_CHECK_THROW(f.read_some(asio::buffer(&c, 1)), boost::system::system_error);
  BOOST_CHECK_THROW(f.write_some(asio::buffer(&c, 1)), boost::system::system_error);
}

// ---------------------------------------------------------------------------
// seek

BOOST_AUTO_TEST_CASE(seek_moves_position_for_each_basis)
{
  temp_file tf(bytes("0123456789"));
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_only);
  char c;
  BOOST_TEST(f.seek(3, file_base::seek_set) == 3u);
  f.read_some(asio::buffer(&c, 1));
  BOOST_TEST(c == '3');
  BOOST_TEST(f.seek(2, file_base::seek_cur) == 6u);
  f.read_some(asio::buffer(&c, 1));
  BOOST_TEST(c == '6');
  BOOST_TEST(f.seek(-3, file_base::seek_cur) == 4u);
  f.read_some(asio::buffer(&c, 1));
  BOOST_TEST(c == '4');
  BOOST_TEST(f.seek(-1, file_base::seek_end) == 9u);
  f.read_some(asio::buffer(&c, 1));
  BOOST_TEST(c == '9');
  error_code ec = asio::error::eof;
  BOOST_TEST(f.seek(0, file_base::seek_set, ec) == 0u);
  BOOST_TEST(!ec);
}

BOOST_AUTO_TEST_CASE(seek_beyond_end_then_read_gives_eof)
{
  temp_file tf(bytes("0123"));
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_only);
  BOOST_TEST(f.seek(100, file_base::seek_end) == 104u);
  char buf[4];
  error_code ec;
  BOOST_TEST(f.read_some(asio::buffer(buf), ec) == 0u);
  BOOST_TEST(ec == asio::error::eof);

  io_result r;
  f.async_read_some(asio::buffer(buf), asio_uring_test::recording_handler(r));
  ctx.run_for(hang_guard);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(r.ec == asio::error::eof);
  BOOST_TEST(r.n == 0u);
}

BOOST_AUTO_TEST_CASE(seek_beyond_end_then_write_leaves_zero_gap)
{
  temp_file tf(bytes("ab"));
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::write_only);
  BOOST_TEST(f.seek(5, file_base::seek_set) == 5u);
  BOOST_TEST(f.write_some(asio::buffer("xy", 2)) == 2u);
  BOOST_TEST(f.seek(0, file_base::seek_cur) == 7u);
  BOOST_TEST(text(tf.contents()) == std::string("ab\0\0\0xy", 7));
}

BOOST_AUTO_TEST_CASE(seek_to_negative_position_fails_with_invalid_argument)
{
  temp_file tf(bytes("0123"));
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_only);
  f.seek(2, file_base::seek_set);
  error_code ec;
  BOOST_TEST(f.seek(-3, file_base::seek_cur, ec) == 0u);
  BOOST_TEST(ec == asio::error::invalid_argument);
  BOOST_TEST((ec.category() == boost::system::system_category()));
  ec.clear();
  f.seek(-1, file_base::seek_set, ec);
  BOOST_TEST(ec == asio::error::invalid_argument);
  ec.clear();
  f.seek(-5, file_base::seek_end, ec);
  BOOST_TEST(ec == asio::error::invalid_argument);
  BOOST_CHECK_THROW(f.seek(-100, file_base::seek_cur), boost::system::system_error);
  // A failed seek leaves the position alone.
  BOOST_TEST(f.seek(0, file_base::seek_cur) == 2u);
}

BOOST_AUTO_TEST_CASE(seek_with_overflow_or_bad_basis_fails_with_invalid_argument)
{
  temp_file tf(bytes("0123"));
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_only);
  error_code ec;
  f.seek((std::numeric_limits<std::int64_t>::max)(), file_base::seek_end, ec);
  BOOST_TEST(ec == asio::error::invalid_argument);
  ec.clear();
  f.seek(1, static_cast<file_base::seek_basis>(42), ec);
  BOOST_TEST(ec == asio::error::invalid_argument);
  BOOST_TEST(f.seek(0, file_base::seek_cur) == 0u);
}

// ---------------------------------------------------------------------------
// Synchronous read_some / write_some

BOOST_AUTO_TEST_CASE(read_some_reads_and_advances_position)
{
  temp_file tf(bytes("0123456789"));
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_only);
  char buf[4];
  BOOST_TEST(f.read_some(asio::buffer(buf)) == 4u);
  BOOST_TEST(std::string(buf, 4) == "0123");
  error_code ec = asio::error::eof;
  BOOST_TEST(f.read_some(asio::buffer(buf), ec) == 4u);
  BOOST_TEST(!ec);
  BOOST_TEST(std::string(buf, 4) == "4567");
  BOOST_TEST(f.read_some(asio::buffer(buf), ec) == 2u);
  BOOST_TEST(std::string(buf, 2) == "89");
  BOOST_TEST(f.read_some(asio::buffer(buf), ec) == 0u);
  BOOST_TEST(ec == asio::error::eof);
  try
  {
    f.read_some(asio::buffer(buf));
    BOOST_FAIL("no exception at end of file");
  }
  catch (const boost::system::system_error& e)
  {
    BOOST_TEST(e.code() == asio::error::eof);
  }
  // The descriptor's own offset is not used (explicit offsets only).
  BOOST_TEST(::lseek(f.native_handle(), 0, SEEK_CUR) == 0);
}

BOOST_AUTO_TEST_CASE(read_some_zero_size_returns_zero_even_at_end)
{
  temp_file tf;
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_only);
  error_code ec = asio::error::eof;
  BOOST_TEST(f.read_some(asio::mutable_buffer(), ec) == 0u);
  BOOST_TEST(!ec);
  std::vector<asio::mutable_buffer> none{asio::mutable_buffer(), asio::mutable_buffer()};
  BOOST_TEST(f.read_some(none, ec) == 0u);
  BOOST_TEST(!ec);
  BOOST_TEST(f.write_some(asio::const_buffer(), ec) == 0u);
  BOOST_TEST(!ec);  // not even EBADF: the kernel is not asked
}

BOOST_AUTO_TEST_CASE(read_some_scatters_into_buffer_sequence)
{
  temp_file tf(bytes("abcdefghij"));
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_only);
  char a[3], b[1], c[4];
  std::array<asio::mutable_buffer, 4> bufs{asio::buffer(a),
      asio::mutable_buffer(), asio::buffer(b), asio::buffer(c)};
  BOOST_TEST(f.read_some(bufs) == 8u);
  BOOST_TEST(std::string(a, 3) == "abc");
  BOOST_TEST(std::string(b, 1) == "d");
  BOOST_TEST(std::string(c, 4) == "efgh");
  BOOST_TEST(f.seek(0, file_base::seek_cur) == 8u);
}

BOOST_AUTO_TEST_CASE(write_some_writes_gathered_buffers_and_advances_position)
{
  temp_file tf;
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_write);
  std::vector<asio::const_buffer> bufs{asio::buffer("ab", 2),
      asio::const_buffer(), asio::buffer("cde", 3)};
  BOOST_TEST(f.write_some(bufs) == 5u);
  error_code ec = asio::error::eof;
  BOOST_TEST(f.write_some(asio::buffer("XY", 2), ec) == 2u);
  BOOST_TEST(!ec);
  BOOST_TEST(f.seek(0, file_base::seek_cur) == 7u);
  BOOST_TEST(text(tf.contents()) == "abcdeXY");
  f.seek(1, file_base::seek_set);
  f.write_some(asio::buffer("-", 1));
  BOOST_TEST(text(tf.contents()) == "a-cdeXY");
}

BOOST_AUTO_TEST_CASE(write_some_on_read_only_file_fails_with_bad_descriptor)
{
  temp_file tf(bytes("keep"));
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_only);
  error_code ec;
  BOOST_TEST(f.write_some(asio::buffer("x", 1), ec) == 0u);
  BOOST_TEST(ec == asio::error::bad_descriptor);
  BOOST_TEST((ec.category() == boost::system::system_category()));
  BOOST_CHECK_THROW(f.write_some(asio::buffer("x", 1)), boost::system::system_error);
  BOOST_TEST(f.seek(0, file_base::seek_cur) == 0u);
  BOOST_TEST(text(tf.contents()) == "keep");
}

BOOST_AUTO_TEST_CASE(read_some_on_write_only_file_fails_with_bad_descriptor)
{
  temp_file tf(bytes("keep"));
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::write_only);
  char buf[4];
  error_code ec;
  BOOST_TEST(f.read_some(asio::buffer(buf), ec) == 0u);
  BOOST_TEST(ec == asio::error::bad_descriptor);
  BOOST_TEST(f.seek(0, file_base::seek_cur) == 0u);
}

BOOST_AUTO_TEST_CASE(write_some_in_append_mode_writes_at_end)
{
  temp_file tf(bytes("start"));
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::write_only | file_base::append);
  f.seek(0, file_base::seek_set);
  BOOST_TEST(f.write_some(asio::buffer("+sync", 5)) == 5u);
  io_result r;
  f.async_write_some(asio::buffer("+async", 6), asio_uring_test::recording_handler(r));
  ctx.run_for(hang_guard);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(!r.ec);
  BOOST_TEST(r.n == 6u);
  BOOST_TEST(text(tf.contents()) == "start+sync+async");
}

BOOST_AUTO_TEST_CASE(append_writes_leave_position_at_end_of_file)
{
  // As write(2) on an O_APPEND descriptor: the position follows the data.
  temp_file tf(bytes("start"));
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_write | file_base::append);
  BOOST_TEST(f.seek(0, file_base::seek_cur) == 0u);
  char buf[8];
  BOOST_TEST(f.read_some(asio::buffer(buf, 2)) == 2u);
  BOOST_TEST(f.write_some(asio::buffer("abc", 3)) == 3u);
  BOOST_TEST(f.seek(0, file_base::seek_cur) == 8u);
  io_result w;
  f.async_write_some(asio::buffer("de", 2), asio_uring_test::recording_handler(w));
  ctx.run_for(hang_guard);
  BOOST_TEST(w.n == 2u);
  BOOST_TEST(f.seek(0, file_base::seek_cur) == 10u);
  error_code ec;
  BOOST_TEST(f.read_some(asio::buffer(buf), ec) == 0u);
  BOOST_TEST(ec == asio::error::eof);
  f.seek(5, file_base::seek_set);
  BOOST_TEST(f.read_some(asio::buffer(buf, 3)) == 3u);
  BOOST_TEST(std::string(buf, 3) == "abc");
  BOOST_TEST(text(tf.contents()) == "startabcde");
}

BOOST_AUTO_TEST_CASE(sync_free_functions_read_and_write_whole_file)
{
  temp_file tf;
  asio_uring::io_context ctx;
  auto data = pattern(300000);
  {
    stream_file f(ctx, tf.path(), file_base::write_only);
    BOOST_TEST(asio::write(f, asio::buffer(data)) == data.size());
  }
  stream_file f(ctx, tf.path(), file_base::read_only);
  std::vector<unsigned char> back(data.size());
  BOOST_TEST(asio::read(f, asio::buffer(back)) == data.size());
  BOOST_TEST((back == data));

  // Reading to the end through a dynamic buffer reports eof with every byte.
  f.seek(0, file_base::seek_set);
  std::string all;
  error_code ec;
  std::size_t n = asio::read(f, asio::dynamic_buffer(all), ec);
  BOOST_TEST(ec == asio::error::eof);
  BOOST_TEST(n == data.size());
  BOOST_TEST((bytes(all) == data));
}

// ---------------------------------------------------------------------------
// Asynchronous read_some / write_some

BOOST_AUTO_TEST_CASE(async_read_some_reads_and_never_completes_inline)
{
  temp_file tf(bytes("0123456789"));
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_only);
  char buf[4];
  io_result r;
  bool initiating = true;
  f.async_read_some(asio::buffer(buf), asio_uring_test::recording_handler(r, &initiating));
  initiating = false;
  BOOST_TEST(r.calls == 0);
  ctx.run_for(hang_guard);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(!r.ec);
  BOOST_TEST(r.n == 4u);
  BOOST_TEST(std::string(buf, 4) == "0123");
  BOOST_TEST(f.seek(0, file_base::seek_cur) == 4u);
}

BOOST_AUTO_TEST_CASE(async_read_some_chain_reads_to_eof)
{
  auto data = pattern(100000);
  temp_file tf(data);
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_only);
  std::vector<unsigned char> got;
  std::array<unsigned char, 7001> buf;
  error_code last;
  int calls = 0;
  std::function<void(error_code, std::size_t)> on_read =
      [&](error_code ec, std::size_t n) {
        ++calls;
        got.insert(got.end(), buf.begin(), buf.begin() + n);
        if (ec)
        {
          last = ec;
          BOOST_TEST(n == 0u);
          return;
        }
        f.async_read_some(asio::buffer(buf), on_read);
      };
  f.async_read_some(asio::buffer(buf), on_read);
  ctx.run_for(hang_guard);
  BOOST_TEST(last == asio::error::eof);
  BOOST_TEST((got == data));
  BOOST_TEST(calls == int(data.size() / buf.size()) + 2);
}

BOOST_AUTO_TEST_CASE(async_write_some_writes_and_never_completes_inline)
{
  temp_file tf;
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::write_only);
  io_result r;
  bool initiating = true;
  f.async_write_some(asio::buffer("hello", 5), asio_uring_test::recording_handler(r, &initiating));
  initiating = false;
  ctx.run_for(hang_guard);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(!r.ec);
  BOOST_TEST(r.n == 5u);
  BOOST_TEST(f.seek(0, file_base::seek_cur) == 5u);
  BOOST_TEST(text(tf.contents()) == "hello");
}

BOOST_AUTO_TEST_CASE(async_scatter_gather_use_vectored_operations)
{
  temp_file tf;
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_write);
  std::vector<asio::const_buffer> out{asio::buffer("abc", 3),
      asio::const_buffer(), asio::buffer("defg", 4)};
  io_result w;
  f.async_write_some(out, asio_uring_test::recording_handler(w));
  ctx.run_for(hang_guard);
  BOOST_TEST(w.n == 7u);
  BOOST_TEST(text(tf.contents()) == "abcdefg");

  f.seek(1, file_base::seek_set);
  char a[2], b[10];
  std::vector<asio::mutable_buffer> in{asio::buffer(a), asio::buffer(b)};
  io_result r;
  f.async_read_some(in, asio_uring_test::recording_handler(r));
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(r.n == 6u);
  BOOST_TEST(std::string(a, 2) == "bc");
  BOOST_TEST(std::string(b, 4) == "defg");
}

BOOST_AUTO_TEST_CASE(async_read_some_at_end_completes_with_eof)
{
  temp_file tf(bytes("ab"));
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_only);
  f.seek(2, file_base::seek_set);
  char buf[8];
  io_result r;
  f.async_read_some(asio::buffer(buf), asio_uring_test::recording_handler(r));
  ctx.run_for(hang_guard);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(r.ec == asio::error::eof);
  BOOST_TEST(r.n == 0u);
  BOOST_TEST(f.seek(0, file_base::seek_cur) == 2u);
}

BOOST_AUTO_TEST_CASE(async_zero_size_completes_with_zero_without_kernel)
{
  // A write_only file would fail a real read with EBADF, and a read_only
  // file a real write: success proves the kernel was not asked.
  temp_file tf(bytes("abc"));
  asio_uring::io_context ctx;
  stream_file wo(ctx, tf.path(), file_base::write_only);
  stream_file ro(ctx, tf.path(), file_base::read_only);
  io_result r1, r2, r3;
  bool initiating = true;
  wo.async_read_some(asio::mutable_buffer(), asio_uring_test::recording_handler(r1, &initiating));
  ro.async_write_some(asio::const_buffer(), asio_uring_test::recording_handler(r2, &initiating));
  std::vector<asio::mutable_buffer> empties(3);
  wo.async_read_some(empties, asio_uring_test::recording_handler(r3, &initiating));
  initiating = false;
  ctx.run_for(hang_guard);
  for (io_result* r : {&r1, &r2, &r3})
  {
    BOOST_TEST(r->calls == 1);
    BOOST_TEST(!r->ec);
    BOOST_TEST(r->n == 0u);
  }
}

BOOST_AUTO_TEST_CASE(async_ops_on_wrong_mode_fail_with_bad_descriptor)
{
  temp_file tf(bytes("abc"));
  asio_uring::io_context ctx;
  stream_file wo(ctx, tf.path(), file_base::write_only);
  stream_file ro(ctx, tf.path(), file_base::read_only);
  char buf[3];
  io_result r1, r2;
  wo.async_read_some(asio::buffer(buf), asio_uring_test::recording_handler(r1));
  ro.async_write_some(asio::buffer("x", 1), asio_uring_test::recording_handler(r2));
  ctx.run_for(hang_guard);
  BOOST_TEST(r1.calls == 1);
  BOOST_TEST(r1.ec == asio::error::bad_descriptor);
  BOOST_TEST((r1.ec.category() == boost::system::system_category()));
  BOOST_TEST(r2.calls == 1);
  BOOST_TEST(r2.ec == asio::error::bad_descriptor);
  BOOST_TEST(wo.seek(0, file_base::seek_cur) == 0u);
  BOOST_TEST(ro.seek(0, file_base::seek_cur) == 0u);
  BOOST_TEST(text(tf.contents()) == "abc");
}

BOOST_AUTO_TEST_CASE(async_ops_on_closed_file_fail_with_bad_descriptor)
{
  asio_uring::io_context ctx;
  stream_file f(ctx);
  char buf[3];
  io_result r1, r2;
  bool initiating = true;
  f.async_read_some(asio::buffer(buf), asio_uring_test::recording_handler(r1, &initiating));
  f.async_write_some(asio::buffer("x", 1), asio_uring_test::recording_handler(r2, &initiating));
  initiating = false;
  ctx.run_for(hang_guard);
  BOOST_TEST(r1.calls == 1);
  BOOST_TEST(r1.ec == asio::error::bad_descriptor);
  BOOST_TEST(r2.calls == 1);
  BOOST_TEST(r2.ec == asio::error::bad_descriptor);
}

BOOST_AUTO_TEST_CASE(async_ops_accept_move_only_handlers)
{
  temp_file tf(bytes("abcdef"));
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_write);
  char buf[3];
  io_result r1, r2, r3, r4, r5;
  f.async_read_some(asio::buffer(buf), asio_uring_test::move_only_handler(r1));
  ctx.run_for(hang_guard);
  f.async_write_some(asio::buffer("XYZ", 3), asio_uring_test::move_only_handler(r2));
  ctx.restart();
  ctx.run_for(hang_guard);
  f.seek(0, file_base::seek_set);
  std::vector<unsigned char> all(6);
  asio::async_read(f, asio::buffer(all), asio_uring_test::move_only_handler(r3));
  ctx.restart();
  ctx.run_for(hang_guard);
  f.seek(0, file_base::seek_set);
  asio::async_write(f, asio::buffer("123456", 6), asio_uring_test::move_only_handler(r4));
  ctx.restart();
  ctx.run_for(hang_guard);
  stream_file closed(ctx);
  closed.async_read_some(asio::buffer(buf), asio_uring_test::move_only_handler(r5));
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(r1.calls == 1);
  BOOST_TEST(r1.n == 3u);
  BOOST_TEST(r2.calls == 1);
  BOOST_TEST(r2.n == 3u);
  BOOST_TEST(r3.calls == 1);
  BOOST_TEST(r3.n == 6u);
  BOOST_TEST(text(all) == "abcXYZ");
  BOOST_TEST(r4.n == 6u);
  BOOST_TEST(r5.ec == asio::error::bad_descriptor);
  BOOST_TEST(text(tf.contents()) == "123456");
}

BOOST_AUTO_TEST_CASE(async_free_functions_copy_whole_file)
{
  auto data = pattern(1 << 20, 0, 7);
  temp_file src(data), dst;
  asio_uring::io_context ctx;
  stream_file in(ctx, src.path(), file_base::read_only);
  stream_file out(ctx, dst.path(), file_base::write_only);
  std::vector<unsigned char> buf(65536);
  error_code final_ec;
  std::size_t total = 0;
  std::function<void()> step = [&] {
    asio::async_read(in, asio::buffer(buf),
        [&](error_code ec, std::size_t n) {
          if (n == 0)
          {
            final_ec = ec;
            return;
          }
          asio::async_write(out, asio::buffer(buf.data(), n),
              [&, ec](error_code wec, std::size_t w) {
                BOOST_TEST(!wec);
                total += w;
                if (!ec)
                  step();
                else
                  final_ec = ec;
              });
        });
  };
  step();
  ctx.run_for(hang_guard);
  BOOST_TEST(final_ec == asio::error::eof);
  BOOST_TEST(total == data.size());
  BOOST_TEST((dst.contents() == data));

  // async_read with a dynamic buffer ends with eof and every byte.
  in.seek(0, file_base::seek_set);
  std::vector<unsigned char> all;
  io_result r;
  asio::async_read(in, asio::dynamic_buffer(all), asio_uring_test::recording_handler(r));
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(r.ec == asio::error::eof);
  BOOST_TEST(r.n == data.size());
  BOOST_TEST((all == data));
}

BOOST_AUTO_TEST_CASE(stream_on_pipe_reads_and_writes_where_it_stands)
{
  // Asio's stream_file reads and writes a non-seekable descriptor with
  // read(2)/write(2): an explicit offset would fail with ESPIPE.
  asio_uring_test::test_pipe p;
  asio_uring::io_context ctx;
  stream_file in(ctx, p.take_read());
  stream_file out(ctx, p.take_write());
  BOOST_TEST(out.write_some(asio::buffer("abcdef", 6)) == 6u);
  char buf[3];
  BOOST_TEST(in.read_some(asio::buffer(buf)) == 3u);
  BOOST_TEST(std::string(buf, 3) == "abc");
  error_code ec;
  BOOST_TEST(in.read_some(asio::buffer(buf), ec) == 3u);
  BOOST_TEST(!ec);
  BOOST_TEST(std::string(buf, 3) == "def");

  io_result w, r1, r2;
  char abuf[8];
  out.async_write_some(asio::buffer("ghij", 4), asio_uring_test::recording_handler(w));
  in.async_read_some(asio::buffer(abuf, 2), asio_uring_test::recording_handler(r1));
  ctx.run_for(hang_guard);
  in.async_read_some(asio::buffer(abuf + 2, 6), asio_uring_test::recording_handler(r2));
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(w.n == 4u);
  BOOST_TEST(r1.n == 2u);
  BOOST_TEST(r2.n == 2u);
  BOOST_TEST(std::string(abuf, 4) == "ghij");

  // seek means nothing on a pipe, as lseek(2) says.
  in.seek(0, file_base::seek_cur, ec);
  BOOST_TEST(ec == boost::system::errc::invalid_seek);
  BOOST_TEST((ec.category() == boost::system::system_category()));
  BOOST_CHECK_THROW(out.seek(0, file_base::seek_set), boost::system::system_error);

  // The write end closed: the reader sees eof.
  out.close();
  BOOST_TEST(in.read_some(asio::buffer(buf), ec) == 0u);
  BOOST_TEST(ec == asio::error::eof);
  io_result r3;
  in.async_read_some(asio::buffer(buf), asio_uring_test::recording_handler(r3));
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(r3.ec == asio::error::eof);
}

BOOST_AUTO_TEST_CASE(direct_io_stream_reads_advance_block_by_block)
{
  // With O_DIRECT, a ring read at "the current position" may not advance
  // the descriptor's offset; explicit offsets must walk the file.
  constexpr std::size_t block = 4096, blocks = 16;
  temp_file tf;
  asio_uring::io_context ctx;
  stream_file f(ctx);
  error_code ec;
  f.open(tf.path(), file_base::read_write | file_base::direct, ec);
  if (ec == asio::error::invalid_argument)
  {
    BOOST_TEST_MESSAGE("SKIPPED: the temp file system refuses O_DIRECT");
    return;
  }
  BOOST_REQUIRE(!ec);
  void* raw = nullptr;
  BOOST_REQUIRE(::posix_memalign(&raw, block, block * blocks) == 0);
  std::unique_ptr<unsigned char, decltype(&std::free)> mem(
      static_cast<unsigned char*>(raw), &std::free);
  asio_uring_test::fill_pattern(mem.get(), block * blocks, 0, 11);
  io_result w;
  asio::async_write(f, asio::buffer(mem.get(), block * blocks), asio_uring_test::recording_handler(w));
  ctx.run_for(hang_guard);
  BOOST_REQUIRE(!w.ec);
  BOOST_TEST(w.n == block * blocks);
  BOOST_TEST(f.seek(0, file_base::seek_set) == 0u);

  std::memset(mem.get(), 0, block * blocks);
  std::size_t off = 0;
  error_code last;
  std::function<void()> next = [&] {
    f.async_read_some(asio::buffer(mem.get() + (off % (block * blocks)), block),
        [&](error_code e, std::size_t n) {
          if (e)
          {
            last = e;
            return;
          }
          off += n;
          if (off <= block * blocks)
            next();
        });
  };
  next();
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(last == asio::error::eof);
  BOOST_TEST(off == block * blocks);
  BOOST_TEST(asio_uring_test::first_pattern_mismatch(mem.get(), block * blocks, 0, 11)
      == block * blocks);
}

BOOST_AUTO_TEST_CASE(more_buffers_than_one_call_takes_still_transfer_completely)
{
  // One read/write takes at most 64 buffers (as Asio): *_some transfer a
  // prefix, the composed operations finish the rest.
  temp_file tf;
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_write);
  auto data = pattern(100 * 10);
  std::vector<asio::const_buffer> out;
  for (int i = 0; i < 100; ++i)
    out.push_back(asio::buffer(data.data() + i * 10, 10));
  BOOST_TEST(f.write_some(out) == 640u);
  f.seek(0, file_base::seek_set);
  io_result w;
  asio::async_write(f, out, asio_uring_test::recording_handler(w));
  ctx.run_for(hang_guard);
  BOOST_TEST(w.n == 1000u);
  BOOST_TEST((tf.contents() == data));

  std::vector<unsigned char> back(1000);
  std::vector<asio::mutable_buffer> in;
  for (int i = 0; i < 100; ++i)
    in.push_back(asio::buffer(back.data() + i * 10, 10));
  f.seek(0, file_base::seek_set);
  io_result r1, r2;
  f.async_read_some(in, asio_uring_test::recording_handler(r1));
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(r1.n == 640u);
  f.seek(0, file_base::seek_set);
  asio::async_read(f, in, asio_uring_test::recording_handler(r2));
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(!r2.ec);
  BOOST_TEST(r2.n == 1000u);
  BOOST_TEST((back == data));
}

BOOST_AUTO_TEST_CASE(moving_file_with_read_in_flight_keeps_position_and_cancel)
{
  temp_file tf(bytes("0123456789"));
  asio_uring::io_context ctx;
  stream_file a(ctx, tf.path(), file_base::read_only);
  char buf[4];
  io_result r;
  a.async_read_some(asio::buffer(buf), asio_uring_test::recording_handler(r));
  stream_file b(std::move(a));
  ctx.run_for(hang_guard);
  BOOST_TEST(r.n == 4u);
  // The completion advanced the moved-to object's position.
  BOOST_TEST(b.seek(0, file_base::seek_cur) == 4u);
  BOOST_TEST(b.read_some(asio::buffer(buf)) == 4u);
  BOOST_TEST(std::string(buf, 4) == "4567");

  // A pipe read started before the move is cancelled through the new owner.
  asio_uring_test::test_pipe p;
  stream_file c(ctx, p.take_read());
  io_result r2;
  c.async_read_some(asio::buffer(buf), asio_uring_test::recording_handler(r2));
  ctx.restart();
  ctx.run_for(std::chrono::milliseconds(20));
  stream_file d(std::move(c));
  d.cancel();
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(r2.calls == 1);
  BOOST_TEST(r2.ec == asio::error::operation_aborted);
}

// ---------------------------------------------------------------------------
// Completion tokens

BOOST_AUTO_TEST_CASE(use_future_delivers_result_and_error)
{
  temp_file tf(bytes("future"));
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_only);
  char buf[16];
  std::future<std::size_t> fut = f.async_read_some(asio::buffer(buf), asio::use_future);
  ctx.run_for(hang_guard);
  BOOST_TEST(fut.get() == 6u);
  BOOST_TEST(std::string(buf, 6) == "future");

  std::future<std::size_t> at_end = f.async_read_some(asio::buffer(buf), asio::use_future);
  std::future<std::size_t> wr = f.async_write_some(asio::buffer("x", 1), asio::use_future);
  ctx.restart();
  ctx.run_for(hang_guard);
  try
  {
    at_end.get();
    BOOST_FAIL("no exception at end of file");
  }
  catch (const boost::system::system_error& e)
  {
    BOOST_TEST(e.code() == asio::error::eof);
  }
  BOOST_CHECK_THROW(wr.get(), boost::system::system_error);
}

BOOST_AUTO_TEST_CASE(use_awaitable_as_tuple_and_redirect_error_work)
{
  temp_file tf;
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_write);
  std::string got;
  error_code eof_ec, redirect_ec;
  bool done = false;
  asio::co_spawn(ctx,
      [&]() -> asio::awaitable<void> {
        std::size_t n = co_await f.async_write_some(asio::buffer("coroutine", 9), asio::use_awaitable);
        BOOST_TEST(n == 9u);
        f.seek(0, file_base::seek_set);
        char buf[32];
        auto [ec, m] = co_await f.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
        BOOST_TEST(!ec);
        got.assign(buf, m);
        std::tie(eof_ec, m) = co_await f.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
        BOOST_TEST(m == 0u);
        co_await f.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, redirect_ec));
        try
        {
          co_await f.async_read_some(asio::buffer(buf), asio::use_awaitable);
        }
        catch (const boost::system::system_error& e)
        {
          BOOST_TEST(e.code() == asio::error::eof);
          done = true;
        }
      },
      [](std::exception_ptr e) {
        if (e)
          std::rethrow_exception(e);
      });
  ctx.run_for(hang_guard);
  BOOST_TEST(got == "coroutine");
  BOOST_TEST(eof_ec == asio::error::eof);
  BOOST_TEST(redirect_ec == asio::error::eof);
  BOOST_TEST(done);
}

BOOST_AUTO_TEST_CASE(deferred_starts_only_when_invoked)
{
  temp_file tf(bytes("lazy"));
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_only);
  char buf[8];
  auto op = f.async_read_some(asio::buffer(buf), asio::deferred);
  BOOST_TEST(ctx.poll() == 0u);  // nothing started
  io_result r;
  std::move(op)(asio_uring_test::recording_handler(r));
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(r.n == 4u);
  BOOST_TEST(std::string(buf, 4) == "lazy");

  // A deferred composition: read, then write what was read.
  temp_file out;
  stream_file o(ctx, out.path(), file_base::write_only);
  f.seek(0, file_base::seek_set);
  io_result r2;
  f.async_read_some(asio::buffer(buf), asio::deferred(
      [&](error_code, std::size_t n) {
        return o.async_write_some(asio::buffer(buf, n), asio::deferred);
      }))(asio_uring_test::recording_handler(r2));
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(r2.n == 4u);
  BOOST_TEST(text(out.contents()) == "lazy");
}

BOOST_AUTO_TEST_CASE(use_promise_delivers_result)
{
  temp_file tf(bytes("promised"));
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_only);
  char buf[16];
  auto p = f.async_read_some(asio::buffer(buf), asio::experimental::use_promise);
  io_result r;
  p(asio_uring_test::recording_handler(r));
  ctx.run_for(hang_guard);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(!r.ec);
  BOOST_TEST(std::string(buf, r.n) == "promised");
}

BOOST_AUTO_TEST_CASE(bind_executor_runs_handler_in_strand)
{
  temp_file tf(bytes("strand"));
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_only);
  auto strand = asio::make_strand(ctx);
  char buf[8];
  bool in_strand = false;
  int calls = 0;
  f.async_read_some(asio::buffer(buf), asio::bind_executor(strand,
      [&](error_code ec, std::size_t n) {
        ++calls;
        in_strand = strand.running_in_this_thread();
        BOOST_TEST(!ec);
        BOOST_TEST(n == 6u);
      }));
  ctx.run_for(hang_guard);
  BOOST_TEST(calls == 1);
  BOOST_TEST(in_strand);
}

BOOST_AUTO_TEST_CASE(bind_executor_to_other_context_runs_handler_there)
{
  temp_file tf(bytes("elsewhere"));
  asio_uring::io_context ctx, other;
  stream_file f(ctx, tf.path(), file_base::read_only);
  char buf[16];
  std::thread::id ran_on, other_thread;
  int calls = 0;
  f.async_read_some(asio::buffer(buf), asio::bind_executor(other,
      [&](error_code, std::size_t) {
        ++calls;
        ran_on = std::this_thread::get_id();
      }));
  // The handler's work keeps `other` busy until the read completes there.
  std::thread t([&] {
    other_thread = std::this_thread::get_id();
    other.run_for(hang_guard);
  });
  ctx.run_for(hang_guard);
  t.join();
  BOOST_TEST(calls == 1);
  BOOST_TEST((ran_on == other_thread));
  BOOST_TEST(other.stopped());
}

BOOST_AUTO_TEST_CASE(bind_executor_to_boost_asio_context_runs_handler_there)
{
  // A foreign execution context: its work is tracked until the handler ran.
  temp_file tf(bytes("boost"));
  asio_uring::io_context ctx;
  asio::io_context other;
  stream_file f(ctx, tf.path(), file_base::read_only);
  char buf[8];
  bool ran_in_other = false;
  f.async_read_some(asio::buffer(buf), asio::bind_executor(other,
      [&](error_code ec, std::size_t n) {
        BOOST_TEST(!ec);
        BOOST_TEST(n == 5u);
        ran_in_other = other.get_executor().running_in_this_thread();
      }));
  ctx.run_for(hang_guard);
  BOOST_TEST(!ran_in_other);
  BOOST_TEST(other.run_for(hang_guard) == 1u);
  BOOST_TEST(ran_in_other);
}

BOOST_AUTO_TEST_CASE(strand_as_io_executor_runs_handlers_in_strand)
{
  // The file's own executor may be a strand (typed or type-erased): its
  // handlers then run in that strand, the I/O still on the context's ring.
  temp_file tf(bytes("stranded"));
  asio_uring::io_context ctx(2);
  auto strand = asio::make_strand(ctx);
  asio_uring::basic_stream_file<decltype(strand)> typed(strand, tf.path(), file_base::read_only);
  stream_file erased(asio::any_io_executor(strand), tf.path(), file_base::read_only);
  char b1[16], b2[16];
  bool in1 = false, in2 = false;
  std::size_t n1 = 0, n2 = 0;
  typed.async_read_some(asio::buffer(b1), [&](error_code, std::size_t n) {
    n1 = n;
    in1 = strand.running_in_this_thread();
  });
  erased.async_read_some(asio::buffer(b2), [&](error_code, std::size_t n) {
    n2 = n;
    in2 = strand.running_in_this_thread();
  });
  std::thread t([&] { ctx.run_for(hang_guard); });
  ctx.run_for(hang_guard);
  t.join();
  BOOST_TEST(n1 == 8u);
  BOOST_TEST(n2 == 8u);
  BOOST_TEST(in1);
  BOOST_TEST(in2);
}

BOOST_AUTO_TEST_CASE(bind_allocator_allocates_with_handler_allocator)
{
  temp_file tf(bytes("allocator"));
  asio_uring::io_context ctx;
  stream_file f(ctx, tf.path(), file_base::read_write);
  asio_uring_test::allocation_counts counts;
  asio_uring_test::counting_allocator<char> alloc(counts);
  char buf[4];
  io_result r1, r2;
  f.async_read_some(asio::buffer(buf), asio::bind_allocator(alloc, asio_uring_test::recording_handler(r1)));
  f.async_write_some(asio::const_buffer(), asio::bind_allocator(alloc, asio_uring_test::recording_handler(r2)));
  BOOST_TEST(counts.allocations.load() >= 2);
  ctx.run_for(hang_guard);
  BOOST_TEST(r1.calls == 1);
  BOOST_TEST(r2.calls == 1);
  BOOST_TEST(counts.allocations.load() == counts.deallocations.load());
  BOOST_TEST(counts.live_bytes.load() == 0);
}

// ---------------------------------------------------------------------------
// Threads

BOOST_AUTO_TEST_CASE(multi_threaded_run_reads_many_files_completely)
{
  constexpr int files = 12;
  constexpr std::size_t size = 200000;
  std::vector<std::unique_ptr<temp_file>> temps;
  for (int i = 0; i < files; ++i)
    temps.push_back(std::make_unique<temp_file>(pattern(size, 0, std::uint64_t(i + 1))));
  asio_uring::io_context ctx(4);

  struct reader
  {
    std::unique_ptr<stream_file> file;
    std::vector<unsigned char> got;
    std::array<unsigned char, 4096> buf;
    error_code last;
    std::thread::id threads[2];
  };
  std::vector<reader> readers(files);
  std::function<void(reader&)> start = [&](reader& rd) {
    rd.file->async_read_some(asio::buffer(rd.buf), [&](error_code ec, std::size_t n) {
      rd.got.insert(rd.got.end(), rd.buf.begin(), rd.buf.begin() + n);
      if (ec)
        rd.last = ec;
      else
        start(rd);
    });
  };
  for (int i = 0; i < files; ++i)
  {
    readers[i].file = std::make_unique<stream_file>(ctx, temps[i]->path(), file_base::read_only);
    start(readers[i]);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&] { ctx.run_for(hang_guard); });
  ctx.run_for(hang_guard);
  for (auto& t : threads)
    t.join();
  for (int i = 0; i < files; ++i)
  {
    BOOST_TEST(readers[i].last == asio::error::eof);
    BOOST_TEST(readers[i].got.size() == size);
    BOOST_TEST(asio_uring_test::first_pattern_mismatch(readers[i].got.data(),
                   readers[i].got.size(), 0, std::uint64_t(i + 1))
        == readers[i].got.size());
  }
}

BOOST_AUTO_TEST_CASE(operations_started_from_other_threads_complete)
{
  constexpr int writers = 4;
  constexpr int per_writer = 50;
  asio_uring::io_context ctx;
  auto guard = asio::make_work_guard(ctx);
  std::thread runner([&] { ctx.run_for(hang_guard); });

  std::vector<std::unique_ptr<temp_file>> temps;
  std::vector<std::unique_ptr<stream_file>> files;
  for (int i = 0; i < writers; ++i)
  {
    temps.push_back(std::make_unique<temp_file>());
    files.push_back(std::make_unique<stream_file>(ctx, temps[i]->path(), file_base::write_only));
  }
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < writers; ++i)
    threads.emplace_back([&, i] {
      // Each thread owns one file; it starts each write when the previous
      // one completed (the handler runs on the context's thread).
      for (int k = 0; k < per_writer; ++k)
      {
        std::promise<void> written;
        auto data = std::make_shared<std::string>(std::to_string(k) + ";");
        if (k % 2 == 0)
          files[i]->async_write_some(asio::buffer(*data),
              [&, data](error_code ec, std::size_t n) {
                BOOST_TEST(!ec);
                BOOST_TEST(n == data->size());
                written.set_value();
              });
        else
          asio::post(ctx, [&, data] {
            files[i]->async_write_some(asio::buffer(*data),
                [&, data](error_code ec, std::size_t n) {
                  BOOST_TEST(!ec);
                  BOOST_TEST(n == data->size());
                  written.set_value();
                });
          });
        written.get_future().wait();
      }
      ++done;
    });
  for (auto& t : threads)
    t.join();
  guard.reset();
  runner.join();
  BOOST_TEST(done.load() == writers);
  std::string expected;
  for (int k = 0; k < per_writer; ++k)
    expected += std::to_string(k) + ";";
  for (int i = 0; i < writers; ++i)
    BOOST_TEST(text(temps[i]->contents()) == expected);
}

BOOST_AUTO_TEST_SUITE_END()
