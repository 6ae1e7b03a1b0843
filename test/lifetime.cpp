// Lifetimes: destroying I/O objects and the context with operations in
// flight (in the kernel, queued for a full SQ, ready but not run, on
// timers), objects owned by their own handlers, coroutine frames suspended
// at destruction. Each handler object is destroyed exactly once and runs
// at most once, every allocation through its allocator is returned, and no
// buffer is touched after its handler ran (buffers are freed inside the
// handlers: ASan reports any later access; pipe bytes written afterwards
// stay in the pipe).
#include <asio_uring/io_context.hpp>
#include <asio_uring/random_access_file.hpp>
#include <asio_uring/steady_timer.hpp>
#include <asio_uring/stream_file.hpp>

#include "fault_hooks.hpp"
#include "test_util.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <array>
#include <chrono>
#include <csignal>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace net = boost::asio;
using namespace std::chrono_literals;
using asio_uring_test::alloc_counters;
using asio_uring_test::counted;
using asio_uring_test::handler_counters;
using asio_uring_test::pipe_pair;
using asio_uring_test::temp_file;

namespace {

struct ignore_sigpipe
{
  ignore_sigpipe() { std::signal(SIGPIPE, SIG_IGN); }
};

void check_balanced(const handler_counters& hc, const alloc_counters& ac)
{
  BOOST_TEST(hc.live() == 0);
  BOOST_TEST(hc.bad_destroys == 0);
  BOOST_TEST(ac.allocations == ac.deallocations);
  BOOST_TEST(ac.bytes == 0);
}

// A heap buffer the handler frees: any later access by the library is a
// heap-use-after-free under ASan.
struct owned_buffer
{
  explicit owned_buffer(std::size_t n) : p(new char[n]), size(n)
  {
    std::memset(p, 0, n);
  }
  char* p;
  std::size_t size;
};

} // namespace

BOOST_TEST_GLOBAL_FIXTURE(ignore_sigpipe);

BOOST_AUTO_TEST_SUITE(lifetime)

BOOST_AUTO_TEST_CASE(destroying_files_with_operations_in_flight_aborts_each_once)
{
  handler_counters hc;
  alloc_counters ac;
  std::vector<std::unique_ptr<pipe_pair>> pipes;
  std::array<boost::system::error_code, 4> ec{};
  std::array<std::size_t, 4> n{};
  {
    asio_uring::io_context ctx;
    std::vector<char*> bufs;
    {
      std::vector<std::unique_ptr<asio_uring::stream_file>> sfs;
      std::vector<std::unique_ptr<asio_uring::random_access_file>> rfs;
      for (int i = 0; i < 4; ++i)
      {
        pipes.push_back(std::make_unique<pipe_pair>());
        bufs.push_back(new char[32]);
        auto h = counted([&, i, b = bufs.back()](boost::system::error_code e,
                             std::size_t k) {
          ec[i] = e;
          n[i] = k;
          delete[] b;  // no one may touch it from now on
        }, hc, ac);
        if (i % 2)
        {
          sfs.push_back(std::make_unique<asio_uring::stream_file>(ctx,
              pipes.back()->release_read()));
          sfs.back()->async_read_some(net::buffer(bufs.back(), 32), h);
        }
        else
        {
          rfs.push_back(std::make_unique<asio_uring::random_access_file>(ctx,
              pipes.back()->release_read()));
          rfs.back()->async_read_some_at(0, net::buffer(bufs.back(), 32), h);
        }
      }
      ctx.poll();  // all four wait in the kernel
      BOOST_TEST(hc.invoked == 0);
    }  // the files die here
    ctx.run_for(10s);
    BOOST_TEST(hc.invoked == 4);
    // Bytes sent now find no reader (EPIPE): the reads are gone.
    for (auto& p : pipes)
      BOOST_TEST(::write(p->write_end(), "x", 1) == -1);
  }
  for (int i = 0; i < 4; ++i)
  {
    BOOST_TEST((ec[i] == net::error::operation_aborted), ec[i].message());
    BOOST_TEST(n[i] == 0u);
  }
  check_balanced(hc, ac);
}

BOOST_AUTO_TEST_CASE(destroying_context_with_operations_everywhere_runs_no_handler)
{
  // Operations in every state at destruction: waiting in the kernel (pipe
  // reads, a write to a full pipe), just submitted (file reads), queued in
  // user space behind a full SQ (tiny ring), on a timer, posted and ready.
  // Their handlers are destroyed, never invoked.
  handler_counters hc;
  alloc_counters ac;
  const auto data = asio_uring_test::random_bytes(1 << 16, 51);
  temp_file file(data);
  pipe_pair in, out;
  std::vector<std::vector<char>> bufs(300, std::vector<char>(256, 'S'));
  {
    asio_uring::ring_options tiny;
    tiny.entries = 2;
    tiny.cq_entries = 4;
    asio_uring::io_context ctx(tiny);
    asio_uring::stream_file reader(ctx, in.release_read());
    asio_uring::random_access_file f(ctx, file.path(),
        asio_uring::random_access_file::read_only);
    asio_uring::steady_timer t(ctx, 1h);
    auto h = counted([](boost::system::error_code, std::size_t) {
      BOOST_TEST(false, "handler ran at destruction");
    }, hc, ac);
    reader.async_read_some(net::buffer(bufs[0]), h);
    ctx.poll();
    for (std::size_t i = 1; i < bufs.size(); ++i)
      f.async_read_some_at(i * 128, net::buffer(bufs[i]), h);
    t.async_wait(counted([](boost::system::error_code) {
      BOOST_TEST(false, "timer handler ran at destruction");
    }, hc, ac));
    net::post(ctx, counted([] { BOOST_TEST(false, "posted handler ran"); },
        hc, ac));
    BOOST_TEST(hc.live() > 0);
    // Objects die before their context (as Boost.Asio requires); here the
    // timer and files go first and queue their aborted handlers, which the
    // context then destroys without running.
  }
  BOOST_TEST(hc.invoked == 0);
  check_balanced(hc, ac);
  // Nothing wrote into the buffers after the context was gone.
  BOOST_TEST(::write(in.write_end(), "late", 4) == -1);  // reader closed
  BOOST_TEST(bufs[0][0] == 'S');
}

BOOST_AUTO_TEST_CASE(session_owned_by_its_handlers_dies_with_the_context)
{
  // The classic pattern: a session (file + buffer) kept alive only by the
  // shared_ptr in its own pending handlers. Destroying the context destroys
  // the handlers, so the session and its file die during the shutdown.
  struct session
  {
    explicit session(asio_uring::io_context& ctx, int fd, int& deaths)
      : file(ctx, fd), deaths(deaths)
    {
    }
    ~session() { ++deaths; }
    asio_uring::stream_file file;
    std::array<char, 64> buf{};
    int& deaths;
  };
  int deaths = 0;
  pipe_pair p[3];
  {
    asio_uring::io_context ctx;
    for (auto& pp : p)
    {
      auto s = std::make_shared<session>(ctx, pp.release_read(), deaths);
      s->file.async_read_some(net::buffer(s->buf),
          [s](boost::system::error_code, std::size_t) {
            BOOST_TEST(false, "handler ran at destruction");
          });
    }
    ctx.poll();
    BOOST_TEST(deaths == 0);
  }
  BOOST_TEST(deaths == 3);
}

BOOST_AUTO_TEST_CASE(object_destroyed_inside_its_own_handler)
{
  const auto data = asio_uring_test::random_bytes(4096, 52);
  temp_file file(data);
  handler_counters hc;
  alloc_counters ac;
  int calls = 0;
  {
    asio_uring::io_context ctx;
    auto f = std::make_unique<asio_uring::stream_file>(ctx, file.path(),
        asio_uring::stream_file::read_only);
    auto* buf = new owned_buffer(4096);
    f->async_read_some(net::buffer(buf->p, buf->size),
        counted([&, buf](boost::system::error_code ec, std::size_t n) {
          ++calls;
          BOOST_TEST(!ec);
          BOOST_TEST(n == 4096u);
          BOOST_TEST(std::memcmp(buf->p, data.data(), n) == 0);
          f.reset();  // the object goes while its completion is running
          delete[] buf->p;
          delete buf;
        }, hc, ac));
    ctx.run_for(10s);
  }
  BOOST_TEST(calls == 1);
  check_balanced(hc, ac);
}

BOOST_AUTO_TEST_CASE(handler_destroyed_exactly_once_on_every_path)
{
  const auto data = asio_uring_test::random_bytes(4096, 53);
  temp_file file(data);
  handler_counters hc;
  alloc_counters ac;
  std::vector<boost::system::error_code> results;
  pipe_pair p;
  {
    asio_uring::io_context ctx;
    asio_uring::random_access_file f(ctx, file.path(),
        asio_uring::random_access_file::read_only);
    asio_uring::random_access_file closed(ctx);
    asio_uring::stream_file blocked(ctx, p.release_read());
    char a[16], b[16], c[16];
    auto rec = [&](boost::system::error_code ec, std::size_t) {
      results.push_back(ec);
    };
    f.async_read_some_at(0, net::buffer(a), counted(rec, hc, ac));  // success
    f.async_read_some_at(0, net::buffer(a, 0), counted(rec, hc, ac));  // empty
    closed.async_read_some_at(0, net::buffer(b), counted(rec, hc, ac));  // EBADF
    f.async_read_some_at(1 << 20, net::buffer(c), counted(rec, hc, ac));  // eof
    blocked.async_read_some(net::buffer(c), counted(rec, hc, ac));  // aborted
    ctx.poll();
    blocked.cancel();
    ctx.run_for(10s);
    // Destroyed at shutdown without running.
    blocked.async_read_some(net::buffer(c), counted(rec, hc, ac));
    ctx.restart();
    ctx.poll();
  }
  BOOST_TEST(hc.invoked == 5);
  BOOST_TEST(results.size() == 5u);
  check_balanced(hc, ac);
  BOOST_TEST(ac.allocations >= 6);
}

BOOST_AUTO_TEST_CASE(moved_file_keeps_its_operation)
{
  const auto data = asio_uring_test::random_bytes(4096, 54);
  temp_file file(data);
  asio_uring::io_context ctx;
  asio_uring::stream_file a(ctx, file.path(), asio_uring::stream_file::read_only);
  std::array<unsigned char, 4096> buf{};
  boost::system::error_code result = net::error::would_block;
  std::size_t n = 0;
  a.async_read_some(net::buffer(buf), [&](boost::system::error_code ec,
                                          std::size_t k) {
    result = ec;
    n = k;
  });
  asio_uring::stream_file b(std::move(a));
  BOOST_TEST(!a.is_open());
  BOOST_TEST(b.is_open());
  ctx.run_for(10s);
  BOOST_TEST(!result);
  BOOST_TEST(n == 4096u);
  BOOST_TEST(std::equal(buf.begin(), buf.end(), data.begin()));
  // The position moved with the object.
  std::array<unsigned char, 16> more{};
  ctx.restart();
  b.async_read_some(net::buffer(more), [&](boost::system::error_code ec,
                                           std::size_t) { result = ec; });
  ctx.run_for(10s);
  BOOST_TEST((result == net::error::eof));
}

BOOST_AUTO_TEST_CASE(suspended_coroutines_are_destroyed_with_the_context)
{
  struct guard
  {
    int& alive;
    explicit guard(int& a) : alive(a) { ++alive; }
    ~guard() { --alive; }
  };
  int alive = 0;
  pipe_pair p[4];
  {
    asio_uring::io_context ctx;
    std::vector<std::unique_ptr<asio_uring::stream_file>> files;
    for (auto& pp : p)
    {
      files.push_back(std::make_unique<asio_uring::stream_file>(ctx,
          pp.release_read()));
      net::co_spawn(ctx,
          [&alive, &f = *files.back()]() -> net::awaitable<void> {
            guard g(alive);
            std::array<char, 32> buf;
            co_await f.async_read_some(net::buffer(buf), net::use_awaitable);
            BOOST_TEST(false, "resumed at destruction");
          },
          net::detached);
    }
    ctx.poll();
    BOOST_TEST(alive == 4);
    // Files go first (cancelling: the frames are resumed with an exception
    // only if the context runs again, which it does not).
    files.clear();
  }
  BOOST_TEST(alive == 0);
}

BOOST_AUTO_TEST_CASE(operations_started_during_shutdown_are_destroyed)
{
  // A handler whose destructor, run by the context's destructor, starts new
  // work: a post and a read. Neither may run, leak or hang.
  const auto data = asio_uring_test::random_bytes(4096, 55);
  temp_file file(data);
  handler_counters hc;
  alloc_counters ac;
  struct restarter
  {
    asio_uring::io_context* ctx;
    std::shared_ptr<asio_uring::random_access_file> f;  // dies with us
    char* buf;
    handler_counters* hc;
    alloc_counters* ac;
    ~restarter()
    {
      if (!f)
        return;  // moved from
      net::post(*ctx, counted([] { BOOST_TEST(false, "ran"); }, *hc, *ac));
      f->async_read_some_at(0, net::buffer(buf, 16),
          counted([](boost::system::error_code, std::size_t) {
            BOOST_TEST(false, "ran");
          }, *hc, *ac));
    }
    void operator()() { BOOST_TEST(false, "ran"); }
  };
  char buf[16];
  {
    asio_uring::io_context ctx;
    auto f = std::make_shared<asio_uring::random_access_file>(ctx,
        file.path(), asio_uring::random_access_file::read_only);
    net::post(ctx, restarter{&ctx, std::move(f), buf, &hc, &ac});
  }
  BOOST_TEST(hc.invoked == 0);
  check_balanced(hc, ac);
}

BOOST_AUTO_TEST_SUITE_END()
