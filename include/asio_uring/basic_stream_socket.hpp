//
// basic_stream_socket.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~
//
// A stream-oriented socket (Boost.Asio's basic_stream_socket) whose
// asynchronous sends and receives go through the ring.
//
#pragma once

#include <asio_uring/basic_socket.hpp>
#include <asio_uring/buffer_ring.hpp>
#include <asio_uring/detail/multishot_ops.hpp>

#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/buffer.hpp>

#include <cerrno>
#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

namespace asio_uring {

/// Provides stream-oriented socket functionality (Boost.Asio's
/// basic_stream_socket), with every asynchronous send and receive on the
/// ring (IORING_OP_SEND/RECV for one buffer, SENDMSG/RECVMSG for a
/// sequence).
/**
 * Meets Boost.Asio's AsyncReadStream, AsyncWriteStream, SyncReadStream and
 * SyncWriteStream requirements, so async_read, async_write,
 * async_read_until and Boost.Beast's HTTP operations work on it unchanged.
 *
 * Sends use MSG_NOSIGNAL: writing to a reset connection reports
 * error::broken_pipe and never raises SIGPIPE. A receive of 0 bytes into
 * non-empty buffers reports error::eof; zero-size buffers complete at once
 * with 0 bytes.
 *
 * Hand-over to Boost.Asio: an rvalue converts to a
 * boost::asio::basic_stream_socket on the same executor (the descriptor is
 * released from the ring and assigned there). This is what lets
 * `beast::tcp_stream stream(std::move(socket));` compile unchanged; the
 * Boost.Asio socket then runs on Boost.Asio's reactor (its own internal
 * thread for a foreign execution context).
 *
 * @par Thread Safety
 * @e Distinct @e objects: Safe.@n
 * @e Shared @e objects: Unsafe.
 */
template <typename Protocol, typename Executor = boost::asio::any_io_executor>
class basic_stream_socket : public basic_socket<Protocol, Executor>
{
  using base = basic_socket<Protocol, Executor>;

public:
  using executor_type = Executor;

  /// Rebinds the socket type to another executor.
  template <typename Executor1>
  struct rebind_executor
  {
    using other = basic_stream_socket<Protocol, Executor1>;
  };

  using native_handle_type = typename base::native_handle_type;
  using protocol_type = Protocol;
  using endpoint_type = typename Protocol::endpoint;
  using message_flags = typename base::message_flags;

  using base::base;

  /// Constructs a socket without opening it.
  explicit basic_stream_socket(const executor_type& ex) : base(ex) {}

  /// Move-constructs: other is left as if constructed with its executor.
  basic_stream_socket(basic_stream_socket&& other) noexcept = default;

  /// Move-assigns: closes this socket first (aborting its operations).
  basic_stream_socket& operator=(basic_stream_socket&& other) = default;

  /// Move-constructs from a socket of another protocol or executor type.
  template <typename Protocol1, typename Executor1>
  basic_stream_socket(basic_stream_socket<Protocol1, Executor1>&& other,
      std::enable_if_t<std::is_convertible_v<Protocol1, Protocol>
          && std::is_convertible_v<Executor1, Executor>>* = nullptr)
    : base(std::move(other))
  {
  }

  /// Move-assigns from a socket of another protocol or executor type.
  template <typename Protocol1, typename Executor1>
  std::enable_if_t<std::is_convertible_v<Protocol1, Protocol>
          && std::is_convertible_v<Executor1, Executor>,
      basic_stream_socket&>
  operator=(basic_stream_socket<Protocol1, Executor1>&& other)
  {
    base::operator=(std::move(other));
    return *this;
  }

  /// Destroys the socket, aborting its asynchronous operations.
  ~basic_stream_socket() = default;

  /// Hands the descriptor over to a Boost.Asio socket on the same executor
  /// (see the class description). A closed socket gives a closed one.
  template <typename Executor1,
      typename = std::enable_if_t<std::is_convertible_v<Executor, Executor1>>>
  operator boost::asio::basic_stream_socket<Protocol, Executor1>() &&
  {
    boost::asio::basic_stream_socket<Protocol, Executor1> s(
        Executor1(this->get_executor()));
    if (!this->is_open())
      return s;
    const Protocol protocol = this->impl_.protocol();
    const int fd = this->release();
    boost::system::error_code ec;
    s.assign(protocol, fd, ec);
    if (ec)
    {
      ::close(fd);
      boost::asio::detail::throw_error(ec, "assign");
    }
    return s;
  }

  /// Sends data; blocks until some is sent. Throws on failure.
  template <typename ConstBufferSequence>
  std::size_t send(const ConstBufferSequence& buffers)
  {
    return send(buffers, 0);
  }

  /// Sends data with flags. Throws on failure.
  template <typename ConstBufferSequence>
  std::size_t send(const ConstBufferSequence& buffers, message_flags flags)
  {
    boost::system::error_code ec;
    std::size_t n = send(buffers, flags, ec);
    boost::asio::detail::throw_error(ec, "send");
    return n;
  }

  /// Sends data with flags.
  template <typename ConstBufferSequence>
  std::size_t send(const ConstBufferSequence& buffers, message_flags flags,
      boost::system::error_code& ec)
  {
    return this->sync_send(buffers, flags, nullptr, 0, ec);
  }


  /// Starts an asynchronous send.
  /**
   * @param buffers Kept alive by the caller until the handler is called.
   * @param token Completion signature void(boost::system::error_code,
   * std::size_t). The handler is never invoked from within this function.
   * Supports cancellation_type::terminal, partial and total.
   */
  template <typename ConstBufferSequence,
      BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code, std::size_t))
          WriteToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_send(const ConstBufferSequence& buffers,
      WriteToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return async_send(buffers, 0, static_cast<WriteToken&&>(token));
  }

  /// Starts an asynchronous send with flags (see async_send above).
  template <typename ConstBufferSequence,
      BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code, std::size_t))
          WriteToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_send(const ConstBufferSequence& buffers, message_flags flags,
      WriteToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return boost::asio::async_initiate<WriteToken,
        void(boost::system::error_code, std::size_t)>(
        initiate_async_send(this), token, buffers, flags);
  }

  /// Receives data; blocks until some is received. Throws on failure
  /// (error::eof when the peer closed the connection).
  template <typename MutableBufferSequence>
  std::size_t receive(const MutableBufferSequence& buffers)
  {
    return receive(buffers, 0);
  }

  /// Receives data with flags. Throws on failure.
  template <typename MutableBufferSequence>
  std::size_t receive(const MutableBufferSequence& buffers,
      message_flags flags)
  {
    boost::system::error_code ec;
    std::size_t n = receive(buffers, flags, ec);
    boost::asio::detail::throw_error(ec, "receive");
    return n;
  }

  /// Receives data with flags.
  template <typename MutableBufferSequence>
  std::size_t receive(const MutableBufferSequence& buffers,
      message_flags flags, boost::system::error_code& ec)
  {
    return this->sync_receive(buffers, flags, nullptr, ec);
  }


  /// Starts an asynchronous receive.
  /**
   * @param buffers Kept alive by the caller until the handler is called.
   * @param token Completion signature void(boost::system::error_code,
   * std::size_t); error::eof when the peer closed the connection. The
   * handler is never invoked from within this function. Supports
   * cancellation_type::terminal, partial and total.
   */
  template <typename MutableBufferSequence,
      BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code, std::size_t))
          ReadToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_receive(const MutableBufferSequence& buffers,
      ReadToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return async_receive(buffers, 0, static_cast<ReadToken&&>(token));
  }

  /// Starts an asynchronous receive with flags (see async_receive above).
  template <typename MutableBufferSequence,
      BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code, std::size_t))
          ReadToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_receive(const MutableBufferSequence& buffers, message_flags flags,
      ReadToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return boost::asio::async_initiate<ReadToken,
        void(boost::system::error_code, std::size_t)>(
        initiate_async_receive(this), token, buffers, flags);
  }

  /// Writes some data; blocks until some is written. Throws on failure.
  template <typename ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers)
  {
    return send(buffers, 0);
  }

  /// Writes some data.
  template <typename ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers,
      boost::system::error_code& ec)
  {
    return send(buffers, 0, ec);
  }

  /// Starts an asynchronous write of some data (as async_send).
  template <typename ConstBufferSequence,
      BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code, std::size_t))
          WriteToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_write_some(const ConstBufferSequence& buffers,
      WriteToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return async_send(buffers, 0, static_cast<WriteToken&&>(token));
  }

  /// Reads some data; blocks until some is read. Throws on failure.
  template <typename MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers)
  {
    return receive(buffers, 0);
  }

  /// Reads some data.
  template <typename MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers,
      boost::system::error_code& ec)
  {
    return receive(buffers, 0, ec);
  }

  /// Starts an asynchronous read of some data (as async_receive).
  template <typename MutableBufferSequence,
      BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code, std::size_t))
          ReadToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_read_some(const MutableBufferSequence& buffers,
      ReadToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return async_receive(buffers, 0, static_cast<ReadToken&&>(token));
  }

  /// Extension: receives into a buffer the kernel picks from ring when
  /// data arrives (IOSQE_BUFFER_SELECT on a provided-buffer ring).
  /**
   * @par Completion Signature
   * @code void(boost::system::error_code, asio_uring::provided_buffer) @endcode
   * The provided_buffer holds the bytes received (at most
   * ring.buffer_size()) and gives the buffer back to the ring when
   * destroyed. The handler is never invoked from within this function.
   *
   * @par Errors
   * error::eof (peer closed), error::no_buffer_space (every buffer of the
   * ring is in use: nothing was consumed; release buffers and receive
   * again), error::bad_descriptor (closed socket), error::invalid_argument
   * (an empty ring, or one registered with another io_context),
   * error::operation_aborted, and receive's own errors.
   *
   * The ring may be destroyed while the receive is pending (see
   * buffer_ring). Supports cancellation_type::terminal, partial and total.
   */
  template <BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code,
          provided_buffer)) ReadToken
      = boost::asio::default_completion_token_t<executor_type>>
  auto async_receive_provided(buffer_ring& ring,
      ReadToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return boost::asio::async_initiate<ReadToken,
        void(boost::system::error_code, provided_buffer)>(
        initiate_async_receive_provided(this), token, ring.state());
  }

  /// Extension: receives the next chunk of the stream through this
  /// socket's multishot receive (IORING_RECV_MULTISHOT, Linux 6.0), into a
  /// buffer the kernel picks from ring.
  /**
   * The first call arms one multishot receive for the socket; it stays
   * armed, and data that arrives while no call is pending waits in the
   * socket, in order, in buffers of the ring, for the next call, which then
   * completes without an SQE or a system call. Each call's handler runs
   * exactly once. Every call must name the ring of the first (until
   * cancel() or close()).
   *
   * @par Completion Signature
   * @code void(boost::system::error_code, asio_uring::provided_buffer) @endcode
   * The handler is never invoked from within this function.
   *
   * @par Errors
   * error::eof (peer closed; later calls get it again),
   * error::bad_descriptor, error::invalid_argument (an empty ring, another
   * context's ring, or not the first call's ring),
   * error::operation_not_supported (kernel older than 6.0),
   * error::operation_aborted, and receive's own errors (connection_reset,
   * ...). An error ends the kernel's multishot; the next call re-arms.
   *
   * @par Running out of buffers
   * When every buffer of the ring is out, the kernel ends the multishot
   * with ENOBUFS and consumes nothing; this is not reported. With no call
   * pending, the next call re-arms. A pending call waits: the request is
   * parked on the ring and re-armed when a buffer is given back (so a
   * program that holds every buffer while it waits, waits forever).
   *
   * @par Cancellation and lifetime
   * cancel(), close(), release(), move-assignment and the destructor cancel
   * the multishot receive, complete pending calls with
   * error::operation_aborted and give queued buffers back to the ring (the
   * data in them is dropped). Per-operation cancellation (terminal,
   * partial, total) aborts that call only. An armed multishot receive with
   * no call pending is not outstanding work. The ring may be destroyed
   * while it is armed (see buffer_ring).
   */
  template <BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code,
          provided_buffer)) ReadToken
      = boost::asio::default_completion_token_t<executor_type>>
  auto async_receive_multishot(buffer_ring& ring,
      ReadToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return boost::asio::async_initiate<ReadToken,
        void(boost::system::error_code, provided_buffer)>(
        initiate_async_receive_multishot(this), token, ring.state());
  }

  /// Extension: chunks received by the multishot receive and not yet
  /// claimed by async_receive_multishot.
  std::size_t multishot_queued() const
  {
    detail::multishot_state* st = this->impl_.multishot_state_ptr();
    return st ? st->queued() : 0;
  }

private:
  class initiate_async_receive_multishot
  {
  public:
    using executor_type = Executor;

    explicit initiate_async_receive_multishot(basic_stream_socket* self)
      : self_(self)
    {
    }

    const executor_type& get_executor() const noexcept
    {
      return self_->get_executor();
    }

    template <typename ReadHandler>
    void operator()(ReadHandler&& handler,
        const std::shared_ptr<detail::buffer_ring_state>& ring) const
    {
      auto& impl = self_->impl_;
      detail::scheduler& s = impl.get_scheduler();
      detail::recv_multishot_completion completion{ring};
      // Only receives use a socket's multishot state.
      auto* current = static_cast<detail::recv_multishot_state*>(
          impl.multishot_state_ptr());
      int immediate = 0;
      if (!impl.is_open())
        immediate = -EBADF;
      else if (!ring || &ring->get_scheduler() != &s
          || (current && current->ring() != ring))
        immediate = -EINVAL;
      else if (!s.ring().supports_multishot_recv())
        immediate = -EOPNOTSUPP;
      if (immediate != 0)
        detail::start_multishot_waiter(s, nullptr, immediate,
            static_cast<ReadHandler&&>(handler), impl.get_executor(),
            std::move(completion));
      else
        detail::start_multishot_waiter(s,
            impl.template multishot<detail::recv_multishot_state>(ring), 0,
            static_cast<ReadHandler&&>(handler), impl.get_executor(),
            std::move(completion));
    }

  private:
    basic_stream_socket* self_;
  };

  class initiate_async_receive_provided
  {
  public:
    using executor_type = Executor;

    explicit initiate_async_receive_provided(basic_stream_socket* self)
      : self_(self)
    {
    }

    const executor_type& get_executor() const noexcept
    {
      return self_->get_executor();
    }

    template <typename ReadHandler>
    void operator()(ReadHandler&& handler,
        const std::shared_ptr<detail::buffer_ring_state>& ring) const
    {
      auto& impl = self_->impl_;
      int immediate = detail::no_immediate_result;
      if (!impl.is_open())
        immediate = -EBADF;
      else if (!ring || &ring->get_scheduler() != &impl.get_scheduler())
        immediate = -EINVAL;
      detail::start_or_post<detail::recv_provided_op_base>(impl, immediate,
          static_cast<ReadHandler&&>(handler), impl.fd(),
          immediate == detail::no_immediate_result ? ring : nullptr, 0);
    }

  private:
    basic_stream_socket* self_;
  };

  class initiate_async_send
  {
  public:
    using executor_type = Executor;

    explicit initiate_async_send(basic_stream_socket* self) : self_(self) {}

    const executor_type& get_executor() const noexcept
    {
      return self_->get_executor();
    }

    template <typename WriteHandler, typename ConstBufferSequence>
    void operator()(WriteHandler&& handler, const ConstBufferSequence& buffers,
        message_flags flags) const
    {
      // null_buffers: a wait until writable.
      detail::start_transfer<detail::send_op_base<ConstBufferSequence>>(
          self_->impl_, POLLOUT, static_cast<WriteHandler&&>(handler), buffers,
          static_cast<int>(flags), true);
    }

  private:
    basic_stream_socket* self_;
  };

  class initiate_async_receive
  {
  public:
    using executor_type = Executor;

    explicit initiate_async_receive(basic_stream_socket* self) : self_(self) {}

    const executor_type& get_executor() const noexcept
    {
      return self_->get_executor();
    }

    template <typename ReadHandler, typename MutableBufferSequence>
    void operator()(ReadHandler&& handler,
        const MutableBufferSequence& buffers, message_flags flags) const
    {
      // null_buffers: a wait until readable, or until urgent data is there
      // with message_out_of_band (as Boost.Asio's reactor).
      const unsigned null_events =
          (flags & boost::asio::socket_base::message_out_of_band) ? POLLPRI
                                                                  : POLLIN;
      detail::start_transfer<detail::recv_op_base<MutableBufferSequence>>(
          self_->impl_, null_events, static_cast<ReadHandler&&>(handler),
          buffers, static_cast<int>(flags), true);
    }

  private:
    basic_stream_socket* self_;
  };
};

} // namespace asio_uring
