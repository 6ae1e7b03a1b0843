//
// posix/basic_descriptor.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~
//
// A POSIX descriptor (Boost.Asio's posix::basic_descriptor) whose
// asynchronous waits go through the ring.
//
#pragma once

#include <asio_uring/detail/socket_impl.hpp>
#include <asio_uring/detail/socket_op_bases.hpp>
#include <asio_uring/io_context.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/detail/throw_error.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/posix/descriptor_base.hpp>

#include <cerrno>
#include <sys/socket.h>
#include <type_traits>
#include <utility>

namespace asio_uring {

namespace detail {

// Stands in for a protocol so that descriptors share socket_impl: a stream
// (0 bytes read means end of file) with no socket options.
struct descriptor_protocol
{
  int family() const noexcept { return AF_UNSPEC; }
  int type() const noexcept { return SOCK_STREAM; }
  int protocol() const noexcept { return 0; }
};

} // namespace detail

namespace posix {

using boost::asio::posix::descriptor_base;

/// Provides POSIX descriptor functionality (Boost.Asio's
/// posix::basic_descriptor), with async_wait on the ring
/// (IORING_OP_POLL_ADD).
/**
 * Unlike Boost.Asio, the descriptor is never switched to O_NONBLOCK behind
 * the user's back (a terminal or a pipe shared with other processes keeps
 * its mode); the ring waits for readiness itself.
 *
 * @par Thread Safety
 * @e Distinct @e objects: Safe.@n
 * @e Shared @e objects: Unsafe.
 */
template <typename Executor = boost::asio::any_io_executor>
class basic_descriptor : public descriptor_base
{
public:
  /// The type of the executor associated with the object.
  using executor_type = Executor;

  /// Rebinds the descriptor type to another executor.
  template <typename Executor1>
  struct rebind_executor
  {
    using other = basic_descriptor<Executor1>;
  };

  /// The native representation of a descriptor.
  using native_handle_type = int;

  /// A basic_descriptor is always the lowest layer.
  using lowest_layer_type = basic_descriptor;

  /// Constructs a descriptor without opening it.
  explicit basic_descriptor(const executor_type& ex) : impl_(ex) {}

  /// Constructs a descriptor without opening it.
  template <typename ExecutionContext>
  explicit basic_descriptor(ExecutionContext& context,
      std::enable_if_t<std::is_convertible_v<ExecutionContext&,
          boost::asio::execution_context&>>* = nullptr)
    : impl_(context.get_executor())
  {
  }

  /// Constructs a descriptor on an existing native descriptor (takes
  /// ownership). Throws on failure.
  basic_descriptor(const executor_type& ex,
      const native_handle_type& native_descriptor)
    : impl_(ex)
  {
    assign(native_descriptor);
  }

  /// Constructs a descriptor on an existing native descriptor.
  template <typename ExecutionContext>
  basic_descriptor(ExecutionContext& context,
      const native_handle_type& native_descriptor,
      std::enable_if_t<std::is_convertible_v<ExecutionContext&,
          boost::asio::execution_context&>>* = nullptr)
    : impl_(context.get_executor())
  {
    assign(native_descriptor);
  }

  /// Move-constructs: other is left as if constructed with its executor.
  basic_descriptor(basic_descriptor&& other) noexcept = default;

  /// Move-assigns: closes this descriptor first.
  basic_descriptor& operator=(basic_descriptor&& other) = default;

  /// Move-constructs from a descriptor of another executor type.
  template <typename Executor1>
  basic_descriptor(basic_descriptor<Executor1>&& other,
      std::enable_if_t<std::is_convertible_v<Executor1, Executor>>* = nullptr)
    : impl_(std::move(other.impl_))
  {
  }

  /// Move-assigns from a descriptor of another executor type.
  template <typename Executor1>
  std::enable_if_t<std::is_convertible_v<Executor1, Executor>,
      basic_descriptor&>
  operator=(basic_descriptor<Executor1>&& other)
  {
    impl_ = std::move(other.impl_);
    return *this;
  }

  /// Gets the executor associated with the object.
  const executor_type& get_executor() noexcept { return impl_.get_executor(); }

  /// Gets a reference to the lowest layer (this object).
  lowest_layer_type& lowest_layer() { return *this; }
  /// Gets a const reference to the lowest layer (this object).
  const lowest_layer_type& lowest_layer() const { return *this; }

  /// Assigns an existing native descriptor (takes ownership). Throws on
  /// failure; error::already_open if open.
  void assign(const native_handle_type& native_descriptor)
  {
    boost::system::error_code ec;
    assign(native_descriptor, ec);
    boost::asio::detail::throw_error(ec, "assign");
  }

  /// Assigns an existing native descriptor (takes ownership).
  void assign(const native_handle_type& native_descriptor,
      boost::system::error_code& ec)
  {
    impl_.assign(detail::descriptor_protocol(), native_descriptor, ec);
  }

  /// Whether the descriptor is open.
  bool is_open() const { return impl_.is_open(); }

  /// Closes the descriptor; pending asynchronous operations complete with
  /// error::operation_aborted. Throws on failure.
  void close()
  {
    boost::system::error_code ec;
    impl_.close(ec);
    boost::asio::detail::throw_error(ec, "close");
  }

  /// Closes the descriptor.
  void close(boost::system::error_code& ec) { impl_.close(ec); }

  /// Gets the native descriptor representation.
  native_handle_type native_handle() { return impl_.fd(); }

  /// Releases ownership of the native descriptor (-1 when closed); pending
  /// asynchronous operations complete with error::operation_aborted.
  native_handle_type release()
  {
    if (!impl_.is_open())
      return -1;
    boost::system::error_code ignored;
    return impl_.release(ignored);
  }

  /// Cancels all asynchronous operations on the descriptor.
  void cancel()
  {
    boost::system::error_code ec;
    impl_.cancel(ec);
    boost::asio::detail::throw_error(ec, "cancel");
  }

  /// Cancels all asynchronous operations on the descriptor.
  void cancel(boost::system::error_code& ec) { impl_.cancel(ec); }

  /// Performs an IO control command. Throws on failure.
  template <typename IoControlCommand>
  void io_control(IoControlCommand& command)
  {
    boost::system::error_code ec;
    impl_.io_control(command, ec);
    boost::asio::detail::throw_error(ec, "io_control");
  }

  /// Performs an IO control command.
  template <typename IoControlCommand>
  void io_control(IoControlCommand& command, boost::system::error_code& ec)
  {
    impl_.io_control(command, ec);
  }

  /// Whether synchronous operations fail with would_block instead of
  /// blocking.
  bool non_blocking() const { return impl_.non_blocking(); }

  /// Sets the non-blocking mode of synchronous operations.
  void non_blocking(bool mode)
  {
    boost::system::error_code ec;
    impl_.non_blocking(mode, ec);
    boost::asio::detail::throw_error(ec, "non_blocking");
  }

  /// Sets the non-blocking mode of synchronous operations.
  void non_blocking(bool mode, boost::system::error_code& ec)
  {
    impl_.non_blocking(mode, ec);
  }

  /// Whether the native descriptor has O_NONBLOCK.
  bool native_non_blocking() const { return impl_.native_non_blocking(); }

  /// Sets O_NONBLOCK on the native descriptor.
  void native_non_blocking(bool mode)
  {
    boost::system::error_code ec;
    impl_.native_non_blocking(mode, ec);
    boost::asio::detail::throw_error(ec, "native_non_blocking");
  }

  /// Sets O_NONBLOCK on the native descriptor.
  void native_non_blocking(bool mode, boost::system::error_code& ec)
  {
    impl_.native_non_blocking(mode, ec);
  }

  /// Waits for readiness. Throws on failure.
  void wait(wait_type w)
  {
    boost::system::error_code ec;
    wait(w, ec);
    boost::asio::detail::throw_error(ec, "wait");
  }

  /// Waits for readiness.
  void wait(wait_type w, boost::system::error_code& ec)
  {
    impl_.wait(static_cast<boost::asio::socket_base::wait_type>(w), ec);
  }

  /// Starts an asynchronous wait for readiness (IORING_OP_POLL_ADD).
  /**
   * @param token Completion signature void(boost::system::error_code). The
   * handler is never invoked from within this function. Supports
   * cancellation_type::terminal, partial and total.
   */
  template <BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code))
          WaitToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_wait(wait_type w,
      WaitToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return boost::asio::async_initiate<WaitToken,
        void(boost::system::error_code)>(initiate_async_wait(this), token, w);
  }

protected:
  template <typename> friend class basic_descriptor;

  /// Protected destructor: closes the descriptor.
  ~basic_descriptor() = default;

  detail::socket_impl<detail::descriptor_protocol, Executor> impl_;

private:
  class initiate_async_wait
  {
  public:
    using executor_type = Executor;

    explicit initiate_async_wait(basic_descriptor* self) : self_(self) {}

    const executor_type& get_executor() const noexcept
    {
      return self_->get_executor();
    }

    template <typename WaitHandler>
    void operator()(WaitHandler&& handler, wait_type w) const
    {
      auto& impl = self_->impl_;
      const short events = impl.poll_events(
          static_cast<boost::asio::socket_base::wait_type>(w));
      int immediate = detail::no_immediate_result;
      if (!impl.is_open())
        immediate = -EBADF;
      else if (events == 0)
        immediate = -EINVAL;
      detail::start_or_post<detail::poll_op_base>(impl, immediate,
          static_cast<WaitHandler&&>(handler), impl.fd(),
          static_cast<unsigned>(events & ~(POLLERR | POLLHUP)));
    }

  private:
    basic_descriptor* self_;
  };
};

} // namespace posix
} // namespace asio_uring
