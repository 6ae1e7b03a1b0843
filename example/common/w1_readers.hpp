//
// w1_readers.hpp
// ~~~~~~~~~~~~~~
//
// The two ways the W1 checksum reads a file, shared by the demo and the
// benchmarks so that both measure the same code:
//  - stream_checksum<File>: async_read_some chained on a stream file, one
//    block in flight (asio_uring::stream_file, or boost::asio::stream_file in
//    a binary built with BOOST_ASIO_HAS_IO_URING);
//  - thread_pool_checksum: the pattern asio_uring replaces, a blocking
//    pread(2) on a boost::asio::thread_pool whose result is posted back to a
//    boost::asio::io_context.
// Includes Boost.Asio only (never asio_uring), so every benchmark binary can
// use it whatever its Boost.Asio configuration.
//
#pragma once

#include "checksum_util.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/system/error_code.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>

#include <unistd.h>

namespace checksum_util {

// A page-aligned block buffer.
class block_buffer
{
public:
  explicit block_buffer(std::size_t size)
    : size_(size),
      data_(static_cast<unsigned char*>(
          std::aligned_alloc(4096, (size + 4095) / 4096 * 4096)))
  {
    if (!data_)
      throw std::bad_alloc();
  }

  unsigned char* data() const noexcept { return data_.get(); }
  std::size_t size() const noexcept { return size_; }

private:
  struct free_deleter
  {
    void operator()(unsigned char* p) const noexcept { std::free(p); }
  };
  std::size_t size_;
  std::unique_ptr<unsigned char, free_deleter> data_;
};

// What one checksum pass produced.
struct checksum_result
{
  std::uint64_t bytes = 0;
  std::uint64_t sum = 0;
  std::uint64_t reads = 0;            // completed read operations
  boost::system::error_code error;    // first error other than eof
};

// Sums a stream file with async_read_some, one block in flight. start()
// issues the first read; the result is complete once the file's executor
// has run out of work.
template <typename File>
class stream_checksum
{
public:
  stream_checksum(File& file, std::size_t block)
    : file_(file), buffer_(block)
  {
  }

  stream_checksum(const stream_checksum&) = delete;
  stream_checksum& operator=(const stream_checksum&) = delete;

  void start() { read_next(); }

  const checksum_result& result() const noexcept { return result_; }

private:
  void read_next()
  {
    file_.async_read_some(boost::asio::buffer(buffer_.data(), buffer_.size()),
        [this](const boost::system::error_code& ec, std::size_t n)
        {
          on_read(ec, n);
        });
  }

  void on_read(const boost::system::error_code& ec, std::size_t n)
  {
    ++result_.reads;
    result_.bytes += n;
    result_.sum += byte_sum(buffer_.data(), n);
    if (!ec)
      read_next();
    else if (ec != boost::asio::error::eof)
      result_.error = ec;
  }

  File& file_;
  block_buffer buffer_;
  checksum_result result_;
};

// Sums a file the way Boost.Asio programs read files without io_uring:
// each block is a blocking pread(2) run on a thread pool, and its result is
// posted back to the io_context that owns the program's state. One block in
// flight; the io_context's run() returns when the file is done.
class thread_pool_checksum
{
public:
  thread_pool_checksum(boost::asio::io_context& ioc,
      boost::asio::thread_pool& pool, int fd, std::size_t block)
    : ioc_(ioc), pool_(pool), fd_(fd), buffer_(block)
  {
  }

  thread_pool_checksum(const thread_pool_checksum&) = delete;
  thread_pool_checksum& operator=(const thread_pool_checksum&) = delete;

  void start()
  {
    work_.emplace(ioc_.get_executor());
    read_next();
  }

  const checksum_result& result() const noexcept { return result_; }

private:
  void read_next()
  {
    boost::asio::post(pool_, [this]
        {
          ssize_t n;
          do
            n = ::pread(fd_, buffer_.data(), buffer_.size(),
                static_cast<off_t>(offset_));
          while (n < 0 && errno == EINTR);
          int err = n < 0 ? errno : 0;
          boost::asio::post(ioc_, [this, n, err] { on_read(n, err); });
        });
  }

  void on_read(ssize_t n, int err)
  {
    ++result_.reads;
    if (err != 0)
    {
      result_.error.assign(err, boost::system::system_category());
      work_.reset();
      return;
    }
    if (n == 0)
    {
      work_.reset();
      return;
    }
    result_.bytes += static_cast<std::uint64_t>(n);
    result_.sum += byte_sum(buffer_.data(), static_cast<std::size_t>(n));
    offset_ += static_cast<std::uint64_t>(n);
    read_next();
  }

  boost::asio::io_context& ioc_;
  boost::asio::thread_pool& pool_;
  int fd_;
  block_buffer buffer_;
  std::uint64_t offset_ = 0;  // written by the io_context thread only
  checksum_result result_;
  std::optional<boost::asio::executor_work_guard<
      boost::asio::io_context::executor_type>> work_;
};

} // namespace checksum_util
