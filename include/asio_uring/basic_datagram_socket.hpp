//
// basic_datagram_socket.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~
//
// A datagram-oriented socket (Boost.Asio's basic_datagram_socket) whose
// asynchronous sends and receives go through the ring.
//
#pragma once

#include <asio_uring/basic_socket.hpp>

#include <boost/asio/buffer.hpp>

#include <cerrno>
#include <cstddef>
#include <type_traits>
#include <utility>

namespace asio_uring {

/// Provides datagram-oriented socket functionality (Boost.Asio's
/// basic_datagram_socket), with every asynchronous send and receive on the
/// ring (IORING_OP_SEND/RECV, or SENDMSG/RECVMSG for a buffer sequence or
/// an address).
/**
 * As in Boost.Asio: each receive takes one datagram (a datagram longer than
 * the buffers is truncated to them, and the handler gets the bytes
 * copied); zero-size buffers go to the kernel too (an empty datagram is
 * sent, and a receive into them consumes a datagram); a receive of 0 bytes
 * is an empty datagram, never error::eof. Sends use MSG_NOSIGNAL.
 * async_receive_from with null_buffers waits until a datagram is there and
 * leaves the sender endpoint default-constructed.
 *
 * @par Thread Safety
 * @e Distinct @e objects: Safe.@n
 * @e Shared @e objects: Unsafe.
 */
template <typename Protocol, typename Executor = boost::asio::any_io_executor>
class basic_datagram_socket : public basic_socket<Protocol, Executor>
{
  using base = basic_socket<Protocol, Executor>;

public:
  using executor_type = Executor;

  /// Rebinds the socket type to another executor.
  template <typename Executor1>
  struct rebind_executor
  {
    using other = basic_datagram_socket<Protocol, Executor1>;
  };

  using native_handle_type = typename base::native_handle_type;
  using protocol_type = Protocol;
  using endpoint_type = typename Protocol::endpoint;
  using message_flags = typename base::message_flags;

  using base::base;

  /// Constructs a socket without opening it.
  explicit basic_datagram_socket(const executor_type& ex) : base(ex) {}

  /// Move-constructs: other is left as if constructed with its executor.
  basic_datagram_socket(basic_datagram_socket&& other) noexcept = default;

  /// Move-assigns: closes this socket first (aborting its operations).
  basic_datagram_socket& operator=(basic_datagram_socket&& other) = default;

  /// Move-constructs from a socket of another protocol or executor type.
  template <typename Protocol1, typename Executor1>
  basic_datagram_socket(basic_datagram_socket<Protocol1, Executor1>&& other,
      std::enable_if_t<std::is_convertible_v<Protocol1, Protocol>
          && std::is_convertible_v<Executor1, Executor>>* = nullptr)
    : base(std::move(other))
  {
  }

  /// Move-assigns from a socket of another protocol or executor type.
  template <typename Protocol1, typename Executor1>
  std::enable_if_t<std::is_convertible_v<Protocol1, Protocol>
          && std::is_convertible_v<Executor1, Executor>,
      basic_datagram_socket&>
  operator=(basic_datagram_socket<Protocol1, Executor1>&& other)
  {
    base::operator=(std::move(other));
    return *this;
  }

  /// Destroys the socket, aborting its asynchronous operations.
  ~basic_datagram_socket() = default;

  // ---- send (connected socket) ----

  /// Sends a datagram on a connected socket. Throws on failure.
  template <typename ConstBufferSequence>
  std::size_t send(const ConstBufferSequence& buffers)
  {
    return send(buffers, 0);
  }

  /// Sends a datagram with flags. Throws on failure.
  template <typename ConstBufferSequence>
  std::size_t send(const ConstBufferSequence& buffers, message_flags flags)
  {
    boost::system::error_code ec;
    std::size_t n = send(buffers, flags, ec);
    boost::asio::detail::throw_error(ec, "send");
    return n;
  }

  /// Sends a datagram with flags.
  template <typename ConstBufferSequence>
  std::size_t send(const ConstBufferSequence& buffers, message_flags flags,
      boost::system::error_code& ec)
  {
    return this->sync_send(buffers, flags, nullptr, 0, ec);
  }

  /// Starts an asynchronous send on a connected socket.
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

  // ---- send_to ----

  /// Sends a datagram to destination. Throws on failure.
  template <typename ConstBufferSequence>
  std::size_t send_to(const ConstBufferSequence& buffers,
      const endpoint_type& destination)
  {
    return send_to(buffers, destination, 0);
  }

  /// Sends a datagram to destination with flags. Throws on failure.
  template <typename ConstBufferSequence>
  std::size_t send_to(const ConstBufferSequence& buffers,
      const endpoint_type& destination, message_flags flags)
  {
    boost::system::error_code ec;
    std::size_t n = send_to(buffers, destination, flags, ec);
    boost::asio::detail::throw_error(ec, "send_to");
    return n;
  }

  /// Sends a datagram to destination with flags.
  template <typename ConstBufferSequence>
  std::size_t send_to(const ConstBufferSequence& buffers,
      const endpoint_type& destination, message_flags flags,
      boost::system::error_code& ec)
  {
    return this->sync_send(buffers, flags, destination.data(),
        destination.size(), ec);
  }

  /// Starts an asynchronous send to destination (copied: it need not
  /// outlive the call).
  /**
   * @param buffers Kept alive by the caller until the handler is called.
   * @param token Completion signature void(boost::system::error_code,
   * std::size_t). The handler is never invoked from within this function.
   * Supports cancellation_type::terminal, partial and total.
   */
  template <typename ConstBufferSequence,
      BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code, std::size_t))
          WriteToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_send_to(const ConstBufferSequence& buffers,
      const endpoint_type& destination,
      WriteToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return async_send_to(buffers, destination, 0,
        static_cast<WriteToken&&>(token));
  }

  /// Starts an asynchronous send to destination with flags.
  template <typename ConstBufferSequence,
      BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code, std::size_t))
          WriteToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_send_to(const ConstBufferSequence& buffers,
      const endpoint_type& destination, message_flags flags,
      WriteToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return boost::asio::async_initiate<WriteToken,
        void(boost::system::error_code, std::size_t)>(
        initiate_async_send_to(this), token, buffers, destination, flags);
  }

  // ---- receive (connected socket) ----

  /// Receives a datagram on a connected socket. Throws on failure.
  template <typename MutableBufferSequence>
  std::size_t receive(const MutableBufferSequence& buffers)
  {
    return receive(buffers, 0);
  }

  /// Receives a datagram with flags. Throws on failure.
  template <typename MutableBufferSequence>
  std::size_t receive(const MutableBufferSequence& buffers,
      message_flags flags)
  {
    boost::system::error_code ec;
    std::size_t n = receive(buffers, flags, ec);
    boost::asio::detail::throw_error(ec, "receive");
    return n;
  }

  /// Receives a datagram with flags.
  template <typename MutableBufferSequence>
  std::size_t receive(const MutableBufferSequence& buffers,
      message_flags flags, boost::system::error_code& ec)
  {
    return this->sync_receive(buffers, flags, nullptr, ec);
  }

  /// Starts an asynchronous receive on a connected socket.
  /**
   * @param buffers Kept alive by the caller until the handler is called.
   * @param token Completion signature void(boost::system::error_code,
   * std::size_t). The handler is never invoked from within this function.
   * Supports cancellation_type::terminal, partial and total.
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

  // ---- receive_from ----

  /// Receives a datagram and its sender's endpoint. Throws on failure.
  template <typename MutableBufferSequence>
  std::size_t receive_from(const MutableBufferSequence& buffers,
      endpoint_type& sender_endpoint)
  {
    return receive_from(buffers, sender_endpoint, 0);
  }

  /// Receives a datagram and its sender's endpoint with flags. Throws on
  /// failure.
  template <typename MutableBufferSequence>
  std::size_t receive_from(const MutableBufferSequence& buffers,
      endpoint_type& sender_endpoint, message_flags flags)
  {
    boost::system::error_code ec;
    std::size_t n = receive_from(buffers, sender_endpoint, flags, ec);
    boost::asio::detail::throw_error(ec, "receive_from");
    return n;
  }

  /// Receives a datagram and its sender's endpoint with flags.
  template <typename MutableBufferSequence>
  std::size_t receive_from(const MutableBufferSequence& buffers,
      endpoint_type& sender_endpoint, message_flags flags,
      boost::system::error_code& ec)
  {
    return this->sync_receive(buffers, flags, &sender_endpoint, ec);
  }

  /// Starts an asynchronous receive of a datagram and its sender's endpoint.
  /**
   * @param buffers Kept alive by the caller until the handler is called.
   * @param sender_endpoint Set to the sender's endpoint when the datagram
   * arrives; kept alive by the caller until the handler is called.
   * @param token Completion signature void(boost::system::error_code,
   * std::size_t). The handler is never invoked from within this function.
   * Supports cancellation_type::terminal, partial and total.
   */
  template <typename MutableBufferSequence,
      BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code, std::size_t))
          ReadToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_receive_from(const MutableBufferSequence& buffers,
      endpoint_type& sender_endpoint,
      ReadToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return async_receive_from(buffers, sender_endpoint, 0,
        static_cast<ReadToken&&>(token));
  }

  /// Starts an asynchronous receive_from with flags.
  template <typename MutableBufferSequence,
      BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code, std::size_t))
          ReadToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_receive_from(const MutableBufferSequence& buffers,
      endpoint_type& sender_endpoint, message_flags flags,
      ReadToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return boost::asio::async_initiate<ReadToken,
        void(boost::system::error_code, std::size_t)>(
        initiate_async_receive_from(this), token, buffers, &sender_endpoint,
        flags);
  }

private:
  class initiate_async_send
  {
  public:
    using executor_type = Executor;

    explicit initiate_async_send(basic_datagram_socket* self) : self_(self) {}

    const executor_type& get_executor() const noexcept
    {
      return self_->get_executor();
    }

    template <typename WriteHandler, typename ConstBufferSequence>
    void operator()(WriteHandler&& handler, const ConstBufferSequence& buffers,
        message_flags flags) const
    {
      detail::start_transfer<detail::send_op_base<ConstBufferSequence>,
          false>(self_->impl_, POLLOUT, static_cast<WriteHandler&&>(handler),
          buffers, static_cast<int>(flags), false);
    }

  private:
    basic_datagram_socket* self_;
  };

  class initiate_async_send_to
  {
  public:
    using executor_type = Executor;

    explicit initiate_async_send_to(basic_datagram_socket* self)
      : self_(self)
    {
    }

    const executor_type& get_executor() const noexcept
    {
      return self_->get_executor();
    }

    template <typename WriteHandler, typename ConstBufferSequence>
    void operator()(WriteHandler&& handler, const ConstBufferSequence& buffers,
        const endpoint_type& destination, message_flags flags) const
    {
      if constexpr (detail::is_null_buffers<ConstBufferSequence>)
      {
        (void)destination;
        detail::start_transfer<void, false>(self_->impl_, POLLOUT,
            static_cast<WriteHandler&&>(handler), buffers);
      }
      else
        detail::start_transfer<
            detail::sendto_op_base<ConstBufferSequence>, false>(self_->impl_,
            POLLOUT, static_cast<WriteHandler&&>(handler), buffers,
            destination.data(), destination.size(), static_cast<int>(flags));
    }

  private:
    basic_datagram_socket* self_;
  };

  class initiate_async_receive
  {
  public:
    using executor_type = Executor;

    explicit initiate_async_receive(basic_datagram_socket* self)
      : self_(self)
    {
    }

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
      detail::start_transfer<
          detail::recv_op_base<MutableBufferSequence>, false>(self_->impl_,
          null_events, static_cast<ReadHandler&&>(handler), buffers,
          static_cast<int>(flags), false);
    }

  private:
    basic_datagram_socket* self_;
  };

  class initiate_async_receive_from
  {
  public:
    using executor_type = Executor;

    explicit initiate_async_receive_from(basic_datagram_socket* self)
      : self_(self)
    {
    }

    const executor_type& get_executor() const noexcept
    {
      return self_->get_executor();
    }

    template <typename ReadHandler, typename MutableBufferSequence>
    void operator()(ReadHandler&& handler,
        const MutableBufferSequence& buffers, endpoint_type* sender,
        message_flags flags) const
    {
      if constexpr (detail::is_null_buffers<MutableBufferSequence>)
      {
        // The sender cannot be known before the datagram is read.
        *sender = endpoint_type();
        detail::start_transfer<void, false>(self_->impl_,
            (flags & boost::asio::socket_base::message_out_of_band)
                ? POLLPRI : POLLIN,
            static_cast<ReadHandler&&>(handler), buffers);
      }
      else
        detail::start_transfer<
            detail::recvfrom_op_base<MutableBufferSequence, endpoint_type>,
            false>(self_->impl_, POLLIN,
            static_cast<ReadHandler&&>(handler), buffers, *sender,
            static_cast<int>(flags));
    }

  private:
    basic_datagram_socket* self_;
  };
};

} // namespace asio_uring
