// The io_context suite: the run loop, outstanding-work counting, stop and
// restart, exceptions, threads, setup failures and destruction.
//
// Most cases are templates run against boost::asio::io_context as well as
// asio_uring::io_context: Boost.Asio's behaviour is the specification, and a
// case that passes for one and not the other is a divergence to fix.
#include <asio_uring/io_context.hpp>

#include <asio_uring/random_access_file.hpp>
#include <asio_uring/stream_file.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/defer.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/multiple_exceptions.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include "test_util.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstring>
#include <functional>
#include <future>
#include <iterator>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// The two implementations every template case runs against.
using contexts = std::tuple<asio::io_context, asio_uring::io_context>;

// Stops ctx if the test has not finished within limit, so that a bug shows
// as a failed assertion instead of a hung test program.
template <typename Context>
class watchdog
{
public:
  watchdog(Context& ctx, std::chrono::seconds limit)
    : thread_([this, &ctx, limit] {
        std::unique_lock<std::mutex> lock(mutex_);
        if (!cv_.wait_for(lock, limit, [this] { return done_; }))
        {
          fired_ = true;
          ctx.stop();
        }
      })
  {
  }

  ~watchdog() { finish(); }

  // Ends the watch; true if it had to stop the context.
  bool finish()
  {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable())
      thread_.join();
    return fired_;
  }

private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  bool fired_ = false;
  std::thread thread_;
};

// A pipe whose ends close with the object.
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
  // Hands the read end over (to an I/O object that will close it).
  int release_read() { return std::exchange(fd[0], -1); }

  int fd[2];
};

// Counts live copies of a handler, to see that handlers are destroyed.
struct lifetime_probe
{
  std::shared_ptr<int> token = std::make_shared<int>(0);
  long live() const { return token.use_count() - 1; }
};

} // namespace

BOOST_AUTO_TEST_SUITE(io_context)

// ---------------------------------------------------------------------------
// Construction and setup failures (asio_uring only).

BOOST_AUTO_TEST_CASE(construct_with_each_constructor_succeeds)
{
  static_assert(std::is_base_of_v<asio::execution_context,
      asio_uring::io_context>);
  static_assert(!std::is_copy_constructible_v<asio_uring::io_context>);
  static_assert(!std::is_convertible_v<int, asio_uring::io_context>);

  asio_uring::io_context a;
  asio_uring::io_context b(1);
  asio_uring::io_context c(BOOST_ASIO_CONCURRENCY_HINT_SAFE);
  asio_uring::ring_options small;
  small.entries = 4;
  asio_uring::io_context d(small);
  asio_uring::io_context e(small, 1);

  int count = 0;
  for (asio_uring::io_context* ctx : {&a, &b, &c, &d, &e})
  {
    asio::post(*ctx, [&] { ++count; });
    BOOST_TEST(ctx->run() == 1u);
  }
  BOOST_TEST(count == 5);
}

BOOST_AUTO_TEST_CASE(is_supported_reports_true_here)
{
  BOOST_TEST(asio_uring::is_supported());
  boost::system::error_code ec = asio::error::bad_descriptor;
  BOOST_TEST(asio_uring::is_supported(ec));
  BOOST_TEST(!ec);
}

BOOST_AUTO_TEST_CASE(construct_with_too_many_entries_throws_naming_the_fix)
{
  asio_uring::ring_options huge;
  huge.entries = 1u << 20;
  try
  {
    asio_uring::io_context ctx(huge);
    BOOST_FAIL("io_context accepted 1M SQ entries");
  }
  catch (const boost::system::system_error& e)
  {
    BOOST_TEST(e.code() == boost::system::error_code(EINVAL,
        boost::system::system_category()));
    const std::string what = e.what();
    BOOST_TEST(what.find("io_uring") != std::string::npos, what);
    BOOST_TEST(what.find("entries") != std::string::npos, what);
  }
}

BOOST_AUTO_TEST_CASE(construct_with_too_many_cq_entries_throws_system_error)
{
  asio_uring::ring_options huge;
  huge.cq_entries = 1u << 30;
  BOOST_CHECK_THROW(asio_uring::io_context ctx(huge),
      boost::system::system_error);
}

namespace {

// Lowers RLIMIT_NOFILE and fills the descriptor table until only `spare`
// descriptors are left; restores both on destruction.
class descriptor_exhaustion
{
public:
  explicit descriptor_exhaustion(int spare)
  {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit low = saved_;
    low.rlim_cur = 256;
    if (::setrlimit(RLIMIT_NOFILE, &low) != 0)
      throw std::runtime_error("setrlimit failed");
    for (;;)
    {
      int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        break;
      fds_.push_back(fd);
    }
    for (int i = 0; i < spare && !fds_.empty(); ++i)
    {
      ::close(fds_.back());
      fds_.pop_back();
    }
  }

  ~descriptor_exhaustion()
  {
    for (int fd : fds_)
      ::close(fd);
    ::setrlimit(RLIMIT_NOFILE, &saved_);
  }

private:
  rlimit saved_{};
  std::vector<int> fds_;
};

void check_emfile_message(int spare)
{
  std::string what;
  boost::system::error_code code;
  boost::system::error_code probe;
  bool supported = true;
  bool threw = false;
  {
    descriptor_exhaustion full(spare);
    try
    {
      asio_uring::io_context ctx;
    }
    catch (const boost::system::system_error& e)
    {
      threw = true;
      what = e.what();
      code = e.code();
    }
    supported = asio_uring::is_supported(probe);
  }
  BOOST_TEST_REQUIRE(threw);
  BOOST_TEST(code == boost::system::error_code(EMFILE,
      boost::system::system_category()));
  BOOST_TEST(what.find("RLIMIT_NOFILE") != std::string::npos, what);
  if (spare == 0)
  {
    BOOST_TEST(!supported);
    BOOST_TEST(probe == boost::system::error_code(EMFILE,
        boost::system::system_category()));
  }
}

} // namespace

BOOST_AUTO_TEST_CASE(construct_without_descriptors_throws_naming_rlimit)
{
  check_emfile_message(0);
}

BOOST_AUTO_TEST_CASE(construct_with_one_descriptor_left_throws_naming_rlimit)
{
  // The ring itself fits; the wake-up eventfd does not.
  check_emfile_message(1);
}

namespace {

// In a child process, makes io_uring_setup fail with err through a seccomp
// filter (as container runtimes do), then checks the constructor's error.
// Returns the child's exit status: 0 when every check passed.
int run_with_io_uring_setup_failing(int err, const char* must_mention)
{
  pid_t pid = ::fork();
  if (pid < 0)
    return -1;
  if (pid == 0)
  {
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K,
            SECCOMP_RET_ERRNO | (static_cast<unsigned>(err) & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog prog{static_cast<unsigned short>(std::size(filter)), filter};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
        || ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
      ::_exit(2);
    if (asio_uring::is_supported())
      ::_exit(3);
    try
    {
      asio_uring::io_context ctx;
      ::_exit(4);
    }
    catch (const boost::system::system_error& e)
    {
      if (e.code().value() != err)
        ::_exit(5);
      if (!std::strstr(e.what(), must_mention))
        ::_exit(6);
      if (!std::strstr(e.what(), "Fix"))
        ::_exit(7);
      ::_exit(0);
    }
    catch (...)
    {
      ::_exit(8);
    }
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid)
    return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

} // namespace

BOOST_AUTO_TEST_CASE(construct_under_seccomp_enosys_throws_naming_seccomp)
{
  BOOST_TEST(run_with_io_uring_setup_failing(ENOSYS, "seccomp") == 0);
}

BOOST_AUTO_TEST_CASE(construct_with_io_uring_disabled_throws_naming_sysctl)
{
  BOOST_TEST(run_with_io_uring_setup_failing(EPERM, "io_uring_disabled") == 0);
}

BOOST_AUTO_TEST_CASE(construct_without_lockable_memory_throws_naming_memlock)
{
  BOOST_TEST(run_with_io_uring_setup_failing(ENOMEM, "RLIMIT_MEMLOCK") == 0);
}

BOOST_AUTO_TEST_CASE(from_finds_only_asio_uring_contexts)
{
  asio_uring::io_context ctx;
  asio::execution_context& base = ctx;
  BOOST_TEST(asio_uring::io_context::from(base) == &ctx);
  asio::io_context other;
  BOOST_TEST(asio_uring::io_context::from(other) == nullptr);
}

// ---------------------------------------------------------------------------
// The run loop, against Boost.Asio's io_context.

BOOST_AUTO_TEST_CASE_TEMPLATE(run_without_work_returns_zero_and_stops, Context,
    contexts)
{
  Context ctx;
  BOOST_TEST(!ctx.stopped());
  BOOST_TEST(ctx.run() == 0u);
  BOOST_TEST(ctx.stopped());
  // Stays stopped: handlers posted now wait for restart().
  int count = 0;
  asio::post(ctx, [&] { ++count; });
  BOOST_TEST(ctx.run() == 0u);
  BOOST_TEST(count == 0);
  ctx.restart();
  BOOST_TEST(ctx.run() == 1u);
  BOOST_TEST(count == 1);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(run_returns_handler_count_when_work_runs_out,
    Context, contexts)
{
  Context ctx;
  int steps = 0;
  int other = 0;
  // Each step posts the next: run() must not return between them.
  std::function<void()> step = [&] {
    if (++steps < 100)
      asio::post(ctx, step);
  };
  asio::post(ctx, step);
  asio::post(ctx, [&] { ++other; });
  BOOST_TEST(ctx.run() == 101u);
  BOOST_TEST(steps == 100);
  BOOST_TEST(other == 1);
  BOOST_TEST(ctx.stopped());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(run_one_runs_exactly_one_handler, Context,
    contexts)
{
  Context ctx;
  int count = 0;
  for (int i = 0; i < 3; ++i)
    asio::post(ctx, [&] { ++count; });
  BOOST_TEST(ctx.run_one() == 1u);
  BOOST_TEST(count == 1);
  BOOST_TEST(!ctx.stopped());
  BOOST_TEST(ctx.run_one() == 1u);
  BOOST_TEST(ctx.run_one() == 1u);
  BOOST_TEST(count == 3);
  BOOST_TEST(ctx.run_one() == 0u);
  BOOST_TEST(ctx.stopped());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(stop_makes_run_return_at_once_until_restart,
    Context, contexts)
{
  Context ctx;
  int count = 0;
  asio::post(ctx, [&] { ++count; });
  ctx.stop();
  BOOST_TEST(ctx.stopped());
  BOOST_TEST(ctx.run() == 0u);
  BOOST_TEST(ctx.run_one() == 0u);
  BOOST_TEST(ctx.poll() == 0u);
  BOOST_TEST(ctx.poll_one() == 0u);
  BOOST_TEST(ctx.run_for(10ms) == 0u);
  BOOST_TEST(count == 0);
  ctx.restart();
  BOOST_TEST(!ctx.stopped());
  BOOST_TEST(ctx.run() == 1u);
  BOOST_TEST(count == 1);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(stop_inside_handler_leaves_the_rest_queued,
    Context, contexts)
{
  Context ctx;
  int count = 0;
  asio::post(ctx, [&] {
    ++count;
    ctx.stop();
  });
  asio::post(ctx, [&] { ++count; });
  asio::post(ctx, [&] { ++count; });
  BOOST_TEST(ctx.run() == 1u);
  BOOST_TEST(count == 1);
  ctx.restart();
  BOOST_TEST(ctx.run() == 2u);
  BOOST_TEST(count == 3);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(work_guard_keeps_run_alive_until_reset, Context,
    contexts)
{
  Context ctx;
  auto guard = asio::make_work_guard(ctx);
  std::atomic<int> count{0};
  std::thread poster([&] {
    std::this_thread::sleep_for(20ms);  // let run() go to sleep first
    for (int i = 0; i < 10; ++i)
      asio::post(ctx, [&] { ++count; });
    asio::post(ctx, [&] { guard.reset(); });
  });
  watchdog<Context> dog(ctx, 60s);
  std::size_t n = ctx.run();
  poster.join();
  BOOST_TEST(!dog.finish());
  BOOST_TEST(n == 11u);
  BOOST_TEST(count == 10);
  BOOST_TEST(ctx.stopped());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(handler_exception_propagates_and_run_resumes,
    Context, contexts)
{
  Context ctx;
  int count = 0;
  asio::post(ctx, [&] { ++count; });
  asio::post(ctx, [&] {
    ++count;
    throw std::runtime_error("from handler");
  });
  asio::post(ctx, [&] { ++count; });
  BOOST_CHECK_THROW(ctx.run(), std::runtime_error);
  BOOST_TEST(count == 2);
  BOOST_TEST(!ctx.stopped());
  BOOST_TEST(ctx.run() == 1u);
  BOOST_TEST(count == 3);
  BOOST_TEST(ctx.stopped());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(handlers_posted_before_a_throw_still_run,
    Context, contexts)
{
  // With hint 1 the posts sit on the thread-private queue when the handler
  // throws: they, and the work they count, must survive the unwinding.
  for (int hint : {1, BOOST_ASIO_CONCURRENCY_HINT_DEFAULT})
  {
    Context ctx(hint);
    int later = 0;
    asio::post(ctx, [&] {
      asio::post(ctx, [&] { ++later; });
      asio::defer(ctx, [&] { ++later; });
      throw std::runtime_error("after posting");
    });
    BOOST_CHECK_THROW(ctx.run(), std::runtime_error);
    BOOST_TEST(later == 0);
    BOOST_TEST(ctx.run() == 2u);
    BOOST_TEST(later == 2);
    BOOST_TEST(ctx.stopped());
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(exception_in_inline_dispatch_surfaces_after_handler,
    Context, contexts)
{
  // An exception from a function the executor ran inline is captured, and
  // run() rethrows it once the calling handler has returned.
  Context ctx;
  bool after_dispatch = false;
  int later = 0;
  asio::post(ctx, [&] {
    asio::dispatch(ctx, [] { throw std::runtime_error("inline"); });
    after_dispatch = true;
  });
  asio::post(ctx, [&] { ++later; });
  try
  {
    ctx.run();
    BOOST_FAIL("run() swallowed the exception");
  }
  catch (const std::runtime_error& e)
  {
    BOOST_TEST(std::string(e.what()) == "inline");
  }
  BOOST_TEST(after_dispatch);
  BOOST_TEST(later == 0);
  BOOST_TEST(ctx.run() == 1u);
  BOOST_TEST(later == 1);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(two_inline_exceptions_surface_as_multiple_exceptions,
    Context, contexts)
{
  Context ctx;
  asio::post(ctx, [&] {
    asio::dispatch(ctx, [] { throw std::runtime_error("first"); });
    asio::dispatch(ctx, [] { throw std::logic_error("second"); });
  });
  try
  {
    ctx.run();
    BOOST_FAIL("run() swallowed the exceptions");
  }
  catch (const asio::multiple_exceptions& e)
  {
    try
    {
      std::rethrow_exception(e.first_exception());
    }
    catch (const std::runtime_error& first)
    {
      BOOST_TEST(std::string(first.what()) == "first");
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(dispatch_inside_runs_inline_and_post_never,
    Context, contexts)
{
  Context ctx;
  std::vector<int> order;
  asio::post(ctx, [&] {
    order.push_back(1);
    asio::post(ctx, [&] { order.push_back(4); });
    asio::dispatch(ctx, [&] { order.push_back(2); });
    asio::dispatch(ctx.get_executor(), [&] { order.push_back(3); });
  });
  // From outside the loop dispatch queues like post.
  asio::dispatch(ctx, [&] { order.push_back(5); });
  BOOST_TEST(order.empty());
  BOOST_TEST(ctx.run() == 3u);
  BOOST_TEST(order == (std::vector<int>{1, 2, 3, 5, 4}),
      boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(defer_inside_runs_after_the_handler_returns,
    Context, contexts)
{
  Context ctx;
  std::vector<int> order;
  asio::post(ctx, [&] {
    asio::defer(ctx, [&] { order.push_back(3); });
    order.push_back(1);
    asio::defer(ctx.get_executor(), [&] { order.push_back(4); });
    order.push_back(2);
  });
  BOOST_TEST(ctx.run() == 3u);
  BOOST_TEST(order == (std::vector<int>{1, 2, 3, 4}),
      boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(running_in_this_thread_only_inside_the_loop,
    Context, contexts)
{
  Context ctx;
  Context other;
  auto ex = ctx.get_executor();
  BOOST_TEST(!ex.running_in_this_thread());
  bool inside = false;
  bool inside_other = true;
  bool inside_nested = false;
  bool other_inside_nested = false;
  asio::post(ctx, [&] {
    inside = ex.running_in_this_thread();
    inside_other = other.get_executor().running_in_this_thread();
    asio::post(other, [&] {
      inside_nested = ex.running_in_this_thread();
      other_inside_nested = other.get_executor().running_in_this_thread();
    });
    other.run();
  });
  bool in_other_thread = true;
  std::thread t([&] { in_other_thread = ex.running_in_this_thread(); });
  ctx.run();
  t.join();
  BOOST_TEST(inside);
  BOOST_TEST(!inside_other);
  BOOST_TEST(inside_nested);  // nested run: both loops are on the stack
  BOOST_TEST(other_inside_nested);
  BOOST_TEST(!in_other_thread);
  BOOST_TEST(!ex.running_in_this_thread());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(poll_with_nothing_ready_returns_zero, Context,
    contexts)
{
  Context ctx;
  auto guard = asio::make_work_guard(ctx);
  BOOST_TEST(ctx.poll() == 0u);
  BOOST_TEST(ctx.poll_one() == 0u);
  BOOST_TEST(!ctx.stopped());
  int count = 0;
  for (int i = 0; i < 3; ++i)
    asio::post(ctx, [&] { ++count; });
  BOOST_TEST(ctx.poll_one() == 1u);
  BOOST_TEST(count == 1);
  BOOST_TEST(ctx.poll() == 2u);
  BOOST_TEST(count == 3);
  BOOST_TEST(ctx.poll() == 0u);
  guard.reset();
  BOOST_TEST(ctx.poll() == 0u);
  BOOST_TEST(ctx.stopped());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(poll_runs_handlers_posted_by_handlers, Context,
    contexts)
{
  Context ctx;
  int count = 0;
  asio::post(ctx, [&] {
    ++count;
    asio::post(ctx, [&] { ++count; });
  });
  BOOST_TEST(ctx.poll() == 2u);
  BOOST_TEST(count == 2);
  BOOST_TEST(ctx.stopped());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(nested_poll_runs_handlers_the_caller_posted,
    Context, contexts)
{
  // With concurrency hint 1 a handler's posts go to a thread-private queue;
  // a poll() nested in that handler must still see them.
  Context ctx(1);
  int inner = 0;
  std::size_t polled = 0;
  asio::post(ctx, [&] {
    asio::post(ctx, [&] { ++inner; });
    polled = ctx.poll();
  });
  ctx.run();
  BOOST_TEST(polled == 1u);
  BOOST_TEST(inner == 1);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(run_for_and_run_until_return_when_idle, Context,
    contexts)
{
  Context ctx;
  auto guard = asio::make_work_guard(ctx);
  BOOST_TEST(ctx.run_for(30ms) == 0u);
  BOOST_TEST(ctx.run_one_for(10ms) == 0u);
  BOOST_TEST(ctx.run_until(std::chrono::steady_clock::now() + 10ms) == 0u);
  BOOST_TEST(ctx.run_one_until(std::chrono::system_clock::now() + 10ms) == 0u);
  // A deadline in the past returns at once.
  BOOST_TEST(ctx.run_until(std::chrono::steady_clock::now() - 1s) == 0u);
  BOOST_TEST(!ctx.stopped());

  int count = 0;
  asio::post(ctx, [&] { ++count; });
  asio::post(ctx, [&] { ++count; });
  BOOST_TEST(ctx.run_one_for(10s) == 1u);
  BOOST_TEST(ctx.run_for(30ms) == 1u);
  BOOST_TEST(count == 2);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(run_for_returns_while_handlers_keep_coming,
    Context, contexts)
{
  // A handler that always reposts itself never lets work run out: only the
  // duration ends run_for and run_until.
  Context ctx;
  long count = 0;
  bool keep_going = true;
  struct again
  {
    Context* ctx;
    long* count;
    bool* keep_going;
    void operator()() const
    {
      ++*count;
      if (*keep_going)
        asio::post(*ctx, *this);
    }
  };
  asio::post(ctx, again{&ctx, &count, &keep_going});
  std::size_t n = ctx.run_for(20ms);
  BOOST_TEST(n > 0u);
  BOOST_TEST(static_cast<long>(n) == count);
  BOOST_TEST(!ctx.stopped());
  n += ctx.run_until(std::chrono::steady_clock::now() + 10ms);
  BOOST_TEST(static_cast<long>(n) == count);
  keep_going = false;
  n += ctx.run();
  BOOST_TEST(static_cast<long>(n) == count);
  BOOST_TEST(ctx.stopped());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(run_for_returns_when_work_runs_out, Context,
    contexts)
{
  Context ctx;
  int count = 0;
  asio::post(ctx, [&] { ++count; });
  // A long duration: only running out of work can end this in time for the
  // test's timeout.
  BOOST_TEST(ctx.run_for(std::chrono::hours(1)) == 1u);
  BOOST_TEST(count == 1);
  BOOST_TEST(ctx.stopped());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(stop_from_another_thread_wakes_run, Context,
    contexts)
{
  Context ctx;
  auto guard = asio::make_work_guard(ctx);
  std::atomic<bool> returned{false};
  std::thread runner([&] {
    ctx.run();
    returned = true;
  });
  std::this_thread::sleep_for(20ms);  // let run() go to sleep first
  ctx.stop();
  watchdog<Context> dog(ctx, 60s);
  runner.join();
  BOOST_TEST(!dog.finish());
  BOOST_TEST(returned);
  BOOST_TEST(ctx.stopped());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(stop_wakes_every_thread_in_run, Context,
    contexts)
{
  Context ctx;
  auto guard = asio::make_work_guard(ctx);
  std::atomic<int> returned{0};
  std::vector<std::thread> runners;
  for (int i = 0; i < 4; ++i)
    runners.emplace_back([&] {
      ctx.run();
      ++returned;
    });
  std::this_thread::sleep_for(20ms);
  ctx.stop();
  watchdog<Context> dog(ctx, 60s);
  for (auto& t : runners)
    t.join();
  BOOST_TEST(!dog.finish());
  BOOST_TEST(returned == 4);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(posts_from_four_threads_wake_a_sleeping_loop,
    Context, contexts)
{
  Context ctx;
  auto guard = asio::make_work_guard(ctx);
  constexpr int per_thread = 2000;
  std::atomic<int> count{0};
  std::vector<std::thread> posters;
  for (int t = 0; t < 4; ++t)
    posters.emplace_back([&] {
      std::this_thread::sleep_for(20ms);  // run() is asleep by now
      for (int i = 0; i < per_thread; ++i)
      {
        asio::post(ctx, [&] {
          if (++count == 4 * per_thread)
            guard.reset();
        });
        if (i % 256 == 0)
          std::this_thread::yield();
      }
    });
  watchdog<Context> dog(ctx, 60s);
  std::size_t n = ctx.run();
  for (auto& t : posters)
    t.join();
  BOOST_TEST(!dog.finish());
  BOOST_TEST(n == std::size_t(4 * per_thread));
  BOOST_TEST(count == 4 * per_thread);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(four_threads_run_100k_handlers_exactly_once,
    Context, contexts)
{
  Context ctx;
  constexpr int total = 100'000;
  std::vector<std::atomic<int>> runs(total);
  auto guard = asio::make_work_guard(ctx);
  std::atomic<std::size_t> ran{0};
  std::vector<std::thread> runners;
  for (int i = 0; i < 4; ++i)
    runners.emplace_back([&] { ran += ctx.run(); });
  watchdog<Context> dog(ctx, 120s);
  // Half posted from outside, half by handlers (the in-loop path).
  for (int i = 0; i < total; i += 2)
    asio::post(ctx, [&, i] {
      ++runs[i];
      asio::post(ctx, [&, i] { ++runs[i + 1]; });
    });
  guard.reset();
  for (auto& t : runners)
    t.join();
  BOOST_TEST(!dog.finish());
  BOOST_TEST(ran == std::size_t(total));
  int wrong = 0;
  for (auto& r : runs)
    wrong += r.load() != 1;
  BOOST_TEST(wrong == 0);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(strand_serialises_handlers_across_two_threads,
    Context, contexts)
{
  Context ctx;
  auto strand = asio::make_strand(ctx);
  constexpr int total = 20'000;
  std::atomic<bool> inside{false};
  int overlaps = 0;   // touched only inside the strand
  int next = 0;       // order check, also strand-only
  int out_of_order = 0;
  std::atomic<int> plain{0};
  for (int i = 0; i < total; ++i)
  {
    asio::post(strand, [&, i] {
      if (inside.exchange(true))
        ++overlaps;
      if (i != next++)
        ++out_of_order;
      inside = false;
    });
    asio::post(ctx, [&] { ++plain; });  // keeps the second thread busy
  }
  watchdog<Context> dog(ctx, 120s);
  std::thread second([&] { ctx.run(); });
  ctx.run();
  second.join();
  BOOST_TEST(!dog.finish());
  BOOST_TEST(overlaps == 0);
  BOOST_TEST(out_of_order == 0);
  BOOST_TEST(next == total);
  BOOST_TEST(plain == total);
}

namespace {

// A service that records, when the context destroys it, how many probed
// handlers are still alive: Boost.Asio destroys every handler first.
struct probe_service : asio::execution_context::service
{
  static inline asio::execution_context::id id;
  explicit probe_service(asio::execution_context& ctx)
    : asio::execution_context::service(ctx)
  {
  }
  ~probe_service() override
  {
    if (alive_at_destruction)
      *alive_at_destruction = probe ? probe->live() : -1;
  }
  void shutdown() override {}

  lifetime_probe* probe = nullptr;
  long* alive_at_destruction = nullptr;
};

// Posts again from its destructor (as a coroutine frame does to unwind).
template <typename Context>
struct reposting_handler
{
  Context* ctx;
  lifetime_probe probe;
  bool armed = true;

  reposting_handler(Context& c, const lifetime_probe& p) : ctx(&c), probe(p) {}
  reposting_handler(reposting_handler&& o) noexcept
    : ctx(o.ctx), probe(o.probe), armed(std::exchange(o.armed, false))
  {
  }
  ~reposting_handler()
  {
    if (armed)
      asio::post(*ctx, [p = probe] {});
  }
  void operator()() {}
};

} // namespace

BOOST_AUTO_TEST_CASE_TEMPLATE(destroy_destroys_pending_handlers_uninvoked,
    Context, contexts)
{
  lifetime_probe probe;
  int invoked = 0;
  {
    Context ctx;
    for (int i = 0; i < 10; ++i)
      asio::post(ctx, [&, p = probe] { ++invoked; });
    BOOST_TEST(probe.live() == 10);
  }
  BOOST_TEST(invoked == 0);
  BOOST_TEST(probe.live() == 0);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(destroy_also_destroys_handlers_posted_meanwhile,
    Context, contexts)
{
  lifetime_probe probe;
  long alive_when_services_die = -2;
  {
    Context ctx;
    auto& svc = asio::use_service<probe_service>(ctx);
    svc.probe = &probe;
    svc.alive_at_destruction = &alive_when_services_die;
    for (int i = 0; i < 3; ++i)
      asio::post(ctx, reposting_handler<Context>(ctx, probe));
  }
  BOOST_TEST(alive_when_services_die == 0);
  BOOST_TEST(probe.live() == 0);
}

// ---------------------------------------------------------------------------
// Ring operations and the loop (asio_uring only).

BOOST_AUTO_TEST_CASE(run_waits_for_a_ring_read_to_complete)
{
  auto data = asio_uring_test::random_bytes(4096);
  asio_uring_test::temp_file file(data);
  asio_uring::io_context ctx;
  asio_uring::random_access_file f(ctx, file.path(),
      asio_uring::file_base::read_only);
  std::vector<unsigned char> buf(4096);
  boost::system::error_code result = asio::error::would_block;
  std::size_t got = 0;
  f.async_read_some_at(0, asio::buffer(buf),
      [&](boost::system::error_code ec, std::size_t n) {
        result = ec;
        got = n;
      });
  BOOST_TEST(ctx.run() == 1u);
  BOOST_TEST(!result);
  BOOST_TEST(got == 4096u);
  BOOST_TEST(buf == data, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(run_one_returns_after_a_ring_completion)
{
  auto data = asio_uring_test::random_bytes(512);
  asio_uring_test::temp_file file(data);
  asio_uring::io_context ctx;
  asio_uring::random_access_file f(ctx, file.path(),
      asio_uring::file_base::read_only);
  std::vector<unsigned char> buf(512);
  int done = 0;
  for (int i = 0; i < 2; ++i)
    f.async_read_some_at(0, asio::buffer(buf),
        [&](boost::system::error_code, std::size_t) { ++done; });
  BOOST_TEST(ctx.run_one() == 1u);
  BOOST_TEST(done == 1);
  BOOST_TEST(!ctx.stopped());
  BOOST_TEST(ctx.run_one() == 1u);
  BOOST_TEST(done == 2);
  BOOST_TEST(ctx.run_one() == 0u);
  BOOST_TEST(ctx.stopped());
}

BOOST_AUTO_TEST_CASE(stop_leaves_a_read_in_flight_for_the_next_run)
{
  pipe_fds p;
  asio_uring::io_context ctx;
  asio_uring::stream_file in(ctx, p.release_read());
  std::vector<unsigned char> buf(16);
  boost::system::error_code result = asio::error::would_block;
  std::size_t got = 0;
  in.async_read_some(asio::buffer(buf),
      [&](boost::system::error_code ec, std::size_t n) {
        result = ec;
        got = n;
      });
  asio::post(ctx, [&] { ctx.stop(); });
  BOOST_TEST(ctx.run() == 1u);
  BOOST_TEST(ctx.stopped());
  BOOST_TEST(ctx.run() == 0u);  // stopped: the read stays pending
  BOOST_TEST(got == 0u);
  BOOST_TEST(::write(p.fd[1], "hello", 5) == 5);
  ctx.restart();
  BOOST_TEST(ctx.run_for(std::chrono::seconds(60)) == 1u);
  BOOST_TEST(!result);
  BOOST_TEST(got == 5u);
  BOOST_TEST(std::string(buf.begin(), buf.begin() + 5) == "hello");
}

BOOST_AUTO_TEST_CASE(posts_from_foreign_threads_wake_a_hint_1_loop)
{
  // Concurrency hint 1 promises one thread in the loop, not one poster.
  asio_uring::io_context ctx(1);
  auto guard = asio::make_work_guard(ctx);
  std::atomic<int> count{0};
  std::vector<std::thread> posters;
  for (int t = 0; t < 4; ++t)
    posters.emplace_back([&] {
      std::this_thread::sleep_for(20ms);
      for (int i = 0; i < 1000; ++i)
        asio::post(ctx, [&] {
          if (++count == 4000)
            guard.reset();
        });
    });
  watchdog<asio_uring::io_context> dog(ctx, 60s);
  std::size_t n = ctx.run();
  for (auto& t : posters)
    t.join();
  BOOST_TEST(!dog.finish());
  BOOST_TEST(n == 4000u);
}

// Each post from another thread lands while the loop is on its way into the
// kernel (the previous handler has just run): the moment a lost wakeup
// would happen. The poster spins on the handler's signal and then waits a
// varying few hundred nanoseconds, to sweep the loop's few instructions
// between its last look at the queue and the enter. The loop must run every
// handler; a lost wakeup shows as a poster that never sees its handler run
// (the watchdog then ends the case).
BOOST_AUTO_TEST_CASE(ping_pong_posts_from_another_thread_never_lose_a_wakeup)
{
  for (int hint : {BOOST_ASIO_CONCURRENCY_HINT_DEFAULT, 1})
  {
    BOOST_TEST_CONTEXT("concurrency hint " << hint)
    {
      asio_uring::io_context ctx(hint);
      auto guard = asio::make_work_guard(ctx);
      constexpr int rounds = 20000;
      std::atomic<int> ran{0};
      std::atomic<bool> stuck{false};
      std::thread poster([&] {
        for (int i = 0; i < rounds; ++i)
        {
          std::atomic<int> delay{0};
          while (delay.fetch_add(1, std::memory_order_relaxed) < (i * 7) % 256)
          {
          }
          asio::post(ctx, [&] { ran.fetch_add(1, std::memory_order_release); });
          for (long spins = 1; ran.load(std::memory_order_acquire) == i; ++spins)
            if (spins % 4096 == 0)
            {
              std::this_thread::yield();
              if (ctx.stopped())
              {
                stuck = true;  // the watchdog stopped the loop
                return;
              }
            }
        }
        asio::post(ctx, [&] { guard.reset(); });
      });
      watchdog<asio_uring::io_context> dog(ctx, 60s);
      ctx.run();
      poster.join();
      BOOST_TEST(!dog.finish());
      BOOST_TEST(!stuck);
      BOOST_TEST(ran == rounds);
    }
  }
}

// stop() from another thread at every point of the loop's way into the
// kernel: run() must return each time.
BOOST_AUTO_TEST_CASE(stop_from_another_thread_is_never_lost)
{
  for (int hint : {BOOST_ASIO_CONCURRENCY_HINT_DEFAULT, 1})
  {
    BOOST_TEST_CONTEXT("concurrency hint " << hint)
    {
      asio_uring::io_context ctx(hint);
      auto guard = asio::make_work_guard(ctx);
      int lost = 0;
      for (int i = 0; i < 2000; ++i)
      {
        ctx.restart();
        std::promise<void> returned;
        std::future<void> f = returned.get_future();
        std::thread runner([&] {
          ctx.run();
          returned.set_value();
        });
        // A spread of delays, so that stop() meets the loop before, inside
        // and after its way into the kernel.
        std::atomic<int> spin{0};
        while (spin.fetch_add(1, std::memory_order_relaxed) < (i % 50) * 20)
        {
        }
        ctx.stop();
        if (f.wait_for(60s) != std::future_status::ready)
        {
          ++lost;
          ctx.stop();  // the loop sleeps now: this one gets through
        }
        runner.join();
      }
      BOOST_TEST(lost == 0);
    }
  }
}

namespace {

struct ring_config
{
  const char* name;
  asio_uring::ring_options options;
};

// The ring configurations the loop must work under.
std::vector<ring_config> ring_configs()
{
  std::vector<ring_config> configs;
  configs.push_back({"default", {}});
  asio_uring::ring_options tiny;
  tiny.entries = 2;
  tiny.cq_entries = 4;
  configs.push_back({"tiny ring", tiny});
  asio_uring::ring_options sqpoll;
  sqpoll.sqpoll = true;
  sqpoll.sqpoll_idle_ms = 10;
  configs.push_back({"sqpoll", sqpoll});
  asio_uring::ring_options single;
  single.single_issuer = true;
  configs.push_back({"single issuer", single});
  return configs;
}

} // namespace

BOOST_AUTO_TEST_CASE(ring_reads_complete_under_each_ring_configuration)
{
  constexpr int reads = 256;
  auto data = asio_uring_test::random_bytes(reads * 64);
  asio_uring_test::temp_file file(data);
  for (const ring_config& config : ring_configs())
  {
    BOOST_TEST_CONTEXT(config.name)
    {
      asio_uring::io_context ctx(config.options);
      asio_uring::random_access_file f(ctx, file.path(),
          asio_uring::file_base::read_only);
      std::vector<unsigned char> buf(data.size());
      std::atomic<int> done{0};
      std::atomic<int> errors{0};
      auto start = [&](int k) {
        f.async_read_some_at(k * 64, asio::buffer(buf.data() + k * 64, 64),
            [&](boost::system::error_code ec, std::size_t n) {
              errors += ec || n != 64;
              ++done;
            });
      };
      // A third from outside the loop before it runs, a third from a
      // handler, a third from a foreign thread while the loop runs.
      auto guard = asio::make_work_guard(ctx);
      for (int k = 0; k < reads / 3; ++k)
        start(k);
      asio::post(ctx, [&] {
        for (int k = reads / 3; k < 2 * reads / 3; ++k)
          start(k);
      });
      std::thread foreign([&] {
        for (int k = 2 * reads / 3; k < reads; ++k)
          start(k);
        asio::post(ctx, [&] { guard.reset(); });
      });
      ctx.run_for(std::chrono::seconds(60));
      foreign.join();
      BOOST_TEST(ctx.stopped());
      BOOST_TEST(done == reads);
      BOOST_TEST(errors == 0);
      BOOST_TEST(buf == data, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(stop_restart_and_destroy_under_each_ring_configuration)
{
  for (const ring_config& config : ring_configs())
  {
    BOOST_TEST_CONTEXT(config.name)
    {
      pipe_fds p;
      lifetime_probe probe;
      bool second_invoked = false;
      {
        asio_uring::io_context ctx(config.options);
        asio_uring::stream_file in(ctx, p.release_read());
        std::vector<unsigned char> buf(16);
        std::size_t got = 0;
        in.async_read_some(asio::buffer(buf),
            [&](boost::system::error_code ec, std::size_t n) {
              got = ec ? 0 : n;
            });
        asio::post(ctx, [&] { ctx.stop(); });
        BOOST_TEST(ctx.run() == 1u);
        BOOST_TEST(::write(p.fd[1], "abc", 3) == 3);
        ctx.restart();
        BOOST_TEST(ctx.run_for(std::chrono::seconds(60)) == 1u);
        BOOST_TEST(got == 3u);
        // A second read, left in the kernel when the context goes away.
        in.async_read_some(asio::buffer(buf),
            [&, keep = probe](boost::system::error_code, std::size_t) {
              second_invoked = true;
            });
        ctx.restart();
        ctx.poll();
        BOOST_TEST(probe.live() == 1);
      }
      BOOST_TEST(!second_invoked);
      BOOST_TEST(probe.live() == 0);
    }
  }
}

BOOST_AUTO_TEST_CASE(queued_reads_go_to_the_kernel_in_few_enters)
{
  // One turn submits every SQE queued since the last one, in one
  // io_uring_enter: 64 reads started by one handler need a handful of
  // enters, not one each.
  auto data = asio_uring_test::random_bytes(64 * 512);
  asio_uring_test::temp_file file(data);
  asio_uring::io_context ctx(1);
  asio_uring::random_access_file f(ctx, file.path(),
      asio_uring::file_base::read_only);
  std::vector<unsigned char> buf(data.size());
  int done = 0;
  int errors = 0;
  asio::post(ctx, [&] {
    for (int i = 0; i < 64; ++i)
      f.async_read_some_at(i * 512, asio::buffer(buf.data() + i * 512, 512),
          [&](boost::system::error_code ec, std::size_t n) {
            errors += ec || n != 512;
            ++done;
          });
  });
  std::uint64_t before = ctx.enter_count();
  ctx.run();
  std::uint64_t enters = ctx.enter_count() - before;
  BOOST_TEST(done == 64);
  BOOST_TEST(errors == 0);
  BOOST_TEST(buf == data, boost::test_tools::per_element());
  BOOST_TEST(enters <= 8u, "enters: " << enters);
}

BOOST_AUTO_TEST_CASE(four_threads_complete_each_ring_read_exactly_once)
{
  constexpr int reads = 4000;
  auto data = asio_uring_test::random_bytes(reads * 16);
  asio_uring_test::temp_file file(data);
  asio_uring::io_context ctx;
  asio_uring::random_access_file f(ctx, file.path(),
      asio_uring::file_base::read_only);
  std::vector<unsigned char> buf(data.size());
  std::vector<std::atomic<int>> completions(reads);
  std::atomic<int> errors{0};
  auto guard = asio::make_work_guard(ctx);
  std::vector<std::thread> runners;
  for (int i = 0; i < 4; ++i)
    runners.emplace_back([&] { ctx.run(); });
  watchdog<asio_uring::io_context> dog(ctx, 120s);
  // Started from outside the loop and from handlers on every thread.
  for (int i = 0; i < reads; i += 2)
  {
    auto start = [&, i](int k) {
      f.async_read_some_at(k * 16, asio::buffer(buf.data() + k * 16, 16),
          [&, k](boost::system::error_code ec, std::size_t n) {
            if (ec || n != 16)
              ++errors;
            ++completions[k];
          });
      (void)i;
    };
    start(i);
    asio::post(ctx, [start, i] { start(i + 1); });
  }
  guard.reset();
  for (auto& t : runners)
    t.join();
  BOOST_TEST(!dog.finish());
  BOOST_TEST(errors == 0);
  int wrong = 0;
  for (auto& c : completions)
    wrong += c.load() != 1;
  BOOST_TEST(wrong == 0);
  BOOST_TEST(buf == data, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(destroy_with_a_read_in_flight_cancels_it_uninvoked)
{
  pipe_fds p;
  lifetime_probe probe;
  bool invoked = false;
  std::vector<unsigned char> buf(64);
  {
    asio_uring::io_context ctx;
    asio_uring::stream_file in(ctx, p.release_read());
    in.async_read_some(asio::buffer(buf),
        [&, keep = probe](boost::system::error_code, std::size_t) {
          invoked = true;
        });
    // The read is in the kernel, waiting for data that never comes.
    BOOST_TEST(ctx.run_for(20ms) == 0u);
    BOOST_TEST(probe.live() == 1);
    // The file outlives nothing: it is destroyed first, then the context.
  }
  BOOST_TEST(!invoked);
  BOOST_TEST(probe.live() == 0);
}

BOOST_AUTO_TEST_CASE(destroy_with_suspended_coroutine_on_strand_is_clean)
{
  // The coroutine's frame is destroyed with its pending read's handler; its
  // unwinding is posted through the strand while the context shuts down.
  // Under AddressSanitizer this catches handlers outliving the services.
  pipe_fds p;
  lifetime_probe probe;
  bool resumed = false;
  {
    asio_uring::io_context ctx;
    auto strand = asio::make_strand(ctx);
    int fd = p.release_read();
    asio::co_spawn(strand,
        [&, fd, keep = probe]() -> asio::awaitable<void> {
          asio_uring::stream_file in(co_await asio::this_coro::executor, fd);
          std::vector<unsigned char> buf(64);
          co_await in.async_read_some(asio::buffer(buf), asio::use_awaitable);
          resumed = true;
        },
        asio::detached);
    ctx.run_for(20ms);  // runs the coroutine up to its read
    BOOST_TEST(!resumed);
    BOOST_TEST(probe.live() >= 1);
  }
  BOOST_TEST(!resumed);
  BOOST_TEST(probe.live() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
