// random_access_file / basic_random_access_file: every member, every
// completion token kind, EOF, zero-size and huge buffers, bad offsets, error
// paths, Asio's *_at free functions, and concurrent random reads and writes
// with every byte verified (one and several threads, default and tiny ring).
#include <asio_uring/random_access_file.hpp>  // first: self-contained

#include <asio_uring/io_context.hpp>
#include <asio_uring/stream_file.hpp>

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
#include <boost/asio/post.hpp>
#include <boost/asio/read_at.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write_at.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include <sys/mman.h>

namespace asio = boost::asio;
using asio_uring::file_base;
using asio_uring::random_access_file;
using asio_uring_test::io_result;
using asio_uring_test::pattern;
using asio_uring_test::recording_handler;
using asio_uring_test::temp_file;
using boost::system::error_code;

namespace {

constexpr auto hang_guard = std::chrono::seconds(60);

using native_ra_file =
    asio_uring::basic_random_access_file<asio_uring::io_context::executor_type>;

static_assert(std::is_same_v<random_access_file::executor_type, asio::any_io_executor>);
static_assert(std::is_same_v<random_access_file::native_handle_type, int>);
static_assert(std::is_same_v<random_access_file::rebind_executor<
                  asio_uring::io_context::executor_type>::other,
    native_ra_file>);
static_assert(!std::is_copy_constructible_v<random_access_file>);
static_assert(!std::is_copy_assignable_v<random_access_file>);
static_assert(std::is_nothrow_move_constructible_v<random_access_file>);
static_assert(std::is_constructible_v<random_access_file, native_ra_file&&>);
static_assert(std::is_assignable_v<random_access_file&, native_ra_file&&>);
static_assert(!std::is_constructible_v<native_ra_file, random_access_file&&>);
static_assert(!std::is_constructible_v<random_access_file,
    asio_uring::basic_stream_file<asio_uring::io_context::executor_type>&&>);
static_assert(!std::is_constructible_v<random_access_file, asio_uring::stream_file&&>);

std::string text(const std::vector<unsigned char>& v)
{
  return std::string(v.begin(), v.end());
}

std::vector<unsigned char> bytes(const std::string& s)
{
  return std::vector<unsigned char>(s.begin(), s.end());
}

constexpr std::uint64_t bad_offset = ~std::uint64_t(0);

} // namespace

BOOST_AUTO_TEST_SUITE(random_access_file_suite)

// ---------------------------------------------------------------------------
// Construction, moves, open/close/release

BOOST_AUTO_TEST_CASE(constructors_open_or_leave_closed)
{
  temp_file tf(bytes("0123456789"));
  asio_uring::io_context ctx;
  random_access_file a(ctx.get_executor());
  random_access_file b(ctx);
  BOOST_TEST(!a.is_open());
  BOOST_TEST(!b.is_open());
  random_access_file c(ctx.get_executor(), tf.path().c_str(), file_base::read_only);
  random_access_file d(ctx.get_executor(), tf.path(), file_base::read_only);
  random_access_file e(ctx, tf.path().c_str(), file_base::read_only);
  random_access_file f(ctx, tf.path(), file_base::read_only);
  for (random_access_file* p : {&c, &d, &e, &f})
    BOOST_TEST(p->size() == 10u);
  int fd = ::open(tf.path().c_str(), O_RDONLY | O_CLOEXEC);
  random_access_file g(ctx, fd);
  BOOST_TEST(g.native_handle() == fd);
  int fd2 = ::open(tf.path().c_str(), O_RDONLY | O_CLOEXEC);
  random_access_file h(ctx.get_executor(), fd2);
  BOOST_TEST(h.native_handle() == fd2);
  BOOST_CHECK_THROW(random_access_file(ctx, "/nonexistent/x", file_base::read_only),
      boost::system::system_error);
}

BOOST_AUTO_TEST_CASE(assign_takes_descriptor_without_changing_its_offset)
{
  temp_file tf(bytes("0123456789"));
  asio_uring::io_context ctx;
  int fd = ::open(tf.path().c_str(), O_RDONLY | O_CLOEXEC);
  ::lseek(fd, 3, SEEK_SET);
  random_access_file f(ctx);
  error_code ec = asio::error::eof;
  f.assign(fd, ec);
  BOOST_TEST(!ec);
  char c;
  f.read_some_at(7, asio::buffer(&c, 1));
  BOOST_TEST(c == '7');
  BOOST_TEST(f.release() == fd);
  BOOST_TEST(::lseek(fd, 0, SEEK_CUR) == 3);
  ::close(fd);

  f.assign(12345678, ec);
  BOOST_TEST(ec == asio::error::bad_descriptor);
  BOOST_TEST(!f.is_open());
  BOOST_CHECK_THROW(f.assign(12345678), boost::system::system_error);
}

BOOST_AUTO_TEST_CASE(release_leaves_descriptor_offset_alone)
{
  // A random-access file has no position of its own: release() must not
  // move the descriptor's offset (Asio's does not).
  temp_file tf(bytes("0123456789"));
  asio_uring::io_context ctx;
  random_access_file f(ctx, tf.path(), file_base::read_only);
  int fd = f.native_handle();
  BOOST_REQUIRE(::lseek(fd, 7, SEEK_SET) == 7);
  char c;
  f.read_some_at(1, asio::buffer(&c, 1));
  BOOST_TEST(f.release() == fd);
  BOOST_TEST(::lseek(fd, 0, SEEK_CUR) == 7);
  ::close(fd);
}

BOOST_AUTO_TEST_CASE(moves_leave_source_closed_across_executor_types)
{
  temp_file t1(bytes("one")), t2(bytes("two!"));
  asio_uring::io_context ctx;
  random_access_file a(ctx, t1.path(), file_base::read_only);
  int fa = a.native_handle();
  random_access_file b(std::move(a));
  BOOST_TEST(!a.is_open());
  BOOST_TEST(b.native_handle() == fa);

  native_ra_file n(ctx, t2.path(), file_base::read_only);
  int fn = n.native_handle();
  b = std::move(n);
  BOOST_TEST(!n.is_open());
  BOOST_TEST(b.native_handle() == fn);
  BOOST_TEST(!asio_uring_test::fd_is_open(fa));
  BOOST_TEST(b.size() == 4u);

  native_ra_file n2(ctx, t1.path(), file_base::read_only);
  random_access_file c(std::move(n2));
  BOOST_TEST(!n2.is_open());
  a = std::move(c);
  BOOST_TEST(!c.is_open());
  BOOST_TEST(a.size() == 3u);

  // Moved-from objects keep working as fresh ones.
  n2.open(t2.path(), file_base::read_only);
  BOOST_TEST(n2.size() == 4u);
}

BOOST_AUTO_TEST_CASE(open_close_release_and_errors)
{
  temp_file tf(bytes("abc"));
  asio_uring::io_context ctx;
  random_access_file f(ctx);
  error_code ec;
  f.open("/nonexistent/x", file_base::read_only, ec);
  BOOST_TEST(ec == boost::system::errc::no_such_file_or_directory);
  f.open(tf.path(), file_base::read_write, ec);
  BOOST_TEST(!ec);
  f.open(tf.path(), file_base::read_write, ec);
  BOOST_TEST(ec == asio::error::already_open);
  BOOST_CHECK_THROW(f.open(tf.path(), file_base::read_write), boost::system::system_error);
  int fd = f.native_handle();
  f.close();
  BOOST_TEST(!asio_uring_test::fd_is_open(fd));
  f.close(ec);
  BOOST_TEST(!ec);
  ec = asio::error::bad_descriptor;
  BOOST_TEST(f.release(ec) == -1);  // as Boost.Asio's files: no error
  BOOST_TEST(!ec);
  BOOST_TEST(f.release() == -1);
  f.cancel(ec);
  BOOST_TEST(ec == asio::error::bad_descriptor);
}

BOOST_AUTO_TEST_CASE(size_resize_sync_and_their_closed_errors)
{
  temp_file tf(bytes("0123456789"));
  asio_uring::io_context ctx;
  random_access_file f(ctx, tf.path(), file_base::read_write);
  f.resize(3);
  BOOST_TEST(f.size() == 3u);
  f.resize(5);
  BOOST_TEST(text(tf.contents()) == std::string("012\0\0", 5));
  f.sync_all();
  f.sync_data();
  f.close();
  error_code ec;
  f.size(ec);
  BOOST_TEST(ec == asio::error::bad_descriptor);
  f.resize(1, ec);
  BOOST_TEST(ec == asio::error::bad_descriptor);
  f.sync_all(ec);
  BOOST_TEST(ec == asio::error::bad_descriptor);
  f.sync_data(ec);
  BOOST_TEST(ec == asio::error::bad_descriptor);
  BOOST_CHECK_THROW(f.size(), boost::system::system_error);
  BOOST_CHECK_THROW(f.sync_data(), boost::system::system_error);
}

// ---------------------------------------------------------------------------
// Synchronous read_some_at / write_some_at

BOOST_AUTO_TEST_CASE(read_some_at_reads_at_offset_and_reports_eof)
{
  temp_file tf(bytes("0123456789"));
  asio_uring::io_context ctx;
  random_access_file f(ctx, tf.path(), file_base::read_only);
  char buf[4];
  BOOST_TEST(f.read_some_at(6, asio::buffer(buf)) == 4u);
  BOOST_TEST(std::string(buf, 4) == "6789");
  error_code ec = asio::error::eof;
  BOOST_TEST(f.read_some_at(8, asio::buffer(buf), ec) == 2u);
  BOOST_TEST(!ec);
  BOOST_TEST(f.read_some_at(10, asio::buffer(buf), ec) == 0u);
  BOOST_TEST(ec == asio::error::eof);
  BOOST_TEST(f.read_some_at(1000, asio::buffer(buf), ec) == 0u);
  BOOST_TEST(ec == asio::error::eof);
  BOOST_CHECK_THROW(f.read_some_at(10, asio::buffer(buf)), boost::system::system_error);
  // Zero-size: 0 bytes and no error, even past the end.
  BOOST_TEST(f.read_some_at(1000, asio::mutable_buffer(), ec) == 0u);
  BOOST_TEST(!ec);
  // The descriptor's offset is never used.
  BOOST_TEST(::lseek(f.native_handle(), 0, SEEK_CUR) == 0);
}

BOOST_AUTO_TEST_CASE(write_some_at_writes_at_offset_extending_the_file)
{
  temp_file tf(bytes("0123456789"));
  asio_uring::io_context ctx;
  random_access_file f(ctx, tf.path(), file_base::read_write);
  BOOST_TEST(f.write_some_at(2, asio::buffer("ab", 2)) == 2u);
  error_code ec = asio::error::eof;
  std::vector<asio::const_buffer> bufs{asio::buffer("X", 1), asio::const_buffer(),
      asio::buffer("YZ", 2)};
  BOOST_TEST(f.write_some_at(12, bufs, ec) == 3u);
  BOOST_TEST(!ec);
  BOOST_TEST(text(tf.contents()) == std::string("01ab456789\0\0XYZ", 15));
  BOOST_TEST(f.write_some_at(0, asio::const_buffer(), ec) == 0u);
  BOOST_TEST(!ec);
}

BOOST_AUTO_TEST_CASE(sync_ops_in_wrong_mode_or_closed_fail_with_bad_descriptor)
{
  temp_file tf(bytes("keep"));
  asio_uring::io_context ctx;
  random_access_file ro(ctx, tf.path(), file_base::read_only);
  random_access_file wo(ctx, tf.path(), file_base::write_only);
  random_access_file closed(ctx);
  char buf[4];
  error_code ec;
  BOOST_TEST(ro.write_some_at(0, asio::buffer("x", 1), ec) == 0u);
  BOOST_TEST(ec == asio::error::bad_descriptor);
  BOOST_TEST((ec.category() == boost::system::system_category()));
  BOOST_TEST(wo.read_some_at(0, asio::buffer(buf), ec) == 0u);
  BOOST_TEST(ec == asio::error::bad_descriptor);
  BOOST_TEST(closed.read_some_at(0, asio::buffer(buf), ec) == 0u);
  BOOST_TEST(ec == asio::error::bad_descriptor);
  BOOST_TEST(closed.write_some_at(0, asio::buffer(buf), ec) == 0u);
  BOOST_TEST(ec == asio::error::bad_descriptor);
  BOOST_CHECK_THROW(ro.write_some_at(0, asio::buffer("x", 1)), boost::system::system_error);
  BOOST_CHECK_THROW(closed.read_some_at(0, asio::buffer(buf)), boost::system::system_error);
  BOOST_TEST(text(tf.contents()) == "keep");
}

BOOST_AUTO_TEST_CASE(offset_beyond_off_t_fails_with_invalid_argument)
{
  // ~0 would mean "the descriptor's position" to the kernel: it must not
  // write at the descriptor's offset instead.
  temp_file tf(bytes("0123"));
  asio_uring::io_context ctx;
  random_access_file f(ctx, tf.path(), file_base::read_write);
  char buf[4];
  error_code ec;
  BOOST_TEST(f.write_some_at(bad_offset, asio::buffer("zz", 2), ec) == 0u);
  BOOST_TEST(ec == asio::error::invalid_argument);
  BOOST_TEST(f.read_some_at(bad_offset, asio::buffer(buf), ec) == 0u);
  BOOST_TEST(ec == asio::error::invalid_argument);
  BOOST_TEST(f.read_some_at(std::uint64_t(1) << 63, asio::buffer(buf), ec) == 0u);
  BOOST_TEST(ec == asio::error::invalid_argument);

  io_result r1, r2, r3;
  f.async_write_some_at(bad_offset, asio::buffer("zz", 2), recording_handler(r1));
  f.async_read_some_at(bad_offset, asio::buffer(buf), recording_handler(r2));
  f.async_write_some_at(std::uint64_t(1) << 63, asio::buffer("zz", 2), recording_handler(r3));
  ctx.run_for(hang_guard);
  for (io_result* r : {&r1, &r2, &r3})
  {
    BOOST_TEST(r->calls == 1);
    BOOST_TEST(r->ec == asio::error::invalid_argument);
    BOOST_TEST(r->n == 0u);
  }
  BOOST_TEST(text(tf.contents()) == "0123");
}

BOOST_AUTO_TEST_CASE(write_past_maximum_file_size_fails_with_file_too_large)
{
  temp_file tf;
  asio_uring::io_context ctx;
  random_access_file f(ctx, tf.path(), file_base::read_write);
  const std::uint64_t huge = std::uint64_t(1) << 62;  // beyond ext4/xfs/tmpfs
  error_code ec;
  BOOST_TEST(f.write_some_at(huge, asio::buffer("x", 1), ec) == 0u);
  BOOST_TEST(ec == boost::system::errc::file_too_large);
  io_result r;
  f.async_write_some_at(huge, asio::buffer("x", 1), recording_handler(r));
  ctx.run_for(hang_guard);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(r.ec == boost::system::errc::file_too_large);
  BOOST_TEST(f.size() == 0u);
}

BOOST_AUTO_TEST_CASE(huge_buffers_transfer_at_most_the_kernel_limit)
{
  // 5 GiB of address space, never touched: the length must be clamped to
  // what one read/write can move, not truncated to 32 bits.
  const std::size_t huge = std::size_t(5) << 30;
  void* mem = ::mmap(nullptr, huge, PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  BOOST_REQUIRE(mem != MAP_FAILED);
  temp_file tf(bytes("tiny"));
  asio_uring::io_context ctx;
  random_access_file small(ctx, tf.path(), file_base::read_only);
  random_access_file null(ctx, "/dev/null", file_base::write_only);
  io_result r1, r2;
  small.async_read_some_at(0, asio::buffer(mem, huge), recording_handler(r1));
  null.async_write_some_at(0, asio::buffer(mem, huge), recording_handler(r2));
  ctx.run_for(hang_guard);
  BOOST_TEST(r1.calls == 1);
  BOOST_TEST(!r1.ec);
  BOOST_TEST(r1.n == 4u);
  BOOST_TEST(std::string(static_cast<char*>(mem), 4) == "tiny");
  BOOST_TEST(r2.calls == 1);
  BOOST_TEST(!r2.ec);
  BOOST_TEST(r2.n == 0x7ffff000u);
  error_code ec;
  BOOST_TEST(small.read_some_at(1, asio::buffer(mem, huge), ec) == 3u);
  BOOST_TEST(!ec);
  ::munmap(mem, huge);
}

BOOST_AUTO_TEST_CASE(sync_free_functions_read_at_and_write_at)
{
  temp_file tf;
  asio_uring::io_context ctx;
  random_access_file f(ctx, tf.path(), file_base::read_write);
  auto data = pattern(500000, 0, 3);
  BOOST_TEST(asio::write_at(f, 1000, asio::buffer(data)) == data.size());
  std::vector<unsigned char> back(data.size());
  BOOST_TEST(asio::read_at(f, 1000, asio::buffer(back)) == data.size());
  BOOST_TEST((back == data));
  // read_at past the end: eof with what there was.
  std::vector<unsigned char> more(data.size());
  error_code ec;
  BOOST_TEST(asio::read_at(f, 1000 + 100, asio::buffer(more), ec) == data.size() - 100);
  BOOST_TEST(ec == asio::error::eof);
  asio::streambuf sb;
  BOOST_TEST(asio::read_at(f, 1000, sb, ec) == data.size());
  BOOST_TEST(ec == asio::error::eof);
}

// ---------------------------------------------------------------------------
// Asynchronous read_some_at / write_some_at

BOOST_AUTO_TEST_CASE(async_ops_complete_outside_initiation_with_results)
{
  temp_file tf(bytes("0123456789"));
  asio_uring::io_context ctx;
  random_access_file f(ctx, tf.path(), file_base::read_write);
  char buf[4];
  io_result r1, r2, r3, r4;
  bool initiating = true;
  f.async_read_some_at(3, asio::buffer(buf), recording_handler(r1, &initiating));
  f.async_read_some_at(10, asio::buffer(buf), recording_handler(r2, &initiating));
  f.async_write_some_at(20, asio::buffer("end", 3), recording_handler(r3, &initiating));
  f.async_read_some_at(999, asio::mutable_buffer(), recording_handler(r4, &initiating));
  initiating = false;
  BOOST_TEST(r1.calls + r2.calls + r3.calls + r4.calls == 0);
  ctx.run_for(hang_guard);
  BOOST_TEST(r1.calls == 1);
  BOOST_TEST(!r1.ec);
  BOOST_TEST(r1.n == 4u);
  BOOST_TEST(std::string(buf, 4) == "3456");
  BOOST_TEST(r2.calls == 1);
  BOOST_TEST(r2.ec == asio::error::eof);
  BOOST_TEST(r3.calls == 1);
  BOOST_TEST(r3.n == 3u);
  BOOST_TEST(r4.calls == 1);
  BOOST_TEST(!r4.ec);
  BOOST_TEST(r4.n == 0u);
  BOOST_TEST(f.size() == 23u);
}

BOOST_AUTO_TEST_CASE(async_zero_size_completes_without_kernel)
{
  temp_file tf(bytes("abc"));
  asio_uring::io_context ctx;
  random_access_file wo(ctx, tf.path(), file_base::write_only);
  random_access_file ro(ctx, tf.path(), file_base::read_only);
  io_result r1, r2;
  std::vector<asio::const_buffer> empties(4);
  wo.async_read_some_at(0, asio::mutable_buffer(), recording_handler(r1));
  ro.async_write_some_at(0, empties, recording_handler(r2));
  ctx.run_for(hang_guard);
  BOOST_TEST(r1.calls == 1);
  BOOST_TEST(!r1.ec);
  BOOST_TEST(r2.calls == 1);
  BOOST_TEST(!r2.ec);
  BOOST_TEST(r2.n == 0u);
}

BOOST_AUTO_TEST_CASE(async_ops_in_wrong_mode_or_closed_fail_with_bad_descriptor)
{
  temp_file tf(bytes("keep"));
  asio_uring::io_context ctx;
  random_access_file ro(ctx, tf.path(), file_base::read_only);
  random_access_file wo(ctx, tf.path(), file_base::write_only);
  random_access_file closed(ctx);
  char buf[4];
  io_result r1, r2, r3, r4;
  bool initiating = true;
  ro.async_write_some_at(0, asio::buffer("x", 1), recording_handler(r1, &initiating));
  wo.async_read_some_at(0, asio::buffer(buf), recording_handler(r2, &initiating));
  closed.async_read_some_at(0, asio::buffer(buf), recording_handler(r3, &initiating));
  closed.async_write_some_at(0, asio::buffer(buf), recording_handler(r4, &initiating));
  initiating = false;
  ctx.run_for(hang_guard);
  for (io_result* r : {&r1, &r2, &r3, &r4})
  {
    BOOST_TEST(r->calls == 1);
    BOOST_TEST(r->ec == asio::error::bad_descriptor);
    BOOST_TEST((r->ec.category() == boost::system::system_category()));
  }
  BOOST_TEST(text(tf.contents()) == "keep");
}

BOOST_AUTO_TEST_CASE(async_scatter_gather_and_move_only_handlers)
{
  temp_file tf;
  asio_uring::io_context ctx;
  random_access_file f(ctx, tf.path(), file_base::read_write);
  std::array<asio::const_buffer, 3> out{asio::buffer("abc", 3), asio::const_buffer(),
      asio::buffer("defgh", 5)};
  io_result w, r, ra, wa;
  f.async_write_some_at(4, out, asio_uring_test::move_only_handler(w));
  ctx.run_for(hang_guard);
  char a[2], b[16];
  std::array<asio::mutable_buffer, 2> in{asio::buffer(a), asio::buffer(b)};
  f.async_read_some_at(5, in, asio_uring_test::move_only_handler(r));
  ctx.restart();
  ctx.run_for(hang_guard);
  std::vector<unsigned char> whole(12);
  asio::async_read_at(f, 0, asio::buffer(whole), asio_uring_test::move_only_handler(ra));
  asio::async_write_at(f, 12, asio::buffer("!!", 2), asio_uring_test::move_only_handler(wa));
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(w.n == 8u);
  BOOST_TEST(r.n == 7u);
  BOOST_TEST(std::string(a, 2) == "bc");
  BOOST_TEST(std::string(b, 5) == "defgh");
  BOOST_TEST(ra.calls == 1);
  BOOST_TEST(ra.n == 12u);
  BOOST_TEST(text(whole) == std::string("\0\0\0\0abcdefgh", 12));
  BOOST_TEST(wa.n == 2u);
  BOOST_TEST(f.size() == 14u);
}

BOOST_AUTO_TEST_CASE(async_read_at_dynamic_buffer_reads_to_eof)
{
  auto data = pattern(300001, 0, 5);
  temp_file tf(data);
  asio_uring::io_context ctx;
  random_access_file f(ctx, tf.path(), file_base::read_only);
  asio::streambuf sb;
  io_result r;
  asio::async_read_at(f, 1, sb, recording_handler(r));
  ctx.run_for(hang_guard);
  BOOST_TEST(r.ec == asio::error::eof);
  BOOST_TEST(r.n == data.size() - 1);
  const unsigned char* p = static_cast<const unsigned char*>(sb.data().data());
  BOOST_TEST(std::equal(p, p + sb.size(), data.begin() + 1));
}

// ---------------------------------------------------------------------------
// Completion tokens

BOOST_AUTO_TEST_CASE(use_future_delivers_result_and_error)
{
  temp_file tf(bytes("future"));
  asio_uring::io_context ctx;
  random_access_file f(ctx, tf.path(), file_base::read_only);
  char buf[16];
  auto ok = f.async_read_some_at(2, asio::buffer(buf), asio::use_future);
  auto eof = f.async_read_some_at(6, asio::buffer(buf + 8, 8), asio::use_future);
  auto bad = f.async_write_some_at(0, asio::buffer("x", 1), asio::use_future);
  ctx.run_for(hang_guard);
  BOOST_TEST(ok.get() == 4u);
  BOOST_TEST(std::string(buf, 4) == "ture");
  BOOST_CHECK_THROW(eof.get(), boost::system::system_error);
  BOOST_CHECK_THROW(bad.get(), boost::system::system_error);
}

BOOST_AUTO_TEST_CASE(use_awaitable_as_tuple_redirect_error_deferred_promise)
{
  temp_file tf;
  asio_uring::io_context ctx;
  random_access_file f(ctx, tf.path(), file_base::read_write);
  bool finished = false;
  asio::co_spawn(ctx,
      [&]() -> asio::awaitable<void> {
        std::size_t n = co_await f.async_write_some_at(0, asio::buffer("awaitable", 9), asio::use_awaitable);
        BOOST_TEST(n == 9u);
        char buf[16];
        auto [ec, m] = co_await f.async_read_some_at(5, asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
        BOOST_TEST(!ec);
        BOOST_TEST(std::string(buf, m) == "able");
        error_code rec;
        co_await f.async_read_some_at(9, asio::buffer(buf), asio::redirect_error(asio::use_awaitable, rec));
        BOOST_TEST(rec == asio::error::eof);
        // deferred, awaited.
        n = co_await f.async_read_some_at(0, asio::buffer(buf, 5), asio::deferred)(asio::use_awaitable);
        BOOST_TEST(std::string(buf, n) == "await");
        // A promise started now, awaited later.
        auto p = f.async_read_some_at(2, asio::buffer(buf, 3), asio::experimental::use_promise);
        n = co_await p(asio::use_awaitable);
        BOOST_TEST(std::string(buf, n) == "ait");
        finished = true;
      },
      [](std::exception_ptr e) {
        if (e)
          std::rethrow_exception(e);
      });
  ctx.run_for(hang_guard);
  BOOST_TEST(finished);
}

BOOST_AUTO_TEST_CASE(bind_executor_and_bind_allocator_are_honoured)
{
  temp_file tf(bytes("bound"));
  asio_uring::io_context ctx;
  random_access_file f(ctx, tf.path(), file_base::read_write);
  auto strand = asio::make_strand(ctx);
  asio_uring_test::allocation_counts counts;
  asio_uring_test::counting_allocator<int> alloc(counts);
  char buf[8];
  bool in_strand = false;
  io_result r;
  f.async_read_some_at(0, asio::buffer(buf), asio::bind_executor(strand,
      [&](error_code, std::size_t) { in_strand = strand.running_in_this_thread(); }));
  f.async_write_some_at(5, asio::buffer("!", 1), asio::bind_allocator(alloc, recording_handler(r)));
  BOOST_TEST(counts.allocations.load() >= 1);
  ctx.run_for(hang_guard);
  BOOST_TEST(in_strand);
  BOOST_TEST(r.n == 1u);
  BOOST_TEST(counts.allocations.load() == counts.deallocations.load());
  BOOST_TEST(counts.live_bytes.load() == 0);
}

// ---------------------------------------------------------------------------
// Concurrent random I/O, every byte verified

namespace {

struct random_io_config
{
  const char* name;
  int threads;       // threads calling run()
  unsigned entries;  // ring SQ entries (4: the SQ is full most of the time)
  int concurrency;   // operations in flight
  bool sqpoll = false;
  bool single_issuer = false;
};

std::ostream& operator<<(std::ostream& os, const random_io_config& c)
{
  return os << c.name;
}

const random_io_config random_io_configs[] = {
    {"one_thread_default_ring", 1, 256, 64},
    {"three_threads_default_ring", 3, 256, 64},
    {"one_thread_tiny_ring", 1, 4, 48},
    {"two_threads_tiny_ring", 2, 4, 300},
    {"sqpoll_ring", 2, 256, 64, true, false},
    {"single_issuer_ring", 1, 256, 64, false, true},
};

// Runs ops (each started by start(i, done)) with at most `concurrency` in
// flight; done() may be called from any run() thread.
void run_bounded(asio_uring::io_context& ctx, int threads, std::size_t count,
    int concurrency, const std::function<void(std::size_t, std::function<void()>)>& start)
{
  std::mutex m;
  std::size_t next = 0;
  std::function<void()> launch_one;
  launch_one = [&] {
    std::size_t i;
    {
      std::lock_guard<std::mutex> lock(m);
      if (next == count)
        return;
      i = next++;
    }
    start(i, [&] { launch_one(); });
  };
  for (int k = 0; k < concurrency; ++k)
    launch_one();
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t)
    pool.emplace_back([&] { ctx.run_for(hang_guard); });
  ctx.run_for(hang_guard);
  for (auto& t : pool)
    t.join();
  ctx.restart();
}

} // namespace

BOOST_DATA_TEST_CASE(concurrent_random_writes_and_reads_verify_every_byte,
    boost::unit_test::data::make(random_io_configs), cfg)
{
  constexpr std::uint64_t file_size = 8 << 20;
  asio_uring::ring_options opts;
  opts.entries = cfg.entries;
  opts.sqpoll = cfg.sqpoll;
  opts.single_issuer = cfg.single_issuer;
  asio_uring::io_context ctx(opts, cfg.threads);
  temp_file tf;
  random_access_file f(ctx, tf.path(), file_base::read_write);

  // Cut the file into blocks of 1 B .. 64 KiB, written in random order.
  std::mt19937_64 rng(42 + cfg.entries + cfg.threads);
  struct block { std::uint64_t off; std::size_t len; };
  std::vector<block> blocks;
  for (std::uint64_t off = 0; off < file_size;)
  {
    std::size_t len = std::min<std::uint64_t>(1 + rng() % 65536, file_size - off);
    blocks.push_back({off, len});
    off += len;
  }
  std::shuffle(blocks.begin(), blocks.end(), rng);

  std::atomic<int> write_errors{0}, short_writes{0};
  run_bounded(ctx, cfg.threads, blocks.size(), cfg.concurrency,
      [&](std::size_t i, std::function<void()> done) {
        auto buf = std::make_shared<std::vector<unsigned char>>(
            pattern(blocks[i].len, blocks[i].off));
        auto on_write = [&, buf, i, done](error_code ec, std::size_t n) {
          if (ec)
            ++write_errors;
          else if (n != blocks[i].len)
            ++short_writes;
          done();
        };
        // Half the blocks through the composed write_at, half directly.
        if (i % 2 == 0)
          asio::async_write_at(f, blocks[i].off, asio::buffer(*buf), on_write);
        else
          f.async_write_some_at(blocks[i].off, asio::buffer(*buf), on_write);
      });
  BOOST_TEST(write_errors.load() == 0);
  BOOST_TEST(short_writes.load() == 0);
  BOOST_REQUIRE(f.size() == file_size);
  auto contents = tf.contents();
  BOOST_TEST(asio_uring_test::first_pattern_mismatch(contents.data(), contents.size(), 0)
      == contents.size());

  // Random reads, some crossing or starting past the end.
  constexpr std::size_t reads = 3000;
  std::atomic<int> read_errors{0}, bad_bytes{0}, eofs{0};
  run_bounded(ctx, cfg.threads, reads, cfg.concurrency,
      [&](std::size_t, std::function<void()> done) {
        std::uint64_t off, len;
        {
          static std::mutex rng_mutex;
          std::lock_guard<std::mutex> lock(rng_mutex);
          switch (rng() % 10)
          {
          case 0:  // at or past the end
            off = file_size + rng() % 4096;
            break;
          case 1:  // crossing the end
            off = file_size - 1 - rng() % 50000;
            break;
          default:
            off = rng() % file_size;
          }
          len = 1 + rng() % 100000;
        }
        auto buf = std::make_shared<std::vector<unsigned char>>(len);
        f.async_read_some_at(off, asio::buffer(*buf),
            [&, buf, off, done](error_code ec, std::size_t n) {
              if (off >= file_size)
              {
                if (ec == asio::error::eof && n == 0)
                  ++eofs;
                else
                  ++read_errors;
              }
              else if (ec || n == 0 || off + n > file_size)
                ++read_errors;
              else if (asio_uring_test::first_pattern_mismatch(buf->data(), n, off) != n)
                ++bad_bytes;
              done();
            });
      });
  BOOST_TEST(read_errors.load() == 0);
  BOOST_TEST(bad_bytes.load() == 0);
  BOOST_TEST(eofs.load() > 0);

  // Rewrite the first half with another pattern while reading the second.
  const std::uint64_t half = file_size / 2;
  constexpr std::size_t piece = 16384;
  const std::size_t pieces = std::size_t(half / piece);
  std::atomic<int> mixed_errors{0};
  run_bounded(ctx, cfg.threads, 2 * pieces, cfg.concurrency,
      [&](std::size_t i, std::function<void()> done) {
        std::uint64_t off = (i / 2) * piece;
        if (i % 2 == 0)
        {
          auto buf = std::make_shared<std::vector<unsigned char>>(pattern(piece, off, 99));
          asio::async_write_at(f, off, asio::buffer(*buf),
              [&, buf, done](error_code ec, std::size_t n) {
                if (ec || n != piece)
                  ++mixed_errors;
                done();
              });
        }
        else
        {
          auto buf = std::make_shared<std::vector<unsigned char>>(piece);
          asio::async_read_at(f, half + off, asio::buffer(*buf),
              [&, buf, off, done](error_code ec, std::size_t n) {
                if (ec || n != piece
                    || asio_uring_test::first_pattern_mismatch(buf->data(), n, half + off) != n)
                  ++mixed_errors;
                done();
              });
        }
      });
  BOOST_TEST(mixed_errors.load() == 0);
  contents = tf.contents();
  BOOST_REQUIRE(contents.size() == file_size);
  BOOST_TEST(asio_uring_test::first_pattern_mismatch(contents.data(), half, 0, 99) == half);
  BOOST_TEST(asio_uring_test::first_pattern_mismatch(contents.data() + half, half, half) == half);
}

BOOST_AUTO_TEST_CASE(operations_posted_from_other_threads_complete)
{
  temp_file tf;
  asio_uring::io_context ctx;
  auto guard = asio::make_work_guard(ctx);
  std::thread runner([&] { ctx.run_for(hang_guard); });
  constexpr int threads = 4;
  constexpr int per_thread = 64;
  constexpr std::size_t chunk = 1000;
  std::atomic<int> ok{0};
  std::vector<std::thread> starters;
  for (int t = 0; t < threads; ++t)
    starters.emplace_back([&, t] {
      // Each thread has its own file object (shared objects are unsafe, as
      // in Asio), all on one file.
      random_access_file f(ctx, tf.path(), file_base::write_only);
      std::vector<std::promise<void>> done(per_thread);
      std::vector<std::vector<unsigned char>> bufs;
      for (int k = 0; k < per_thread; ++k)
      {
        std::uint64_t off = std::uint64_t(t * per_thread + k) * chunk;
        bufs.push_back(pattern(chunk, off));
      }
      for (int k = 0; k < per_thread; ++k)
      {
        std::uint64_t off = std::uint64_t(t * per_thread + k) * chunk;
        auto on_done = [&, k](error_code ec, std::size_t n) {
          if (!ec && n == chunk)
            ++ok;
          done[k].set_value();
        };
        // Started directly from this (foreign) thread, or posted.
        if (k % 2)
          asio::async_write_at(f, off, asio::buffer(bufs[k]), on_done);
        else
          asio::post(ctx, [&, k, off, on_done] {
            asio::async_write_at(f, off, asio::buffer(bufs[k]), on_done);
          });
      }
      for (auto& d : done)
        d.get_future().wait();
    });
  for (auto& t : starters)
    t.join();
  guard.reset();
  runner.join();
  BOOST_TEST(ok.load() == threads * per_thread);
  auto contents = tf.contents();
  BOOST_TEST(contents.size() == threads * per_thread * chunk);
  BOOST_TEST(asio_uring_test::first_pattern_mismatch(contents.data(), contents.size(), 0)
      == contents.size());
}

BOOST_AUTO_TEST_SUITE_END()
