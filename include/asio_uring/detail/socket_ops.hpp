// Synchronous socket and descriptor system calls behind the blocking members
// of sockets, acceptors and stream descriptors (Boost.Asio's blocking
// members are system calls too). Each reports failure through ec, never
// through errno, and retries EINTR.
#pragma once

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <sys/socket.h>
#include <sys/uio.h>

namespace asio_uring::detail::socket_ops {

// Per-object state bits (the subset of Boost.Asio's that the ring needs).
enum state_bits : unsigned
{
  user_set_non_blocking = 1,      // sync ops report would_block, never wait
  internal_non_blocking = 2,      // the descriptor has O_NONBLOCK
  enable_connection_aborted = 4,  // accept reports ECONNABORTED/EPROTO
  user_set_linger = 8,            // SO_LINGER set through set_option
  stream_oriented = 16,           // a read of 0 bytes means end of stream
};

// socket(2) with SOCK_CLOEXEC.
int socket(int family, int type, int protocol, boost::system::error_code& ec);
// socketpair(2) with SOCK_CLOEXEC; false (and ec set) on failure.
bool socketpair(int family, int type, int protocol, int (&sv)[2],
    boost::system::error_code& ec);
void close(int fd, boost::system::error_code& ec);
void bind(int fd, const void* addr, std::size_t len,
    boost::system::error_code& ec);
void listen(int fd, int backlog, boost::system::error_code& ec);
void shutdown(int fd, int what, boost::system::error_code& ec);

// accept4(2) with SOCK_CLOEXEC. Waits (poll) on a non-blocking descriptor
// unless user_set_non_blocking is in state. addr and len may be null.
// ECONNABORTED and EPROTO are retried unless enable_connection_aborted.
int accept(int fd, unsigned state, void* addr, std::size_t* len,
    boost::system::error_code& ec);
// connect(2), waiting for completion (also on a non-blocking descriptor).
void connect(int fd, const void* addr, std::size_t len,
    boost::system::error_code& ec);
// The pending error of a socket (SO_ERROR), as an error_code.
boost::system::error_code socket_error(int fd);

void setsockopt(int fd, int level, int name, const void* value,
    std::size_t size, boost::system::error_code& ec);
// size is in/out.
void getsockopt(int fd, int level, int name, void* value, std::size_t* size,
    boost::system::error_code& ec);
void ioctl(int fd, unsigned long command, void* arg,
    boost::system::error_code& ec);
// getsockname/getpeername; len is in/out.
void local_endpoint(int fd, void* addr, std::size_t* len,
    boost::system::error_code& ec);
void remote_endpoint(int fd, void* addr, std::size_t* len,
    boost::system::error_code& ec);
std::size_t available(int fd, boost::system::error_code& ec);
bool at_mark(int fd, boost::system::error_code& ec);

// Sets or clears O_NONBLOCK.
void set_non_blocking(int fd, bool value, boost::system::error_code& ec);
// Whether the descriptor has O_NONBLOCK (false on error).
bool is_non_blocking(int fd);

// recvmsg/sendmsg over iov (send adds MSG_NOSIGNAL: a reset peer gives
// EPIPE, never SIGPIPE). A stream read of 0 bytes into non-empty buffers
// is error::eof. On EAGAIN they wait for readiness unless
// user_set_non_blocking is in state.
std::size_t recv(int fd, unsigned state, ::iovec* iov, std::size_t count,
    std::size_t total, int flags, boost::system::error_code& ec);
std::size_t send(int fd, unsigned state, const ::iovec* iov,
    std::size_t count, std::size_t total, int flags,
    boost::system::error_code& ec);

// recv/send with an address (receive_from, send_to): addr and len are the
// sender's (len in/out) or the destination's, or null/0 for none (recv and
// send). Same rules; on a socket that is not stream-oriented a datagram of
// 0 bytes is received and sent like any other.
std::size_t recv_from(int fd, unsigned state, ::iovec* iov,
    std::size_t count, std::size_t total, int flags, void* addr,
    std::size_t* len, boost::system::error_code& ec);
std::size_t send_to(int fd, unsigned state, const ::iovec* iov,
    std::size_t count, std::size_t total, int flags, const void* addr,
    std::size_t len, boost::system::error_code& ec);

// readv/writev for non-socket descriptors (pipes, terminals), same rules.
std::size_t read(int fd, unsigned state, ::iovec* iov, std::size_t count,
    std::size_t total, boost::system::error_code& ec);
std::size_t write(int fd, unsigned state, const ::iovec* iov,
    std::size_t count, std::size_t total, boost::system::error_code& ec);

// Blocks until fd reports events (POLLIN, POLLOUT, POLLPRI); with
// user_set_non_blocking in state, only checks, and reports would_block.
void poll_wait(int fd, unsigned state, short events,
    boost::system::error_code& ec);

} // namespace asio_uring::detail::socket_ops
