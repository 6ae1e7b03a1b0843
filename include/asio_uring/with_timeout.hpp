//
// with_timeout.hpp
// ~~~~~~~~~~~~~~~~
//
// Per-operation deadlines as io_uring linked timeouts (an extension).
//
#pragma once

#include <asio_uring/detail/timeout_handler.hpp>

#include <boost/asio/async_result.hpp>

#include <chrono>
#include <type_traits>
#include <utility>

namespace asio_uring {

/// Completion token adapter that gives one ring operation a deadline.
/**
 * @code f.async_read_some(buf, asio_uring::with_timeout(100ms, handler)); @endcode
 *
 * The operation is submitted linked to an IORING_OP_LINK_TIMEOUT: if it has
 * not completed when the deadline passes, the kernel cancels it and the
 * handler receives boost::asio::error::timed_out. No timer object and no
 * extra system call are involved. Works with any inner token (callbacks,
 * use_awaitable, deferred, ...).
 *
 * It applies to operations that go through the ring (file and socket reads
 * and writes, accepts, connects); other operations (timers, operations that
 * complete at once) ignore it. Composed operations such as async_read pass
 * it to each step: every step gets the full timeout.
 */
template <typename CompletionToken>
class with_timeout_t
{
public:
  template <typename T>
  with_timeout_t(T&& token, std::chrono::nanoseconds timeout)
    : token_(static_cast<T&&>(token)), timeout_(timeout)
  {
  }

  CompletionToken token_;
  std::chrono::nanoseconds timeout_;
};

/// Adapts token so that the operation is cancelled after timeout.
template <typename Rep, typename Period, typename CompletionToken>
with_timeout_t<std::decay_t<CompletionToken>> with_timeout(
    const std::chrono::duration<Rep, Period>& timeout, CompletionToken&& token)
{
  return with_timeout_t<std::decay_t<CompletionToken>>(
      static_cast<CompletionToken&&>(token),
      std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
}

namespace detail {

template <typename Initiation>
class with_timeout_initiation
{
public:
  template <typename I>
  with_timeout_initiation(I&& init, std::chrono::nanoseconds timeout)
    : initiation_(static_cast<I&&>(init)), timeout_(timeout)
  {
  }

  template <typename Handler, typename... Args>
  void operator()(Handler&& handler, Args&&... args)
  {
    std::move(initiation_)(
        timeout_handler<std::decay_t<Handler>>(
            static_cast<Handler&&>(handler), timeout_),
        static_cast<Args&&>(args)...);
  }

private:
  Initiation initiation_;
  std::chrono::nanoseconds timeout_;
};

} // namespace detail
} // namespace asio_uring

namespace boost::asio {

template <typename CompletionToken, typename... Signatures>
struct async_result<asio_uring::with_timeout_t<CompletionToken>, Signatures...>
{
  template <typename Initiation, typename RawCompletionToken, typename... Args>
  static auto initiate(Initiation&& initiation, RawCompletionToken&& token,
      Args&&... args)
  {
    return boost::asio::async_initiate<CompletionToken, Signatures...>(
        asio_uring::detail::with_timeout_initiation<std::decay_t<Initiation>>(
            static_cast<Initiation&&>(initiation), token.timeout_),
        token.token_, static_cast<Args&&>(args)...);
  }
};

} // namespace boost::asio
