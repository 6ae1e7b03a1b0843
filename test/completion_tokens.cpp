// The completion-token suite: asio_uring's ring operations (file reads and
// writes) with every kind of Boost.Asio completion token and adapter:
// callbacks (move-only too), use_future, use_awaitable with co_spawn and the
// awaitable operators, deferred, as_tuple, redirect_error, detached,
// bind_executor, bound cancellation slots, append/prepend/consign,
// any_completion_handler and experimental::use_promise.
#include <asio_uring/random_access_file.hpp>
#include <asio_uring/stream_file.hpp>

#include <asio_uring/io_context.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/consign.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/promise.hpp>
#include <boost/asio/experimental/use_promise.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prepend.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

#include "test_util.hpp"

#include <chrono>
#include <cstddef>
#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace asio = boost::asio;
using boost::system::error_code;
using namespace std::chrono_literals;
using asio_uring_test::random_bytes;
using asio_uring_test::temp_file;

namespace {

// A pipe: its read end, wrapped in a stream_file, gives a read that stays in
// the kernel until data arrives or it is cancelled.
struct pipe_fds
{
  pipe_fds()
  {
    if (::pipe2(fd, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe2 failed");
  }
  ~pipe_fds()
  {
    for (int f : fd)
      if (f >= 0)
        ::close(f);
  }
  int release_read() { return std::exchange(fd[0], -1); }

  int fd[2];
};

// A file of known contents, open for random-access reads on ctx.
struct read_fixture
{
  explicit read_fixture(std::size_t size = 8192)
    : data(random_bytes(size)), file(data),
      f(ctx, file.path(), asio_uring::file_base::read_only)
  {
  }

  asio_uring::io_context ctx;
  std::vector<unsigned char> data;
  temp_file file;
  asio_uring::random_access_file f;
};

// Runs ctx with a generous bound; a hang shows as "not stopped".
void run_bounded(asio_uring::io_context& ctx)
{
  ctx.run_for(std::chrono::seconds(60));
  BOOST_TEST(ctx.stopped());
}

} // namespace

BOOST_AUTO_TEST_SUITE(completion_tokens)

BOOST_AUTO_TEST_CASE(callback_receives_error_code_and_size)
{
  read_fixture fx;
  std::vector<unsigned char> buf(fx.data.size());
  std::optional<std::pair<error_code, std::size_t>> got;
  fx.f.async_read_some_at(0, asio::buffer(buf),
      [&](error_code ec, std::size_t n) { got.emplace(ec, n); });
  run_bounded(fx.ctx);
  BOOST_TEST_REQUIRE(got.has_value());
  BOOST_TEST(!got->first);
  BOOST_TEST(got->second == buf.size());
  BOOST_TEST(buf == fx.data, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(move_only_handlers_are_accepted_and_invoked)
{
  read_fixture fx;
  std::vector<unsigned char> buf(16);
  int total = 0;
  struct move_only
  {
    std::unique_ptr<int> value;
    int* total;
    move_only(std::unique_ptr<int> v, int* t) : value(std::move(v)), total(t) {}
    move_only(move_only&&) = default;
    move_only(const move_only&) = delete;
    void operator()(error_code ec, std::size_t n)
    {
      if (!ec && n == 16)
        *total += *value;
    }
  };
  fx.f.async_read_some_at(0, asio::buffer(buf),
      move_only(std::make_unique<int>(40), &total));
  temp_file out;
  asio_uring::random_access_file w(fx.ctx, out.path(),
      asio_uring::file_base::write_only);
  w.async_write_some_at(0, asio::buffer(buf),
      move_only(std::make_unique<int>(2), &total));
  run_bounded(fx.ctx);
  BOOST_TEST(total == 42);
}

BOOST_AUTO_TEST_CASE(handler_never_runs_inside_the_initiating_function)
{
  read_fixture fx;
  std::vector<unsigned char> buf(64);
  asio_uring::random_access_file closed(fx.ctx);
  int completed = 0;
  bool inline_call = false;
  bool initiating = false;
  auto start_all = [&] {
    initiating = true;
    auto h = [&](error_code, std::size_t) {
      inline_call = inline_call || initiating;
      ++completed;
    };
    fx.f.async_read_some_at(0, asio::buffer(buf), h);
    fx.f.async_read_some_at(0, asio::mutable_buffer(), h);   // zero size
    closed.async_read_some_at(0, asio::buffer(buf), h);      // bad descriptor
    closed.async_write_some_at(0, asio::const_buffer(), h);
    initiating = false;
  };
  start_all();                        // outside the loop
  asio::post(fx.ctx, start_all);      // inside it, where dispatch is inline
  run_bounded(fx.ctx);
  BOOST_TEST(completed == 8);
  BOOST_TEST(!inline_call);
}

BOOST_AUTO_TEST_CASE(use_future_delivers_the_size)
{
  read_fixture fx;
  std::vector<unsigned char> buf(100);
  std::future<std::size_t> fut =
      fx.f.async_read_some_at(10, asio::buffer(buf), asio::use_future);
  // Another thread runs the loop while this one blocks on the future.
  std::thread runner([&] { fx.ctx.run_for(std::chrono::seconds(60)); });
  BOOST_TEST((fut.wait_for(60s) == std::future_status::ready));
  BOOST_TEST(fut.get() == 100u);
  runner.join();
  BOOST_TEST(std::equal(buf.begin(), buf.end(), fx.data.begin() + 10));
}

BOOST_AUTO_TEST_CASE(use_future_turns_errors_into_system_error)
{
  read_fixture fx(1000);
  std::vector<unsigned char> buf(100);
  auto at_end = fx.f.async_read_some_at(1000, asio::buffer(buf),
      asio::use_future);
  asio_uring::random_access_file closed(fx.ctx);
  auto on_closed = closed.async_read_some_at(0, asio::buffer(buf),
      asio::use_future);
  run_bounded(fx.ctx);
  try
  {
    at_end.get();
    BOOST_FAIL("read at the end of the file succeeded");
  }
  catch (const boost::system::system_error& e)
  {
    BOOST_TEST(e.code() == asio::error::eof);
  }
  try
  {
    on_closed.get();
    BOOST_FAIL("read of a closed file succeeded");
  }
  catch (const boost::system::system_error& e)
  {
    BOOST_TEST(e.code() == asio::error::bad_descriptor);
  }
}

BOOST_AUTO_TEST_CASE(use_awaitable_reads_a_file_to_its_end)
{
  auto data = random_bytes(100'000);
  temp_file file(data);
  asio_uring::io_context ctx;
  std::vector<unsigned char> got;
  std::exception_ptr failure;
  bool done = false;
  asio::co_spawn(ctx,
      [&]() -> asio::awaitable<std::size_t> {
        asio_uring::stream_file f(co_await asio::this_coro::executor,
            file.path(), asio_uring::file_base::read_only);
        unsigned char block[4096];
        for (;;)
        {
          auto [ec, n] = co_await f.async_read_some(asio::buffer(block),
              asio::as_tuple(asio::use_awaitable));
          if (ec == asio::error::eof)
            break;
          if (ec)
            throw boost::system::system_error(ec);
          got.insert(got.end(), block, block + n);
        }
        co_return got.size();
      },
      [&](std::exception_ptr e, std::size_t n) {
        failure = e;
        done = n == got.size();
      });
  run_bounded(ctx);
  BOOST_TEST(!failure);
  BOOST_TEST(done);
  BOOST_TEST(got == data, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(use_awaitable_throws_errors_into_the_coroutine)
{
  asio_uring::io_context ctx;
  std::exception_ptr failure;
  asio::co_spawn(ctx,
      [&]() -> asio::awaitable<void> {
        asio_uring::random_access_file closed(ctx);
        unsigned char b[8];
        co_await closed.async_read_some_at(0, asio::buffer(b),
            asio::use_awaitable);
      },
      [&](std::exception_ptr e) { failure = e; });
  run_bounded(ctx);
  BOOST_TEST_REQUIRE(bool(failure));
  try
  {
    std::rethrow_exception(failure);
  }
  catch (const boost::system::system_error& e)
  {
    BOOST_TEST(e.code() == asio::error::bad_descriptor);
  }
}

BOOST_AUTO_TEST_CASE(co_spawn_on_a_strand_resumes_inside_the_strand)
{
  read_fixture fx;
  auto strand = asio::make_strand(fx.ctx);
  bool in_strand_after_read = false;
  std::size_t n = 0;
  auto fut = asio::co_spawn(strand,
      [&]() -> asio::awaitable<void> {
        unsigned char b[512];
        n = co_await fx.f.async_read_some_at(0, asio::buffer(b),
            asio::use_awaitable);
        in_strand_after_read = strand.running_in_this_thread();
      },
      asio::use_future);
  run_bounded(fx.ctx);
  fut.get();
  BOOST_TEST(n == 512u);
  BOOST_TEST(in_strand_after_read);
}

BOOST_AUTO_TEST_CASE(awaitable_and_operator_waits_for_both_reads)
{
  using namespace asio::experimental::awaitable_operators;
  read_fixture fx;
  std::vector<unsigned char> a(100), b(200);
  std::tuple<std::size_t, std::size_t> sizes{};
  asio::co_spawn(fx.ctx,
      [&]() -> asio::awaitable<void> {
        sizes = co_await (
            fx.f.async_read_some_at(0, asio::buffer(a), asio::use_awaitable)
            && fx.f.async_read_some_at(100, asio::buffer(b),
                asio::use_awaitable));
      },
      asio::detached);
  run_bounded(fx.ctx);
  BOOST_TEST(std::get<0>(sizes) == 100u);
  BOOST_TEST(std::get<1>(sizes) == 200u);
  BOOST_TEST(std::equal(a.begin(), a.end(), fx.data.begin()));
  BOOST_TEST(std::equal(b.begin(), b.end(), fx.data.begin() + 100));
}

BOOST_AUTO_TEST_CASE(awaitable_or_operator_cancels_the_pending_read)
{
  // The pipe read can only end by cancellation: if the loser were not
  // cancelled in the kernel, run() would never run out of work.
  using namespace asio::experimental::awaitable_operators;
  pipe_fds p;
  asio_uring::io_context ctx;
  asio_uring::stream_file in(ctx, p.release_read());
  std::vector<unsigned char> buf(16);
  std::optional<std::size_t> winner;
  asio::co_spawn(ctx,
      [&]() -> asio::awaitable<void> {
        auto r = co_await (
            in.async_read_some(asio::buffer(buf), asio::use_awaitable)
            || asio::post(ctx, asio::use_awaitable));
        winner = r.index();
      },
      asio::detached);
  run_bounded(ctx);
  BOOST_TEST_REQUIRE(winner.has_value());
  BOOST_TEST(*winner == 1u);
}

BOOST_AUTO_TEST_CASE(deferred_operation_starts_when_invoked)
{
  read_fixture fx;
  std::vector<unsigned char> buf(64);
  auto op = fx.f.async_read_some_at(0, asio::buffer(buf), asio::deferred);
  // Nothing started yet: run() finds no work.
  BOOST_TEST(fx.ctx.run() == 0u);
  fx.ctx.restart();
  std::size_t got = 0;
  std::move(op)([&](error_code ec, std::size_t n) {
    if (!ec)
      got = n;
  });
  run_bounded(fx.ctx);
  BOOST_TEST(got == 64u);
}

BOOST_AUTO_TEST_CASE(redirect_error_and_as_tuple_report_eof_without_throwing)
{
  read_fixture fx(100);
  error_code redirected;
  error_code tupled;
  std::size_t tupled_n = 99;
  bool finished = false;
  asio::co_spawn(fx.ctx,
      [&]() -> asio::awaitable<void> {
        unsigned char b[10];
        co_await fx.f.async_read_some_at(100, asio::buffer(b),
            asio::redirect_error(asio::use_awaitable, redirected));
        std::tie(tupled, tupled_n) = co_await fx.f.async_read_some_at(200,
            asio::buffer(b), asio::as_tuple(asio::use_awaitable));
        finished = true;
      },
      asio::detached);
  run_bounded(fx.ctx);
  BOOST_TEST(finished);
  BOOST_TEST(redirected == asio::error::eof);
  BOOST_TEST(tupled == asio::error::eof);
  BOOST_TEST(tupled_n == 0u);
}

BOOST_AUTO_TEST_CASE(detached_operation_completes_and_work_runs_out)
{
  read_fixture fx;
  std::vector<unsigned char> buf(64);
  fx.f.async_read_some_at(0, asio::buffer(buf), asio::detached);
  run_bounded(fx.ctx);
  BOOST_TEST(std::equal(buf.begin(), buf.end(), fx.data.begin()));
}

BOOST_AUTO_TEST_CASE(bind_executor_delivers_completion_in_the_strand)
{
  read_fixture fx;
  auto strand = asio::make_strand(fx.ctx);
  std::vector<unsigned char> buf(64);
  bool in_strand = false;
  fx.f.async_read_some_at(0, asio::buffer(buf),
      asio::bind_executor(strand, [&](error_code, std::size_t) {
        in_strand = strand.running_in_this_thread();
      }));
  run_bounded(fx.ctx);
  BOOST_TEST(in_strand);
}

BOOST_AUTO_TEST_CASE(handler_bound_to_another_context_completes_there)
{
  // The read runs on fx.ctx's ring; the handler belongs to other, which
  // counts it as work until it has run there.
  read_fixture fx;
  asio_uring::io_context other;
  std::vector<unsigned char> buf(64);
  bool in_other = false;
  bool in_io = true;
  fx.f.async_read_some_at(0, asio::buffer(buf),
      asio::bind_executor(other.get_executor(), [&](error_code, std::size_t) {
        in_other = other.get_executor().running_in_this_thread();
        in_io = fx.ctx.get_executor().running_in_this_thread();
      }));
  std::thread io_thread([&] { fx.ctx.run_for(std::chrono::seconds(60)); });
  std::size_t n = other.run_for(std::chrono::seconds(60));
  io_thread.join();
  BOOST_TEST(n == 1u);
  BOOST_TEST(other.stopped());
  BOOST_TEST(fx.ctx.stopped());
  BOOST_TEST(in_other);
  BOOST_TEST(!in_io);
}

BOOST_AUTO_TEST_CASE(bound_cancellation_slot_aborts_a_pending_read)
{
  for (auto type : {asio::cancellation_type::terminal,
           asio::cancellation_type::partial, asio::cancellation_type::total})
  {
    pipe_fds p;
    asio_uring::io_context ctx;
    asio_uring::stream_file in(ctx, p.release_read());
    asio::cancellation_signal signal;
    std::vector<unsigned char> buf(16);
    error_code result;
    bool called = false;
    in.async_read_some(asio::buffer(buf),
        asio::bind_cancellation_slot(signal.slot(),
            [&](error_code ec, std::size_t) {
              called = true;
              result = ec;
            }));
    asio::post(ctx, [&, type] { signal.emit(type); });
    run_bounded(ctx);
    BOOST_TEST(called);
    BOOST_TEST(result == asio::error::operation_aborted,
        "type " << static_cast<int>(type) << ": " << result.message());
  }
}

BOOST_AUTO_TEST_CASE(append_prepend_and_consign_adapt_the_handler)
{
  read_fixture fx;
  std::vector<unsigned char> buf(32);
  std::tuple<int, error_code, std::size_t, int> seen{};
  auto keep = std::make_shared<int>(0);
  std::weak_ptr<int> watch = keep;
  fx.f.async_read_some_at(0, asio::buffer(buf),
      asio::prepend(asio::append(asio::consign(
          [&](int first, error_code ec, std::size_t n, int last) {
            seen = {first, ec, n, last};
          },
          std::move(keep)), 7), 3));
  BOOST_TEST(!watch.expired());  // consigned: alive while in flight
  run_bounded(fx.ctx);
  BOOST_TEST(std::get<0>(seen) == 3);
  BOOST_TEST(!std::get<1>(seen));
  BOOST_TEST(std::get<2>(seen) == 32u);
  BOOST_TEST(std::get<3>(seen) == 7);
  BOOST_TEST(watch.expired());
}

BOOST_AUTO_TEST_CASE(any_completion_handler_is_accepted)
{
  read_fixture fx;
  std::vector<unsigned char> buf(32);
  std::size_t got = 0;
  asio::any_completion_handler<void(error_code, std::size_t)> h(
      [&](error_code ec, std::size_t n) {
        if (!ec)
          got = n;
      });
  fx.f.async_read_some_at(0, asio::buffer(buf), std::move(h));
  run_bounded(fx.ctx);
  BOOST_TEST(got == 32u);
}

BOOST_AUTO_TEST_CASE(use_promise_delivers_the_result)
{
  read_fixture fx;
  std::vector<unsigned char> buf(48);
  auto promise = fx.f.async_read_some_at(0, asio::buffer(buf),
      asio::experimental::use_promise);
  std::size_t got = 0;
  promise([&](error_code ec, std::size_t n) {
    if (!ec)
      got = n;
  });
  run_bounded(fx.ctx);
  BOOST_TEST(got == 48u);
  BOOST_TEST(std::equal(buf.begin(), buf.end(), fx.data.begin()));
}

BOOST_AUTO_TEST_CASE(destroying_a_promise_cancels_its_read)
{
  pipe_fds p;
  asio_uring::io_context ctx;
  asio_uring::stream_file in(ctx, p.release_read());
  std::vector<unsigned char> buf(16);
  {
    auto promise = in.async_read_some(asio::buffer(buf),
        asio::experimental::use_promise);
    ctx.poll();  // the read is now in the kernel
  }
  // Only the cancellation ends the read; the loop then runs out of work.
  run_bounded(ctx);
}

BOOST_AUTO_TEST_SUITE_END()
