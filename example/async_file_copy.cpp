//
// async_file_copy.cpp
// ~~~~~~~~~~~~~~~~~~~
//
// Copies a file with completion handlers:
//
//   async_file_copy SRC DST
//
// Each block is read with stream_file::async_read_some and written with the
// composed asio_uring::async_write; the write's handler starts the next
// read, so one block is in flight. DST is created or truncated. Exit
// status: 0 on success, 1 on an I/O error (the message names it), 2 on bad
// usage.
//
#include <asio_uring.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <vector>

namespace {

class file_copier
{
public:
  file_copier(asio_uring::stream_file& source, asio_uring::stream_file& target)
    : source_(source), target_(target), buffer_(128 * 1024)
  {
  }

  void start() { read_next(); }

  // The copy's outcome, valid once the io_context has run out of work.
  const boost::system::error_code& error() const noexcept { return error_; }
  std::uint64_t bytes_copied() const noexcept { return copied_; }

private:
  void read_next()
  {
    source_.async_read_some(asio_uring::buffer(buffer_),
        [this](const boost::system::error_code& ec, std::size_t n)
        {
          if (ec == asio_uring::error::eof)
            return;  // done: every byte read has been written
          if (ec)
          {
            error_ = ec;
            return;
          }
          write(n);
        });
  }

  void write(std::size_t n)
  {
    asio_uring::async_write(target_, asio_uring::buffer(buffer_.data(), n),
        [this](const boost::system::error_code& ec, std::size_t written)
        {
          copied_ += written;
          if (ec)
          {
            error_ = ec;
            return;
          }
          read_next();
        });
  }

  asio_uring::stream_file& source_;
  asio_uring::stream_file& target_;
  std::vector<unsigned char> buffer_;
  boost::system::error_code error_;
  std::uint64_t copied_ = 0;
};

} // namespace

int main(int argc, char** argv)
{
  if (argc != 3)
  {
    std::fprintf(stderr, "usage: async_file_copy SRC DST\n");
    return 2;
  }

  try
  {
    asio_uring::io_context ctx;
    asio_uring::stream_file source(ctx, argv[1],
        asio_uring::stream_file::read_only);
    asio_uring::stream_file target(ctx, argv[2],
        asio_uring::stream_file::write_only | asio_uring::stream_file::create
            | asio_uring::stream_file::truncate);

    file_copier copier(source, target);
    copier.start();
    ctx.run();

    if (copier.error())
    {
      std::fprintf(stderr, "async_file_copy: %s\n",
          copier.error().message().c_str());
      return 1;
    }
    std::printf("copied %llu bytes\n",
        static_cast<unsigned long long>(copier.bytes_copied()));
    return 0;
  }
  catch (const std::exception& e)
  {
    // Opening a file or setting up the ring failed.
    std::fprintf(stderr, "async_file_copy: %s\n", e.what());
    return 1;
  }
}
