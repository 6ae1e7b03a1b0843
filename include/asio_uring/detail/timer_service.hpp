// The per-context, per-clock timer service: owns the clock's timer queue,
// registers it with the scheduler (whose run loop sleeps in io_uring_enter
// until the earliest deadline), and implements every timer operation.
#pragma once

#include <asio_uring/detail/handler_alloc.hpp>
#include <asio_uring/detail/scheduler.hpp>
#include <asio_uring/detail/timer_queue.hpp>
#include <asio_uring/detail/wait_op.hpp>
#include <asio_uring/io_context.hpp>

#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>

namespace asio_uring::detail {

template <typename Clock, typename WaitTraits>
class timer_service final : public boost::asio::execution_context::service
{
public:
  using queue_type = timer_queue<Clock, WaitTraits>;
  using time_point = typename Clock::time_point;
  using duration = typename Clock::duration;

  // One service per Clock/WaitTraits pair and context.
  static inline boost::asio::execution_context::id id;

  // The state of one timer object.
  struct implementation_type
  {
    time_point expiry{};                    // the deadline of new waits
    bool might_have_pending_waits = false;  // false: cancel() needs no lock
    per_timer_data timer_data;              // the timer's place in queue_
  };

  // Throws std::invalid_argument when ctx is not an asio_uring::io_context.
  explicit timer_service(boost::asio::execution_context& ctx)
    : boost::asio::execution_context::service(ctx),
      scheduler_(scheduler_of(ctx))
  {
    scheduler_.add_timer_queue(queue_);
  }

  ~timer_service() override { scheduler_.remove_timer_queue(queue_); }

  timer_service(const timer_service&) = delete;
  timer_service& operator=(const timer_service&) = delete;

  // Destroys the timer: its pending waits complete with operation_aborted.
  void destroy(implementation_type& impl) { cancel(impl); }

  // Gives other_impl's expiry and pending waits to the fresh impl; other_impl
  // is left as if just constructed.
  void move_construct(implementation_type& impl,
      implementation_type& other_impl)
  {
    if (other_impl.might_have_pending_waits)
      scheduler_.move_timer(queue_, impl.timer_data, other_impl.timer_data);
    impl.expiry = std::exchange(other_impl.expiry, time_point());
    impl.might_have_pending_waits =
        std::exchange(other_impl.might_have_pending_waits, false);
  }

  // Cancels impl's waits (in this service), then takes over other_impl,
  // which belongs to other_service (possibly another context's).
  void move_assign(implementation_type& impl, timer_service& other_service,
      implementation_type& other_impl)
  {
    cancel(impl);
    other_service.move_construct(impl, other_impl);
  }

  // Cancels every pending wait; returns how many.
  std::size_t cancel(implementation_type& impl)
  {
    if (!impl.might_have_pending_waits)
      return 0;
    std::size_t n = scheduler_.cancel_timer(queue_, impl.timer_data);
    impl.might_have_pending_waits = false;
    return n;
  }

  // Cancels the oldest pending wait; returns how many (0 or 1).
  std::size_t cancel_one(implementation_type& impl)
  {
    if (!impl.might_have_pending_waits)
      return 0;
    return scheduler_.cancel_timer(queue_, impl.timer_data, 1);
  }

  // Sets the expiry, cancelling pending waits; returns how many.
  std::size_t expires_at(implementation_type& impl, const time_point& t)
  {
    std::size_t n = cancel(impl);
    impl.expiry = t;
    return n;
  }

  std::size_t expires_after(implementation_type& impl, const duration& d)
  {
    return expires_at(impl, saturating_add(Clock::now(), d));
  }

  // The expiry relative to now (clamped, never overflowing).
  duration expires_from_now(const implementation_type& impl) const
  {
    return saturating_subtract(impl.expiry, Clock::now());
  }

  // Blocks the calling thread until the expiry has passed (Boost.Asio's
  // timers sleep too: nothing else can make a synchronous wait return).
  void wait(implementation_type& impl, boost::system::error_code& ec)
  {
    ec.clear();
    time_point now = Clock::now();
    while (now < impl.expiry)
    {
      // Sleeps are capped so that a clock that jumps is rechecked.
      long long ns = to_wait_ns(WaitTraits::to_wait_duration(
                                    saturating_subtract(impl.expiry, now)),
          max_sleep_ns);
      std::this_thread::sleep_for(std::chrono::nanoseconds(ns));
      now = Clock::now();
    }
  }

  // Arms a wait for impl's expiry. The handler runs from the run loop, never
  // inside this call, with success once the deadline passed (at once, on
  // the next loop turn, if it already had) or operation_aborted.
  template <typename Handler, typename IoExecutor>
  void async_wait(implementation_type& impl, Handler&& handler,
      const IoExecutor& io_ex)
  {
    using handler_type = std::decay_t<Handler>;
    using op = wait_handler<handler_type, IoExecutor>;
    using allocator_type = boost::asio::associated_allocator_t<handler_type>;
    allocator_type alloc(boost::asio::get_associated_allocator(handler));
    op_ptr<op, allocator_type> p(alloc);
    op* o = p.construct(static_cast<Handler&&>(handler), io_ex);

    auto slot = boost::asio::get_associated_cancellation_slot(o->handler());
    if (slot.is_connected())
      o->gate_ = &slot.template emplace<cancel_handler>(scheduler_, queue_, o)
                      .gate_;

    impl.might_have_pending_waits = true;
    try
    {
      scheduler_.schedule_timer(queue_, impl.expiry, impl.timer_data, o);
    }
    catch (...)
    {
      // Not queued (std::bad_alloc from the heap): p destroys the op.
      if (slot.is_connected())
        slot.clear();
      throw;
    }
    // Lifetime: from here the queue and then the run loop own the op.
    p.release();
  }

private:
  // The longest single sleep of wait(), in nanoseconds.
  static constexpr long long max_sleep_ns = 300'000'000'000LL;

  // Per-operation cancellation: terminal, partial and total all cancel just
  // this wait. Lives in the handler's slot; the op closes the gate before it
  // is freed (see cancellation_gate), so no emit reaches a freed op.
  class cancel_handler
  {
  public:
    cancel_handler(scheduler& s, queue_type& q, wait_op* op) noexcept
      : s_(s), q_(q), gate_(op)
    {
    }

    void operator()(boost::asio::cancellation_type_t type)
    {
      using boost::asio::cancellation_type;
      if ((type & (cancellation_type::terminal | cancellation_type::partial
                | cancellation_type::total)) != cancellation_type::none)
        gate_.with_op([this](void* op) {
          s_.cancel_timer_op(q_, static_cast<wait_op*>(op));
        });
    }

    scheduler& s_;
    queue_type& q_;
    cancellation_gate gate_;
  };

  void shutdown() override
  {
    // Nothing to do: io_context shuts its scheduler down first, which
    // destroys every pending wait through get_all_timers.
  }

  static scheduler& scheduler_of(boost::asio::execution_context& ctx)
  {
    if (io_context* p = io_context::from(ctx))
      return p->impl();
    throw std::invalid_argument("asio_uring: timers need an executor of an "
                                "asio_uring::io_context");
  }

  scheduler& scheduler_;  // whose mutex guards queue_
  queue_type queue_;      // registered with scheduler_ for our lifetime
};

} // namespace asio_uring::detail
