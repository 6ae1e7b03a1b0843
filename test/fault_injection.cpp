// Fault injection through the ring core's test seam: each scenario runs
// once without faults to count its steps at one seam (SQE acquisitions,
// io_uring_enter calls, operation completions), then once per step N with
// step N failing. Transparent faults (SQ full, EINTR/EAGAIN/EBUSY from the
// enter, EINTR/EAGAIN/short counts/delays on a CQE) must leave results and
// data exactly as without faults; the others (-ECANCELED, -EIO, -ENOSPC,
// 0 bytes) must surface as the matching error_code, with composed
// operations reporting the bytes transferred before the fault. Every run
// also checks that each handler ran once, every handler object was
// destroyed once, and every allocation was returned.
//
// The same over sockets (second half of the file): async_write and
// async_read of 1 MiB, async_connect (member and composed over two
// endpoints) and async_accept (both forms), where a rewritten CQE must be
// resubmitted, waited for or delivered exactly as detail/retrying_op.hpp
// says, and no descriptor may leak.
#include <asio_uring/connect.hpp>
#include <asio_uring/io_context.hpp>
#include <asio_uring/ip/tcp.hpp>
#include <asio_uring/random_access_file.hpp>
#include <asio_uring/steady_timer.hpp>
#include <asio_uring/stream_file.hpp>

#include "fault_hooks.hpp"
#include "tcp_test_util.hpp"
#include "test_util.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_at.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/write_at.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <dirent.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace net = boost::asio;
using namespace std::chrono_literals;
using asio_uring_test::alloc_counters;
using asio_uring_test::counted;
using asio_uring_test::fault;
using asio_uring_test::handler_counters;
using asio_uring_test::may_deliver;
using asio_uring_test::name_of;
using asio_uring_test::seam;
using asio_uring_test::seam_of;
using asio_uring_test::step_fault_hooks;
using asio_uring_test::temp_file;
using asio_uring::ip::tcp;

namespace {

constexpr std::size_t total_size = 40000;  // ten 4 KiB steps, the last short
constexpr std::size_t chunk_size = 4096;

// Completion condition: at most chunk_size bytes per step.
struct chunks
{
  std::size_t operator()(const boost::system::error_code& ec,
      std::size_t) const
  {
    return ec ? 0 : chunk_size;
  }
};

struct outcome
{
  int calls = 0;
  boost::system::error_code ec;
  std::size_t n = 0;
};

boost::system::error_code expected_error(fault f)
{
  switch (f)
  {
  case fault::cqe_ecanceled:
    return net::error::operation_aborted;
  case fault::cqe_zero:
    return net::error::eof;
  default:
    return boost::system::error_code(asio_uring_test::errno_of(f),
        boost::system::system_category());
  }
}

// Whether an operation's result must equal a fault-free run's: the fault
// was not injected, or it is transparent and the operation did not report
// it (see may_deliver).
bool unaffected(const step_fault_hooks& h, const boost::system::error_code& ec)
{
  if (h.injected() == 0)
    return true;
  if (!asio_uring_test::is_transparent(h.kind()))
    return false;
  return !(may_deliver(h.kind()) && ec == expected_error(h.kind()));
}

// Every handler ran `calls` times, every handler object died once, every
// byte allocated through the handler's allocator came back.
void check_no_leaks(const handler_counters& hc, const alloc_counters& ac,
    long calls)
{
  BOOST_TEST(hc.invoked == calls);
  BOOST_TEST(hc.live() == 0);
  BOOST_TEST(hc.bad_destroys == 0);
  BOOST_TEST(ac.allocations > 0);
  BOOST_TEST(ac.allocations == ac.deallocations);
  BOOST_TEST(ac.bytes == 0);
}

// A sequential composed operation of total bytes ended as the fault at the
// hooks' step requires.
void check_sequential(const step_fault_hooks& h, const outcome& o,
    std::size_t total)
{
  BOOST_TEST(o.calls == 1);
  if (unaffected(h, o.ec))
  {
    BOOST_TEST(!o.ec, o.ec.message());
    BOOST_TEST(o.n == total);
  }
  else
  {
    BOOST_TEST((o.ec == expected_error(h.kind())), o.ec.message());
    BOOST_TEST(o.n == h.bytes_before());
  }
}

bool same_prefix(const std::vector<unsigned char>& a,
    const std::vector<unsigned char>& b, std::size_t n)
{
  return a.size() >= n && b.size() >= n
      && std::equal(a.begin(), a.begin() + static_cast<long>(n), b.begin());
}

using scenario = std::function<void(step_fault_hooks&)>;

std::size_t faults_injected = 0;  // over the whole program, for the summary
std::size_t scenario_runs = 0;
std::size_t socket_faults_injected = 0;  // the socket scenarios' share
std::size_t socket_scenario_runs = 0;

// Runs s without faults to count the steps at f's seam, then once for each
// step N failing it with f. Returns how many runs injected their fault.
std::size_t every_step(fault f, const scenario& s)
{
  std::size_t steps;
  {
    step_fault_hooks probe;
    s(probe);
    ++scenario_runs;
    steps = probe.steps(seam_of(f));
  }
  BOOST_TEST_REQUIRE(steps > 0u);
  std::size_t injected = 0, reached = 0;
  for (std::size_t n = 1; n <= steps; ++n)
  {
    BOOST_TEST_CONTEXT(name_of(f) << " at step " << n << " of " << steps)
    {
      step_fault_hooks hooks(f, n);
      s(hooks);
      ++scenario_runs;
      injected += hooks.injected();
      reached += hooks.reached();
    }
  }
  // Completion steps are deterministic (one CQE per 4 KiB step); enters and
  // SQE acquisitions vary a little with the kernel's timing, so a late step
  // may not exist in a given rerun.
  if (seam_of(f) == seam::completion)
  {
    BOOST_TEST(reached == steps);
    BOOST_TEST(injected * 2 >= steps);
  }
  else
    BOOST_TEST(injected * 4 >= steps * 3);
  faults_injected += injected;
  BOOST_TEST_MESSAGE(name_of(f) << ": " << steps << " steps, " << injected
      << " faults injected");
  return injected;
}

constexpr fault read_faults[] = {fault::sq_full, fault::enter_eintr,
    fault::enter_eagain, fault::enter_ebusy, fault::cqe_eintr,
    fault::cqe_eagain, fault::cqe_ecanceled, fault::cqe_eio,
    fault::cqe_enospc, fault::cqe_short, fault::cqe_zero, fault::cqe_delay};

// Writes never see 0 from a regular file.
constexpr fault write_faults[] = {fault::sq_full, fault::enter_eintr,
    fault::enter_eagain, fault::enter_ebusy, fault::cqe_eintr,
    fault::cqe_eagain, fault::cqe_ecanceled, fault::cqe_eio,
    fault::cqe_enospc, fault::cqe_short, fault::cqe_delay};

// async_read of a stream_file in 4 KiB steps.
void stream_read(step_fault_hooks& hooks)
{
  const auto data = asio_uring_test::random_bytes(total_size, 1);
  temp_file file(data);
  std::vector<unsigned char> buf(total_size);
  handler_counters hc;
  alloc_counters ac;
  outcome o;
  {
    asio_uring::io_context ctx;
    ctx.impl().ring().set_fault_hooks(&hooks);  // hooks outlive ctx
    asio_uring::stream_file f(ctx, file.path(), asio_uring::stream_file::read_only);
    net::async_read(f, net::buffer(buf), chunks(),
        counted([&](boost::system::error_code ec, std::size_t n) {
          o = {o.calls + 1, ec, n};
        }, hc, ac));
    ctx.run_for(20s);
  }
  check_sequential(hooks, o, total_size);
  BOOST_TEST(same_prefix(buf, data, o.n));
  check_no_leaks(hc, ac, 1);
}

// async_write to a stream_file in 4 KiB steps.
void stream_write(step_fault_hooks& hooks)
{
  const auto data = asio_uring_test::random_bytes(total_size, 2);
  temp_file file;
  handler_counters hc;
  alloc_counters ac;
  outcome o;
  {
    asio_uring::io_context ctx;
    ctx.impl().ring().set_fault_hooks(&hooks);
    asio_uring::stream_file f(ctx, file.path(),
        asio_uring::stream_file::write_only | asio_uring::stream_file::truncate);
    net::async_write(f, net::buffer(data), chunks(),
        counted([&](boost::system::error_code ec, std::size_t n) {
          o = {o.calls + 1, ec, n};
        }, hc, ac));
    ctx.run_for(20s);
  }
  check_sequential(hooks, o, total_size);
  const auto written = file.contents();
  if (unaffected(hooks, o.ec))
    BOOST_TEST((written == data));
  else
    BOOST_TEST(same_prefix(written, data, o.n));
  check_no_leaks(hc, ac, 1);
}

constexpr std::uint64_t base_offset = 1000;

// async_read_at of a random_access_file in 4 KiB steps.
void random_read(step_fault_hooks& hooks)
{
  const auto data = asio_uring_test::random_bytes(base_offset + total_size, 3);
  temp_file file(data);
  std::vector<unsigned char> buf(total_size);
  handler_counters hc;
  alloc_counters ac;
  outcome o;
  {
    asio_uring::io_context ctx;
    ctx.impl().ring().set_fault_hooks(&hooks);
    asio_uring::random_access_file f(ctx, file.path(),
        asio_uring::random_access_file::read_only);
    net::async_read_at(f, base_offset, net::buffer(buf), chunks(),
        counted([&](boost::system::error_code ec, std::size_t n) {
          o = {o.calls + 1, ec, n};
        }, hc, ac));
    ctx.run_for(20s);
  }
  check_sequential(hooks, o, total_size);
  BOOST_TEST(std::equal(buf.begin(), buf.begin() + static_cast<long>(o.n),
      data.begin() + base_offset));
  check_no_leaks(hc, ac, 1);
}

// async_write_at to a random_access_file in 4 KiB steps.
void random_write(step_fault_hooks& hooks)
{
  const auto data = asio_uring_test::random_bytes(total_size, 4);
  temp_file file;
  handler_counters hc;
  alloc_counters ac;
  outcome o;
  {
    asio_uring::io_context ctx;
    ctx.impl().ring().set_fault_hooks(&hooks);
    asio_uring::random_access_file f(ctx, file.path(),
        asio_uring::random_access_file::write_only);
    net::async_write_at(f, base_offset, net::buffer(data), chunks(),
        counted([&](boost::system::error_code ec, std::size_t n) {
          o = {o.calls + 1, ec, n};
        }, hc, ac));
    ctx.run_for(20s);
  }
  check_sequential(hooks, o, total_size);
  auto written = file.contents();
  BOOST_TEST(written.size() >= base_offset + o.n);
  if (written.size() >= base_offset)
    written.erase(written.begin(), written.begin() + base_offset);
  if (unaffected(hooks, o.ec))
    BOOST_TEST((written == data));
  else
    BOOST_TEST(same_prefix(written, data, o.n));
  check_no_leaks(hc, ac, 1);
}

// Eight single-step reads in flight at once, and a timer: exactly one read
// sees a non-transparent fault, with nothing transferred.
void concurrent_reads(step_fault_hooks& hooks, const asio_uring::ring_options& opts)
{
  constexpr std::size_t ops = 8, region = 8192;
  const auto data = asio_uring_test::random_bytes(ops * region, 5);
  temp_file file(data);
  std::vector<std::vector<unsigned char>> bufs(ops,
      std::vector<unsigned char>(region));
  handler_counters hc;
  alloc_counters ac;
  std::array<outcome, ops> o{};
  int timer_calls = 0;
  boost::system::error_code timer_ec = net::error::would_block;
  {
    asio_uring::io_context ctx(opts);
    ctx.impl().ring().set_fault_hooks(&hooks);
    asio_uring::random_access_file f(ctx, file.path(),
        asio_uring::random_access_file::read_only);
    asio_uring::steady_timer t(ctx, 1ms);
    t.async_wait([&](boost::system::error_code ec) {
      ++timer_calls;
      timer_ec = ec;
    });
    for (std::size_t i = 0; i < ops; ++i)
      net::async_read_at(f, i * region, net::buffer(bufs[i]),
          counted([&, i](boost::system::error_code ec, std::size_t n) {
            o[i] = {o[i].calls + 1, ec, n};
          }, hc, ac));
    ctx.run_for(20s);
  }
  std::size_t failed = 0;
  for (std::size_t i = 0; i < ops; ++i)
  {
    BOOST_TEST_CONTEXT("read " << i)
    {
      BOOST_TEST(o[i].calls == 1);
      if (o[i].ec)
      {
        ++failed;
        BOOST_TEST((o[i].ec == expected_error(hooks.kind())), o[i].ec.message());
        BOOST_TEST(o[i].n == 0u);
      }
      else
      {
        BOOST_TEST(o[i].n == region);
        BOOST_TEST(std::equal(bufs[i].begin(), bufs[i].end(),
            data.begin() + static_cast<long>(i * region)));
      }
    }
  }
  const bool fails = hooks.injected()
      && !asio_uring_test::is_transparent(hooks.kind());
  if (fails)
    BOOST_TEST(failed == 1u);
  else if (hooks.injected() && may_deliver(hooks.kind()))
    BOOST_TEST(failed <= 1u);
  else
    BOOST_TEST(failed == 0u);
  BOOST_TEST(timer_calls == 1);
  BOOST_TEST(!timer_ec);
  check_no_leaks(hc, ac, static_cast<long>(ops));
}

struct copy_result
{
  boost::system::error_code ec;
  std::size_t written = 0;
};

// A coroutine copying a file through 4 KiB async_read_some + async_write
// steps; stops at the first error.
net::awaitable<void> copy_file(asio_uring::stream_file& in,
    asio_uring::stream_file& out, copy_result& r)
{
  std::array<unsigned char, chunk_size> buf;
  for (;;)
  {
    auto [ec, n] = co_await in.async_read_some(net::buffer(buf),
        net::as_tuple(net::use_awaitable));
    if (ec == net::error::eof)
      co_return;
    if (ec)
    {
      r.ec = ec;
      co_return;
    }
    auto [wec, w] = co_await net::async_write(out, net::buffer(buf.data(), n),
        net::as_tuple(net::use_awaitable));
    r.written += w;
    if (wec)
    {
      r.ec = wec;
      co_return;
    }
  }
}

void coroutine_copy(step_fault_hooks& hooks)
{
  const auto data = asio_uring_test::random_bytes(total_size, 6);
  temp_file src(data), dst;
  handler_counters hc;
  alloc_counters ac;
  copy_result r;
  int done = 0;
  bool threw = false;
  {
    asio_uring::io_context ctx;
    ctx.impl().ring().set_fault_hooks(&hooks);
    asio_uring::stream_file in(ctx, src.path(), asio_uring::stream_file::read_only);
    asio_uring::stream_file out(ctx, dst.path(),
        asio_uring::stream_file::write_only | asio_uring::stream_file::truncate);
    net::co_spawn(ctx, copy_file(in, out, r),
        counted([&](std::exception_ptr e) {
          ++done;
          threw = e != nullptr;
        }, hc, ac));
    ctx.run_for(20s);
  }
  BOOST_TEST(done == 1);
  BOOST_TEST(!threw);
  const auto copied = dst.contents();
  if (unaffected(hooks, r.ec))
  {
    BOOST_TEST(!r.ec, r.ec.message());
    BOOST_TEST(r.written == total_size);
    BOOST_TEST((copied == data));
  }
  else
  {
    BOOST_TEST((r.ec == expected_error(hooks.kind())), r.ec.message());
    BOOST_TEST(r.written <= total_size);  // the fault may hit the final read
    BOOST_TEST(same_prefix(copied, data, r.written));
  }
  BOOST_TEST(hc.invoked == 1);
  BOOST_TEST(hc.live() == 0);
  BOOST_TEST(ac.allocations == ac.deallocations);
}

// ---------------------------------------------------------------------------
// Sockets. Every socket operation is a retrying operation: a CQE of -EINTR
// is resubmitted, -EAGAIN waits for readiness (a one-shot poll) and then
// resubmits, and anything else negative reaches the handler (see
// detail/retrying_op.hpp); accept also resubmits -ECONNABORTED, and connect
// turns -EINTR, -EAGAIN and -EINPROGRESS into a POLLOUT wait and reads the
// outcome from SO_ERROR (detail/socket_op_bases.hpp).
//
// A CQE rewrite is not what the kernel did: a receive rewritten to -EAGAIN
// still took its bytes out of the socket, a send rewritten to a short count
// still sent them all. So each scenario keeps the peer outside the ring (a
// plain thread on the raw descriptor), records what the rewritten step
// really transferred (k bytes after b bytes), and checks the bytes against
// an exact model of what the library must do next: a retried receive drops
// the k bytes the rewrite hid, a retried send sends them again, a short
// count resumes right after the reported part, a failure stops at b. Any
// other resume point, a duplicated or lost completion, or a byte out of
// place fails the run.

// A fault for a socket scenario: a kind from fault_hooks.hpp, or, with
// err != 0, a CQE whose result becomes -err (errno values the file faults do
// not use: ECONNRESET, ECONNREFUSED, ECONNABORTED, EINPROGRESS, EMFILE).
struct socket_fault
{
  fault kind = fault::none;
  int err = 0;
};

std::string name_of(const socket_fault& f)
{
  switch (f.err)
  {
  case 0: return asio_uring_test::name_of(f.kind);
  case ECONNRESET: return "cqe_econnreset";
  case ECONNREFUSED: return "cqe_econnrefused";
  case ECONNABORTED: return "cqe_econnaborted";
  case EINPROGRESS: return "cqe_einprogress";
  case EMFILE: return "cqe_emfile";
  default: return "cqe_errno_" + std::to_string(f.err);
  }
}

// step_fault_hooks with any errno at the completion seam, and, for accept
// scenarios, closing the descriptor a rewritten accept CQE carried (the
// operation never sees it, so nobody else would).
class socket_step_hooks : public step_fault_hooks
{
public:
  explicit socket_step_hooks(socket_fault f = {}, std::size_t fail_step = 0)
    : step_fault_hooks(f.err ? fault::cqe_eio : f.kind, fail_step), f_(f)
  {
  }

  void close_replaced_descriptors() noexcept { close_replaced_ = true; }

  void on_completion(asio_uring_test::core::completion& c) noexcept override
  {
    const std::size_t before = injected();
    step_fault_hooks::on_completion(c);
    if (injected() == before)
      return;
    if (f_.err)
      c.res = -f_.err;
    if (close_replaced_ && original_result() >= 0 && c.res != original_result())
      ::close(original_result());
  }

  const socket_fault& spec() const noexcept { return f_; }

private:
  const socket_fault f_;
  bool close_replaced_ = false;
};

// What a socket operation must do with the fault its hooks injected.
enum class effect
{
  none,     // no fault, or one the operation never sees (SQ full, a failed
            // enter, a completion held back a turn)
  resume,   // resubmitted: -EINTR, -EAGAIN (after a poll), accept's
            // -ECONNABORTED, connect's -EINPROGRESS
  shorten,  // a short count: a composed operation continues after it
  fail,     // delivered to the handler
};

effect effect_of(const socket_step_hooks& h)
{
  if (h.injected() == 0)
    return effect::none;
  switch (h.spec().kind)
  {
  case fault::cqe_eintr:
  case fault::cqe_eagain:
    return effect::resume;
  case fault::cqe_short:
    return effect::shorten;
  case fault::cqe_ecanceled:
  case fault::cqe_eio:
  case fault::cqe_enospc:
  case fault::cqe_zero:
  {
    const int err = h.spec().err;
    return err == ECONNABORTED || err == EINPROGRESS ? effect::resume
                                                     : effect::fail;
  }
  default:
    return effect::none;
  }
}

boost::system::error_code expected_error(const socket_fault& f)
{
  if (f.err)
    return boost::system::error_code(f.err, boost::system::system_category());
  return expected_error(f.kind);
}

// Open descriptors of this process (a scenario must leave as many as it
// found).
std::size_t open_descriptors()
{
  std::size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd"))
  {
    while (::readdir(d))
      ++n;
    ::closedir(d);
  }
  return n;
}

// Blocking helpers for the peer thread, on the raw descriptor.
std::vector<unsigned char> read_to_eof(int fd)
{
  std::vector<unsigned char> out;
  unsigned char buf[65536];
  for (;;)
  {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    out.insert(out.end(), buf, buf + n);
  }
  return out;
}

void send_all(int fd, const std::vector<unsigned char>& data)
{
  std::size_t off = 0;
  while (off < data.size())
  {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    off += static_cast<std::size_t>(n);
  }
}

// Whether the peer of fd closed its end: fd reads end of stream within a
// few seconds (bounded, so a wrong outcome fails instead of hanging).
bool sees_eof(int fd)
{
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 5000) != 1)
    return false;
  char c;
  return ::recv(fd, &c, 1, 0) == 0;
}

// Accepts a connection waiting on listener; fails (instead of blocking)
// when none arrives within a few seconds.
tcp::socket accept_waiting(tcp::acceptor& listener)
{
  tcp::socket s(listener.get_executor());
  pollfd p{listener.native_handle(), POLLIN, 0};
  boost::system::error_code ec = net::error::timed_out;
  if (::poll(&p, 1, 5000) == 1)
    listener.accept(s, ec);
  BOOST_TEST(!ec, "accept: " << ec.message());
  return s;
}

// The remote endpoint, or a default one when s is not connected.
tcp::endpoint remote_of(const tcp::socket& s)
{
  boost::system::error_code ec;
  return s.remote_endpoint(ec);
}

// a and b are the two ends of one connection: bytes go both ways (each
// read waits a few seconds at most, so a wrong pairing fails, not hangs).
bool talks(tcp::socket& a, tcp::socket& b)
{
  auto one_way = [](tcp::socket& from, tcp::socket& to, const char* word) {
    boost::system::error_code ec;
    net::write(from, net::buffer(word, 4), ec);
    pollfd p{to.native_handle(), POLLIN, 0};
    if (ec || ::poll(&p, 1, 5000) != 1)
      return false;
    char buf[4] = {};
    net::read(to, net::buffer(buf), ec);
    return !ec && std::memcmp(buf, word, 4) == 0;
  };
  return a.is_open() && b.is_open() && one_way(a, b, "ping")
      && one_way(b, a, "pong");
}

using bytes = std::vector<unsigned char>;

bytes slice(const bytes& v, std::size_t from, std::size_t to)
{
  return bytes(v.begin() + static_cast<long>(from),
      v.begin() + static_cast<long>(to));
}

constexpr std::size_t socket_bytes = 1 << 20;  // 16+ steps of at most 64 KiB

// The hidden part of the rewritten step: the step really moved k bytes
// after b, the operation was told r of them.
struct rewritten
{
  std::size_t b = 0, k = 0, r = 0;
};

rewritten rewritten_step(const socket_step_hooks& h)
{
  rewritten w;
  w.b = h.bytes_before();
  w.k = h.original_result() > 0 ? static_cast<std::size_t>(h.original_result()) : 0;
  w.r = effect_of(h) == effect::shorten ? w.k / 2 : 0;
  return w;
}

// boost::asio::async_write of 1 MiB over a connected socket (sends of at
// most 64 KiB; the loopback buffers fill, so some sends wait or come back
// short); a thread reads the peer's end to end of stream.
void socket_write(socket_step_hooks& hooks)
{
  const bytes data = asio_uring_test::random_bytes(socket_bytes, 7);
  bytes wire;
  handler_counters hc;
  alloc_counters ac;
  outcome o;
  const std::size_t fds = open_descriptors();
  {
    asio_uring::io_context ctx;
    ctx.impl().ring().set_fault_hooks(&hooks);
    auto [server, client] = asio_uring_test::connected_pair(ctx);
    std::thread peer([&wire, fd = client.native_handle()] {
      wire = read_to_eof(fd);
    });
    net::async_write(server, net::buffer(data),
        counted([&](boost::system::error_code ec, std::size_t n) {
          o = {o.calls + 1, ec, n};
        }, hc, ac));
    ctx.run_for(20s);
    boost::system::error_code ignored;
    server.shutdown(tcp::socket::shutdown_send, ignored);
    peer.join();
  }
  BOOST_TEST(open_descriptors() == fds);
  BOOST_TEST(o.calls == 1);
  const effect e = effect_of(hooks);
  const rewritten w = rewritten_step(hooks);
  bytes expected = data;
  if (e == effect::fail)
  {
    BOOST_TEST((o.ec == expected_error(hooks.spec())), o.ec.message());
    BOOST_TEST(o.n == w.b);
    expected = slice(data, 0, w.b + w.k);
  }
  else
  {
    BOOST_TEST(!o.ec, o.ec.message());
    BOOST_TEST(o.n == socket_bytes);
    if (e != effect::none)
    {
      // Sent again from the first byte the operation was not told about.
      expected = slice(data, 0, w.b + w.k);
      const bytes again = slice(data, w.b + w.r, socket_bytes);
      expected.insert(expected.end(), again.begin(), again.end());
    }
  }
  BOOST_TEST(wire.size() == expected.size());
  BOOST_TEST((wire == expected));
  check_no_leaks(hc, ac, 1);
}

// boost::asio::async_read of exactly 1 MiB (receives of at most 64 KiB)
// while a thread sends 2 MiB and closes its sending side; the rest is read
// afterwards, so every byte that left the peer is accounted for.
void socket_read(socket_step_hooks& hooks)
{
  const bytes data = asio_uring_test::random_bytes(2 * socket_bytes, 8);
  bytes buf(socket_bytes), rest;
  handler_counters hc;
  alloc_counters ac;
  outcome o;
  const std::size_t fds = open_descriptors();
  {
    asio_uring::io_context ctx;
    ctx.impl().ring().set_fault_hooks(&hooks);
    auto [server, client] = asio_uring_test::connected_pair(ctx);
    std::thread peer([&data, fd = client.native_handle()] {
      send_all(fd, data);
      ::shutdown(fd, SHUT_WR);
    });
    net::async_read(server, net::buffer(buf),
        counted([&](boost::system::error_code ec, std::size_t n) {
          o = {o.calls + 1, ec, n};
        }, hc, ac));
    ctx.run_for(20s);
    rest = read_to_eof(server.native_handle());
    peer.join();
  }
  BOOST_TEST(open_descriptors() == fds);
  BOOST_TEST(o.calls == 1);
  const effect e = effect_of(hooks);
  const rewritten w = rewritten_step(hooks);
  if (e == effect::fail)
  {
    BOOST_TEST((o.ec == expected_error(hooks.spec())), o.ec.message());
    BOOST_TEST(o.n == w.b);
  }
  else
  {
    BOOST_TEST(!o.ec, o.ec.message());
    BOOST_TEST(o.n == socket_bytes);
  }
  // What the application received: the reported bytes, then the rest. The
  // bytes a rewrite hid were taken out of the socket and are gone.
  bytes got = slice(buf, 0, std::min(o.n, buf.size()));
  got.insert(got.end(), rest.begin(), rest.end());
  bytes expected = data;
  if (e != effect::none)
    expected.erase(expected.begin() + static_cast<long>(w.b + w.r),
        expected.begin() + static_cast<long>(w.b + w.k));
  BOOST_TEST(got.size() == expected.size());
  BOOST_TEST((got == expected));
  check_no_leaks(hc, ac, 1);
}

// The member async_connect of a closed socket (it opens the socket) to a
// listener. Resumed faults connect; failures report the injected error
// (the socket stays open, as in Asio).
void member_connect(socket_step_hooks& hooks)
{
  handler_counters hc;
  alloc_counters ac;
  int calls = 0;
  boost::system::error_code ec = net::error::would_block;
  const std::size_t fds = open_descriptors();
  {
    asio_uring::io_context ctx;
    ctx.impl().ring().set_fault_hooks(&hooks);
    auto listener = asio_uring_test::make_listener(ctx);
    tcp::socket s(ctx);
    s.async_connect(listener.local_endpoint(),
        counted([&](boost::system::error_code e) {
          ++calls;
          ec = e;
        }, hc, ac));
    ctx.run_for(20s);
    BOOST_TEST(s.is_open());
    if (effect_of(hooks) == effect::fail)
      BOOST_TEST((ec == expected_error(hooks.spec())), ec.message());
    else
    {
      BOOST_TEST(!ec, ec.message());
      tcp::socket peer = accept_waiting(listener);
      BOOST_TEST((remote_of(peer) == s.local_endpoint()));
      BOOST_TEST(talks(s, peer));
    }
  }
  BOOST_TEST(open_descriptors() == fds);
  BOOST_TEST(calls == 1);
  check_no_leaks(hc, ac, 1);
}

// The composed asio_uring::async_connect over two endpoints of the same
// listener: a failed first attempt (the connect condition sees its error)
// closes the socket and connects to the second; no fault ends the run
// with an error.
void range_connect(socket_step_hooks& hooks)
{
  handler_counters hc;
  alloc_counters ac;
  int calls = 0;
  boost::system::error_code ec = net::error::would_block;
  tcp::endpoint connected;
  std::vector<boost::system::error_code> seen;  // by the connect condition
  const std::size_t fds = open_descriptors();
  {
    asio_uring::io_context ctx;
    ctx.impl().ring().set_fault_hooks(&hooks);
    auto listener = asio_uring_test::make_listener(ctx);
    const std::array<tcp::endpoint, 2> eps{listener.local_endpoint(),
        listener.local_endpoint()};
    tcp::socket s(ctx);
    asio_uring::async_connect(s, eps,
        [&](const boost::system::error_code& e, const tcp::endpoint&) {
          seen.push_back(e);
          return true;
        },
        counted([&](boost::system::error_code e, tcp::endpoint ep) {
          ++calls;
          ec = e;
          connected = ep;
        }, hc, ac));
    ctx.run_for(20s);
    BOOST_TEST(!ec, ec.message());
    BOOST_TEST((connected == listener.local_endpoint()));
    const bool failed_once = effect_of(hooks) == effect::fail;
    BOOST_TEST_REQUIRE(seen.size() == (failed_once ? 2u : 1u));
    BOOST_TEST(!seen[0]);
    if (failed_once)
    {
      BOOST_TEST((seen[1] == expected_error(hooks.spec())), seen[1].message());
      // The first attempt's connection was established underneath, then
      // closed by the composed operation: it waits first in the backlog.
      tcp::socket stale = accept_waiting(listener);
      BOOST_TEST(sees_eof(stale.native_handle()));
    }
    tcp::socket peer = accept_waiting(listener);
    BOOST_TEST((remote_of(peer) == s.local_endpoint()));
    BOOST_TEST(talks(s, peer));
  }
  BOOST_TEST(open_descriptors() == fds);
  BOOST_TEST(calls == 1);
  check_no_leaks(hc, ac, 1);
}

// async_accept (the move form returning a socket, or into a given socket)
// with two connections waiting in the backlog. A rewritten accept CQE
// loses its connection (the hooks close that descriptor): a resumed accept
// takes the second connection; a failed one reports the error with no
// socket; either way the first client sees its connection end.
void accept_scenario(socket_step_hooks& hooks, bool into_peer)
{
  hooks.close_replaced_descriptors();
  handler_counters hc;
  alloc_counters ac;
  int calls = 0;
  boost::system::error_code ec = net::error::would_block;
  const std::size_t fds = open_descriptors();
  {
    asio_uring::io_context ctx;
    ctx.impl().ring().set_fault_hooks(&hooks);
    auto listener = asio_uring_test::make_listener(ctx);
    tcp::socket c1(ctx), c2(ctx);
    c1.connect(listener.local_endpoint());
    c2.connect(listener.local_endpoint());
    std::optional<tcp::socket> got;
    if (into_peer)
    {
      got.emplace(ctx);
      listener.async_accept(*got,
          counted([&](boost::system::error_code e) {
            ++calls;
            ec = e;
          }, hc, ac));
    }
    else
      listener.async_accept(
          counted([&](boost::system::error_code e, tcp::socket s) {
            ++calls;
            ec = e;
            got.emplace(std::move(s));
          }, hc, ac));
    ctx.run_for(20s);
    BOOST_TEST_REQUIRE(got.has_value());
    switch (effect_of(hooks))
    {
    case effect::none:
      BOOST_TEST(!ec, ec.message());
      BOOST_TEST((remote_of(*got) == c1.local_endpoint()));
      BOOST_TEST(talks(c1, *got));
      break;
    case effect::resume:
      BOOST_TEST(!ec, ec.message());
      BOOST_TEST((remote_of(*got) == c2.local_endpoint()));
      BOOST_TEST(talks(c2, *got));
      BOOST_TEST(sees_eof(c1.native_handle()));
      break;
    default:
      BOOST_TEST((ec == expected_error(hooks.spec())), ec.message());
      BOOST_TEST(!got->is_open());
      BOOST_TEST(sees_eof(c1.native_handle()));
      break;
    }
  }
  BOOST_TEST(open_descriptors() == fds);
  BOOST_TEST(calls == 1);
  check_no_leaks(hc, ac, 1);
}

using socket_scenario = std::function<void(socket_step_hooks&)>;

// every_step for socket scenarios: the fault may carry any errno.
std::size_t every_socket_step(const socket_fault& f, const socket_scenario& s)
{
  std::size_t steps;
  {
    socket_step_hooks probe;
    s(probe);
    ++scenario_runs;
    ++socket_scenario_runs;
    steps = probe.steps(seam_of(f.kind));
  }
  BOOST_TEST_REQUIRE(steps > 0u);
  std::size_t injected = 0;
  for (std::size_t n = 1; n <= steps; ++n)
  {
    BOOST_TEST_CONTEXT(name_of(f) << " at step " << n << " of " << steps)
    {
      socket_step_hooks hooks(f, n);
      s(hooks);
      ++scenario_runs;
      ++socket_scenario_runs;
      injected += hooks.injected();
    }
  }
  // How a transfer splits into steps depends on the peer thread's timing,
  // so a late step of the probe may not exist in a rerun; most do.
  BOOST_TEST(injected * 2 >= steps);
  faults_injected += injected;
  socket_faults_injected += injected;
  BOOST_TEST_MESSAGE(name_of(f) << ": " << steps << " steps, " << injected
      << " faults injected");
  return injected;
}

const std::vector<socket_fault> transfer_faults = {{fault::sq_full},
    {fault::enter_eintr}, {fault::enter_eagain}, {fault::enter_ebusy},
    {fault::cqe_eintr}, {fault::cqe_eagain}, {fault::cqe_ecanceled},
    {fault::cqe_eio}, {fault::cqe_eio, ECONNRESET}, {fault::cqe_short},
    {fault::cqe_delay}};

const std::vector<socket_fault> connect_faults = {{fault::sq_full},
    {fault::enter_eintr}, {fault::enter_eagain}, {fault::enter_ebusy},
    {fault::cqe_eintr}, {fault::cqe_eagain}, {fault::cqe_eio, EINPROGRESS},
    {fault::cqe_ecanceled}, {fault::cqe_eio}, {fault::cqe_eio, ECONNREFUSED},
    {fault::cqe_eio, ECONNRESET}, {fault::cqe_delay}};

const std::vector<socket_fault> accept_faults = {{fault::sq_full},
    {fault::enter_eintr}, {fault::enter_eagain}, {fault::enter_ebusy},
    {fault::cqe_eintr}, {fault::cqe_eagain}, {fault::cqe_eio, ECONNABORTED},
    {fault::cqe_ecanceled}, {fault::cqe_eio}, {fault::cqe_eio, EMFILE},
    {fault::cqe_delay}};

// Prints the figures doc/reliability.md quotes once every case has run.
struct summary
{
  ~summary()
  {
    std::printf("fault_injection: %zu scenario runs, %zu faults injected "
                "(sockets: %zu runs, %zu faults)\n",
        scenario_runs, faults_injected, socket_scenario_runs,
        socket_faults_injected);
  }
};

} // namespace

BOOST_TEST_GLOBAL_FIXTURE(summary);

BOOST_AUTO_TEST_SUITE(fault_injection)

BOOST_AUTO_TEST_CASE(seam_without_faults_counts_steps_and_injects_nothing)
{
  step_fault_hooks hooks;
  stream_read(hooks);
  BOOST_TEST(hooks.injected() == 0u);
  // One CQE per 4 KiB step; at least one SQE and one enter per step.
  BOOST_TEST(hooks.steps(seam::completion) == 10u);
  BOOST_TEST(hooks.steps(seam::get_sqe) >= 10u);
  BOOST_TEST(hooks.steps(seam::enter) >= 10u);
}

BOOST_AUTO_TEST_CASE(stream_read_resumes_or_fails_when_step_n_faults)
{
  for (fault f : read_faults)
    every_step(f, stream_read);
}

BOOST_AUTO_TEST_CASE(stream_write_resumes_or_fails_when_step_n_faults)
{
  for (fault f : write_faults)
    every_step(f, stream_write);
}

BOOST_AUTO_TEST_CASE(read_at_resumes_or_fails_when_step_n_faults)
{
  for (fault f : read_faults)
    every_step(f, random_read);
}

BOOST_AUTO_TEST_CASE(write_at_resumes_or_fails_when_step_n_faults)
{
  for (fault f : write_faults)
    every_step(f, random_write);
}

BOOST_AUTO_TEST_CASE(concurrent_reads_fail_only_the_faulted_one)
{
  for (fault f : read_faults)
    every_step(f, [](step_fault_hooks& h) {
      concurrent_reads(h, asio_uring::ring_options());
    });
}

BOOST_AUTO_TEST_CASE(concurrent_reads_on_tiny_ring_fail_only_the_faulted_one)
{
  asio_uring::ring_options tiny;
  tiny.entries = 2;
  tiny.cq_entries = 4;
  for (fault f : read_faults)
    every_step(f, [&](step_fault_hooks& h) { concurrent_reads(h, tiny); });
}

BOOST_AUTO_TEST_CASE(coroutine_copy_resumes_or_stops_when_step_n_faults)
{
  for (fault f : write_faults)
    every_step(f, coroutine_copy);
}

BOOST_AUTO_TEST_CASE(socket_seam_without_faults_counts_steps)
{
  socket_step_hooks hooks;
  socket_write(hooks);
  BOOST_TEST(hooks.injected() == 0u);
  // At most 64 KiB per send: at least 16 completions for 1 MiB.
  BOOST_TEST(hooks.steps(seam::completion) >= 16u);
  BOOST_TEST(hooks.steps(seam::get_sqe) >= 16u);
}

BOOST_AUTO_TEST_CASE(socket_async_write_resumes_or_fails_when_step_n_faults)
{
  for (const socket_fault& f : transfer_faults)
    every_socket_step(f, socket_write);
}

BOOST_AUTO_TEST_CASE(socket_async_read_resumes_or_fails_when_step_n_faults)
{
  std::vector<socket_fault> faults = transfer_faults;
  faults.push_back({fault::cqe_zero});  // end of stream
  for (const socket_fault& f : faults)
    every_socket_step(f, socket_read);
}

BOOST_AUTO_TEST_CASE(socket_async_connect_resumes_or_fails_when_step_n_faults)
{
  for (const socket_fault& f : connect_faults)
    every_socket_step(f, member_connect);
}

BOOST_AUTO_TEST_CASE(composed_async_connect_tries_next_endpoint_when_step_n_faults)
{
  for (const socket_fault& f : connect_faults)
    every_socket_step(f, range_connect);
}

BOOST_AUTO_TEST_CASE(socket_async_accept_resumes_or_fails_when_step_n_faults)
{
  for (const socket_fault& f : accept_faults)
  {
    every_socket_step(f, [](socket_step_hooks& h) { accept_scenario(h, false); });
    every_socket_step(f, [](socket_step_hooks& h) { accept_scenario(h, true); });
  }
}

BOOST_AUTO_TEST_SUITE_END()
