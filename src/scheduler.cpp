#include <asio_uring/detail/scheduler.hpp>

#include <algorithm>

#include <boost/asio/detail/call_stack.hpp>
#include <boost/asio/detail/thread_context.hpp>
#include <boost/asio/detail/thread_info_base.hpp>
#include <boost/asio/multiple_exceptions.hpp>
#include <boost/system/system_error.hpp>

#include <cerrno>
#include <cstring>
#include <limits>
#include <string>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

namespace asio_uring::detail {

namespace {

thread_local thread_info* top_of_thread_stack = nullptr;

// Our entries' key on Boost.Asio's thread call stack (never looked up).
boost::asio::detail::thread_context asio_call_stack_key;

// Pushes a thread_info for the duration of run()/poll(), and a Boost.Asio
// thread_info_base on Asio's own call stack: Asio allocates coroutine frames,
// strand operations and other internal blocks from the top one's cache, and
// without one each of them is a heap allocation.
class call_stack_context
{
public:
  call_stack_context(scheduler* owner, thread_info& info) noexcept
    : info_(info), asio_context_(&asio_call_stack_key, asio_info_)
  {
    info.owner = owner;
    info.next = top_of_thread_stack;
    top_of_thread_stack = &info;
  }
  ~call_stack_context() { top_of_thread_stack = info_.next; }
  call_stack_context(const call_stack_context&) = delete;
  call_stack_context& operator=(const call_stack_context&) = delete;

private:
  using asio_call_stack = boost::asio::detail::call_stack<
      boost::asio::detail::thread_context,
      boost::asio::detail::thread_info_base>;

  thread_info& info_;
  boost::asio::detail::thread_info_base asio_info_;  // Asio's block cache
  asio_call_stack::context asio_context_;             // pops before it dies
};

void relock(std::unique_lock<futex_mutex>& lock)
{
  if (!lock.owns_lock())
    lock.lock();
}

// Rethrows what capture_current_exception() kept for this thread.
[[noreturn]] void rethrow_pending_exception(thread_info& info)
{
  std::exception_ptr e = std::move(info.pending_exception);
  info.pending_exception = nullptr;
  info.pending_exceptions = 0;
  std::rethrow_exception(e);
}

std::string setup_error_message(int err, const char* call = "io_uring_setup")
{
  std::string what = "asio_uring::io_context: ";
  what += call;
  what += " failed: ";
  switch (err)
  {
  case ENOSYS:
    what += "the kernel has no io_uring (Linux 5.19 or later is needed), or a "
            "seccomp filter denies io_uring_setup (container runtimes do by "
            "default). Fix: run on a newer kernel, or allow io_uring_setup, "
            "io_uring_enter and io_uring_register in the seccomp profile";
    break;
  case EPERM:
  case EACCES:
    what += "io_uring is disabled for this process (sysctl "
            "kernel.io_uring_disabled is 1 or 2, or the process is not in "
            "kernel.io_uring_group), or a seccomp filter denies io_uring_setup"
            " (Docker's default profile answers EPERM). Fix: sysctl -w "
            "kernel.io_uring_disabled=0 or add the user to the io_uring group;"
            " in a container, allow io_uring_setup, io_uring_enter and "
            "io_uring_register in the seccomp profile";
    break;
  case ENOMEM:
    what += "the ring's memory could not be allocated or locked "
            "(RLIMIT_MEMLOCK is too low on kernels before 5.12). Fix: raise "
            "the limit (ulimit -l) or use a smaller ring_options::entries";
    break;
  case EINVAL:
    what += "the kernel rejected the ring parameters. Fix: use a smaller "
            "ring_options::entries (at most 32768) or a newer kernel";
    break;
  case EMFILE:
  case ENFILE:
    what += "no file descriptor is left for the ring. Fix: close "
            "descriptors or raise RLIMIT_NOFILE";
    break;
  default:
    what += std::strerror(err);
    break;
  }
  return what;
}

// An internal ring request with no handler: cancel one operation, cancel
// every operation on a descriptor, or close a descriptor. Threads that may
// not enter a single-issuer ring queue these for the ring thread. Counted as
// work like any operation, so the loop submits them before it runs dry.
class ring_request_op final : public uring_op
{
public:
  enum kind_type { cancel_target, cancel_fd, close_fd };

  ring_request_op(kind_type kind, std::uint64_t target) noexcept
    : uring_op(&ring_request_op::do_complete, &ring_request_op::do_prepare,
          -1),  // fd_ stays -1: cancel_fd() must not abort requests
      kind_(kind), target_(target)
  {
  }

private:
  static void do_prepare(uring_op* base, io_uring_sqe* sqe)
  {
    ring_request_op* o = static_cast<ring_request_op*>(base);
    o->prepared_ = true;
    switch (o->kind_)
    {
    case cancel_target:
      core::prep_cancel(sqe, o->target_, o->user_data());
      break;
    case cancel_fd:
      core::prep_cancel_fd(sqe, static_cast<int>(o->target_), o->user_data());
      break;
    case close_fd:
      core::prep_close(sqe, static_cast<int>(o->target_), o->user_data());
      break;
    }
  }

  static void do_complete(scheduler*, operation* base)
  {
    ring_request_op* o = static_cast<ring_request_op*>(base);
    // A close the ring never got to (destroyed at shutdown) happens here.
    if (o->kind_ == close_fd && !o->prepared_)
      ::close(static_cast<int>(o->target_));
    delete o;
  }

  kind_type kind_;
  std::uint64_t target_;
  bool prepared_ = false;  // handed to the kernel
};

} // namespace

struct scheduler::task_cleanup
{
  ~task_cleanup()
  {
    if (info.private_work > 0)
      owner->outstanding_work_.fetch_add(info.private_work,
          std::memory_order_relaxed);
    info.private_work = 0;
    // Completions reaped by the turn become ready, and the task goes back to
    // the end of the queue.
    relock(lock);
    owner->task_interrupted_.store(true, std::memory_order_relaxed);
    owner->op_queue_.push(info.private_queue);
    owner->op_queue_.push(&owner->task_operation_);
  }

  scheduler* owner;
  std::unique_lock<futex_mutex>& lock;
  thread_info& info;
};

struct scheduler::work_cleanup
{
  ~work_cleanup()
  {
    // The handler that just ran accounted for one unit of work.
    if (info.private_work > 1)
      owner->outstanding_work_.fetch_add(info.private_work - 1,
          std::memory_order_relaxed);
    else if (info.private_work < 1)
      owner->work_finished();
    info.private_work = 0;
    if (!info.private_queue.empty())
    {
      relock(lock);
      owner->op_queue_.push(info.private_queue);
    }
  }

  scheduler* owner;
  std::unique_lock<futex_mutex>& lock;
  thread_info& info;
};

// Owns the batch of a batched run: takes the shared queue at the start and
// gives back, in order and ahead of anything posted since, whatever has not
// run when the call ends (normally, by stop(), or by an exception).
struct scheduler::batch_scope
{
  batch_scope(scheduler& s, thread_info& i, op_queue<operation>& b)
    : owner(s), info(i), batch(b)
  {
    std::lock_guard<futex_mutex> lock(owner.mutex_);
    batch.push(owner.op_queue_);
    owner.shared_ready_.store(false, std::memory_order_relaxed);
    info.batch = &batch;
  }

  ~batch_scope()
  {
    info.batch = nullptr;
    batch.push(info.private_queue);
    std::lock_guard<futex_mutex> lock(owner.mutex_);
    owner.op_queue_.push_front(batch);
  }

  scheduler& owner;
  thread_info& info;
  op_queue<operation>& batch;
};

struct scheduler::batched_task_cleanup
{
  ~batched_task_cleanup()
  {
    if (info.private_work > 0)
      owner.outstanding_work_.fetch_add(info.private_work,
          std::memory_order_relaxed);
    info.private_work = 0;
    batch.push(info.private_queue);
    batch.push(&owner.task_operation_);
    if (blocked)
      owner.task_interrupted_.store(true, std::memory_order_relaxed);
  }

  scheduler& owner;
  thread_info& info;
  op_queue<operation>& batch;
  bool blocked;
};

struct scheduler::batched_work_cleanup
{
  ~batched_work_cleanup()
  {
    if (info.private_work > 1)
      owner.outstanding_work_.fetch_add(info.private_work - 1,
          std::memory_order_relaxed);
    else if (info.private_work < 1)
      owner.work_finished();
    info.private_work = 0;
    batch.push(info.private_queue);
  }

  scheduler& owner;
  thread_info& info;
  op_queue<operation>& batch;
};

scheduler::scheduler(const ring_options& options, int concurrency_hint)
  : concurrency_hint_(concurrency_hint),
    one_thread_(concurrency_hint == 1)
{
  core::ring_config config;
  config.entries = options.entries;
  config.cq_entries = options.cq_entries;
  config.sqpoll = options.sqpoll;
  config.sqpoll_idle_ms = options.sqpoll_idle_ms;
  config.single_issuer = options.single_issuer;
  if (int r = ring_.init(config); r < 0)
    throw boost::system::system_error(
        boost::system::error_code(-r, boost::system::system_category()),
        setup_error_message(-r));

  wakeup_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (wakeup_fd_ < 0)
  {
    const int err = errno;
    throw boost::system::system_error(
        boost::system::error_code(err, boost::system::system_category()),
        setup_error_message(err, "eventfd"));
  }

  op_queue_.push(&task_operation_);
  std::lock_guard<futex_mutex> ring_lock(ring_mutex_);
  arm_wakeup();
}

scheduler::~scheduler()
{
  shutdown();
  if (wakeup_fd_ >= 0)
    ::close(wakeup_fd_);
}

void scheduler::capture_current_exception() noexcept
{
  thread_info* info = this_thread();
  if (!info)
    return;
  switch (info->pending_exceptions)
  {
  case 0:
    info->pending_exceptions = 1;
    info->pending_exception = std::current_exception();
    break;
  case 1:
    info->pending_exceptions = 2;
    info->pending_exception = std::make_exception_ptr(
        boost::asio::multiple_exceptions(info->pending_exception));
    break;
  default:
    break;
  }
}

thread_info* scheduler::this_thread() const noexcept
{
  for (thread_info* i = top_of_thread_stack; i; i = i->next)
    if (i->owner == this)
      return i;
  return nullptr;
}

void scheduler::shutdown()
{
  bool again;
  {
    std::lock_guard<futex_mutex> lock(mutex_);
    again = shutdown_;
    shutdown_ = true;
    shutting_down_.store(true, std::memory_order_release);
  }

  // Cancel everything the kernel holds and wait for every final CQE: until
  // then the kernel may still write into operation-owned buffers.
  op_queue<operation> done;
  if (again)
  {
    // Called again (after the context's services shut down): the ring is
    // drained; destroy what was queued since.
    destroy_queued(done);
    return;
  }
  lock_ring();
  if (ring_.is_single_issuer() && !ring_.is_enabled())
  {
    // Never run: this thread may enable it and drain.
    if (ring_.enable() == 0)
      issuer_.store(std::this_thread::get_id(), std::memory_order_release);
  }
  if (!can_enter())
  {
    // A single-issuer ring destroyed on a thread other than its issuer can
    // not wait for its completions. Operations in the kernel are leaked, never
    // freed: the kernel may still write into them. Closing the ring cancels
    // them.
  }
  else if (inflight_ > 0 || wakeup_armed_)
  {
    core::prep_cancel_all(get_sqe_forcibly(), core::ignored_user_data);
    while (inflight_ > 0 || wakeup_armed_)
    {
      // An op whose multishot end is still to be prepared waits for that
      // cancel's CQE too.
      prepare_multishot_ends(true);
      int r = ring_.submit(true, 100'000'000);
      if (r < 0 && r != -ETIME && r != -EINTR && r != -EBUSY
          && r != -EAGAIN)
        break;  // the ring is unusable: leak rather than free live memory
      reap_all(done);
      if (r == -ETIME && (inflight_ > 0 || wakeup_armed_))
        core::prep_cancel_all(get_sqe_forcibly(), core::ignored_user_data);
    }
  }
  unlock_ring();
  {
    // Ops the kernel still holds (a leaked ring) are never touched again.
    std::lock_guard<futex_mutex> lock(mutex_);
    late_bound_.clear();
  }
  destroy_queued(done);
}

void scheduler::destroy_queued(op_queue<operation>& done)
{
  // Destroy, never invoke, every remaining operation. A destructor may queue
  // more (a coroutine frame posts its own unwinding): repeat until none is
  // left, so that none outlives the services it may refer to.
  for (;;)
  {
    op_queue<operation> all;
    {
      std::lock_guard<futex_mutex> lock(mutex_);
      op_queue_.remove(&task_operation_);
      all.push(op_queue_);
      all.push(pending_);
      for (timer_queue_base* q = timer_queues_; q; q = q->next_)
        q->get_all_timers(all);
    }
    all.push(done);
    if (all.empty())
      return;
    while (operation* op = all.front())
    {
      all.pop();
      op->destroy();
    }
  }
}

std::size_t scheduler::run(boost::system::error_code& ec)
{
  ec.clear();
  if (outstanding_work_.load(std::memory_order_acquire) == 0)
  {
    stop();
    return 0;
  }
  thread_info* outer = scheduler::this_thread();
  thread_info this_thread;
  call_stack_context ctx(this, this_thread);
  if (one_thread_ && !outer)
    return run_batched(this_thread);
  std::unique_lock<futex_mutex> lock(mutex_);
  adopt_enclosing_queue(outer);
  std::size_t n = 0;
  for (; do_run_one(lock, this_thread, false, nullptr); relock(lock))
    if (n != (std::numeric_limits<std::size_t>::max)())
      ++n;
  return n;
}

std::size_t scheduler::run_batched(thread_info& this_thread)
{
  op_queue<operation> batch;
  batch_scope scope(*this, this_thread, batch);
  std::size_t n = 0;
  while (!stopped_.load(std::memory_order_acquire))
  {
    operation* o = batch.front();
    if (!o)
    {
      // Only when something took the task away (a nested call that ended
      // by an exception, say): take the shared queue, or wait for it.
      std::unique_lock<futex_mutex> lock(mutex_);
      batch.push(op_queue_);
      shared_ready_.store(false, std::memory_order_relaxed);
      if (batch.empty() && !stopped_)
      {
        ++idle_threads_;
        wakeup_.wait(lock);
        --idle_threads_;
      }
      continue;
    }
    batch.pop();

    if (o == &task_operation_)
    {
      if (shared_ready_.load(std::memory_order_acquire))
      {
        std::lock_guard<futex_mutex> lock(mutex_);
        batch.push(op_queue_);
        shared_ready_.store(false, std::memory_order_relaxed);
      }
      bool block = batch.empty();
      if (!block && !ring_busy_.load(std::memory_order_acquire)
          && !has_pending_.load(std::memory_order_acquire)
          && !has_timer_queues_.load(std::memory_order_acquire))
      {
        // Handlers are ready and the ring has nothing that could complete:
        // skip the turn (a post-only loop then runs like Boost.Asio's).
        batch.push(&task_operation_);
        continue;
      }
      if (block)
      {
        // About to sleep in the kernel: from here on, whoever posts from
        // another thread or stops the loop must interrupt the ring. Each of
        // them stores its flag, then exchanges task_interrupted_; this
        // thread stores task_interrupted_, then loads the flags (all
        // sequentially consistent): so either it sees their flag, or they
        // see false and interrupt.
        task_interrupted_.store(false);
        if (shared_ready_.load() || stopped_.load())
        {
          task_interrupted_.store(true, std::memory_order_relaxed);
          block = false;  // the next visit of the task takes the queue
        }
      }
      batched_task_cleanup on_exit{*this, this_thread, batch, block};
      run_ring_turn(block, nullptr, this_thread.private_queue);
    }
    else
    {
      {
        batched_work_cleanup on_exit{*this, this_thread, batch};
        o->complete(*this);
      }
      if (this_thread.pending_exceptions > 0)
        rethrow_pending_exception(this_thread);
      if (n != (std::numeric_limits<std::size_t>::max)())
        ++n;
    }
  }
  return n;
}

void scheduler::adopt_enclosing_queue(thread_info* outer)
{
  // Called with mutex_ held.
  if (!outer)
    return;
  if (outer->batch)
  {
    op_queue_.push_front(*outer->batch);
    shared_ready_.store(true, std::memory_order_relaxed);
  }
  if (one_thread_)
    op_queue_.push(outer->private_queue);
}

std::size_t scheduler::run_one(boost::system::error_code& ec)
{
  ec.clear();
  if (outstanding_work_.load(std::memory_order_acquire) == 0)
  {
    stop();
    return 0;
  }
  thread_info* outer = scheduler::this_thread();
  thread_info this_thread;
  call_stack_context ctx(this, this_thread);
  std::unique_lock<futex_mutex> lock(mutex_);
  adopt_enclosing_queue(outer);
  return do_run_one(lock, this_thread, false, nullptr);
}

std::size_t scheduler::run_one_until(
    std::chrono::steady_clock::time_point deadline,
    boost::system::error_code& ec)
{
  ec.clear();
  if (outstanding_work_.load(std::memory_order_acquire) == 0)
  {
    stop();
    return 0;
  }
  thread_info* outer = scheduler::this_thread();
  thread_info this_thread;
  call_stack_context ctx(this, this_thread);
  std::unique_lock<futex_mutex> lock(mutex_);
  adopt_enclosing_queue(outer);
  return do_run_one(lock, this_thread, false, &deadline);
}

std::size_t scheduler::poll(boost::system::error_code& ec)
{
  ec.clear();
  if (outstanding_work_.load(std::memory_order_acquire) == 0)
  {
    stop();
    return 0;
  }
  thread_info* outer = scheduler::this_thread();
  thread_info this_thread;
  call_stack_context ctx(this, this_thread);
  std::unique_lock<futex_mutex> lock(mutex_);
  // Nested in a handler: what that handler posted is on its thread-private
  // queue, and must be visible to this poll too (as in Boost.Asio).
  adopt_enclosing_queue(outer);
  std::size_t n = 0;
  for (; do_run_one(lock, this_thread, true, nullptr); relock(lock))
    if (n != (std::numeric_limits<std::size_t>::max)())
      ++n;
  return n;
}

std::size_t scheduler::poll_one(boost::system::error_code& ec)
{
  ec.clear();
  if (outstanding_work_.load(std::memory_order_acquire) == 0)
  {
    stop();
    return 0;
  }
  thread_info* outer = scheduler::this_thread();
  thread_info this_thread;
  call_stack_context ctx(this, this_thread);
  std::unique_lock<futex_mutex> lock(mutex_);
  adopt_enclosing_queue(outer);
  return do_run_one(lock, this_thread, true, nullptr);
}

// Runs at most one handler. Returns 1 with the lock released, or 0 with the
// lock held. poll: never block; deadline: block no later than *deadline.
std::size_t scheduler::do_run_one(std::unique_lock<futex_mutex>& lock,
    thread_info& this_thread, bool poll,
    const std::chrono::steady_clock::time_point* deadline)
{
  bool ran_turn = false;
  while (!stopped_)
  {
    if (!op_queue_.empty())
    {
      operation* o = op_queue_.front();
      op_queue_.pop();
      bool more_handlers = !op_queue_.empty();

      if (o == &task_operation_)
      {
        if (more_handlers && !ring_busy_.load(std::memory_order_acquire)
            && !has_pending_.load(std::memory_order_acquire)
            && !has_timer_queues_.load(std::memory_order_acquire))
        {
          // Handlers are ready and the ring has nothing that could
          // complete: skip the turn.
          op_queue_.push(&task_operation_);
          continue;
        }
        if (ran_turn && !more_handlers)
        {
          // One turn found nothing to run.
          if (poll || (deadline
                  && std::chrono::steady_clock::now() >= *deadline))
          {
            op_queue_.push(&task_operation_);
            return 0;
          }
        }
        bool block = !more_handlers && !poll;
        // Sequentially consistent: lock_ring() announces itself in
        // ring_waiters_ and then exchanges this flag without the mutex.
        task_interrupted_.store(!block);
        if (more_handlers && !one_thread_)
          wake_one_thread_and_unlock(lock);
        else
          lock.unlock();

        task_cleanup on_exit{this, lock, this_thread};
        run_ring_turn(block, deadline, this_thread.private_queue);
        ran_turn = true;
        // on_exit relocks and requeues the task and the completions.
      }
      else
      {
        if (more_handlers && !one_thread_)
          wake_one_thread_and_unlock(lock);
        else
          lock.unlock();

        work_cleanup on_exit{this, lock, this_thread};
        o->complete(*this);
        if (this_thread.pending_exceptions > 0)
          rethrow_pending_exception(this_thread);
        return 1;
      }
    }
    else
    {
      if (poll)
        return 0;
      // Another thread runs the ring turn: wait for handlers from it.
      ++idle_threads_;
      if (deadline)
      {
        bool timed_out = wakeup_.wait_until(lock, *deadline)
            == std::cv_status::timeout;
        --idle_threads_;
        if (timed_out && op_queue_.empty())
          return 0;
      }
      else
      {
        wakeup_.wait(lock);
        --idle_threads_;
      }
    }
  }
  return 0;
}

void scheduler::run_ring_turn(bool block,
    const std::chrono::steady_clock::time_point* deadline,
    op_queue<operation>& ops)
{
  // Only one thread runs the task at a time; other holders of the ring
  // (start_op, cancellation) hold it briefly and never block in it, so a
  // plain lock is right here: interrupting them would only cost a syscall.
  ring_mutex_.lock();
  ring_owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  ring_depth_ = 1;

  if (ring_.is_single_issuer())
  {
    const std::thread::id me = std::this_thread::get_id();
    if (!ring_.is_enabled())
    {
      // The first thread to run the loop becomes the ring's only issuer.
      if (int r = ring_.enable(); r < 0)
      {
        unlock_ring();
        throw boost::system::system_error(
            boost::system::error_code(-r, boost::system::system_category()),
            "asio_uring: enabling the single-issuer ring");
      }
      issuer_.store(me, std::memory_order_release);
    }
    else if (issuer_.load(std::memory_order_acquire) != me)
    {
      unlock_ring();
      throw boost::system::system_error(
          boost::system::error_code(EEXIST, boost::system::system_category()),
          "asio_uring: an io_context with ring_options::single_issuer must "
          "always be run by the thread that ran it first");
    }
  }

  // Multishot requests to end that found the SQ full while reaping.
  if (!multishot_ends_.empty()) [[unlikely]]
  {
    prepare_multishot_ends(false);
    if (!multishot_ends_.empty())
      block = false;
  }
  // Operations queued while the ring was busy, or when the SQ was full. The
  // flag keeps turns with nothing queued off the mutex: a push made after
  // this check is either seen by the next turn or interrupts this one.
  op_queue<uring_op> queued;
  if (has_pending_.load())
  {
    std::lock_guard<futex_mutex> lock(mutex_);
    queued.push(pending_);
    has_pending_.store(false, std::memory_order_relaxed);
  }
  while (uring_op* op = queued.front())
  {
    if (!try_prepare(op))
      break;
    queued.pop();
  }
  if (!queued.empty())
  {
    // SQ full and the kernel refused more: reap first, submit next turn.
    block = false;
    std::lock_guard<futex_mutex> lock(mutex_);
    pending_.push_front(queued);
    has_pending_.store(true, std::memory_order_release);
  }
  if (!wakeup_armed_ && !shutting_down_.load(std::memory_order_relaxed))
    arm_wakeup();
  // A thread waits for the ring (to cancel, say): hand it over promptly.
  if (ring_waiters_.load(std::memory_order_seq_cst) > 0)
    block = false;

  long long timeout_ns = -1;
  if (block)
  {
    // No deadline and no timer: wait without a timeout, which keeps the
    // enter off the kernel's slower extended-argument path.
    constexpr long long none = std::numeric_limits<long long>::max();
    long long max_ns = none;
    if (deadline)
    {
      auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(
          *deadline - std::chrono::steady_clock::now()).count();
      max_ns = left < 0 ? 0 : left;
    }
    if (has_timer_queues_.load(std::memory_order_relaxed))
      max_ns = timer_wait_ns(max_ns);
    // Timed waits are capped so that clocks that jump (system_clock) are
    // rechecked.
    constexpr long long cap = 300'000'000'000LL;
    timeout_ns = max_ns == none ? -1 : (max_ns < cap ? max_ns : cap);
    if (timeout_ns == 0)
      block = false;
  }

  int r = ring_.submit(block, timeout_ns);
  if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY)
  {
    unlock_ring();
    throw boost::system::system_error(
        boost::system::error_code(-r, boost::system::system_category()),
        "asio_uring: io_uring_enter");
  }
  reap_all(ops);
  // Nothing submitted is outstanding (the wakeup read aside): until an SQE
  // is prepared again, a turn that would not block has nothing to do.
  if (inflight_ == 0 && ring_.sq_pending() == 0)
    ring_busy_.store(false, std::memory_order_relaxed);
  unlock_ring();

  // The unlocked check keeps timer-free loops off the mutex. A queue added
  // meanwhile is seen by the next turn (it locks mutex_ first), and arming
  // its first timer interrupts this one.
  if (has_timer_queues_.load(std::memory_order_relaxed))
  {
    std::lock_guard<futex_mutex> lock(mutex_);
    for (timer_queue_base* q = timer_queues_; q; q = q->next_)
      q->get_ready_timers(ops);
  }
}

void scheduler::reap_all(op_queue<operation>& ops)
{
  // After a CQ overflow the kernel refills the CQ from its backlog one CQ's
  // worth per flush: consume() keeps flushing while that brings more.
  ring_.consume([this, &ops](const core::completion& c)
      { handle_completion(c, ops); });
}

void scheduler::handle_completion(const core::completion& c,
    op_queue<operation>& ops)
{
  if (c.user_data == wakeup_user_data)
  {
    wakeup_armed_ = false;
    if (!shutting_down_.load(std::memory_order_relaxed))
      arm_wakeup();
    return;
  }
  if (c.user_data == core::ignored_user_data
      || c.user_data == core::liburing_timeout_user_data)
    return;
  uring_op* op;
  if (c.user_data & (linked_timeout_tag | removal_tag)) [[unlikely]]
  {
    // The linked timeout of an op: -ETIME when it fired (the op then ends
    // with -ECANCELED), anything else when the op finished first. Or the
    // cancel that ended its multishot request: whatever it found.
    op = reinterpret_cast<uring_op*>(
        c.user_data & ~(linked_timeout_tag | removal_tag));
    if ((c.user_data & linked_timeout_tag) && c.res == -ETIME)
      op->timed_out_ = true;
  }
  else
  {
    op = reinterpret_cast<uring_op*>(c.user_data);
    if ((c.flags & core::cqe_f_more) && op->on_more_)
    {
      // A multishot request that stays armed: not a completion of the op.
      if (op->on_more_(op, c, ops))
        end_multishot(op);
      return;
    }
    op->result_ = c.res;
    op->cqe_flags_ = c.flags;
  }
  // Lifetime: a linked op is freed only after both of its CQEs.
  if (--op->cqes_outstanding_ != 0)
    return;
  if (op->timed_out_ && op->result_ == -ECANCELED)
    op->result_ = -ETIMEDOUT;
  // Late-bound ops finish in a call of their own, a tail call: with a
  // call on the common path every completion paid for saving a register.
  if (op->late_bound()) [[unlikely]]
    return retire_late_bound(op, ops);
  --inflight_;
  ops.push(op);
}

void scheduler::end_multishot(uring_op* op)
{
  ++op->cqes_outstanding_;
  // Reaping must not reap: no flushing here, only a free SQE.
  if (io_uring_sqe* sqe = multishot_ends_.empty() ? ring_.get_sqe() : nullptr)
    core::prep_cancel(sqe, op->user_data(), op->user_data() | removal_tag);
  else
    multishot_ends_.push(op);  // in flight, so in no other queue
}

void scheduler::prepare_multishot_ends(bool forcibly)
{
  while (uring_op* op = multishot_ends_.front())
  {
    io_uring_sqe* sqe = ring_.get_sqe();
    if (!sqe && forcibly)
      sqe = get_sqe_forcibly();  // may reap: that appends, never removes
    else if (!sqe && can_enter())
    {
      (void)ring_.flush();
      sqe = ring_.get_sqe();
    }
    if (!sqe)
      return;
    multishot_ends_.pop();
    core::prep_cancel(sqe, op->user_data(), op->user_data() | removal_tag);
  }
}

bool scheduler::try_prepare(uring_op* op)
{
  if (op->link_timeout_.tv_sec >= 0) [[unlikely]]
    return try_prepare_linked(op);
  io_uring_sqe* sqe = ring_.get_sqe();
  if (!sqe) [[unlikely]]
  {
    if (!can_enter())
      return false;
    (void)ring_.flush();
    if (!(sqe = ring_.get_sqe()))
      return false;
  }
  finish_prepare(op, sqe);
  op->cqes_outstanding_ = 1;
  return true;
}

bool scheduler::try_prepare_linked(uring_op* op)
{
  // The op and its timeout go in as a pair, or not at all.
  if (ring_.sq_space_left() < 2)
  {
    if (!can_enter())
      return false;
    (void)ring_.flush();
    if (ring_.sq_space_left() < 2)
      return false;
  }
  io_uring_sqe* sqe = ring_.get_sqe();
  io_uring_sqe* timeout_sqe = sqe ? ring_.get_sqe() : nullptr;
  if (!timeout_sqe)
  {
    // Only a fault hook gets here (space was checked): give the taken SQE
    // a harmless job rather than leaving it half prepared.
    if (sqe)
      core::prep_nop(sqe, core::ignored_user_data);
    return false;
  }
  finish_prepare(op, sqe);
  core::set_link(sqe);
  // Lifetime: link_timeout_ lives in op, which outlives both CQEs.
  core::prep_link_timeout(timeout_sqe, &op->link_timeout_,
      op->user_data() | linked_timeout_tag);
  op->cqes_outstanding_ = 2;
  return true;
}

void scheduler::finish_prepare(uring_op* op, io_uring_sqe* sqe)
{
  op->timed_out_ = false;
  op->prepare(sqe);
  if (has_fixed_files_ && op->fd_ >= 0
      && static_cast<std::size_t>(op->fd_) < fixed_slot_of_fd_.size()
      && fixed_slot_of_fd_[static_cast<std::size_t>(op->fd_)] >= 0)
    core::use_fixed_file(sqe, fixed_slot_of_fd_[static_cast<std::size_t>(op->fd_)]);
  ++inflight_;
  ring_busy_.store(true, std::memory_order_relaxed);
  if (op->late_bound()) [[unlikely]]
    track_late_bound(op);  // last, a tail call (see handle_completion)
}

void scheduler::track_late_bound(uring_op* op)
{
  std::lock_guard<futex_mutex> lock(mutex_);
  late_bound_.push_back(op);
}

void scheduler::retire_late_bound(uring_op* op, op_queue<operation>& ops)
{
  {
    std::lock_guard<futex_mutex> lock(mutex_);
    auto it = std::find(late_bound_.begin(), late_bound_.end(), op);
    if (it != late_bound_.end())
    {
      *it = late_bound_.back();
      late_bound_.pop_back();
    }
  }
  --inflight_;
  ops.push(op);
}

void scheduler::late_bound_on(int fd,
    std::vector<std::uint64_t>& user_data) const
{
  for (uring_op* op : late_bound_)
    if (op->fd_ == fd || op->late_fd_ == fd)
      user_data.push_back(op->user_data());
}

io_uring_sqe* scheduler::get_sqe_forcibly()
{
  ring_busy_.store(true, std::memory_order_relaxed);
  for (;;)
  {
    if (io_uring_sqe* sqe = ring_.get_sqe())
      return sqe;
    int r = ring_.flush();
    if (r == -EBUSY || r == -EAGAIN)
    {
      // The CQ is full: reap to make room; the completions become ready.
      op_queue<operation> ops;
      reap_all(ops);
      if (!ops.empty())
        post_deferred_completions(ops);
      else
        std::this_thread::yield();
    }
  }
}

void scheduler::arm_wakeup()
{
  io_uring_sqe* sqe = get_sqe_forcibly();
  // Lifetime: wakeup_buffer_ is a member; shutdown() reaps this read's CQE.
  core::prep_read(sqe, wakeup_fd_, &wakeup_buffer_, sizeof(wakeup_buffer_), 0,
      wakeup_user_data);
  wakeup_armed_ = true;
}

void scheduler::interrupt_ring()
{
  std::uint64_t one = 1;
  ssize_t r;
  do
    r = ::write(wakeup_fd_, &one, sizeof(one));
  while (r < 0 && errno == EINTR);
}

void scheduler::lock_ring()
{
  const std::thread::id me = std::this_thread::get_id();
  if (ring_owner_.load(std::memory_order_relaxed) == me)
  {
    ++ring_depth_;
    return;
  }
  if (!ring_mutex_.try_lock())
  {
    // Announce the wait before looking at task_interrupted_: the ring thread
    // may finish its turn and start another before we get the mutex, and
    // that turn must not block in the kernel (run_ring_turn checks this).
    ring_waiters_.fetch_add(1, std::memory_order_seq_cst);
    if (claim_interrupt())
      interrupt_ring();
    ring_mutex_.lock();
    ring_waiters_.fetch_sub(1, std::memory_order_relaxed);
  }
  ring_owner_.store(me, std::memory_order_relaxed);
  ring_depth_ = 1;
}

void scheduler::unlock_ring()
{
  if (--ring_depth_ == 0)
  {
    ring_owner_.store(std::thread::id(), std::memory_order_relaxed);
    ring_mutex_.unlock();
  }
}

long long scheduler::timer_wait_ns(long long max_ns) const
{
  std::lock_guard<futex_mutex> lock(mutex_);
  for (timer_queue_base* q = timer_queues_; q; q = q->next_)
    max_ns = q->wait_duration_ns(max_ns);
  return max_ns;
}

void scheduler::stop()
{
  std::unique_lock<futex_mutex> lock(mutex_);
  stop_all_threads(lock);
}

bool scheduler::stopped() const
{
  std::lock_guard<futex_mutex> lock(mutex_);
  return stopped_;
}

void scheduler::restart()
{
  std::lock_guard<futex_mutex> lock(mutex_);
  stopped_ = false;
}

void scheduler::stop_all_threads(std::unique_lock<futex_mutex>& lock)
{
  stopped_ = true;
  wakeup_.notify_all();
  if (claim_interrupt())
  {
    lock.unlock();
    interrupt_ring();
  }
}

void scheduler::wake_one_thread_and_unlock(std::unique_lock<futex_mutex>& lock)
{
  if (idle_threads_ > 0)
  {
    lock.unlock();
    wakeup_.notify_one();
    return;
  }
  if (claim_interrupt())
  {
    lock.unlock();
    interrupt_ring();
    return;
  }
  lock.unlock();
}

void scheduler::post_immediate_completion(operation* op, bool is_continuation)
{
  if (one_thread_ || is_continuation)
  {
    if (thread_info* info = this_thread())
    {
      ++info->private_work;
      info->private_queue.push(op);
      return;
    }
  }
  work_started();
  std::unique_lock<futex_mutex> lock(mutex_);
  op_queue_.push(op);
  shared_ready_.store(true);
  wake_one_thread_and_unlock(lock);
}

void scheduler::post_deferred_completion(operation* op)
{
  if (one_thread_)
  {
    if (thread_info* info = this_thread())
    {
      info->private_queue.push(op);
      return;
    }
  }
  std::unique_lock<futex_mutex> lock(mutex_);
  op_queue_.push(op);
  shared_ready_.store(true);
  wake_one_thread_and_unlock(lock);
}

void scheduler::post_deferred_completions(op_queue<operation>& ops)
{
  if (ops.empty())
    return;
  if (one_thread_)
  {
    if (thread_info* info = this_thread())
    {
      info->private_queue.push(ops);
      return;
    }
  }
  std::unique_lock<futex_mutex> lock(mutex_);
  op_queue_.push(ops);
  shared_ready_.store(true);
  wake_one_thread_and_unlock(lock);
}

void scheduler::start_op(uring_op* op)
{
  if (shutting_down_.load(std::memory_order_acquire))
  {
    op->destroy();
    return;
  }
  work_started();
  submit_or_queue(op);
}

void scheduler::start_untracked_op(uring_op* op)
{
  if (shutting_down_.load(std::memory_order_acquire))
  {
    op->destroy();
    return;
  }
  submit_or_queue(op);
}

void scheduler::restart_op(uring_op* op)
{
  // Compensates for the work the completion path is about to finish.
  if (thread_info* info = this_thread())
    ++info->private_work;
  else
    work_started();
  submit_or_queue(op);
}

void scheduler::submit_or_queue(uring_op* op)
{
  if (ring_mutex_.try_lock())
  {
    // Not reentrant by design: operations start outside ring turns.
    bool prepared = try_prepare(op);
    ring_mutex_.unlock();
    if (prepared)
      return;
  }
  // The ring is busy (another thread waits in it) or the SQ is full: the
  // ring thread prepares op on its next turn.
  std::unique_lock<futex_mutex> lock(mutex_);
  pending_.push(op);
  has_pending_.store(true);
  if (claim_interrupt())
  {
    lock.unlock();
    interrupt_ring();
  }
}

bool scheduler::can_enter() const noexcept
{
  return !ring_.is_single_issuer()
      || issuer_.load(std::memory_order_acquire) == std::this_thread::get_id();
}

void scheduler::start_request(int kind, std::uint64_t target)
{
  start_op(new ring_request_op(
      static_cast<ring_request_op::kind_type>(kind), target));
}

void scheduler::cancel_op(uring_op* op)
{
  if (!can_enter())
  {
    bool was_queued;
    {
      std::lock_guard<futex_mutex> lock(mutex_);
      was_queued = pending_.remove(op);
    }
    if (was_queued)
    {
      op->result_ = -ECANCELED;
      post_deferred_completion(op);
    }
    else
      start_request(ring_request_op::cancel_target, op->user_data());
    return;
  }

  lock_ring();
  bool was_queued;
  {
    std::lock_guard<futex_mutex> lock(mutex_);
    was_queued = pending_.remove(op);
  }
  if (was_queued)
  {
    unlock_ring();
    op->result_ = -ECANCELED;
    post_deferred_completion(op);
    return;
  }
  // Lifetime: only the value of user_data goes to the kernel; the op is
  // alive now, and any later op at the same address is queued after this.
  core::prep_cancel(get_sqe_forcibly(), op->user_data(),
      core::ignored_user_data);
  unlock_ring();
}

void scheduler::cancel_fd(int fd)
{
  if (fd < 0)
    return;
  op_queue<uring_op> aborted;
  // Late-bound requests (splices waiting for an io-wq worker) have no file
  // yet for IORING_ASYNC_CANCEL_FD to match: they are cancelled by
  // user_data, ahead of it and before fd can be closed and reused.
  std::vector<std::uint64_t> late;
  const auto queued_on_fd = [fd](uring_op* o)
  { return o->fd_ == fd || o->late_fd_ == fd; };
  if (!can_enter())
  {
    {
      std::lock_guard<futex_mutex> lock(mutex_);
      pending_.extract_if(queued_on_fd, aborted);
      late_bound_on(fd, late);
    }
    // Operations already in the SQ are submitted before these requests.
    for (std::uint64_t target : late)
      start_request(ring_request_op::cancel_target, target);
    start_request(ring_request_op::cancel_fd, static_cast<std::uint64_t>(fd));
  }
  else
  {
    lock_ring();
    {
      std::lock_guard<futex_mutex> lock(mutex_);
      pending_.extract_if(queued_on_fd, aborted);
      late_bound_on(fd, late);
    }
    // Lifetime: only the values go to the kernel. An op that completes
    // meanwhile (get_sqe_forcibly reaps when the SQ is full) leaves a cancel
    // that finds nothing: while the ring is held no other op can be
    // prepared, so one at the same address is issued after it.
    for (std::uint64_t target : late)
      core::prep_cancel(get_sqe_forcibly(), target, core::ignored_user_data);
    // Hand every prepared SQE to the kernel, then the cancel: the kernel
    // resolves fd when the cancel is issued, so fd must still be open then.
    core::prep_cancel_fd(get_sqe_forcibly(), fd, core::ignored_user_data);
    for (int attempt = 0; ring_.sq_pending() > 0 && attempt < 64; ++attempt)
    {
      int r = ring_.flush();
      if (r == -EBUSY || r == -EAGAIN)
      {
        op_queue<operation> ops;
        reap_all(ops);
        post_deferred_completions(ops);
      }
      else if (ring_.is_sqpoll())
      {
        // The SQ thread issues SQEs asynchronously; it moves the SQ head
        // past the cancel only once it has issued it.
        while (ring_.sq_pending() > 0)
          std::this_thread::yield();
      }
    }
    unlock_ring();
  }

  op_queue<operation> ops;
  while (uring_op* op = aborted.front())
  {
    aborted.pop();
    op->result_ = -ECANCELED;
    ops.push(op);
  }
  post_deferred_completions(ops);
}

void scheduler::close_fd(int fd, boost::system::error_code& ec)
{
  ec.clear();
  if (fd < 0)
    return;
  if (!can_enter())
  {
    // The ring thread cancels, then closes, in submission order.
    cancel_fd(fd);
    unregister_fd(fd);
    start_request(ring_request_op::close_fd, static_cast<std::uint64_t>(fd));
    return;
  }
  cancel_fd(fd);
  // The number may be reused as soon as it is closed: forget its slot.
  unregister_fd(fd);
  // Linux releases the descriptor even when close reports EINTR.
  if (::close(fd) != 0 && errno != EINTR)
    ec.assign(errno, boost::system::system_category());
}

int scheduler::register_fd(int fd)
{
  if (fd < 0)
    return -EBADF;
  if (!can_enter())
    return -EEXIST;
  lock_ring();
  const std::size_t f = static_cast<std::size_t>(fd);
  if (f < fixed_slot_of_fd_.size() && fixed_slot_of_fd_[f] >= 0)
  {
    unlock_ring();
    return 0;
  }
  if (file_slots_.empty())
  {
    if (int r = ring_.register_file_table(1024); r < 0)
    {
      unlock_ring();
      return r;
    }
    file_slots_.assign(1024, false);
  }
  unsigned slot = 0;
  while (slot < file_slots_.size() && file_slots_[slot])
    ++slot;
  if (slot == file_slots_.size())
  {
    unlock_ring();
    return -ENOSPC;
  }
  int r = ring_.update_file(slot, fd);
  if (r == 0)
  {
    file_slots_[slot] = true;
    if (fixed_slot_of_fd_.size() <= f)
      fixed_slot_of_fd_.resize(f + 1, -1);
    fixed_slot_of_fd_[f] = static_cast<int>(slot);
    has_fixed_files_ = true;
  }
  unlock_ring();
  return r;
}

void scheduler::unregister_fd(int fd)
{
  if (fd < 0 || shutting_down_.load(std::memory_order_acquire))
    return;
  lock_ring();
  const std::size_t f = static_cast<std::size_t>(fd);
  if (f < fixed_slot_of_fd_.size() && fixed_slot_of_fd_[f] >= 0)
  {
    const int slot = fixed_slot_of_fd_[f];
    fixed_slot_of_fd_[f] = -1;
    // Only an issuer may update a single-issuer ring; elsewhere the slot
    // keeps its file reference until the ring is destroyed.
    if (can_enter() && ring_.update_file(static_cast<unsigned>(slot), -1) == 0)
      file_slots_[static_cast<std::size_t>(slot)] = false;
  }
  unlock_ring();
}

bool scheduler::is_registered_fd(int fd)
{
  if (fd < 0)
    return false;
  lock_ring();
  const std::size_t f = static_cast<std::size_t>(fd);
  bool registered = f < fixed_slot_of_fd_.size() && fixed_slot_of_fd_[f] >= 0;
  unlock_ring();
  return registered;
}

int scheduler::register_buffers(const ::iovec* iov, unsigned n)
{
  if (n == 0)
    return 0;
  if (!can_enter())
    return -EEXIST;
  lock_ring();
  if (buffer_slots_.empty())
  {
    // One table per ring: registrations share it as ranges of slots.
    unsigned slots = n > 1024 ? n : 1024;
    if (int r = ring_.register_buffer_table(slots); r < 0)
    {
      unlock_ring();
      return r;
    }
    buffer_slots_.assign(slots, false);
  }
  // First fit.
  unsigned first = 0, run = 0;
  for (unsigned i = 0; i < buffer_slots_.size() && run < n; ++i)
  {
    if (buffer_slots_[i])
      run = 0;
    else if (run++ == 0)
      first = i;
  }
  if (run < n)
  {
    unlock_ring();
    return -ENOSPC;
  }
  int r = ring_.update_buffers(first, iov, n);
  if (r == 0)
    for (unsigned i = 0; i < n; ++i)
      buffer_slots_[first + i] = true;
  unlock_ring();
  return r < 0 ? r : static_cast<int>(first);
}

void scheduler::unregister_buffers(int first, unsigned n)
{
  if (first < 0 || n == 0 || shutting_down_.load(std::memory_order_acquire))
    return;
  std::vector<::iovec> empty(n, ::iovec{nullptr, 0});
  if (!can_enter())
    return;  // slots stay pinned until the ring is destroyed
  lock_ring();
  if (ring_.update_buffers(static_cast<unsigned>(first), empty.data(), n) == 0)
    for (unsigned i = 0; i < n; ++i)
      buffer_slots_[static_cast<unsigned>(first) + i] = false;
  unlock_ring();
}

void scheduler::add_timer_queue(timer_queue_base& q)
{
  std::lock_guard<futex_mutex> lock(mutex_);
  q.next_ = timer_queues_;
  timer_queues_ = &q;
  has_timer_queues_.store(true, std::memory_order_relaxed);
}

void scheduler::remove_timer_queue(timer_queue_base& q)
{
  std::lock_guard<futex_mutex> lock(mutex_);
  for (timer_queue_base** p = &timer_queues_; *p; p = &(*p)->next_)
  {
    if (*p == &q)
    {
      *p = q.next_;
      q.next_ = nullptr;
      has_timer_queues_.store(timer_queues_ != nullptr,
          std::memory_order_relaxed);
      return;
    }
  }
}

} // namespace asio_uring::detail
