// Sending a page-cached file over loopback TCP: asio_uring::async_send_file
// (IORING_OP_SPLICE through a pipe, no user-space copy) against the
// ordinary loop of async_read_some_at into a buffer then async_write.
//
//   send_file_bench splice|copy [mebibytes] [buffer_kib]
//                   (defaults: 1024 MiB file, 1024 KiB copy buffer)
//
// A forked receiver on core 1 reads with blocking recv(2) and sums every
// byte; this process (core 0) sends the file with asio_uring and reports
// throughput and its own CPU time (user + system, io-wq workers included:
// they are threads of this process). The file lives in $TMPDIR (or /tmp),
// is read once before timing so that it is in the page cache, and is
// removed at the end. Output: one line of key=value pairs; ok=1 when the
// receiver saw every byte with the right sum.
#include <asio_uring.hpp>

#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace net = asio_uring;
using tcp = net::ip::tcp;

namespace {

void pin_to(int cpu)
{
  if (::sysconf(_SC_NPROCESSORS_ONLN) < 2)
    return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  ::sched_setaffinity(0, sizeof(set), &set);
}

unsigned char byte_at(std::uint64_t i)
{
  return static_cast<unsigned char>((i * 2654435761u) >> 13);
}

// Writes the file and returns the sum of its bytes.
std::uint64_t make_file(const std::string& path, std::uint64_t size)
{
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    std::exit(2);
  std::vector<unsigned char> block(1 << 20);
  std::uint64_t sum = 0;
  for (std::uint64_t off = 0; off < size; off += block.size())
  {
    const std::size_t n = static_cast<std::size_t>(
        std::min<std::uint64_t>(block.size(), size - off));
    for (std::size_t i = 0; i < n; ++i)
      sum += block[i] = byte_at(off + i);
    if (::write(fd, block.data(), n) != static_cast<ssize_t>(n))
      std::exit(2);
  }
  ::close(fd);
  return sum;
}

void warm(const std::string& path)
{
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  std::vector<char> buf(1 << 20);
  while (::read(fd, buf.data(), buf.size()) > 0)
  {
  }
  ::close(fd);
}

// The receiver: sums what arrives until EOF, writes "bytes sum" to out_fd.
[[noreturn]] void run_receiver(unsigned short port, int out_fd)
{
  pin_to(1);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0)
    ::_exit(3);
  std::vector<unsigned char> buf(1 << 16);
  std::uint64_t bytes = 0, sum = 0;
  for (;;)
  {
    ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
    if (r < 0)
      ::_exit(4);
    if (r == 0)
      break;
    for (ssize_t i = 0; i < r; ++i)
      sum += buf[static_cast<std::size_t>(i)];
    bytes += static_cast<std::uint64_t>(r);
  }
  std::uint64_t out[2] = {bytes, sum};
  if (::write(out_fd, out, sizeof(out)) != sizeof(out))
    ::_exit(5);
  ::_exit(0);
}

// async_read_some_at into buf, then async_write of what was read, until
// EOF.
class copier
{
public:
  copier(tcp::socket& s, net::random_access_file& f, std::size_t buffer)
    : s_(s), f_(f), buf_(buffer)
  {
  }

  void start() { read(); }
  bool failed = false;

private:
  void read()
  {
    f_.async_read_some_at(offset_, net::buffer(buf_),
        [this](boost::system::error_code ec, std::size_t n) {
          if (ec == net::error::eof)
            return s_.shutdown(tcp::socket::shutdown_send);
          if (ec)
          {
            failed = true;
            return;
          }
          offset_ += n;
          net::async_write(s_, net::buffer(buf_.data(), n),
              [this](boost::system::error_code ec, std::size_t) {
                if (ec)
                  failed = true;
                else
                  read();
              });
        });
  }

  tcp::socket& s_;
  net::random_access_file& f_;
  std::vector<unsigned char> buf_;
  std::uint64_t offset_ = 0;
};

} // namespace

int main(int argc, char* argv[])
{
  if (argc < 2 || (std::strcmp(argv[1], "splice") != 0
                      && std::strcmp(argv[1], "copy") != 0))
  {
    std::fprintf(stderr,
        "usage: send_file_bench splice|copy [mebibytes] [buffer_kib]\n");
    return 2;
  }
  const bool splice = std::strcmp(argv[1], "splice") == 0;
  const std::uint64_t size =
      (argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1024) << 20;
  const std::size_t buffer_kib =
      argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 1024;
  const char* dir = std::getenv("TMPDIR");
  const std::string path = std::string(dir && *dir ? dir : "/tmp")
      + "/asio_uring_send_file_bench." + std::to_string(::getpid());
  const std::uint64_t expected_sum = make_file(path, size);
  warm(path);

  net::ring_options options;
  options.single_issuer = true;
  net::io_context ctx(options, 1);
  tcp::acceptor acceptor(ctx,
      tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  int result_pipe[2];
  if (::pipe(result_pipe) != 0)
    return 2;
  pid_t child = ::fork();
  if (child == 0)
    run_receiver(acceptor.local_endpoint().port(), result_pipe[1]);
  ::close(result_pipe[1]);
  pin_to(0);
  tcp::socket s = acceptor.accept();
  net::random_access_file file(ctx, path, net::file_base::read_only);

  rusage before{}, after{};
  ::getrusage(RUSAGE_SELF, &before);
  auto t0 = std::chrono::steady_clock::now();
  bool failed = false;
  copier c(s, file, buffer_kib << 10);
  if (splice)
    net::async_send_file(s, file, 0, size,
        [&](boost::system::error_code ec, std::size_t n) {
          failed = ec || n != size;
          s.shutdown(tcp::socket::shutdown_send);
        });
  else
    c.start();
  ctx.run();
  std::uint64_t got[2] = {0, 0};
  const bool read_ok =
      ::read(result_pipe[0], got, sizeof(got)) == sizeof(got);
  auto t1 = std::chrono::steady_clock::now();
  ::getrusage(RUSAGE_SELF, &after);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::unlink(path.c_str());

  auto cpu = [](const rusage& r) {
    return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec)
        + static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
  };
  const double secs = std::chrono::duration<double>(t1 - t0).count();
  const bool ok = !failed && !c.failed && read_ok && got[0] == size
      && got[1] == expected_sum && WIFEXITED(status)
      && WEXITSTATUS(status) == 0;
  std::printf("variant=%s bytes=%llu seconds=%.4f MiBps=%.1f "
              "sender_cpu_s=%.4f ok=%d\n",
      splice ? "splice" : "copy", static_cast<unsigned long long>(got[0]),
      secs, static_cast<double>(size) / (1 << 20) / secs,
      cpu(after) - cpu(before), ok ? 1 : 0);
  return ok ? 0 : 1;
}
