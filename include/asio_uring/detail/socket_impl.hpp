// The state behind a socket or an acceptor: the owned descriptor (through
// io_object, which cancels its ring operations on cancel and close), the
// protocol it was opened with, and Boost.Asio-style state bits. The
// synchronous members are system calls; the asynchronous ones live in the
// public classes and go through the ring.
#pragma once

#include <asio_uring/detail/io_object.hpp>
#include <asio_uring/detail/multishot.hpp>
#include <asio_uring/detail/socket_op_bases.hpp>
#include <asio_uring/detail/socket_ops.hpp>
#include <asio_uring/detail/uring_handler_op.hpp>

#include <boost/asio/detail/socket_types.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/socket_base.hpp>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>
#include <optional>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <utility>

namespace asio_uring::detail {

template <typename Protocol, typename Executor>
class socket_impl
{
public:
  explicit socket_impl(const Executor& ex) : io_(ex) {}

  // The source is left closed, with its executor.
  socket_impl(socket_impl&& other) noexcept
    : io_(std::move(other.io_)), protocol_(std::move(other.protocol_)),
      state_(std::exchange(other.state_, 0u)),
      multishot_(std::move(other.multishot_))
  {
    other.protocol_.reset();
  }

  template <typename Protocol1, typename Executor1>
  socket_impl(socket_impl<Protocol1, Executor1>&& other)
    : io_(std::move(other.io_)), state_(std::exchange(other.state_, 0u)),
      multishot_(std::move(other.multishot_))
  {
    if (other.protocol_)
      protocol_.emplace(*other.protocol_);
    other.protocol_.reset();
  }

  // Aborts the multishot request's waiters before io_ cancels and closes.
  ~socket_impl() { close_multishot(); }

  socket_impl& operator=(socket_impl&& other)
  {
    if (this != &other)
      take(other);
    return *this;
  }

  template <typename Protocol1, typename Executor1>
  socket_impl& operator=(socket_impl<Protocol1, Executor1>&& other)
  {
    take(other);
    return *this;
  }

  const Executor& get_executor() noexcept { return io_.get_executor(); }
  scheduler& get_scheduler() const noexcept { return io_.get_scheduler(); }
  io_object<Executor>& io() noexcept { return io_; }
  bool is_open() const noexcept { return io_.is_open(); }
  int fd() const noexcept { return io_.fd(); }
  unsigned state() const noexcept { return state_; }
  const Protocol& protocol() const { return *protocol_; }

  void open(const Protocol& protocol, boost::system::error_code& ec)
  {
    if (io_.is_open())
    {
      ec = boost::asio::error::already_open;
      return;
    }
    int fd = socket_ops::socket(protocol.family(), protocol.type(),
        protocol.protocol(), ec);
    if (fd >= 0)
      adopt(protocol, fd, 0);
  }

  void assign(const Protocol& protocol, int fd, boost::system::error_code& ec)
  {
    if (io_.is_open())
    {
      ec = boost::asio::error::already_open;
      return;
    }
    if (fd < 0)
    {
      ec = boost::asio::error::bad_descriptor;
      return;
    }
    adopt(protocol, fd,
        socket_ops::is_non_blocking(fd) ? socket_ops::internal_non_blocking : 0u);
    ec.clear();
  }

  // Takes ownership of a descriptor known to be valid (fresh from socket
  // or accept4).
  void adopt(const Protocol& protocol, int fd, unsigned extra_state) noexcept
  {
    io_.assign_unpositioned(fd, 0);
    protocol_.emplace(protocol);
    state_ = extra_state
        | (protocol.type() == SOCK_STREAM ? socket_ops::stream_oriented : 0u);
  }

  void close(boost::system::error_code& ec)
  {
    close_multishot();
    io_.close(ec);
    state_ = 0;
    protocol_.reset();
  }

  int release(boost::system::error_code& ec)
  {
    // io_object::release rewinds a descriptor to its stream-file position;
    // sockets and descriptors keep the kernel's own offset (a descriptor
    // may be a regular file, such as a redirected stdin).
    const off_t offset = is_open() ? ::lseek(fd(), 0, SEEK_CUR) : -1;
    close_multishot();
    int fd = io_.release(ec);
    if (fd >= 0)
    {
      if (offset >= 0)
        (void)::lseek(fd, offset, SEEK_SET);
      state_ = 0;
      protocol_.reset();
    }
    return fd;
  }

  void cancel(boost::system::error_code& ec)
  {
    close_multishot();
    io_.cancel(ec);
  }

  // The multishot request's state (multishot accept or receive): created by
  // make() on first use, let go of (and closed) by cancel, close, release,
  // move-assignment and destruction; the next initiation makes a new one.
  template <typename State, typename... Args>
  const std::shared_ptr<multishot_state>& multishot(Args&&... args)
  {
    if (!multishot_)
      multishot_ = std::make_shared<State>(get_scheduler(), fd(),
          static_cast<Args&&>(args)...);
    return multishot_;
  }

  multishot_state* multishot_state_ptr() const noexcept
  {
    return multishot_.get();
  }

  void close_multishot()
  {
    if (multishot_)
      std::exchange(multishot_, nullptr)->close();
  }

  void register_descriptor(boost::system::error_code& ec)
  {
    io_.register_descriptor(ec);
  }

  bool is_descriptor_registered() const { return io_.is_descriptor_registered(); }

  template <typename SettableSocketOption>
  void set_option(const SettableSocketOption& option,
      boost::system::error_code& ec)
  {
    if (!is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return;
    }
    const int level = option.level(*protocol_);
    const int name = option.name(*protocol_);
    if (level == boost::asio::detail::custom_socket_option_level)
    {
      // Asio's own options, kept in the state bits.
      if (name == boost::asio::detail::enable_connection_aborted_option
          && option.size(*protocol_) == sizeof(int))
      {
        int value = 0;
        std::memcpy(&value, option.data(*protocol_), sizeof(value));
        if (value)
          state_ |= socket_ops::enable_connection_aborted;
        else
          state_ &= ~socket_ops::enable_connection_aborted;
        ec.clear();
      }
      else
        ec = boost::asio::error::invalid_argument;
      return;
    }
    socket_ops::setsockopt(fd(), level, name, option.data(*protocol_),
        option.size(*protocol_), ec);
    if (!ec && level == SOL_SOCKET && name == SO_LINGER)
      state_ |= socket_ops::user_set_linger;
  }

  template <typename GettableSocketOption>
  void get_option(GettableSocketOption& option,
      boost::system::error_code& ec) const
  {
    if (!is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return;
    }
    const int level = option.level(*protocol_);
    const int name = option.name(*protocol_);
    if (level == boost::asio::detail::custom_socket_option_level)
    {
      if (name == boost::asio::detail::enable_connection_aborted_option
          && option.size(*protocol_) == sizeof(int))
      {
        const int value =
            (state_ & socket_ops::enable_connection_aborted) ? 1 : 0;
        std::memcpy(option.data(*protocol_), &value, sizeof(value));
        option.resize(*protocol_, sizeof(int));
        ec.clear();
      }
      else
        ec = boost::asio::error::invalid_argument;
      return;
    }
    std::size_t size = option.size(*protocol_);
    socket_ops::getsockopt(fd(), level, name, option.data(*protocol_), &size,
        ec);
    if (ec)
      return;
    // Linux reports buffer sizes doubled; Asio halves them, and so do we.
    if (level == SOL_SOCKET && size == sizeof(int)
        && (name == SO_SNDBUF || name == SO_RCVBUF))
    {
      int value = 0;
      std::memcpy(&value, option.data(*protocol_), sizeof(value));
      value /= 2;
      std::memcpy(option.data(*protocol_), &value, sizeof(value));
    }
    option.resize(*protocol_, size);
  }

  template <typename IoControlCommand>
  void io_control(IoControlCommand& command, boost::system::error_code& ec)
  {
    if (!is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return;
    }
    socket_ops::ioctl(fd(), static_cast<unsigned long>(command.name()),
        command.data(), ec);
    // FIONBIO through io_control changes the user's mode, as in Asio.
    if (!ec && static_cast<unsigned long>(command.name())
            == static_cast<unsigned long>(FIONBIO))
    {
      int value = 0;
      std::memcpy(&value, command.data(), sizeof(value));
      if (value)
        state_ |= socket_ops::user_set_non_blocking;
      else
        state_ &= ~(socket_ops::user_set_non_blocking
            | socket_ops::internal_non_blocking);
    }
  }

  bool non_blocking() const noexcept
  {
    return (state_ & socket_ops::user_set_non_blocking) != 0;
  }

  void non_blocking(bool mode, boost::system::error_code& ec)
  {
    if (!is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return;
    }
    socket_ops::set_non_blocking(fd(), mode, ec);
    if (ec)
      return;
    if (mode)
      state_ |= socket_ops::user_set_non_blocking;
    else
      state_ &= ~(socket_ops::user_set_non_blocking
          | socket_ops::internal_non_blocking);
  }

  bool native_non_blocking() const noexcept
  {
    return (state_ & socket_ops::internal_non_blocking) != 0;
  }

  void native_non_blocking(bool mode, boost::system::error_code& ec)
  {
    if (!is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return;
    }
    if (!mode && (state_ & socket_ops::user_set_non_blocking))
    {
      ec = boost::asio::error::invalid_argument;
      return;
    }
    socket_ops::set_non_blocking(fd(), mode, ec);
    if (ec)
      return;
    if (mode)
      state_ |= socket_ops::internal_non_blocking;
    else
      state_ &= ~socket_ops::internal_non_blocking;
  }

  template <typename Endpoint>
  void bind(const Endpoint& endpoint, boost::system::error_code& ec)
  {
    if (!is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return;
    }
    socket_ops::bind(fd(), endpoint.data(), endpoint.size(), ec);
  }

  template <typename Endpoint>
  Endpoint local_endpoint(boost::system::error_code& ec) const
  {
    Endpoint endpoint;
    if (!is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return endpoint;
    }
    std::size_t size = endpoint.capacity();
    socket_ops::local_endpoint(fd(), endpoint.data(), &size, ec);
    if (ec)
      return Endpoint();
    endpoint.resize(size);
    return endpoint;
  }

  template <typename Endpoint>
  Endpoint remote_endpoint(boost::system::error_code& ec) const
  {
    Endpoint endpoint;
    if (!is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return endpoint;
    }
    std::size_t size = endpoint.capacity();
    socket_ops::remote_endpoint(fd(), endpoint.data(), &size, ec);
    if (ec)
      return Endpoint();
    endpoint.resize(size);
    return endpoint;
  }

  void wait(boost::asio::socket_base::wait_type w,
      boost::system::error_code& ec)
  {
    if (!is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return;
    }
    short events = poll_events(w);
    if (events == 0)
    {
      ec = boost::asio::error::invalid_argument;
      return;
    }
    socket_ops::poll_wait(fd(), state_, events, ec);
  }

  // The poll(2) mask of a wait type; 0 for an invalid one.
  static short poll_events(boost::asio::socket_base::wait_type w) noexcept
  {
    switch (w)
    {
    case boost::asio::socket_base::wait_read:
      return POLLIN;
    case boost::asio::socket_base::wait_write:
      return POLLOUT;
    case boost::asio::socket_base::wait_error:
      return POLLPRI | POLLERR | POLLHUP;
    default:
      return 0;
    }
  }

private:
  template <typename, typename> friend class socket_impl;

  template <typename Other>
  void take(Other& other)
  {
    close_multishot();
    io_ = std::move(other.io_);  // closes this object's descriptor first
    multishot_ = std::move(other.multishot_);
    if (other.protocol_)
      protocol_.emplace(*other.protocol_);
    else
      protocol_.reset();
    state_ = std::exchange(other.state_, 0u);
    other.protocol_.reset();
  }

  io_object<Executor> io_;           // executor, scheduler, descriptor
  std::optional<Protocol> protocol_; // set while open
  unsigned state_ = 0;               // socket_ops::state_bits
  // Multishot accept or receive, if one was started; shared with the armed
  // request, so that it survives moves and the object's destruction.
  std::shared_ptr<multishot_state> multishot_;
};

// Passed to start_or_post: the operation goes to the ring.
inline constexpr int no_immediate_result = 1;

// Starts op Base on impl's ring, or, when immediate_result is 0 or -errno,
// completes it with that result (never inside the initiating function).
template <typename Base, typename Handler, typename IoObject, typename... Args>
void start_or_post(IoObject& impl, int immediate_result, Handler&& handler,
    Args&&... args)
{
  if (immediate_result == no_immediate_result)
    start_uring_op<Base>(impl.get_scheduler(),
        static_cast<Handler&&>(handler), impl.get_executor(),
        static_cast<Args&&>(args)...);
  else
    post_uring_op<Base>(impl.get_scheduler(), immediate_result,
        static_cast<Handler&&>(handler), impl.get_executor(),
        static_cast<Args&&>(args)...);
}

// Starts a read or write (op Base, constructed from fd, buffers, args...)
// as Boost.Asio's reactive services do: a closed object completes with
// bad_descriptor, null_buffers become a wait for null_events completing
// with 0 bytes, and zero-size buffers complete at once with 0 bytes on a
// stream. A message (datagram) socket passes Stream = false: its zero-size
// buffers go to the kernel, as an empty datagram is a datagram.
template <typename Base, bool Stream = true, typename Handler,
    typename IoObject, typename Buffers, typename... Args>
void start_transfer(IoObject& impl, unsigned null_events, Handler&& handler,
    const Buffers& buffers, Args&&... args)
{
  int immediate = impl.is_open() ? no_immediate_result : -EBADF;
  if constexpr (is_null_buffers<Buffers>)
    start_or_post<null_buffers_op_base>(impl, immediate,
        static_cast<Handler&&>(handler), impl.fd(), null_events);
  else
  {
    if (Stream && immediate == no_immediate_result
        && boost::asio::buffer_size(buffers) == 0)
      immediate = 0;
    start_or_post<Base>(impl, immediate, static_cast<Handler&&>(handler),
        impl.fd(), buffers, static_cast<Args&&>(args)...);
  }
}

} // namespace asio_uring::detail
