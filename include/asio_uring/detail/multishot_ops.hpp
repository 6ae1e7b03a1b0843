// The multishot requests of sockets and acceptors, and how their results
// become handler arguments (see multishot.hpp for the machinery).
#pragma once

#include <asio_uring/detail/core/ring.hpp>
#include <asio_uring/detail/file_ops.hpp>
#include <asio_uring/detail/multishot.hpp>

#include <boost/system/error_code.hpp>

#include <memory>
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

} // namespace asio_uring::detail
