// W5: TCP stream checksum over loopback. A forked sender pushes a large
// deterministic stream with blocking send(2); this process receives it with
// the library under test (async_read_some into a 64 KiB buffer, summing
// every byte) and reports throughput. Sender and receiver are pinned to
// different cores when the machine has two.
//
//   stream_checksum [mebibytes]       (default 2048)
//
// Builds: asio_uring (default) or Boost.Asio (STREAM_CHECKSUM_BOOST_ASIO,
// epoll reactor). Output: one line of key=value pairs.
#ifdef STREAM_CHECKSUM_BOOST_ASIO
#include <boost/asio.hpp>
namespace net = boost::asio;
constexpr const char* variant = "boost_epoll";
#else
#include <asio_uring.hpp>
namespace net = asio_uring;
constexpr const char* variant = "asio_uring";
#endif

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

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

// The stream is this block repeated; its byte sum is known in advance.
std::vector<unsigned char> pattern()
{
  std::vector<unsigned char> p(1 << 20);
  std::uint32_t x = 2463534242u;
  for (auto& b : p)
  {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<unsigned char>(x);
  }
  return p;
}

[[noreturn]] void run_sender(unsigned short port, std::uint64_t total)
{
  pin_to(1);
  auto p = pattern();
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0)
    ::_exit(2);
  std::uint64_t sent = 0;
  while (sent < total)
  {
    std::size_t n = static_cast<std::size_t>(
        std::min<std::uint64_t>(p.size(), total - sent));
    ssize_t r = ::send(fd, p.data(), n, MSG_NOSIGNAL);
    if (r <= 0)
      ::_exit(3);
    sent += static_cast<std::uint64_t>(r);
    // Keep the stream aligned to the pattern: send the rest of a short write.
    std::size_t off = static_cast<std::size_t>(r);
    while (off < n)
    {
      r = ::send(fd, p.data() + off, n - off, MSG_NOSIGNAL);
      if (r <= 0)
        ::_exit(3);
      off += static_cast<std::size_t>(r);
      sent += static_cast<std::uint64_t>(r);
    }
  }
  ::close(fd);
  ::_exit(0);
}

class receiver
{
public:
  explicit receiver(tcp::socket& s) : socket_(s) {}

  void start()
  {
    socket_.async_read_some(net::buffer(buf_),
        [this](boost::system::error_code ec, std::size_t n) {
          for (std::size_t i = 0; i < n; ++i)
            sum_ += buf_[i];
          bytes_ += n;
          if (!ec)
            start();
          else if (ec != net::error::eof)
            error_ = true;
        });
  }

  std::uint64_t sum_ = 0;
  std::uint64_t bytes_ = 0;
  bool error_ = false;

private:
  tcp::socket& socket_;
  std::array<unsigned char, 65536> buf_;
};

} // namespace

int main(int argc, char* argv[])
{
  const std::uint64_t total =
      (argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 2048) << 20;
  auto p = pattern();
  std::uint64_t block_sum = 0;
  for (auto b : p)
    block_sum += b;
  std::uint64_t expected = (total / p.size()) * block_sum;
  for (std::size_t i = 0; i < total % p.size(); ++i)
    expected += p[i];

  net::io_context ctx(1);
  tcp::acceptor acceptor(ctx, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  const unsigned short port = acceptor.local_endpoint().port();
  pid_t child = ::fork();
  if (child == 0)
    run_sender(port, total);
  pin_to(0);
  tcp::socket s = acceptor.accept();
  rusage before{}, after{};
  ::getrusage(RUSAGE_SELF, &before);
  auto t0 = std::chrono::steady_clock::now();
  receiver r(s);
  r.start();
  ctx.run();
  auto t1 = std::chrono::steady_clock::now();
  ::getrusage(RUSAGE_SELF, &after);
  int status = 0;
  ::waitpid(child, &status, 0);
  const double secs = std::chrono::duration<double>(t1 - t0).count();
  const bool ok = !r.error_ && r.bytes_ == total && r.sum_ == expected
      && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  std::printf("variant=%s bytes=%llu seconds=%.4f MiBps=%.1f checksum=%llu "
              "expected=%llu ctx_switches=%ld ok=%d\n",
      variant, static_cast<unsigned long long>(r.bytes_), secs,
      static_cast<double>(r.bytes_) / (1 << 20) / secs,
      static_cast<unsigned long long>(r.sum_),
      static_cast<unsigned long long>(expected),
      (after.ru_nvcsw + after.ru_nivcsw) - (before.ru_nvcsw + before.ru_nivcsw),
      ok ? 1 : 0);
  return ok ? 0 : 1;
}
