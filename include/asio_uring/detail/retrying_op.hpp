// Retry rules for ring operations on descriptors that may be non-blocking.
#pragma once

#include <asio_uring/detail/core/ring.hpp>
#include <asio_uring/detail/operation.hpp>
#include <asio_uring/detail/readiness_poll.hpp>

#include <cerrno>

namespace asio_uring::detail {

// A descriptor with O_NONBLOCK (a pipe, socket or terminal the program set
// up that way) makes the kernel answer -EAGAIN instead of waiting: the
// operation then submits a readiness poll for poll_mask and, once it fires,
// itself again. It never resubmits without waiting, so it cannot spin (a
// poll that reports only POLLRDHUP waits on: see readiness_poll).
// -EINTR is resubmitted for sockets and descriptors (Boost.Asio's reactor
// retries it) and delivered to the handler for files (as Boost.Asio's
// io_uring file operations do: a cancelled blocking read may report it).
class retrying_op : public uring_op
{
protected:
  retrying_op(func_type complete, prepare_type prepare, int fd,
      unsigned poll_mask, bool retry_interrupted = true) noexcept
    : uring_op(complete, prepare, fd), poll_(poll_mask),
      retry_interrupted_(retry_interrupted)
  {
  }

  // In do_prepare: prepares the poll instead of the operation when one is
  // due, and returns true.
  bool prepare_poll(io_uring_sqe* sqe) noexcept
  {
    if (!polling_)
    {
      on_more_ = nullptr;  // the operation itself: one CQE
      return false;
    }
    poll_.prepare<retrying_op, &retrying_op::poll_>(*this, sqe);
    return true;
  }

  // After a CQE: true to resubmit (EAGAIN -> poll, poll fired ->
  // operation, EINTR when retried). A failed or cancelled poll completes
  // with its error.
  bool retry_or_poll() noexcept
  {
    if (polling_)
    {
      if (poll_.settle(*this, result_))
        return true;  // polls on
      polling_ = false;
      return result_ >= 0 || (retry_interrupted_ && result_ == -EINTR);
    }
    if (result_ == -EINTR)
      return retry_interrupted_;
    if (result_ == -EAGAIN || result_ == -EWOULDBLOCK)
    {
      polling_ = true;
      return true;
    }
    return false;
  }

  bool polling_ = false;     // the next SQE is the readiness poll
  readiness_poll poll_;      // for POLLIN or POLLOUT
  bool retry_interrupted_;   // resubmit on -EINTR
};

} // namespace asio_uring::detail
