// The readiness poll of async_wait, of null_buffers transfers and of the
// retry of a transfer on a non-blocking descriptor: IORING_OP_POLL_ADD
// that ends the way Boost.Asio's reactor does.
#pragma once

#include <asio_uring/detail/core/ring.hpp>
#include <asio_uring/detail/op_queue.hpp>
#include <asio_uring/detail/operation.hpp>

#include <cstdint>
#include <poll.h>

namespace asio_uring::detail {

// Asio's reactor ends a wait for POLLIN, POLLOUT or POLLPRI when that
// event, POLLERR or POLLHUP is reported; never for POLLRDHUP alone. The
// kernel adds POLLRDHUP to every io_uring poll's mask, so once the peer of
// a socket has shut down its sending side a one-shot poll for POLLOUT or
// POLLPRI completes at once with POLLRDHUP only, and so would every
// re-armed one (the state persists): a spin. Such a poll therefore goes on
// as a multishot poll, which reports only when a wake-up matches; reports
// of POLLRDHUP alone are ignored, and the first report that counts ends the
// request (uring_op::on_more_ asks the scheduler to cancel it).
//
// POLLPRI needs more. The kernel's poll wake-up filter ignores POLLPRI in
// the wake-up's key (IO_ASYNC_POLL_COMMON in io_uring/poll.c), so a poll for
// POLLPRI alone is never woken by urgent data arriving later (poll(2) and
// epoll are). And a socket's data wake-up carries POLLPRI in its key for
// ordinary data too, so the mask a woken poll reports does not say whether
// urgent data is there. A wait for POLLPRI therefore polls the kernel for
// POLLPRI | POLLIN, so that data wake-ups reach it, and asks poll(2) (zero
// timeout) what the descriptor really reports before it counts a result.
class readiness_poll
{
public:
  // A wait for POLLPRI is multishot from the start: its kernel mask has
  // POLLIN, so a one-shot poll would end at once on ordinary data.
  explicit readiness_poll(unsigned events) noexcept
    : events_(events), multishot_((events & POLLPRI) != 0)
  {
  }

  // Fills sqe for op, the operation that owns this poll (Owner its type,
  // with this poll as member Poll): one-shot until POLLRDHUP alone was
  // reported, multishot after that.
  template <typename Owner, readiness_poll Owner::*Poll>
  void prepare(uring_op& op, io_uring_sqe* sqe) noexcept
  {
    fired_ = 0;
    op.on_more_ = multishot_ ? &readiness_poll::on_more<Owner, Poll> : nullptr;
    const unsigned events = (events_ & POLLPRI) ? events_ | POLLIN : events_;
    core::prep_poll_add(sqe, op.fd_, events, op.user_data(), multishot_);
  }

  // After the poll's final CQE (result, which it may replace): true if the
  // poll reported nothing that counts and must be submitted again, as a
  // multishot poll.
  bool settle(const uring_op& op, int& result) noexcept
  {
    if (fired_ != 0)
    {
      // The multishot request was ended because of this report.
      result = fired_;
      fired_ = 0;
      return false;
    }
    if (result < 0 || counts(op.fd_, result))
      return false;
    multishot_ = true;
    return true;
  }

private:
  // Whether a poll's report (result >= 0) ends the wait: the wanted event,
  // an error or a hang-up. For POLLPRI, what poll(2) reports now, and the
  // result when poll(2) cannot tell.
  bool counts(int fd, int result) const noexcept
  {
    const unsigned ends = events_ | POLLERR | POLLHUP | POLLNVAL;
    if (events_ & POLLPRI)
    {
      ::pollfd p{fd, static_cast<short>(events_), 0};
      if (::poll(&p, 1, 0) >= 0)
        return (static_cast<unsigned>(p.revents) & ends) != 0;
    }
    return (static_cast<unsigned>(result) & ends) != 0;
  }

  template <typename Owner, readiness_poll Owner::*Poll>
  static bool on_more(uring_op* op, const core::completion& c,
      op_queue<operation>&)
  {
    readiness_poll& p = static_cast<Owner*>(op)->*Poll;
    if (p.fired_ != 0 || c.res < 0 || !p.counts(op->fd_, c.res))
      return false;
    p.fired_ = c.res != 0 ? c.res : static_cast<int>(p.events_);
    return true;
  }

  unsigned events_;         // POLLIN, POLLOUT or POLLPRI (with ERR, HUP):
                            // the events that end the wait
  bool multishot_;          // POLLRDHUP alone was reported, or POLLPRI
  int fired_ = 0;           // the report that ended the multishot request
};

} // namespace asio_uring::detail
