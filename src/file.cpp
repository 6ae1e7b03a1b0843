#include <asio_uring/detail/descriptor_ops.hpp>

#include <boost/asio/error.hpp>

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace asio_uring::detail::descriptor_ops {

namespace {

void set_error(boost::system::error_code& ec, bool failed)
{
  if (failed)
    ec.assign(errno, boost::system::system_category());
  else
    ec.clear();
}

} // namespace

int open(const char* path, int flags, boost::system::error_code& ec)
{
  int fd;
  do
    fd = ::open(path, flags | O_CLOEXEC, 0666);
  while (fd < 0 && errno == EINTR);
  set_error(ec, fd < 0);
  return fd;
}

void close(int fd, boost::system::error_code& ec)
{
  // Linux releases the descriptor even when close reports EINTR: no retry.
  int r = ::close(fd);
  if (r != 0 && errno == EINTR)
    r = 0;
  set_error(ec, r != 0);
}

std::uint64_t size(int fd, boost::system::error_code& ec)
{
  struct stat s;
  int r = ::fstat(fd, &s);
  set_error(ec, r != 0);
  return r == 0 ? static_cast<std::uint64_t>(s.st_size) : 0;
}

void resize(int fd, std::uint64_t n, boost::system::error_code& ec)
{
  int r;
  do
    r = ::ftruncate(fd, static_cast<off_t>(n));
  while (r != 0 && errno == EINTR);
  set_error(ec, r != 0);
}

void sync_all(int fd, boost::system::error_code& ec)
{
  set_error(ec, ::fsync(fd) != 0);
}

void sync_data(int fd, boost::system::error_code& ec)
{
  set_error(ec, ::fdatasync(fd) != 0);
}

std::size_t read_at(int fd, std::uint64_t offset, const ::iovec* iov,
    unsigned count, std::size_t total, boost::system::error_code& ec)
{
  if (total == 0)
  {
    ec.clear();
    return 0;
  }
  ssize_t n;
  do
    n = offset == ~std::uint64_t(0)
        ? ::readv(fd, iov, static_cast<int>(count))
        : ::preadv(fd, iov, static_cast<int>(count), static_cast<off_t>(offset));
  while (n < 0 && errno == EINTR);
  set_error(ec, n < 0);
  if (n == 0)
    ec = boost::asio::error::eof;
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

std::size_t write_at(int fd, std::uint64_t offset, const ::iovec* iov,
    unsigned count, boost::system::error_code& ec)
{
  if (count == 0)
  {
    ec.clear();
    return 0;
  }
  ssize_t n;
  do
    n = offset == ~std::uint64_t(0)
        ? ::writev(fd, iov, static_cast<int>(count))
        : ::pwritev(fd, iov, static_cast<int>(count), static_cast<off_t>(offset));
  while (n < 0 && errno == EINTR);
  set_error(ec, n < 0);
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

} // namespace asio_uring::detail::descriptor_ops
