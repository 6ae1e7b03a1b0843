//
// basic_socket_acceptor.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~
//
// Accepts new stream connections (Boost.Asio's basic_socket_acceptor), with
// asynchronous accepts and waits through the ring.
//
#pragma once

#include <asio_uring/basic_socket.hpp>
#include <asio_uring/basic_stream_socket.hpp>
#include <asio_uring/detail/multishot_ops.hpp>
#include <asio_uring/detail/socket_impl.hpp>
#include <asio_uring/detail/socket_op_bases.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/detail/throw_error.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/executor.hpp>
#include <boost/asio/is_executor.hpp>
#include <boost/asio/socket_base.hpp>

#include <cerrno>
#include <type_traits>
#include <utility>

namespace asio_uring {

namespace detail {

template <typename T>
inline constexpr bool is_any_executor_v =
    boost::asio::execution::is_executor<T>::value
    || boost::asio::is_executor<T>::value;

template <typename T>
inline constexpr bool is_execution_context_v =
    std::is_convertible_v<T&, boost::asio::execution_context&>;

} // namespace detail

/// Provides the ability to accept new socket connections (Boost.Asio's
/// basic_socket_acceptor), with every asynchronous accept on the ring
/// (IORING_OP_ACCEPT, accept4 semantics with SOCK_CLOEXEC).
/**
 * Every Boost.Asio 1.81 overload exists: accept into an existing closed
 * socket (optionally storing the peer's endpoint), and the move-accept
 * forms returning a new basic_stream_socket on the acceptor's executor,
 * on another executor, or on another execution context's executor.
 *
 * Errors from accept (error::no_descriptors for EMFILE, ENFILE, ENOBUFS)
 * are reported to the caller, and the acceptor stays usable: the pending
 * connection waits in the listen backlog for the next accept.
 * ECONNABORTED and EPROTO are retried unless the
 * socket_base::enable_connection_aborted option is set, as in Boost.Asio.
 *
 * @par Thread Safety
 * @e Distinct @e objects: Safe.@n
 * @e Shared @e objects: Unsafe.
 */
template <typename Protocol, typename Executor = boost::asio::any_io_executor>
class basic_socket_acceptor : public boost::asio::socket_base
{
public:
  /// The type of the executor associated with the object.
  using executor_type = Executor;

  /// Rebinds the acceptor type to another executor.
  template <typename Executor1>
  struct rebind_executor
  {
    using other = basic_socket_acceptor<Protocol, Executor1>;
  };

  /// The native representation of an acceptor.
  using native_handle_type = int;
  /// The protocol type.
  using protocol_type = Protocol;
  /// The endpoint type.
  using endpoint_type = typename Protocol::endpoint;

  /// The socket type a move-accept produces for an executor type.
  template <typename Executor1>
  using socket_for = basic_stream_socket<Protocol, Executor1>;

  /// Constructs an acceptor without opening it.
  explicit basic_socket_acceptor(const executor_type& ex) : impl_(ex) {}

  /// Constructs an acceptor without opening it.
  template <typename ExecutionContext>
  explicit basic_socket_acceptor(ExecutionContext& context,
      std::enable_if_t<detail::is_execution_context_v<ExecutionContext>>* = nullptr)
    : impl_(context.get_executor())
  {
  }

  /// Constructs and opens an acceptor. Throws on failure.
  basic_socket_acceptor(const executor_type& ex, const protocol_type& protocol)
    : impl_(ex)
  {
    open(protocol);
  }

  /// Constructs and opens an acceptor. Throws on failure.
  template <typename ExecutionContext>
  basic_socket_acceptor(ExecutionContext& context,
      const protocol_type& protocol,
      std::enable_if_t<detail::is_execution_context_v<ExecutionContext>>* = nullptr)
    : impl_(context.get_executor())
  {
    open(protocol);
  }

  /// Constructs an acceptor listening on endpoint: opens, sets
  /// reuse_address when reuse_addr is true, binds and listens. Throws on
  /// failure.
  basic_socket_acceptor(const executor_type& ex, const endpoint_type& endpoint,
      bool reuse_addr = true)
    : impl_(ex)
  {
    open_bind_listen(endpoint, reuse_addr);
  }

  /// Constructs an acceptor listening on endpoint. Throws on failure.
  template <typename ExecutionContext>
  basic_socket_acceptor(ExecutionContext& context,
      const endpoint_type& endpoint, bool reuse_addr = true,
      std::enable_if_t<detail::is_execution_context_v<ExecutionContext>>* = nullptr)
    : impl_(context.get_executor())
  {
    open_bind_listen(endpoint, reuse_addr);
  }

  /// Constructs an acceptor on an existing native acceptor (takes
  /// ownership).
  basic_socket_acceptor(const executor_type& ex, const protocol_type& protocol,
      const native_handle_type& native_acceptor)
    : impl_(ex)
  {
    assign(protocol, native_acceptor);
  }

  /// Constructs an acceptor on an existing native acceptor.
  template <typename ExecutionContext>
  basic_socket_acceptor(ExecutionContext& context,
      const protocol_type& protocol, const native_handle_type& native_acceptor,
      std::enable_if_t<detail::is_execution_context_v<ExecutionContext>>* = nullptr)
    : impl_(context.get_executor())
  {
    assign(protocol, native_acceptor);
  }

  /// Move-constructs: other is left as if constructed with its executor.
  basic_socket_acceptor(basic_socket_acceptor&& other) noexcept = default;

  /// Move-assigns: closes this acceptor first (aborting its operations).
  basic_socket_acceptor& operator=(basic_socket_acceptor&& other) = default;

  /// Move-constructs from an acceptor of another protocol or executor type.
  template <typename Protocol1, typename Executor1>
  basic_socket_acceptor(basic_socket_acceptor<Protocol1, Executor1>&& other,
      std::enable_if_t<std::is_convertible_v<Protocol1, Protocol>
          && std::is_convertible_v<Executor1, Executor>>* = nullptr)
    : impl_(std::move(other.impl_))
  {
  }

  /// Move-assigns from an acceptor of another protocol or executor type.
  template <typename Protocol1, typename Executor1>
  std::enable_if_t<std::is_convertible_v<Protocol1, Protocol>
          && std::is_convertible_v<Executor1, Executor>,
      basic_socket_acceptor&>
  operator=(basic_socket_acceptor<Protocol1, Executor1>&& other)
  {
    impl_ = std::move(other.impl_);
    return *this;
  }

  /// Destroys the acceptor, aborting its asynchronous operations.
  ~basic_socket_acceptor() = default;

  /// Gets the executor associated with the object.
  const executor_type& get_executor() noexcept { return impl_.get_executor(); }

  /// Opens the acceptor. Throws on failure.
  void open(const protocol_type& protocol = protocol_type())
  {
    boost::system::error_code ec;
    impl_.open(protocol, ec);
    boost::asio::detail::throw_error(ec, "open");
  }

  /// Opens the acceptor.
  void open(const protocol_type& protocol, boost::system::error_code& ec)
  {
    impl_.open(protocol, ec);
  }

  /// Assigns an existing native acceptor. Throws on failure.
  void assign(const protocol_type& protocol,
      const native_handle_type& native_acceptor)
  {
    boost::system::error_code ec;
    impl_.assign(protocol, native_acceptor, ec);
    boost::asio::detail::throw_error(ec, "assign");
  }

  /// Assigns an existing native acceptor.
  void assign(const protocol_type& protocol,
      const native_handle_type& native_acceptor, boost::system::error_code& ec)
  {
    impl_.assign(protocol, native_acceptor, ec);
  }

  /// Whether the acceptor is open.
  bool is_open() const { return impl_.is_open(); }

  /// Binds the acceptor to a local endpoint. Throws on failure
  /// (error::address_in_use when another socket holds it).
  void bind(const endpoint_type& endpoint)
  {
    boost::system::error_code ec;
    impl_.bind(endpoint, ec);
    boost::asio::detail::throw_error(ec, "bind");
  }

  /// Binds the acceptor to a local endpoint.
  void bind(const endpoint_type& endpoint, boost::system::error_code& ec)
  {
    impl_.bind(endpoint, ec);
  }

  /// Starts listening for connections. Throws on failure.
  void listen(int backlog = socket_base::max_listen_connections)
  {
    boost::system::error_code ec;
    listen(backlog, ec);
    boost::asio::detail::throw_error(ec, "listen");
  }

  /// Starts listening for connections.
  void listen(int backlog, boost::system::error_code& ec)
  {
    if (!impl_.is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return;
    }
    detail::socket_ops::listen(impl_.fd(), backlog, ec);
  }

  /// Closes the acceptor; pending accepts complete with
  /// error::operation_aborted.
  void close()
  {
    boost::system::error_code ec;
    impl_.close(ec);
    boost::asio::detail::throw_error(ec, "close");
  }

  /// Closes the acceptor.
  void close(boost::system::error_code& ec) { impl_.close(ec); }

  /// Releases ownership of the native acceptor. Throws on failure.
  native_handle_type release()
  {
    boost::system::error_code ec;
    native_handle_type s = impl_.release(ec);
    boost::asio::detail::throw_error(ec, "release");
    return s;
  }

  /// Releases ownership of the native acceptor.
  native_handle_type release(boost::system::error_code& ec)
  {
    return impl_.release(ec);
  }

  /// Gets the native acceptor representation.
  native_handle_type native_handle() { return impl_.fd(); }

  /// Cancels all asynchronous operations on the acceptor.
  void cancel()
  {
    boost::system::error_code ec;
    impl_.cancel(ec);
    boost::asio::detail::throw_error(ec, "cancel");
  }

  /// Cancels all asynchronous operations on the acceptor.
  void cancel(boost::system::error_code& ec) { impl_.cancel(ec); }

  /// Sets an option. Throws on failure.
  template <typename SettableSocketOption>
  void set_option(const SettableSocketOption& option)
  {
    boost::system::error_code ec;
    impl_.set_option(option, ec);
    boost::asio::detail::throw_error(ec, "set_option");
  }

  /// Sets an option.
  template <typename SettableSocketOption>
  void set_option(const SettableSocketOption& option,
      boost::system::error_code& ec)
  {
    impl_.set_option(option, ec);
  }

  /// Gets an option. Throws on failure.
  template <typename GettableSocketOption>
  void get_option(GettableSocketOption& option) const
  {
    boost::system::error_code ec;
    impl_.get_option(option, ec);
    boost::asio::detail::throw_error(ec, "get_option");
  }

  /// Gets an option.
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

  /// Whether synchronous accepts fail with would_block instead of blocking.
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

  /// Whether the native acceptor has O_NONBLOCK (set through this object).
  bool native_non_blocking() const { return impl_.native_non_blocking(); }

  /// Sets O_NONBLOCK on the native acceptor.
  void native_non_blocking(bool mode)
  {
    boost::system::error_code ec;
    impl_.native_non_blocking(mode, ec);
    boost::asio::detail::throw_error(ec, "native_non_blocking");
  }

  /// Sets O_NONBLOCK on the native acceptor.
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

  /// Waits for the acceptor to be ready (wait_read: a connection is
  /// pending). Throws on failure.
  void wait(wait_type w)
  {
    boost::system::error_code ec;
    impl_.wait(w, ec);
    boost::asio::detail::throw_error(ec, "wait");
  }

  /// Waits for the acceptor to be ready.
  void wait(wait_type w, boost::system::error_code& ec) { impl_.wait(w, ec); }

  /// Starts an asynchronous wait (IORING_OP_POLL_ADD).
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

  // ----- accept into an existing socket ---------------------------------

  /// Accepts a connection into peer, which must be closed. Throws on
  /// failure.
  template <typename Protocol1, typename Executor1>
  std::enable_if_t<std::is_convertible_v<Protocol, Protocol1>>
  accept(basic_socket<Protocol1, Executor1>& peer)
  {
    boost::system::error_code ec;
    accept(peer, ec);
    boost::asio::detail::throw_error(ec, "accept");
  }

  /// Accepts a connection into peer, which must be closed.
  template <typename Protocol1, typename Executor1>
  std::enable_if_t<std::is_convertible_v<Protocol, Protocol1>>
  accept(basic_socket<Protocol1, Executor1>& peer,
      boost::system::error_code& ec)
  {
    do_accept(peer, static_cast<endpoint_type*>(nullptr), ec);
  }

  /// Accepts a connection into peer and stores the peer's endpoint.
  template <typename Executor1>
  void accept(basic_socket<protocol_type, Executor1>& peer,
      endpoint_type& peer_endpoint)
  {
    boost::system::error_code ec;
    accept(peer, peer_endpoint, ec);
    boost::asio::detail::throw_error(ec, "accept");
  }

  /// Accepts a connection into peer and stores the peer's endpoint.
  template <typename Executor1>
  void accept(basic_socket<protocol_type, Executor1>& peer,
      endpoint_type& peer_endpoint, boost::system::error_code& ec)
  {
    do_accept(peer, &peer_endpoint, ec);
  }

  /// Starts an asynchronous accept into peer (IORING_OP_ACCEPT).
  /**
   * @param peer Closed socket that receives the connection; kept alive by
   * the caller until the handler is called. An open peer completes with
   * error::already_open.
   * @param token Completion signature void(boost::system::error_code). The
   * handler is never invoked from within this function. Supports
   * cancellation_type::terminal, partial and total.
   */
  template <typename Protocol1, typename Executor1,
      BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code))
          AcceptToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_accept(basic_socket<Protocol1, Executor1>& peer,
      AcceptToken&& token = boost::asio::default_completion_token_t<executor_type>(),
      std::enable_if_t<std::is_convertible_v<Protocol, Protocol1>>* = nullptr)
  {
    return boost::asio::async_initiate<AcceptToken,
        void(boost::system::error_code)>(initiate_async_accept(this), token,
        &peer, static_cast<endpoint_type*>(nullptr));
  }

  /// Starts an asynchronous accept into peer, storing the peer's endpoint
  /// in peer_endpoint (kept alive by the caller until the handler runs).
  template <typename Executor1,
      BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code))
          AcceptToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_accept(basic_socket<protocol_type, Executor1>& peer,
      endpoint_type& peer_endpoint,
      AcceptToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return boost::asio::async_initiate<AcceptToken,
        void(boost::system::error_code)>(initiate_async_accept(this), token,
        &peer, &peer_endpoint);
  }

  // ----- move-accept: a new socket ----------------------------------------

  /// Accepts a connection and returns it as a new socket on this
  /// acceptor's executor. Throws on failure.
  socket_for<executor_type> accept()
  {
    boost::system::error_code ec;
    socket_for<executor_type> peer = accept(ec);
    boost::asio::detail::throw_error(ec, "accept");
    return peer;
  }

  /// Accepts a connection and returns it as a new socket.
  socket_for<executor_type> accept(boost::system::error_code& ec)
  {
    socket_for<executor_type> peer(impl_.get_executor());
    do_accept(peer, static_cast<endpoint_type*>(nullptr), ec);
    return peer;
  }

  /// Starts an asynchronous accept producing a new socket on this
  /// acceptor's executor.
  /**
   * @param token Completion signature void(boost::system::error_code,
   * socket_for<executor_type>). The handler is never invoked from within
   * this function. Supports cancellation_type::terminal, partial and total.
   */
  template <BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code,
          socket_for<executor_type>)) MoveAcceptToken
      = boost::asio::default_completion_token_t<executor_type>>
  auto async_accept(
      MoveAcceptToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return async_move_accept<executor_type>(impl_.get_executor(),
        static_cast<endpoint_type*>(nullptr),
        static_cast<MoveAcceptToken&&>(token));
  }

  /// Accepts a connection as a new socket on executor ex. Throws on failure.
  template <typename Executor1>
  socket_for<Executor1> accept(const Executor1& ex,
      std::enable_if_t<detail::is_any_executor_v<Executor1>>* = nullptr)
  {
    boost::system::error_code ec;
    socket_for<Executor1> peer = accept(ex, ec);
    boost::asio::detail::throw_error(ec, "accept");
    return peer;
  }

  /// Accepts a connection as a new socket on context's executor. Throws on
  /// failure.
  template <typename ExecutionContext>
  socket_for<typename ExecutionContext::executor_type> accept(
      ExecutionContext& context,
      std::enable_if_t<detail::is_execution_context_v<ExecutionContext>>* = nullptr)
  {
    return accept(context.get_executor());
  }

  /// Accepts a connection as a new socket on executor ex.
  template <typename Executor1>
  socket_for<Executor1> accept(const Executor1& ex,
      boost::system::error_code& ec,
      std::enable_if_t<detail::is_any_executor_v<Executor1>>* = nullptr)
  {
    socket_for<Executor1> peer(ex);
    do_accept(peer, static_cast<endpoint_type*>(nullptr), ec);
    return peer;
  }

  /// Accepts a connection as a new socket on context's executor.
  template <typename ExecutionContext>
  socket_for<typename ExecutionContext::executor_type> accept(
      ExecutionContext& context, boost::system::error_code& ec,
      std::enable_if_t<detail::is_execution_context_v<ExecutionContext>>* = nullptr)
  {
    return accept(context.get_executor(), ec);
  }

  /// Starts an asynchronous accept producing a new socket on executor ex
  /// (which must belong to an asio_uring::io_context). The handler still
  /// runs on this acceptor's executor unless it has its own.
  template <typename Executor1,
      BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code,
          socket_for<Executor1>)) MoveAcceptToken
      = boost::asio::default_completion_token_t<executor_type>>
  auto async_accept(const Executor1& ex,
      MoveAcceptToken&& token = boost::asio::default_completion_token_t<executor_type>(),
      std::enable_if_t<detail::is_any_executor_v<Executor1>>* = nullptr)
  {
    return async_move_accept<Executor1>(ex,
        static_cast<endpoint_type*>(nullptr),
        static_cast<MoveAcceptToken&&>(token));
  }

  /// Starts an asynchronous accept producing a new socket on context's
  /// executor.
  template <typename ExecutionContext,
      BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code,
          socket_for<typename ExecutionContext::executor_type>)) MoveAcceptToken
      = boost::asio::default_completion_token_t<executor_type>>
  auto async_accept(ExecutionContext& context,
      MoveAcceptToken&& token = boost::asio::default_completion_token_t<executor_type>(),
      std::enable_if_t<detail::is_execution_context_v<ExecutionContext>>* = nullptr)
  {
    return async_move_accept<typename ExecutionContext::executor_type>(
        context.get_executor(), static_cast<endpoint_type*>(nullptr),
        static_cast<MoveAcceptToken&&>(token));
  }

  /// Accepts a connection as a new socket, storing the peer's endpoint.
  socket_for<executor_type> accept(endpoint_type& peer_endpoint)
  {
    boost::system::error_code ec;
    socket_for<executor_type> peer = accept(peer_endpoint, ec);
    boost::asio::detail::throw_error(ec, "accept");
    return peer;
  }

  /// Accepts a connection as a new socket, storing the peer's endpoint.
  socket_for<executor_type> accept(endpoint_type& peer_endpoint,
      boost::system::error_code& ec)
  {
    socket_for<executor_type> peer(impl_.get_executor());
    do_accept(peer, &peer_endpoint, ec);
    return peer;
  }

  /// Starts an asynchronous accept producing a new socket and storing the
  /// peer's endpoint (kept alive by the caller until the handler runs).
  template <BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code,
          socket_for<executor_type>)) MoveAcceptToken
      = boost::asio::default_completion_token_t<executor_type>>
  auto async_accept(endpoint_type& peer_endpoint,
      MoveAcceptToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return async_move_accept<executor_type>(impl_.get_executor(),
        &peer_endpoint, static_cast<MoveAcceptToken&&>(token));
  }

  /// Accepts a connection as a new socket on executor ex, storing the
  /// peer's endpoint. Throws on failure.
  template <typename Executor1>
  socket_for<Executor1> accept(const Executor1& ex,
      endpoint_type& peer_endpoint,
      std::enable_if_t<detail::is_any_executor_v<Executor1>>* = nullptr)
  {
    boost::system::error_code ec;
    socket_for<Executor1> peer = accept(ex, peer_endpoint, ec);
    boost::asio::detail::throw_error(ec, "accept");
    return peer;
  }

  /// Accepts a connection as a new socket on context's executor, storing
  /// the peer's endpoint. Throws on failure.
  template <typename ExecutionContext>
  socket_for<typename ExecutionContext::executor_type> accept(
      ExecutionContext& context, endpoint_type& peer_endpoint,
      std::enable_if_t<detail::is_execution_context_v<ExecutionContext>>* = nullptr)
  {
    return accept(context.get_executor(), peer_endpoint);
  }

  /// Accepts a connection as a new socket on executor ex, storing the
  /// peer's endpoint.
  template <typename Executor1>
  socket_for<Executor1> accept(const Executor1& ex,
      endpoint_type& peer_endpoint, boost::system::error_code& ec,
      std::enable_if_t<detail::is_any_executor_v<Executor1>>* = nullptr)
  {
    socket_for<Executor1> peer(ex);
    do_accept(peer, &peer_endpoint, ec);
    return peer;
  }

  /// Accepts a connection as a new socket on context's executor, storing
  /// the peer's endpoint.
  template <typename ExecutionContext>
  socket_for<typename ExecutionContext::executor_type> accept(
      ExecutionContext& context, endpoint_type& peer_endpoint,
      boost::system::error_code& ec,
      std::enable_if_t<detail::is_execution_context_v<ExecutionContext>>* = nullptr)
  {
    return accept(context.get_executor(), peer_endpoint, ec);
  }

  /// Starts an asynchronous accept producing a new socket on executor ex
  /// and storing the peer's endpoint.
  template <typename Executor1,
      BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code,
          socket_for<Executor1>)) MoveAcceptToken
      = boost::asio::default_completion_token_t<executor_type>>
  auto async_accept(const Executor1& ex, endpoint_type& peer_endpoint,
      MoveAcceptToken&& token = boost::asio::default_completion_token_t<executor_type>(),
      std::enable_if_t<detail::is_any_executor_v<Executor1>>* = nullptr)
  {
    return async_move_accept<Executor1>(ex, &peer_endpoint,
        static_cast<MoveAcceptToken&&>(token));
  }

  /// Starts an asynchronous accept producing a new socket on context's
  /// executor and storing the peer's endpoint.
  template <typename ExecutionContext,
      BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code,
          socket_for<typename ExecutionContext::executor_type>)) MoveAcceptToken
      = boost::asio::default_completion_token_t<executor_type>>
  auto async_accept(ExecutionContext& context, endpoint_type& peer_endpoint,
      MoveAcceptToken&& token = boost::asio::default_completion_token_t<executor_type>(),
      std::enable_if_t<detail::is_execution_context_v<ExecutionContext>>* = nullptr)
  {
    return async_move_accept<typename ExecutionContext::executor_type>(
        context.get_executor(), &peer_endpoint,
        static_cast<MoveAcceptToken&&>(token));
  }

  /// Extension: accepts the next connection through this acceptor's
  /// multishot accept (IORING_ACCEPT_MULTISHOT, Linux 5.19).
  /**
   * The first call arms one multishot accept for the acceptor, which stays
   * armed. Connections the kernel accepts while no call is pending wait in
   * the acceptor, in arrival order, for the next call, which then completes
   * without an SQE or a system call. Each call's handler runs exactly once,
   * with the next connection as a new socket on the acceptor's executor.
   *
   * @par Completion Signature
   * @code void(boost::system::error_code, socket_for<executor_type>) @endcode
   * The handler is never invoked from within this function.
   *
   * @par Errors
   * error::bad_descriptor (closed acceptor), error::operation_not_supported
   * (kernel older than 5.19), error::operation_aborted (cancelled), and
   * accept's own errors (error::no_descriptors, ...). An error ends the
   * kernel's multishot accept: it is re-armed by the next call (or at once
   * when calls are waiting). A multishot accept the kernel ends without an
   * error is re-armed at once.
   *
   * @par Cancellation and lifetime
   * cancel(), close(), release(), move-assignment and the destructor cancel
   * the multishot accept, complete pending calls with
   * error::operation_aborted and close connections accepted but not yet
   * claimed (a connection racing the cancellation may be closed too).
   * Per-operation cancellation (terminal, partial, total) aborts that call
   * only; the multishot accept stays armed. Moving the acceptor keeps it.
   * An armed multishot accept with no call pending is not outstanding
   * work: it does not keep io_context::run() from returning.
   *
   * The peer's endpoint is not captured (every completion would share one
   * address buffer): ask the socket for remote_endpoint(). The acceptor's
   * enable_connection_aborted option is not consulted: ECONNABORTED from
   * the kernel is reported.
   */
  template <BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code,
          socket_for<executor_type>)) MoveAcceptToken
      = boost::asio::default_completion_token_t<executor_type>>
  auto async_accept_multishot(
      MoveAcceptToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return boost::asio::async_initiate<MoveAcceptToken,
        void(boost::system::error_code, socket_for<executor_type>)>(
        initiate_async_accept_multishot(this), token);
  }

  /// Extension: connections accepted by the multishot accept and not yet
  /// claimed by async_accept_multishot.
  std::size_t multishot_queued() const
  {
    detail::multishot_state* st = impl_.multishot_state_ptr();
    return st ? st->queued() : 0;
  }

private:
  template <typename, typename> friend class basic_socket_acceptor;

  class initiate_async_accept_multishot
  {
  public:
    using executor_type = Executor;

    explicit initiate_async_accept_multishot(basic_socket_acceptor* self)
      : self_(self)
    {
    }

    const executor_type& get_executor() const noexcept
    {
      return self_->get_executor();
    }

    template <typename MoveAcceptHandler>
    void operator()(MoveAcceptHandler&& handler) const
    {
      using socket_type = socket_for<executor_type>;
      auto& impl = self_->impl_;
      detail::scheduler& s = impl.get_scheduler();
      detail::accept_multishot_completion<socket_type> completion{
          impl.get_executor(), protocol_or_default(impl)};
      int immediate = 0;
      if (!impl.is_open())
        immediate = -EBADF;
      else if (!s.ring().supports_multishot_accept())
        immediate = -EOPNOTSUPP;
      if (immediate != 0)
        detail::start_multishot_waiter(s, nullptr, immediate,
            static_cast<MoveAcceptHandler&&>(handler), impl.get_executor(),
            std::move(completion));
      else
        detail::start_multishot_waiter(s,
            impl.template multishot<detail::accept_multishot_state>(), 0,
            static_cast<MoveAcceptHandler&&>(handler), impl.get_executor(),
            std::move(completion));
    }

  private:
    basic_socket_acceptor* self_;
  };

  void open_bind_listen(const endpoint_type& endpoint, bool reuse_addr)
  {
    boost::system::error_code ec;
    impl_.open(endpoint.protocol(), ec);
    boost::asio::detail::throw_error(ec, "open");
    if (reuse_addr)
    {
      impl_.set_option(socket_base::reuse_address(true), ec);
      boost::asio::detail::throw_error(ec, "set_option");
    }
    impl_.bind(endpoint, ec);
    boost::asio::detail::throw_error(ec, "bind");
    listen(socket_base::max_listen_connections, ec);
    boost::asio::detail::throw_error(ec, "listen");
  }

  template <typename Socket>
  void do_accept(Socket& peer, endpoint_type* peer_endpoint,
      boost::system::error_code& ec)
  {
    if (peer.is_open())
    {
      ec = boost::asio::error::already_open;
      return;
    }
    if (!impl_.is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return;
    }
    endpoint_type ep;
    std::size_t len = ep.capacity();
    int fd = detail::socket_ops::accept(impl_.fd(), impl_.state(), ep.data(),
        &len, ec);
    if (fd < 0)
      return;
    if (peer_endpoint)
    {
      ep.resize(len);
      *peer_endpoint = ep;
    }
    Socket::accepted(peer, impl_.protocol(), fd);
  }

  template <typename Executor1, typename Token>
  auto async_move_accept(const Executor1& ex, endpoint_type* peer_endpoint,
      Token&& token)
  {
    // The new socket needs an asio_uring::io_context behind ex: checked
    // here, where a failure can still throw to the caller.
    (void)detail::context_of(ex);
    return boost::asio::async_initiate<Token,
        void(boost::system::error_code, socket_for<Executor1>)>(
        initiate_async_move_accept<Executor1>(this), token, ex, peer_endpoint);
  }

  // The immediate result of an accept that cannot start, or
  // no_immediate_result.
  int accept_precheck() const noexcept
  {
    return impl_.is_open() ? detail::no_immediate_result : -EBADF;
  }

  class initiate_async_wait
  {
  public:
    using executor_type = Executor;

    explicit initiate_async_wait(basic_socket_acceptor* self) : self_(self) {}

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
    basic_socket_acceptor* self_;
  };

  class initiate_async_accept
  {
  public:
    using executor_type = Executor;

    explicit initiate_async_accept(basic_socket_acceptor* self) : self_(self) {}

    const executor_type& get_executor() const noexcept
    {
      return self_->get_executor();
    }

    template <typename AcceptHandler, typename Socket>
    void operator()(AcceptHandler&& handler, Socket* peer,
        endpoint_type* peer_endpoint) const
    {
      using op = detail::accept_op_base<Socket, endpoint_type>;
      auto& impl = self_->impl_;
      const bool peer_open = peer->is_open();
      // An open peer completes with error::already_open (the op maps it;
      // the result must stay negative: it is never a descriptor).
      const int immediate = peer_open ? -EISCONN : self_->accept_precheck();
      const bool eca =
          (impl.state() & detail::socket_ops::enable_connection_aborted) != 0;
      detail::start_or_post<op>(impl, immediate,
          static_cast<AcceptHandler&&>(handler), impl.fd(), eca,
          protocol_or_default(impl), *peer, peer_endpoint, peer_open);
    }

  private:
    basic_socket_acceptor* self_;
  };

  template <typename Executor1>
  class initiate_async_move_accept
  {
  public:
    using executor_type = Executor;

    explicit initiate_async_move_accept(basic_socket_acceptor* self)
      : self_(self)
    {
    }

    const executor_type& get_executor() const noexcept
    {
      return self_->get_executor();
    }

    template <typename MoveAcceptHandler>
    void operator()(MoveAcceptHandler&& handler, const Executor1& ex,
        endpoint_type* peer_endpoint) const
    {
      using op = detail::move_accept_op_base<socket_for<Executor1>,
          endpoint_type>;
      auto& impl = self_->impl_;
      const bool eca =
          (impl.state() & detail::socket_ops::enable_connection_aborted) != 0;
      detail::start_or_post<op>(impl, self_->accept_precheck(),
          static_cast<MoveAcceptHandler&&>(handler), impl.fd(), eca,
          protocol_or_default(impl), ex, peer_endpoint);
    }

  private:
    basic_socket_acceptor* self_;
  };

  // The acceptor's protocol; for a closed acceptor (whose op completes at
  // once with bad_descriptor) any value of the right type.
  static protocol_type protocol_or_default(
      const detail::socket_impl<Protocol, Executor>& impl)
  {
    if (impl.is_open())
      return impl.protocol();
    return endpoint_type().protocol();
  }

  detail::socket_impl<Protocol, Executor> impl_;
};

} // namespace asio_uring
