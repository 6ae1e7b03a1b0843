// Cancellation of file operations: per-operation slots (terminal, partial,
// total) before, during and after completion; cancel(), close() and
// release() with operations pending; destroying the object or the context
// with operations in flight. Blocking operations are reads of an empty pipe
// (and writes to a full one) through a stream_file: they wait in the kernel
// until cancelled.
#include <asio_uring/stream_file.hpp>  // first: self-contained

#include <asio_uring/io_context.hpp>
#include <asio_uring/random_access_file.hpp>

#include "file_test_support.hpp"
#include "test_util.hpp"

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_at.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using asio::cancellation_type;
using asio_uring::file_base;
using asio_uring::random_access_file;
using asio_uring::stream_file;
using asio_uring_test::io_result;
using asio_uring_test::recording_handler;
using asio_uring_test::test_pipe;
using boost::system::error_code;

BOOST_TEST_DONT_PRINT_LOG_VALUE(boost::asio::cancellation_type)

namespace {

constexpr auto hang_guard = std::chrono::seconds(20);
// Long enough for a submitted read to be waiting in the kernel.
constexpr auto settle = std::chrono::milliseconds(30);

const cancellation_type cancellation_types[] = {
    cancellation_type::terminal, cancellation_type::partial,
    cancellation_type::total};

// Owns its buffer: the kernel writes into it until the operation's final
// completion, so destroying the handler early would be a use-after-free.
class buffer_owning_handler
{
public:
  buffer_owning_handler(io_result& r, std::shared_ptr<int> alive)
    : r_(&r), alive_(std::move(alive)), buf_(new char[64])
  {
  }
  buffer_owning_handler(buffer_owning_handler&&) = default;

  asio::mutable_buffer buffer() const { return asio::buffer(buf_.get(), 64); }

  void operator()(const error_code& ec, std::size_t n)
  {
    ++r_->calls;
    r_->ec = ec;
    r_->n = n;
  }

private:
  io_result* r_;
  std::shared_ptr<int> alive_;
  std::unique_ptr<char[]> buf_;
};

// Bytes readable from a pipe descriptor right now.
int bytes_waiting(int fd)
{
  int n = -1;
  ::ioctl(fd, FIONREAD, &n);
  return n;
}

// Starts a read of the handler's own buffer.
template <typename File>
void read_into_handler(File& f, buffer_owning_handler h)
{
  asio::mutable_buffer b = h.buffer();
  f.async_read_some(b, std::move(h));
}

} // namespace

BOOST_AUTO_TEST_SUITE(file_cancellation)

// ---------------------------------------------------------------------------
// Per-operation cancellation slots

BOOST_DATA_TEST_CASE(slot_cancels_read_waiting_in_kernel,
    boost::unit_test::data::make(cancellation_types), type)
{
  test_pipe p;
  asio_uring::io_context ctx;
  stream_file f(ctx, p.take_read());
  asio::cancellation_signal sig;
  char buf[16];
  io_result r;
  f.async_read_some(asio::buffer(buf),
      asio::bind_cancellation_slot(sig.slot(), recording_handler(r)));
  BOOST_TEST(ctx.run_for(settle) == 0u);  // during: waiting in the kernel
  BOOST_TEST(r.calls == 0);
  sig.emit(type);
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(r.ec == asio::error::operation_aborted);
  BOOST_TEST(r.n == 0u);

  // The cancelled read took nothing: the next one gets every byte.
  p.put("later", 5);
  io_result r2;
  f.async_read_some(asio::buffer(buf), recording_handler(r2));
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(!r2.ec);
  BOOST_TEST(std::string(buf, r2.n) == "later");
}

BOOST_DATA_TEST_CASE(slot_cancels_write_waiting_on_full_pipe,
    boost::unit_test::data::make(cancellation_types), type)
{
  test_pipe p;
  asio_uring::io_context ctx;
  const int fd = p.write_end();
  ::fcntl(fd, F_SETPIPE_SZ, 4096);
  const int capacity = ::fcntl(fd, F_GETPIPE_SZ);
  std::vector<char> fill(static_cast<std::size_t>(capacity), 'f');
  p.put(fill.data(), fill.size());
  stream_file out(ctx, p.take_write());
  asio::cancellation_signal sig;
  io_result r;
  out.async_write_some(asio::buffer("blocked", 7),
      asio::bind_cancellation_slot(sig.slot(), recording_handler(r)));
  ctx.run_for(settle);
  BOOST_TEST(r.calls == 0);
  sig.emit(type);
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(r.ec == asio::error::operation_aborted);
  BOOST_TEST(p.available() == capacity);  // nothing of the write went in
}

BOOST_AUTO_TEST_CASE(slot_emitted_before_submission_aborts_read)
{
  // Emitted right after initiation, before any ring turn submitted the SQE.
  test_pipe p;
  asio_uring::io_context ctx;
  stream_file f(ctx, p.take_read());
  asio::cancellation_signal sig;
  char buf[4];
  io_result r;
  f.async_read_some(asio::buffer(buf),
      asio::bind_cancellation_slot(sig.slot(), recording_handler(r)));
  sig.emit(cancellation_type::terminal);
  ctx.run_for(hang_guard);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(r.ec == asio::error::operation_aborted);
}

BOOST_AUTO_TEST_CASE(slot_emitted_before_initiation_has_no_effect)
{
  test_pipe p;
  p.put("data", 4);
  asio_uring::io_context ctx;
  stream_file f(ctx, p.take_read());
  asio::cancellation_signal sig;
  sig.emit(cancellation_type::terminal);  // nobody listens yet
  char buf[8];
  io_result r;
  f.async_read_some(asio::buffer(buf),
      asio::bind_cancellation_slot(sig.slot(), recording_handler(r)));
  ctx.run_for(hang_guard);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(!r.ec);
  BOOST_TEST(r.n == 4u);
}

BOOST_AUTO_TEST_CASE(slot_emitted_with_type_none_does_not_cancel)
{
  test_pipe p;
  asio_uring::io_context ctx;
  stream_file f(ctx, p.take_read());
  asio::cancellation_signal sig;
  char buf[8];
  io_result r;
  f.async_read_some(asio::buffer(buf),
      asio::bind_cancellation_slot(sig.slot(), recording_handler(r)));
  ctx.run_for(settle);
  sig.emit(cancellation_type::none);
  ctx.restart();
  ctx.run_for(settle);
  BOOST_TEST(r.calls == 0);
  p.put("ok", 2);
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(!r.ec);
  BOOST_TEST(r.n == 2u);
}

BOOST_AUTO_TEST_CASE(slot_emitted_after_completion_is_harmless)
{
  test_pipe p;
  p.put("done", 4);
  asio_uring::io_context ctx;
  stream_file f(ctx, p.take_read());
  asio::cancellation_signal sig;
  char buf[8];
  io_result r;
  f.async_read_some(asio::buffer(buf),
      asio::bind_cancellation_slot(sig.slot(), recording_handler(r)));
  ctx.run_for(hang_guard);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(!r.ec);
  // The operation is gone. Its slot handler stays installed (as Boost.Asio's
  // do; clearing it from the completing thread raced with emit), but an
  // emit now reaches nothing.
  sig.emit(cancellation_type::terminal);
  ctx.restart();
  BOOST_TEST(ctx.poll() == 0u);
  BOOST_TEST(r.calls == 1);
}

BOOST_AUTO_TEST_CASE(slot_racing_completion_gives_result_or_abort_never_both)
{
  // Data is ready before the read starts; the cancellation arrives from a
  // handler queued ahead of the read's completion. Whichever wins, no byte
  // is lost and the handler runs once.
  asio_uring::io_context ctx;
  for (int round = 0; round < 200; ++round)
  {
    test_pipe p;
    p.put("0123456789", 10);
    stream_file f(ctx, p.take_read());
    asio::cancellation_signal sig;
    char buf[16];
    io_result r;
    if (round % 2)
      asio::post(ctx, [&] { sig.emit(cancellation_type::terminal); });
    f.async_read_some(asio::buffer(buf),
        asio::bind_cancellation_slot(sig.slot(), recording_handler(r)));
    if (round % 2 == 0)
      asio::post(ctx, [&] { sig.emit(cancellation_type::terminal); });
    ctx.restart();
    ctx.run_for(hang_guard);
    BOOST_REQUIRE(r.calls == 1);
    if (r.ec)
    {
      BOOST_TEST(r.ec == asio::error::operation_aborted);
      BOOST_TEST(r.n == 0u);
    }
    else
      BOOST_TEST(std::string(buf, r.n) == std::string("0123456789", r.n));
    BOOST_TEST(int(r.n) + bytes_waiting(f.native_handle()) == 10);
  }
}

BOOST_AUTO_TEST_CASE(slot_cancels_only_its_own_operation)
{
  test_pipe p1, p2;
  asio_uring::io_context ctx;
  stream_file a(ctx, p1.take_read());
  stream_file b(ctx, p2.take_read());
  asio::cancellation_signal sig;
  char ba[4], bb[4];
  io_result ra, rb;
  a.async_read_some(asio::buffer(ba),
      asio::bind_cancellation_slot(sig.slot(), recording_handler(ra)));
  b.async_read_some(asio::buffer(bb), recording_handler(rb));
  ctx.run_for(settle);
  sig.emit(cancellation_type::terminal);
  ctx.restart();
  ctx.run_for(settle);
  BOOST_TEST(ra.calls == 1);
  BOOST_TEST(ra.ec == asio::error::operation_aborted);
  BOOST_TEST(rb.calls == 0);
  p2.put("b", 1);
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(rb.calls == 1);
  BOOST_TEST(rb.n == 1u);
}

BOOST_AUTO_TEST_CASE(slot_cancels_composed_async_read)
{
  // async_read forwards the slot to each async_read_some it starts.
  test_pipe p;
  asio_uring::io_context ctx;
  stream_file f(ctx, p.take_read());
  asio::cancellation_signal sig;
  char buf[10];
  io_result r;
  asio::async_read(f, asio::buffer(buf),
      asio::bind_cancellation_slot(sig.slot(), recording_handler(r)));
  p.put("abc", 3);
  ctx.run_for(settle);
  BOOST_TEST(r.calls == 0);
  sig.emit(cancellation_type::terminal);
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(r.ec == asio::error::operation_aborted);
  BOOST_TEST(r.n == 3u);
  BOOST_TEST(std::string(buf, 3) == "abc");
}

BOOST_AUTO_TEST_CASE(cancelling_coroutine_aborts_awaited_read)
{
  test_pipe p;
  asio_uring::io_context ctx;
  stream_file f(ctx, p.take_read());
  asio::cancellation_signal sig;
  error_code seen;
  bool finished = false;
  asio::co_spawn(ctx,
      [&]() -> asio::awaitable<void> {
        char buf[8];
        try
        {
          co_await f.async_read_some(asio::buffer(buf), asio::use_awaitable);
        }
        catch (const boost::system::system_error& e)
        {
          seen = e.code();
        }
        finished = true;
      },
      asio::bind_cancellation_slot(sig.slot(), [](std::exception_ptr e) {
        if (e)
          std::rethrow_exception(e);
      }));
  ctx.run_for(settle);
  BOOST_TEST(!finished);
  sig.emit(cancellation_type::terminal);
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(finished);
  BOOST_TEST(seen == asio::error::operation_aborted);
}

// ---------------------------------------------------------------------------
// cancel(), close(), release()

BOOST_AUTO_TEST_CASE(cancel_aborts_every_pending_operation_and_keeps_file_open)
{
  test_pipe p;
  asio_uring::io_context ctx;
  stream_file f(ctx, p.take_read());
  char bufs[4][8];
  io_result r[4];
  for (int i = 0; i < 4; ++i)
    f.async_read_some(asio::buffer(bufs[i]), recording_handler(r[i]));
  ctx.run_for(settle);
  f.cancel();
  ctx.restart();
  ctx.run_for(hang_guard);
  for (auto& x : r)
  {
    BOOST_TEST(x.calls == 1);
    BOOST_TEST(x.ec == asio::error::operation_aborted);
  }
  BOOST_TEST(f.is_open());
  p.put("again", 5);
  io_result r2;
  f.async_read_some(asio::buffer(bufs[0]), recording_handler(r2));
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(r2.n == 5u);
}

BOOST_AUTO_TEST_CASE(cancel_before_submission_aborts_queued_operation)
{
  test_pipe p;
  asio_uring::io_context ctx;
  stream_file f(ctx, p.take_read());
  char buf[8];
  io_result r;
  f.async_read_some(asio::buffer(buf), recording_handler(r));
  f.cancel();  // the SQE was prepared but not yet submitted
  ctx.run_for(hang_guard);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(r.ec == asio::error::operation_aborted);
}

BOOST_AUTO_TEST_CASE(cancel_after_completion_changes_nothing)
{
  test_pipe p;
  p.put("xy", 2);
  asio_uring::io_context ctx;
  stream_file f(ctx, p.take_read());
  char buf[8];
  io_result r;
  f.async_read_some(asio::buffer(buf), recording_handler(r));
  ctx.run_for(hang_guard);
  f.cancel();
  ctx.restart();
  ctx.poll();
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(!r.ec);
  BOOST_TEST(r.n == 2u);
}

BOOST_AUTO_TEST_CASE(close_aborts_pending_operations_and_closes)
{
  test_pipe p;
  asio_uring::io_context ctx;
  stream_file f(ctx, p.take_read());
  int fd = f.native_handle();
  char buf[8];
  io_result r1, r2;
  f.async_read_some(asio::buffer(buf), recording_handler(r1));
  ctx.run_for(settle);
  f.async_read_some(asio::buffer(buf), recording_handler(r2));  // not submitted yet
  f.close();
  BOOST_TEST(!f.is_open());
  BOOST_TEST(!asio_uring_test::fd_is_open(fd));
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(r1.calls == 1);
  BOOST_TEST(r1.ec == asio::error::operation_aborted);
  BOOST_TEST(r2.calls == 1);
  BOOST_TEST(r2.ec == asio::error::operation_aborted);
}

BOOST_AUTO_TEST_CASE(release_aborts_pending_operations_and_keeps_descriptor)
{
  test_pipe p;
  asio_uring::io_context ctx;
  stream_file f(ctx, p.take_read());
  char buf[8];
  io_result r;
  f.async_read_some(asio::buffer(buf), recording_handler(r));
  ctx.run_for(settle);
  int fd = f.release();
  BOOST_TEST(!f.is_open());
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(r.ec == asio::error::operation_aborted);
  // The descriptor is intact and no read is left behind to steal data.
  p.put("mine", 4);
  BOOST_TEST(::read(fd, buf, sizeof(buf)) == 4);
  ::close(fd);
}

BOOST_AUTO_TEST_CASE(close_from_handler_aborts_sibling_operations)
{
  test_pipe p1, p2;
  asio_uring::io_context ctx;
  stream_file f(ctx, p1.take_read());
  stream_file g(ctx, p2.take_read());
  char a[4], b[4];
  io_result ra, rb;
  f.async_read_some(asio::buffer(a), recording_handler(ra));
  g.async_read_some(asio::buffer(b), [&](error_code ec, std::size_t n) {
    recording_handler record(rb);
    record(ec, n);
    f.close();
  });
  ctx.run_for(settle);
  p2.put("!", 1);
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(rb.n == 1u);
  BOOST_TEST(ra.calls == 1);
  BOOST_TEST(ra.ec == asio::error::operation_aborted);
}

BOOST_AUTO_TEST_CASE(move_assign_aborts_target_pending_operations)
{
  test_pipe p1, p2;
  asio_uring::io_context ctx;
  stream_file target(ctx, p1.take_read());
  stream_file source(ctx, p2.take_read());
  char a[4], b[4];
  io_result ra, rb;
  target.async_read_some(asio::buffer(a), recording_handler(ra));
  source.async_read_some(asio::buffer(b), recording_handler(rb));
  ctx.run_for(settle);
  target = std::move(source);
  ctx.restart();
  ctx.run_for(settle);
  BOOST_TEST(ra.calls == 1);
  BOOST_TEST(ra.ec == asio::error::operation_aborted);
  BOOST_TEST(rb.calls == 0);  // the moved operation is still pending
  p2.put("s", 1);
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(rb.calls == 1);
  BOOST_TEST(rb.n == 1u);
}

BOOST_AUTO_TEST_CASE(destroying_file_in_its_own_handler_aborts_the_rest)
{
  // The handler of one read starts two more and then destroys the object.
  // (Two reads pending on one pipe are served in no fixed order, so the
  // first completes alone.)
  test_pipe p;
  asio_uring::io_context ctx;
  auto f = std::make_unique<stream_file>(ctx, p.take_read());
  char a[4], b[4], c[4];
  io_result rb, rc;
  int first_calls = 0;
  f->async_read_some(asio::buffer(a), [&](error_code ec, std::size_t) {
    ++first_calls;
    BOOST_TEST(!ec);
    f->async_read_some(asio::buffer(b), recording_handler(rb));
    asio::post(ctx, [&] {
      // Runs after a ring turn submitted the read above.
      f->async_read_some(asio::buffer(c), recording_handler(rc));
      f.reset();
    });
  });
  ctx.run_for(settle);
  p.put("1", 1);
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(first_calls == 1);
  BOOST_TEST(!f);
  BOOST_TEST(rb.calls == 1);
  BOOST_TEST(rb.ec == asio::error::operation_aborted);
  BOOST_TEST(rc.calls == 1);
  BOOST_TEST(rc.ec == asio::error::operation_aborted);
}

BOOST_AUTO_TEST_CASE(cancel_regular_file_operations_complete_or_abort)
{
  // Regular-file reads finish quickly in the kernel: cancel() races them.
  // Every handler runs once, with either all its bytes or operation_aborted.
  auto data = asio_uring_test::pattern(1 << 20);
  asio_uring_test::temp_file tf(data);
  asio_uring::io_context ctx;
  random_access_file f(ctx, tf.path(), file_base::read_only);
  constexpr int ops = 256;
  std::vector<std::vector<unsigned char>> bufs(ops, std::vector<unsigned char>(4096));
  std::vector<io_result> r(ops);
  for (int round = 0; round < 4; ++round)
  {
    for (int i = 0; i < ops; ++i)
    {
      r[i] = io_result();
      f.async_read_some_at(std::uint64_t(i) * 4096, asio::buffer(bufs[i]), recording_handler(r[i]));
    }
    if (round % 2)
      ctx.poll_one();
    f.cancel();
    ctx.restart();
    ctx.run_for(hang_guard);
    for (int i = 0; i < ops; ++i)
    {
      BOOST_TEST(r[i].calls == 1);
      if (r[i].ec)
        BOOST_TEST(r[i].ec == asio::error::operation_aborted);
      else
        BOOST_TEST(asio_uring_test::first_pattern_mismatch(bufs[i].data(), r[i].n,
                       std::uint64_t(i) * 4096) == r[i].n);
    }
  }
}

// ---------------------------------------------------------------------------
// Destruction with operations in flight

BOOST_AUTO_TEST_CASE(destroying_file_aborts_operations_and_leaves_kernel_nothing)
{
  test_pipe p;
  // A second descriptor for the same pipe: it outlives the file object, so
  // a read the kernel still held would steal bytes written afterwards.
  int spare = ::dup(p.read_end());
  asio_uring::io_context ctx;
  auto alive = std::make_shared<int>(0);
  io_result r[3];
  {
    stream_file f(ctx, p.take_read());
    for (auto& x : r)
      read_into_handler(f, buffer_owning_handler(x, alive));
    ctx.run_for(settle);
  }
  ctx.restart();
  ctx.run_for(hang_guard);
  for (auto& x : r)
  {
    BOOST_TEST(x.calls == 1);
    BOOST_TEST(x.ec == asio::error::operation_aborted);
  }
  BOOST_TEST(alive.use_count() == 1);  // every handler (and buffer) is gone
  p.put("after", 5);
  char buf[8];
  BOOST_TEST(::read(spare, buf, sizeof(buf)) == 5);
  ::close(spare);
}

BOOST_AUTO_TEST_CASE(destroying_context_destroys_unrun_handlers_without_leaks)
{
  test_pipe p;
  int spare = ::dup(p.read_end());  // outlives the file: see below
  auto alive = std::make_shared<int>(0);
  asio_uring_test::allocation_counts counts;
  io_result r[4];
  {
    asio_uring::io_context ctx;
    {
      stream_file f(ctx, p.take_read());
      read_into_handler(f, buffer_owning_handler(r[0], alive));
      read_into_handler(f, buffer_owning_handler(r[1], alive));
      ctx.run_for(settle);  // both wait in the kernel
      asio::mutable_buffer b;
      {
        buffer_owning_handler h(r[2], alive);
        b = h.buffer();
        f.async_read_some(b, asio::bind_allocator(
            asio_uring_test::counting_allocator<char>(counts), std::move(h)));
      }
      // The file goes first (Asio's order); its cancellations are still in
      // flight when the context goes, and no handler has run.
    }
    {
      // Regular-file reads started and never run.
      asio_uring_test::temp_file tf(asio_uring_test::pattern(65536));
      random_access_file g(ctx, tf.path(), file_base::read_only);
      for (int i = 0; i < 8; ++i)
      {
        buffer_owning_handler h(r[3], alive);
        asio::mutable_buffer b = h.buffer();
        g.async_read_some_at(std::uint64_t(i) * 64, b, std::move(h));
      }
    }
  }
  for (auto& x : r)
    BOOST_TEST(x.calls == 0);  // destroyed, never invoked
  BOOST_TEST(alive.use_count() == 1);
  BOOST_TEST(counts.allocations.load() >= 1);
  BOOST_TEST(counts.allocations.load() == counts.deallocations.load());
  // No read outlived the context in the kernel: bytes written now stay in
  // the pipe (a leftover read would take them into freed memory).
  p.put("tail", 4);
  BOOST_TEST(bytes_waiting(spare) == 4);
  ::close(spare);
}

namespace {

struct ring_config
{
  const char* name;
  asio_uring::ring_options options;
};

std::ostream& operator<<(std::ostream& os, const ring_config& c)
{
  return os << c.name;
}

asio_uring::ring_options make_options(unsigned entries, bool sqpoll, bool single_issuer)
{
  asio_uring::ring_options o;
  o.entries = entries;
  o.sqpoll = sqpoll;
  o.single_issuer = single_issuer;
  return o;
}

const ring_config ring_configs[] = {
    {"default", make_options(256, false, false)},
    {"tiny", make_options(2, false, false)},
    {"sqpoll", make_options(64, true, false)},
    {"single_issuer", make_options(64, false, true)},
};

} // namespace

BOOST_DATA_TEST_CASE(cancellation_works_on_every_ring_configuration,
    boost::unit_test::data::make(ring_configs), cfg)
{
  asio_uring::io_context ctx(cfg.options, 1);
  auto& ring = ctx.impl().ring();
  if ((cfg.options.sqpoll && !ring.is_sqpoll())
      || (cfg.options.single_issuer && !ring.is_single_issuer()))
    BOOST_TEST_MESSAGE("NOTE: the kernel refused the " << cfg.name
        << " option; this case ran on a plain ring");
  char buf[8];

  // A slot cancels a read waiting in the kernel.
  test_pipe p1;
  stream_file f1(ctx, p1.take_read());
  asio::cancellation_signal sig;
  io_result r1;
  f1.async_read_some(asio::buffer(buf), asio::bind_cancellation_slot(sig.slot(), recording_handler(r1)));
  ctx.run_for(settle);
  sig.emit(cancellation_type::terminal);
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(r1.calls == 1);
  BOOST_TEST(r1.ec == asio::error::operation_aborted);

  // cancel(), close() and destruction abort theirs; several at once (more
  // than a tiny ring's SQ).
  test_pipe p2, p3, p4;
  stream_file f2(ctx, p2.take_read());
  stream_file f3(ctx, p3.take_read());
  auto f4 = std::make_unique<stream_file>(ctx, p4.take_read());
  io_result r2[3], r3[3], r4[3];
  char bufs[9][4];
  for (int i = 0; i < 3; ++i)
  {
    f2.async_read_some(asio::buffer(bufs[i]), recording_handler(r2[i]));
    f3.async_read_some(asio::buffer(bufs[3 + i]), recording_handler(r3[i]));
    f4->async_read_some(asio::buffer(bufs[6 + i]), recording_handler(r4[i]));
  }
  ctx.restart();
  ctx.run_for(settle);
  f2.cancel();
  f3.close();
  f4.reset();
  ctx.restart();
  ctx.run_for(hang_guard);
  for (int i = 0; i < 3; ++i)
  {
    BOOST_TEST(r2[i].ec == asio::error::operation_aborted);
    BOOST_TEST(r3[i].ec == asio::error::operation_aborted);
    BOOST_TEST(r4[i].ec == asio::error::operation_aborted);
    BOOST_TEST(r2[i].calls + r3[i].calls + r4[i].calls == 3);
  }

  // The ring still reads afterwards.
  p2.put("fine", 4);
  io_result r5;
  f2.async_read_some(asio::buffer(buf), recording_handler(r5));
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(!r5.ec);
  BOOST_TEST(std::string(buf, r5.n) == "fine");
}

// ---------------------------------------------------------------------------
// Threads

BOOST_AUTO_TEST_CASE(cancellation_with_several_run_threads)
{
  constexpr int pipes = 8;
  asio_uring::io_context ctx(3);
  auto guard = asio::make_work_guard(ctx);
  std::vector<std::thread> runners;
  for (int t = 0; t < 3; ++t)
    runners.emplace_back([&] { ctx.run_for(hang_guard); });

  std::vector<std::unique_ptr<test_pipe>> ps;
  std::vector<std::unique_ptr<stream_file>> files;
  std::vector<asio::cancellation_signal> sigs(pipes);
  std::vector<std::promise<error_code>> results(pipes);
  std::vector<std::array<char, 8>> bufs(pipes);
  for (int i = 0; i < pipes; ++i)
  {
    ps.push_back(std::make_unique<test_pipe>());
    files.push_back(std::make_unique<stream_file>(ctx, ps[i]->take_read()));
  }
  // Start every read from a foreign thread (the ring is busy in a run()
  // thread, so they queue), then cancel half of them through their slots
  // and feed the other half.
  std::vector<std::promise<void>> started(pipes);
  for (int i = 0; i < pipes; ++i)
    asio::post(ctx, [&, i] {
      files[i]->async_read_some(asio::buffer(bufs[i]),
          asio::bind_cancellation_slot(sigs[i].slot(),
              [&, i](error_code ec, std::size_t) { results[i].set_value(ec); }));
      started[i].set_value();
    });
  for (auto& s : started)
    BOOST_REQUIRE(s.get_future().wait_for(hang_guard) == std::future_status::ready);
  std::this_thread::sleep_for(settle);
  for (int i = 0; i < pipes; ++i)
  {
    if (i % 2)
      asio::post(ctx, [&, i] { sigs[i].emit(cancellation_type::terminal); });
    else
      ps[i]->put("x", 1);
  }
  std::vector<error_code> got;
  for (auto& r : results)
  {
    auto fut = r.get_future();
    BOOST_REQUIRE(fut.wait_for(hang_guard) == std::future_status::ready);
    got.push_back(fut.get());
  }
  guard.reset();
  for (auto& t : runners)
    t.join();
  for (int i = 0; i < pipes; ++i)
  {
    if (i % 2)
      BOOST_TEST(got[i] == asio::error::operation_aborted);
    else
      BOOST_TEST(!got[i]);
  }
}

BOOST_AUTO_TEST_CASE(slot_emitted_from_initiating_thread_while_ring_busy)
{
  // Another thread sits in the ring: a new read first waits in the
  // scheduler's queue for it, and the cancellation may find it there or in
  // the kernel. Either way the handler gets operation_aborted, once.
  asio_uring::io_context ctx;
  auto guard = asio::make_work_guard(ctx);
  std::thread runner([&] { ctx.run_for(hang_guard); });
  std::this_thread::sleep_for(settle);
  for (int round = 0; round < 100; ++round)
  {
    test_pipe p;
    stream_file f(ctx, p.take_read());
    asio::cancellation_signal sig;
    char buf[4];
    std::promise<error_code> done;
    std::atomic<int> calls{0};
    f.async_read_some(asio::buffer(buf), asio::bind_cancellation_slot(sig.slot(),
        [&](error_code ec, std::size_t) {
          ++calls;
          done.set_value(ec);
        }));
    if (round % 3 == 1)
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    sig.emit(cancellation_type::terminal);
    auto fut = done.get_future();
    BOOST_TEST_INFO("round " << round);
    BOOST_REQUIRE(fut.wait_for(hang_guard) == std::future_status::ready);
    BOOST_TEST(fut.get() == asio::error::operation_aborted);
    BOOST_TEST(calls.load() == 1);
  }
  guard.reset();
  runner.join();
}

BOOST_AUTO_TEST_CASE(cancel_and_close_from_foreign_thread_while_ring_waits)
{
  // The run() thread waits in the kernel; another thread cancels or closes
  // (the object is not otherwise shared). Each must get the ring promptly.
  asio_uring::io_context ctx;
  auto guard = asio::make_work_guard(ctx);
  std::thread runner([&] { ctx.run_for(hang_guard); });
  for (int round = 0; round < 50; ++round)
  {
    test_pipe p;
    stream_file f(ctx, p.take_read());
    char buf[4];
    std::promise<error_code> done;
    f.async_read_some(asio::buffer(buf),
        [&](error_code ec, std::size_t) { done.set_value(ec); });
    if (round % 2)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (round % 3 == 0)
      f.close();
    else
      f.cancel();
    auto fut = done.get_future();
    BOOST_TEST_INFO("round " << round);
    BOOST_REQUIRE(fut.wait_for(hang_guard) == std::future_status::ready);
    BOOST_TEST(fut.get() == asio::error::operation_aborted);
  }
  guard.reset();
  runner.join();
}

BOOST_AUTO_TEST_SUITE_END()
