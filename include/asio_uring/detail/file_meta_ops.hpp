// Handler-free ring operations on file metadata: open, statx (size),
// fallocate, ftruncate.
#pragma once

#include <asio_uring/detail/core/ring.hpp>
#include <asio_uring/detail/file_ops.hpp>
#include <asio_uring/detail/operation.hpp>

#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>

#include <cerrno>
#include <cstdint>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <tuple>
#include <unistd.h>

namespace asio_uring::detail {

// IORING_OP_OPENAT. On success the new descriptor is handed to the target
// object. Lifetime: the path is a copy owned by this op; the target must
// outlive the operation (as Boost.Asio's async_accept(peer) requires).
template <typename Target>
class openat_op_base : public uring_op
{
public:
  // already_open: complete with error::already_open without opening
  // (posted, never submitted).
  openat_op_base(func_type complete, Target* target, std::string path,
      int flags, bool already_open = false)
    : uring_op(complete, &openat_op_base::do_prepare, -1),
      target_(target), path_(std::move(path)), flags_(flags),
      already_open_(already_open)
  {
  }

  static void do_prepare(uring_op* base, io_uring_sqe* sqe)
  {
    openat_op_base* o = static_cast<openat_op_base*>(base);
    core::prep_openat(sqe, o->path_.c_str(), o->flags_ | O_CLOEXEC, 0666,
        o->user_data());
  }

  bool should_retry() const noexcept { return result_ == -EINTR; }

  std::tuple<boost::system::error_code> completion_args()
  {
    if (already_open_)
      return {boost::asio::error::already_open};
    if (result_ < 0)
      return {errno_to_error(-result_)};
    if (target_->is_open())
    {
      // Opened synchronously meanwhile: keep that one.
      ::close(result_);
      return {boost::asio::error::already_open};
    }
    target_->assign(result_, flags_);
    return {boost::system::error_code()};
  }

private:
  Target* target_;
  std::string path_;
  int flags_;
  bool already_open_;
};

// IORING_OP_STATX on the descriptor itself; completes with the file size.
class statx_size_op_base : public uring_op
{
public:
  statx_size_op_base(func_type complete, int fd)
    : uring_op(complete, &statx_size_op_base::do_prepare, fd)
  {
  }

  static void do_prepare(uring_op* base, io_uring_sqe* sqe)
  {
    statx_size_op_base* o = static_cast<statx_size_op_base*>(base);
    // Lifetime: stx_ lives in this op until its CQE.
    core::prep_statx_fd(sqe, o->fd_, STATX_SIZE, &o->stx_, o->user_data());
  }

  bool should_retry() const noexcept { return result_ == -EINTR; }

  std::tuple<boost::system::error_code, std::uint64_t> completion_args()
  {
    if (result_ < 0)
      return {errno_to_error(-result_), 0};
    return {boost::system::error_code(), stx_.stx_size};
  }

private:
  struct ::statx stx_ {};
};

// IORING_OP_FALLOCATE (mode 0: allocate, extending the size if needed).
class fallocate_op_base : public uring_op
{
public:
  fallocate_op_base(func_type complete, int fd, std::uint64_t offset,
      std::uint64_t len)
    : uring_op(complete, &fallocate_op_base::do_prepare, fd),
      offset_(offset), len_(len)
  {
  }

  static void do_prepare(uring_op* base, io_uring_sqe* sqe)
  {
    fallocate_op_base* o = static_cast<fallocate_op_base*>(base);
    core::prep_fallocate(sqe, o->fd_, 0, o->offset_, o->len_, o->user_data());
  }

  bool should_retry() const noexcept { return result_ == -EINTR; }

  std::tuple<boost::system::error_code> completion_args()
  {
    if (result_ < 0)
      return {errno_to_error(-result_)};
    return {boost::system::error_code()};
  }

private:
  std::uint64_t offset_;
  std::uint64_t len_;
};

// IORING_OP_FTRUNCATE (kernel 6.9).
class ftruncate_op_base : public uring_op
{
public:
  ftruncate_op_base(func_type complete, int fd, std::uint64_t length)
    : uring_op(complete, &ftruncate_op_base::do_prepare, fd), length_(length)
  {
  }

  static void do_prepare(uring_op* base, io_uring_sqe* sqe)
  {
    ftruncate_op_base* o = static_cast<ftruncate_op_base*>(base);
    core::prep_ftruncate(sqe, o->fd_, o->length_, o->user_data());
  }

  bool should_retry() const noexcept { return result_ == -EINTR; }

  std::tuple<boost::system::error_code> completion_args()
  {
    if (result_ < 0)
      return {errno_to_error(-result_)};
    return {boost::system::error_code()};
  }

private:
  std::uint64_t length_;
};

} // namespace asio_uring::detail
