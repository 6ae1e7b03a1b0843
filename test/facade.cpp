// The facade suite: asio_uring is a superset of boost::asio (BRIEF.md,
// section 1). Checks that
// - every name the brief lists is reachable as asio_uring::name through the
//   umbrella header, and is Boost.Asio's own entity unless replaced;
// - the replaced names are asio_uring's ring-backed types, not Boost's;
// - `using namespace asio_uring;` makes no call ambiguous, argument-dependent
//   lookup into boost::asio included;
// - a program written against `namespace net = asio_uring;` works end to end
//   (files, TCP on loopback, timers, coroutines, Boost.Asio's signal_set and
//   experimental channel on our context).
#include <asio_uring.hpp>  // first: the umbrella header is self-contained

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/experimental/promise.hpp>
#include <boost/asio/experimental/use_promise.hpp>
#include <boost/test/unit_test.hpp>

#include "test_util.hpp"

#include <chrono>
#include <concepts>
#include <csignal>
#include <cstddef>
#include <string>
#include <type_traits>
#include <vector>

namespace asio = boost::asio;

// ---------------------------------------------------------------------------
// Reachability: shared names are Boost.Asio's own entities.

namespace shared_names {

// Types and class templates.
static_assert(std::is_same_v<asio_uring::streambuf, asio::streambuf>);
static_assert(std::is_same_v<asio_uring::mutable_buffer, asio::mutable_buffer>);
static_assert(std::is_same_v<asio_uring::const_buffer, asio::const_buffer>);
static_assert(std::is_same_v<asio_uring::any_io_executor, asio::any_io_executor>);
static_assert(std::is_same_v<asio_uring::awaitable<int>, asio::awaitable<int>>);
static_assert(std::is_same_v<asio_uring::detached_t, asio::detached_t>);
static_assert(std::is_same_v<asio_uring::use_awaitable_t<>,
    asio::use_awaitable_t<>>);
static_assert(std::is_same_v<asio_uring::use_future_t<>, asio::use_future_t<>>);
static_assert(std::is_same_v<asio_uring::deferred_t, asio::deferred_t>);
static_assert(std::is_same_v<asio_uring::as_tuple_t<asio_uring::detached_t>,
    asio::as_tuple_t<asio::detached_t>>);
static_assert(std::is_same_v<
    asio_uring::redirect_error_t<asio_uring::detached_t>,
    asio::redirect_error_t<asio::detached_t>>);
static_assert(std::is_same_v<asio_uring::strand<asio_uring::any_io_executor>,
    asio::strand<asio::any_io_executor>>);
static_assert(std::is_same_v<
    asio_uring::executor_work_guard<asio_uring::any_io_executor>,
    asio::executor_work_guard<asio::any_io_executor>>);
static_assert(std::is_same_v<asio_uring::cancellation_signal,
    asio::cancellation_signal>);
static_assert(std::is_same_v<asio_uring::cancellation_type,
    asio::cancellation_type>);
static_assert(std::is_same_v<asio_uring::signal_set, asio::signal_set>);
static_assert(std::is_same_v<asio_uring::ip::address, asio::ip::address>);
static_assert(std::is_same_v<asio_uring::ip::tcp::endpoint,
    asio::ip::tcp::endpoint>);
static_assert(std::is_same_v<asio_uring::ip::tcp::resolver,
    asio::ip::tcp::resolver>);
static_assert(std::is_same_v<asio_uring::ip::udp::endpoint,
    asio::ip::udp::endpoint>);
static_assert(std::is_same_v<asio_uring::ip::udp::resolver,
    asio::ip::udp::resolver>);
static_assert(std::is_same_v<asio_uring::error::basic_errors,
    asio::error::basic_errors>);
static_assert(std::is_same_v<asio_uring::error::misc_errors,
    asio::error::misc_errors>);
static_assert(std::is_same_v<asio_uring::this_coro::executor_t,
    asio::this_coro::executor_t>);
static_assert(std::is_same_v<
    asio_uring::experimental::channel<void(boost::system::error_code)>,
    asio::experimental::channel<void(boost::system::error_code)>>);
static_assert(std::is_same_v<asio_uring::experimental::use_promise_t<>,
    asio::experimental::use_promise_t<>>);
static_assert(std::is_same_v<asio_uring::execution::blocking_t,
    asio::execution::blocking_t>);
// Names a first audit of the facade had missed (each compiled as
// boost::asio::name and not as asio_uring::name).
static_assert(std::is_same_v<asio_uring::deadline_timer, asio::deadline_timer>);
static_assert(std::is_same_v<asio_uring::time_traits<boost::posix_time::ptime>,
    asio::time_traits<boost::posix_time::ptime>>);
static_assert(std::is_same_v<asio_uring::static_thread_pool,
    asio::static_thread_pool>);
static_assert(std::is_same_v<asio_uring::ip::v6_only, asio::ip::v6_only>);
static_assert(std::is_same_v<asio_uring::append_t<asio_uring::detached_t, int>,
    asio::append_t<asio::detached_t, int>>);
static_assert(std::is_same_v<asio_uring::prepend_t<asio_uring::detached_t, int>,
    asio::prepend_t<asio::detached_t, int>>);
static_assert(std::is_same_v<asio_uring::consign_t<asio_uring::detached_t, int>,
    asio::consign_t<asio::detached_t, int>>);
static_assert(std::is_same_v<asio_uring::deferred_noop, asio::deferred_noop>);
static_assert(asio_uring::is_deferred<asio_uring::deferred_noop>::value);
static_assert(std::is_same_v<asio_uring::deferred_values<int>,
    asio::deferred_values<int>>);
static_assert(std::is_same_v<asio_uring::deferred_init_tag,
    asio::deferred_init_tag>);
static_assert(asio_uring::is_match_condition<bool (*)(int)>::value
    == asio::is_match_condition<bool (*)(int)>::value);
static_assert(asio_uring::is_endpoint_sequence<
    std::vector<asio::ip::tcp::endpoint>>::value);
static_assert(asio_uring::is_contiguous_iterator<char*>::value);
static_assert(std::is_same_v<asio_uring::basic_system_executor<
        asio::execution::blocking_t::possibly_t,
        asio::execution::relationship_t::fork_t, std::allocator<void>>,
    asio::system_executor>);
static_assert(std::is_same_v<asio_uring::prefer_t, asio::prefer_t>);
static_assert(std::is_same_v<asio_uring::query_t, asio::query_t>);
static_assert(std::is_same_v<asio_uring::require_t, asio::require_t>);
static_assert(std::is_same_v<asio_uring::require_concept_t,
    asio::require_concept_t>);
static_assert(asio_uring::can_query<asio_uring::any_io_executor,
    asio::execution::context_t>::value);
static_assert(asio_uring::can_prefer<asio_uring::any_io_executor,
    asio::execution::relationship_t::continuation_t>::value);
static_assert(asio_uring::can_require<asio_uring::any_io_executor,
    asio::execution::blocking_t::never_t>::value);
static_assert(!asio_uring::can_require_concept<asio_uring::any_io_executor,
    asio::execution::mapping_t::thread_t>::value);
static_assert(asio_uring::is_nothrow_query<asio_uring::any_io_executor,
    asio::execution::context_t>::value
    == asio::is_nothrow_query<asio::any_io_executor,
        asio::execution::context_t>::value);
static_assert(asio_uring::is_nothrow_prefer<asio_uring::any_io_executor,
    asio::execution::relationship_t::continuation_t>::value
    == asio::is_nothrow_prefer<asio::any_io_executor,
        asio::execution::relationship_t::continuation_t>::value);
static_assert(asio_uring::is_nothrow_require<asio_uring::any_io_executor,
    asio::execution::blocking_t::never_t>::value
    == asio::is_nothrow_require<asio::any_io_executor,
        asio::execution::blocking_t::never_t>::value);
static_assert(!asio_uring::is_nothrow_require_concept<asio_uring::any_io_executor,
    asio::execution::mapping_t::thread_t>::value);
static_assert(std::is_same_v<
    asio_uring::query_result<asio_uring::any_io_executor,
        asio::execution::context_t>::type,
    asio::query_result<asio::any_io_executor, asio::execution::context_t>::type>);
static_assert(std::is_same_v<
    asio_uring::prefer_result<asio_uring::any_io_executor,
        asio::execution::relationship_t::continuation_t>::type,
    asio::any_io_executor>);
static_assert(std::is_same_v<
    asio_uring::require_result<asio_uring::any_io_executor,
        asio::execution::blocking_t::never_t>::type,
    asio::any_io_executor>);
static_assert(std::is_same_v<asio_uring::require_concept_result<int, int>,
    asio::require_concept_result<int, int>>);
static_assert(asio_uring::is_applicable_property<asio_uring::any_io_executor,
    asio::execution::blocking_t::never_t>::value);
static_assert(std::is_same_v<
    asio_uring::completion_signature_of_t<decltype(asio::deferred.values(1))>,
    void(int)>);
static_assert(std::is_same_v<
    asio_uring::completion_signature_of<decltype(asio::deferred.values(1))>::type,
    void(int)>);
static_assert(asio_uring::is_async_operation<
    decltype(asio::deferred.values(1))>::value);
static_assert(std::is_same_v<asio_uring::deferred_function<void (*)()>,
    asio::deferred_function<void (*)()>>);
static_assert(std::is_same_v<
    asio_uring::deferred_sequence<asio::deferred_noop, asio::deferred_noop>,
    asio::deferred_sequence<asio::deferred_noop, asio::deferred_noop>>);
static_assert(std::is_same_v<asio_uring::deferred_conditional<>,
    asio::deferred_conditional<>>);
static_assert(std::is_same_v<
    asio_uring::deferred_async_operation<void(int), asio::detached_t>,
    asio::deferred_async_operation<void(int), asio::detached_t>>);
static_assert(std::is_same_v<
    asio_uring::any_completion_handler_allocator<void, void(int)>,
    asio::any_completion_handler_allocator<void, void(int)>>);
static_assert(std::is_same_v<asio_uring::asio_handler_allocate_is_deprecated,
    asio::asio_handler_allocate_is_deprecated>);
static_assert(std::is_same_v<asio_uring::asio_handler_deallocate_is_deprecated,
    asio::asio_handler_deallocate_is_deprecated>);
static_assert(std::is_same_v<asio_uring::asio_handler_invoke_is_deprecated,
    asio::asio_handler_invoke_is_deprecated>);
// io_service is the old name of the context: ours here.
static_assert(std::is_same_v<asio_uring::io_service, asio_uring::io_context>);

// Functions and objects: a using-declaration fails to compile when the
// name is missing.
using asio_uring::as_tuple;
using asio_uring::async_read;
using asio_uring::async_read_at;
using asio_uring::async_read_until;
using asio_uring::async_write;
using asio_uring::async_write_at;
using asio_uring::asio_handler_is_continuation;
using asio_uring::bind_executor;
using asio_uring::buffer;
using asio_uring::co_spawn;
using asio_uring::defer;
using asio_uring::deferred;
using asio_uring::detached;
using asio_uring::dispatch;
using asio_uring::dynamic_buffer;
using asio_uring::make_strand;
using asio_uring::make_work_guard;
using asio_uring::post;
using asio_uring::read;
using asio_uring::redirect_error;
using asio_uring::use_awaitable;
using asio_uring::use_future;
using asio_uring::write;
using asio_uring::ip::make_address;
using asio_uring::this_coro::executor;
using asio_uring::experimental::awaitable_operators::operator&&;
using asio_uring::experimental::awaitable_operators::operator||;
using asio_uring::experimental::make_parallel_group;

} // namespace shared_names

// ---------------------------------------------------------------------------
// Replaced names are asio_uring's own.

namespace replaced_names {

static_assert(!std::is_same_v<asio_uring::io_context, asio::io_context>);
static_assert(std::is_base_of_v<asio::execution_context, asio_uring::io_context>);
static_assert(!std::is_same_v<asio_uring::io_context::executor_type,
    asio::io_context::executor_type>);
// (Boost.Asio declares its file types only with its own io_uring backend.)
static_assert(std::is_class_v<asio_uring::file_base>);
static_assert(std::is_same_v<asio_uring::stream_file,
    asio_uring::basic_stream_file<>>);
static_assert(std::is_same_v<asio_uring::random_access_file,
    asio_uring::basic_random_access_file<>>);
static_assert(!std::is_same_v<asio_uring::ip::tcp::socket,
    asio::ip::tcp::socket>);
static_assert(!std::is_same_v<asio_uring::ip::tcp::acceptor,
    asio::ip::tcp::acceptor>);
static_assert(std::is_same_v<asio_uring::ip::tcp::socket,
    asio_uring::basic_stream_socket<asio_uring::ip::tcp::socket::protocol_type>>);
static_assert(std::is_same_v<asio_uring::ip::tcp::acceptor,
    asio_uring::basic_socket_acceptor<
        asio_uring::ip::tcp::acceptor::protocol_type>>);
static_assert(!std::is_same_v<asio_uring::steady_timer, asio::steady_timer>);
static_assert(!std::is_same_v<asio_uring::system_timer, asio::system_timer>);
static_assert(!std::is_same_v<asio_uring::high_resolution_timer,
    asio::high_resolution_timer>);
static_assert(std::is_same_v<asio_uring::steady_timer,
    asio_uring::basic_waitable_timer<std::chrono::steady_clock>>);
static_assert(std::is_same_v<asio_uring::system_timer,
    asio_uring::basic_waitable_timer<std::chrono::system_clock>>);

// register_buffers registers with our ring, not Boost.Asio's.
using registration = decltype(asio_uring::register_buffers(
    std::declval<asio_uring::io_context&>(),
    std::declval<const std::vector<asio_uring::mutable_buffer>&>()));
static_assert(!std::is_same_v<registration,
    asio::buffer_registration<std::vector<asio::mutable_buffer>>>);

} // namespace replaced_names

// ---------------------------------------------------------------------------
// `using namespace asio_uring;`: unqualified names and calls resolve, and
// argument-dependent lookup into boost::asio (our context derives from
// boost::asio::execution_context; our sockets use Boost's protocol types)
// adds no second candidate. Checked as concepts, so that an ambiguity is a
// failed test case rather than a broken build.

namespace with_using_directive {

using namespace asio_uring;

template <typename Context>
concept unqualified_types_resolve = requires {
  typename io_context;
  typename stream_file;
  typename random_access_file;
  typename steady_timer;
  typename ip::tcp::socket;
  typename ip::tcp::acceptor;
  typename streambuf;
  typename any_io_executor;
  typename awaitable<void>;
  typename strand<typename Context::executor_type>;
  typename executor_work_guard<typename Context::executor_type>;
};

template <typename Context>
concept context_calls_resolve = requires(Context& ctx, void (*f)()) {
  post(ctx, f);
  dispatch(ctx, f);
  defer(ctx, f);
  post(ctx.get_executor(), f);
  make_strand(ctx);
  make_work_guard(ctx);
  bind_executor(ctx, f);
  co_spawn(ctx, std::declval<awaitable<void>>(), detached);
};

template <typename Context>
concept registration_resolves_to_ours =
    requires(Context& ctx, const std::vector<mutable_buffer>& bufs) {
      { register_buffers(ctx, bufs) }
          -> std::same_as<decltype(asio_uring::register_buffers(ctx, bufs))>;
      { register_buffers(ctx.get_executor(), bufs) }
          -> std::same_as<decltype(asio_uring::register_buffers(ctx, bufs))>;
    };

template <typename File, typename Socket>
concept io_calls_resolve = requires(File& f, random_access_file& raf,
    Socket& s, streambuf& sb, std::string& str, std::vector<char>& v) {
  async_read(f, buffer(v), detached);
  async_write(f, buffer(v), detached);
  read(f, buffer(v));
  write(f, buffer(v));
  async_read_at(raf, 0, buffer(v), detached);
  async_write_at(raf, 0, buffer(v), detached);
  async_read(s, dynamic_buffer(str), transfer_at_least(1), detached);
  async_read_until(s, sb, '\n', detached);
  async_read_until(s, dynamic_buffer(str), "\r\n", detached);
  async_write(s, sb.data(), use_awaitable);
  connect(s, std::declval<ip::tcp::resolver::results_type>());
  async_connect(s, std::declval<std::vector<ip::tcp::endpoint>>(), detached);
};

constexpr bool types = unqualified_types_resolve<asio_uring::io_context>;
constexpr bool context_calls = context_calls_resolve<asio_uring::io_context>;
constexpr bool registration =
    registration_resolves_to_ours<asio_uring::io_context>;
constexpr bool io_calls =
    io_calls_resolve<asio_uring::stream_file, asio_uring::ip::tcp::socket>;

} // namespace with_using_directive

BOOST_AUTO_TEST_SUITE(facade)

BOOST_AUTO_TEST_CASE(using_namespace_asio_uring_makes_no_type_ambiguous)
{
  BOOST_TEST(with_using_directive::types);
}

BOOST_AUTO_TEST_CASE(using_namespace_asio_uring_makes_no_context_call_ambiguous)
{
  BOOST_TEST(with_using_directive::context_calls);
}

BOOST_AUTO_TEST_CASE(using_namespace_asio_uring_makes_no_io_call_ambiguous)
{
  BOOST_TEST(with_using_directive::io_calls);
}

BOOST_AUTO_TEST_CASE(unqualified_register_buffers_is_ours_and_unambiguous)
{
  BOOST_TEST(with_using_directive::registration);
}

// ---------------------------------------------------------------------------
// A program switched by `namespace net = asio_uring;`.

namespace net = asio_uring;

BOOST_AUTO_TEST_CASE(switched_program_copies_a_file_with_composed_operations)
{
  auto data = asio_uring_test::random_bytes(300'000);
  asio_uring_test::temp_file src(data);
  asio_uring_test::temp_file dst;
  net::io_context ctx;
  bool done = false;
  net::co_spawn(ctx,
      [&]() -> net::awaitable<void> {
        auto ex = co_await net::this_coro::executor;
        net::stream_file in(ex, src.path(), net::file_base::read_only);
        net::stream_file out(ex, dst.path(),
            net::file_base::write_only | net::file_base::truncate);
        std::vector<unsigned char> block(64 * 1024);
        for (;;)
        {
          auto [ec, n] = co_await net::async_read(in, net::buffer(block),
              net::as_tuple(net::use_awaitable));
          if (n > 0)
            co_await net::async_write(out, net::buffer(block.data(), n),
                net::use_awaitable);
          if (ec == net::error::eof)
            break;
          if (ec)
            throw boost::system::system_error(ec);
        }
        done = true;
      },
      net::detached);
  ctx.run_for(std::chrono::seconds(60));
  BOOST_TEST(done);
  BOOST_TEST(dst.contents() == data, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(switched_program_talks_tcp_over_loopback)
{
  net::io_context ctx;
  net::ip::tcp::acceptor acceptor(ctx,
      net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  const auto endpoint = acceptor.local_endpoint();
  std::string server_got;
  std::string client_got;

  net::co_spawn(ctx,
      [&]() -> net::awaitable<void> {
        net::ip::tcp::socket peer = co_await acceptor.async_accept(
            net::use_awaitable);
        net::streambuf sb;
        std::size_t n = co_await net::async_read_until(peer, sb, '\n',
            net::use_awaitable);
        server_got.assign(net::buffers_begin(sb.data()),
            net::buffers_begin(sb.data()) + static_cast<std::ptrdiff_t>(n));
        co_await net::async_write(peer, net::buffer(std::string("pong\n")),
            net::use_awaitable);
      },
      net::detached);

  net::co_spawn(ctx,
      [&]() -> net::awaitable<void> {
        net::ip::tcp::socket s(co_await net::this_coro::executor);
        co_await s.async_connect(endpoint, net::use_awaitable);
        co_await net::async_write(s, net::buffer(std::string("ping\n")),
            net::use_awaitable);
        std::string line;
        std::size_t n = co_await net::async_read_until(s,
            net::dynamic_buffer(line), '\n', net::use_awaitable);
        client_got = line.substr(0, n);
      },
      net::detached);

  ctx.run_for(std::chrono::seconds(60));
  BOOST_TEST(server_got == "ping\n");
  BOOST_TEST(client_got == "pong\n");
}

BOOST_AUTO_TEST_CASE(switched_program_uses_timers_strands_and_work_guards)
{
  net::io_context ctx;
  auto strand = net::make_strand(ctx);
  auto guard = net::make_work_guard(ctx);
  net::steady_timer timer(strand, std::chrono::milliseconds(5));
  bool fired_in_strand = false;
  timer.async_wait(net::bind_executor(strand, [&](boost::system::error_code ec) {
    fired_in_strand = !ec && strand.running_in_this_thread();
    guard.reset();
  }));
  ctx.run_for(std::chrono::seconds(60));
  BOOST_TEST(fired_in_strand);
  BOOST_TEST(ctx.stopped());
}

BOOST_AUTO_TEST_CASE(boost_signal_set_works_on_an_asio_uring_context)
{
  net::io_context ctx;
  net::signal_set signals(ctx, SIGUSR1);
  int got = 0;
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (!ec)
      got = sig;
  });
  net::post(ctx, [] { std::raise(SIGUSR1); });
  ctx.run_for(std::chrono::seconds(60));
  BOOST_TEST(got == SIGUSR1);
}

BOOST_AUTO_TEST_CASE(experimental_channel_and_operators_work_on_our_context)
{
  using namespace net::experimental::awaitable_operators;
  net::io_context ctx;
  net::experimental::channel<void(boost::system::error_code, int)> ch(ctx, 4);
  int sum = 0;
  net::co_spawn(ctx,
      [&]() -> net::awaitable<void> {
        for (int i = 1; i <= 3; ++i)
          co_await ch.async_send(boost::system::error_code(), i,
              net::use_awaitable);
      },
      net::detached);
  net::co_spawn(ctx,
      [&]() -> net::awaitable<void> {
        for (int k = 0; k < 3; ++k)
        {
          auto [ec, v] = co_await ch.async_receive(
              net::as_tuple(net::use_awaitable));
          if (ec)
            break;
          // Both branches must finish before the value counts.
          co_await (net::post(ctx, net::use_awaitable)
              && net::post(ctx, net::use_awaitable));
          sum += v;
        }
      },
      net::detached);
  ctx.run_for(std::chrono::seconds(60));
  BOOST_TEST(sum == 6);
}

BOOST_AUTO_TEST_SUITE_END()
