// Cancellation: every cancellation type against every operation kind, and
// cancellation racing completion thousands of times. A cancelled operation
// completes exactly once with operation_aborted and transfers nothing (a
// cancelled pipe read leaves its bytes in the pipe); one that won the race
// completes normally with all of its bytes. Nothing is lost or duplicated.
#include <asio_uring/io_context.hpp>
#include <asio_uring/random_access_file.hpp>
#include <asio_uring/steady_timer.hpp>
#include <asio_uring/stream_file.hpp>
#include <asio_uring/system_timer.hpp>

#include "fault_hooks.hpp"
#include "test_util.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <csignal>
#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>

namespace net = boost::asio;
using namespace std::chrono_literals;
using asio_uring_test::pipe_pair;
using asio_uring_test::temp_file;
using ct = net::cancellation_type;

namespace {

const boost::system::error_code eintr(EINTR, boost::system::system_category());

struct outcome
{
  int calls = 0;
  boost::system::error_code ec;
  std::size_t n = 0;
};

// Fills a pipe so that the next write blocks. The write end stays blocking:
// a non-blocking descriptor would make the kernel answer EAGAIN at once.
std::size_t fill_pipe(int fd)
{
  int fl = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  std::size_t total = 0;
  char block[4096] = {};
  for (;;)
  {
    ssize_t n = ::write(fd, block, sizeof(block));
    if (n <= 0)
      break;
    total += static_cast<std::size_t>(n);
  }
  // Single bytes until even those no longer fit.
  while (::write(fd, block, 1) == 1)
    ++total;
  ::fcntl(fd, F_SETFL, fl);
  return total;
}

enum class op_kind
{
  stream_read,
  stream_write,
  read_at,
  write_at,
  steady_wait,
  system_wait,
};

const char* name_of(op_kind k)
{
  switch (k)
  {
  case op_kind::stream_read: return "stream_file::async_read_some";
  case op_kind::stream_write: return "stream_file::async_write_some";
  case op_kind::read_at: return "random_access_file::async_read_some_at";
  case op_kind::write_at: return "random_access_file::async_write_some_at";
  case op_kind::steady_wait: return "steady_timer::async_wait";
  case op_kind::system_wait: return "system_timer::async_wait";
  }
  return "?";
}

using asio_uring_test::name_of;

// How a pending operation is cancelled.
enum class cancel_by
{
  slot,     // the handler's cancellation slot, with a type
  cancel,   // the object's cancel()
  close,    // the object's close()
  destroy,  // the object's destructor
};

// Starts one kind of operation that cannot complete by itself (an empty
// pipe, a full pipe, a timer an hour away), cancels it, and checks it ends
// once with operation_aborted and moved no byte. With type none, the
// operation must stay pending; it is then completed by feeding the pipe or
// expiring the timer.
void cancel_pending(op_kind kind, cancel_by by, ct type)
{
  // Declared before the context: its destructor may still destroy handlers
  // bound to sig's slot.
  net::cancellation_signal sig;
  outcome o;
  char buf[16] = "0123456789abcde";
  pipe_pair p;
  asio_uring::io_context ctx;
  const bool reads = kind == op_kind::stream_read || kind == op_kind::read_at;
  const bool writes = kind == op_kind::stream_write || kind == op_kind::write_at;
  const std::size_t filled = writes ? fill_pipe(p.write_end()) : 0;
  auto handler = net::bind_cancellation_slot(sig.slot(),
      [&](boost::system::error_code ec, std::size_t n) { o = {o.calls + 1, ec, n}; });
  auto wait_handler = net::bind_cancellation_slot(sig.slot(),
      [&](boost::system::error_code ec) { o = {o.calls + 1, ec, 0}; });

  std::unique_ptr<asio_uring::stream_file> sf;
  std::unique_ptr<asio_uring::random_access_file> rf;
  std::unique_ptr<asio_uring::steady_timer> st;
  std::unique_ptr<asio_uring::system_timer> yt;
  switch (kind)
  {
  case op_kind::stream_read:
    sf = std::make_unique<asio_uring::stream_file>(ctx, p.release_read());
    sf->async_read_some(net::buffer(buf), handler);
    break;
  case op_kind::stream_write:
    sf = std::make_unique<asio_uring::stream_file>(ctx, p.release_write());
    sf->async_write_some(net::buffer(buf), handler);
    break;
  case op_kind::read_at:
    rf = std::make_unique<asio_uring::random_access_file>(ctx, p.release_read());
    rf->async_read_some_at(0, net::buffer(buf), handler);
    break;
  case op_kind::write_at:
    rf = std::make_unique<asio_uring::random_access_file>(ctx, p.release_write());
    rf->async_write_some_at(0, net::buffer(buf), handler);
    break;
  case op_kind::steady_wait:
    st = std::make_unique<asio_uring::steady_timer>(ctx, 1h);
    st->async_wait(wait_handler);
    break;
  case op_kind::system_wait:
    yt = std::make_unique<asio_uring::system_timer>(ctx, 1h);
    yt->async_wait(wait_handler);
    break;
  }
  ctx.poll();  // the operation is now in the kernel (or on its timer)
  BOOST_TEST(o.calls == 0);

  switch (by)
  {
  case cancel_by::slot:
    sig.emit(type);
    break;
  case cancel_by::cancel:
    if (sf)
      sf->cancel();
    else if (rf)
      rf->cancel();
    else if (st)
      st->cancel();
    else
      yt->cancel();
    break;
  case cancel_by::close:
    if (sf)
      sf->close();
    else if (rf)
      rf->close();
    else
      return;  // timers have no close
    break;
  case cancel_by::destroy:
    sf.reset();
    rf.reset();
    st.reset();
    yt.reset();
    break;
  }

  const bool cancels = by != cancel_by::slot || type != ct::none;
  ctx.run_for(cancels ? 10s : 50ms);
  if (!cancels)
  {
    // Nothing happened: the operation still waits. Let it finish.
    BOOST_TEST(o.calls == 0);
    if (reads)
      BOOST_TEST(::write(p.write_end(), "xy", 2) == 2);
    else if (writes)
    {
      char drain[65536];
      std::size_t left = filled;
      while (left > 0)
      {
        ssize_t n = ::read(p.read_end(), drain,
            std::min(left, sizeof(drain)));
        if (n <= 0)
          break;
        left -= static_cast<std::size_t>(n);
      }
    }
    else if (st)
      st->cancel();  // a timer an hour away: cancel() is the only way out
    else
      yt->cancel();
    ctx.restart();
    ctx.run_for(10s);
    BOOST_TEST(o.calls == 1);
    if (reads || writes)
    {
      BOOST_TEST(!o.ec, o.ec.message());
      BOOST_TEST(o.n == (reads ? 2u : 16u));
    }
    else
      BOOST_TEST((o.ec == net::error::operation_aborted), o.ec.message());
    return;
  }

  BOOST_TEST(o.calls == 1);
  BOOST_TEST((o.ec == net::error::operation_aborted), o.ec.message());
  BOOST_TEST(o.n == 0u);
  BOOST_TEST(std::memcmp(buf, "0123456789abcde", 16) == 0);
  if (reads && ((sf && sf->is_open()) || (rf && rf->is_open())))
  {
    // The cancelled read took nothing and is gone from the kernel: bytes
    // written now stay in the pipe, and the buffer is never touched.
    BOOST_TEST(::write(p.write_end(), "late", 4) == 4);
    ctx.restart();
    ctx.run_for(20ms);
    const int fd = sf ? sf->native_handle() : rf->native_handle();
    char late[8] = {};
    pollfd pfd{fd, POLLIN, 0};
    BOOST_TEST(::poll(&pfd, 1, 1000) == 1);
    BOOST_TEST(::read(fd, late, sizeof(late)) == 4);
    BOOST_TEST(std::string(late) == "late");
    BOOST_TEST(std::memcmp(buf, "0123456789abcde", 16) == 0);
  }
  if (writes && p.read_end() >= 0)
  {
    // The cancelled write put nothing into the pipe.
    std::size_t in_pipe = 0;
    char drain[65536];
    ssize_t n;
    int fl = ::fcntl(p.read_end(), F_GETFL);
    ::fcntl(p.read_end(), F_SETFL, fl | O_NONBLOCK);
    while ((n = ::read(p.read_end(), drain, sizeof(drain))) > 0)
      in_pipe += static_cast<std::size_t>(n);
    BOOST_TEST(in_pipe == filled);
  }
}

constexpr op_kind all_kinds[] = {op_kind::stream_read, op_kind::stream_write,
    op_kind::read_at, op_kind::write_at, op_kind::steady_wait,
    op_kind::system_wait};

// A write to a pipe whose reader is gone must fail with EPIPE, not kill the
// test program.
struct ignore_sigpipe
{
  ignore_sigpipe() { std::signal(SIGPIPE, SIG_IGN); }
};

} // namespace

BOOST_TEST_GLOBAL_FIXTURE(ignore_sigpipe);

BOOST_AUTO_TEST_SUITE(cancel_race)

BOOST_AUTO_TEST_CASE(each_cancellation_type_aborts_each_operation_kind)
{
  for (op_kind k : all_kinds)
    for (ct t : {ct::terminal, ct::partial, ct::total, ct::none})
      BOOST_TEST_CONTEXT(name_of(k) << ", slot emits " << name_of(t))
        cancel_pending(k, cancel_by::slot, t);
}

BOOST_AUTO_TEST_CASE(cancel_close_and_destroy_abort_each_operation_kind)
{
  for (op_kind k : all_kinds)
  {
    BOOST_TEST_CONTEXT(name_of(k) << ", cancel()")
      cancel_pending(k, cancel_by::cancel, ct::none);
    BOOST_TEST_CONTEXT(name_of(k) << ", close()")
      cancel_pending(k, cancel_by::close, ct::none);
    BOOST_TEST_CONTEXT(name_of(k) << ", destructor")
      cancel_pending(k, cancel_by::destroy, ct::none);
  }
}

BOOST_AUTO_TEST_CASE(cancel_before_submission_aborts_without_touching_kernel)
{
  // While the SQ is (made) full, new operations wait in user space; a
  // cancellation then completes them without any request to the kernel.
  struct sq_full_while_set : asio_uring::detail::core::fault_hooks
  {
    bool fail_get_sqe() noexcept override { return full; }
    bool full = false;
  } hooks;
  const auto data = asio_uring_test::random_bytes(4096, 41);
  temp_file file(data);
  asio_uring::io_context ctx;
  ctx.impl().ring().set_fault_hooks(&hooks);
  asio_uring::random_access_file f(ctx, file.path(),
      asio_uring::random_access_file::read_only);
  std::array<char, 4096> a{}, b{};
  net::cancellation_signal sig;
  outcome oa, ob;
  hooks.full = true;
  f.async_read_some_at(0, net::buffer(a), net::bind_cancellation_slot(sig.slot(),
      [&](boost::system::error_code ec, std::size_t n) { oa = {oa.calls + 1, ec, n}; }));
  f.async_read_some_at(0, net::buffer(b),
      [&](boost::system::error_code ec, std::size_t n) { ob = {ob.calls + 1, ec, n}; });
  sig.emit(ct::terminal);
  hooks.full = false;
  ctx.run_for(10s);
  ctx.impl().ring().set_fault_hooks(nullptr);
  BOOST_TEST(oa.calls == 1);
  BOOST_TEST((oa.ec == net::error::operation_aborted), oa.ec.message());
  BOOST_TEST(oa.n == 0u);
  BOOST_TEST(std::all_of(a.begin(), a.end(), [](char c) { return c == 0; }));
  // The other queued operation was not disturbed.
  BOOST_TEST(ob.calls == 1);
  BOOST_TEST(!ob.ec);
  BOOST_TEST(ob.n == 4096u);
}

BOOST_AUTO_TEST_CASE(cancel_racing_file_read_gives_data_or_abort_once)
{
  // Regular-file reads finish quickly: cancellation lands before, during or
  // after them. Delays injected at random reorder completions further.
  constexpr std::size_t iterations = 3000, size = 4096;
  const auto data = asio_uring_test::random_bytes(64 * size, 42);
  temp_file file(data);
  asio_uring_test::random_fault_hooks hooks(43, 4);
  asio_uring::io_context ctx;
  ctx.impl().ring().set_fault_hooks(&hooks);
  asio_uring::random_access_file f(ctx, file.path(),
      asio_uring::random_access_file::read_only);
  std::vector<char> buf(size);
  std::size_t completed = 0, aborted = 0, bad = 0;
  std::mt19937 gen(44);
  for (std::size_t i = 0; i < iterations; ++i)
  {
    std::fill(buf.begin(), buf.end(), 0);
    const std::uint64_t off = (gen() % 64) * size;
    net::cancellation_signal sig;
    outcome o;
    f.async_read_some_at(off, net::buffer(buf), net::bind_cancellation_slot(
        sig.slot(), [&](boost::system::error_code ec, std::size_t n) {
          o = {o.calls + 1, ec, n};
        }));
    ctx.restart();
    // Cancel at once, after one loop step, or after a posted handler ran;
    // by slot (one operation) or by cancel() (every operation on the file).
    switch (gen() % 6)
    {
    case 0: sig.emit(ct::terminal); break;
    case 1: f.cancel(); break;
    case 2: ctx.poll_one(); sig.emit(ct::partial); break;
    case 3: ctx.poll_one(); f.cancel(); break;
    case 4:
      net::post(ctx, [&] { sig.emit(ct::total); });
      ctx.poll_one();
      break;
    default:
      ctx.poll();
      sig.emit(ct::terminal);  // usually after completion: must be harmless
      break;
    }
    ctx.run_for(10s);
    if (o.calls != 1)
      ++bad;
    else if ((o.ec == net::error::operation_aborted || o.ec == eintr)
        && o.n == 0)
      ++aborted;  // a read cancelled while running may report EINTR
    else if (!o.ec && o.n > 0 && o.n <= size  // short counts are injected
        && std::equal(buf.begin(), buf.begin() + static_cast<long>(o.n),
            reinterpret_cast<const char*>(data.data()) + off))
      ++completed;
    else if (++bad <= 5)
      BOOST_TEST_MESSAGE("iteration " << i << ": " << o.calls << " calls, "
          << o.ec.message() << ", " << o.n << " bytes");
  }
  ctx.impl().ring().set_fault_hooks(nullptr);
  BOOST_TEST_MESSAGE(iterations << " races: " << completed << " completed, "
      << aborted << " aborted, " << hooks.total() << " faults injected");
  BOOST_TEST(bad == 0u);
  BOOST_TEST(completed + aborted == iterations);
}

BOOST_AUTO_TEST_CASE(cancel_racing_pipe_data_loses_no_byte)
{
  // Bytes arrive in the pipe just before the cancellation: either the read
  // returns them, or it is aborted and they are still in the pipe.
  constexpr std::size_t iterations = 3000;
  asio_uring::io_context ctx;
  pipe_pair p;
  asio_uring::stream_file f(ctx, p.release_read());
  std::size_t completed = 0, aborted = 0, bad = 0, bytes = 0;
  std::mt19937 gen(45);
  std::string received;
  for (std::size_t i = 0; i < iterations; ++i)
  {
    // What an aborted read left is collected here, so that each read starts
    // on an empty pipe and really waits.
    received += pipe_pair::drain(f.native_handle());
    char buf[64];
    net::cancellation_signal sig;
    outcome o;
    f.async_read_some(net::buffer(buf), net::bind_cancellation_slot(sig.slot(),
        [&](boost::system::error_code ec, std::size_t n) {
          o = {o.calls + 1, ec, n};
          received.append(buf, n);
        }));
    ctx.restart();
    ctx.poll();  // the read waits in the kernel
    const std::string msg = std::to_string(i) + ";";
    // 0 and 1 cancel first (the kernel has the cancel request before the
    // bytes arrive; cancel() submits at once); 2 to 4 race the bytes.
    const int order = static_cast<int>(gen() % 5);
    if (order == 0)
    {
      sig.emit(ct::terminal);
      ctx.poll();
    }
    else if (order == 1)
      f.cancel();
    else if (order == 2)
      sig.emit(ct::terminal);
    BOOST_TEST_REQUIRE(::write(p.write_end(), msg.data(), msg.size())
        == static_cast<ssize_t>(msg.size()));
    bytes += msg.size();
    if (order == 3)
      sig.emit(ct::terminal);
    else if (order == 4)
      f.cancel();
    ctx.run_for(10s);
    if (o.calls != 1)
      ++bad;
    else if (o.ec == net::error::operation_aborted)
      ++aborted;
    else if (!o.ec && o.n > 0)
      ++completed;
    else
      ++bad;
  }
  // Whatever the aborted reads left behind is read now: every byte written
  // arrives exactly once, in order.
  received += pipe_pair::drain(f.native_handle());
  std::string expected;
  for (std::size_t i = 0; i < iterations; ++i)
    expected += std::to_string(i) + ";";
  BOOST_TEST_MESSAGE(iterations << " races: " << completed << " completed, "
      << aborted << " aborted, " << bytes << " bytes");
  BOOST_TEST(bad == 0u);
  BOOST_TEST(received.size() == expected.size());
  BOOST_TEST((received == expected));
  BOOST_TEST(aborted > 0u);  // the race was really run both ways
}

BOOST_AUTO_TEST_CASE(cancel_racing_timer_expiry_gives_one_result)
{
  constexpr std::size_t iterations = 3000;
  asio_uring::io_context ctx;
  asio_uring::steady_timer t(ctx);
  std::size_t expired = 0, aborted = 0, bad = 0;
  std::mt19937 gen(46);
  for (std::size_t i = 0; i < iterations; ++i)
  {
    net::cancellation_signal sig;
    int calls = 0;
    boost::system::error_code result;
    t.expires_after(std::chrono::microseconds(gen() % 50));
    t.async_wait(net::bind_cancellation_slot(sig.slot(),
        [&](boost::system::error_code ec) {
          ++calls;
          result = ec;
        }));
    ctx.restart();
    if (gen() % 2)
      ctx.poll();
    if (gen() % 2)
      sig.emit(ct::terminal);
    else
      t.cancel();
    ctx.run_for(10s);
    if (calls != 1)
      ++bad;
    else if (result == net::error::operation_aborted)
      ++aborted;
    else if (!result)
      ++expired;
    else
      ++bad;
  }
  BOOST_TEST_MESSAGE(iterations << " races: " << expired << " expired, "
      << aborted << " aborted");
  BOOST_TEST(bad == 0u);
}

BOOST_AUTO_TEST_CASE(strand_emits_racing_completions_on_other_threads)
{
  // Two threads run the context. Each pipe read is started and cancelled
  // on one strand (the pattern of parallel_group and awaitable operators)
  // while a writer thread feeds the pipe, so completions are reaped on
  // either thread while the strand emits. Every byte arrives exactly once.
  constexpr std::size_t iterations = 2000, messages = 2000;
  asio_uring::io_context ctx(2);
  pipe_pair p;
  asio_uring::stream_file f(ctx, p.release_read());
  auto strand = net::make_strand(ctx);
  net::cancellation_signal sig;
  char buf[64];
  std::string received;  // touched on the strand only
  std::atomic<std::size_t> completed{0}, aborted{0}, bad{0}, done{0};
  std::function<void(std::size_t)> start = [&](std::size_t i) {
    f.async_read_some(net::buffer(buf), net::bind_cancellation_slot(
        sig.slot(), net::bind_executor(strand,
            [&, i](boost::system::error_code ec, std::size_t n) {
              if (ec == net::error::operation_aborted && n == 0)
                ++aborted;
              else if (!ec && n > 0)
              {
                ++completed;
                received.append(buf, n);
              }
              else
                ++bad;
              if (i + 1 < iterations)
                start(i + 1);
              else
                ++done;
            })));
    if (i % 2)
      net::post(strand, [&] { sig.emit(ct::terminal); });
    else
      sig.emit(ct::terminal);
  };
  std::string expected;
  for (std::size_t i = 0; i < messages; ++i)
    expected += std::to_string(i) + ";";
  net::post(strand, [&] { start(0); });
  std::thread writer([&] {
    for (std::size_t i = 0; i < messages && done == 0; ++i)
    {
      const std::string msg = std::to_string(i) + ";";
      if (::write(p.write_end(), msg.data(), msg.size()) != ssize_t(msg.size()))
        ++bad;
      if (i % 8 == 0)
        std::this_thread::yield();
    }
  });
  std::thread other([&] { ctx.run_for(60s); });
  ctx.run_for(60s);
  other.join();
  writer.join();
  received += pipe_pair::drain(f.native_handle());
  BOOST_TEST_MESSAGE(iterations << " strand races: " << completed
      << " completed, " << aborted << " aborted");
  BOOST_TEST(done == 1u);
  BOOST_TEST(bad == 0u);
  BOOST_TEST(completed + aborted == iterations);
  // Unless the writer stopped early (all reads done), nothing was lost.
  BOOST_TEST(expected.compare(0, received.size(), received) == 0);
}

// The two cases below caught a data race (ThreadSanitizer): operations
// cleared their handler's cancellation slot while completing on a ring
// thread, as the strand emitted on the other thread; the emit could then
// run a destroyed slot handler and cancel a freed (or reused) operation.

BOOST_AUTO_TEST_CASE(strand_emit_racing_file_read_completion_on_other_thread)
{
  constexpr std::size_t iterations = 100000;
  const auto data = asio_uring_test::random_bytes(4096, 48);
  temp_file file(data);
  asio_uring::io_context ctx(2);
  asio_uring::random_access_file f(ctx, file.path(),
      asio_uring::random_access_file::read_only);
  auto strand = net::make_strand(ctx);
  net::cancellation_signal sig;
  char buf[64];
  std::size_t completed = 0, aborted = 0, bad = 0, done = 0;  // strand only
  std::function<void(std::size_t)> start = [&](std::size_t i) {
    f.async_read_some_at(0, net::buffer(buf), net::bind_cancellation_slot(
        sig.slot(), net::bind_executor(strand,
            [&, i](boost::system::error_code ec, std::size_t n) {
              if (ec == net::error::operation_aborted && n == 0)
                ++aborted;
              else if (!ec && n == sizeof(buf)
                  && std::memcmp(buf, data.data(), n) == 0)
                ++completed;
              else
                ++bad;
              if (i + 1 < iterations)
                start(i + 1);
              else
                ++done;
            })));
    sig.emit(ct::terminal);  // while the other thread may be completing it
  };
  net::post(strand, [&] { start(0); });
  std::thread other([&] { ctx.run_for(60s); });
  ctx.run_for(60s);
  other.join();
  BOOST_TEST_MESSAGE(iterations << " strand/file races: " << completed
      << " completed, " << aborted << " aborted");
  BOOST_TEST(done == 1u);
  BOOST_TEST(bad == 0u);
  BOOST_TEST(completed + aborted == iterations);
}

BOOST_AUTO_TEST_CASE(strand_emit_racing_timer_expiry_on_other_thread)
{
  constexpr std::size_t iterations = 100000;
  asio_uring::io_context ctx(2);
  auto strand = net::make_strand(ctx);
  asio_uring::steady_timer t(strand);
  net::cancellation_signal sig;
  std::size_t expired = 0, aborted = 0, bad = 0, done = 0;  // strand only
  std::function<void(std::size_t)> start = [&](std::size_t i) {
    t.expires_after(std::chrono::microseconds(i % 3));
    t.async_wait(net::bind_cancellation_slot(sig.slot(),
        net::bind_executor(strand, [&, i](boost::system::error_code ec) {
          if (ec == net::error::operation_aborted)
            ++aborted;
          else if (!ec)
            ++expired;
          else
            ++bad;
          if (i + 1 < iterations)
            start(i + 1);
          else
            ++done;
        })));
    sig.emit(ct::terminal);
  };
  net::post(strand, [&] { start(0); });
  std::thread other([&] { ctx.run_for(60s); });
  ctx.run_for(60s);
  other.join();
  BOOST_TEST_MESSAGE(iterations << " strand/timer races: " << expired
      << " expired, " << aborted << " aborted");
  BOOST_TEST(done == 1u);
  BOOST_TEST(bad == 0u);
  BOOST_TEST(expired + aborted == iterations);
}

BOOST_AUTO_TEST_SUITE_END()
