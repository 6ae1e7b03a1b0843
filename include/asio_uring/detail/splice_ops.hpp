// IORING_OP_SPLICE as a handler-free ring operation (see file_ops.hpp for
// the shape uring_handler_op expects), and the pipe that a file-to-socket
// splice goes through.
#pragma once

#include <asio_uring/detail/core/ring.hpp>
#include <asio_uring/detail/file_ops.hpp>
#include <asio_uring/detail/operation.hpp>
#include <asio_uring/detail/retrying_op.hpp>

#include <boost/system/error_code.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <fcntl.h>
#include <poll.h>
#include <tuple>
#include <unistd.h>
#include <utility>

namespace asio_uring::detail {

// Moves up to len bytes from fd_in (at off_in; -1 for a pipe) to fd_out at
// its own position. fd_ is the output descriptor: the kernel matches
// IORING_ASYNC_CANCEL_FD against it, and the scheduler substitutes its
// fixed-file slot when it is registered. A non-blocking output answers
// -EAGAIN: the operation then polls it for POLLOUT and splices again.
// -EINTR (a cancelled splice) is delivered.
class splice_op_base : public retrying_op
{
public:
  splice_op_base(func_type complete, int fd_in, std::int64_t off_in,
      int fd_out, std::size_t len) noexcept
    : retrying_op(complete, &splice_op_base::do_prepare, fd_out, POLLOUT,
          false),
      fd_in_(fd_in), off_in_(off_in), len_(static_cast<unsigned>(len))
  {
    // io-wq resolves both descriptors when it runs the splice.
    late_fd_ = fd_in;
  }

  static void do_prepare(uring_op* base, io_uring_sqe* sqe)
  {
    splice_op_base* o = static_cast<splice_op_base*>(base);
    if (o->prepare_poll(sqe))
      return;
    core::prep_splice(sqe, o->fd_in_, o->off_in_, o->fd_, -1, o->len_, 0,
        o->user_data());
  }

  // Aims the operation at another splice between its starts (a transfer
  // reuses one operation per direction): clears the result and any poll
  // left due by an -EAGAIN that was not resubmitted.
  void rearm(int fd_in, std::int64_t off_in, int fd_out,
      std::size_t len) noexcept
  {
    fd_in_ = fd_in;
    late_fd_ = fd_in;
    off_in_ = off_in;
    fd_ = fd_out;
    len_ = static_cast<unsigned>(len);
    result_ = 0;
    polling_ = false;
  }

  // Bytes the splice asks for.
  std::size_t length() const noexcept { return len_; }

  bool should_retry() noexcept { return retry_or_poll(); }

  std::tuple<boost::system::error_code, std::size_t> completion_args()
  {
    if (result_ < 0)
      return {errno_to_error(-result_), 0};
    return {boost::system::error_code(), static_cast<std::size_t>(result_)};
  }

private:
  int fd_in_;
  std::int64_t off_in_;
  unsigned len_;
};

// A pipe owned by one transfer: both ends closed on destruction.
class splice_pipe
{
public:
  splice_pipe() noexcept = default;
  splice_pipe(splice_pipe&& other) noexcept
    : read_(std::exchange(other.read_, -1)),
      write_(std::exchange(other.write_, -1)),
      capacity_(other.capacity_)
  {
  }
  splice_pipe& operator=(splice_pipe&&) = delete;
  ~splice_pipe()
  {
    if (read_ >= 0)
      ::close(read_);
    if (write_ >= 0)
      ::close(write_);
  }

  // Creates the pipe and asks for a 1 MiB buffer (kept at the default when
  // the system refuses, e.g. above /proc/sys/fs/pipe-max-size). Returns 0
  // or -errno.
  int open() noexcept
  {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
      return -errno;
    read_ = fds[0];
    write_ = fds[1];
    (void)::fcntl(write_, F_SETPIPE_SZ, 1 << 20);
    const int size = ::fcntl(write_, F_GETPIPE_SZ);
    capacity_ = size > 0 ? static_cast<std::size_t>(size) : 65536;
    return 0;
  }

  bool is_open() const noexcept { return read_ >= 0; }
  int read_end() const noexcept { return read_; }
  int write_end() const noexcept { return write_; }
  std::size_t capacity() const noexcept { return capacity_; }

private:
  int read_ = -1;
  int write_ = -1;
  std::size_t capacity_ = 0;
};

} // namespace asio_uring::detail
