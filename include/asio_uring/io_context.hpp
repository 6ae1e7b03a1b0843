//
// io_context.hpp
// ~~~~~~~~~~~~~~
//
// An execution context whose run loop drives a private io_uring instance.
//
#pragma once

#include <asio_uring/detail/scheduler.hpp>
#include <asio_uring/ring_options.hpp>

#include <boost/asio/detail/concurrency_hint.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace asio_uring {

/// Whether an io_uring instance can be created by this process.
/**
 * Cheap (one io_uring_setup of a two-entry ring) and never throws. When it
 * returns false, io_context's constructor would throw a system_error whose
 * message names the cause (kernel too old, io_uring disabled by sysctl, a
 * seccomp filter, RLIMIT_MEMLOCK) and the fix.
 */
bool is_supported() noexcept;

/// Like is_supported(), and stores why not in ec.
bool is_supported(boost::system::error_code& ec) noexcept;

/// Provides I/O functionality through a private io_uring instance.
/**
 * A drop-in replacement for boost::asio::io_context. The run loop, per turn:
 * reaps completions from the ring, runs ready handlers, and submits every
 * queued SQE with a single io_uring_enter that also waits when there is
 * nothing to do. No thread pool is involved in any I/O.
 *
 * @par Thread Safety
 * @e Distinct @e objects: Safe.@n
 * @e Shared @e objects: Safe, except that calling restart() while there are
 * unfinished run(), run_one(), run_for(), run_until(), poll() or poll_one()
 * calls results in undefined behaviour.
 *
 * Several threads may call run() concurrently; each handler runs exactly
 * once. Handlers may be posted, and operations started, from any thread.
 * A concurrency_hint of 1 promises that only one thread runs the context at
 * a time, which lets handlers posted from inside the loop skip a lock.
 *
 * An exception thrown by a handler propagates out of the run(), run_one(),
 * poll() or poll_one() call that invoked it; the context is not stopped,
 * and the call may be made again to continue.
 *
 * Boost.Asio objects that are not replaced by asio_uring (signal_set,
 * resolver, ...) also work with this context's executor: Boost.Asio then
 * gives them an internal scheduler thread of their own.
 */
class io_context : public boost::asio::execution_context
{
public:
  template <typename Allocator, std::uintptr_t Bits>
  class basic_executor_type;

  template <typename Allocator, std::uintptr_t Bits>
  friend class basic_executor_type;

  /// Executor used to submit functions to an io_context.
  using executor_type = basic_executor_type<std::allocator<void>, 0>;

  /// The type used to count the number of handlers executed by the context.
  using count_type = std::size_t;

  /// Constructs with the default ring options. Throws
  /// boost::system::system_error if io_uring cannot be set up.
  io_context();

  /// Constructs with a concurrency hint (1: run by one thread at a time).
  explicit io_context(int concurrency_hint);

  /// Constructs with explicit ring options.
  explicit io_context(const ring_options& options,
      int concurrency_hint = BOOST_ASIO_CONCURRENCY_HINT_DEFAULT);

  /// Destroys the context: cancels every operation in flight, waits until
  /// the kernel has released their buffers, then destroys all unfinished
  /// handlers without invoking them.
  ~io_context();

  io_context(const io_context&) = delete;
  io_context& operator=(const io_context&) = delete;

  /// Obtains the executor associated with the context.
  executor_type get_executor() noexcept;

  /// Runs the event loop until stopped or out of work. Returns the number
  /// of handlers executed.
  count_type run();

  /// Runs the event loop for at most rel_time.
  template <typename Rep, typename Period>
  count_type run_for(const std::chrono::duration<Rep, Period>& rel_time)
  {
    return run_until(std::chrono::steady_clock::now() + rel_time);
  }

  /// Runs the event loop until abs_time at most.
  template <typename Clock, typename Duration>
  count_type run_until(const std::chrono::time_point<Clock, Duration>& abs_time)
  {
    count_type n = 0;
    while (run_one_until(abs_time))
      if (n != static_cast<count_type>(-1))
        ++n;
    return n;
  }

  /// Runs at most one handler, blocking until one is ready.
  count_type run_one();

  /// Runs at most one handler, waiting at most rel_time.
  template <typename Rep, typename Period>
  count_type run_one_for(const std::chrono::duration<Rep, Period>& rel_time)
  {
    return run_one_until(std::chrono::steady_clock::now() + rel_time);
  }

  /// Runs at most one handler, waiting until abs_time at most.
  template <typename Clock, typename Duration>
  count_type run_one_until(
      const std::chrono::time_point<Clock, Duration>& abs_time)
  {
    typename Clock::time_point now = Clock::now();
    while (now < abs_time)
    {
      auto rel_time = abs_time - now;
      if (rel_time > std::chrono::seconds(1))
        rel_time = std::chrono::seconds(1);
      boost::system::error_code ec;
      count_type s = impl_.run_one_until(std::chrono::steady_clock::now()
              + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                  rel_time),
          ec);
      if (s || impl_.stopped())
        return s;
      now = Clock::now();
    }
    return 0;
  }

  /// Runs ready handlers without blocking.
  count_type poll();

  /// Runs at most one ready handler without blocking.
  count_type poll_one();

  /// Stops the event loop: run() and run_one() return as soon as possible.
  void stop();

  /// Whether the context has been stopped.
  bool stopped() const;

  /// Prepares for a subsequent run() after a stop or running out of work.
  void restart();

  /// Number of io_uring_enter system calls made so far (an extension).
  std::uint64_t enter_count() const noexcept { return impl_.enter_count(); }

  /// The engine (for asio_uring's own I/O objects).
  detail::scheduler& impl() noexcept { return impl_; }

  /// The asio_uring::io_context that ctx is, or nullptr if it is another
  /// kind of execution context.
  static io_context* from(boost::asio::execution_context& ctx) noexcept;

private:
  class identity_service;

  detail::scheduler impl_;
};

namespace detail {

struct io_context_bits
{
  static constexpr std::uintptr_t blocking_never = 1;
  static constexpr std::uintptr_t relationship_continuation = 2;
  static constexpr std::uintptr_t outstanding_work_tracked = 4;
  static constexpr std::uintptr_t runtime_bits = 3;
};

} // namespace detail

/// Executor implementation type used to submit functions to an io_context.
/**
 * Satisfies Boost.Asio's standard executor requirements (execute, query,
 * require, prefer) and the Networking TS executor requirements.
 */
template <typename Allocator, std::uintptr_t Bits>
class io_context::basic_executor_type : detail::io_context_bits, Allocator
{
public:
  basic_executor_type(const basic_executor_type& other) noexcept
    : Allocator(static_cast<const Allocator&>(other)), target_(other.target_)
  {
    if constexpr ((Bits & outstanding_work_tracked) != 0)
      if (context_ptr())
        context_ptr()->impl_.work_started();
  }

  basic_executor_type(basic_executor_type&& other) noexcept
    : Allocator(static_cast<Allocator&&>(other)), target_(other.target_)
  {
    if constexpr ((Bits & outstanding_work_tracked) != 0)
      other.target_ = 0;
  }

  ~basic_executor_type() noexcept
  {
    if constexpr ((Bits & outstanding_work_tracked) != 0)
      if (context_ptr())
        context_ptr()->impl_.work_finished();
  }

  basic_executor_type& operator=(const basic_executor_type& other) noexcept
  {
    if (this != &other)
    {
      [[maybe_unused]] io_context* old = context_ptr();
      static_cast<Allocator&>(*this) = static_cast<const Allocator&>(other);
      target_ = other.target_;
      if constexpr ((Bits & outstanding_work_tracked) != 0)
      {
        if (context_ptr())
          context_ptr()->impl_.work_started();
        if (old)
          old->impl_.work_finished();
      }
    }
    return *this;
  }

  basic_executor_type& operator=(basic_executor_type&& other) noexcept
  {
    if (this != &other)
    {
      [[maybe_unused]] io_context* old = context_ptr();
      static_cast<Allocator&>(*this) = static_cast<Allocator&&>(other);
      target_ = other.target_;
      if constexpr ((Bits & outstanding_work_tracked) != 0)
      {
        other.target_ = 0;
        if (old)
          old->impl_.work_finished();
      }
    }
    return *this;
  }

  // Properties: do not call these directly; use boost::asio::require,
  // prefer and query.

  constexpr basic_executor_type require(
      boost::asio::execution::blocking_t::possibly_t) const
  {
    return basic_executor_type(context_ptr(), *this, bits() & ~blocking_never);
  }

  constexpr basic_executor_type require(
      boost::asio::execution::blocking_t::never_t) const
  {
    return basic_executor_type(context_ptr(), *this, bits() | blocking_never);
  }

  constexpr basic_executor_type require(
      boost::asio::execution::relationship_t::fork_t) const
  {
    return basic_executor_type(
        context_ptr(), *this, bits() & ~relationship_continuation);
  }

  constexpr basic_executor_type require(
      boost::asio::execution::relationship_t::continuation_t) const
  {
    return basic_executor_type(
        context_ptr(), *this, bits() | relationship_continuation);
  }

  constexpr basic_executor_type<Allocator, Bits | outstanding_work_tracked>
  require(boost::asio::execution::outstanding_work_t::tracked_t) const
  {
    return basic_executor_type<Allocator, Bits | outstanding_work_tracked>(
        context_ptr(), *this, bits());
  }

  constexpr basic_executor_type<Allocator, Bits & ~outstanding_work_tracked>
  require(boost::asio::execution::outstanding_work_t::untracked_t) const
  {
    return basic_executor_type<Allocator, Bits & ~outstanding_work_tracked>(
        context_ptr(), *this, bits());
  }

  template <typename OtherAllocator>
  constexpr basic_executor_type<OtherAllocator, Bits> require(
      boost::asio::execution::allocator_t<OtherAllocator> a) const
  {
    return basic_executor_type<OtherAllocator, Bits>(
        context_ptr(), a.value(), bits());
  }

  constexpr basic_executor_type<std::allocator<void>, Bits> require(
      boost::asio::execution::allocator_t<void>) const
  {
    return basic_executor_type<std::allocator<void>, Bits>(
        context_ptr(), std::allocator<void>(), bits());
  }

  static constexpr boost::asio::execution::mapping_t query(
      boost::asio::execution::mapping_t) noexcept
  {
    return boost::asio::execution::mapping.thread;
  }

  io_context& query(boost::asio::execution::context_t) const noexcept
  {
    return *context_ptr();
  }

  constexpr boost::asio::execution::blocking_t query(
      boost::asio::execution::blocking_t) const noexcept
  {
    return (bits() & blocking_never)
        ? boost::asio::execution::blocking_t(
            boost::asio::execution::blocking.never)
        : boost::asio::execution::blocking_t(
            boost::asio::execution::blocking.possibly);
  }

  constexpr boost::asio::execution::relationship_t query(
      boost::asio::execution::relationship_t) const noexcept
  {
    return (bits() & relationship_continuation)
        ? boost::asio::execution::relationship_t(
            boost::asio::execution::relationship.continuation)
        : boost::asio::execution::relationship_t(
            boost::asio::execution::relationship.fork);
  }

  static constexpr boost::asio::execution::outstanding_work_t query(
      boost::asio::execution::outstanding_work_t) noexcept
  {
    return (Bits & outstanding_work_tracked)
        ? boost::asio::execution::outstanding_work_t(
            boost::asio::execution::outstanding_work.tracked)
        : boost::asio::execution::outstanding_work_t(
            boost::asio::execution::outstanding_work.untracked);
  }

  template <typename OtherAllocator>
  constexpr Allocator query(
      boost::asio::execution::allocator_t<OtherAllocator>) const noexcept
  {
    return static_cast<const Allocator&>(*this);
  }

  constexpr Allocator query(
      boost::asio::execution::allocator_t<void>) const noexcept
  {
    return static_cast<const Allocator&>(*this);
  }

  /// Whether the calling thread is running the executor's io_context.
  bool running_in_this_thread() const noexcept
  {
    return context_ptr()->impl_.can_dispatch();
  }

  friend bool operator==(const basic_executor_type& a,
      const basic_executor_type& b) noexcept
  {
    return a.target_ == b.target_
        && static_cast<const Allocator&>(a) == static_cast<const Allocator&>(b);
  }

  friend bool operator!=(const basic_executor_type& a,
      const basic_executor_type& b) noexcept
  {
    return !(a == b);
  }

  /// Runs f: at once when blocking.possibly and called from inside the
  /// context's run loop, otherwise queued to run later. An exception from f
  /// run at once does not unwind the caller: the loop rethrows it when the
  /// current handler returns (two or more: boost::asio::multiple_exceptions).
  template <typename Function>
  void execute(Function&& f) const;

  // Networking TS executor interface.

  io_context& context() const noexcept { return *context_ptr(); }

  void on_work_started() const noexcept
  {
    context_ptr()->impl_.work_started();
  }

  void on_work_finished() const noexcept
  {
    context_ptr()->impl_.work_finished();
  }

  template <typename Function, typename OtherAllocator>
  void dispatch(Function&& f, const OtherAllocator& a) const;

  template <typename Function, typename OtherAllocator>
  void post(Function&& f, const OtherAllocator& a) const;

  template <typename Function, typename OtherAllocator>
  void defer(Function&& f, const OtherAllocator& a) const;

private:
  friend class io_context;
  template <typename, std::uintptr_t> friend class basic_executor_type;

  // Constructor used by io_context::get_executor().
  explicit basic_executor_type(io_context& i) noexcept
    : Allocator(), target_(reinterpret_cast<std::uintptr_t>(&i))
  {
    if constexpr ((Bits & outstanding_work_tracked) != 0)
      context_ptr()->impl_.work_started();
  }

  // Constructor used by require().
  basic_executor_type(io_context* i, const Allocator& a,
      std::uintptr_t bits) noexcept
    : Allocator(a), target_(reinterpret_cast<std::uintptr_t>(i) | bits)
  {
    if constexpr ((Bits & outstanding_work_tracked) != 0)
      if (context_ptr())
        context_ptr()->impl_.work_started();
  }

  template <typename Function, typename OtherAllocator>
  void post_function(Function&& f, const OtherAllocator& a,
      bool is_continuation) const;

  io_context* context_ptr() const noexcept
  {
    return reinterpret_cast<io_context*>(target_ & ~runtime_bits);
  }

  std::uintptr_t bits() const noexcept { return target_ & runtime_bits; }

  // The io_context pointer and the runtime property bits, packed.
  std::uintptr_t target_;
};

#if !defined(BOOST_ASIO_NO_DEPRECATED)
// Boost.Asio's old name for io_context, kept there unless
// BOOST_ASIO_NO_DEPRECATED; here it names the ring-backed context. Its
// nested io_service::work and ::strand are not provided (doc/migration.md).
using io_service = io_context;
#endif

} // namespace asio_uring

#include <asio_uring/impl/io_context.hpp>
