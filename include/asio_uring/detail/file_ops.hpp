// Handler-free ring operations for descriptors: prepare the SQE, interpret
// the CQE. One type per opcode family.
#pragma once

#include <asio_uring/detail/core/ring.hpp>
#include <asio_uring/detail/iovecs.hpp>
#include <asio_uring/detail/operation.hpp>
#include <asio_uring/detail/retrying_op.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>

#include <cerrno>
#include <poll.h>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <tuple>
#include <unistd.h>

namespace asio_uring::detail {

// The file position of a stream_file, shared with its operations so that a
// completion can advance it even after the file object moved.
using stream_position = std::shared_ptr<std::uint64_t>;

// Offset meaning "the descriptor's own file position" (appending writes).
inline constexpr std::uint64_t current_position = ~std::uint64_t(0);

inline boost::system::error_code errno_to_error(int err) noexcept
{
  return boost::system::error_code(err, boost::system::system_category());
}

// Moves a stream position past n bytes written at offset. A write at
// current_position (append mode) went to the end of the file and left the
// descriptor's offset just past it, as write(2) does: the stream follows.
// On a descriptor that cannot seek, the position is left alone.
inline void advance_after_write(std::uint64_t& position, int fd,
    std::uint64_t offset, std::size_t n) noexcept
{
  if (offset != current_position)
    position += n;
  else if (off_t end = ::lseek(fd, 0, SEEK_CUR); end >= 0)
    position = static_cast<std::uint64_t>(end);
}

// IORING_OP_READ / READV at an explicit offset. Lifetime: the iovecs live
// in this op; the memory they point at belongs to the caller, who keeps it
// alive until the handler runs (Asio's buffer contract).
template <typename MutableBufferSequence>
class read_op_base : public retrying_op
{
public:
  // fixed_index: the fixed-buffer table slot of a registered buffer
  // (IORING_OP_READ_FIXED), or -1.
  read_op_base(func_type complete, int fd, std::uint64_t offset,
      const MutableBufferSequence& buffers, stream_position position,
      int fixed_index = -1)
    : retrying_op(complete, &read_op_base::do_prepare, fd, POLLIN, false),
      offset_(offset), bufs_(buffers), position_(std::move(position)),
      fixed_index_(fixed_index)
  {
  }

  static void do_prepare(uring_op* base, io_uring_sqe* sqe)
  {
    read_op_base* o = static_cast<read_op_base*>(base);
    if (o->prepare_poll(sqe))
      return;
    if (o->fixed_index_ >= 0)
      core::prep_read_fixed(sqe, o->fd_, o->bufs_.data()[0].iov_base,
          static_cast<unsigned>(o->bufs_.data()[0].iov_len), o->offset_,
          o->fixed_index_, o->user_data());
    else if (o->bufs_.count() == 1)
      core::prep_read(sqe, o->fd_, o->bufs_.data()[0].iov_base,
          static_cast<unsigned>(o->bufs_.data()[0].iov_len), o->offset_,
          o->user_data());
    else
      core::prep_readv(sqe, o->fd_, o->bufs_.data(), o->bufs_.count(),
          o->offset_, o->user_data());
  }

  // EAGAIN (a non-blocking pipe or FIFO): poll, then retry. EINTR goes to
  // the handler.
  bool should_retry() noexcept { return retry_or_poll(); }

  std::tuple<boost::system::error_code, std::size_t> completion_args()
  {
    if (result_ < 0)
      return {errno_to_error(-result_), 0};
    if (result_ == 0 && bufs_.total_size() != 0)
      return {boost::asio::error::eof, 0};
    if (position_)
      *position_ += static_cast<std::uint64_t>(result_);
    return {boost::system::error_code(), static_cast<std::size_t>(result_)};
  }

  std::size_t total_size() const noexcept { return bufs_.total_size(); }

private:
  std::uint64_t offset_;
  iovecs<boost::asio::mutable_buffer, MutableBufferSequence> bufs_;
  stream_position position_;
  int fixed_index_;
};

// IORING_OP_WRITE / WRITEV at an explicit offset (or current_position).
template <typename ConstBufferSequence>
class write_op_base : public retrying_op
{
public:
  // fixed_index: as for read_op_base (IORING_OP_WRITE_FIXED).
  write_op_base(func_type complete, int fd, std::uint64_t offset,
      const ConstBufferSequence& buffers, stream_position position,
      int fixed_index = -1)
    : retrying_op(complete, &write_op_base::do_prepare, fd, POLLOUT, false),
      offset_(offset), bufs_(buffers), position_(std::move(position)),
      fixed_index_(fixed_index)
  {
  }

  static void do_prepare(uring_op* base, io_uring_sqe* sqe)
  {
    write_op_base* o = static_cast<write_op_base*>(base);
    if (o->prepare_poll(sqe))
      return;
    if (o->fixed_index_ >= 0)
      core::prep_write_fixed(sqe, o->fd_, o->bufs_.data()[0].iov_base,
          static_cast<unsigned>(o->bufs_.data()[0].iov_len), o->offset_,
          o->fixed_index_, o->user_data());
    else if (o->bufs_.count() == 1)
      core::prep_write(sqe, o->fd_, o->bufs_.data()[0].iov_base,
          static_cast<unsigned>(o->bufs_.data()[0].iov_len), o->offset_,
          o->user_data());
    else
      core::prep_writev(sqe, o->fd_, o->bufs_.data(), o->bufs_.count(),
          o->offset_, o->user_data());
  }

  // EAGAIN (a non-blocking pipe or FIFO): poll, then retry. EINTR goes to
  // the handler.
  bool should_retry() noexcept { return retry_or_poll(); }

  std::tuple<boost::system::error_code, std::size_t> completion_args()
  {
    if (result_ < 0)
      return {errno_to_error(-result_), 0};
    if (position_)
      advance_after_write(*position_, fd_, offset_,
          static_cast<std::size_t>(result_));
    return {boost::system::error_code(), static_cast<std::size_t>(result_)};
  }

  std::size_t total_size() const noexcept { return bufs_.total_size(); }

private:
  std::uint64_t offset_;
  iovecs<boost::asio::const_buffer, ConstBufferSequence> bufs_;
  stream_position position_;
  int fixed_index_;
};

// IORING_OP_FSYNC (optionally data only).
class fsync_op_base : public uring_op
{
public:
  fsync_op_base(func_type complete, int fd, bool data_only)
    : uring_op(complete, &fsync_op_base::do_prepare, fd),
      data_only_(data_only)
  {
  }

  static void do_prepare(uring_op* base, io_uring_sqe* sqe)
  {
    fsync_op_base* o = static_cast<fsync_op_base*>(base);
    core::prep_fsync(sqe, o->fd_, o->data_only_, o->user_data());
  }

  bool should_retry() const noexcept { return result_ == -EINTR; }

  std::tuple<boost::system::error_code> completion_args()
  {
    if (result_ < 0)
      return {errno_to_error(-result_)};
    return {boost::system::error_code()};
  }

private:
  bool data_only_;
};

} // namespace asio_uring::detail
