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
class readiness_poll
{
public:
  explicit readiness_poll(unsigned events) noexcept : events_(events) {}

  unsigned events() const noexcept { return events_; }

  // Fills sqe: the first poll is one-shot, later ones multishot.
  void prepare(io_uring_sqe* sqe, int fd, std::uint64_t user_data) noexcept
  {
    fired_ = 0;
    core::prep_poll_add(sqe, fd, events_, user_data, multishot_);
  }

  // After the poll's final CQE (result, which it may replace): true if the
  // poll reported nothing that counts and must be submitted again, as a
  // multishot poll; op is the operation that owns this poll, and Owner its
  // type, with this poll as member Poll.
  template <typename Owner, readiness_poll Owner::*Poll>
  bool settle(uring_op& op, int& result) noexcept
  {
    if (fired_ != 0)
    {
      // The multishot request was ended because of this report.
      result = fired_;
      fired_ = 0;
      op.on_more_ = nullptr;
      return false;
    }
    if (result < 0 || counts(result))
    {
      op.on_more_ = nullptr;
      return false;
    }
    multishot_ = true;
    op.on_more_ = &readiness_poll::on_more<Owner, Poll>;
    return true;
  }

private:
  bool counts(int result) const noexcept
  {
    return (static_cast<unsigned>(result)
               & (events_ | POLLERR | POLLHUP | POLLNVAL)) != 0;
  }

  template <typename Owner, readiness_poll Owner::*Poll>
  static bool on_more(uring_op* op, const core::completion& c,
      op_queue<operation>&)
  {
    readiness_poll& p = static_cast<Owner*>(op)->*Poll;
    if (p.fired_ != 0 || c.res < 0 || !p.counts(c.res))
      return false;
    p.fired_ = c.res;
    return true;
  }

  unsigned events_;         // POLLIN, POLLOUT or POLLPRI (with ERR, HUP)
  bool multishot_ = false;  // POLLRDHUP alone was reported: poll multishot
  int fired_ = 0;           // the report that ended the multishot request
};

} // namespace asio_uring::detail
