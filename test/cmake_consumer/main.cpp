// A tiny program built by the consumer projects: it proves that a project
// outside this tree can include <asio_uring.hpp>, link asio_uring::asio_uring
// and complete one asynchronous read through the ring.
#include <asio_uring.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <unistd.h>

int main()
{
  boost::system::error_code support;
  if (!asio_uring::is_supported(support))
  {
    std::fprintf(stderr, "consumer: io_uring unavailable: %s\n",
        support.message().c_str());
    return 1;
  }

  const std::string expected = "asio_uring consumer check\n";
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir && *dir ? dir : "/tmp")
      + "/asio_uring_consumer_XXXXXX";
  int fd = ::mkstemp(path.data());
  if (fd < 0
      || ::write(fd, expected.data(), expected.size())
          != static_cast<ssize_t>(expected.size()))
  {
    std::perror("consumer: temporary file");
    return 1;
  }
  ::close(fd);

  asio_uring::io_context ctx;
  asio_uring::stream_file file(ctx, path, asio_uring::file_base::read_only);
  std::string got(64, '\0');
  boost::system::error_code result = asio_uring::error::would_block;
  std::size_t bytes = 0;
  file.async_read_some(asio_uring::buffer(got),
      [&](boost::system::error_code ec, std::size_t n) {
        result = ec;
        bytes = n;
      });
  ctx.run();
  ::unlink(path.c_str());

  got.resize(bytes);
  if (result || got != expected)
  {
    std::fprintf(stderr, "consumer: read failed: %s (%zu bytes)\n",
        result.message().c_str(), bytes);
    return 1;
  }
  std::printf("consumer: async read of %zu bytes OK\n", bytes);
  return 0;
}
