//
// send_file.hpp
// ~~~~~~~~~~~~~
//
// File-to-socket transfer without a user-space copy: IORING_OP_SPLICE
// through a pipe. An extension: Boost.Asio has no equivalent.
//
#pragma once

#include <asio_uring/basic_random_access_file.hpp>
#include <asio_uring/basic_stream_socket.hpp>
#include <asio_uring/detail/io_object.hpp>
#include <asio_uring/detail/splice_ops.hpp>
#include <asio_uring/detail/uring_handler_op.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <fcntl.h>
#include <limits>
#include <sys/socket.h>
#include <utility>

namespace asio_uring {
namespace detail {

// One IORING_OP_SPLICE as an asynchronous operation on sched, with io_ex
// as its I/O executor. immediate_result (0 or -errno) completes it without
// the kernel, never inside this call.
template <typename IoExecutor, typename Handler>
void async_splice(scheduler& sched, const IoExecutor& io_ex,
    int immediate_result, int fd_in, std::int64_t off_in, int fd_out,
    std::size_t len, Handler&& handler)
{
  if (immediate_result <= 0)
    post_uring_op<splice_op_base>(sched, immediate_result,
        static_cast<Handler&&>(handler), io_ex, fd_in, off_in, fd_out, len);
  else
    start_uring_op<splice_op_base>(sched, static_cast<Handler&&>(handler),
        io_ex, fd_in, off_in, fd_out, len);
}

// The composed transfer: file -> pipe, then pipe -> socket until the pipe
// is empty, repeated until size bytes went out. One splice in flight at a
// time; each moves up to the pipe's capacity (1 MiB where allowed).
//
// The socket and the file are re-read before every step: once either was
// closed (or closed and reopened) the transfer ends with
// operation_aborted, and never touches a descriptor number that may now
// belong to someone else.
template <typename Socket, typename File>
class send_file_op
{
public:
  using io_executor = typename Socket::executor_type;

  send_file_op(scheduler& sched, Socket& socket, File& file,
      std::uint64_t offset, std::size_t size, int start_error)
    : sched_(&sched), io_ex_(socket.get_executor()), socket_(&socket),
      file_(&file), socket_fd_(socket.is_open() ? socket.native_handle() : -1),
      file_fd_(file.is_open() ? file.native_handle() : -1), offset_(offset),
      remaining_(size), start_error_(start_error)
  {
  }

  template <typename Self>
  void operator()(Self& self, boost::system::error_code ec = {},
      std::size_t n = 0)
  {
    switch (state_)
    {
    case state::starting:
      // Bytes sent are reported, so partial cancellation is well defined.
      self.reset_cancellation_state(
          boost::asio::enable_partial_cancellation());
      if (start_error_ == 0 && remaining_ != 0)
        start_error_ = pipe_.open();
      if (start_error_ != 0 || remaining_ == 0)
      {
        // Completes through the scheduler, never inside the initiation.
        state_ = state::finishing;
        async_splice(*sched_, io_ex_, start_error_, -1, -1, -1, 0,
            std::move(self));
        return;
      }
      fill(self);
      return;

    case state::filling:
      if (ec)
        return finish(self, ec);
      if (n == 0)  // the file ended before size bytes
        return finish(self, boost::asio::error::eof);
      offset_ += n;
      remaining_ -= n;
      in_pipe_ = n;
      drain(self);
      return;

    case state::draining:
      if (ec)
        return finish(self, ec);
      if (n == 0)
        return finish(self, boost::asio::error::broken_pipe);
      sent_ += n;
      in_pipe_ -= n;
      if (in_pipe_ != 0 && (!objects_unchanged() || !socket_non_blocking()))
      {
        // A blocking splice to a socket returns early only when the kernel
        // interrupts it (cancellation: per operation, cancel() or close())
        // or when the socket failed after sending part of it.
        return finish(self, interruption_cause());
      }
      if (in_pipe_ != 0)
        drain(self);  // a non-blocking socket took part of it
      else if (remaining_ != 0)
        fill(self);
      else
        finish(self, ec);
      return;

    case state::finishing:
      finish(self, ec);
      return;
    }
  }

private:
  enum class state { starting, filling, draining, finishing };

  // Both objects still hold the descriptors the transfer started with.
  bool objects_unchanged() const
  {
    return socket_->is_open() && socket_->native_handle() == socket_fd_
        && file_->is_open() && file_->native_handle() == file_fd_;
  }

  // The socket's descriptor has O_NONBLOCK (non_blocking(true) or a
  // descriptor assigned that way): its splices may return short.
  bool socket_non_blocking() const
  {
    const int flags = ::fcntl(socket_fd_, F_GETFL);
    return flags >= 0 && (flags & O_NONBLOCK) != 0;
  }

  // Why a splice to the socket stopped short: a pending socket error, or
  // else an interruption by cancellation.
  boost::system::error_code interruption_cause() const
  {
    if (objects_unchanged())
    {
      int err = 0;
      socklen_t len = sizeof(err);
      if (::getsockopt(socket_fd_, SOL_SOCKET, SO_ERROR, &err, &len) == 0
          && err != 0)
        return errno_to_error(err);
    }
    return boost::asio::error::operation_aborted;
  }

  template <typename Self>
  void fill(Self& self)
  {
    state_ = state::filling;
    if (self.cancelled() != boost::asio::cancellation_type::none
        || !objects_unchanged())
      return finish(self, boost::asio::error::operation_aborted);
    const std::size_t len = std::min<std::size_t>(remaining_,
        pipe_.capacity());
    async_splice(*sched_, io_ex_, 1, file_fd_,
        static_cast<std::int64_t>(offset_), pipe_.write_end(), len,
        std::move(self));
  }

  template <typename Self>
  void drain(Self& self)
  {
    state_ = state::draining;
    if (self.cancelled() != boost::asio::cancellation_type::none
        || !objects_unchanged())
      return finish(self, boost::asio::error::operation_aborted);
    async_splice(*sched_, io_ex_, 1, pipe_.read_end(), -1, socket_fd_,
        in_pipe_, std::move(self));
  }

  template <typename Self>
  void finish(Self& self, boost::system::error_code ec)
  {
    // A splice interrupted by cancellation reports EINTR (the kernel
    // signals its worker) or ECANCELED: both are operation_aborted here.
    if (ec && self.cancelled() != boost::asio::cancellation_type::none)
      ec = boost::asio::error::operation_aborted;
    self.complete(ec, sent_);
  }

  scheduler* sched_;
  io_executor io_ex_;
  Socket* socket_;
  File* file_;
  int socket_fd_;
  int file_fd_;
  std::uint64_t offset_;
  std::size_t remaining_;
  std::size_t in_pipe_ = 0;
  std::size_t sent_ = 0;
  int start_error_;
  splice_pipe pipe_;
  state state_ = state::starting;
};

} // namespace detail

/// Sends size bytes of file, from offset on, to socket, without copying
/// them through user space (IORING_OP_SPLICE through a pipe).
/**
 * An extension: Boost.Asio has no equivalent. The completion signature is
 * void(boost::system::error_code, std::size_t bytes_sent), like
 * boost::asio::async_write's: the handler runs once every byte was handed
 * to the socket, or with the first error and the bytes sent before it.
 *
 * - error::eof: the file ended before size bytes (everything up to its end
 *   was sent).
 * - error::bad_descriptor: the socket or the file is not open.
 * - error::operation_aborted: per-operation cancellation (terminal or
 *   partial, as for boost::asio::async_write; total is not supported), or
 *   socket.cancel()/close() while the data goes to the socket.
 * - Errors of the socket (broken_pipe, connection_reset) and of the file
 *   (for example a descriptor opened write-only) as system error codes.
 * - size 0 completes with 0 without touching the kernel.
 *
 * The kernel runs splices from its own async workers, since a splice cannot
 * be issued non-blocking; there is no user-space thread. Each transfer owns
 * a pipe (two descriptors) until it completes: EMFILE surfaces as
 * error::no_descriptors. The file and the socket must outlive the
 * operation, as for any Asio operation. Only one send (this or
 * async_write_some) should be outstanding on a stream socket at a time.
 */
template <typename Protocol, typename SocketExecutor, typename FileExecutor,
    typename WriteToken
    = boost::asio::default_completion_token_t<SocketExecutor>>
auto async_send_file(basic_stream_socket<Protocol, SocketExecutor>& socket,
    basic_random_access_file<FileExecutor>& file, std::uint64_t offset,
    std::size_t size,
    WriteToken&& token
    = boost::asio::default_completion_token_t<SocketExecutor>())
{
  detail::scheduler& sched = detail::context_of(socket.get_executor()).impl();
  int start_error = 0;
  if (!socket.is_open() || !file.is_open())
    start_error = -EBADF;
  else if (offset > static_cast<std::uint64_t>(
               std::numeric_limits<std::int64_t>::max()))
    start_error = -EINVAL;
  return boost::asio::async_compose<WriteToken,
      void(boost::system::error_code, std::size_t)>(
      detail::send_file_op<basic_stream_socket<Protocol, SocketExecutor>,
          basic_random_access_file<FileExecutor>>(sched, socket, file,
          offset, size, start_error),
      token, socket);
}

} // namespace asio_uring
