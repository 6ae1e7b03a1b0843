// The timers of one clock: a min-heap of deadlines, each timer carrying the
// waits armed on it. The scheduler drives it under its own mutex: every
// member below is called with that mutex held.
#pragma once

#include <asio_uring/detail/op_queue.hpp>
#include <asio_uring/detail/timer_queue_base.hpp>
#include <asio_uring/detail/wait_op.hpp>

#include <boost/asio/error.hpp>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <type_traits>
#include <vector>

namespace asio_uring::detail {

// t + d, clamped to the time point's range (expires_after(duration::max())
// must not overflow).
template <typename TimePoint>
TimePoint saturating_add(const TimePoint& t,
    const typename TimePoint::duration& d) noexcept
{
  using duration = typename TimePoint::duration;
  using rep = typename duration::rep;
  if constexpr (std::is_integral_v<rep>)
  {
    rep r;
    if (__builtin_add_overflow(t.time_since_epoch().count(), d.count(), &r))
      return d.count() > 0 ? (TimePoint::max)() : (TimePoint::min)();
    return TimePoint(duration(r));
  }
  else
    return t + d;
}

// a - b, clamped to the duration's range.
template <typename TimePoint>
typename TimePoint::duration saturating_subtract(const TimePoint& a,
    const TimePoint& b) noexcept
{
  using duration = typename TimePoint::duration;
  using rep = typename duration::rep;
  if constexpr (std::is_integral_v<rep>)
  {
    rep r;
    if (__builtin_sub_overflow(a.time_since_epoch().count(),
            b.time_since_epoch().count(), &r))
      return a > b ? (duration::max)() : (duration::min)();
    return duration(r);
  }
  else
    return a - b;
}

// d in whole nanoseconds for a kernel wait: rounded up (never wake before
// the deadline), 0 when not positive, at most max_ns.
template <typename Duration>
long long to_wait_ns(const Duration& d, long long max_ns) noexcept
{
  if (!(d > Duration::zero()))
    return 0;
  // Through double: any clock's duration converts without overflow, and
  // values below max_ns (minutes) keep sub-nanosecond precision.
  const double ns =
      std::chrono::duration_cast<std::chrono::duration<double, std::nano>>(d)
          .count();
  if (!(ns < static_cast<double>(max_ns)))
    return max_ns;
  return static_cast<long long>(std::ceil(ns));
}

// A timer's state in its queue: the waits armed on it (oldest first) and
// its slot in the heap. Lives inside the timer object; the queue only
// points at it. Guarded by the scheduler's mutex.
class per_timer_data
{
public:
  per_timer_data() = default;
  per_timer_data(const per_timer_data&) = delete;
  per_timer_data& operator=(const per_timer_data&) = delete;

private:
  template <typename, typename> friend class timer_queue;
  static constexpr std::size_t not_queued = static_cast<std::size_t>(-1);

  op_queue<wait_op> ops_;                // pending waits, oldest first
  std::size_t heap_index_ = not_queued;  // queued iff a wait is pending
};

// Invariants: a timer is in the heap exactly when it has a pending wait, and
// all of a timer's pending waits share one deadline (changing a timer's
// expiry cancels its waits first).
template <typename Clock, typename WaitTraits>
class timer_queue final : public timer_queue_base
{
public:
  using time_point = typename Clock::time_point;
  using duration = typename Clock::duration;
  using per_timer_data = detail::per_timer_data;

  timer_queue() = default;

  // Arms op (a wait_op) on timer for time. Returns whether op is now the
  // first wait of the earliest timer, i.e. the run loop must recompute how
  // long it sleeps. Throws only std::bad_alloc, before changing anything.
  bool enqueue_timer(const time_point& time, per_timer_data& timer,
      operation* op)
  {
    wait_op* w = static_cast<wait_op*>(op);
    if (timer.heap_index_ == per_timer_data::not_queued)
    {
      heap_.push_back(heap_entry{time, &timer});
      timer.heap_index_ = heap_.size() - 1;
      up_heap(timer.heap_index_);
    }
    w->timer_ = &timer;
    timer.ops_.push(w);
    return timer.heap_index_ == 0 && timer.ops_.front() == w;
  }

  bool empty() const override { return heap_.empty(); }

  long long wait_duration_ns(long long max_ns) const override
  {
    if (heap_.empty())
      return max_ns;
    // Through WaitTraits, as Boost.Asio does, so custom traits can shape
    // the wait (for example for a clock that is not the system's).
    return to_wait_ns(WaitTraits::to_wait_duration(
                          saturating_subtract(heap_[0].time, Clock::now())),
        max_ns);
  }

  void get_ready_timers(op_queue<operation>& ops) override
  {
    if (heap_.empty())
      return;
    const time_point now = Clock::now();
    while (!heap_.empty() && !(now < heap_[0].time))
    {
      per_timer_data& timer = *heap_[0].timer;
      take_ops(timer, ops, static_cast<std::size_t>(-1),
          boost::system::error_code());
      remove_timer(timer);
    }
  }

  void get_all_timers(op_queue<operation>& ops) override
  {
    for (heap_entry& e : heap_)
    {
      take_ops(*e.timer, ops, static_cast<std::size_t>(-1),
          boost::system::error_code());
      e.timer->heap_index_ = per_timer_data::not_queued;
    }
    heap_.clear();
  }

  // Moves at most max of timer's waits (oldest first) into ops, completed
  // with operation_aborted. Returns how many.
  std::size_t cancel_timer(per_timer_data& timer, op_queue<operation>& ops,
      std::size_t max = static_cast<std::size_t>(-1))
  {
    std::size_t n = take_ops(timer, ops, max,
        boost::asio::error::operation_aborted);
    if (timer.ops_.empty() && timer.heap_index_ != per_timer_data::not_queued)
      remove_timer(timer);
    return n;
  }

  // Moves op (a wait_op of this queue) into ops, completed with
  // operation_aborted, if it is still armed. Returns whether it was.
  bool cancel_timer_op(operation* op, op_queue<operation>& ops)
  {
    wait_op* w = static_cast<wait_op*>(op);
    per_timer_data* timer = w->timer_;
    if (!timer || !timer->ops_.remove(w))
      return false;
    w->timer_ = nullptr;
    w->ec_ = boost::asio::error::operation_aborted;
    ops.push(w);
    if (timer->ops_.empty())
      remove_timer(*timer);
    return true;
  }

  // Gives source's waits and heap slot to target, which has none (the
  // scheduler cancels target's waits first).
  void move_timer(per_timer_data& target, per_timer_data& source)
  {
    target.ops_.push(source.ops_);
    for (wait_op* w = target.ops_.front(); w; w = op_queue_access::next(w))
      w->timer_ = &target;
    target.heap_index_ = source.heap_index_;
    source.heap_index_ = per_timer_data::not_queued;
    if (target.heap_index_ != per_timer_data::not_queued)
      heap_[target.heap_index_].timer = &target;
  }

private:
  struct heap_entry
  {
    time_point time;        // the timer's deadline
    per_timer_data* timer;  // the timer, whose heap_index_ is this slot
  };

  // Moves up to max of timer's waits into ops with result ec.
  static std::size_t take_ops(per_timer_data& timer, op_queue<operation>& ops,
      std::size_t max, const boost::system::error_code& ec)
  {
    std::size_t n = 0;
    while (n < max)
    {
      wait_op* w = timer.ops_.front();
      if (!w)
        break;
      timer.ops_.pop();
      w->timer_ = nullptr;
      w->ec_ = ec;
      ops.push(w);
      ++n;
    }
    return n;
  }

  void remove_timer(per_timer_data& timer)
  {
    const std::size_t i = timer.heap_index_;
    const std::size_t last = heap_.size() - 1;
    if (i != last)
    {
      swap_entries(i, last);
      heap_.pop_back();
      if (i > 0 && heap_[i].time < heap_[(i - 1) / 2].time)
        up_heap(i);
      else
        down_heap(i);
    }
    else
      heap_.pop_back();
    timer.heap_index_ = per_timer_data::not_queued;
  }

  void up_heap(std::size_t i)
  {
    while (i > 0)
    {
      const std::size_t parent = (i - 1) / 2;
      if (!(heap_[i].time < heap_[parent].time))
        break;
      swap_entries(i, parent);
      i = parent;
    }
  }

  void down_heap(std::size_t i)
  {
    const std::size_t size = heap_.size();
    for (;;)
    {
      std::size_t child = 2 * i + 1;
      if (child >= size)
        break;
      if (child + 1 < size && heap_[child + 1].time < heap_[child].time)
        ++child;
      if (!(heap_[child].time < heap_[i].time))
        break;
      swap_entries(i, child);
      i = child;
    }
  }

  void swap_entries(std::size_t a, std::size_t b) noexcept
  {
    heap_entry tmp = heap_[a];
    heap_[a] = heap_[b];
    heap_[b] = tmp;
    heap_[a].timer->heap_index_ = a;
    heap_[b].timer->heap_index_ = b;
  }

  std::vector<heap_entry> heap_;  // min-heap on time; one entry per timer
};

} // namespace asio_uring::detail
