//
// basic_socket.hpp
// ~~~~~~~~~~~~~~~~
//
// Functionality common to all sockets (Boost.Asio's basic_socket), with
// asynchronous connect and wait through the ring.
//
#pragma once

#include <asio_uring/detail/socket_impl.hpp>
#include <asio_uring/detail/socket_op_bases.hpp>
#include <asio_uring/io_context.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/detail/throw_error.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/socket_base.hpp>

#include <cerrno>
#include <type_traits>
#include <utility>

namespace asio_uring {

template <typename Protocol, typename Executor>
class basic_socket_acceptor;

/// Provides socket functionality (Boost.Asio's basic_socket, on the ring).
/**
 * Synchronous members are system calls, as in Boost.Asio: they block unless
 * non_blocking(true) was set, in which case they fail with
 * error::would_block. Asynchronous connect and wait go through the ring
 * (IORING_OP_CONNECT, IORING_OP_POLL_ADD). A descriptor opened or accepted
 * here is blocking and close-on-exec; the ring waits for readiness itself.
 *
 * cancel(), close() and the destructor abort pending asynchronous
 * operations: their handlers get error::operation_aborted (or their result,
 * when the kernel completed them first).
 *
 * @par Thread Safety
 * @e Distinct @e objects: Safe.@n
 * @e Shared @e objects: Unsafe.
 */
template <typename Protocol, typename Executor = boost::asio::any_io_executor>
class basic_socket : public boost::asio::socket_base
{
public:
  /// The type of the executor associated with the object.
  using executor_type = Executor;

  /// Rebinds the socket type to another executor.
  template <typename Executor1>
  struct rebind_executor
  {
    using other = basic_socket<Protocol, Executor1>;
  };

  /// The native representation of a socket.
  using native_handle_type = int;
  /// The protocol type.
  using protocol_type = Protocol;
  /// The endpoint type.
  using endpoint_type = typename Protocol::endpoint;
  /// A basic_socket is always the lowest layer.
  using lowest_layer_type = basic_socket;

  /// Constructs a socket without opening it.
  explicit basic_socket(const executor_type& ex) : impl_(ex) {}

  /// Constructs a socket without opening it.
  template <typename ExecutionContext>
  explicit basic_socket(ExecutionContext& context,
      std::enable_if_t<std::is_convertible_v<ExecutionContext&,
          boost::asio::execution_context&>>* = nullptr)
    : impl_(context.get_executor())
  {
  }

  /// Constructs and opens a socket. Throws on failure.
  basic_socket(const executor_type& ex, const protocol_type& protocol)
    : impl_(ex)
  {
    open(protocol);
  }

  /// Constructs and opens a socket. Throws on failure.
  template <typename ExecutionContext>
  basic_socket(ExecutionContext& context, const protocol_type& protocol,
      std::enable_if_t<std::is_convertible_v<ExecutionContext&,
          boost::asio::execution_context&>>* = nullptr)
    : impl_(context.get_executor())
  {
    open(protocol);
  }

  /// Constructs a socket opened and bound to endpoint. Throws on failure.
  basic_socket(const executor_type& ex, const endpoint_type& endpoint)
    : impl_(ex)
  {
    open_and_bind(endpoint);
  }

  /// Constructs a socket opened and bound to endpoint. Throws on failure.
  template <typename ExecutionContext>
  basic_socket(ExecutionContext& context, const endpoint_type& endpoint,
      std::enable_if_t<std::is_convertible_v<ExecutionContext&,
          boost::asio::execution_context&>>* = nullptr)
    : impl_(context.get_executor())
  {
    open_and_bind(endpoint);
  }

  /// Constructs a socket on an existing native socket (takes ownership).
  basic_socket(const executor_type& ex, const protocol_type& protocol,
      const native_handle_type& native_socket)
    : impl_(ex)
  {
    assign(protocol, native_socket);
  }

  /// Constructs a socket on an existing native socket (takes ownership).
  template <typename ExecutionContext>
  basic_socket(ExecutionContext& context, const protocol_type& protocol,
      const native_handle_type& native_socket,
      std::enable_if_t<std::is_convertible_v<ExecutionContext&,
          boost::asio::execution_context&>>* = nullptr)
    : impl_(context.get_executor())
  {
    assign(protocol, native_socket);
  }

  /// Move-constructs: other is left as if constructed with its executor.
  basic_socket(basic_socket&& other) noexcept = default;

  /// Move-assigns: closes this socket first (aborting its operations).
  basic_socket& operator=(basic_socket&& other) = default;

  /// Move-constructs from a socket of another protocol or executor type.
  template <typename Protocol1, typename Executor1>
  basic_socket(basic_socket<Protocol1, Executor1>&& other,
      std::enable_if_t<std::is_convertible_v<Protocol1, Protocol>
          && std::is_convertible_v<Executor1, Executor>>* = nullptr)
    : impl_(std::move(other.impl_))
  {
  }

  /// Move-assigns from a socket of another protocol or executor type.
  template <typename Protocol1, typename Executor1>
  std::enable_if_t<std::is_convertible_v<Protocol1, Protocol>
          && std::is_convertible_v<Executor1, Executor>,
      basic_socket&>
  operator=(basic_socket<Protocol1, Executor1>&& other)
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

  /// Opens the socket (close-on-exec). Throws on failure;
  /// error::already_open if it is open.
  void open(const protocol_type& protocol = protocol_type())
  {
    boost::system::error_code ec;
    impl_.open(protocol, ec);
    boost::asio::detail::throw_error(ec, "open");
  }

  /// Opens the socket.
  void open(const protocol_type& protocol, boost::system::error_code& ec)
  {
    impl_.open(protocol, ec);
  }

  /// Assigns an existing native socket (takes ownership). Throws on failure.
  void assign(const protocol_type& protocol,
      const native_handle_type& native_socket)
  {
    boost::system::error_code ec;
    impl_.assign(protocol, native_socket, ec);
    boost::asio::detail::throw_error(ec, "assign");
  }

  /// Assigns an existing native socket (takes ownership).
  void assign(const protocol_type& protocol,
      const native_handle_type& native_socket, boost::system::error_code& ec)
  {
    impl_.assign(protocol, native_socket, ec);
  }

  /// Whether the socket is open.
  bool is_open() const { return impl_.is_open(); }

  /// Closes the socket; pending asynchronous operations complete with
  /// error::operation_aborted. Closing a closed socket is not an error.
  void close()
  {
    boost::system::error_code ec;
    impl_.close(ec);
    boost::asio::detail::throw_error(ec, "close");
  }

  /// Closes the socket.
  void close(boost::system::error_code& ec) { impl_.close(ec); }

  /// Releases ownership of the native socket; pending asynchronous
  /// operations complete with error::operation_aborted. Throws on failure
  /// (error::bad_descriptor when closed).
  native_handle_type release()
  {
    boost::system::error_code ec;
    native_handle_type s = impl_.release(ec);
    boost::asio::detail::throw_error(ec, "release");
    return s;
  }

  /// Releases ownership of the native socket.
  native_handle_type release(boost::system::error_code& ec)
  {
    return impl_.release(ec);
  }

  /// Gets the native socket representation.
  native_handle_type native_handle() { return impl_.fd(); }

  /// Registers the descriptor in the ring's fixed-file table (an
  /// asio_uring extension).
  /**
   * Operations started afterwards name the table slot (IOSQE_FIXED_FILE),
   * which saves the kernel a file lookup per operation; worth it for
   * long-lived descriptors with many operations. close(), release() and
   * destruction unregister it. Throws on failure (for instance ENOSPC when
   * the table's 1024 slots are taken).
   */
  void register_descriptor()
  {
    boost::system::error_code ec;
    register_descriptor(ec);
    boost::asio::detail::throw_error(ec, "register_descriptor");
  }

  /// Registers the descriptor in the ring's fixed-file table.
  void register_descriptor(boost::system::error_code& ec)
  {
    impl_.register_descriptor(ec);
  }

  /// Whether the descriptor is registered in the ring's fixed-file table.
  bool is_descriptor_registered() const
  {
    return impl_.is_descriptor_registered();
  }

  /// Cancels all asynchronous operations on the socket: their handlers get
  /// error::operation_aborted (or their result, when the kernel won).
  void cancel()
  {
    boost::system::error_code ec;
    impl_.cancel(ec);
    boost::asio::detail::throw_error(ec, "cancel");
  }

  /// Cancels all asynchronous operations on the socket.
  void cancel(boost::system::error_code& ec) { impl_.cancel(ec); }

  /// Whether the socket is at the out-of-band data mark. Throws on failure.
  bool at_mark() const
  {
    boost::system::error_code ec;
    bool b = at_mark(ec);
    boost::asio::detail::throw_error(ec, "at_mark");
    return b;
  }

  /// Whether the socket is at the out-of-band data mark.
  bool at_mark(boost::system::error_code& ec) const
  {
    if (!impl_.is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return false;
    }
    return detail::socket_ops::at_mark(impl_.fd(), ec);
  }

  /// The number of bytes that may be read without blocking. Throws on
  /// failure.
  std::size_t available() const
  {
    boost::system::error_code ec;
    std::size_t n = available(ec);
    boost::asio::detail::throw_error(ec, "available");
    return n;
  }

  /// The number of bytes that may be read without blocking.
  std::size_t available(boost::system::error_code& ec) const
  {
    if (!impl_.is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return 0;
    }
    return detail::socket_ops::available(impl_.fd(), ec);
  }

  /// Binds the socket to a local endpoint. Throws on failure.
  void bind(const endpoint_type& endpoint)
  {
    boost::system::error_code ec;
    impl_.bind(endpoint, ec);
    boost::asio::detail::throw_error(ec, "bind");
  }

  /// Binds the socket to a local endpoint.
  void bind(const endpoint_type& endpoint, boost::system::error_code& ec)
  {
    impl_.bind(endpoint, ec);
  }

  /// Connects to peer_endpoint, opening the socket first if it is closed.
  /// Blocks until connected. Throws on failure.
  void connect(const endpoint_type& peer_endpoint)
  {
    boost::system::error_code ec;
    connect(peer_endpoint, ec);
    boost::asio::detail::throw_error(ec, "connect");
  }

  /// Connects to peer_endpoint, opening the socket first if it is closed.
  void connect(const endpoint_type& peer_endpoint,
      boost::system::error_code& ec)
  {
    if (!is_open())
    {
      impl_.open(peer_endpoint.protocol(), ec);
      if (ec)
        return;
    }
    detail::socket_ops::connect(impl_.fd(), peer_endpoint.data(),
        peer_endpoint.size(), ec);
  }

  /// Starts an asynchronous connect (IORING_OP_CONNECT).
  /**
   * Opens the socket first if it is closed; a failure to open is reported
   * through the handler.
   *
   * @param token Completion signature void(boost::system::error_code). The
   * handler is never invoked from within this function. Supports
   * cancellation_type::terminal, partial and total.
   */
  template <BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code))
          ConnectToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_connect(const endpoint_type& peer_endpoint,
      ConnectToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    boost::system::error_code open_ec;
    if (!is_open())
      impl_.open(peer_endpoint.protocol(), open_ec);
    return boost::asio::async_initiate<ConnectToken,
        void(boost::system::error_code)>(
        initiate_async_connect(this), token, peer_endpoint, open_ec);
  }

  /// Sets a socket option. Throws on failure.
  template <typename SettableSocketOption>
  void set_option(const SettableSocketOption& option)
  {
    boost::system::error_code ec;
    impl_.set_option(option, ec);
    boost::asio::detail::throw_error(ec, "set_option");
  }

  /// Sets a socket option.
  template <typename SettableSocketOption>
  void set_option(const SettableSocketOption& option,
      boost::system::error_code& ec)
  {
    impl_.set_option(option, ec);
  }

  /// Gets a socket option. Throws on failure.
  template <typename GettableSocketOption>
  void get_option(GettableSocketOption& option) const
  {
    boost::system::error_code ec;
    impl_.get_option(option, ec);
    boost::asio::detail::throw_error(ec, "get_option");
  }

  /// Gets a socket option.
  template <typename GettableSocketOption>
  void get_option(GettableSocketOption& option,
      boost::system::error_code& ec) const
  {
    impl_.get_option(option, ec);
  }

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

  /// Whether synchronous operations fail with error::would_block instead
  /// of blocking.
  bool non_blocking() const { return impl_.non_blocking(); }

  /// Sets the non-blocking mode of synchronous operations. Throws on failure.
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

  /// Whether the native socket has O_NONBLOCK (as set through this object).
  bool native_non_blocking() const { return impl_.native_non_blocking(); }

  /// Sets O_NONBLOCK on the native socket. Asynchronous operations keep
  /// working (the ring polls for readiness). Throws on failure.
  void native_non_blocking(bool mode)
  {
    boost::system::error_code ec;
    impl_.native_non_blocking(mode, ec);
    boost::asio::detail::throw_error(ec, "native_non_blocking");
  }

  /// Sets O_NONBLOCK on the native socket.
  void native_non_blocking(bool mode, boost::system::error_code& ec)
  {
    impl_.native_non_blocking(mode, ec);
  }

  /// Gets the local endpoint. Throws on failure.
  endpoint_type local_endpoint() const
  {
    boost::system::error_code ec;
    endpoint_type ep = impl_.template local_endpoint<endpoint_type>(ec);
    boost::asio::detail::throw_error(ec, "local_endpoint");
    return ep;
  }

  /// Gets the local endpoint.
  endpoint_type local_endpoint(boost::system::error_code& ec) const
  {
    return impl_.template local_endpoint<endpoint_type>(ec);
  }

  /// Gets the remote endpoint. Throws on failure.
  endpoint_type remote_endpoint() const
  {
    boost::system::error_code ec;
    endpoint_type ep = impl_.template remote_endpoint<endpoint_type>(ec);
    boost::asio::detail::throw_error(ec, "remote_endpoint");
    return ep;
  }

  /// Gets the remote endpoint.
  endpoint_type remote_endpoint(boost::system::error_code& ec) const
  {
    return impl_.template remote_endpoint<endpoint_type>(ec);
  }

  /// Disables sends or receives. Throws on failure.
  void shutdown(shutdown_type what)
  {
    boost::system::error_code ec;
    shutdown(what, ec);
    boost::asio::detail::throw_error(ec, "shutdown");
  }

  /// Disables sends or receives.
  void shutdown(shutdown_type what, boost::system::error_code& ec)
  {
    if (!impl_.is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return;
    }
    detail::socket_ops::shutdown(impl_.fd(), static_cast<int>(what), ec);
  }

  /// Waits until the socket is ready to read, write, or has an error
  /// condition. Throws on failure.
  void wait(wait_type w)
  {
    boost::system::error_code ec;
    impl_.wait(w, ec);
    boost::asio::detail::throw_error(ec, "wait");
  }

  /// Waits until the socket is ready to read, write, or has an error.
  void wait(wait_type w, boost::system::error_code& ec) { impl_.wait(w, ec); }

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

  /// Adopts a descriptor fresh from accept4 (used by the accept operations).
  static void accepted(basic_socket& s, const protocol_type& protocol, int fd)
  {
    s.impl_.adopt(protocol, fd, 0);
  }

protected:
  template <typename, typename> friend class basic_socket;
  template <typename, typename> friend class basic_socket_acceptor;

  /// Protected destructor: closes the socket, aborting its operations.
  ~basic_socket() = default;

  detail::socket_impl<Protocol, Executor> impl_;

  // The blocking send and receive behind the stream and datagram sockets'
  // members: system calls (as Boost.Asio's), to addr/len or from *sender
  // when given. null_buffers wait for readiness and transfer nothing.
  template <typename ConstBufferSequence>
  std::size_t sync_send(const ConstBufferSequence& buffers,
      message_flags flags, const void* addr, std::size_t len,
      boost::system::error_code& ec)
  {
    if (!this->is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return 0;
    }
    if constexpr (detail::is_null_buffers<ConstBufferSequence>)
    {
      // Waits until the socket is writable (Boost.Asio's null_buffers).
      (void)flags, (void)addr, (void)len;
      detail::socket_ops::poll_wait(this->impl_.fd(), this->impl_.state(),
          POLLOUT, ec);
      return 0;
    }
    else
    {
      detail::iovecs<boost::asio::const_buffer, ConstBufferSequence> bufs(
          buffers);
      return detail::socket_ops::send_to(this->impl_.fd(),
          this->impl_.state(), bufs.data(), bufs.count(), bufs.total_size(),
          flags, addr, len, ec);
    }
  }

  template <typename MutableBufferSequence>
  std::size_t sync_receive(const MutableBufferSequence& buffers,
      message_flags flags, endpoint_type* sender,
      boost::system::error_code& ec)
  {
    if (!this->is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return 0;
    }
    if constexpr (detail::is_null_buffers<MutableBufferSequence>)
    {
      // Waits until the socket is readable (Boost.Asio's null_buffers); a
      // sender cannot be known yet.
      (void)flags;
      if (sender)
        *sender = endpoint_type();
      detail::socket_ops::poll_wait(this->impl_.fd(), this->impl_.state(),
          POLLIN, ec);
      return 0;
    }
    else
    {
      detail::iovecs<boost::asio::mutable_buffer, MutableBufferSequence> bufs(
          buffers);
      std::size_t len = sender ? sender->capacity() : 0;
      std::size_t n = detail::socket_ops::recv_from(this->impl_.fd(),
          this->impl_.state(), const_cast<::iovec*>(bufs.data()),
          bufs.count(), bufs.total_size(), flags,
          sender ? sender->data() : nullptr, sender ? &len : nullptr, ec);
      if (!ec && sender)
        sender->resize(len <= sender->capacity() ? len : sender->capacity());
      return n;
    }
  }

private:
  void open_and_bind(const endpoint_type& endpoint)
  {
    boost::system::error_code ec;
    impl_.open(endpoint.protocol(), ec);
    boost::asio::detail::throw_error(ec, "open");
    impl_.bind(endpoint, ec);
    boost::asio::detail::throw_error(ec, "bind");
  }

  class initiate_async_connect
  {
  public:
    using executor_type = Executor;

    explicit initiate_async_connect(basic_socket* self) : self_(self) {}

    const executor_type& get_executor() const noexcept
    {
      return self_->get_executor();
    }

    template <typename ConnectHandler>
    void operator()(ConnectHandler&& handler,
        const endpoint_type& peer_endpoint,
        const boost::system::error_code& open_ec) const
    {
      auto& impl = self_->impl_;
      int immediate = detail::no_immediate_result;
      if (open_ec)
        immediate = -open_ec.value();
      else if (!impl.is_open())
        immediate = -EBADF;
      detail::start_or_post<detail::connect_op_base>(impl, immediate,
          static_cast<ConnectHandler&&>(handler), impl.fd(),
          peer_endpoint.data(), peer_endpoint.size());
    }

  private:
    basic_socket* self_;
  };

  class initiate_async_wait
  {
  public:
    using executor_type = Executor;

    explicit initiate_async_wait(basic_socket* self) : self_(self) {}

    const executor_type& get_executor() const noexcept
    {
      return self_->get_executor();
    }

    template <typename WaitHandler>
    void operator()(WaitHandler&& handler, wait_type w) const
    {
      auto& impl = self_->impl_;
      const short events = impl.poll_events(w);
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
    basic_socket* self_;
  };
};

} // namespace asio_uring
