// The executor suite: io_context::executor_type against Boost.Asio's
// standard executor requirements (execute, query, require, prefer) and the
// Networking TS members, and its use by Boost.Asio's executor machinery:
// post, dispatch, defer, strands, bind_executor, work guards,
// any_io_executor, and Boost.Asio's own I/O objects.
//
// Behavioural cases are templates also run against boost::asio::io_context,
// whose executor is the specification.
#include <asio_uring/io_context.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/defer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace asio = boost::asio;
namespace execution = boost::asio::execution;
using namespace std::chrono_literals;

namespace {

using contexts = std::tuple<asio::io_context, asio_uring::io_context>;

// A minimal allocator distinguishable from std::allocator by its id.
template <typename T>
struct tagged_allocator
{
  using value_type = T;
  int id = 0;

  tagged_allocator() = default;
  explicit tagged_allocator(int i) : id(i) {}
  template <typename U>
  tagged_allocator(const tagged_allocator<U>& o) noexcept : id(o.id)
  {
  }

  T* allocate(std::size_t n)
  {
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p); }

  template <typename U>
  bool operator==(const tagged_allocator<U>& o) const noexcept
  {
    return id == o.id;
  }
  template <typename U>
  bool operator!=(const tagged_allocator<U>& o) const noexcept
  {
    return id != o.id;
  }
};

// Whether the context has outstanding work, observed the public way: poll()
// stops a context whose work has run out. Only for contexts with nothing
// queued.
template <typename Context>
bool has_work(Context& ctx)
{
  ctx.restart();
  ctx.poll();
  bool busy = !ctx.stopped();
  ctx.restart();
  return busy;
}

} // namespace

// ---------------------------------------------------------------------------
// Compile-time conformance (asio_uring).

namespace conformance {

using ex_t = asio_uring::io_context::executor_type;
using tracked_t = std::decay_t<decltype(asio::require(std::declval<ex_t>(),
    execution::outstanding_work.tracked))>;

static_assert(execution::is_executor_v<ex_t>);
static_assert(execution::is_executor_v<tracked_t>);
static_assert(execution::executor<ex_t>);
static_assert(asio::is_executor<ex_t>::value, "Networking TS executor");
static_assert(std::is_nothrow_copy_constructible_v<ex_t>);
static_assert(std::is_nothrow_move_constructible_v<ex_t>);
static_assert(std::is_nothrow_destructible_v<ex_t>);

static_assert(asio::can_query_v<ex_t, execution::context_t>);
static_assert(asio::can_query_v<ex_t, execution::blocking_t>);
static_assert(asio::can_query_v<ex_t, execution::relationship_t>);
static_assert(asio::can_query_v<ex_t, execution::outstanding_work_t>);
static_assert(asio::can_query_v<ex_t, execution::mapping_t>);
static_assert(asio::can_query_v<ex_t, execution::allocator_t<void>>);
static_assert(std::is_same_v<
    asio::query_result<ex_t, execution::context_t>::type,
    asio_uring::io_context&>);

static_assert(asio::can_require_v<ex_t, execution::blocking_t::never_t>);
static_assert(asio::can_require_v<ex_t, execution::blocking_t::possibly_t>);
static_assert(!asio::can_require_v<ex_t, execution::blocking_t::always_t>);
static_assert(asio::can_require_v<ex_t, execution::relationship_t::fork_t>);
static_assert(
    asio::can_require_v<ex_t, execution::relationship_t::continuation_t>);
static_assert(
    asio::can_require_v<ex_t, execution::outstanding_work_t::tracked_t>);
static_assert(
    asio::can_require_v<ex_t, execution::outstanding_work_t::untracked_t>);
static_assert(asio::can_require_v<ex_t,
    execution::allocator_t<tagged_allocator<void>>>);
static_assert(asio::can_prefer_v<ex_t, execution::mapping_t::new_thread_t>);
static_assert(!asio::can_require_v<ex_t, execution::mapping_t::new_thread_t>);
static_assert(asio::can_prefer_v<ex_t,
    execution::outstanding_work_t::tracked_t>);

// Work tracking is part of the type, as in Boost.Asio.
static_assert(!std::is_same_v<ex_t, tracked_t>);
static_assert(std::is_same_v<std::decay_t<decltype(asio::require(
                                 std::declval<tracked_t>(),
                                 execution::outstanding_work.untracked))>,
    ex_t>);

// Everything Boost.Asio's polymorphic wrappers need.
static_assert(std::is_constructible_v<asio::any_io_executor, ex_t>);
static_assert(std::is_constructible_v<asio::executor, ex_t>);
static_assert(std::is_constructible_v<asio::any_io_executor,
    asio::strand<ex_t>>);

} // namespace conformance

BOOST_AUTO_TEST_SUITE(executor)

// ---------------------------------------------------------------------------
// Queries and require/prefer results.

BOOST_AUTO_TEST_CASE_TEMPLATE(query_returns_defaults_of_a_fresh_executor,
    Context, contexts)
{
  Context ctx;
  auto ex = ctx.get_executor();
  BOOST_TEST(&asio::query(ex, execution::context) == &ctx);
  BOOST_TEST(&ex.context() == &ctx);
  BOOST_TEST((asio::query(ex, execution::blocking)
      == execution::blocking.possibly));
  BOOST_TEST((asio::query(ex, execution::relationship)
      == execution::relationship.fork));
  BOOST_TEST((asio::query(ex, execution::outstanding_work)
      == execution::outstanding_work.untracked));
  BOOST_TEST((asio::query(ex, execution::mapping) == execution::mapping.thread));
  BOOST_TEST((asio::query(ex, execution::allocator) == std::allocator<void>()));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(require_changes_only_the_requested_property,
    Context, contexts)
{
  Context ctx;
  auto ex = ctx.get_executor();

  auto never = asio::require(ex, execution::blocking.never);
  BOOST_TEST((asio::query(never, execution::blocking)
      == execution::blocking.never));
  BOOST_TEST((asio::query(never, execution::relationship)
      == execution::relationship.fork));
  BOOST_TEST(&asio::query(never, execution::context) == &ctx);
  auto possibly = asio::require(never, execution::blocking.possibly);
  BOOST_TEST((asio::query(possibly, execution::blocking)
      == execution::blocking.possibly));
  BOOST_TEST((possibly == ex));

  auto cont = asio::require(never, execution::relationship.continuation);
  BOOST_TEST((asio::query(cont, execution::relationship)
      == execution::relationship.continuation));
  BOOST_TEST((asio::query(cont, execution::blocking)
      == execution::blocking.never));
  auto fork = asio::require(cont, execution::relationship.fork);
  BOOST_TEST((asio::query(fork, execution::relationship)
      == execution::relationship.fork));

  auto tracked = asio::require(cont, execution::outstanding_work.tracked);
  BOOST_TEST((asio::query(tracked, execution::outstanding_work)
      == execution::outstanding_work.tracked));
  BOOST_TEST((asio::query(tracked, execution::blocking)
      == execution::blocking.never));
  BOOST_TEST((asio::query(tracked, execution::relationship)
      == execution::relationship.continuation));
  auto untracked = asio::require(tracked, execution::outstanding_work.untracked);
  BOOST_TEST((asio::query(untracked, execution::outstanding_work)
      == execution::outstanding_work.untracked));
  BOOST_TEST((untracked == cont));

  auto alloc = asio::require(ex, execution::allocator(tagged_allocator<int>(7)));
  BOOST_TEST((asio::query(alloc, execution::allocator).id == 7));
  BOOST_TEST(&asio::query(alloc, execution::context) == &ctx);
  auto std_alloc = asio::require(alloc, execution::allocator);
  static_assert(std::is_same_v<decltype(std_alloc), decltype(ex)>);
  BOOST_TEST((std_alloc == ex));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(prefer_of_unsupported_property_is_a_no_op,
    Context, contexts)
{
  Context ctx;
  auto ex = ctx.get_executor();
  auto same = asio::prefer(ex, execution::mapping.new_thread);
  static_assert(std::is_same_v<decltype(same), decltype(ex)>);
  BOOST_TEST((same == ex));
  BOOST_TEST((asio::query(same, execution::mapping)
      == execution::mapping.thread));
  auto tracked = asio::prefer(ex, execution::outstanding_work.tracked);
  BOOST_TEST((asio::query(tracked, execution::outstanding_work)
      == execution::outstanding_work.tracked));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(equality_compares_context_and_properties,
    Context, contexts)
{
  Context a;
  Context b;
  BOOST_TEST((a.get_executor() == a.get_executor()));
  BOOST_TEST((a.get_executor() != b.get_executor()));
  auto never = asio::require(a.get_executor(), execution::blocking.never);
  BOOST_TEST((never != a.get_executor()));
  BOOST_TEST((never == asio::require(a.get_executor(),
                  execution::blocking.never)));
  auto x = asio::require(a.get_executor(),
      execution::allocator(tagged_allocator<void>(1)));
  auto y = asio::require(a.get_executor(),
      execution::allocator(tagged_allocator<void>(2)));
  BOOST_TEST((x != y));
  BOOST_TEST((x == asio::require(a.get_executor(),
                  execution::allocator(tagged_allocator<void>(1)))));
}

// ---------------------------------------------------------------------------
// execute() and the blocking and relationship properties.

BOOST_AUTO_TEST_CASE_TEMPLATE(execute_from_outside_queues_the_function,
    Context, contexts)
{
  Context ctx;
  int count = 0;
  ctx.get_executor().execute([&] { ++count; });
  asio::require(ctx.get_executor(), execution::blocking.never).execute(
      [&] { ++count; });
  BOOST_TEST(count == 0);
  BOOST_TEST(ctx.run() == 2u);
  BOOST_TEST(count == 2);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(execute_inside_runs_inline_unless_never,
    Context, contexts)
{
  Context ctx;
  std::vector<int> order;
  asio::post(ctx, [&] {
    auto ex = ctx.get_executor();
    ex.execute([&] { order.push_back(1); });
    asio::require(ex, execution::blocking.never).execute(
        [&] { order.push_back(3); });
    asio::require(ex, execution::outstanding_work.tracked).execute(
        [&] { order.push_back(2); });
  });
  ctx.run();
  BOOST_TEST(order == (std::vector<int>{1, 2, 3}),
      boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(continuation_runs_after_current_handler_in_order,
    Context, contexts)
{
  Context ctx;
  std::vector<int> order;
  asio::post(ctx, [&] {
    auto cont = asio::require(ctx.get_executor(), execution::blocking.never,
        execution::relationship.continuation);
    cont.execute([&] { order.push_back(2); });
    cont.execute([&] { order.push_back(3); });
    order.push_back(1);
  });
  ctx.run();
  BOOST_TEST(order == (std::vector<int>{1, 2, 3}),
      boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(move_only_function_is_executed, Context,
    contexts)
{
  Context ctx;
  auto p = std::make_unique<int>(42);
  int seen = 0;
  ctx.get_executor().execute([&seen, p = std::move(p)] { seen = *p; });
  ctx.run();
  BOOST_TEST(seen == 42);
}

// ---------------------------------------------------------------------------
// Outstanding work.

BOOST_AUTO_TEST_CASE_TEMPLATE(tracked_executor_copies_count_as_work, Context,
    contexts)
{
  Context ctx;
  BOOST_TEST(!has_work(ctx));
  {
    auto t1 = asio::require(ctx.get_executor(),
        execution::outstanding_work.tracked);
    BOOST_TEST(has_work(ctx));
    auto t2 = t1;                 // copy
    auto t3 = std::move(t1);      // move: t1 gives its count to t3
    t2 = t3;                      // copy-assign between same context
    auto t4 = std::move(t2);
    t3 = std::move(t4);           // move-assign
    BOOST_TEST(has_work(ctx));
  }
  BOOST_TEST(!has_work(ctx));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(tracked_executor_assignment_moves_work_across,
    Context, contexts)
{
  Context a;
  Context b;
  auto ta = asio::require(a.get_executor(), execution::outstanding_work.tracked);
  auto tb = asio::require(b.get_executor(), execution::outstanding_work.tracked);
  BOOST_TEST(has_work(a));
  BOOST_TEST(has_work(b));
  ta = tb;  // a loses its work, b has two
  BOOST_TEST(!has_work(a));
  BOOST_TEST(has_work(b));
  tb = asio::require(a.get_executor(), execution::outstanding_work.tracked);
  BOOST_TEST(has_work(a));
  BOOST_TEST(has_work(b));
  ta = std::move(tb);  // b's last unit released, a's moved over
  BOOST_TEST(has_work(a));
  BOOST_TEST(!has_work(b));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(work_guard_counts_until_reset, Context,
    contexts)
{
  Context ctx;
  auto guard = asio::make_work_guard(ctx);
  BOOST_TEST(guard.owns_work());
  BOOST_TEST(has_work(ctx));
  auto guard2 = asio::make_work_guard(ctx.get_executor());
  guard.reset();
  BOOST_TEST(!guard.owns_work());
  BOOST_TEST(has_work(ctx));
  guard2.reset();
  BOOST_TEST(!has_work(ctx));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(ts_members_count_work_and_queue_functions,
    Context, contexts)
{
  Context ctx;
  auto ex = ctx.get_executor();
  ex.on_work_started();
  BOOST_TEST(has_work(ctx));
  ex.on_work_finished();
  BOOST_TEST(!has_work(ctx));

  std::vector<int> order;
  std::allocator<void> a;
  ex.post([&] { order.push_back(1); }, a);
  ex.dispatch([&] {  // queued: called from outside the loop
    order.push_back(2);
    ex.dispatch([&] { order.push_back(3); }, a);  // inline
    ex.post([&] { order.push_back(5); }, a);
    ex.defer([&] { order.push_back(6); }, a);
    order.push_back(4);
  }, a);
  ex.defer([&] { order.push_back(7); }, a);
  BOOST_TEST(order.empty());
  ctx.run();
  BOOST_TEST(order == (std::vector<int>{1, 2, 3, 4, 7, 5, 6}),
      boost::test_tools::per_element());
}

// ---------------------------------------------------------------------------
// Boost.Asio's machinery on top of the executor.

BOOST_AUTO_TEST_CASE_TEMPLATE(any_io_executor_round_trips, Context, contexts)
{
  using ex_t = typename Context::executor_type;
  Context ctx;
  asio::any_io_executor any = ctx.get_executor();
  BOOST_TEST_REQUIRE(any.template target<ex_t>() != nullptr);
  BOOST_TEST((*any.template target<ex_t>() == ctx.get_executor()));
  BOOST_TEST((any == asio::any_io_executor(ctx.get_executor())));
  BOOST_TEST(&asio::query(any, execution::context)
      == static_cast<asio::execution_context*>(&ctx));

  auto never = asio::require(any, execution::blocking.never);
  BOOST_TEST_REQUIRE(never.template target<ex_t>() != nullptr);
  BOOST_TEST((asio::query(*never.template target<ex_t>(), execution::blocking)
      == execution::blocking.never));

  auto tracked = asio::prefer(any, execution::outstanding_work.tracked);
  BOOST_TEST(has_work(ctx));
  tracked = asio::any_io_executor();
  BOOST_TEST(!has_work(ctx));

  std::vector<int> order;
  asio::post(any, [&] {
    asio::dispatch(any, [&] { order.push_back(1); });  // inline
    asio::post(any, [&] { order.push_back(3); });
    order.push_back(2);
  });
  ctx.run();
  BOOST_TEST(order == (std::vector<int>{1, 2, 3}),
      boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(polymorphic_ts_executor_round_trips, Context,
    contexts)
{
  using ex_t = typename Context::executor_type;
  Context ctx;
  asio::executor poly = ctx.get_executor();
  BOOST_TEST_REQUIRE(poly.template target<ex_t>() != nullptr);
  BOOST_TEST(&poly.context() == static_cast<asio::execution_context*>(&ctx));
  int count = 0;
  asio::post(poly, [&] { ++count; });
  poly.on_work_started();
  BOOST_TEST(has_work(ctx));
  BOOST_TEST(count == 1);  // has_work polled it
  poly.on_work_finished();
  BOOST_TEST(!has_work(ctx));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(strand_dispatch_inside_runs_inline, Context,
    contexts)
{
  Context ctx;
  auto s1 = asio::make_strand(ctx);
  auto s2 = asio::make_strand(ctx.get_executor());
  std::vector<int> order;
  bool in_s1 = false;
  bool in_s2_while_in_s1 = true;
  asio::post(s1, [&] {
    in_s1 = s1.running_in_this_thread();
    in_s2_while_in_s1 = s2.running_in_this_thread();
    asio::dispatch(s1, [&] { order.push_back(1); });
    asio::post(s1, [&] { order.push_back(3); });
    order.push_back(2);
  });
  BOOST_TEST(!s1.running_in_this_thread());
  ctx.run();
  BOOST_TEST(in_s1);
  BOOST_TEST(!in_s2_while_in_s1);
  BOOST_TEST(order == (std::vector<int>{1, 2, 3}),
      boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(strands_serialise_posts_from_several_threads,
    Context, contexts)
{
  Context ctx;
  auto guard = asio::make_work_guard(ctx);
  std::vector<asio::strand<typename Context::executor_type>> strands;
  for (int i = 0; i < 4; ++i)
    strands.push_back(asio::make_strand(ctx));
  constexpr int per_strand = 5000;
  std::vector<std::atomic<int>> inside(4);
  std::vector<int> count(4, 0);  // each touched only inside its strand
  std::atomic<int> overlaps{0};
  std::atomic<int> done{0};
  std::vector<std::thread> runners;
  for (int i = 0; i < 2; ++i)
    runners.emplace_back([&] { ctx.run(); });
  std::vector<std::thread> posters;
  for (int s = 0; s < 4; ++s)
    posters.emplace_back([&, s] {
      for (int i = 0; i < per_strand; ++i)
        asio::post(strands[s], [&, s] {
          if (inside[s].exchange(1))
            ++overlaps;
          ++count[s];
          inside[s] = 0;
          if (++done == 4 * per_strand)
            guard.reset();
        });
    });
  for (auto& t : posters)
    t.join();
  for (auto& t : runners)
    t.join();
  BOOST_TEST(overlaps == 0);
  BOOST_TEST(count == (std::vector<int>(4, per_strand)),
      boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(strand_exception_propagates_and_strand_goes_on,
    Context, contexts)
{
  Context ctx;
  auto strand = asio::make_strand(ctx);
  std::vector<int> order;
  asio::post(strand, [&] { order.push_back(1); });
  asio::post(strand, [&] {
    order.push_back(2);
    throw std::runtime_error("in strand");
  });
  asio::post(strand, [&] { order.push_back(3); });
  BOOST_CHECK_THROW(ctx.run(), std::runtime_error);
  ctx.restart();
  ctx.run();
  BOOST_TEST(order == (std::vector<int>{1, 2, 3}),
      boost::test_tools::per_element());
  // The strand is usable afterwards.
  bool ran = false;
  asio::post(strand, [&] { ran = strand.running_in_this_thread(); });
  ctx.restart();
  ctx.run();
  BOOST_TEST(ran);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(bind_executor_runs_handler_in_its_strand,
    Context, contexts)
{
  Context ctx;
  auto strand = asio::make_strand(ctx);
  bool in_strand = false;
  bool ran = false;
  asio::post(ctx, asio::bind_executor(strand, [&] {
    ran = true;
    in_strand = strand.running_in_this_thread();
  }));
  ctx.run();
  BOOST_TEST(ran);
  BOOST_TEST(in_strand);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(handler_bound_to_other_context_runs_there,
    Context, contexts)
{
  Context io;
  Context other;
  bool in_other = false;
  bool in_io = true;
  asio::post(io, asio::bind_executor(other.get_executor(), [&] {
    in_other = other.get_executor().running_in_this_thread();
    in_io = io.get_executor().running_in_this_thread();
  }));
  // The bound handler counts as work on other until it has run there.
  BOOST_TEST(io.run() == 1u);
  BOOST_TEST(other.run() == 1u);
  BOOST_TEST(in_other);
  BOOST_TEST(!in_io);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(execute_from_many_threads_runs_each_once,
    Context, contexts)
{
  Context ctx;
  auto guard = asio::make_work_guard(ctx);
  constexpr int per_thread = 5000;
  std::vector<std::atomic<int>> runs(4 * per_thread);
  std::thread runner([&] { ctx.run(); });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      auto ex = asio::require(ctx.get_executor(), execution::blocking.never);
      for (int i = 0; i < per_thread; ++i)
        ex.execute([&, k = t * per_thread + i] { ++runs[k]; });
    });
  for (auto& t : threads)
    t.join();
  guard.reset();
  runner.join();
  int wrong = 0;
  for (auto& r : runs)
    wrong += r.load() != 1;
  BOOST_TEST(wrong == 0);
}

BOOST_AUTO_TEST_CASE(boost_asio_timer_completes_through_the_executor)
{
  // A Boost.Asio object asio_uring does not replace: Boost.Asio gives the
  // foreign context an internal scheduler thread, and the completion comes
  // back through our executor, counted as work until then.
  asio_uring::io_context ctx;
  asio::steady_timer timer(ctx, 5ms);
  boost::system::error_code result = asio::error::would_block;
  bool in_loop = false;
  timer.async_wait([&](boost::system::error_code ec) {
    result = ec;
    in_loop = ctx.get_executor().running_in_this_thread();
  });
  BOOST_TEST(ctx.run_for(std::chrono::seconds(60)) == 1u);
  BOOST_TEST(!result);
  BOOST_TEST(in_loop);
  BOOST_TEST(ctx.stopped());
}

BOOST_AUTO_TEST_SUITE_END()
