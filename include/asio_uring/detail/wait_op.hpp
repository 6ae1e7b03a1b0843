// The operation behind a timer's async_wait: queued on its timer until the
// deadline passes or the wait is cancelled, then completed as a ready
// operation by the run loop. No ring SQE is involved.
#pragma once

#include <asio_uring/detail/cancellation_gate.hpp>
#include <asio_uring/detail/handler_alloc.hpp>
#include <asio_uring/detail/handler_work.hpp>
#include <asio_uring/detail/operation.hpp>

#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/system/error_code.hpp>

#include <utility>

namespace asio_uring::detail {

class per_timer_data;

// Handler-free part of a wait: its result and the timer it is armed on.
class wait_op : public operation
{
public:
  // Success when the deadline passed, operation_aborted when cancelled.
  boost::system::error_code ec_;
  // In the handler's cancellation slot, if connected; closed as the wait
  // completes.
  cancellation_gate* gate_ = nullptr;

protected:
  explicit wait_op(func_type complete) noexcept : operation(complete) {}

private:
  template <typename, typename> friend class timer_queue;
  // The timer this wait is queued on; null once it left the timer (expired,
  // cancelled or shut down). Guarded by the scheduler's mutex.
  per_timer_data* timer_ = nullptr;
};

// A wait with its handler: owns the handler and its executor's work, and
// completes by freeing itself before invoking the handler.
template <typename Handler, typename IoExecutor>
class wait_handler final : public wait_op
{
public:
  template <typename H>
  wait_handler(H&& handler, const IoExecutor& io_ex)
    : wait_op(&wait_handler::do_complete),
      handler_(static_cast<H&&>(handler)),
      work_(handler_, io_ex)
  {
  }

  Handler& handler() noexcept { return handler_; }

private:
  static void do_complete(scheduler* owner, operation* base)
  {
    wait_handler* o = static_cast<wait_handler*>(base);

    // From here no emit reaches this op, whichever thread emits.
    if (o->gate_)
      o->gate_->close();

    using allocator_type = boost::asio::associated_allocator_t<Handler>;
    allocator_type alloc(boost::asio::get_associated_allocator(o->handler_));
    Handler handler(std::move(o->handler_));
    handler_work<Handler, IoExecutor> work(std::move(o->work_));
    const boost::system::error_code ec = o->ec_;
    op_ptr<wait_handler, allocator_type>::destroy(o, alloc);
    if (owner)
      work.complete(*owner, handler, ec);
  }

  Handler handler_;
  handler_work<Handler, IoExecutor> work_;
};

} // namespace asio_uring::detail
