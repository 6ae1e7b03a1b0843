// Asio glue: outstanding work on a handler's associated executor, and
// delivery of the completion through that executor.
#pragma once

#include <asio_uring/io_context.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/associator.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/prefer.hpp>

#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace asio_uring::detail {

// A handler bound to its completion arguments. Forwards every associator
// (allocator, executor, cancellation slot) to the inner handler.
template <typename Handler, typename... Args>
class completion_binder
{
public:
  template <typename H, typename... A>
  explicit completion_binder(H&& h, A&&... args)
    : handler_(static_cast<H&&>(h)), args_(static_cast<A&&>(args)...)
  {
  }

  void operator()()
  {
    std::apply(
        [this](Args&... a) { std::move(handler_)(std::move(a)...); }, args_);
  }

  Handler handler_;
  std::tuple<Args...> args_;
};

template <typename T>
struct is_native_executor : std::false_type {};

template <typename Allocator, std::uintptr_t Bits>
struct is_native_executor<io_context::basic_executor_type<Allocator, Bits>>
  : std::true_type {};

// The io_context behind ex, when ex is (or type-erases) one of ours with no
// other behaviour attached; null otherwise.
template <typename Executor>
io_context* native_context(const Executor& ex) noexcept
{
  if constexpr (is_native_executor<Executor>::value)
    return &ex.context();
  else if constexpr (std::is_same_v<Executor, boost::asio::any_io_executor>)
  {
    if (auto* t = ex.template target<io_context::executor_type>())
      return &t->context();
    return nullptr;
  }
  else
    return nullptr;
}

// Keeps the handler's associated executor busy while the operation is in
// flight, and runs the handler there when it completes. A handler whose
// executor is the operation's own io_context (the default) keeps no
// executor at all: the operation already counts as work there, and its
// handler runs straight from the run loop.
template <typename Handler, typename IoExecutor>
class handler_work
{
public:
  using executor_type =
      boost::asio::associated_executor_t<Handler, IoExecutor>;
  using tracked_type = std::decay_t<decltype(boost::asio::prefer(
      std::declval<const executor_type&>(),
      boost::asio::execution::outstanding_work.tracked))>;

  handler_work(Handler& handler, const IoExecutor& io_ex)
  {
    decltype(auto) ex = boost::asio::get_associated_executor(handler, io_ex);
    io_context* handler_ctx = native_context(ex);
    if (handler_ctx
        && (same_object(ex, io_ex) || handler_ctx == native_context(io_ex)))
      native_ = handler_ctx;
    else
      // A foreign executor (strand, thread pool, other context): track work
      // on it, and complete through it.
      foreign_.emplace(ex);
  }

  handler_work(handler_work&&) = default;

  // Invokes handler(args...) through the associated executor. owner is the
  // scheduler whose run loop is completing the operation.
  template <typename... Args>
  void complete(scheduler& owner, Handler& handler, Args&&... args)
  {
    if (native_ && &native_->impl() == &owner)
    {
      // Same context, and we are inside its run loop: one hop.
      std::move(handler)(static_cast<Args&&>(args)...);
      return;
    }
    completion_binder<Handler, std::decay_t<Args>...> bound(
        std::move(handler), static_cast<Args&&>(args)...);
    if (foreign_)
      boost::asio::dispatch(foreign_->executor, std::move(bound));
    else
      boost::asio::dispatch(native_->get_executor(), std::move(bound));
  }

private:
  // Whether the associated executor is io_ex itself (a handler with none of
  // its own): a type-erased io_ex is then not inspected twice.
  template <typename Ex>
  static bool same_object(const Ex& ex, const IoExecutor& io_ex) noexcept
  {
    if constexpr (std::is_same_v<Ex, IoExecutor>)
      return &ex == &io_ex;
    else
      return false;
  }

  struct foreign
  {
    explicit foreign(const executor_type& ex)
      : executor(ex),
        tracked(boost::asio::prefer(
            ex, boost::asio::execution::outstanding_work.tracked))
    {
    }

    executor_type executor;
    tracked_type tracked;
  };

  io_context* native_ = nullptr;
  std::optional<foreign> foreign_;
};

} // namespace asio_uring::detail

namespace boost::asio {

template <template <typename, typename> class Associator, typename Handler,
    typename... Args, typename DefaultCandidate>
struct associator<Associator,
    asio_uring::detail::completion_binder<Handler, Args...>, DefaultCandidate>
  : Associator<Handler, DefaultCandidate>
{
  static typename Associator<Handler, DefaultCandidate>::type get(
      const asio_uring::detail::completion_binder<Handler, Args...>& b) noexcept
  {
    return Associator<Handler, DefaultCandidate>::get(b.handler_);
  }

  static auto get(
      const asio_uring::detail::completion_binder<Handler, Args...>& b,
      const DefaultCandidate& c) noexcept
      -> decltype(Associator<Handler, DefaultCandidate>::get(b.handler_, c))
  {
    return Associator<Handler, DefaultCandidate>::get(b.handler_, c);
  }
};

} // namespace boost::asio
