//
// basic_waitable_timer.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~
//
// A waitable timer driven by the io_context's run loop.
//
#pragma once

#include <asio_uring/detail/io_object.hpp>
#include <asio_uring/detail/timer_service.hpp>
#include <asio_uring/io_context.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/detail/throw_error.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/wait_traits.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <type_traits>
#include <utility>

namespace asio_uring {

/// Provides waitable timer functionality (Boost.Asio's basic_waitable_timer),
/// driven by the io_context's run loop.
/**
 * A timer is always in one of two states: "expired" or "not expired". If
 * async_wait() is called on an expired timer, the handler runs on the next
 * turn of the run loop, with success. No thread is involved: the run loop
 * sleeps in io_uring_enter no longer than until the earliest deadline of
 * all its timers, and arming an earlier timer from another thread wakes it.
 *
 * The executor must belong to an asio_uring::io_context (directly, or
 * through a strand or any_io_executor); otherwise the constructors throw
 * std::invalid_argument.
 *
 * @par Thread Safety
 * @e Distinct @e objects: Safe.@n
 * @e Shared @e objects: Unsafe.
 *
 * @par Examples
 * @code
 * asio_uring::steady_timer timer(ctx, std::chrono::seconds(5));
 * timer.async_wait([](boost::system::error_code ec) {
 *   if (!ec) { ... }  // expired; operation_aborted when cancelled
 * });
 * @endcode
 */
template <typename Clock, typename WaitTraits = boost::asio::wait_traits<Clock>,
    typename Executor = boost::asio::any_io_executor>
class basic_waitable_timer
{
  using service_type = detail::timer_service<Clock, WaitTraits>;

  class initiate_async_wait;

public:
  /// The type of the executor associated with the object.
  using executor_type = Executor;

  /// Rebinds the timer type to another executor.
  template <typename Executor1>
  struct rebind_executor
  {
    /// The timer type when rebound to the specified executor.
    using other = basic_waitable_timer<Clock, WaitTraits, Executor1>;
  };

  /// The clock type.
  using clock_type = Clock;

  /// The duration type of the clock.
  using duration = typename clock_type::duration;

  /// The time point type of the clock.
  using time_point = typename clock_type::time_point;

  /// The wait traits type.
  using traits_type = WaitTraits;

  /// Constructs a timer without setting an expiry time (the clock's epoch,
  /// which has passed: a wait completes at once).
  explicit basic_waitable_timer(const executor_type& ex)
    : executor_(ex), service_(&service_for(executor_))
  {
  }

  /// Constructs a timer without setting an expiry time.
  template <typename ExecutionContext>
  explicit basic_waitable_timer(ExecutionContext& context,
      std::enable_if_t<std::is_convertible_v<ExecutionContext&,
          boost::asio::execution_context&>>* = nullptr)
    : executor_(context.get_executor()), service_(&service_for(executor_))
  {
  }

  /// Constructs a timer to expire at an absolute time.
  basic_waitable_timer(const executor_type& ex, const time_point& expiry_time)
    : basic_waitable_timer(ex)
  {
    service_->expires_at(impl_, expiry_time);
  }

  /// Constructs a timer to expire at an absolute time.
  template <typename ExecutionContext>
  explicit basic_waitable_timer(ExecutionContext& context,
      const time_point& expiry_time,
      std::enable_if_t<std::is_convertible_v<ExecutionContext&,
          boost::asio::execution_context&>>* = nullptr)
    : basic_waitable_timer(context)
  {
    service_->expires_at(impl_, expiry_time);
  }

  /// Constructs a timer to expire after a time relative to now (saturating
  /// at time_point::max()).
  basic_waitable_timer(const executor_type& ex, const duration& expiry_time)
    : basic_waitable_timer(ex)
  {
    service_->expires_after(impl_, expiry_time);
  }

  /// Constructs a timer to expire after a time relative to now.
  template <typename ExecutionContext>
  explicit basic_waitable_timer(ExecutionContext& context,
      const duration& expiry_time,
      std::enable_if_t<std::is_convertible_v<ExecutionContext&,
          boost::asio::execution_context&>>* = nullptr)
    : basic_waitable_timer(context)
  {
    service_->expires_after(impl_, expiry_time);
  }

  /// Move-constructs: the pending waits and the expiry move to the new
  /// object. other keeps its executor and is left as if just constructed
  /// from it.
  basic_waitable_timer(basic_waitable_timer&& other)
    : executor_(other.executor_), service_(other.service_)
  {
    service_->move_construct(impl_, other.impl_);
  }

  /// Move-assigns: cancels this timer's pending waits (operation_aborted),
  /// then takes other's executor, expiry and pending waits. other is left
  /// as if just constructed from its executor.
  basic_waitable_timer& operator=(basic_waitable_timer&& other)
  {
    if (this != &other)
    {
      service_->move_assign(impl_, *other.service_, other.impl_);
      service_ = other.service_;
      executor_ = other.executor_;
    }
    return *this;
  }

  // All timers have access to each other's implementations.
  template <typename Clock1, typename WaitTraits1, typename Executor1>
  friend class basic_waitable_timer;

  /// Move-constructs from a timer of another executor type.
  template <typename Executor1>
  basic_waitable_timer(basic_waitable_timer<Clock, WaitTraits, Executor1>&& other,
      std::enable_if_t<std::is_convertible_v<Executor1, Executor>>* = nullptr)
    : executor_(other.executor_), service_(other.service_)
  {
    service_->move_construct(impl_, other.impl_);
  }

  /// Move-assigns from a timer of another executor type.
  template <typename Executor1>
  std::enable_if_t<std::is_convertible_v<Executor1, Executor>,
      basic_waitable_timer&>
  operator=(basic_waitable_timer<Clock, WaitTraits, Executor1>&& other)
  {
    basic_waitable_timer tmp(std::move(other));
    return *this = std::move(tmp);
  }

  /// Destroys the timer: pending waits complete with operation_aborted, as
  /// if by cancel().
  ~basic_waitable_timer() { service_->destroy(impl_); }

  basic_waitable_timer(const basic_waitable_timer&) = delete;
  basic_waitable_timer& operator=(const basic_waitable_timer&) = delete;

  /// Gets the executor associated with the object.
  const executor_type& get_executor() noexcept { return executor_; }

  /// Cancels every pending asynchronous wait on the timer.
  /**
   * Their handlers are invoked with boost::asio::error::operation_aborted.
   * The expiry time is unchanged. Waits that already expired (their
   * handlers have run or are queued to run) can no longer be cancelled and
   * complete with success.
   *
   * @return The number of asynchronous operations that were cancelled.
   */
  std::size_t cancel() { return service_->cancel(impl_); }

#if !defined(BOOST_ASIO_NO_DEPRECATED)
  /// (Deprecated: Use non-error_code overload.) Cancels every pending wait.
  std::size_t cancel(boost::system::error_code& ec)
  {
    ec.clear();
    return service_->cancel(impl_);
  }
#endif // !defined(BOOST_ASIO_NO_DEPRECATED)

  /// Cancels the oldest pending asynchronous wait on the timer.
  /**
   * Its handler is invoked with boost::asio::error::operation_aborted.
   *
   * @return The number of asynchronous operations that were cancelled: 0
   * or 1.
   */
  std::size_t cancel_one() { return service_->cancel_one(impl_); }

#if !defined(BOOST_ASIO_NO_DEPRECATED)
  /// (Deprecated: Use non-error_code overload.) Cancels the oldest pending
  /// wait.
  std::size_t cancel_one(boost::system::error_code& ec)
  {
    ec.clear();
    return service_->cancel_one(impl_);
  }

  /// (Deprecated: Use expiry().) Gets the timer's expiry time as an
  /// absolute time.
  time_point expires_at() const { return impl_.expiry; }
#endif // !defined(BOOST_ASIO_NO_DEPRECATED)

  /// Gets the timer's expiry time as an absolute time (whether or not it
  /// has expired).
  time_point expiry() const { return impl_.expiry; }

  /// Sets the timer's expiry time as an absolute time.
  /**
   * Pending asynchronous waits are cancelled: their handlers are invoked
   * with boost::asio::error::operation_aborted.
   *
   * @return The number of asynchronous operations that were cancelled.
   */
  std::size_t expires_at(const time_point& expiry_time)
  {
    return service_->expires_at(impl_, expiry_time);
  }

#if !defined(BOOST_ASIO_NO_DEPRECATED)
  /// (Deprecated: Use non-error_code overload.) Sets the timer's expiry time
  /// as an absolute time.
  std::size_t expires_at(const time_point& expiry_time,
      boost::system::error_code& ec)
  {
    ec.clear();
    return service_->expires_at(impl_, expiry_time);
  }
#endif // !defined(BOOST_ASIO_NO_DEPRECATED)

  /// Sets the timer's expiry time relative to now (saturating at
  /// time_point::max()).
  /**
   * Pending asynchronous waits are cancelled: their handlers are invoked
   * with boost::asio::error::operation_aborted.
   *
   * @return The number of asynchronous operations that were cancelled.
   */
  std::size_t expires_after(const duration& expiry_time)
  {
    return service_->expires_after(impl_, expiry_time);
  }

#if !defined(BOOST_ASIO_NO_DEPRECATED)
  /// (Deprecated: Use expiry().) Gets the timer's expiry time relative to
  /// now.
  duration expires_from_now() const
  {
    return service_->expires_from_now(impl_);
  }

  /// (Deprecated: Use expires_after().) Sets the timer's expiry time
  /// relative to now, cancelling pending waits.
  std::size_t expires_from_now(const duration& expiry_time)
  {
    return service_->expires_after(impl_, expiry_time);
  }

  /// (Deprecated: Use expires_after().) Sets the timer's expiry time
  /// relative to now, cancelling pending waits.
  std::size_t expires_from_now(const duration& expiry_time,
      boost::system::error_code& ec)
  {
    ec.clear();
    return service_->expires_after(impl_, expiry_time);
  }
#endif // !defined(BOOST_ASIO_NO_DEPRECATED)

  /// Blocks the calling thread until the timer has expired.
  /**
   * As in Boost.Asio this sleeps; it does not run the io_context.
   *
   * @throws boost::system::system_error Thrown on failure.
   */
  void wait()
  {
    boost::system::error_code ec;
    service_->wait(impl_, ec);
    boost::asio::detail::throw_error(ec, "wait");
  }

  /// Blocks the calling thread until the timer has expired.
  void wait(boost::system::error_code& ec) { service_->wait(impl_, ec); }

  /// Starts an asynchronous wait on the timer.
  /**
   * For each call the completion handler is called exactly once: with
   * success when the timer has expired, or with
   * boost::asio::error::operation_aborted when the wait was cancelled (by
   * cancel(), cancel_one(), expires_at(), expires_after(), the timer's
   * destruction, or a cancellation slot). If the io_context is destroyed
   * first, the handler is destroyed without being called.
   *
   * Regardless of whether the asynchronous operation completes immediately
   * or not, the completion handler will not be invoked from within this
   * function. It runs through its associated executor and is allocated with
   * its associated allocator.
   *
   * @par Completion Signature
   * @code void(boost::system::error_code) @endcode
   *
   * @par Per-Operation Cancellation
   * This asynchronous operation supports cancellation for the following
   * boost::asio::cancellation_type values, each of which cancels just this
   * wait:
   *
   * @li @c cancellation_type::terminal
   *
   * @li @c cancellation_type::partial
   *
   * @li @c cancellation_type::total
   */
  template <BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code))
          WaitToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_wait(
      WaitToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return boost::asio::async_initiate<WaitToken,
        void(boost::system::error_code)>(initiate_async_wait(this), token);
  }

private:
  class initiate_async_wait
  {
  public:
    using executor_type = Executor;

    explicit initiate_async_wait(basic_waitable_timer* self) : self_(self) {}

    const executor_type& get_executor() const noexcept
    {
      return self_->executor_;
    }

    template <typename WaitHandler>
    void operator()(WaitHandler&& handler) const
    {
      using handler_type = std::decay_t<WaitHandler>;
      static_assert(std::is_invocable_v<handler_type&&,
                        const boost::system::error_code&>,
          "WaitHandler type requirements not met: a wait handler must be "
          "callable as handler(const boost::system::error_code&)");
      self_->service_->async_wait(self_->impl_,
          static_cast<WaitHandler&&>(handler), self_->executor_);
    }

  private:
    basic_waitable_timer* self_;
  };

  static service_type& service_for(const executor_type& ex)
  {
    return boost::asio::use_service<service_type>(detail::context_of(ex));
  }

  executor_type executor_;  // completions run here by default
  service_type* service_;   // the clock's service of executor_'s context
  typename service_type::implementation_type impl_;  // expiry and waits
};

} // namespace asio_uring
