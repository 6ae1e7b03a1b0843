// Bounded TCP stress with every byte verified. 2,000 connections on
// 127.0.0.1 stay open at once for the whole run: a server io_context on its
// own thread accepts them and echoes every byte (async_read_some of a
// per-session random size, then a composed async_write), and a client
// io_context on the test's thread drives them all. Each client connection
// streams pseudo-random bytes from its own seed in chunks of random sizes
// (1 byte to 16 KiB; some connections write and read through two-buffer
// sequences, i.e. SENDMSG/RECVMSG), while it reads the echo and compares
// every byte with the same stream regenerated from the seed.
//
// At the deadline the writers stop and half-close (shutdown send); the
// server answers end of stream with its own half-close once everything
// before it is echoed, so each connection ends with the client reading
// end of stream. Then every connection must have verified exactly the
// bytes it sent, with no mismatch and no error. A writer stays at most
// 32 KiB ahead of its verified bytes, so the drain after the deadline is
// bounded (at most 2,000 x 48 KiB in flight).
//
// Bounded: ASIO_URING_STRESS_TCP_SECONDS (default 60) of streaming, and a
// watchdog 40 s after the deadline: both loops run with run_until() and the
// test fails, rather than hangs, if any connection is unfinished by then.
// Soak mode, by hand: ASIO_URING_STRESS_TCP_SECONDS=600 ./test_stress_tcp.
// The seed is printed (ASIO_URING_STRESS_TCP_SEED repeats one).
#include <asio_uring.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>

namespace net = boost::asio;
using asio_uring::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr int connections = 2000;
constexpr std::size_t max_chunk = 16 * 1024;  // writes and reads
constexpr std::uint64_t window = 32 * 1024;   // sent but not yet verified
constexpr auto watchdog_margin = 40s;         // after the deadline

// SplitMix64: small, fast, and every seed gives a different stream.
struct prng
{
  std::uint64_t state;
  std::uint64_t next() noexcept
  {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

// The endless byte stream of one connection: the same seed regenerates it.
class byte_stream
{
public:
  explicit byte_stream(std::uint64_t seed) : gen_{seed} {}

  void fill(unsigned char* p, std::size_t n) noexcept
  {
    while (n > 0 && left_ > 0)
      take(p, n);
    for (; n >= 8; p += 8, n -= 8)
    {
      const std::uint64_t w = gen_.next();
      std::memcpy(p, &w, 8);
    }
    while (n > 0)
    {
      if (left_ == 0)
      {
        word_ = gen_.next();
        left_ = 8;
      }
      take(p, n);
    }
  }

private:
  void take(unsigned char*& p, std::size_t& n) noexcept
  {
    *p++ = static_cast<unsigned char>(word_);
    word_ >>= 8;
    --left_;
    --n;
  }

  prng gen_;
  std::uint64_t word_ = 0;
  unsigned left_ = 0;
};

// A chunk size: mostly small (many operations), sometimes up to 16 KiB.
std::size_t chunk_size(prng& g)
{
  const std::uint64_t r = g.next();
  switch (r % 8)
  {
  case 0: case 1: case 2: case 3:
    return 1 + (r >> 8) % 256;
  case 4: case 5: case 6:
    return 257 + (r >> 8) % (4096 - 256);
  default:
    return 4097 + (r >> 8) % (max_chunk - 4096);
  }
}

struct client_totals
{
  int connected = 0;
  int finished = 0;       // read end of stream after writing stopped
  int failed = 0;         // any error on the connection
  std::uint64_t sent = 0;
  std::uint64_t verified = 0;
  std::uint64_t mismatched = 0;
  std::uint64_t operations = 0;
};

// One client connection: a writer and a reader running side by side.
struct client_conn
{
  client_conn(asio_uring::io_context& ctx, int i, std::uint64_t seed)
    : s(ctx), id(i), out(seed), expect(seed), sizes{seed ^ 0x5bd1e995ull},
      wbuf(max_chunk), rbuf(1 + prng{seed + 1}.next() % max_chunk),
      scratch(max_chunk)
  {
  }

  tcp::socket s;
  int id;
  byte_stream out;     // what the writer sends
  byte_stream expect;  // the same stream, for the reader to compare with
  prng sizes;
  std::vector<unsigned char> wbuf, rbuf, scratch;
  std::uint64_t sent = 0, verified = 0, mismatched = 0;
  bool writer_waiting = false;  // the window is full
  bool write_done = false;
  bool read_done = false;
  boost::system::error_code error;
};

class client
{
public:
  client(asio_uring::io_context& ctx, const tcp::endpoint& server,
      std::uint64_t seed)
    : ctx_(ctx), server_(server)
  {
    conns_.reserve(connections);
    for (int i = 0; i < connections; ++i)
      conns_.push_back(std::make_unique<client_conn>(ctx, i,
          seed * 1000003u + static_cast<std::uint64_t>(i)));
  }

  void start(std::chrono::steady_clock::time_point deadline)
  {
    for (auto& c : conns_)
    {
      ++t_.operations;
      c->s.async_connect(server_,
          [this, p = c.get()](boost::system::error_code ec) {
            if (ec)
              return fail(*p, ec);
            ++t_.connected;
            write_next(*p);
            read_next(*p);
          });
    }
    stop_timer_.expires_at(deadline);
    stop_timer_.async_wait([this](boost::system::error_code) {
      stopping_ = true;
      for (auto& c : conns_)
        if (c->writer_waiting)
        {
          c->writer_waiting = false;
          write_next(*c);
        }
    });
  }

  const client_totals& totals() const { return t_; }
  const std::vector<std::unique_ptr<client_conn>>& conns() const
  {
    return conns_;
  }

private:
  void write_next(client_conn& c)
  {
    if (c.error)
      return;
    if (stopping_)
    {
      c.write_done = true;
      boost::system::error_code ec;
      c.s.shutdown(tcp::socket::shutdown_send, ec);
      if (ec)
        return fail(c, ec);
      return;
    }
    if (c.sent - c.verified > window)
    {
      c.writer_waiting = true;
      return;
    }
    const std::size_t n = chunk_size(c.sizes);
    c.out.fill(c.wbuf.data(), n);
    auto done = [this, p = &c, n](boost::system::error_code ec, std::size_t m) {
      if (ec)
        return fail(*p, ec);
      if (m != n)
        return fail(*p, net::error::message_size);
      p->sent += n;
      t_.sent += n;
      write_next(*p);
    };
    ++t_.operations;
    if (c.id % 4 == 1)
    {
      const std::array<net::const_buffer, 2> two{
          net::buffer(c.wbuf.data(), n / 2),
          net::buffer(c.wbuf.data() + n / 2, n - n / 2)};
      net::async_write(c.s, two, done);
    }
    else
      net::async_write(c.s, net::buffer(c.wbuf.data(), n), done);
  }

  void read_next(client_conn& c)
  {
    auto done = [this, p = &c](boost::system::error_code ec, std::size_t n) {
      if (ec == net::error::eof && p->write_done)
      {
        p->read_done = true;
        ++t_.finished;
        boost::system::error_code ignored;
        p->s.close(ignored);
        return;
      }
      if (ec)
        return fail(*p, ec);
      verify(*p, n);
      if (p->writer_waiting && p->sent - p->verified <= window)
      {
        p->writer_waiting = false;
        write_next(*p);
      }
      read_next(*p);
    };
    ++t_.operations;
    if (c.id % 4 == 2 && c.rbuf.size() >= 2)
    {
      const std::size_t half = c.rbuf.size() / 2;
      const std::array<net::mutable_buffer, 2> two{
          net::buffer(c.rbuf.data(), half),
          net::buffer(c.rbuf.data() + half, c.rbuf.size() - half)};
      c.s.async_read_some(two, done);
    }
    else
      c.s.async_read_some(net::buffer(c.rbuf), done);
  }

  void verify(client_conn& c, std::size_t n)
  {
    c.expect.fill(c.scratch.data(), n);
    if (std::memcmp(c.scratch.data(), c.rbuf.data(), n) == 0)
    {
      c.verified += n;
      t_.verified += n;
      return;
    }
    for (std::size_t i = 0; i < n; ++i)
      if (c.scratch[i] != c.rbuf[i])
      {
        ++c.mismatched;
        ++t_.mismatched;
      }
      else
      {
        ++c.verified;
        ++t_.verified;
      }
  }

  // The first error ends the connection: closing it aborts the other half.
  void fail(client_conn& c, boost::system::error_code ec)
  {
    if (c.error)
      return;
    c.error = ec;
    ++t_.failed;
    if (t_.failed <= 5)
      std::fprintf(stderr, "stress_tcp: connection %d: %s\n", c.id,
          ec.message().c_str());
    boost::system::error_code ignored;
    c.s.close(ignored);
  }

  asio_uring::io_context& ctx_;
  tcp::endpoint server_;
  std::vector<std::unique_ptr<client_conn>> conns_;
  asio_uring::steady_timer stop_timer_{ctx_};
  bool stopping_ = false;
  client_totals t_;
};

struct server_totals
{
  int accepted = 0;
  int closed = 0;         // end of stream echoed back
  int failed = 0;
  std::uint64_t echoed = 0;
  std::uint64_t operations = 0;
};

// Accepts `connections` sockets and echoes each until end of stream, which
// it answers with its own half-close.
class server
{
public:
  server(asio_uring::io_context& ctx, std::uint64_t seed)
    : acceptor_(ctx, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)),
      sizes_{seed}
  {
  }

  tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }

  void start()
  {
    for (int i = 0; i < 16; ++i)
      accept_one();
  }

  const server_totals& totals() const { return t_; }

private:
  struct session : std::enable_shared_from_this<session>
  {
    session(tcp::socket sock, std::size_t size)
      : s(std::move(sock)), buf(size)
    {
    }
    tcp::socket s;
    std::vector<unsigned char> buf;
  };

  void accept_one()
  {
    if (accepts_started_ == connections)
      return;
    ++accepts_started_;
    ++t_.operations;
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec)
      {
        ++t_.failed;
        std::fprintf(stderr, "stress_tcp: accept: %s\n", ec.message().c_str());
        return;
      }
      ++t_.accepted;
      echo(std::make_shared<session>(std::move(s),
          1 + sizes_.next() % max_chunk));
      accept_one();
    });
  }

  void echo(std::shared_ptr<session> ss)
  {
    ++t_.operations;
    session& r = *ss;
    r.s.async_read_some(net::buffer(r.buf),
        [this, ss = std::move(ss)](boost::system::error_code ec, std::size_t n) mutable {
          if (ec == net::error::eof)
          {
            boost::system::error_code sec;
            ss->s.shutdown(tcp::socket::shutdown_send, sec);
            if (sec)
              ++t_.failed;
            else
              ++t_.closed;
            return;  // the last reference: the socket closes
          }
          if (ec)
          {
            ++t_.failed;
            return;
          }
          t_.echoed += n;
          ++t_.operations;
          session& r2 = *ss;
          net::async_write(r2.s, net::buffer(r2.buf.data(), n),
              [this, ss = std::move(ss)](boost::system::error_code ec2, std::size_t) mutable {
                if (ec2)
                {
                  ++t_.failed;
                  return;
                }
                echo(std::move(ss));
              });
        });
  }

  tcp::acceptor acceptor_;
  prng sizes_;
  int accepts_started_ = 0;
  server_totals t_;
};

std::uint64_t env_number(const char* name, std::uint64_t fallback)
{
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

} // namespace

BOOST_AUTO_TEST_SUITE(stress_tcp)

BOOST_AUTO_TEST_CASE(two_thousand_connections_stream_and_verify_every_byte)
{
  // Both ends live in this process: about 4,000 descriptors.
  const rlim_t needed = 2 * connections + 200;
  rlimit saved{};
  ::getrlimit(RLIMIT_NOFILE, &saved);
  if (saved.rlim_max < needed)
  {
    BOOST_TEST_MESSAGE("SKIPPED: RLIMIT_NOFILE hard limit " << saved.rlim_max
        << " is below " << needed);
    return;
  }
  if (saved.rlim_cur < needed)
  {
    rlimit raised = saved;
    raised.rlim_cur = needed;
    BOOST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &raised) == 0);
  }

  const auto duration =
      std::chrono::seconds(env_number("ASIO_URING_STRESS_TCP_SECONDS", 60));
  const std::uint64_t seed =
      env_number("ASIO_URING_STRESS_TCP_SEED", std::random_device()());
  BOOST_TEST_MESSAGE("seed " << seed << ", " << duration.count() << " s");

  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + duration;
  const auto watchdog = deadline + watchdog_margin;

  server_totals st;
  client_totals ct;
  std::vector<std::string> unfinished;  // connections the watchdog caught
  {
    asio_uring::io_context server_ctx(1);
    asio_uring::io_context client_ctx(1);
    server srv(server_ctx, seed);
    client cli(client_ctx, srv.endpoint(), seed);
    srv.start();
    std::thread server_thread([&] { server_ctx.run_until(watchdog); });
    cli.start(deadline);
    client_ctx.run_until(watchdog);
    server_thread.join();
    st = srv.totals();
    ct = cli.totals();
    for (const auto& c : cli.conns())
    {
      if (c->read_done && !c->error && c->verified == c->sent
          && c->mismatched == 0)
        continue;
      if (unfinished.size() < 10)
        unfinished.push_back("connection " + std::to_string(c->id) + ": sent "
            + std::to_string(c->sent) + ", verified "
            + std::to_string(c->verified) + ", mismatched "
            + std::to_string(c->mismatched) + ", write "
            + (c->write_done ? "done" : "open") + ", read "
            + (c->read_done ? "done" : "open")
            + (c->error ? ", error " + c->error.message() : std::string()));
    }
    // The contexts' destructors cancel anything the watchdog left behind.
  }
  if (saved.rlim_cur < needed)
    ::setrlimit(RLIMIT_NOFILE, &saved);

  const double secs = std::chrono::duration<double>(
      std::chrono::steady_clock::now() - start).count();
  std::printf("stress_tcp: %d connections for %.1f s (%lld s streaming), "
              "%llu bytes sent, %llu bytes verified, %llu bytes echoed, "
              "%llu operations; mismatched %llu, failed %d, unfinished %d\n",
      ct.connected, secs, static_cast<long long>(duration.count()),
      static_cast<unsigned long long>(ct.sent),
      static_cast<unsigned long long>(ct.verified),
      static_cast<unsigned long long>(st.echoed),
      static_cast<unsigned long long>(ct.operations + st.operations),
      static_cast<unsigned long long>(ct.mismatched), ct.failed + st.failed,
      connections - ct.finished);
  for (const auto& u : unfinished)
    BOOST_TEST_MESSAGE(u);

  BOOST_TEST(ct.connected == connections);
  BOOST_TEST(st.accepted == connections);
  BOOST_TEST(ct.finished == connections);
  BOOST_TEST(st.closed == connections);
  BOOST_TEST(ct.failed == 0);
  BOOST_TEST(st.failed == 0);
  BOOST_TEST(ct.mismatched == 0u);
  BOOST_TEST(ct.verified == ct.sent);
  BOOST_TEST(st.echoed == ct.sent);
  BOOST_TEST(ct.sent > 0u);
  BOOST_TEST(unfinished.empty());
}

BOOST_AUTO_TEST_SUITE_END()
