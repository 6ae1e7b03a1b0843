// The io_context's engine: the run loop over the ring, the ready queue,
// outstanding-work counting, and the entry points operations use.
#pragma once

#include <asio_uring/detail/core/ring.hpp>
#include <asio_uring/detail/futex_mutex.hpp>
#include <asio_uring/detail/op_queue.hpp>
#include <asio_uring/detail/operation.hpp>
#include <asio_uring/detail/timer_queue_base.hpp>
#include <asio_uring/ring_options.hpp>

#include <boost/system/error_code.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

struct iovec;

namespace asio_uring::detail {

// Per-thread state of a thread inside run()/poll() of one scheduler. Threads
// can nest (a handler running another context's run_one), so these form a
// stack through thread_info::next.
struct thread_info
{
  scheduler* owner = nullptr;
  thread_info* next = nullptr;
  op_queue<operation> private_queue;  // completions posted by this thread
  op_queue<operation>* batch = nullptr;  // run() with hint 1: ready queue
  long private_work = 0;              // work started on this thread, unmerged
  std::exception_ptr pending_exception;  // from a function run inline
  int pending_exceptions = 0;            // 0, 1, or 2 for "several"
};

class scheduler
{
public:
  // Sets up the ring. Throws boost::system::system_error naming the cause
  // and the fix when io_uring is unavailable.
  scheduler(const ring_options& options, int concurrency_hint);
  ~scheduler();

  // Cancels everything in the ring, waits for the kernel to release every
  // buffer, then destroys all operations without invoking their handlers.
  void shutdown();

  std::size_t run(boost::system::error_code& ec);
  std::size_t run_one(boost::system::error_code& ec);
  // Runs at most one handler, waiting no later than deadline.
  std::size_t run_one_until(std::chrono::steady_clock::time_point deadline,
      boost::system::error_code& ec);
  std::size_t poll(boost::system::error_code& ec);
  std::size_t poll_one(boost::system::error_code& ec);

  void stop();
  bool stopped() const;
  void restart();

  // Outstanding work: run() returns when it reaches zero.
  void work_started() noexcept
  {
    outstanding_work_.fetch_add(1, std::memory_order_relaxed);
  }
  void work_finished() noexcept
  {
    if (outstanding_work_.fetch_sub(1, std::memory_order_acq_rel) == 1)
      stop();
  }

  // Whether the calling thread is inside run()/poll() of this scheduler.
  bool can_dispatch() const noexcept { return this_thread() != nullptr; }
  // Keeps the exception in flight for the calling thread's loop, which
  // rethrows it once the current handler returns (Asio's rule for functions
  // an executor ran inline).
  void capture_current_exception() noexcept;

  // Queues a ready operation and counts it as new work.
  void post_immediate_completion(operation* op, bool is_continuation);
  // Queues a ready operation whose work was counted when it started.
  void post_deferred_completion(operation* op);
  void post_deferred_completions(op_queue<operation>& ops);

  // Starts a ring operation: counts work, prepares its SQE now when the
  // ring is free, or queues it for the thread running the ring.
  void start_op(uring_op* op);
  // Starts a multishot ring operation that is not counted as work: an armed
  // request nobody waits for must not keep run() from returning. Its final
  // CQE still queues it as a ready operation; its completion then calls
  // restart_op() or work_started() (the loop finishes one unit per op).
  void start_untracked_op(uring_op* op);
  // Resubmits a ring operation after a retryable result (EINTR, EAGAIN).
  // Called only from a completion, so the work is already counted.
  void restart_op(uring_op* op);
  // Requests cancellation of one operation (IORING_OP_ASYNC_CANCEL).
  void cancel_op(uring_op* op);
  // Cancels every operation on fd. When the calling thread may enter the
  // ring, the kernel has matched them against fd before this returns.
  void cancel_fd(int fd);
  // Cancels every operation on fd, then closes it. A thread that may not
  // enter a single-issuer ring hands both to the ring thread instead (the
  // descriptor number stays reserved until then, so nothing can reuse it).
  void close_fd(int fd, boost::system::error_code& ec);

  // Registers n buffers in the ring's fixed-buffer table (created on first
  // use, sparse); returns the first slot, or -errno (-EEXIST: a thread other
  // than a single-issuer ring's issuer; -ENOSPC: the table is full).
  int register_buffers(const ::iovec* iov, unsigned n);
  // Releases table slots [first, first + n).
  void unregister_buffers(int first, unsigned n);

  // Registers fd in the ring's fixed-file table (created on first use):
  // operations on fd then name the slot (IOSQE_FIXED_FILE), which saves the
  // kernel a file lookup per operation. Returns 0 or -errno (-EEXIST: not
  // the issuer of a single-issuer ring; -ENOSPC: table full).
  int register_fd(int fd);
  // Removes fd from the table (no-op when not registered). Operations
  // already submitted keep their own reference to the file.
  void unregister_fd(int fd);
  // Whether fd is registered.
  bool is_registered_fd(int fd);

  // Timer queues (one per clock type) register themselves here.
  void add_timer_queue(timer_queue_base& q);
  void remove_timer_queue(timer_queue_base& q);
  // Arms op on timer in queue q; counts work.
  template <typename Queue>
  void schedule_timer(Queue& q, const typename Queue::time_point& time,
      typename Queue::per_timer_data& timer, operation* op);
  // Cancels at most max of timer's waits; returns how many.
  template <typename Queue>
  std::size_t cancel_timer(Queue& q, typename Queue::per_timer_data& timer,
      std::size_t max = std::size_t(-1));
  // Cancels the one wait op if it is still armed in q (per-operation
  // cancellation of async_wait).
  template <typename Queue>
  void cancel_timer_op(Queue& q, operation* op);
  template <typename Queue>
  void move_timer(Queue& q, typename Queue::per_timer_data& target,
      typename Queue::per_timer_data& source);

  int concurrency_hint() const noexcept { return concurrency_hint_; }
  core::ring& ring() noexcept { return ring_; }
  // io_uring_enter calls so far (statistics and tests).
  std::uint64_t enter_count() const noexcept { return ring_.enter_count(); }

private:
  struct task_cleanup;
  struct work_cleanup;
  struct batch_scope;
  struct batched_task_cleanup;
  struct batched_work_cleanup;

  // Marker in op_queue_: whoever pops it runs the next ring turn.
  class task_op : public operation
  {
  public:
    task_op() noexcept : operation(&task_op::noop) {}

  private:
    static void noop(scheduler*, operation*) {}
  };

  thread_info* this_thread() const noexcept;
  // Destroys every queued operation and done, until no destructor queues
  // another.
  void destroy_queued(op_queue<operation>& done);
  // run() with concurrency hint 1: ready operations live in a queue the
  // thread owns, so handlers run without taking the mutex.
  std::size_t run_batched(thread_info& this_thread);
  // A nested run/poll call takes over what the enclosing call of this
  // thread holds (its batch), so that it can see the task and the handlers.
  void adopt_enclosing_queue(thread_info* outer);
  std::size_t do_run_one(std::unique_lock<futex_mutex>& lock,
      thread_info& this_thread, bool poll,
      const std::chrono::steady_clock::time_point* deadline);
  // One loop turn over the ring: move queued SQEs in, one io_uring_enter,
  // reap completions and expired timers into ops.
  void run_ring_turn(bool block,
      const std::chrono::steady_clock::time_point* deadline,
      op_queue<operation>& ops);
  // Prepares op's SQE now if the ring is free, else queues it for the ring
  // thread (interrupting a blocking turn).
  void submit_or_queue(uring_op* op);
  // With the ring held: prepares op's SQE, flushing a full SQ once; false if
  // the SQ is still full.
  bool try_prepare(uring_op* op);
  bool try_prepare_linked(uring_op* op);
  // Fills sqe for op and counts it in flight (try_prepare's common part).
  void finish_prepare(uring_op* op, io_uring_sqe* sqe);
  // late_bound_ (the list) bookkeeping: from prepare to the final CQE,
  // where retire_late_bound also does handle_completion's last steps.
  void track_late_bound(uring_op* op);
  void retire_late_bound(uring_op* op, op_queue<operation>& ops);
  // With mutex_ held: the in-flight late-bound ops that use fd.
  void late_bound_on(int fd, std::vector<std::uint64_t>& user_data) const;
  // With the ring held: an SQE, flushing and reaping as needed to get one.
  io_uring_sqe* get_sqe_forcibly();
  // With the ring held: reaps every available completion into ops.
  void reap_all(op_queue<operation>& ops);
  void handle_completion(const core::completion& c, op_queue<operation>& ops);
  // With the ring held, while reaping: ends op's multishot request (its
  // on_more_ asked to) with an IORING_OP_ASYNC_CANCEL tagged with
  // removal_tag, whose CQE op counts as one more outstanding: the op is
  // freed only once both have come, so the cancel can never find a later op
  // at the same address. With the SQ full it waits in multishot_ends_.
  void end_multishot(uring_op* op);
  // With the ring held, outside reaping: prepares the waiting cancels;
  // forcibly: reaping for SQEs (shutdown), else as far as the SQ has room.
  void prepare_multishot_ends(bool forcibly);
  void arm_wakeup();
  // Wakes the thread blocked in the ring (eventfd write).
  void interrupt_ring();
  void wake_one_thread_and_unlock(std::unique_lock<futex_mutex>& lock);
  void stop_all_threads(std::unique_lock<futex_mutex>& lock);
  // Locks the ring for the calling thread, interrupting a blocked ring
  // thread first. Reentrant for the thread that already holds it.
  void lock_ring();
  void unlock_ring();
  // Whether the calling thread may call io_uring_enter on this ring: always
  // for shared rings; only the issuer thread for single-issuer rings.
  bool can_enter() const noexcept;
  // Queues an internal ring request (cancel, close) for the ring thread.
  void start_request(int kind, std::uint64_t target);
  long long timer_wait_ns(long long max_ns) const;

  core::ring ring_;                        // the kernel queues
  const int concurrency_hint_;
  const bool one_thread_;                  // concurrency_hint == 1
  task_op task_operation_;                 // outlives op_queue_
  mutable futex_mutex mutex_;              // guards everything below it
  std::condition_variable_any wakeup_;     // idle threads wait here
  op_queue<operation> op_queue_;           // ready operations (and task_op)
  op_queue<uring_op> pending_;             // ops waiting for an SQE
  std::vector<uring_op*> late_bound_;      // in flight, uring_op::late_bound()
  std::atomic<bool> has_pending_{false};   // pending_ may be non-empty
  timer_queue_base* timer_queues_ = nullptr;
  std::size_t idle_threads_ = 0;           // threads waiting on wakeup_
  std::atomic<bool> stopped_{false};       // read unlocked by run_batched
  std::atomic<bool> shared_ready_{false};  // op_queue_ got operations from
                                           // outside a batched run
  bool shutdown_ = false;
  // The ring turn won't block (or has been interrupted). Whoever sets it
  // from false to true (an exchange) writes to the wakeup eventfd.
  std::atomic<bool> task_interrupted_{true};
  // After storing its own flag: whether this caller must interrupt the
  // ring. A sequentially consistent load first keeps the locked exchange
  // off the common path where the turn is not blocking; a true it reads
  // was stored before the ring thread's next store of false, and that
  // thread re-checks every flag after such a store.
  bool claim_interrupt() noexcept
  {
    return !task_interrupted_.load() && !task_interrupted_.exchange(true);
  }
  std::atomic<bool> shutting_down_{false}; // shutdown_, readable unlocked
  std::atomic<bool> has_timer_queues_{false}; // timer_queues_, unlocked
  std::atomic<long> outstanding_work_{0};

  futex_mutex ring_mutex_;                 // held by whoever touches the SQ/CQ
  std::atomic<std::thread::id> ring_owner_{};
  std::atomic<std::thread::id> issuer_{};  // single-issuer rings: the thread
  unsigned ring_depth_ = 0;                // reentrant holds by ring_owner_
  std::atomic<int> ring_waiters_{0};       // threads in lock_ring() waiting:
                                           // no ring turn may block then
  int wakeup_fd_ = -1;                     // eventfd read through the ring
  std::uint64_t wakeup_buffer_ = 0;        // Lifetime: scheduler outlives ring
  bool wakeup_armed_ = false;              // a read of wakeup_fd_ is in flight
  op_queue<uring_op> multishot_ends_;      // ring-held: cancels to prepare
  std::size_t inflight_ = 0;               // ring ops awaiting their CQE
  std::atomic<bool> ring_busy_{true};      // SQEs or ops may be outstanding
  std::vector<bool> buffer_slots_;         // fixed-buffer table slots in use
  std::vector<int> fixed_slot_of_fd_;      // fd -> fixed-file slot, or -1
  std::vector<bool> file_slots_;           // fixed-file table slots in use
  bool has_fixed_files_ = false;           // fixed_slot_of_fd_ has entries
};

// Reserved user_data tags (never operation addresses).
inline constexpr std::uint64_t wakeup_user_data = 1;
// Set in the user_data of an op's linked timeout (ops are 8-byte aligned).
inline constexpr std::uint64_t linked_timeout_tag = 2;
// Set in the user_data of the cancel that ends an op's multishot request.
inline constexpr std::uint64_t removal_tag = 4;

template <typename Queue>
void scheduler::schedule_timer(Queue& q,
    const typename Queue::time_point& time,
    typename Queue::per_timer_data& timer, operation* op)
{
  std::unique_lock<futex_mutex> lock(mutex_);
  if (shutdown_)
  {
    lock.unlock();
    work_started();
    post_deferred_completion(op);
    return;
  }
  bool earliest = q.enqueue_timer(time, timer, op);
  work_started();
  if (earliest && claim_interrupt())
  {
    lock.unlock();
    interrupt_ring();
  }
}

template <typename Queue>
std::size_t scheduler::cancel_timer(Queue& q,
    typename Queue::per_timer_data& timer, std::size_t max)
{
  std::unique_lock<futex_mutex> lock(mutex_);
  op_queue<operation> ops;
  std::size_t n = q.cancel_timer(timer, ops, max);
  lock.unlock();
  post_deferred_completions(ops);
  return n;
}

template <typename Queue>
void scheduler::cancel_timer_op(Queue& q, operation* op)
{
  std::unique_lock<futex_mutex> lock(mutex_);
  op_queue<operation> ops;
  q.cancel_timer_op(op, ops);
  lock.unlock();
  post_deferred_completions(ops);
}

template <typename Queue>
void scheduler::move_timer(Queue& q, typename Queue::per_timer_data& target,
    typename Queue::per_timer_data& source)
{
  std::unique_lock<futex_mutex> lock(mutex_);
  op_queue<operation> ops;
  q.cancel_timer(target, ops);
  q.move_timer(target, source);
  lock.unlock();
  post_deferred_completions(ops);
}

} // namespace asio_uring::detail
