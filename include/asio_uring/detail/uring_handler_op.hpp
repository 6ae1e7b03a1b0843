// The generic handler layer over a handler-free ring operation: owns the
// handler and its work, connects the cancellation slot, and completes by
// freeing itself before invoking the handler.
#pragma once

#include <asio_uring/detail/cancellation_gate.hpp>
#include <asio_uring/detail/handler_alloc.hpp>
#include <asio_uring/detail/handler_work.hpp>
#include <asio_uring/detail/scheduler.hpp>
#include <asio_uring/detail/timeout_handler.hpp>

#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/cancellation_type.hpp>

#include <tuple>
#include <type_traits>
#include <utility>

namespace asio_uring::detail {

// Base requirements (see file_ops.hpp): constructible from
// (operation::func_type, args...); bool should_retry(); and
// completion_args() returning a tuple of the handler's arguments.
template <typename Base, typename Handler, typename IoExecutor>
class uring_handler_op final : public Base
{
public:
  template <typename H, typename... Args>
  uring_handler_op(H&& handler, const IoExecutor& io_ex, Args&&... args)
    : Base(&uring_handler_op::do_complete, static_cast<Args&&>(args)...),
      handler_(static_cast<H&&>(handler)),
      work_(handler_, io_ex)
  {
    if constexpr (is_timeout_handler<Handler>::value)
      this->link_timeout_ = handler_.timespec();
  }

  // Routes terminal, partial and total cancellation to the ring. Call once,
  // before the operation starts.
  void connect_cancellation(scheduler& s)
  {
    auto slot = boost::asio::get_associated_cancellation_slot(handler_);
    if (slot.is_connected())
      gate_ = &slot.template emplace<cancel_handler>(s, this).gate_;
  }

private:
  class cancel_handler
  {
  public:
    cancel_handler(scheduler& s, uring_op* op) noexcept : s_(s), gate_(op) {}

    void operator()(boost::asio::cancellation_type_t type)
    {
      using boost::asio::cancellation_type;
      if ((type & (cancellation_type::terminal | cancellation_type::partial
                | cancellation_type::total)) != cancellation_type::none)
        gate_.with_op([this](void* op) {
          s_.cancel_op(static_cast<uring_op*>(op));
        });
    }

    scheduler& s_;
    cancellation_gate gate_;  // closed by the op as it completes
  };

  static void do_complete(scheduler* owner, operation* base)
  {
    uring_handler_op* o = static_cast<uring_handler_op*>(base);
    if (owner && o->should_retry())
    {
      owner->restart_op(o);
      return;
    }

    // From here no emit reaches this op, whichever thread emits.
    if (o->gate_)
      o->gate_->close();

    using allocator_type = boost::asio::associated_allocator_t<Handler>;
    allocator_type alloc(boost::asio::get_associated_allocator(o->handler_));
    Handler handler(std::move(o->handler_));
    handler_work<Handler, IoExecutor> work(std::move(o->work_));
    if (!owner)
    {
      op_ptr<uring_handler_op, allocator_type>::destroy(o, alloc);
      return;
    }
    auto args = o->completion_args();
    op_ptr<uring_handler_op, allocator_type>::destroy(o, alloc);
    std::apply(
        [&](auto&... a) { work.complete(*owner, handler, std::move(a)...); },
        args);
  }

  Handler handler_;
  handler_work<Handler, IoExecutor> work_;
  cancellation_gate* gate_ = nullptr;  // in the slot's handler, if connected
};

// Allocates the operation with the handler's allocator and starts it.
// Always inlined into the initiation: out of line, GCC passes the handler
// and every argument through memory (W2, callgrind: about 20 instructions
// per read more), and whether it inlines on its own changes with the size
// of the caller.
template <typename Base, typename Handler, typename IoExecutor,
    typename... Args>
[[gnu::always_inline]] inline void start_uring_op(scheduler& s, Handler&& handler, const IoExecutor& io_ex,
    Args&&... args)
{
  using handler_type = std::decay_t<Handler>;
  using op = uring_handler_op<Base, handler_type, IoExecutor>;
  using allocator_type = boost::asio::associated_allocator_t<handler_type>;
  allocator_type alloc(boost::asio::get_associated_allocator(handler));
  op_ptr<op, allocator_type> p(alloc);
  op* o = p.construct(static_cast<Handler&&>(handler), io_ex,
      static_cast<Args&&>(args)...);
  o->connect_cancellation(s);
  s.start_op(p.release());
}

// Completes an operation at once, never inside the initiating function:
// the result is set and the handler queued (zero-size buffers, closed
// descriptors).
template <typename Base, typename Handler, typename IoExecutor,
    typename... Args>
void post_uring_op(scheduler& s, int result, Handler&& handler,
    const IoExecutor& io_ex, Args&&... args)
{
  using handler_type = std::decay_t<Handler>;
  using op = uring_handler_op<Base, handler_type, IoExecutor>;
  using allocator_type = boost::asio::associated_allocator_t<handler_type>;
  allocator_type alloc(boost::asio::get_associated_allocator(handler));
  op_ptr<op, allocator_type> p(alloc);
  op* o = p.construct(static_cast<Handler&&>(handler), io_ex,
      static_cast<Args&&>(args)...);
  o->result_ = result;
  s.post_immediate_completion(p.release(), false);
}

} // namespace asio_uring::detail
