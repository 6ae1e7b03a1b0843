//
// buffer_ring.hpp
// ~~~~~~~~~~~~~~~
//
// Provided-buffer rings (IORING_REGISTER_PBUF_RING): receives that let the
// kernel pick the buffer when data arrives. An asio_uring extension.
//
#pragma once

#include <asio_uring/detail/buffer_ring_state.hpp>
#include <asio_uring/detail/io_object.hpp>
#include <asio_uring/io_context.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

namespace asio_uring {

/// A buffer the kernel filled from a buffer_ring: move-only; gives the
/// buffer back to its ring when destroyed (or on release()).
/**
 * data() and size() are the received bytes. The handle keeps the ring's
 * memory alive, so it may outlive the buffer_ring object, but not the
 * io_context. Destroying or releasing handles is safe from any thread.
 */
class provided_buffer
{
public:
  /// An empty handle.
  provided_buffer() noexcept = default;

  provided_buffer(provided_buffer&& other) noexcept
    : state_(std::move(other.state_)), id_(other.id_),
      size_(std::exchange(other.size_, 0))
  {
  }

  provided_buffer& operator=(provided_buffer&& other) noexcept
  {
    if (this != &other)
    {
      release();
      state_ = std::move(other.state_);
      id_ = other.id_;
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }

  ~provided_buffer() { release(); }

  /// The received bytes (null for an empty handle).
  unsigned char* data() const noexcept
  {
    return state_ ? state_->data(id_) : nullptr;
  }
  /// How many bytes were received.
  std::size_t size() const noexcept { return size_; }
  /// The bytes as a buffer.
  boost::asio::mutable_buffer buffer() const noexcept
  {
    return boost::asio::mutable_buffer(data(), size_);
  }
  /// The buffer's id in its ring (0 .. buffer_count() - 1).
  std::uint16_t id() const noexcept { return id_; }
  /// Whether the handle holds a buffer.
  explicit operator bool() const noexcept { return state_ != nullptr; }

  /// Gives the buffer back to the ring now; the handle becomes empty.
  void release() noexcept
  {
    if (state_)
    {
      state_->give_back(id_);
      state_.reset();
      size_ = 0;
    }
  }

  /// Internal: adopts buffer id of state holding size bytes.
  provided_buffer(std::shared_ptr<detail::buffer_ring_state> state,
      std::uint16_t id, std::size_t size) noexcept
    : state_(std::move(state)), id_(id), size_(size)
  {
  }

private:
  std::shared_ptr<detail::buffer_ring_state> state_;  // null when empty
  std::uint16_t id_ = 0;
  std::size_t size_ = 0;
};

/// A ring of count buffers of size bytes registered with an io_context's
/// ring as one buffer group (IORING_REGISTER_PBUF_RING, Linux 5.19).
/**
 * Receives given the ring (basic_stream_socket::async_receive_provided,
 * async_receive_multishot) let the kernel take a free buffer when data
 * arrives, so no memory is committed to idle connections; the handler gets
 * a provided_buffer, which returns the buffer to the ring when destroyed.
 *
 * When every buffer is in use, a receive fails with
 * error::no_buffer_space (ENOBUFS) and consumes no data: release handles,
 * then receive again.
 *
 * @par Lifetime
 * Operations in flight and handles share the ring's memory and its
 * registration with this object: destroying (or moving from) the
 * buffer_ring while receives are pending is safe; they complete normally,
 * and the group is unregistered and the memory unmapped when the last of
 * them lets go. All of them must be gone before the io_context is
 * destroyed. With ring_options::single_issuer, create and drop the last
 * reference on the thread that runs the context.
 *
 * @par Thread Safety
 * @e Distinct @e objects: Safe.@n
 * @e Shared @e objects: Unsafe (handles may be released on any thread).
 */
class buffer_ring
{
public:
  /// Registers count buffers (1 to 32768) of size bytes with ctx's ring
  /// under a buffer group id allocated for ctx. Throws
  /// boost::system::system_error: error::invalid_argument for bad sizes,
  /// error::operation_not_supported when the kernel has no buffer rings.
  buffer_ring(io_context& ctx, std::size_t count, std::size_t size)
  {
    boost::system::error_code ec;
    init(ctx, count, size, ec);
    if (ec)
      throw boost::system::system_error(ec, "buffer_ring");
  }

  /// As above, with the io_context behind an executor.
  template <typename Executor,
      typename = std::enable_if_t<
          !std::is_convertible_v<Executor&, io_context&>>>
  buffer_ring(const Executor& ex, std::size_t count, std::size_t size)
    : buffer_ring(detail::context_of(ex), count, size)
  {
  }

  /// Non-throwing: on failure, ec is set and the ring is empty (!*this).
  buffer_ring(io_context& ctx, std::size_t count, std::size_t size,
      boost::system::error_code& ec)
  {
    init(ctx, count, size, ec);
  }

  buffer_ring(buffer_ring&&) noexcept = default;
  buffer_ring& operator=(buffer_ring&&) noexcept = default;
  ~buffer_ring() = default;

  /// Whether buffers are registered (false after a failed non-throwing
  /// construction or once moved from).
  explicit operator bool() const noexcept { return state_ != nullptr; }

  /// The buffer group id (unique among the context's live rings).
  std::uint16_t group_id() const noexcept
  {
    return state_ ? static_cast<std::uint16_t>(state_->group_id()) : 0;
  }
  std::size_t buffer_count() const noexcept
  {
    return state_ ? state_->buffer_count() : 0;
  }
  std::size_t buffer_size() const noexcept
  {
    return state_ ? state_->buffer_size() : 0;
  }

  /// Internal: the shared state (null when empty).
  const std::shared_ptr<detail::buffer_ring_state>& state() const noexcept
  {
    return state_;
  }

private:
  void init(io_context& ctx, std::size_t count, std::size_t size,
      boost::system::error_code& ec)
  {
    auto state = std::make_shared<detail::buffer_ring_state>();
    int r = state->init(ctx.impl(),
        boost::asio::use_service<detail::buffer_group_service>(ctx), count,
        size);
    if (r < 0)
    {
      ec.assign(-r, boost::system::system_category());
      return;
    }
    ec.clear();
    state_ = std::move(state);
  }

  std::shared_ptr<detail::buffer_ring_state> state_;
};

} // namespace asio_uring
