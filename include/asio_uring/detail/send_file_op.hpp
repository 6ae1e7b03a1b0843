// The transfer behind async_send_file: two IORING_OP_SPLICE operations
// sharing one state, a fill (file -> pipe) and a drain (pipe -> socket),
// over two pipes used in turn so that one pipe fills while the other
// drains.
#pragma once

#include <asio_uring/detail/cancellation_gate.hpp>
#include <asio_uring/detail/file_ops.hpp>
#include <asio_uring/detail/futex_mutex.hpp>
#include <asio_uring/detail/handler_alloc.hpp>
#include <asio_uring/detail/handler_work.hpp>
#include <asio_uring/detail/operation.hpp>
#include <asio_uring/detail/scheduler.hpp>
#include <asio_uring/detail/splice_ops.hpp>

#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <fcntl.h>
#include <mutex>
#include <poll.h>
#include <sys/socket.h>
#include <tuple>
#include <type_traits>
#include <utility>

namespace asio_uring::detail {

// Sends size bytes of a file from offset on to a stream socket. Pipes are
// filled in turn (0, 1, 0, ...) and drained in the same order, so bytes
// leave in file order: a fill goes only into an empty pipe, and the drain
// moves to the next pipe only once its pipe is empty. At most one fill and
// one drain are in flight. (One pipe would not overlap them: the kernel
// holds a pipe's mutex while a splice from it to a socket sends, so a fill
// into the same pipe waits for the whole drain.) The second pipe is opened
// when the first fill did not take everything.
//
// Lifetime: the operation owns the pipes and both splices; it frees itself
// (and closes the pipes) only once neither splice is in the kernel, then
// runs the handler once. The first error, or a cancellation, stops it:
// the splice still in flight is cancelled and waited for.
//
// The socket and the file are re-read before every splice starts: once
// either was closed (or closed and reopened) the transfer ends with
// operation_aborted, and never touches a descriptor number that may now
// belong to someone else.
template <typename Socket, typename File, typename Handler>
class send_file_op
{
public:
  using io_executor = typename Socket::executor_type;

  template <typename H>
  send_file_op(H&& handler, scheduler& sched, Socket& socket, File& file,
      std::uint64_t offset, std::size_t size, splice_pipe first)
    : handler_(static_cast<H&&>(handler)),
      work_(handler_, socket.get_executor()), sched_(sched),
      socket_(&socket), file_(&file), socket_fd_(socket.native_handle()),
      file_fd_(file.native_handle()),
      pipes_{std::move(first), splice_pipe()},
      fill_(this, file_fd_, pipes_[0].write_end()),
      drain_(this, pipes_[0].read_end(), socket_fd_), size_(size),
      offset_(offset), to_fill_(size)
  {
  }

  // Connects the cancellation slot and issues the first fill. Nothing may
  // touch the operation after this: the fill may complete on another
  // thread, or at once be destroyed by a shutting-down context.
  void start()
  {
    auto slot = boost::asio::get_associated_cancellation_slot(handler_);
    if (slot.is_connected())
      gate_ = &slot.template emplace<cancel_handler>(this).gate_;
    start_fill();
    sched_.start_op(&fill_);
  }

private:
  // One of the two splices. Reused for each step in its direction.
  class step : public splice_op_base
  {
  public:
    step(send_file_op* transfer, int fd_in, int fd_out) noexcept
      : splice_op_base(&send_file_op::step_done, fd_in, -1, fd_out, 0),
        transfer_(transfer)
    {
    }

    send_file_op* const transfer_;
    bool busy_ = false;  // started, and its completion has not run yet
  };

  // Installed in the handler's cancellation slot: terminal and partial
  // cancellation stop the transfer (bytes sent are reported, so partial is
  // well defined); total is not supported.
  class cancel_handler
  {
  public:
    explicit cancel_handler(send_file_op* op) noexcept : gate_(op) {}

    void operator()(boost::asio::cancellation_type_t type)
    {
      using boost::asio::cancellation_type;
      if ((type & (cancellation_type::terminal | cancellation_type::partial))
          != cancellation_type::none)
        gate_.with_op([](void* op) {
          static_cast<send_file_op*>(op)->cancel();
        });
    }

    cancellation_gate gate_;  // closed by the op before it frees itself
  };

  using allocator_type = boost::asio::associated_allocator_t<Handler>;
  using ptr = op_ptr<send_file_op, allocator_type>;

  // The completion function of both steps.
  static void step_done(scheduler* owner, operation* base)
  {
    step* s = static_cast<step*>(base);
    if (owner)
      s->transfer_->step_completed(*owner, *s);
    else
      s->transfer_->step_destroyed(*s);
  }

  void step_completed(scheduler& owner, step& s)
  {
    std::unique_lock<futex_mutex> lock(mutex_);
    boost::system::error_code ec;
    std::size_t n = 0;
    if (s.should_retry())
    {
      // EAGAIN -> poll for POLLOUT -> splice again; once stopping, the
      // step ends here having moved nothing.
      if (!stop_)
      {
        owner.restart_op(&s);
        return;
      }
    }
    else
      std::tie(ec, n) = s.completion_args();
    s.busy_ = false;
    if (&s == &fill_)
      filled(ec, n);
    else
      drained(ec, n, s.length());
    if (!stop_)
      start_steps();
    if (fill_.busy_ || drain_.busy_)
      return;

    // Both splices are back and nothing is left to start. As async_write:
    // once every byte reached the socket the transfer succeeded, even if a
    // stop (a cancellation, a close) came after the last drain had begun.
    boost::system::error_code result = stop_;
    if (!result && file_ended_)
      result = boost::asio::error::eof;
    if (sent_ == size_)
      result = {};
    const std::size_t sent = sent_;
    finished_ = true;
    lock.unlock();
    complete(owner, result, sent);
  }

  // The context is shutting down: destroys the operation, without invoking
  // the handler, once both steps are destroyed.
  void step_destroyed(step& s)
  {
    std::unique_lock<futex_mutex> lock(mutex_);
    s.busy_ = false;
    if (fill_.busy_ || drain_.busy_)
      return;
    finished_ = true;
    lock.unlock();
    if (gate_)
      gate_->close();
    allocator_type alloc(boost::asio::get_associated_allocator(handler_));
    ptr::destroy(this, alloc);
  }

  // Accounts for a finished fill. With mutex_ held.
  void filled(const boost::system::error_code& ec, std::size_t n)
  {
    if (stop_)
      return;  // the transfer ends; what the fill read stays in the pipe
    if (ec)
      return stop(objects_unchanged() ? ec
                                      : boost::asio::error::operation_aborted);
    if (n == 0)
    {
      // The file ended before size bytes: send what the pipes hold, then
      // report eof.
      file_ended_ = true;
      return;
    }
    offset_ += n;
    to_fill_ -= n;
    in_pipe_[fill_at_] += n;
    fill_at_ ^= 1;
  }

  // Accounts for a finished drain that asked for len bytes. With mutex_
  // held.
  void drained(boost::system::error_code ec, std::size_t n, std::size_t len)
  {
    sent_ += n;  // these reached the socket, even when stopping
    in_pipe_[drain_at_] -= n;
    if (in_pipe_[drain_at_] == 0)
      drain_at_ ^= 1;
    if (stop_ || (!ec && n == len))
      return;
    // The splice stopped early. Closing the socket lets the kernel fail a
    // splice that had not yet picked up its descriptor (EBADF): that is
    // cancellation too.
    if (!objects_unchanged())
      return stop(boost::asio::error::operation_aborted);
    if (ec == boost::asio::error::interrupted)
      return stop(interruption_cause());
    if (ec)
      return stop(ec);
    if (n == 0)
      return stop(boost::asio::error::broken_pipe);
    // A blocking splice to a socket returns early only when the kernel
    // interrupts it (cancellation: per operation, cancel() or close()) or
    // when the socket failed after sending part of it. A non-blocking
    // socket may take part of it: the rest goes in the next drain.
    if (!socket_non_blocking())
      stop(interruption_cause());
  }

  // Starts the drain and the fill that can go now. With mutex_ held (a
  // cancellation must find a step the kernel knows, or one the scheduler
  // still queues).
  void start_steps()
  {
    const bool can_drain = !drain_.busy_ && in_pipe_[drain_at_] != 0;
    const bool can_fill = !fill_.busy_ && fill_possible();
    if (!can_drain && !can_fill)
      return;
    if (!objects_unchanged())
      return stop(boost::asio::error::operation_aborted);
    if (can_drain)
    {
      drain_.rearm(pipes_[drain_at_].read_end(), -1, socket_fd_,
          in_pipe_[drain_at_]);
      drain_.busy_ = true;
      sched_.start_op(&drain_);
    }
    if (can_fill)
    {
      if (!pipes_[fill_at_].is_open())
        if (int r = pipes_[fill_at_].open(); r != 0)
          return stop(errno_to_error(-r));  // EMFILE: no_descriptors
      start_fill();
      sched_.start_op(&fill_);
    }
  }

  // Whether a fill can go into the next pipe: file bytes are left and that
  // pipe is empty (fully drained, so no drain from it is in flight).
  bool fill_possible() const noexcept
  {
    return !file_ended_ && to_fill_ != 0 && in_pipe_[fill_at_] == 0;
  }

  // Aims the fill at the next pipe, up to its capacity.
  void start_fill() noexcept
  {
    const splice_pipe& p = pipes_[fill_at_];
    fill_.rearm(file_fd_, static_cast<std::int64_t>(offset_), p.write_end(),
        std::min(to_fill_, p.capacity()));
    fill_.busy_ = true;
  }

  // Ends the transfer with ec (the first error wins) and cancels the steps
  // in flight. With mutex_ held.
  void stop(const boost::system::error_code& ec)
  {
    if (stop_)
      return;
    stop_ = ec;
    if (fill_.busy_)
      sched_.cancel_op(&fill_);
    if (drain_.busy_)
      sched_.cancel_op(&drain_);
  }

  // From the cancellation slot, on the emitting thread.
  void cancel()
  {
    std::lock_guard<futex_mutex> lock(mutex_);
    if (!finished_)
      stop(boost::asio::error::operation_aborted);
  }

  // Frees the operation (closing the pipes), then runs the handler through
  // its executor.
  void complete(scheduler& owner, boost::system::error_code ec,
      std::size_t sent)
  {
    // From here no emit reaches this op, whichever thread emits.
    if (gate_)
      gate_->close();
    allocator_type alloc(boost::asio::get_associated_allocator(handler_));
    Handler handler(std::move(handler_));
    handler_work<Handler, io_executor> work(std::move(work_));
    ptr::destroy(this, alloc);
    work.complete(owner, handler, ec, sent);
  }

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

  // Why a splice to the socket stopped short: a pending socket error; or a
  // connection that is gone (the failing send may have taken the error
  // already, and only returned the bytes before it); or else an
  // interruption by cancellation.
  boost::system::error_code interruption_cause() const
  {
    if (objects_unchanged())
    {
      int err = 0;
      socklen_t len = sizeof(err);
      if (::getsockopt(socket_fd_, SOL_SOCKET, SO_ERROR, &err, &len) == 0
          && err != 0)
        return errno_to_error(err);
      ::pollfd p{socket_fd_, POLLOUT, 0};
      if (::poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)) != 0)
        return boost::asio::error::broken_pipe;
    }
    return boost::asio::error::operation_aborted;
  }

  Handler handler_;
  handler_work<Handler, io_executor> work_;
  scheduler& sched_;
  Socket* socket_;
  File* file_;
  const int socket_fd_;        // the descriptors at the start
  const int file_fd_;
  splice_pipe pipes_[2];       // filled and drained in turn
  step fill_;                  // file -> pipes_[fill_at_]
  step drain_;                 // pipes_[drain_at_] -> socket
  cancellation_gate* gate_ = nullptr;  // in the slot's handler, if connected
  const std::size_t size_;     // bytes asked for
  futex_mutex mutex_;          // guards the steps' busy_ and everything below
  std::uint64_t offset_;       // file offset of the next fill
  std::size_t to_fill_;        // bytes not yet read from the file
  std::size_t in_pipe_[2] = {0, 0};  // bytes each pipe holds
  unsigned fill_at_ = 0;       // pipe the next fill goes into
  unsigned drain_at_ = 0;      // pipe the drains take from
  std::size_t sent_ = 0;       // bytes that reached the socket
  bool file_ended_ = false;    // a fill read 0 bytes
  bool finished_ = false;      // the handler is due: cancel() does nothing
  boost::system::error_code stop_;  // first error: no further step starts
};

// Allocates the transfer with the handler's allocator and starts it.
template <typename Socket, typename File, typename Handler>
void start_send_file_op(Handler&& handler, scheduler& sched, Socket& socket,
    File& file, std::uint64_t offset, std::size_t size, splice_pipe first)
{
  using handler_type = std::decay_t<Handler>;
  using op = send_file_op<Socket, File, handler_type>;
  using allocator_type = boost::asio::associated_allocator_t<handler_type>;
  allocator_type alloc(boost::asio::get_associated_allocator(handler));
  op_ptr<op, allocator_type> p(alloc);
  p.construct(static_cast<Handler&&>(handler), sched, socket, file, offset,
      size, std::move(first));
  p.release()->start();
}

} // namespace asio_uring::detail
