// Interface the scheduler uses to drive timer queues of any clock.
#pragma once

#include <asio_uring/detail/op_queue.hpp>

namespace asio_uring::detail {

class timer_queue_base
{
public:
  timer_queue_base() = default;
  timer_queue_base(const timer_queue_base&) = delete;
  timer_queue_base& operator=(const timer_queue_base&) = delete;
  virtual ~timer_queue_base() = default;

  // Whether no timer is armed.
  virtual bool empty() const = 0;
  // Nanoseconds until the earliest deadline, at most max_ns (0 if expired).
  virtual long long wait_duration_ns(long long max_ns) const = 0;
  // Moves the operations of every expired timer into ops.
  virtual void get_ready_timers(op_queue<operation>& ops) = 0;
  // Moves every pending operation into ops (shutdown).
  virtual void get_all_timers(op_queue<operation>& ops) = 0;

private:
  friend class scheduler;
  timer_queue_base* next_ = nullptr;  // scheduler's list of queues
};

} // namespace asio_uring::detail
