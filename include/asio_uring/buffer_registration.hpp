//
// buffer_registration.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~
//
// Registered (fixed) buffers: Boost.Asio's register_buffers, on our ring.
//
#pragma once

#include <asio_uring/detail/io_object.hpp>
#include <asio_uring/detail/registered_buffers.hpp>
#include <asio_uring/io_context.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/asio/buffer_registration.hpp>
#include <boost/asio/detail/throw_error.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/is_executor.hpp>
#include <boost/asio/registered_buffer.hpp>

#include <cstddef>
#include <iterator>
#include <memory>
#include <sys/uio.h>
#include <type_traits>
#include <utility>
#include <vector>

namespace asio_uring {

/// Automatically registers and unregisters buffers with an io_context's
/// ring (io_uring fixed buffers: READ_FIXED / WRITE_FIXED).
/**
 * The same interface as Boost.Asio's buffer_registration. Unlike Boost.Asio,
 * several registrations may be alive at once on one context: they share the
 * ring's table (1024 slots, or more if the first registration needs more).
 *
 * Reads and writes whose buffer sequence is exactly one
 * mutable_registered_buffer (reads) or const_registered_buffer (writes)
 * registered with the object's own context use the fixed-buffer opcodes;
 * any other buffer works as before. Registration pins the memory.
 *
 * With ring_options::single_issuer, register from the thread that runs the
 * context (or before it first runs); other threads get an exception.
 */
template <typename MutableBufferSequence,
    typename Allocator = std::allocator<void>>
class buffer_registration
{
public:
  using allocator_type = Allocator;
  using buffer_vector = std::vector<boost::asio::mutable_registered_buffer,
      typename std::allocator_traits<Allocator>::template rebind_alloc<
          boost::asio::mutable_registered_buffer>>;
  using iterator = typename buffer_vector::const_iterator;
  using const_iterator = typename buffer_vector::const_iterator;

  /// Registers the buffers with the executor's io_context. Throws
  /// boost::system::system_error on failure.
  template <typename Executor>
  buffer_registration(const Executor& ex,
      const MutableBufferSequence& buffer_sequence,
      const allocator_type& alloc = allocator_type(),
      std::enable_if_t<boost::asio::is_executor<Executor>::value
          || boost::asio::execution::is_executor<Executor>::value>* = nullptr)
    : buffer_sequence_(buffer_sequence), buffers_(alloc)
  {
    init(detail::context_of(ex).impl());
  }

  /// Registers the buffers with an io_context.
  template <typename ExecutionContext>
  buffer_registration(ExecutionContext& ctx,
      const MutableBufferSequence& buffer_sequence,
      const allocator_type& alloc = allocator_type(),
      std::enable_if_t<std::is_convertible_v<ExecutionContext&,
          boost::asio::execution_context&>>* = nullptr)
    : buffer_sequence_(buffer_sequence), buffers_(alloc)
  {
    init(detail::context_of(ctx.get_executor()).impl());
  }

  buffer_registration(buffer_registration&& other) noexcept
    : buffer_sequence_(std::move(other.buffer_sequence_)),
      buffers_(std::move(other.buffers_)),
      scheduler_(std::exchange(other.scheduler_, nullptr)),
      first_(std::exchange(other.first_, -1))
  {
  }

  buffer_registration& operator=(buffer_registration&& other) noexcept
  {
    if (this != &other)
    {
      release();
      buffer_sequence_ = std::move(other.buffer_sequence_);
      buffers_ = std::move(other.buffers_);
      scheduler_ = std::exchange(other.scheduler_, nullptr);
      first_ = std::exchange(other.first_, -1);
    }
    return *this;
  }

  buffer_registration(const buffer_registration&) = delete;
  buffer_registration& operator=(const buffer_registration&) = delete;

  /// Unregisters the buffers. Operations still using them keep the memory
  /// pinned in the kernel until they complete.
  ~buffer_registration() { release(); }

  std::size_t size() const noexcept { return buffers_.size(); }
  const_iterator begin() const noexcept { return buffers_.begin(); }
  const_iterator cbegin() const noexcept { return buffers_.cbegin(); }
  const_iterator end() const noexcept { return buffers_.end(); }
  const_iterator cend() const noexcept { return buffers_.cend(); }

  const boost::asio::mutable_registered_buffer& operator[](
      std::size_t i) noexcept
  {
    return buffers_[i];
  }

  const boost::asio::mutable_registered_buffer& at(std::size_t i)
  {
    return buffers_.at(i);
  }

private:
  void init(detail::scheduler& s)
  {
    auto begin = boost::asio::buffer_sequence_begin(buffer_sequence_);
    auto end = boost::asio::buffer_sequence_end(buffer_sequence_);
    std::vector<::iovec> iov;
    for (auto it = begin; it != end; ++it)
    {
      boost::asio::mutable_buffer b(*it);
      iov.push_back(::iovec{b.data(), b.size()});
    }
    if (iov.empty())
      return;
    int first = s.register_buffers(iov.data(), static_cast<unsigned>(iov.size()));
    if (first < 0)
      boost::asio::detail::throw_error(
          boost::system::error_code(-first, boost::system::system_category()),
          "register_buffers");
    scheduler_ = &s;
    first_ = first;
    buffers_.reserve(iov.size());
    for (std::size_t i = 0; i < iov.size(); ++i)
      buffers_.push_back(detail::registered_buffers_access::make(
          boost::asio::mutable_buffer(iov[i].iov_base, iov[i].iov_len), s,
          first + static_cast<int>(i)));
  }

  void release() noexcept
  {
    if (scheduler_)
      scheduler_->unregister_buffers(first_,
          static_cast<unsigned>(buffers_.size()));
    scheduler_ = nullptr;
    first_ = -1;
  }

  MutableBufferSequence buffer_sequence_;
  buffer_vector buffers_;
  detail::scheduler* scheduler_ = nullptr;  // null when nothing registered
  int first_ = -1;                          // first table slot
};

/// Registers buffers with an executor's io_context.
template <typename Executor, typename MutableBufferSequence>
[[nodiscard]] buffer_registration<MutableBufferSequence> register_buffers(
    const Executor& ex, const MutableBufferSequence& buffer_sequence,
    std::enable_if_t<boost::asio::is_executor<Executor>::value
        || boost::asio::execution::is_executor<Executor>::value>* = nullptr)
{
  return buffer_registration<MutableBufferSequence>(ex, buffer_sequence);
}

/// Registers buffers with an executor's io_context, with an allocator.
template <typename Executor, typename MutableBufferSequence,
    typename Allocator>
[[nodiscard]] buffer_registration<MutableBufferSequence, Allocator>
register_buffers(const Executor& ex,
    const MutableBufferSequence& buffer_sequence, const Allocator& alloc,
    std::enable_if_t<boost::asio::is_executor<Executor>::value
        || boost::asio::execution::is_executor<Executor>::value>* = nullptr)
{
  return buffer_registration<MutableBufferSequence, Allocator>(
      ex, buffer_sequence, alloc);
}

/// Registers buffers with an io_context.
template <typename ExecutionContext, typename MutableBufferSequence>
[[nodiscard]] buffer_registration<MutableBufferSequence> register_buffers(
    ExecutionContext& ctx, const MutableBufferSequence& buffer_sequence,
    std::enable_if_t<std::is_convertible_v<ExecutionContext&,
        boost::asio::execution_context&>>* = nullptr)
{
  return buffer_registration<MutableBufferSequence>(ctx, buffer_sequence);
}

/// Registers buffers with an io_context, with an allocator.
template <typename ExecutionContext, typename MutableBufferSequence,
    typename Allocator>
[[nodiscard]] buffer_registration<MutableBufferSequence, Allocator>
register_buffers(ExecutionContext& ctx,
    const MutableBufferSequence& buffer_sequence, const Allocator& alloc,
    std::enable_if_t<std::is_convertible_v<ExecutionContext&,
        boost::asio::execution_context&>>* = nullptr)
{
  return buffer_registration<MutableBufferSequence, Allocator>(
      ctx, buffer_sequence, alloc);
}

/// Registers buffers with an io_context. (More specialised than the
/// generic overloads, so an unqualified call that also finds Boost.Asio's
/// register_buffers through the execution_context base picks this one.)
template <typename MutableBufferSequence>
[[nodiscard]] buffer_registration<MutableBufferSequence> register_buffers(
    io_context& ctx, const MutableBufferSequence& buffer_sequence)
{
  return buffer_registration<MutableBufferSequence>(ctx, buffer_sequence);
}

/// Registers buffers with an io_context, with an allocator.
template <typename MutableBufferSequence, typename Allocator>
[[nodiscard]] buffer_registration<MutableBufferSequence, Allocator>
register_buffers(io_context& ctx, const MutableBufferSequence& buffer_sequence,
    const Allocator& alloc)
{
  return buffer_registration<MutableBufferSequence, Allocator>(
      ctx, buffer_sequence, alloc);
}

/// Registers buffers with the io_context of an io_context executor.
template <typename ExAllocator, std::uintptr_t Bits,
    typename MutableBufferSequence>
[[nodiscard]] buffer_registration<MutableBufferSequence> register_buffers(
    const io_context::basic_executor_type<ExAllocator, Bits>& ex,
    const MutableBufferSequence& buffer_sequence)
{
  return buffer_registration<MutableBufferSequence>(ex, buffer_sequence);
}

/// Registers buffers with the io_context of an io_context executor, with
/// an allocator.
template <typename ExAllocator, std::uintptr_t Bits,
    typename MutableBufferSequence, typename Allocator>
[[nodiscard]] buffer_registration<MutableBufferSequence, Allocator>
register_buffers(const io_context::basic_executor_type<ExAllocator, Bits>& ex,
    const MutableBufferSequence& buffer_sequence, const Allocator& alloc)
{
  return buffer_registration<MutableBufferSequence, Allocator>(
      ex, buffer_sequence, alloc);
}

} // namespace asio_uring
