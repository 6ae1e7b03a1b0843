// Multishot requests (multishot accept, multishot receive) behind Asio's
// rule of one handler invocation per initiation: one request per object is
// armed in the kernel; its results go to waiting handlers in order, or wait
// in a queue for the next initiation, which then needs no SQE.
#pragma once

#include <asio_uring/detail/cancellation_gate.hpp>
#include <asio_uring/detail/handler_alloc.hpp>
#include <asio_uring/detail/handler_work.hpp>
#include <asio_uring/detail/op_queue.hpp>
#include <asio_uring/detail/operation.hpp>
#include <asio_uring/detail/scheduler.hpp>

#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/cancellation_type.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <tuple>
#include <utility>
#include <vector>

namespace asio_uring::detail {

// One result of a multishot request: res is a descriptor, a byte count or
// -errno; flags are the CQE's (a provided buffer's id).
struct multishot_result
{
  int res = -ECANCELED;
  std::uint32_t flags = 0;
};

// FIFO of results. Grows by doubling and never shrinks, so a steady state
// allocates nothing.
class multishot_result_queue
{
public:
  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }

  void push(const multishot_result& r)
  {
    if (size_ == buf_.size())
    {
      std::vector<multishot_result> bigger(buf_.empty() ? 8 : 2 * buf_.size());
      for (std::size_t i = 0; i < size_; ++i)
        bigger[i] = buf_[(head_ + i) % buf_.size()];
      buf_.swap(bigger);
      head_ = 0;
    }
    buf_[(head_ + size_) % buf_.size()] = r;
    ++size_;
  }

  multishot_result pop() noexcept
  {
    multishot_result r = buf_[head_];
    head_ = (head_ + 1) % buf_.size();
    --size_;
    return r;
  }

private:
  std::vector<multishot_result> buf_;
  std::size_t head_ = 0;  // index of the oldest result
  std::size_t size_ = 0;  // results held
};

// A handler waiting for the next result of a multishot request.
class multishot_waiter : public operation
{
public:
  multishot_result result_;  // set before the waiter is queued as ready

protected:
  explicit multishot_waiter(func_type complete) noexcept
    : operation(complete)
  {
  }
};

// The state one I/O object keeps for its multishot request. Heap-allocated
// and shared by the object and the armed request, so it survives moving the
// object, and closing or destroying it until the request's final CQE.
// mutex_ is taken with the ring held (on_more), never the other way round.
class multishot_state
{
public:
  virtual ~multishot_state() = default;

  multishot_state(const multishot_state&) = delete;
  multishot_state& operator=(const multishot_state&) = delete;

  scheduler& get_scheduler() const noexcept { return sched_; }
  int fd() const noexcept { return fd_; }

  // Hands waiter the oldest queued result (posted at once), or queues it
  // and arms the request when none is armed. Counts the waiter as work.
  // self is the shared pointer that owns *this.
  void initiate(const std::shared_ptr<multishot_state>& self,
      multishot_waiter* waiter)
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (closed_)
    {
      lock.unlock();
      waiter->result_.res = -ECANCELED;
      sched_.post_immediate_completion(waiter, false);
      return;
    }
    if (!ready_.empty())
    {
      waiter->result_ = ready_.pop();
      lock.unlock();
      sched_.post_immediate_completion(waiter, false);
      return;
    }
    sched_.work_started();
    waiters_.push(waiter);
    const bool arm = !armed_;
    armed_ = true;
    lock.unlock();
    if (arm)
      sched_.start_untracked_op(make_request(self));
  }

  // Per-operation cancellation: a waiter still queued completes with
  // operation_aborted. The armed request stays armed.
  void cancel_waiter(multishot_waiter* waiter)
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!waiters_.remove(waiter))
      return;
    lock.unlock();
    waiter->result_ = multishot_result{-ECANCELED, 0};
    sched_.post_deferred_completion(waiter);
  }

  // The object is cancelled, closed, released or destroyed: waiting
  // handlers complete with operation_aborted, queued results are discarded,
  // and later results of the request (which the object's cancel_fd aborts)
  // are discarded too.
  void close()
  {
    op_queue<operation> aborted;
    multishot_result_queue unclaimed;
    uring_op* parked;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closed_ = true;
      parked = std::exchange(parked_, nullptr);
      while (multishot_waiter* w = waiters_.front())
      {
        waiters_.pop();
        w->result_ = multishot_result{-ECANCELED, 0};
        aborted.push(w);
      }
      std::swap(unclaimed, ready_);
    }
    while (!unclaimed.empty())
      discard(unclaimed.pop());
    if (parked && unpark(parked))
    {
      // Never to be woken: its completion frees it.
      parked->result_ = -ECANCELED;
      parked->cqe_flags_ = 0;
      aborted.push(parked);
    }
    sched_.post_deferred_completions(aborted);
  }

  // Results queued and not yet claimed (tests and statistics).
  std::size_t queued() const
  {
    std::lock_guard<std::mutex> lock(mutex_);
    return ready_.size();
  }

protected:
  multishot_state(scheduler& s, int fd) noexcept : sched_(s), fd_(fd) {}

  // Gives up a result nobody will claim (closes a descriptor, returns a
  // buffer); any result, owning something or not. Called without mutex_.
  virtual void discard(const multishot_result& r) noexcept = 0;
  // Whether a result is data (a descriptor, bytes) rather than an end.
  virtual bool is_value(const multishot_result& r) const noexcept = 0;
  // Whether a final result that is not a value is dropped rather than
  // reported (the next initiation re-arms); waiting: a handler waits.
  virtual bool ends_quietly(const multishot_result&, bool waiting) const noexcept
  {
    (void)waiting;
    return false;
  }
  // A request that ended for want of a resource (r) while handlers wait
  // may be parked instead of re-armed at once; true if it was: whoever
  // holds it posts it (result -EAGAIN) once the resource comes back.
  virtual bool park(const multishot_result& r, uring_op* request) noexcept
  {
    (void)r;
    (void)request;
    return false;
  }
  // Takes a parked request back; false if it was already woken.
  virtual bool unpark(uring_op* request) noexcept
  {
    (void)request;
    return false;
  }
  // A new request for this state (allocated; the scheduler owns it).
  virtual uring_op* make_request(std::shared_ptr<multishot_state> self) = 0;

  // Derived destructors call this: whatever is still queued is discarded.
  void discard_all() noexcept
  {
    while (!ready_.empty())
      discard(ready_.pop());
  }

private:
  template <typename> friend class multishot_request;

  // With the ring held: a CQE that keeps the request armed.
  void on_result(const multishot_result& r, op_queue<operation>& ready)
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (closed_)
    {
      lock.unlock();
      discard(r);
      return;
    }
    deliver(r, ready);
  }

  enum class final_action { free, rearm, parked };

  // The request's final CQE (or its wake-up after parking), outside the
  // ring: what the request does next.
  final_action on_final(const multishot_result& r, uring_op* request)
  {
    op_queue<operation> ready;
    std::unique_lock<std::mutex> lock(mutex_);
    if (parked_ == request)
      parked_ = nullptr;
    if (closed_)
    {
      armed_ = false;
      lock.unlock();
      discard(r);
      return final_action::free;
    }
    const bool value = is_value(r);
    // Cancelled (by the kernel or the object), interrupted or would block:
    // nothing to report; the request is simply re-armed if someone waits.
    const bool silent = !value
        && (r.res == -ECANCELED || r.res == -EINTR || r.res == -EAGAIN
            || ends_quietly(r, !waiters_.empty()));
    if (silent)
    {
      lock.unlock();
      discard(r);
      lock.lock();
    }
    else
      deliver(r, ready);
    // A request the kernel ended with a result goes on; one that ended with
    // an error is re-armed by the next initiation, or now if one waits.
    const bool rearm = value || !waiters_.empty();
    armed_ = rearm;
    final_action action = rearm ? final_action::rearm : final_action::free;
    if (rearm && !value && park(r, request))
    {
      parked_ = request;
      action = final_action::parked;
    }
    lock.unlock();
    sched_.post_deferred_completions(ready);
    return action;
  }

  // With mutex_ held: to the oldest waiter, else to the queue.
  void deliver(const multishot_result& r, op_queue<operation>& ready)
  {
    if (multishot_waiter* w = waiters_.front())
    {
      waiters_.pop();
      w->result_ = r;
      ready.push(w);
    }
    else
      ready_.push(r);
  }

  scheduler& sched_;
  const int fd_;                          // the object's descriptor
  mutable std::mutex mutex_;              // guards everything below
  op_queue<multishot_waiter> waiters_;    // handlers in initiation order
  multishot_result_queue ready_;          // results nobody waited for
  bool armed_ = false;                    // a request is armed (or re-arming)
  uring_op* parked_ = nullptr;            // the request, while parked
  bool closed_ = false;                   // the object let go of this state
};

// The armed request. Derived supplies do_prepare(uring_op*, io_uring_sqe*).
// Not counted as work (scheduler::start_untracked_op); it lives until its
// final CQE, then re-arms itself or frees itself.
template <typename Derived>
class multishot_request : public uring_op
{
public:
  explicit multishot_request(std::shared_ptr<multishot_state> state)
    : uring_op(&multishot_request::do_complete, &Derived::do_prepare,
          state->fd()),
      state_(std::move(state))
  {
    result_ = -ECANCELED;  // no result until a CQE says otherwise
    on_more_ = &multishot_request::on_more;
  }

protected:
  std::shared_ptr<multishot_state> state_;  // Lifetime: kept to the last CQE

private:
  static bool on_more(uring_op* base, const core::completion& c,
      op_queue<operation>& ready)
  {
    multishot_request* o = static_cast<multishot_request*>(base);
    o->state_->on_result(multishot_result{c.res, c.flags}, ready);
    return false;  // armed until the object cancels it
  }

  static void do_complete(scheduler* owner, operation* base)
  {
    Derived* o = static_cast<Derived*>(static_cast<multishot_request*>(base));
    const multishot_result r{o->result_, o->cqe_flags_};
    if (!owner)
    {
      // Context shutdown (or never submitted): give up what it carries.
      o->state_->discard(r);
      delete o;
      return;
    }
    using action = multishot_state::final_action;
    const action next = o->state_->on_final(r, o);
    // The loop finishes one unit of work for this op, which it never
    // counted: restart_op and work_started() compensate.
    if (next == action::rearm)
    {
      o->result_ = -ECANCELED;  // no result until the next CQE
      o->cqe_flags_ = 0;
      owner->restart_op(o);
      return;
    }
    owner->work_started();
    if (next == action::free)
      delete o;
    // parked: the state's resource owner posts it again later.
  }
};

// A waiting handler. Completion maps a result to the handler's arguments:
// args(const multishot_result&) returns a tuple, and
// discard(const multishot_result&) gives a result up (destroyed unrun).
template <typename Completion, typename Handler, typename IoExecutor>
class multishot_handler_op final : public multishot_waiter
{
public:
  template <typename H>
  multishot_handler_op(H&& handler, const IoExecutor& io_ex,
      Completion completion, std::shared_ptr<multishot_state> state)
    : multishot_waiter(&multishot_handler_op::do_complete),
      handler_(static_cast<H&&>(handler)), work_(handler_, io_ex),
      completion_(std::move(completion)), state_(std::move(state))
  {
  }

  // Routes terminal, partial and total cancellation to the state. Call
  // once, before the waiter is handed to the state.
  void connect_cancellation()
  {
    auto slot = boost::asio::get_associated_cancellation_slot(handler_);
    if (slot.is_connected() && state_)
      gate_ = &slot.template emplace<cancel_handler>(this).gate_;
  }

private:
  class cancel_handler
  {
  public:
    explicit cancel_handler(multishot_handler_op* op) noexcept : gate_(op) {}

    void operator()(boost::asio::cancellation_type_t type)
    {
      using boost::asio::cancellation_type;
      if ((type & (cancellation_type::terminal | cancellation_type::partial
                | cancellation_type::total)) != cancellation_type::none)
        gate_.with_op([](void* p) {
          multishot_handler_op* op = static_cast<multishot_handler_op*>(p);
          op->state_->cancel_waiter(op);
        });
    }

    cancellation_gate gate_;  // closed by the op as it completes
  };

  static void do_complete(scheduler* owner, operation* base)
  {
    multishot_handler_op* o = static_cast<multishot_handler_op*>(base);
    if (o->gate_)
      o->gate_->close();
    using allocator_type = boost::asio::associated_allocator_t<Handler>;
    allocator_type alloc(boost::asio::get_associated_allocator(o->handler_));
    Handler handler(std::move(o->handler_));
    handler_work<Handler, IoExecutor> work(std::move(o->work_));
    Completion completion(std::move(o->completion_));
    const multishot_result r = o->result_;
    if (!owner)
    {
      op_ptr<multishot_handler_op, allocator_type>::destroy(o, alloc);
      completion.discard(r);
      return;
    }
    op_ptr<multishot_handler_op, allocator_type>::destroy(o, alloc);
    auto args = completion.args(r);
    std::apply(
        [&](auto&... a) { work.complete(*owner, handler, std::move(a)...); },
        args);
  }

  Handler handler_;
  handler_work<Handler, IoExecutor> work_;
  Completion completion_;
  std::shared_ptr<multishot_state> state_;  // null when completed at once
  cancellation_gate* gate_ = nullptr;       // in the slot's handler
};

// Starts a waiter on state, or, with a null state, completes it at once
// with result (never inside the initiating function).
template <typename Completion, typename Handler, typename IoExecutor>
void start_multishot_waiter(scheduler& s,
    const std::shared_ptr<multishot_state>& state, int result,
    Handler&& handler, const IoExecutor& io_ex, Completion completion)
{
  using handler_type = std::decay_t<Handler>;
  using op = multishot_handler_op<Completion, handler_type, IoExecutor>;
  using allocator_type = boost::asio::associated_allocator_t<handler_type>;
  allocator_type alloc(boost::asio::get_associated_allocator(handler));
  op_ptr<op, allocator_type> p(alloc);
  op* o = p.construct(static_cast<Handler&&>(handler), io_ex,
      std::move(completion), state);
  if (!state)
  {
    o->result_ = multishot_result{result, 0};
    s.post_immediate_completion(p.release(), false);
    return;
  }
  o->connect_cancellation();
  state->initiate(state, p.release());
}

} // namespace asio_uring::detail
