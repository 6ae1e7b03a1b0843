// A completion handler carrying a per-operation deadline, produced by the
// with_timeout token adapter; ring operations turn it into a linked timeout.
#pragma once

#include <asio_uring/detail/core/ring.hpp>

#include <boost/asio/associator.hpp>

#include <chrono>
#include <type_traits>
#include <utility>

namespace asio_uring::detail {

template <typename Handler>
class timeout_handler
{
public:
  template <typename H>
  timeout_handler(H&& handler, std::chrono::nanoseconds timeout)
    : handler_(static_cast<H&&>(handler)), timeout_(timeout)
  {
  }

  template <typename... Args>
  void operator()(Args&&... args)
  {
    std::move(handler_)(static_cast<Args&&>(args)...);
  }

  // The deadline as the kernel's timespec (negative durations: now).
  core::timespec64 timespec() const noexcept
  {
    auto ns = timeout_.count() < 0 ? 0 : timeout_.count();
    return core::timespec64{ns / 1000000000, ns % 1000000000};
  }

  Handler handler_;
  std::chrono::nanoseconds timeout_;
};

template <typename T>
struct is_timeout_handler : std::false_type {};

template <typename Handler>
struct is_timeout_handler<timeout_handler<Handler>> : std::true_type {};

} // namespace asio_uring::detail

namespace boost::asio {

template <template <typename, typename> class Associator, typename Handler,
    typename DefaultCandidate>
struct associator<Associator, asio_uring::detail::timeout_handler<Handler>,
    DefaultCandidate> : Associator<Handler, DefaultCandidate>
{
  static typename Associator<Handler, DefaultCandidate>::type get(
      const asio_uring::detail::timeout_handler<Handler>& h) noexcept
  {
    return Associator<Handler, DefaultCandidate>::get(h.handler_);
  }

  static auto get(const asio_uring::detail::timeout_handler<Handler>& h,
      const DefaultCandidate& c) noexcept
      -> decltype(Associator<Handler, DefaultCandidate>::get(h.handler_, c))
  {
    return Associator<Handler, DefaultCandidate>::get(h.handler_, c);
  }
};

} // namespace boost::asio
