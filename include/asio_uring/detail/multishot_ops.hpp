// The multishot requests of sockets and acceptors, and how their results
// become handler arguments (see multishot.hpp for the machinery).
#pragma once

#include <asio_uring/buffer_ring.hpp>
#include <asio_uring/detail/buffer_ring_state.hpp>
#include <asio_uring/detail/core/ring.hpp>
#include <asio_uring/detail/file_ops.hpp>
#include <asio_uring/detail/multishot.hpp>
#include <asio_uring/detail/retrying_op.hpp>

#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>

#include <cstdint>
#include <memory>
#include <poll.h>
#include <sys/socket.h>
#include <tuple>
#include <unistd.h>
#include <utility>

namespace asio_uring::detail {

// Multishot accept (IORING_ACCEPT_MULTISHOT, kernel 5.19): each CQE is a
// new connection's descriptor (SOCK_CLOEXEC), owned by the state until a
// handler takes it; unclaimed ones are closed.
class accept_multishot_state final : public multishot_state
{
public:
  accept_multishot_state(scheduler& s, int fd) noexcept
    : multishot_state(s, fd)
  {
  }

  ~accept_multishot_state() override { discard_all(); }

private:
  class request final : public multishot_request<request>
  {
  public:
    using multishot_request::multishot_request;

    static void do_prepare(uring_op* base, io_uring_sqe* sqe)
    {
      core::prep_multishot_accept(sqe, base->fd_, SOCK_CLOEXEC,
          base->user_data());
    }
  };

  void discard(const multishot_result& r) noexcept override
  {
    if (r.res >= 0)
      ::close(r.res);
  }

  bool is_value(const multishot_result& r) const noexcept override
  {
    return r.res >= 0;
  }

  uring_op* make_request(std::shared_ptr<multishot_state> self) override
  {
    return new request(std::move(self));
  }
};

// A multishot accept's result as (error_code, Socket): the descriptor is
// adopted by a new socket on ex.
template <typename Socket>
struct accept_multishot_completion
{
  typename Socket::executor_type ex;
  typename Socket::protocol_type protocol;

  std::tuple<boost::system::error_code, Socket> args(
      const multishot_result& r)
  {
    Socket peer(ex);
    if (r.res < 0)
      return {errno_to_error(-r.res), std::move(peer)};
    Socket::accepted(peer, protocol, r.res);
    return {boost::system::error_code(), std::move(peer)};
  }

  void discard(const multishot_result& r) noexcept
  {
    if (r.res >= 0)
      ::close(r.res);
  }
};

// The provided buffer a CQE names (IORING_CQE_F_BUFFER), as a handle of
// size bytes; empty when the CQE names none.
inline provided_buffer adopt_provided_buffer(
    const std::shared_ptr<buffer_ring_state>& ring, std::uint32_t cqe_flags,
    int res)
{
  if (!(cqe_flags & core::cqe_f_buffer) || !ring)
    return provided_buffer();
  return provided_buffer(ring,
      static_cast<std::uint16_t>(cqe_flags >> core::cqe_buffer_shift),
      res > 0 ? static_cast<std::size_t>(res) : 0);
}

// A receive's result as (error_code, provided_buffer): 0 bytes is end of
// stream; a buffer that carries no data goes straight back to the ring.
inline std::tuple<boost::system::error_code, provided_buffer>
provided_receive_result(const std::shared_ptr<buffer_ring_state>& ring,
    std::uint32_t cqe_flags, int res)
{
  provided_buffer b = adopt_provided_buffer(ring, cqe_flags, res);
  if (res < 0)
    return {errno_to_error(-res), provided_buffer()};
  if (res == 0)
    return {boost::asio::error::eof, provided_buffer()};
  return {boost::system::error_code(), std::move(b)};
}

// IORING_OP_RECV with IOSQE_BUFFER_SELECT: the kernel takes a buffer from
// the ring when data arrives. Lifetime: the op holds the ring's state, so
// the memory outlives the kernel's use of it; a buffer the op received but
// never handed over (destroyed at shutdown) goes back to the ring.
class recv_provided_op_base : public retrying_op
{
public:
  recv_provided_op_base(func_type complete, int fd,
      std::shared_ptr<buffer_ring_state> ring, int flags)
    : retrying_op(complete, &recv_provided_op_base::do_prepare, fd, POLLIN),
      ring_(std::move(ring)), flags_(flags)
  {
  }

  ~recv_provided_op_base()
  {
    (void)adopt_provided_buffer(ring_, cqe_flags_, result_);
  }

  static void do_prepare(uring_op* base, io_uring_sqe* sqe)
  {
    recv_provided_op_base* o = static_cast<recv_provided_op_base*>(base);
    if (o->prepare_poll(sqe))
      return;
    // len 0: up to the whole buffer the kernel picks.
    core::prep_recv_provided(sqe, o->fd_, 0, o->flags_,
        o->ring_->group_id(), false, o->user_data());
  }

  bool should_retry() noexcept
  {
    if (cqe_flags_ & core::cqe_f_buffer)
      return false;
    return retry_or_poll();
  }

  std::tuple<boost::system::error_code, provided_buffer> completion_args()
  {
    const std::uint32_t flags = std::exchange(cqe_flags_, 0u);
    return provided_receive_result(ring_, flags, result_);
  }

private:
  std::shared_ptr<buffer_ring_state> ring_;  // null when posted at once
  int flags_;
};

// Multishot receive (IORING_RECV_MULTISHOT with a buffer group, kernel
// 6.0): each CQE is the next chunk of the stream in a buffer of ring_;
// unclaimed buffers go back to the ring.
class recv_multishot_state final : public multishot_state
{
public:
  recv_multishot_state(scheduler& s, int fd,
      std::shared_ptr<buffer_ring_state> ring) noexcept
    : multishot_state(s, fd), ring_(std::move(ring))
  {
  }

  ~recv_multishot_state() override { discard_all(); }

  const std::shared_ptr<buffer_ring_state>& ring() const noexcept
  {
    return ring_;
  }

private:
  class request final : public multishot_request<request>
  {
  public:
    request(std::shared_ptr<multishot_state> state, buffer_ring_state& ring)
      : multishot_request(std::move(state)), ring_(ring)
    {
    }

    static void do_prepare(uring_op* base, io_uring_sqe* sqe)
    {
      request* o = static_cast<request*>(base);
      // Buffers given back from here on are visible to the kernel when it
      // issues the receive, or make a later ENOBUFS re-arm at once.
      o->seen_ = o->ring_.generation();
      core::prep_recv_provided(sqe, o->fd_, 0, 0, o->ring_.group_id(), true,
          o->user_data());
    }

    buffer_ring_state& ring_;  // Lifetime: the state's ring_ outlives us
    std::uint64_t seen_ = 0;   // ring_.generation() when last prepared
  };

  void discard(const multishot_result& r) noexcept override
  {
    (void)adopt_provided_buffer(ring_, r.flags, r.res);
  }

  bool is_value(const multishot_result& r) const noexcept override
  {
    return r.res > 0;
  }

  // The ring ran dry: the kernel ends the multishot with ENOBUFS and
  // consumes nothing. Not reported: with no handler waiting, the next
  // initiation re-arms; with handlers waiting, the request is parked on the
  // ring until a buffer comes back (or re-armed at once if one came back
  // since it was prepared).
  bool ends_quietly(const multishot_result& r, bool) const noexcept override
  {
    return r.res == -ENOBUFS;
  }

  bool park(const multishot_result& r, uring_op* base) noexcept override
  {
    if (r.res != -ENOBUFS)
      return false;
    request* o = static_cast<request*>(base);
    try
    {
      return ring_->park(o, o->seen_);
    }
    catch (...)
    {
      return false;  // no memory to park: re-arm at once
    }
  }

  bool unpark(uring_op* base) noexcept override
  {
    return ring_->unpark(base);
  }

  uring_op* make_request(std::shared_ptr<multishot_state> self) override
  {
    return new request(std::move(self), *ring_);
  }

  std::shared_ptr<buffer_ring_state> ring_;  // Lifetime: outlives requests
};

// A multishot receive's result as (error_code, provided_buffer).
struct recv_multishot_completion
{
  std::shared_ptr<buffer_ring_state> ring;

  std::tuple<boost::system::error_code, provided_buffer> args(
      const multishot_result& r)
  {
    return provided_receive_result(ring, r.flags, r.res);
  }

  void discard(const multishot_result& r) noexcept
  {
    (void)adopt_provided_buffer(ring, r.flags, r.res);
  }
};

} // namespace asio_uring::detail
