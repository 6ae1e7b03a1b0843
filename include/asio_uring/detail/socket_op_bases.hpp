// Handler-free ring operations for sockets and stream descriptors: each
// prepares its SQE and interprets its CQE (see file_ops.hpp for the shape
// uring_handler_op expects). One type per opcode family.
#pragma once

#include <asio_uring/detail/core/ring.hpp>
#include <asio_uring/detail/file_ops.hpp>
#include <asio_uring/detail/retrying_op.hpp>
#include <asio_uring/detail/iovecs.hpp>
#include <asio_uring/detail/operation.hpp>
#include <asio_uring/detail/readiness_poll.hpp>
#include <asio_uring/detail/socket_ops.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <tuple>
#include <type_traits>
#include <unistd.h>
#include <utility>

namespace asio_uring::detail {

// Interprets a transfer's result: 0 bytes read from a stream into non-empty
// buffers is end of stream.
inline std::tuple<boost::system::error_code, std::size_t> transfer_result(
    int result, bool reading, bool stream, std::size_t total) noexcept
{
  if (result < 0)
    return {errno_to_error(-result), 0};
  if (reading && stream && result == 0 && total != 0)
    return {boost::asio::error::eof, 0};
  return {boost::system::error_code(), static_cast<std::size_t>(result)};
}

// Points msg at count iovecs, and at an address when name is given.
inline void set_message(::msghdr& msg, const ::iovec* iov, std::size_t count,
    void* name = nullptr, unsigned namelen = 0) noexcept
{
  msg = ::msghdr{};
  msg.msg_name = name;
  msg.msg_namelen = namelen;
  msg.msg_iov = const_cast<::iovec*>(iov);
  msg.msg_iovlen = count;
}

// IORING_OP_RECV for one buffer, IORING_OP_RECVMSG for a sequence.
// Lifetime: the iovecs and the msghdr live in this op; the memory they
// point at is the caller's until the handler runs (Asio's buffer contract).
template <typename MutableBufferSequence>
class recv_op_base : public retrying_op
{
public:
  recv_op_base(func_type complete, int fd, const MutableBufferSequence& buffers,
      int flags, bool stream)
    : retrying_op(complete, &recv_op_base::do_prepare, fd, POLLIN),
      bufs_(buffers), flags_(flags), stream_(stream)
  {
  }

  static void do_prepare(uring_op* base, io_uring_sqe* sqe)
  {
    recv_op_base* o = static_cast<recv_op_base*>(base);
    if (o->prepare_poll(sqe))
      return;
    if (o->bufs_.count() <= 1)
      core::prep_recv(sqe, o->fd_,
          o->bufs_.count() ? o->bufs_.data()[0].iov_base : nullptr,
          o->bufs_.count() ? static_cast<unsigned>(o->bufs_.data()[0].iov_len) : 0,
          o->flags_, o->user_data());
    else
    {
      set_message(o->msg_, o->bufs_.data(), o->bufs_.count());
      core::prep_recvmsg(sqe, o->fd_, &o->msg_,
          static_cast<unsigned>(o->flags_), o->user_data());
    }
  }

  bool should_retry() noexcept { return retry_or_poll(); }

  std::tuple<boost::system::error_code, std::size_t> completion_args()
  {
    return transfer_result(result_, true, stream_, bufs_.total_size());
  }

private:
  iovecs<boost::asio::mutable_buffer, MutableBufferSequence> bufs_;
  ::msghdr msg_{};
  int flags_;
  bool stream_;
};

// IORING_OP_SEND / SENDMSG, always with MSG_NOSIGNAL: a reset peer is
// EPIPE for the handler, never a SIGPIPE for the process.
template <typename ConstBufferSequence>
class send_op_base : public retrying_op
{
public:
  send_op_base(func_type complete, int fd, const ConstBufferSequence& buffers,
      int flags, bool stream)
    : retrying_op(complete, &send_op_base::do_prepare, fd, POLLOUT),
      bufs_(buffers), flags_(flags | MSG_NOSIGNAL)
  {
    (void)stream;
  }

  static void do_prepare(uring_op* base, io_uring_sqe* sqe)
  {
    send_op_base* o = static_cast<send_op_base*>(base);
    if (o->prepare_poll(sqe))
      return;
    if (o->bufs_.count() <= 1)
      core::prep_send(sqe, o->fd_,
          o->bufs_.count() ? o->bufs_.data()[0].iov_base : nullptr,
          o->bufs_.count() ? static_cast<unsigned>(o->bufs_.data()[0].iov_len) : 0,
          o->flags_, o->user_data());
    else
    {
      set_message(o->msg_, o->bufs_.data(), o->bufs_.count());
      core::prep_sendmsg(sqe, o->fd_, &o->msg_,
          static_cast<unsigned>(o->flags_), o->user_data());
    }
  }

  bool should_retry() noexcept { return retry_or_poll(); }

  std::tuple<boost::system::error_code, std::size_t> completion_args()
  {
    return transfer_result(result_, false, true, bufs_.total_size());
  }

private:
  iovecs<boost::asio::const_buffer, ConstBufferSequence> bufs_;
  ::msghdr msg_{};
  int flags_;
};

// IORING_OP_RECVMSG with the sender's address: receive_from on a datagram
// socket. Lifetime: the msghdr, iovecs and address buffer live in this op;
// the buffers and *sender are the caller's until the handler runs. A
// datagram of 0 bytes is a datagram, not the end of a stream.
template <typename MutableBufferSequence, typename Endpoint>
class recvfrom_op_base : public retrying_op
{
public:
  recvfrom_op_base(func_type complete, int fd,
      const MutableBufferSequence& buffers, Endpoint& sender, int flags)
    : retrying_op(complete, &recvfrom_op_base::do_prepare, fd, POLLIN),
      bufs_(buffers), sender_(sender), flags_(flags)
  {
  }

  static void do_prepare(uring_op* base, io_uring_sqe* sqe)
  {
    recvfrom_op_base* o = static_cast<recvfrom_op_base*>(base);
    if (o->prepare_poll(sqe))
      return;
    set_message(o->msg_, o->bufs_.data(), o->bufs_.count(), &o->addr_,
        sizeof(o->addr_));
    core::prep_recvmsg(sqe, o->fd_, &o->msg_,
        static_cast<unsigned>(o->flags_), o->user_data());
  }

  bool should_retry() noexcept { return retry_or_poll(); }

  std::tuple<boost::system::error_code, std::size_t> completion_args()
  {
    if (result_ >= 0)
    {
      std::size_t n = msg_.msg_namelen <= sender_.capacity()
          ? msg_.msg_namelen : sender_.capacity();
      std::memcpy(sender_.data(), &addr_, n);
      sender_.resize(n);
    }
    return transfer_result(result_, true, false, bufs_.total_size());
  }

private:
  iovecs<boost::asio::mutable_buffer, MutableBufferSequence> bufs_;
  Endpoint& sender_;
  ::msghdr msg_{};
  ::sockaddr_storage addr_{};
  int flags_;
};

// IORING_OP_SENDMSG to an address: send_to on a datagram socket, with
// MSG_NOSIGNAL. Lifetime: the destination is copied into this op.
template <typename ConstBufferSequence>
class sendto_op_base : public retrying_op
{
public:
  sendto_op_base(func_type complete, int fd,
      const ConstBufferSequence& buffers, const void* addr, std::size_t len,
      int flags)
    : retrying_op(complete, &sendto_op_base::do_prepare, fd, POLLOUT),
      bufs_(buffers),
      len_(len <= sizeof(addr_) ? static_cast<unsigned>(len) : 0),
      flags_(flags | MSG_NOSIGNAL)
  {
    std::memcpy(&addr_, addr, len_);
  }

  static void do_prepare(uring_op* base, io_uring_sqe* sqe)
  {
    sendto_op_base* o = static_cast<sendto_op_base*>(base);
    if (o->prepare_poll(sqe))
      return;
    set_message(o->msg_, o->bufs_.data(), o->bufs_.count(), &o->addr_,
        o->len_);
    core::prep_sendmsg(sqe, o->fd_, &o->msg_,
        static_cast<unsigned>(o->flags_), o->user_data());
  }

  bool should_retry() noexcept { return retry_or_poll(); }

  std::tuple<boost::system::error_code, std::size_t> completion_args()
  {
    return transfer_result(result_, false, false, bufs_.total_size());
  }

private:
  iovecs<boost::asio::const_buffer, ConstBufferSequence> bufs_;
  ::msghdr msg_{};
  ::sockaddr_storage addr_;
  unsigned len_;
  int flags_;
};

// IORING_OP_READ / READV at the descriptor's own position (pipes,
// terminals, character devices). A read of 0 bytes is end of stream.
template <typename MutableBufferSequence>
class descriptor_read_op_base : public retrying_op
{
public:
  descriptor_read_op_base(func_type complete, int fd,
      const MutableBufferSequence& buffers)
    : retrying_op(complete, &descriptor_read_op_base::do_prepare, fd,
          POLLIN),
      bufs_(buffers)
  {
  }

  static void do_prepare(uring_op* base, io_uring_sqe* sqe)
  {
    descriptor_read_op_base* o = static_cast<descriptor_read_op_base*>(base);
    if (o->prepare_poll(sqe))
      return;
    if (o->bufs_.count() <= 1)
      core::prep_read(sqe, o->fd_,
          o->bufs_.count() ? o->bufs_.data()[0].iov_base : nullptr,
          o->bufs_.count() ? static_cast<unsigned>(o->bufs_.data()[0].iov_len) : 0,
          current_position, o->user_data());
    else
      core::prep_readv(sqe, o->fd_, o->bufs_.data(), o->bufs_.count(),
          current_position, o->user_data());
  }

  bool should_retry() noexcept { return retry_or_poll(); }

  std::tuple<boost::system::error_code, std::size_t> completion_args()
  {
    return transfer_result(result_, true, true, bufs_.total_size());
  }

private:
  iovecs<boost::asio::mutable_buffer, MutableBufferSequence> bufs_;
};

// IORING_OP_WRITE / WRITEV at the descriptor's own position.
template <typename ConstBufferSequence>
class descriptor_write_op_base : public retrying_op
{
public:
  descriptor_write_op_base(func_type complete, int fd,
      const ConstBufferSequence& buffers)
    : retrying_op(complete, &descriptor_write_op_base::do_prepare, fd,
          POLLOUT),
      bufs_(buffers)
  {
  }

  static void do_prepare(uring_op* base, io_uring_sqe* sqe)
  {
    descriptor_write_op_base* o = static_cast<descriptor_write_op_base*>(base);
    if (o->prepare_poll(sqe))
      return;
    if (o->bufs_.count() <= 1)
      core::prep_write(sqe, o->fd_,
          o->bufs_.count() ? o->bufs_.data()[0].iov_base : nullptr,
          o->bufs_.count() ? static_cast<unsigned>(o->bufs_.data()[0].iov_len) : 0,
          current_position, o->user_data());
    else
      core::prep_writev(sqe, o->fd_, o->bufs_.data(), o->bufs_.count(),
          current_position, o->user_data());
  }

  bool should_retry() noexcept { return retry_or_poll(); }

  std::tuple<boost::system::error_code, std::size_t> completion_args()
  {
    return transfer_result(result_, false, true, bufs_.total_size());
  }

private:
  iovecs<boost::asio::const_buffer, ConstBufferSequence> bufs_;
};

// IORING_OP_POLL_ADD: async_wait. The wanted event, POLLERR or POLLHUP
// completes the wait successfully (as Asio's reactor); POLLRDHUP alone does
// not (see readiness_poll).
class poll_op_base : public uring_op
{
public:
  poll_op_base(func_type complete, int fd, unsigned poll_mask)
    : uring_op(complete, &poll_op_base::do_prepare, fd), poll_(poll_mask)
  {
  }

  static void do_prepare(uring_op* base, io_uring_sqe* sqe)
  {
    poll_op_base* o = static_cast<poll_op_base*>(base);
    o->poll_.prepare<poll_op_base, &poll_op_base::poll_>(*o, sqe);
  }

  bool should_retry() noexcept
  {
    return poll_.settle(*this, result_) || result_ == -EINTR;
  }

  std::tuple<boost::system::error_code> completion_args()
  {
    if (result_ < 0)
      return {errno_to_error(-result_)};
    return {boost::system::error_code()};
  }

private:
  readiness_poll poll_;
};

// A read or write of null_buffers (Boost.Asio's reactor-style readiness
// wait): the poll of async_wait, completing as a transfer of 0 bytes.
template <typename Buffers>
inline constexpr bool is_null_buffers =
    std::is_same_v<Buffers, boost::asio::null_buffers>;

class null_buffers_op_base : public poll_op_base
{
public:
  using poll_op_base::poll_op_base;

  std::tuple<boost::system::error_code, std::size_t> completion_args()
  {
    return {std::get<0>(poll_op_base::completion_args()), 0};
  }
};

// IORING_OP_CONNECT. Lifetime: the peer address lives in this op. On a
// non-blocking socket the kernel may answer EINPROGRESS: the op then polls
// for POLLOUT and reads the outcome from SO_ERROR.
class connect_op_base : public uring_op
{
public:
  connect_op_base(func_type complete, int fd, const void* addr,
      std::size_t len)
    : uring_op(complete, &connect_op_base::do_prepare, fd),
      len_(len <= sizeof(addr_) ? static_cast<unsigned>(len) : 0)
  {
    std::memcpy(&addr_, addr, len_);
  }

  static void do_prepare(uring_op* base, io_uring_sqe* sqe)
  {
    connect_op_base* o = static_cast<connect_op_base*>(base);
    if (o->polling_)
      core::prep_poll_add(sqe, o->fd_, POLLOUT, o->user_data());
    else
      core::prep_connect(sqe, o->fd_,
          reinterpret_cast<const ::sockaddr*>(&o->addr_), o->len_,
          o->user_data());
  }

  bool should_retry() noexcept
  {
    if (polling_)
    {
      polling_ = false;
      if (result_ >= 0)
        result_ = -socket_ops::socket_error(fd_).value();
      return false;
    }
    if (result_ == -EINPROGRESS || result_ == -EALREADY || result_ == -EAGAIN
        || result_ == -EINTR)
    {
      polling_ = true;
      return true;
    }
    return false;
  }

  std::tuple<boost::system::error_code> completion_args()
  {
    if (result_ < 0)
      return {errno_to_error(-result_)};
    return {boost::system::error_code()};
  }

private:
  ::sockaddr_storage addr_;
  unsigned len_;
  bool polling_ = false;
};

// IORING_OP_ACCEPT with SOCK_CLOEXEC. Lifetime: the peer address and its
// length live in this op. The accepted descriptor belongs to the op until
// take_descriptor(); an op destroyed without completing (context shutdown)
// closes it, so no descriptor leaks.
class accept_op_common : public retrying_op
{
public:
  accept_op_common(func_type complete, int fd, bool enable_connection_aborted)
    : retrying_op(complete, &accept_op_common::do_prepare, fd, POLLIN),
      enable_connection_aborted_(enable_connection_aborted)
  {
    result_ = -ECANCELED;  // no descriptor until a CQE says otherwise
  }

  ~accept_op_common()
  {
    if (result_ >= 0)
      ::close(result_);
  }

  static void do_prepare(uring_op* base, io_uring_sqe* sqe)
  {
    accept_op_common* o = static_cast<accept_op_common*>(base);
    if (o->prepare_poll(sqe))
      return;
    o->addrlen_ = sizeof(o->addr_);
    core::prep_accept(sqe, o->fd_, reinterpret_cast<::sockaddr*>(&o->addr_),
        &o->addrlen_, SOCK_CLOEXEC, o->user_data());
  }

  bool should_retry() noexcept
  {
    if (!polling_ && !enable_connection_aborted_
        && (result_ == -ECONNABORTED || result_ == -EPROTO))
      return true;
    return retry_or_poll();
  }

protected:
  // The accepted descriptor (ownership passes to the caller), or -1.
  int take_descriptor() noexcept
  {
    return result_ >= 0 ? std::exchange(result_, -1) : -1;
  }

  // Copies the peer address into endpoint (a Boost.Asio endpoint).
  template <typename Endpoint>
  void store_peer(Endpoint& endpoint) const
  {
    std::size_t n = addrlen_ <= endpoint.capacity() ? addrlen_ : endpoint.capacity();
    std::memcpy(endpoint.data(), &addr_, n);
    endpoint.resize(n);
  }

  // The error to report, if any.
  boost::system::error_code error() const noexcept
  {
    return result_ < 0 ? errno_to_error(-result_) : boost::system::error_code();
  }

private:
  ::sockaddr_storage addr_{};
  unsigned addrlen_ = sizeof(addr_);
  bool enable_connection_aborted_;
};

// accept(peer): the descriptor goes into an existing (closed) socket, and
// the peer's address into *endpoint when given. Socket provides
// a static accepted(Socket&, protocol, fd) that adopts the descriptor.
template <typename Socket, typename Endpoint>
class accept_op_base : public accept_op_common
{
public:
  using protocol_type = typename Socket::protocol_type;

  accept_op_base(func_type complete, int fd, bool enable_connection_aborted,
      const protocol_type& protocol, Socket& peer, Endpoint* endpoint,
      bool peer_was_open)
    : accept_op_common(complete, fd, enable_connection_aborted),
      protocol_(protocol), peer_(peer), endpoint_(endpoint),
      peer_was_open_(peer_was_open)
  {
  }

  std::tuple<boost::system::error_code> completion_args()
  {
    if (peer_was_open_)
      return {boost::asio::error::already_open};
    boost::system::error_code ec = error();
    if (!ec)
    {
      if (endpoint_)
        store_peer(*endpoint_);
      Socket::accepted(peer_, protocol_, take_descriptor());
    }
    return {ec};
  }

private:
  protocol_type protocol_;
  Socket& peer_;          // Lifetime: the caller keeps it until the handler
  Endpoint* endpoint_;    // ditto; may be null
  bool peer_was_open_;    // completes with error::already_open, untouched
};

// accept() returning a new socket on executor ex_ (the move-accept forms).
template <typename Socket, typename Endpoint>
class move_accept_op_base : public accept_op_common
{
public:
  using socket_executor = typename Socket::executor_type;
  using protocol_type = typename Socket::protocol_type;

  move_accept_op_base(func_type complete, int fd,
      bool enable_connection_aborted, const protocol_type& protocol,
      const socket_executor& ex, Endpoint* endpoint)
    : accept_op_common(complete, fd, enable_connection_aborted),
      protocol_(protocol), ex_(ex), endpoint_(endpoint)
  {
  }

  std::tuple<boost::system::error_code, Socket> completion_args()
  {
    boost::system::error_code ec = error();
    Socket peer(ex_);
    if (!ec)
    {
      if (endpoint_)
        store_peer(*endpoint_);
      Socket::accepted(peer, protocol_, take_descriptor());
    }
    return {ec, std::move(peer)};
  }

private:
  protocol_type protocol_;
  socket_executor ex_;
  Endpoint* endpoint_;    // Lifetime: the caller's, until the handler; may be null
};

} // namespace asio_uring::detail
