#include <asio_uring/detail/socket_ops.hpp>

#include <boost/asio/error.hpp>

#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace asio_uring::detail::socket_ops {

namespace {

void set_error(boost::system::error_code& ec, bool failed)
{
  if (failed)
    ec.assign(errno, boost::system::system_category());
  else
    ec.clear();
}

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

// One retrying poll(2) for events; -1 timeout.
int poll_one(int fd, short events)
{
  ::pollfd p{fd, events, 0};
  int r;
  do
    r = ::poll(&p, 1, -1);
  while (r < 0 && errno == EINTR);
  return r;
}

} // namespace

int socket(int family, int type, int protocol, boost::system::error_code& ec)
{
  int fd = ::socket(family, type | SOCK_CLOEXEC, protocol);
  set_error(ec, fd < 0);
  return fd;
}

bool socketpair(int family, int type, int protocol, int (&sv)[2],
    boost::system::error_code& ec)
{
  int r = ::socketpair(family, type | SOCK_CLOEXEC, protocol, sv);
  set_error(ec, r != 0);
  return r == 0;
}

void close(int fd, boost::system::error_code& ec)
{
  // Linux releases the descriptor even when close reports EINTR: no retry.
  int r = ::close(fd);
  if (r != 0 && errno == EINTR)
    r = 0;
  set_error(ec, r != 0);
}

void bind(int fd, const void* addr, std::size_t len,
    boost::system::error_code& ec)
{
  set_error(ec, ::bind(fd, static_cast<const ::sockaddr*>(addr),
                    static_cast<socklen_t>(len)) != 0);
}

void listen(int fd, int backlog, boost::system::error_code& ec)
{
  set_error(ec, ::listen(fd, backlog) != 0);
}

void shutdown(int fd, int what, boost::system::error_code& ec)
{
  set_error(ec, ::shutdown(fd, what) != 0);
}

int accept(int fd, unsigned state, void* addr, std::size_t* len,
    boost::system::error_code& ec)
{
  for (;;)
  {
    socklen_t l = len ? static_cast<socklen_t>(*len) : 0;
    int s = ::accept4(fd, static_cast<::sockaddr*>(addr), len ? &l : nullptr,
        SOCK_CLOEXEC);
    if (s >= 0)
    {
      if (len)
        *len = l;
      ec.clear();
      return s;
    }
    int err = errno;
    if (err == EINTR)
      continue;
    if ((err == ECONNABORTED || err == EPROTO)
        && !(state & enable_connection_aborted))
      continue;
    if (would_block(err) && !(state & user_set_non_blocking))
    {
      if (poll_one(fd, POLLIN) < 0)
      {
        set_error(ec, true);
        return -1;
      }
      continue;
    }
    ec.assign(err, boost::system::system_category());
    return -1;
  }
}

boost::system::error_code socket_error(int fd)
{
  int err = 0;
  socklen_t len = sizeof(err);
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    err = errno;
  return boost::system::error_code(err, boost::system::system_category());
}

void connect(int fd, const void* addr, std::size_t len,
    boost::system::error_code& ec)
{
  int r = ::connect(fd, static_cast<const ::sockaddr*>(addr),
      static_cast<socklen_t>(len));
  if (r == 0)
  {
    ec.clear();
    return;
  }
  int err = errno;
  // EINTR: the connection continues asynchronously, as for EINPROGRESS.
  if (err != EINPROGRESS && err != EINTR && !would_block(err))
  {
    ec.assign(err, boost::system::system_category());
    return;
  }
  if (poll_one(fd, POLLOUT) < 0)
  {
    set_error(ec, true);
    return;
  }
  ec = socket_error(fd);
}

void setsockopt(int fd, int level, int name, const void* value,
    std::size_t size, boost::system::error_code& ec)
{
  set_error(ec, ::setsockopt(fd, level, name, value,
                    static_cast<socklen_t>(size)) != 0);
}

void getsockopt(int fd, int level, int name, void* value, std::size_t* size,
    boost::system::error_code& ec)
{
  socklen_t l = static_cast<socklen_t>(*size);
  int r = ::getsockopt(fd, level, name, value, &l);
  *size = l;
  set_error(ec, r != 0);
}

void ioctl(int fd, unsigned long command, void* arg,
    boost::system::error_code& ec)
{
  set_error(ec, ::ioctl(fd, command, arg) < 0);
}

void local_endpoint(int fd, void* addr, std::size_t* len,
    boost::system::error_code& ec)
{
  socklen_t l = static_cast<socklen_t>(*len);
  int r = ::getsockname(fd, static_cast<::sockaddr*>(addr), &l);
  *len = l;
  set_error(ec, r != 0);
}

void remote_endpoint(int fd, void* addr, std::size_t* len,
    boost::system::error_code& ec)
{
  socklen_t l = static_cast<socklen_t>(*len);
  int r = ::getpeername(fd, static_cast<::sockaddr*>(addr), &l);
  *len = l;
  set_error(ec, r != 0);
}

std::size_t available(int fd, boost::system::error_code& ec)
{
  int n = 0;
  int r = ::ioctl(fd, FIONREAD, &n);
  set_error(ec, r < 0);
  return r < 0 || n < 0 ? 0 : static_cast<std::size_t>(n);
}

bool at_mark(int fd, boost::system::error_code& ec)
{
  int value = 0;
  int r = ::ioctl(fd, SIOCATMARK, &value);
  set_error(ec, r < 0);
  return r >= 0 && value != 0;
}

void set_non_blocking(int fd, bool value, boost::system::error_code& ec)
{
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0)
  {
    set_error(ec, true);
    return;
  }
  int wanted = value ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  set_error(ec, wanted != flags && ::fcntl(fd, F_SETFL, wanted) < 0);
}

bool is_non_blocking(int fd)
{
  int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && (flags & O_NONBLOCK) != 0;
}

namespace {

// The shared loop of the four transfer functions: op() returns the
// syscall's result; EAGAIN waits for events unless the user asked for
// non-blocking behaviour.
template <typename Op>
std::size_t transfer(int fd, unsigned state, short events, bool reading,
    std::size_t total, boost::system::error_code& ec, Op op)
{
  if (total == 0 && (state & stream_oriented))
  {
    ec.clear();
    return 0;
  }
  for (;;)
  {
    ssize_t n = op();
    if (n >= 0)
    {
      if (n == 0 && reading && (state & stream_oriented) && total != 0)
        ec = boost::asio::error::eof;
      else
        ec.clear();
      return static_cast<std::size_t>(n);
    }
    int err = errno;
    if (err == EINTR)
      continue;
    if (would_block(err) && !(state & user_set_non_blocking))
    {
      if (poll_one(fd, events) < 0)
      {
        set_error(ec, true);
        return 0;
      }
      continue;
    }
    ec.assign(err, boost::system::system_category());
    return 0;
  }
}

} // namespace

std::size_t recv(int fd, unsigned state, ::iovec* iov, std::size_t count,
    std::size_t total, int flags, boost::system::error_code& ec)
{
  return recv_from(fd, state, iov, count, total, flags, nullptr, nullptr, ec);
}

std::size_t recv_from(int fd, unsigned state, ::iovec* iov,
    std::size_t count, std::size_t total, int flags, void* addr,
    std::size_t* len, boost::system::error_code& ec)
{
  ::msghdr msg{};
  std::size_t n = transfer(fd, state, POLLIN, true, total, ec, [&] {
    msg = ::msghdr{};
    msg.msg_name = addr;
    msg.msg_namelen = len ? static_cast<socklen_t>(*len) : 0;
    msg.msg_iov = iov;
    msg.msg_iovlen = count;
    return ::recvmsg(fd, &msg, flags);
  });
  if (!ec && len)
    *len = msg.msg_namelen;
  return n;
}

std::size_t send_to(int fd, unsigned state, const ::iovec* iov,
    std::size_t count, std::size_t total, int flags, const void* addr,
    std::size_t len, boost::system::error_code& ec)
{
  return transfer(fd, state, POLLOUT, false, total, ec, [&] {
    ::msghdr msg{};
    msg.msg_name = const_cast<void*>(addr);
    msg.msg_namelen = static_cast<socklen_t>(len);
    msg.msg_iov = const_cast<::iovec*>(iov);
    msg.msg_iovlen = count;
    return ::sendmsg(fd, &msg, flags | MSG_NOSIGNAL);
  });
}

std::size_t send(int fd, unsigned state, const ::iovec* iov,
    std::size_t count, std::size_t total, int flags,
    boost::system::error_code& ec)
{
  return send_to(fd, state, iov, count, total, flags, nullptr, 0, ec);
}

std::size_t read(int fd, unsigned state, ::iovec* iov, std::size_t count,
    std::size_t total, boost::system::error_code& ec)
{
  return transfer(fd, state, POLLIN, true, total, ec,
      [&] { return ::readv(fd, iov, static_cast<int>(count)); });
}

std::size_t write(int fd, unsigned state, const ::iovec* iov,
    std::size_t count, std::size_t total, boost::system::error_code& ec)
{
  return transfer(fd, state, POLLOUT, false, total, ec,
      [&] { return ::writev(fd, iov, static_cast<int>(count)); });
}

void poll_wait(int fd, unsigned state, short events,
    boost::system::error_code& ec)
{
  if (!(state & user_set_non_blocking))
  {
    set_error(ec, poll_one(fd, events) < 0);
    return;
  }
  ::pollfd p{fd, events, 0};
  int r;
  do
    r = ::poll(&p, 1, 0);
  while (r < 0 && errno == EINTR);
  set_error(ec, r < 0);
  if (r == 0)
    ec = boost::asio::error::would_block;
}

} // namespace asio_uring::detail::socket_ops
