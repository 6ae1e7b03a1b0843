// Bodies of io_context's executor templates.
#pragma once

#include <asio_uring/detail/handler_alloc.hpp>
#include <asio_uring/detail/operation.hpp>

#include <type_traits>
#include <utility>

namespace asio_uring {
namespace detail {

// A function submitted through an executor, queued as an operation.
template <typename Function, typename Allocator>
class executor_op final : public operation
{
public:
  template <typename F>
  executor_op(F&& f, const Allocator& a)
    : operation(&executor_op::do_complete), function_(static_cast<F&&>(f)),
      allocator_(a)
  {
  }

private:
  static void do_complete(scheduler* owner, operation* base)
  {
    executor_op* o = static_cast<executor_op*>(base);
    Allocator a(o->allocator_);
    // Move the function out so the storage is free before it runs (it may
    // post again and reuse the same block).
    Function f(std::move(o->function_));
    op_ptr<executor_op, Allocator>::destroy(o, a);
    if (owner)
      std::move(f)();
  }

  Function function_;
  Allocator allocator_;
};

} // namespace detail

inline io_context::executor_type io_context::get_executor() noexcept
{
  return executor_type(*this);
}

template <typename Allocator, std::uintptr_t Bits>
template <typename Function>
void io_context::basic_executor_type<Allocator, Bits>::execute(
    Function&& f) const
{
  using function_type = std::decay_t<Function>;
  if ((bits() & blocking_never) == 0 && context_ptr()->impl_.can_dispatch())
  {
    function_type tmp(static_cast<Function&&>(f));
    // As Boost.Asio: an exception does not unwind the caller; the loop
    // rethrows it when the current handler returns.
    try
    {
      std::move(tmp)();
    }
    catch (...)
    {
      context_ptr()->impl_.capture_current_exception();
    }
    return;
  }
  post_function(static_cast<Function&&>(f),
      static_cast<const Allocator&>(*this),
      (bits() & relationship_continuation) != 0);
}

template <typename Allocator, std::uintptr_t Bits>
template <typename Function, typename OtherAllocator>
void io_context::basic_executor_type<Allocator, Bits>::post_function(
    Function&& f, const OtherAllocator& a, bool is_continuation) const
{
  using op = detail::executor_op<std::decay_t<Function>, OtherAllocator>;
  detail::op_ptr<op, OtherAllocator> p(a);
  p.construct(static_cast<Function&&>(f), a);
  context_ptr()->impl_.post_immediate_completion(p.release(), is_continuation);
}

template <typename Allocator, std::uintptr_t Bits>
template <typename Function, typename OtherAllocator>
void io_context::basic_executor_type<Allocator, Bits>::dispatch(
    Function&& f, const OtherAllocator& a) const
{
  if (context_ptr()->impl_.can_dispatch())
  {
    std::decay_t<Function> tmp(static_cast<Function&&>(f));
    std::move(tmp)();
    return;
  }
  post_function(static_cast<Function&&>(f), a, false);
}

template <typename Allocator, std::uintptr_t Bits>
template <typename Function, typename OtherAllocator>
void io_context::basic_executor_type<Allocator, Bits>::post(
    Function&& f, const OtherAllocator& a) const
{
  post_function(static_cast<Function&&>(f), a, false);
}

template <typename Allocator, std::uintptr_t Bits>
template <typename Function, typename OtherAllocator>
void io_context::basic_executor_type<Allocator, Bits>::defer(
    Function&& f, const OtherAllocator& a) const
{
  post_function(static_cast<Function&&>(f), a, true);
}

} // namespace asio_uring
