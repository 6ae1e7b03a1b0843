// Synchronous descriptor system calls behind the blocking members
// (Boost.Asio's blocking members are system calls too).
#pragma once

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <sys/uio.h>

namespace asio_uring::detail::descriptor_ops {

// open(2) with O_CLOEXEC and creation mode 0666 (before umask).
int open(const char* path, int flags, boost::system::error_code& ec);
void close(int fd, boost::system::error_code& ec);
std::uint64_t size(int fd, boost::system::error_code& ec);
void resize(int fd, std::uint64_t n, boost::system::error_code& ec);
void sync_all(int fd, boost::system::error_code& ec);
void sync_data(int fd, boost::system::error_code& ec);

// preadv/pwritev at offset (readv/writev at the descriptor position when
// offset is ~0), retrying EINTR. A read of 0 bytes into non-empty buffers
// is error::eof.
std::size_t read_at(int fd, std::uint64_t offset, const ::iovec* iov,
    unsigned count, std::size_t total, boost::system::error_code& ec);
std::size_t write_at(int fd, std::uint64_t offset, const ::iovec* iov,
    unsigned count, boost::system::error_code& ec);

} // namespace asio_uring::detail::descriptor_ops
