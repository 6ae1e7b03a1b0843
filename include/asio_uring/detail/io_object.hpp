// What every ring-backed I/O object holds: its executor, the scheduler of
// the io_context behind that executor, and one owned descriptor.
#pragma once

#include <asio_uring/detail/descriptor_ops.hpp>
#include <asio_uring/detail/file_ops.hpp>
#include <asio_uring/io_context.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/query.hpp>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <unistd.h>
#include <utility>

namespace asio_uring::detail {

// The asio_uring::io_context behind ex. Throws std::invalid_argument when ex
// belongs to another kind of execution context.
template <typename Executor>
io_context& context_of(const Executor& ex)
{
  auto& ctx = [&]() -> decltype(auto) {
    if constexpr (boost::asio::execution::is_executor<Executor>::value)
      return boost::asio::query(ex, boost::asio::execution::context);
    else
      return ex.context();
  }();
  if constexpr (std::is_same_v<std::decay_t<decltype(ctx)>, io_context>)
    return ctx;
  else
  {
    boost::asio::execution_context& base = ctx;
    if (io_context* p = io_context::from(base))
      return *p;
    throw std::invalid_argument("asio_uring: I/O objects need an executor "
                                "of an asio_uring::io_context");
  }
}

template <typename Executor>
class io_object
{
public:
  explicit io_object(const Executor& ex)
    : executor_(ex), scheduler_(&context_of(ex).impl())
  {
  }

  // The source keeps its executor and is left closed.
  io_object(io_object&& other) noexcept
    : executor_(other.executor_), scheduler_(other.scheduler_),
      fd_(std::exchange(other.fd_, -1)), flags_(other.flags_),
      seekable_(other.seekable_), stream_(other.stream_),
      position_(std::move(other.position_))
  {
  }

  template <typename Executor1>
  io_object(io_object<Executor1>&& other)
    : executor_(other.executor_), scheduler_(other.scheduler_),
      fd_(std::exchange(other.fd_, -1)), flags_(other.flags_),
      seekable_(other.seekable_), stream_(other.stream_),
      position_(std::move(other.position_))
  {
  }

  io_object& operator=(io_object&& other)
  {
    if (this != &other)
      take(other);
    return *this;
  }

  template <typename Executor1>
  io_object& operator=(io_object<Executor1>&& other)
  {
    take(other);
    return *this;
  }

  ~io_object()
  {
    boost::system::error_code ignored;
    close(ignored);
  }

  const Executor& get_executor() noexcept { return executor_; }
  scheduler& get_scheduler() const noexcept { return *scheduler_; }

  bool is_open() const noexcept { return fd_ >= 0; }
  int fd() const noexcept { return fd_; }
  int native_handle() const noexcept { return fd_; }
  int flags() const noexcept { return flags_; }
  bool seekable() const noexcept { return seekable_; }

  // Marks the object as a stream file: it owns a position of its own, which
  // release() hands back to the descriptor.
  void set_stream() noexcept { stream_ = true; }

  // Takes ownership of fd. Stream objects start at the descriptor's
  // position (0 for a freshly opened file). A descriptor lseek refuses
  // (pipe, FIFO, socket, terminal) is not seekable.
  void assign(int fd, int flags)
  {
    fd_ = fd;
    flags_ = flags;
    off_t pos = ::lseek(fd, 0, SEEK_CUR);
    seekable_ = pos >= 0;
    position_ = std::make_shared<std::uint64_t>(pos > 0 ? std::uint64_t(pos) : 0);
  }

  // Takes ownership of a descriptor that has no file position (a socket or
  // a descriptor object): no lseek and no position block, which keeps both
  // off the accept path.
  void assign_unpositioned(int fd, int flags)
  {
    fd_ = fd;
    flags_ = flags;
    seekable_ = false;
    position_.reset();
  }

  const stream_position& position() const noexcept { return position_; }

  // Registers the descriptor in the ring's fixed-file table.
  void register_descriptor(boost::system::error_code& ec)
  {
    if (fd_ < 0)
    {
      ec = boost::asio::error::bad_descriptor;
      return;
    }
    int r = scheduler_->register_fd(fd_);
    if (r < 0)
      ec.assign(-r, boost::system::system_category());
    else
      ec.clear();
  }

  bool is_descriptor_registered() const
  {
    return fd_ >= 0 && scheduler_->is_registered_fd(fd_);
  }

  void cancel(boost::system::error_code& ec)
  {
    if (fd_ < 0)
    {
      ec = boost::asio::error::bad_descriptor;
      return;
    }
    scheduler_->cancel_fd(fd_);
    ec.clear();
  }

  // Cancels every operation, then closes the descriptor. Closing a closed
  // object is not an error (as in Boost.Asio).
  void close(boost::system::error_code& ec)
  {
    if (fd_ < 0)
    {
      ec.clear();
      return;
    }
    scheduler_->close_fd(std::exchange(fd_, -1), ec);
    position_.reset();
  }

  // Cancels every operation and gives up ownership. A stream object's
  // descriptor is left at the stream position.
  int release(boost::system::error_code& ec)
  {
    if (fd_ < 0)
    {
      ec = boost::asio::error::bad_descriptor;
      return -1;
    }
    scheduler_->cancel_fd(fd_);
    scheduler_->unregister_fd(fd_);
    if (stream_ && seekable_ && position_)
      (void)::lseek(fd_, static_cast<off_t>(*position_), SEEK_SET);
    position_.reset();
    ec.clear();
    return std::exchange(fd_, -1);
  }

private:
  template <typename> friend class io_object;

  template <typename Other>
  void take(Other& other)
  {
    boost::system::error_code ignored;
    close(ignored);
    executor_ = other.executor_;
    scheduler_ = other.scheduler_;
    fd_ = std::exchange(other.fd_, -1);
    flags_ = other.flags_;
    seekable_ = other.seekable_;
    position_ = std::move(other.position_);
  }

  Executor executor_;          // completions run here by default
  scheduler* scheduler_;       // the ring that performs the I/O
  int fd_ = -1;                // owned descriptor, -1 when closed
  int flags_ = 0;              // open flags (O_APPEND, O_DIRECT, ...)
  bool seekable_ = true;       // false for pipes, FIFOs, sockets, ttys
  bool stream_ = false;        // a stream file (position_ is its position)
  stream_position position_;   // stream files: next read/write offset
};

} // namespace asio_uring::detail
