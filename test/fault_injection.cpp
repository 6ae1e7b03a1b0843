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
#include <asio_uring/io_context.hpp>
#include <asio_uring/random_access_file.hpp>
#include <asio_uring/steady_timer.hpp>
#include <asio_uring/stream_file.hpp>

#include "fault_hooks.hpp"
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
#include <cstdio>
#include <exception>
#include <functional>
#include <vector>

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

// Prints the figures doc/reliability.md quotes once every case has run.
struct summary
{
  ~summary()
  {
    std::printf("fault_injection: %zu scenario runs, %zu faults injected\n",
        scenario_runs, faults_injected);
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

BOOST_AUTO_TEST_SUITE_END()
