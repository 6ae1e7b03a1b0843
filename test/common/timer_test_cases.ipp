// Test cases shared by every timer kind. Include inside a test suite, after
// declaring `using timer_type = <a basic_waitable_timer>;` in it; the cases
// are then registered in that suite. (Deliberately no include guard: each
// suite gets its own copy in its own namespace.)
//
// No case asserts a duration. Deadlines are checked only for order ("the
// handler ran at or after the expiry", "timers fired in deadline order")
// and runs are bounded by generous hang guards.

using clock_type = typename timer_type::clock_type;
using time_point = typename timer_type::time_point;
using duration = typename timer_type::duration;

// Long enough never to fire during a test.
inline const duration far_away = std::chrono::hours(1);
// Bound on any run that must end by itself.
inline constexpr std::chrono::seconds hang_guard{30};

// Records one wait's completion.
struct wait_result
{
  int calls = 0;
  boost::system::error_code ec;
  bool after_expiry = false;  // clock_type::now() >= expiry when it ran
};

// A callback handler filling a wait_result.
inline auto record(wait_result& r, time_point expiry = time_point::min())
{
  return [&r, expiry](boost::system::error_code ec) {
    ++r.calls;
    r.ec = ec;
    r.after_expiry = !(clock_type::now() < expiry);
  };
}

struct alloc_counts
{
  std::atomic<int> allocations{0};
  std::atomic<int> deallocations{0};
};

template <typename T>
struct counting_allocator
{
  using value_type = T;

  explicit counting_allocator(alloc_counts* c) noexcept : counts(c) {}

  template <typename U>
  counting_allocator(const counting_allocator<U>& other) noexcept
    : counts(other.counts)
  {
  }

  T* allocate(std::size_t n)
  {
    ++counts->allocations;
    return std::allocator<T>().allocate(n);
  }

  void deallocate(T* p, std::size_t n)
  {
    ++counts->deallocations;
    std::allocator<T>().deallocate(p, n);
  }

  template <typename U>
  bool operator==(const counting_allocator<U>& other) const noexcept
  {
    return counts == other.counts;
  }

  template <typename U>
  bool operator!=(const counting_allocator<U>& other) const noexcept
  {
    return counts != other.counts;
  }

  alloc_counts* counts;
};

// A handler that can only be moved.
struct move_only_handler
{
  explicit move_only_handler(wait_result& r)
    : result(std::make_unique<wait_result*>(&r))
  {
  }
  move_only_handler(move_only_handler&&) = default;
  move_only_handler& operator=(move_only_handler&&) = default;
  move_only_handler(const move_only_handler&) = delete;
  move_only_handler& operator=(const move_only_handler&) = delete;

  void operator()(boost::system::error_code ec)
  {
    ++(*result)->calls;
    (*result)->ec = ec;
  }

  std::unique_ptr<wait_result*> result;
};

// ---------------------------------------------------------------------------
// Construction, executor, expiry.

BOOST_AUTO_TEST_CASE(construct_without_expiry_uses_clock_epoch)
{
  asio_uring::io_context ctx;
  timer_type from_context(ctx);
  timer_type from_executor(ctx.get_executor());
  BOOST_TEST((from_context.expiry() == time_point()));
  BOOST_TEST((from_executor.expiry() == time_point()));
}

BOOST_AUTO_TEST_CASE(construct_with_time_point_sets_expiry)
{
  asio_uring::io_context ctx;
  const time_point tp = clock_type::now() + std::chrono::minutes(7);
  timer_type from_context(ctx, tp);
  timer_type from_executor(ctx.get_executor(), tp);
  BOOST_TEST((from_context.expiry() == tp));
  BOOST_TEST((from_executor.expiry() == tp));
}

BOOST_AUTO_TEST_CASE(construct_with_duration_sets_expiry_relative_to_now)
{
  asio_uring::io_context ctx;
  const duration d = std::chrono::minutes(7);
  const time_point before = clock_type::now();
  timer_type from_context(ctx, d);
  timer_type from_executor(ctx.get_executor(), d);
  const time_point after = clock_type::now();
  for (timer_type* t : {&from_context, &from_executor})
  {
    BOOST_TEST((t->expiry() >= before + d));
    BOOST_TEST((t->expiry() <= after + d));
  }
}

BOOST_AUTO_TEST_CASE(construct_with_foreign_context_throws_invalid_argument)
{
  boost::asio::io_context foreign;
  BOOST_CHECK_THROW(timer_type t(foreign), std::invalid_argument);
  BOOST_CHECK_THROW(timer_type t(foreign.get_executor(), far_away),
      std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(get_executor_returns_constructing_executor)
{
  asio_uring::io_context ctx;
  timer_type t(ctx);
  BOOST_TEST((t.get_executor()
      == boost::asio::any_io_executor(ctx.get_executor())));

  auto strand = boost::asio::make_strand(ctx);
  typename timer_type::template rebind_executor<decltype(strand)>::other
      on_strand(strand);
  BOOST_TEST((on_strand.get_executor() == strand));
}

BOOST_AUTO_TEST_CASE(construct_with_strand_executor_completes_on_strand)
{
  asio_uring::io_context ctx;
  auto strand = boost::asio::make_strand(ctx);
  typename timer_type::template rebind_executor<decltype(strand)>::other t(
      strand, std::chrono::milliseconds(1));
  bool on_strand = false;
  t.async_wait([&](boost::system::error_code) {
    on_strand = strand.running_in_this_thread();
  });
  ctx.run_for(hang_guard);
  BOOST_TEST(on_strand);
}

BOOST_AUTO_TEST_CASE(expires_after_huge_duration_saturates_at_max)
{
  asio_uring::io_context ctx;
  timer_type t(ctx);
  t.expires_after((duration::max)());
  BOOST_TEST((t.expiry() == (time_point::max)()));
  timer_type c(ctx, (duration::max)());
  BOOST_TEST((c.expiry() == (time_point::max)()));
#if !defined(BOOST_ASIO_NO_DEPRECATED)
  BOOST_TEST((t.expires_from_now() > duration::zero()));
#endif

  // The run loop copes with a deadline at the end of time: the wait stays
  // pending until cancelled.
  wait_result r;
  t.async_wait(record(r));
  ctx.run_for(std::chrono::milliseconds(20));
  BOOST_TEST(r.calls == 0);
  BOOST_TEST(t.cancel() == 1u);
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST((r.ec == boost::asio::error::operation_aborted));
}

BOOST_AUTO_TEST_CASE(expires_at_min_time_point_completes_at_once)
{
  asio_uring::io_context ctx;
  timer_type t(ctx, (time_point::min)());
#if !defined(BOOST_ASIO_NO_DEPRECATED)
  BOOST_TEST((t.expires_from_now() < duration::zero()));
#endif
  wait_result r;
  t.async_wait(record(r));
  ctx.run_for(hang_guard);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(!r.ec);
  t.wait();  // already expired: returns
}

#if !defined(BOOST_ASIO_NO_DEPRECATED)
BOOST_AUTO_TEST_CASE(deprecated_members_match_their_replacements)
{
  asio_uring::io_context ctx;
  timer_type t(ctx, far_away);
  BOOST_TEST((t.expires_at() == t.expiry()));
  BOOST_TEST((t.expires_from_now() <= far_away));
  BOOST_TEST((t.expires_from_now() > far_away / 2));

  wait_result a, b, c, d;
  boost::system::error_code ec = boost::asio::error::fault;
  t.async_wait(record(a));
  BOOST_TEST(t.expires_from_now(far_away) == 1u);
  t.async_wait(record(b));
  BOOST_TEST(t.expires_from_now(far_away, ec) == 1u);
  BOOST_TEST(!ec);
  t.async_wait(record(c));
  ec = boost::asio::error::fault;
  BOOST_TEST(t.expires_at(clock_type::now() + far_away, ec) == 1u);
  BOOST_TEST(!ec);
  t.async_wait(record(d));
  ec = boost::asio::error::fault;
  BOOST_TEST(t.cancel_one(ec) == 1u);
  BOOST_TEST(!ec);
  ec = boost::asio::error::fault;
  BOOST_TEST(t.cancel(ec) == 0u);
  BOOST_TEST(!ec);
  ctx.run_for(hang_guard);
  for (wait_result* r : {&a, &b, &c, &d})
  {
    BOOST_TEST(r->calls == 1);
    BOOST_TEST((r->ec == boost::asio::error::operation_aborted));
  }
}
#endif

// ---------------------------------------------------------------------------
// async_wait semantics.

BOOST_AUTO_TEST_CASE(async_wait_completes_with_success_after_expiry)
{
  asio_uring::io_context ctx;
  timer_type t(ctx, std::chrono::milliseconds(20));
  wait_result r;
  t.async_wait(record(r, t.expiry()));
  BOOST_TEST(r.calls == 0);
  BOOST_TEST(ctx.run_for(hang_guard) == 1u);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(!r.ec);
  BOOST_TEST(r.after_expiry);
}

BOOST_AUTO_TEST_CASE(async_wait_on_expired_timer_never_completes_inside_initiation)
{
  asio_uring::io_context ctx;
  timer_type t(ctx);  // the epoch: long past
  bool initiating = false;
  bool ran_inside = false;
  wait_result r;
  // Started from inside the run loop, where an inline call would be easiest.
  boost::asio::post(ctx, [&] {
    initiating = true;
    t.async_wait([&](boost::system::error_code ec) {
      ran_inside = initiating;
      record(r)(ec);
    });
    initiating = false;
  });
  ctx.run_for(hang_guard);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(!r.ec);
  BOOST_TEST(!ran_inside);
}

BOOST_AUTO_TEST_CASE(poll_runs_wait_on_expired_timer)
{
  asio_uring::io_context ctx;
  timer_type t(ctx, clock_type::now() - std::chrono::seconds(1));
  wait_result r;
  t.async_wait(record(r));
  BOOST_TEST(r.calls == 0);
  BOOST_TEST(ctx.poll() == 1u);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(!r.ec);
}

BOOST_AUTO_TEST_CASE(multiple_waits_on_one_timer_all_complete)
{
  asio_uring::io_context ctx;
  timer_type t(ctx, std::chrono::milliseconds(10));
  std::vector<wait_result> r(5);
  for (auto& x : r)
    t.async_wait(record(x, t.expiry()));
  BOOST_TEST(ctx.run_for(hang_guard) == 5u);
  for (auto& x : r)
  {
    BOOST_TEST(x.calls == 1);
    BOOST_TEST(!x.ec);
    BOOST_TEST(x.after_expiry);
  }
}

BOOST_AUTO_TEST_CASE(async_wait_accepts_move_only_handler)
{
  asio_uring::io_context ctx;
  timer_type t(ctx, std::chrono::milliseconds(1));
  wait_result r;
  t.async_wait(move_only_handler(r));
  ctx.run_for(hang_guard);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(!r.ec);
}

BOOST_AUTO_TEST_CASE(async_wait_uses_associated_allocator)
{
  alloc_counts counts;
  {
    asio_uring::io_context ctx;
    timer_type t(ctx, std::chrono::milliseconds(1));
    wait_result done, aborted;
    t.async_wait(boost::asio::bind_allocator(
        counting_allocator<int>(&counts), record(done)));
    ctx.run_for(hang_guard);
    BOOST_TEST(done.calls == 1);

    t.expires_after(far_away);
    t.async_wait(boost::asio::bind_allocator(
        counting_allocator<int>(&counts), record(aborted)));
    BOOST_TEST(t.cancel() == 1u);
    ctx.restart();
    ctx.run_for(hang_guard);
    BOOST_TEST(aborted.calls == 1);

    // Left pending when the context goes: destroyed, storage returned.
    t.async_wait(boost::asio::bind_allocator(
        counting_allocator<int>(&counts), record(aborted)));
  }
  BOOST_TEST(counts.allocations.load() >= 3);
  BOOST_TEST(counts.allocations.load() == counts.deallocations.load());
}

BOOST_AUTO_TEST_CASE(run_returns_when_last_timer_fires)
{
  asio_uring::io_context ctx;
  timer_type a(ctx, std::chrono::milliseconds(5));
  timer_type b(ctx, std::chrono::milliseconds(10));
  timer_type c(ctx, std::chrono::milliseconds(15));
  wait_result ra, rb, rc;
  a.async_wait(record(ra, a.expiry()));
  b.async_wait(record(rb, b.expiry()));
  c.async_wait(record(rc, c.expiry()));
  // Without balanced work counting this would sit out the whole guard
  // (or return early), and stopped() would tell.
  BOOST_TEST(ctx.run_for(hang_guard) == 3u);
  BOOST_TEST(ctx.stopped());
  for (wait_result* r : {&ra, &rb, &rc})
  {
    BOOST_TEST(r->calls == 1);
    BOOST_TEST(!r->ec);
    BOOST_TEST(r->after_expiry);
  }
}

BOOST_AUTO_TEST_CASE(many_timers_with_random_deadlines_fire_in_order)
{
  asio_uring::io_context ctx;
  std::mt19937 gen(20240611);
  std::uniform_int_distribution<int> offset_us(0, 60'000);
  const time_point base = clock_type::now() + std::chrono::milliseconds(5);
  constexpr int count = 300;
  std::vector<std::unique_ptr<timer_type>> timers;
  std::vector<time_point> fired;
  int failures = 0;
  for (int i = 0; i < count; ++i)
  {
    auto t = std::make_unique<timer_type>(ctx,
        base + std::chrono::microseconds(offset_us(gen)));
    const time_point expiry = t->expiry();
    t->async_wait([&, expiry](boost::system::error_code ec) {
      if (ec || clock_type::now() < expiry)
        ++failures;
      fired.push_back(expiry);
    });
    timers.push_back(std::move(t));
  }
  BOOST_TEST(ctx.run_for(hang_guard) == std::size_t(count));
  BOOST_TEST(fired.size() == std::size_t(count));
  BOOST_TEST(failures == 0);
  BOOST_TEST(std::is_sorted(fired.begin(), fired.end()));
}

BOOST_AUTO_TEST_CASE(timers_with_equal_deadlines_all_fire)
{
  asio_uring::io_context ctx;
  const time_point when = clock_type::now() + std::chrono::milliseconds(5);
  std::vector<std::unique_ptr<timer_type>> timers;
  std::vector<wait_result> r(50);
  for (auto& x : r)
  {
    timers.push_back(std::make_unique<timer_type>(ctx, when));
    timers.back()->async_wait(record(x, when));
  }
  BOOST_TEST(ctx.run_for(hang_guard) == r.size());
  for (auto& x : r)
  {
    BOOST_TEST(x.calls == 1);
    BOOST_TEST(!x.ec);
    BOOST_TEST(x.after_expiry);
  }
}

BOOST_AUTO_TEST_CASE(timers_of_two_contexts_are_independent)
{
  asio_uring::io_context ctx1, ctx2;
  timer_type slow(ctx1, far_away);
  timer_type fast(ctx2, std::chrono::milliseconds(5));
  wait_result rs, rf;
  slow.async_wait(record(rs));
  fast.async_wait(record(rf));
  // ctx2 runs out of work although ctx1 still has a pending timer.
  BOOST_TEST(ctx2.run_for(hang_guard) == 1u);
  BOOST_TEST(ctx2.stopped());
  BOOST_TEST(rf.calls == 1);
  BOOST_TEST(rs.calls == 0);
  BOOST_TEST(slow.cancel() == 1u);
  ctx1.run_for(hang_guard);
  BOOST_TEST((rs.ec == boost::asio::error::operation_aborted));
}

// ---------------------------------------------------------------------------
// Cancellation through the timer.

BOOST_AUTO_TEST_CASE(cancel_aborts_all_pending_waits_and_returns_count)
{
  asio_uring::io_context ctx;
  timer_type t(ctx, far_away);
  std::vector<wait_result> r(3);
  for (auto& x : r)
    t.async_wait(record(x));
  const time_point expiry = t.expiry();
  BOOST_TEST(t.cancel() == 3u);
  BOOST_TEST(t.cancel() == 0u);
  BOOST_TEST((t.expiry() == expiry));  // cancel keeps the expiry
  for (auto& x : r)
    BOOST_TEST(x.calls == 0);  // never inside cancel()
  BOOST_TEST(ctx.run_for(hang_guard) == 3u);
  for (auto& x : r)
  {
    BOOST_TEST(x.calls == 1);
    BOOST_TEST((x.ec == boost::asio::error::operation_aborted));
  }
}

BOOST_AUTO_TEST_CASE(cancel_on_idle_timer_returns_zero)
{
  asio_uring::io_context ctx;
  timer_type t(ctx, far_away);
  BOOST_TEST(t.cancel() == 0u);
  BOOST_TEST(t.cancel_one() == 0u);
  BOOST_TEST(ctx.run_for(hang_guard) == 0u);
}

BOOST_AUTO_TEST_CASE(cancel_after_expiry_cannot_cancel_completed_wait)
{
  asio_uring::io_context ctx;
  timer_type t(ctx, std::chrono::milliseconds(1));
  wait_result r;
  t.async_wait(record(r));
  ctx.run_for(hang_guard);
  BOOST_TEST(t.cancel() == 0u);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(!r.ec);
}

BOOST_AUTO_TEST_CASE(cancel_one_aborts_oldest_wait_only)
{
  asio_uring::io_context ctx;
  timer_type t(ctx, std::chrono::milliseconds(10));
  wait_result first, second;
  t.async_wait(record(first));
  t.async_wait(record(second, t.expiry()));
  BOOST_TEST(t.cancel_one() == 1u);
  ctx.run_for(hang_guard);
  BOOST_TEST(first.calls == 1);
  BOOST_TEST((first.ec == boost::asio::error::operation_aborted));
  BOOST_TEST(second.calls == 1);
  BOOST_TEST(!second.ec);
  BOOST_TEST(second.after_expiry);
}

BOOST_AUTO_TEST_CASE(cancel_one_repeatedly_drains_waits)
{
  asio_uring::io_context ctx;
  timer_type t(ctx, far_away);
  std::vector<wait_result> r(3);
  for (auto& x : r)
    t.async_wait(record(x));
  BOOST_TEST(t.cancel_one() == 1u);
  BOOST_TEST(t.cancel_one() == 1u);
  BOOST_TEST(t.cancel_one() == 1u);
  BOOST_TEST(t.cancel_one() == 0u);
  BOOST_TEST(ctx.run_for(hang_guard) == 3u);
  for (auto& x : r)
    BOOST_TEST((x.ec == boost::asio::error::operation_aborted));
}

BOOST_AUTO_TEST_CASE(expires_at_cancels_pending_waits)
{
  asio_uring::io_context ctx;
  timer_type t(ctx, far_away);
  wait_result a, b, c;
  t.async_wait(record(a));
  t.async_wait(record(b));
  const time_point soon = clock_type::now() + std::chrono::milliseconds(5);
  BOOST_TEST(t.expires_at(soon) == 2u);
  BOOST_TEST((t.expiry() == soon));
  t.async_wait(record(c, soon));
  BOOST_TEST(ctx.run_for(hang_guard) == 3u);
  BOOST_TEST((a.ec == boost::asio::error::operation_aborted));
  BOOST_TEST((b.ec == boost::asio::error::operation_aborted));
  BOOST_TEST(c.calls == 1);
  BOOST_TEST(!c.ec);
  BOOST_TEST(c.after_expiry);
}

BOOST_AUTO_TEST_CASE(expires_after_cancels_pending_waits)
{
  asio_uring::io_context ctx;
  timer_type t(ctx, far_away);
  wait_result a, b;
  t.async_wait(record(a));
  BOOST_TEST(t.expires_after(std::chrono::milliseconds(5)) == 1u);
  BOOST_TEST(t.expires_after(std::chrono::milliseconds(5)) == 0u);
  t.async_wait(record(b, t.expiry()));
  BOOST_TEST(ctx.run_for(hang_guard) == 2u);
  BOOST_TEST((a.ec == boost::asio::error::operation_aborted));
  BOOST_TEST(!b.ec);
  BOOST_TEST(b.after_expiry);
}

BOOST_AUTO_TEST_CASE(destroying_timer_aborts_pending_waits)
{
  asio_uring::io_context ctx;
  wait_result a, b;
  {
    timer_type t(ctx, far_away);
    t.async_wait(record(a));
    t.async_wait(record(b));
  }
  BOOST_TEST(a.calls == 0);
  BOOST_TEST(ctx.run_for(hang_guard) == 2u);
  BOOST_TEST((a.ec == boost::asio::error::operation_aborted));
  BOOST_TEST((b.ec == boost::asio::error::operation_aborted));
}

BOOST_AUTO_TEST_CASE(cancel_from_handler_of_another_timer_aborts_wait)
{
  asio_uring::io_context ctx;
  timer_type victim(ctx, far_away);
  timer_type trigger(ctx, std::chrono::milliseconds(1));
  wait_result r;
  std::size_t cancelled = 0;
  victim.async_wait(record(r));
  trigger.async_wait([&](boost::system::error_code) {
    cancelled = victim.cancel();
  });
  BOOST_TEST(ctx.run_for(hang_guard) == 2u);
  BOOST_TEST(cancelled == 1u);
  BOOST_TEST((r.ec == boost::asio::error::operation_aborted));
}

// ---------------------------------------------------------------------------
// Destroying the context with waits pending.

BOOST_AUTO_TEST_CASE(destroying_context_destroys_pending_handler_uninvoked)
{
  auto token = std::make_shared<int>(0);
  bool invoked = false;
  {
    asio_uring::io_context ctx;
    // The handler owns its timer: only the context's shutdown breaks the
    // cycle, destroying handler and timer without invoking the handler.
    auto t = std::make_shared<timer_type>(ctx, far_away);
    t->async_wait([t, token, &invoked](boost::system::error_code) {
      invoked = true;
    });
    t.reset();
    ctx.run_for(std::chrono::milliseconds(5));
    BOOST_TEST(token.use_count() == 2);
  }
  BOOST_TEST(!invoked);
  BOOST_TEST(token.use_count() == 1);
}

BOOST_AUTO_TEST_CASE(destroying_context_destroys_cancelled_unrun_handler)
{
  auto token = std::make_shared<int>(0);
  bool invoked = false;
  {
    asio_uring::io_context ctx;
    timer_type t(ctx, far_away);
    t.async_wait([token, &invoked](boost::system::error_code) {
      invoked = true;
    });
    BOOST_TEST(t.cancel() == 1u);
    // The aborted completion is queued, never run: the context destroys it
    // (after the timer itself is gone).
  }
  BOOST_TEST(!invoked);
  BOOST_TEST(token.use_count() == 1);
}

BOOST_AUTO_TEST_CASE(destroying_context_destroys_suspended_coroutine)
{
  auto token = std::make_shared<int>(0);
  bool resumed = false;
  {
    asio_uring::io_context ctx;
    boost::asio::co_spawn(ctx,
        [token, &resumed]() -> boost::asio::awaitable<void> {
          timer_type t(co_await boost::asio::this_coro::executor, far_away);
          auto keep = token;
          co_await t.async_wait(boost::asio::use_awaitable);
          resumed = true;
        },
        boost::asio::detached);
    ctx.run_for(std::chrono::milliseconds(5));
    BOOST_TEST(token.use_count() >= 2);
  }
  BOOST_TEST(!resumed);
  BOOST_TEST(token.use_count() == 1);
}

// ---------------------------------------------------------------------------
// Per-operation cancellation.

void check_slot_cancels_only_its_wait(boost::asio::cancellation_type_t type)
{
  boost::asio::cancellation_signal signal;  // outlives the context
  asio_uring::io_context ctx;
  timer_type t(ctx, far_away);
  wait_result bound, other;
  t.async_wait(boost::asio::bind_cancellation_slot(signal.slot(),
      record(bound)));
  t.async_wait(record(other));
  signal.emit(type);
  BOOST_TEST(bound.calls == 0);  // never inside emit()
  ctx.run_for(std::chrono::milliseconds(5));
  BOOST_TEST(bound.calls == 1);
  BOOST_TEST((bound.ec == boost::asio::error::operation_aborted));
  BOOST_TEST(other.calls == 0);
  BOOST_TEST(t.cancel() == 1u);
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(other.calls == 1);
  // The slot was released when the wait completed: emitting again is
  // harmless.
  signal.emit(type);
}

BOOST_AUTO_TEST_CASE(terminal_cancellation_aborts_only_that_wait)
{
  check_slot_cancels_only_its_wait(boost::asio::cancellation_type::terminal);
}

BOOST_AUTO_TEST_CASE(partial_cancellation_aborts_only_that_wait)
{
  check_slot_cancels_only_its_wait(boost::asio::cancellation_type::partial);
}

BOOST_AUTO_TEST_CASE(total_cancellation_aborts_only_that_wait)
{
  check_slot_cancels_only_its_wait(boost::asio::cancellation_type::total);
}

BOOST_AUTO_TEST_CASE(cancellation_after_expiry_has_no_effect)
{
  boost::asio::cancellation_signal signal;
  asio_uring::io_context ctx;
  timer_type t(ctx, std::chrono::milliseconds(1));
  wait_result r;
  t.async_wait(boost::asio::bind_cancellation_slot(signal.slot(), record(r)));
  ctx.run_for(hang_guard);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(!r.ec);
  signal.emit(boost::asio::cancellation_type::terminal);
  ctx.restart();
  BOOST_TEST(ctx.poll() == 0u);
  BOOST_TEST(r.calls == 1);
}

BOOST_AUTO_TEST_CASE(cancellation_slot_follows_wait_to_moved_timer)
{
  boost::asio::cancellation_signal signal;
  asio_uring::io_context ctx;
  timer_type t1(ctx, far_away);
  wait_result r;
  t1.async_wait(boost::asio::bind_cancellation_slot(signal.slot(), record(r)));
  timer_type t2(std::move(t1));
  signal.emit(boost::asio::cancellation_type::terminal);
  ctx.run_for(hang_guard);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST((r.ec == boost::asio::error::operation_aborted));
  BOOST_TEST(t2.cancel() == 0u);
}

BOOST_AUTO_TEST_CASE(cancelling_coroutine_aborts_its_wait)
{
  boost::asio::cancellation_signal signal;
  asio_uring::io_context ctx;
  boost::system::error_code wait_ec;
  bool done = false;
  boost::asio::co_spawn(ctx,
      [&]() -> boost::asio::awaitable<void> {
        timer_type t(co_await boost::asio::this_coro::executor, far_away);
        co_await t.async_wait(
            boost::asio::redirect_error(boost::asio::use_awaitable, wait_ec));
      },
      boost::asio::bind_cancellation_slot(signal.slot(),
          [&](std::exception_ptr e) {
            done = true;
            if (e)
              std::rethrow_exception(e);
          }));
  boost::asio::post(ctx, [&] {
    signal.emit(boost::asio::cancellation_type::terminal);
  });
  ctx.run_for(hang_guard);
  BOOST_TEST(done);
  BOOST_TEST((wait_ec == boost::asio::error::operation_aborted));
}

// ---------------------------------------------------------------------------
// Completion tokens.

BOOST_AUTO_TEST_CASE(use_awaitable_resumes_coroutine_after_expiry)
{
  asio_uring::io_context ctx;
  bool resumed = false;
  bool after_expiry = false;
  boost::system::error_code cancelled_ec;
  boost::asio::co_spawn(ctx,
      [&]() -> boost::asio::awaitable<void> {
        timer_type t(co_await boost::asio::this_coro::executor,
            std::chrono::milliseconds(5));
        co_await t.async_wait(boost::asio::use_awaitable);
        after_expiry = !(clock_type::now() < t.expiry());
        resumed = true;

        // A cancelled wait throws operation_aborted into the coroutine.
        t.expires_after(far_away);
        boost::asio::post(co_await boost::asio::this_coro::executor,
            [&t] { t.cancel(); });
        try
        {
          co_await t.async_wait(boost::asio::use_awaitable);
        }
        catch (const boost::system::system_error& e)
        {
          cancelled_ec = e.code();
        }
      },
      [](std::exception_ptr e) {
        if (e)
          std::rethrow_exception(e);
      });
  ctx.run_for(hang_guard);
  BOOST_TEST(resumed);
  BOOST_TEST(after_expiry);
  BOOST_TEST((cancelled_ec == boost::asio::error::operation_aborted));
}

BOOST_AUTO_TEST_CASE(use_future_completes_from_thread_running_context)
{
  asio_uring::io_context ctx;
  auto guard = boost::asio::make_work_guard(ctx);
  std::thread runner([&] { ctx.run_for(hang_guard); });

  timer_type t(ctx, std::chrono::milliseconds(5));
  std::future<void> ok = t.async_wait(boost::asio::use_future);
  BOOST_TEST((ok.wait_for(hang_guard) == std::future_status::ready));
  BOOST_CHECK_NO_THROW(ok.get());

  t.expires_after(far_away);
  std::future<void> aborted = t.async_wait(boost::asio::use_future);
  BOOST_TEST(t.cancel() == 1u);
  BOOST_TEST((aborted.wait_for(hang_guard) == std::future_status::ready));
  try
  {
    aborted.get();
    BOOST_ERROR("a cancelled wait must throw");
  }
  catch (const boost::system::system_error& e)
  {
    BOOST_TEST((e.code() == boost::asio::error::operation_aborted));
  }

  guard.reset();
  runner.join();
}

BOOST_AUTO_TEST_CASE(deferred_starts_wait_only_when_invoked)
{
  asio_uring::io_context ctx;
  timer_type t(ctx, std::chrono::milliseconds(1));
  auto op = t.async_wait(boost::asio::deferred);
  // Nothing armed yet: no work, run() returns at once.
  BOOST_TEST(ctx.run_for(hang_guard) == 0u);
  BOOST_TEST(t.cancel() == 0u);

  wait_result r;
  std::move(op)(record(r, t.expiry()));
  ctx.restart();
  BOOST_TEST(ctx.run_for(hang_guard) == 1u);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(!r.ec);
  BOOST_TEST(r.after_expiry);
}

BOOST_AUTO_TEST_CASE(as_tuple_delivers_error_code_in_tuple)
{
  asio_uring::io_context ctx;
  timer_type t(ctx, far_away);
  int calls = 0;
  boost::system::error_code got;
  t.async_wait(boost::asio::as_tuple(
      [&](std::tuple<boost::system::error_code> result) {
        ++calls;
        got = std::get<0>(result);
      }));
  t.cancel();
  ctx.run_for(hang_guard);
  BOOST_TEST(calls == 1);
  BOOST_TEST((got == boost::asio::error::operation_aborted));
}

BOOST_AUTO_TEST_CASE(redirect_error_stores_error_code)
{
  asio_uring::io_context ctx;
  timer_type t(ctx, far_away);
  boost::system::error_code ec;
  int calls = 0;
  t.async_wait(boost::asio::redirect_error([&] { ++calls; }, ec));
  t.cancel();
  ctx.run_for(hang_guard);
  BOOST_TEST(calls == 1);
  BOOST_TEST((ec == boost::asio::error::operation_aborted));

  t.expires_after(std::chrono::milliseconds(1));
  ec = boost::asio::error::fault;
  t.async_wait(boost::asio::redirect_error([&] { ++calls; }, ec));
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(calls == 2);
  BOOST_TEST(!ec);
}

BOOST_AUTO_TEST_CASE(bind_executor_runs_handler_on_strand)
{
  asio_uring::io_context ctx;
  auto strand = boost::asio::make_strand(ctx);
  timer_type t(ctx, std::chrono::milliseconds(1));
  bool on_strand = false;
  wait_result r;
  t.async_wait(boost::asio::bind_executor(strand,
      [&](boost::system::error_code ec) {
        on_strand = strand.running_in_this_thread();
        record(r)(ec);
      }));
  ctx.run_for(hang_guard);
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(!r.ec);
  BOOST_TEST(on_strand);
}

BOOST_AUTO_TEST_CASE(bind_executor_to_other_context_keeps_it_busy)
{
  asio_uring::io_context timers, handlers;
  timer_type t(timers, std::chrono::milliseconds(1));
  wait_result r;
  t.async_wait(boost::asio::bind_executor(handlers, record(r)));
  // The handler's own context has work until the handler ran there.
  std::thread runner([&] { handlers.run_for(hang_guard); });
  timers.run_for(hang_guard);
  runner.join();
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(!r.ec);
}

BOOST_AUTO_TEST_CASE(detached_wait_keeps_run_going_until_expiry)
{
  asio_uring::io_context ctx;
  timer_type t(ctx, std::chrono::milliseconds(5));
  t.async_wait(boost::asio::detached);
  ctx.run_for(hang_guard);
  BOOST_TEST(ctx.stopped());
  BOOST_TEST(!(clock_type::now() < t.expiry()));
}

// ---------------------------------------------------------------------------
// Threads.

// The runner threads below call run(), not run_for(): run_for() wakes up at
// least every second on its own, which would hide a missing wake-up. If the
// wake-up fails, the case fails after the guard and stop() ends the runner.

// Waits up to the guard for f; if it is not ready, stops ctx so that its
// runner thread returns.
template <typename T>
bool ready_or_stop(std::future<T>& f, asio_uring::io_context& ctx)
{
  if (f.wait_for(hang_guard) == std::future_status::ready)
    return true;
  ctx.stop();
  return false;
}

BOOST_AUTO_TEST_CASE(wait_armed_from_another_thread_wakes_sleeping_run)
{
  asio_uring::io_context ctx;
  auto guard = boost::asio::make_work_guard(ctx);
  std::thread runner([&] { ctx.run(); });
  // Give run() time to fall asleep in io_uring_enter with nothing to do.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));

  timer_type t(ctx, std::chrono::milliseconds(5));
  std::promise<boost::system::error_code> p;
  auto f = p.get_future();
  t.async_wait([&](boost::system::error_code ec) { p.set_value(ec); });
  const bool ready = ready_or_stop(f, ctx);
  BOOST_TEST(ready);
  if (ready)
    BOOST_TEST(!f.get());

  guard.reset();
  runner.join();
}

BOOST_AUTO_TEST_CASE(earlier_timer_armed_from_another_thread_wakes_run)
{
  asio_uring::io_context ctx;
  timer_type late(ctx, far_away);
  std::promise<boost::system::error_code> late_p;
  auto late_f = late_p.get_future();
  late.async_wait([&](boost::system::error_code ec) { late_p.set_value(ec); });
  std::thread runner([&] { ctx.run(); });
  // run() now sleeps until the late deadline (capped at minutes).
  std::this_thread::sleep_for(std::chrono::milliseconds(20));

  timer_type early(ctx, std::chrono::milliseconds(5));
  std::promise<boost::system::error_code> p;
  auto f = p.get_future();
  early.async_wait([&](boost::system::error_code ec) { p.set_value(ec); });
  const bool ready = ready_or_stop(f, ctx);
  BOOST_TEST(ready);
  if (ready)
    BOOST_TEST(!f.get());

  BOOST_TEST(late.cancel() == 1u);
  const bool late_ready = ready_or_stop(late_f, ctx);
  BOOST_TEST(late_ready);
  runner.join();
  if (late_ready)
    BOOST_TEST((late_f.get() == boost::asio::error::operation_aborted));
}

BOOST_AUTO_TEST_CASE(cancel_from_another_thread_wakes_sleeping_run)
{
  asio_uring::io_context ctx;
  timer_type t(ctx, far_away);
  std::promise<boost::system::error_code> p;
  auto f = p.get_future();
  t.async_wait([&](boost::system::error_code ec) { p.set_value(ec); });
  std::thread runner([&] { ctx.run(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  BOOST_TEST(t.cancel() == 1u);
  const bool ready = ready_or_stop(f, ctx);
  BOOST_TEST(ready);
  runner.join();
  if (ready)
    BOOST_TEST((f.get() == boost::asio::error::operation_aborted));
  BOOST_TEST(ctx.stopped());
}

BOOST_AUTO_TEST_CASE(timers_complete_with_several_threads_running)
{
  asio_uring::io_context ctx;
  constexpr int count = 200;
  std::mt19937 gen(7);
  std::uniform_int_distribution<int> offset_us(0, 30'000);
  std::vector<std::unique_ptr<timer_type>> timers;
  std::atomic<int> succeeded{0};
  for (int i = 0; i < count; ++i)
  {
    timers.push_back(std::make_unique<timer_type>(ctx,
        std::chrono::microseconds(offset_us(gen))));
    timers.back()->async_wait([&](boost::system::error_code ec) {
      if (!ec)
        ++succeeded;
    });
  }
  std::thread a([&] { ctx.run_for(hang_guard); });
  std::thread b([&] { ctx.run_for(hang_guard); });
  a.join();
  b.join();
  BOOST_TEST(succeeded.load() == count);
  BOOST_TEST(ctx.stopped());
}

// ---------------------------------------------------------------------------
// Synchronous wait.

BOOST_AUTO_TEST_CASE(wait_blocks_until_expiry)
{
  asio_uring::io_context ctx;
  timer_type t(ctx, std::chrono::milliseconds(20));
  t.wait();
  BOOST_TEST(!(clock_type::now() < t.expiry()));

  t.expires_after(std::chrono::milliseconds(5));
  boost::system::error_code ec = boost::asio::error::fault;
  t.wait(ec);
  BOOST_TEST(!ec);
  BOOST_TEST(!(clock_type::now() < t.expiry()));
}

BOOST_AUTO_TEST_CASE(wait_on_expired_timer_returns)
{
  asio_uring::io_context ctx;
  timer_type t(ctx);
  boost::system::error_code ec = boost::asio::error::fault;
  t.wait(ec);
  BOOST_TEST(!ec);
  BOOST_CHECK_NO_THROW(t.wait());
}

// ---------------------------------------------------------------------------
// Moves.

BOOST_AUTO_TEST_CASE(move_construct_transfers_expiry_and_pending_waits)
{
  asio_uring::io_context ctx;
  timer_type t1(ctx, far_away);
  const time_point expiry = t1.expiry();
  wait_result r;
  t1.async_wait(record(r));
  timer_type t2(std::move(t1));
  BOOST_TEST((t2.expiry() == expiry));
  BOOST_TEST((t1.expiry() == time_point()));
  BOOST_TEST((t1.get_executor() == t2.get_executor()));
  BOOST_TEST(t1.cancel() == 0u);
  BOOST_TEST(t2.cancel() == 1u);
  ctx.run_for(hang_guard);
  BOOST_TEST((r.ec == boost::asio::error::operation_aborted));
}

BOOST_AUTO_TEST_CASE(moved_timer_fires_its_waits)
{
  asio_uring::io_context ctx;
  auto t1 = std::make_unique<timer_type>(ctx, std::chrono::milliseconds(5));
  wait_result r;
  t1->async_wait(record(r, t1->expiry()));
  timer_type t2(std::move(*t1));
  t1.reset();  // destroying the moved-from timer cancels nothing
  BOOST_TEST(ctx.run_for(hang_guard) == 1u);
  BOOST_TEST(!r.ec);
  BOOST_TEST(r.after_expiry);

  // The moved-from object was usable like a fresh one.
  timer_type t3(ctx);
  timer_type t4(std::move(t3));
  t3.expires_after(std::chrono::milliseconds(1));
  wait_result r3;
  t3.async_wait(record(r3));
  ctx.restart();
  ctx.run_for(hang_guard);
  BOOST_TEST(r3.calls == 1);
  BOOST_TEST(!r3.ec);
}

BOOST_AUTO_TEST_CASE(move_assign_aborts_target_waits_and_takes_source_waits)
{
  asio_uring::io_context ctx;
  timer_type target(ctx, far_away);
  timer_type source(ctx, std::chrono::minutes(30));
  const time_point source_expiry = source.expiry();
  wait_result a, b;
  target.async_wait(record(a));
  source.async_wait(record(b));
  target = std::move(source);
  BOOST_TEST((target.expiry() == source_expiry));
  BOOST_TEST((source.expiry() == time_point()));
  BOOST_TEST(source.cancel() == 0u);
  ctx.poll();
  BOOST_TEST(a.calls == 1);
  BOOST_TEST((a.ec == boost::asio::error::operation_aborted));
  BOOST_TEST(b.calls == 0);
  BOOST_TEST(target.cancel() == 1u);
  ctx.run_for(hang_guard);
  BOOST_TEST((b.ec == boost::asio::error::operation_aborted));

  // Self-move leaves the timer intact.
  timer_type& alias = target;
  target.async_wait(record(b));
  target = std::move(alias);
  BOOST_TEST(target.cancel() == 1u);
}

BOOST_AUTO_TEST_CASE(move_assign_across_contexts_rebinds_timer)
{
  asio_uring::io_context ctx1, ctx2;
  timer_type target(ctx1, far_away);
  timer_type source(ctx2, std::chrono::milliseconds(5));
  wait_result a, b;
  target.async_wait(record(a));
  source.async_wait(record(b, source.expiry()));
  target = std::move(source);
  BOOST_TEST((target.get_executor()
      == boost::asio::any_io_executor(ctx2.get_executor())));
  BOOST_TEST(ctx1.run_for(hang_guard) == 1u);
  BOOST_TEST((a.ec == boost::asio::error::operation_aborted));
  BOOST_TEST(ctx2.run_for(hang_guard) == 1u);
  BOOST_TEST(b.calls == 1);
  BOOST_TEST(!b.ec);
  BOOST_TEST(b.after_expiry);
}

BOOST_AUTO_TEST_CASE(move_across_executor_types_transfers_waits)
{
  using native_timer = typename timer_type::template rebind_executor<
      asio_uring::io_context::executor_type>::other;
  asio_uring::io_context ctx;
  native_timer n(ctx, far_away);
  wait_result a, b;
  n.async_wait(record(a));
  timer_type t(std::move(n));
  BOOST_TEST(n.cancel() == 0u);
  BOOST_TEST(t.cancel() == 1u);

  native_timer m(ctx, far_away);
  m.async_wait(record(b));
  timer_type u(ctx);
  u = std::move(m);
  BOOST_TEST(m.cancel() == 0u);
  BOOST_TEST(u.cancel() == 1u);
  ctx.run_for(hang_guard);
  BOOST_TEST((a.ec == boost::asio::error::operation_aborted));
  BOOST_TEST((b.ec == boost::asio::error::operation_aborted));
}

BOOST_AUTO_TEST_CASE(timers_in_growing_vector_keep_their_waits)
{
  asio_uring::io_context ctx;
  std::vector<timer_type> timers;
  // Growth moves every timer: their pending waits must follow.
  std::vector<wait_result> r(20);
  for (auto& x : r)
  {
    timers.emplace_back(ctx, std::chrono::milliseconds(2));
    timers.back().async_wait(record(x, timers.back().expiry()));
  }
  BOOST_TEST(ctx.run_for(hang_guard) == r.size());
  for (auto& x : r)
  {
    BOOST_TEST(x.calls == 1);
    BOOST_TEST(!x.ec);
    BOOST_TEST(x.after_expiry);
  }
}
