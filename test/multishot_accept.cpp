// Multishot accept (basic_socket_acceptor::async_accept_multishot): one
// handler per call, connections queued while no call is pending and handed
// over without an SQE, order, every byte, cancellation, close and
// destruction with calls pending or connections queued (no descriptor
// leak), EMFILE and re-arming, bad input, and no allocation per accept in
// steady state.
#include <asio_uring/basic_socket_acceptor.hpp>  // first: self-contained

#include <asio_uring.hpp>

#include "counting_new.hpp"
#include "tcp_test_util.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdlib>
#include <dirent.h>
#include <functional>
#include <fcntl.h>
#include <new>
#include <mutex>
#include <optional>
#include <thread>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

using asio_uring::ip::tcp;
using asio_uring_test::make_listener;
using error_code = boost::system::error_code;
using namespace std::chrono_literals;


namespace {

bool supported()
{
  asio_uring::io_context ctx;
  tcp::acceptor a = make_listener(ctx);
  std::optional<error_code> result;
  a.async_accept_multishot([&](error_code ec, tcp::socket) { result = ec; });
  a.cancel();
  ctx.run();
  return result && *result != asio_uring::error::operation_not_supported;
}

// Skips a test (reported) when the kernel has no multishot accept.
#define REQUIRE_MULTISHOT_ACCEPT()                                          \
  if (!supported())                                                         \
  {                                                                         \
    BOOST_TEST_MESSAGE("skipped: no multishot accept (kernel < 5.19)");     \
    return;                                                                 \
  }

int open_descriptors()
{
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd"))
  {
    while (::readdir(d))
      ++n;
    ::closedir(d);
  }
  return n;
}

// Runs ctx until pred holds. The loop needs work to reap completions, so
// each round waits on a short timer (no timing is asserted).
template <typename Pred>
void run_until(asio_uring::io_context& ctx, Pred pred)
{
  for (int i = 0; i < 5000 && !pred(); ++i)
  {
    asio_uring::steady_timer t(ctx, 1ms);
    t.async_wait([](error_code) {});
    ctx.restart();
    ctx.run();
  }
  BOOST_REQUIRE(pred());
}

// Reads exactly n bytes with the synchronous API.
std::string read_exactly(tcp::socket& s, std::size_t n)
{
  std::string out(n, '\0');
  asio_uring::read(s, asio_uring::buffer(out));
  return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(multishot_accept)

BOOST_AUTO_TEST_CASE(accepts_many_connections_in_order_every_byte_checked)
{
  REQUIRE_MULTISHOT_ACCEPT();
  asio_uring::io_context ctx;
  tcp::acceptor acceptor = make_listener(ctx);
  constexpr int n = 64;
  std::vector<tcp::socket> clients;
  for (int i = 0; i < n; ++i)
  {
    clients.emplace_back(ctx);
    clients.back().connect(acceptor.local_endpoint());
  }

  std::vector<tcp::socket> accepted;
  int handlers = 0;
  std::function<void()> next = [&] {
    acceptor.async_accept_multishot([&](error_code ec, tcp::socket s) {
      ++handlers;
      BOOST_REQUIRE(!ec);
      accepted.push_back(std::move(s));
      if (static_cast<int>(accepted.size()) < n)
        next();
    });
  };
  next();
  ctx.run();
  BOOST_TEST(handlers == n);
  BOOST_REQUIRE(accepted.size() == std::size_t(n));

  for (int i = 0; i < n; ++i)
  {
    // In backlog order: the i-th connection made is the i-th accepted.
    BOOST_TEST(accepted[std::size_t(i)].remote_endpoint()
        == clients[std::size_t(i)].local_endpoint());
    std::string msg = "message " + std::to_string(i) + " "
        + std::string(std::size_t(i) * 37 % 1000, char('a' + i % 26));
    asio_uring::write(clients[std::size_t(i)], asio_uring::buffer(msg));
    BOOST_TEST(read_exactly(accepted[std::size_t(i)], msg.size()) == msg);
  }
}

BOOST_AUTO_TEST_CASE(connections_queue_and_later_calls_need_no_sqe)
{
  REQUIRE_MULTISHOT_ACCEPT();
  asio_uring::io_context ctx;
  tcp::acceptor acceptor = make_listener(ctx);

  std::vector<tcp::socket> clients;
  clients.emplace_back(ctx);
  clients.back().connect(acceptor.local_endpoint());
  std::vector<tcp::socket> accepted;
  acceptor.async_accept_multishot([&](error_code ec, tcp::socket s) {
    BOOST_TEST(!ec);
    accepted.push_back(std::move(s));
  });
  // run() returns although the multishot accept stays armed.
  ctx.run();
  BOOST_REQUIRE(accepted.size() == 1u);
  BOOST_TEST(acceptor.multishot_queued() == 0u);

  for (int i = 0; i < 5; ++i)
  {
    clients.emplace_back(ctx);
    clients.back().connect(acceptor.local_endpoint());
  }
  run_until(ctx, [&] { return acceptor.multishot_queued() == 5u; });

  for (int i = 0; i < 5; ++i)
  {
    acceptor.async_accept_multishot([&](error_code ec, tcp::socket s) {
      BOOST_TEST(!ec);
      accepted.push_back(std::move(s));
    });
    // Claimed at once from the queue: no SQE, the handler is only posted.
    BOOST_TEST(acceptor.multishot_queued() == std::size_t(4 - i));
  }
  ctx.restart();
  ctx.run();
  BOOST_REQUIRE(accepted.size() == 6u);
  for (std::size_t i = 0; i < accepted.size(); ++i)
    BOOST_TEST(accepted[i].remote_endpoint() == clients[i].local_endpoint());
}

BOOST_AUTO_TEST_CASE(handler_never_runs_inside_initiation)
{
  REQUIRE_MULTISHOT_ACCEPT();
  asio_uring::io_context ctx;
  tcp::acceptor acceptor = make_listener(ctx);
  tcp::socket c1(ctx), c2(ctx);
  c1.connect(acceptor.local_endpoint());
  c2.connect(acceptor.local_endpoint());
  int ran = 0;
  acceptor.async_accept_multishot([&](error_code, tcp::socket) { ++ran; });
  ctx.run();
  BOOST_TEST(ran == 1);
  run_until(ctx, [&] { return acceptor.multishot_queued() == 1u; });
  bool inside = true;
  acceptor.async_accept_multishot([&](error_code ec, tcp::socket) {
    BOOST_TEST(!inside);
    BOOST_TEST(!ec);
    ++ran;
  });
  inside = false;
  ctx.restart();
  ctx.run();
  BOOST_TEST(ran == 2);
}

BOOST_AUTO_TEST_CASE(cancel_aborts_pending_call_and_acceptor_stays_usable)
{
  REQUIRE_MULTISHOT_ACCEPT();
  asio_uring::io_context ctx;
  tcp::acceptor acceptor = make_listener(ctx);
  std::vector<error_code> results;
  acceptor.async_accept_multishot(
      [&](error_code ec, tcp::socket s) {
        results.push_back(ec);
        BOOST_TEST(!s.is_open());
      });
  acceptor.async_accept_multishot(
      [&](error_code ec, tcp::socket) { results.push_back(ec); });
  acceptor.cancel();
  ctx.run();
  BOOST_REQUIRE(results.size() == 2u);
  BOOST_TEST(results[0] == asio_uring::error::operation_aborted);
  BOOST_TEST(results[1] == asio_uring::error::operation_aborted);

  // A new call re-arms.
  tcp::socket client(ctx);
  client.connect(acceptor.local_endpoint());
  std::optional<tcp::socket> accepted;
  acceptor.async_accept_multishot([&](error_code ec, tcp::socket s) {
    BOOST_TEST(!ec);
    accepted.emplace(std::move(s));
  });
  ctx.restart();
  ctx.run();
  BOOST_REQUIRE(accepted);
  BOOST_TEST(accepted->remote_endpoint() == client.local_endpoint());
}

BOOST_AUTO_TEST_CASE(cancel_and_close_release_queued_connections)
{
  REQUIRE_MULTISHOT_ACCEPT();
  for (int how = 0; how < 4; ++how)
  {
    const int before = open_descriptors();
    {
      asio_uring::io_context ctx;
      std::optional<tcp::acceptor> acceptor(make_listener(ctx));
      std::vector<tcp::socket> clients;
      clients.emplace_back(ctx);
      clients.back().connect(acceptor->local_endpoint());
      acceptor->async_accept_multishot([](error_code ec, tcp::socket) {
        BOOST_TEST(!ec);
      });
      ctx.run();
      for (int i = 0; i < 3; ++i)
      {
        clients.emplace_back(ctx);
        clients.back().connect(acceptor->local_endpoint());
      }
      run_until(ctx, [&] { return acceptor->multishot_queued() == 3u; });
      switch (how)
      {
      case 0: acceptor->cancel(); break;
      case 1: acceptor->close(); break;
      case 2: acceptor.reset(); break;
      case 3: (void)acceptor->release(); break;  // the listener leaks: closed below
      }
      if (how == 3)
      {
        // release() gave the listening descriptor back; not ours to count.
      }
      ctx.restart();
      ctx.run();
      // The queued connections were closed: their clients see EOF.
      for (std::size_t i = 1; i < clients.size(); ++i)
      {
        char c;
        error_code ec;
        clients[i].receive(asio_uring::buffer(&c, 1), 0, ec);
        BOOST_TEST(ec == asio_uring::error::eof);
      }
    }
    if (how != 3)
      BOOST_TEST(open_descriptors() == before);
  }
}

BOOST_AUTO_TEST_CASE(close_and_destruction_abort_pending_calls)
{
  REQUIRE_MULTISHOT_ACCEPT();
  for (int how = 0; how < 2; ++how)
  {
    asio_uring::io_context ctx;
    std::optional<tcp::acceptor> acceptor(make_listener(ctx));
    std::optional<error_code> result;
    acceptor->async_accept_multishot(
        [&](error_code ec, tcp::socket) { result = ec; });
    if (how == 0)
      acceptor->close();
    else
      acceptor.reset();
    ctx.run();
    BOOST_REQUIRE(result);
    BOOST_TEST(*result == asio_uring::error::operation_aborted);
  }
}

BOOST_AUTO_TEST_CASE(moving_the_acceptor_keeps_the_multishot_state)
{
  REQUIRE_MULTISHOT_ACCEPT();
  asio_uring::io_context ctx;
  tcp::acceptor first = make_listener(ctx);
  std::vector<tcp::socket> clients;
  clients.emplace_back(ctx);
  clients.back().connect(first.local_endpoint());
  int ok = 0;
  first.async_accept_multishot([&](error_code ec, tcp::socket) {
    BOOST_TEST(!ec);
    ++ok;
  });
  ctx.run();
  for (int i = 0; i < 2; ++i)
  {
    clients.emplace_back(ctx);
    clients.back().connect(first.local_endpoint());
  }
  run_until(ctx, [&] { return first.multishot_queued() == 2u; });

  tcp::acceptor second(std::move(first));
  BOOST_TEST(!first.is_open());
  BOOST_TEST(first.multishot_queued() == 0u);
  BOOST_TEST(second.multishot_queued() == 2u);
  std::vector<tcp::socket> accepted;
  for (int i = 0; i < 3; ++i)
    second.async_accept_multishot([&](error_code ec, tcp::socket s) {
      BOOST_TEST(!ec);
      accepted.push_back(std::move(s));
    });
  clients.emplace_back(ctx);
  clients.back().connect(second.local_endpoint());
  ctx.restart();
  ctx.run();
  BOOST_REQUIRE(accepted.size() == 3u);
  for (std::size_t i = 0; i < 3; ++i)
    BOOST_TEST(accepted[i].remote_endpoint()
        == clients[i + 1].local_endpoint());

  // Move-assigning over an acceptor with a pending call aborts that call.
  std::optional<error_code> aborted;
  second.async_accept_multishot(
      [&](error_code ec, tcp::socket) { aborted = ec; });
  second = make_listener(ctx);
  ctx.restart();
  ctx.run();
  BOOST_REQUIRE(aborted);
  BOOST_TEST(*aborted == asio_uring::error::operation_aborted);
}

BOOST_AUTO_TEST_CASE(cancellation_slot_aborts_one_call_only)
{
  REQUIRE_MULTISHOT_ACCEPT();
  using boost::asio::cancellation_type;
  for (cancellation_type type : {cancellation_type::terminal,
           cancellation_type::partial, cancellation_type::total})
  {
    asio_uring::io_context ctx;
    tcp::acceptor acceptor = make_listener(ctx);
    asio_uring::cancellation_signal signal;
    std::optional<error_code> first;
    acceptor.async_accept_multishot(boost::asio::bind_cancellation_slot(
        signal.slot(), [&](error_code ec, tcp::socket) { first = ec; }));
    signal.emit(type);
    ctx.run();
    BOOST_REQUIRE(first);
    BOOST_TEST(*first == asio_uring::error::operation_aborted);

    // The multishot accept stayed armed: the next call gets a connection.
    tcp::socket client(ctx);
    client.connect(acceptor.local_endpoint());
    std::optional<tcp::socket> accepted;
    acceptor.async_accept_multishot([&](error_code ec, tcp::socket s) {
      BOOST_TEST(!ec);
      accepted.emplace(std::move(s));
    });
    ctx.restart();
    ctx.run();
    BOOST_REQUIRE(accepted);
    BOOST_TEST(accepted->remote_endpoint() == client.local_endpoint());
    signal.emit(type);  // after completion: reaches nothing
  }
}

BOOST_AUTO_TEST_CASE(closed_or_not_listening_acceptor_reports_errors)
{
  REQUIRE_MULTISHOT_ACCEPT();
  asio_uring::io_context ctx;
  tcp::acceptor closed(ctx);
  std::optional<error_code> r1, r2;
  closed.async_accept_multishot([&](error_code ec, tcp::socket s) {
    r1 = ec;
    BOOST_TEST(!s.is_open());
  });
  tcp::acceptor not_listening(ctx);
  not_listening.open(tcp::v4());
  not_listening.async_accept_multishot(
      [&](error_code ec, tcp::socket) { r2 = ec; });
  ctx.run();
  BOOST_REQUIRE(r1);
  BOOST_TEST(*r1 == asio_uring::error::bad_descriptor);
  BOOST_REQUIRE(r2);
  BOOST_TEST(*r2 == asio_uring::error::invalid_argument);
}

BOOST_AUTO_TEST_CASE(emfile_ends_the_multishot_and_the_next_call_rearms)
{
  REQUIRE_MULTISHOT_ACCEPT();
  asio_uring::io_context ctx;
  tcp::acceptor acceptor = make_listener(ctx);
  tcp::socket client(ctx);
  tcp::socket warm(ctx);
  warm.connect(acceptor.local_endpoint());
  acceptor.async_accept_multishot([](error_code ec, tcp::socket) {
    BOOST_TEST(!ec);
  });
  ctx.run();

  // The kernel takes RLIMIT_NOFILE when it prepares an accept: cancel the
  // armed one, so that the next is prepared under the lowered limit.
  acceptor.cancel();
  ctx.restart();
  ctx.run();
  // No descriptor can be allocated from here on (soft limit 0); the
  // client's own descriptor exists already.
  client.open(tcp::v4());
  rlimit saved{};
  ::getrlimit(RLIMIT_NOFILE, &saved);
  rlimit none = saved;
  none.rlim_cur = 0;
  BOOST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &none) == 0);
  client.connect(acceptor.local_endpoint());

  std::optional<error_code> failed;
  acceptor.async_accept_multishot(
      [&](error_code ec, tcp::socket) { failed = ec; });
  ctx.restart();
  ctx.run();
  BOOST_REQUIRE(failed);
  BOOST_TEST(*failed == asio_uring::error::no_descriptors);

  ::setrlimit(RLIMIT_NOFILE, &saved);

  // The connection waited in the backlog; the next call re-arms.
  std::optional<tcp::socket> accepted;
  acceptor.async_accept_multishot([&](error_code ec, tcp::socket s) {
    BOOST_TEST(!ec);
    accepted.emplace(std::move(s));
  });
  ctx.restart();
  ctx.run();
  BOOST_REQUIRE(accepted);
  BOOST_TEST(accepted->remote_endpoint() == client.local_endpoint());
}

BOOST_AUTO_TEST_CASE(context_destroyed_with_connections_queued_leaks_nothing)
{
  REQUIRE_MULTISHOT_ACCEPT();
  const int before = open_descriptors();
  {
    std::vector<tcp::socket> clients;
    asio_uring::io_context ctx;
    {
      tcp::acceptor acceptor = make_listener(ctx);
      clients.emplace_back(ctx);
      clients.back().connect(acceptor.local_endpoint());
      acceptor.async_accept_multishot([](error_code, tcp::socket) {});
      ctx.run();
      for (int i = 0; i < 3; ++i)
      {
        clients.emplace_back(ctx);
        clients.back().connect(acceptor.local_endpoint());
      }
      run_until(ctx, [&] { return acceptor.multishot_queued() == 3u; });
      // A pending call too; the acceptor goes first, the context after
      // without running again: the aborted handler is destroyed unrun.
      clients.emplace_back(ctx);
      acceptor.async_accept_multishot([](error_code, tcp::socket) {
        BOOST_FAIL("handler must not run");
      });
      acceptor.async_accept_multishot([](error_code, tcp::socket) {
        BOOST_FAIL("handler must not run");
      });
      acceptor.async_accept_multishot([](error_code, tcp::socket) {
        BOOST_FAIL("handler must not run");
      });
      acceptor.async_accept_multishot([](error_code, tcp::socket) {
        BOOST_FAIL("handler must not run");
      });
    }
    clients.clear();
  }
  BOOST_TEST(open_descriptors() == before);
}

BOOST_AUTO_TEST_CASE(several_threads_run_the_context_while_clients_connect)
{
  REQUIRE_MULTISHOT_ACCEPT();
  asio_uring::io_context ctx;
  tcp::acceptor acceptor = make_listener(ctx);
  constexpr int n = 40;
  std::mutex m;
  std::vector<tcp::socket> accepted;
  // Handlers run on both threads: Boost.Test's macros are not thread-safe,
  // so failures are counted here and checked after the join.
  std::atomic<int> errors{0};
  std::function<void()> next = [&] {
    acceptor.async_accept_multishot([&](error_code ec, tcp::socket s) {
      if (ec)
        ++errors;
      std::size_t count;
      {
        std::lock_guard<std::mutex> lock(m);
        accepted.push_back(std::move(s));
        count = accepted.size();
      }
      if (count < std::size_t(n))
        next();
    });
  };
  next();
  std::vector<tcp::socket> clients;
  for (int i = 0; i < n; ++i)
    clients.emplace_back(ctx);
  const tcp::endpoint ep = acceptor.local_endpoint();
  std::thread connector([&] {
    for (auto& c : clients)
      c.connect(ep);
  });
  std::thread runner([&] { ctx.run(); });
  ctx.run();
  runner.join();
  connector.join();
  BOOST_TEST(errors.load() == 0);
  BOOST_REQUIRE(accepted.size() == std::size_t(n));
  for (int i = 0; i < n; ++i)
  {
    const char byte = static_cast<char>('A' + i % 26);
    clients[std::size_t(i)].send(asio_uring::buffer(&byte, 1));
  }
  // Each accepted socket is one of the clients, in connection order.
  for (int i = 0; i < n; ++i)
  {
    BOOST_TEST(accepted[std::size_t(i)].remote_endpoint()
        == clients[std::size_t(i)].local_endpoint());
    char c = 0;
    accepted[std::size_t(i)].receive(asio_uring::buffer(&c, 1));
    BOOST_TEST(c == static_cast<char>('A' + i % 26));
  }
  next = nullptr;
}

BOOST_AUTO_TEST_CASE(no_allocation_per_accept_after_warm_up)
{
  REQUIRE_MULTISHOT_ACCEPT();
  asio_uring::io_context ctx;
  tcp::acceptor acceptor = make_listener(ctx);
  constexpr int warm = 64, measured = 64;  // same depth: the op cache fills
  std::vector<tcp::socket> clients;
  clients.reserve(warm + measured);
  for (int i = 0; i < warm + measured; ++i)
    clients.emplace_back(ctx);
  std::vector<tcp::socket> accepted;
  accepted.reserve(warm + measured);

  auto accept_n = [&](int count) {
    int done = 0;
    struct handler
    {
      std::vector<tcp::socket>* out;
      int* done;
      void operator()(error_code ec, tcp::socket s)
      {
        BOOST_TEST(!ec);
        out->push_back(std::move(s));
        ++*done;
      }
    };
    for (int i = 0; i < count; ++i)
      acceptor.async_accept_multishot(handler{&accepted, &done});
    ctx.restart();
    ctx.run();
    BOOST_TEST(done == count);
  };

  for (int i = 0; i < warm; ++i)
    clients[std::size_t(i)].connect(acceptor.local_endpoint());
  accept_n(warm);
  for (int i = warm; i < warm + measured; ++i)
    clients[std::size_t(i)].connect(acceptor.local_endpoint());
  const long before = asio_uring_test::allocations.load();
  accept_n(measured);
  BOOST_TEST(asio_uring_test::allocations.load() - before == 0);
  BOOST_TEST(accepted.size() == std::size_t(warm + measured));
}

BOOST_AUTO_TEST_SUITE_END()
