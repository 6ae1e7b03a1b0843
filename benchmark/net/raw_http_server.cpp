// W3's raw liburing floor: the HTTP/1.1 keep-alive server of
// example/net/http_server.cpp (fixed-response mode) written directly on
// liburing, with no Boost and no asio_uring in between. What it answers is
// what the example answers, byte for byte: the same 13-byte "Hello, World!"
// response (and the same 400, 405 and 431 responses), every complete
// request in a read answered in order, pipelined ones included, with one
// send of all their responses; EOF or an error closes the connection, and
// so does a response marked "Connection: close" once it is sent (after a
// shutdown of the sending side). The request head parser and those
// responses are the example's own, from example/net/http_head.hpp.
//
//   w3_http_raw_liburing [port]        (0 or none: any free port)
//
// Like the example: listens on 0.0.0.0 (SO_REUSEADDR, backlog SOMAXCONN),
// sets TCP_NODELAY on every connection, prints "listening on <port>" once
// ready, and stops on SIGINT/SIGTERM. There is no docroot mode: a second
// argument is refused.
//
// The ring (1024 SQEs, single thread):
//   default (RAW_HTTP_FLAGS unset, empty or "defer")
//                         SUBMIT_ALL | SINGLE_ISSUER | DEFER_TASKRUN, CQ of
//                         4096 and a registered ring fd, as asio_uring's
//                         single-issuer io_context sets it up; if the kernel
//                         refuses it, SUBMIT_ALL | COOP_TASKRUN |
//                         TASKRUN_FLAG, then setup flags 0.
//   RAW_HTTP_FLAGS=plain  setup flags 0 (the kernel's defaults, CQ of 2048,
//                         no registered ring fd).
// The flags in use go to stderr at start.
//   RAW_HTTP_POLL_FIRST set: a recv whose predecessor on the connection did
//                         not report IORING_CQE_F_SOCK_NONEMPTY (the socket
//                         was drained) goes in with IORING_RECVSEND_POLL_FIRST,
//                         skipping the kernel's first, usually empty, attempt
//                         (benchmark/net/raw_http_ab.sh --variant poll_first).
//   RAW_HTTP_MULTISHOT set: each connection keeps one multishot recv armed
//                         (IORING_RECV_MULTISHOT) that takes its buffers
//                         from a provided-buffer ring (1,024 buffers of
//                         4 KiB, IORING_REGISTER_PBUF_RING), as asio_uring's
//                         multishot receive extension does; each CQE's bytes
//                         are copied into the connection's buffer and the
//                         buffer given back at once. A recv ended without
//                         IORING_CQE_F_MORE (ENOBUFS, say) is armed again.
//                         A send may then be in flight next to the recv
//                         (benchmark/net/raw_http_ab.sh --variant multishot).
//
// The loop: one multishot accept on the listening socket; per connection
// at most one operation in flight, a recv into the connection's buffer or a
// send of its pending responses (resubmitted for the rest after a short
// send). Each turn is one io_uring_submit_and_wait(ring, 1); its CQEs are
// copied out with io_uring_for_each_cqe and given back at once with
// io_uring_cq_advance, then handled. A full SQ is flushed with
// io_uring_submit and the SQE taken again (a kernel answering EBUSY or
// EAGAIN there gets its CQ reaped first). -EAGAIN and -EINTR resubmit the
// same operation; -ENOBUFS, like every other error, closes the connection,
// as the example does (its send and receive report it as an error; an
// accept error of any kind arms the accept again). A connection's state is
// freed only when none of its operations is in flight. SIGINT/SIGTERM
// arrive on a signalfd polled through the ring; the server then cancels
// every operation (IORING_ASYNC_CANCEL_ANY), waits for all their CQEs,
// closes everything and exits.
#include <liburing.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "../../example/net/http_head.hpp"

namespace {

constexpr unsigned sq_entries = 1024;
constexpr unsigned cq_entries = 4096;  // the default ring only; plain: 2x SQ
constexpr std::size_t initial_buffer = 8192;
constexpr std::size_t min_free_for_recv = 4096;
constexpr unsigned provided_count = 1024;  // RAW_HTTP_MULTISHOT only
constexpr unsigned provided_size = 4096;
constexpr unsigned short provided_group = 0;

// The example's responses (http_head.hpp), built once.
const std::string bad_request =
    http_head::status_response(400, "Bad Request", false);
const std::string header_too_large = http_head::status_response(
    431, "Request Header Fields Too Large", false);
const std::string not_allowed_keep_alive =
    http_head::status_response(405, "Method Not Allowed", true);
const std::string not_allowed_close =
    http_head::status_response(405, "Method Not Allowed", false);

[[noreturn]] void die(const char* what, int err)
{
  std::fprintf(stderr, "raw_http_server: %s: %s\n", what, std::strerror(err));
  std::exit(1);
}

struct connection
{
  explicit connection(int f) : fd(f) {}

  int fd;
  std::vector<char> in = std::vector<char>(initial_buffer);
  std::size_t in_used = 0;
  std::string out;           // responses being sent (or gathered)
  std::size_t out_sent = 0;  // of out, acknowledged by send CQEs
  bool close_after = false;  // the last response says Connection: close
  bool closing = false;      // finished: freed when in_flight reaches 0
  unsigned in_flight = 0;    // SQEs whose CQE has not been handled
  bool nonempty = false;     // the last recv left data in the socket
  bool recv_armed = false;   // RAW_HTTP_MULTISHOT: its multishot recv is
  bool sending = false;      // a send is in flight
};

// user_data: a connection's address with the operation in the low bits;
// the operations without a connection use address 0.
enum : std::uint64_t
{
  op_recv = 0,
  op_send = 1,
  op_accept = 2,
  op_signal = 3,
  op_cancel = 4,
  op_mask = 7,
};
static_assert(alignof(connection) >= 8);

struct completion
{
  std::uint64_t user_data;
  std::int32_t res;
  std::uint32_t flags;
};

class server
{
public:
  server(int listen_fd, int signal_fd, bool plain)
    : listen_fd_(listen_fd), signal_fd_(signal_fd)
  {
    setup_ring(plain);
    if (multishot_)
      setup_provided_buffers();
  }

  ~server()
  {
    io_uring_queue_exit(&ring_);
    if (provided_ring_)
      ::munmap(provided_ring_, provided_ring_bytes());
  }

  void run()
  {
    arm_accept();
    arm_signal();
    while (in_flight_ > 0)
    {
      int r = io_uring_submit_and_wait(&ring_, 1);
      if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY && r != -ETIME)
        die("io_uring_submit_and_wait", -r);
      reap();
      // Handlers may reap more (a full SQ): index, not iterators.
      for (std::size_t i = 0; i < pending_.size(); ++i)
      {
        const completion c = pending_[i];
        dispatch(c);
      }
      pending_.clear();
    }
  }

private:
  void setup_ring(bool plain)
  {
    const unsigned defer = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER
        | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
    const unsigned coop = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN
        | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_CQSIZE;
    // The default ring and its fallbacks for kernels that refuse it.
    const unsigned tries[] = {defer, coop, 0};
    const unsigned plain_only[] = {0};
    const unsigned* first = plain ? plain_only : tries;
    const std::size_t count = plain ? 1 : std::size(tries);
    int r = -EINVAL;
    unsigned flags = 0;
    for (std::size_t i = 0; i < count && r == -EINVAL; ++i)
    {
      io_uring_params p;
      std::memset(&p, 0, sizeof(p));
      flags = p.flags = first[i];
      if (flags & IORING_SETUP_CQSIZE)
        p.cq_entries = cq_entries;
      r = io_uring_queue_init_params(sq_entries, &ring_, &p);
    }
    if (r < 0)
      die("io_uring_queue_init_params", -r);
    const bool registered = (flags & IORING_SETUP_SINGLE_ISSUER)
        && io_uring_register_ring_fd(&ring_) == 1;
    std::fprintf(stderr, "raw_http_server: ring setup flags %s%s%s (0x%x), "
        "%u SQEs, %u CQEs%s\n",
        flags == 0 ? "0" : "SUBMIT_ALL",
        flags & IORING_SETUP_DEFER_TASKRUN ? " | SINGLE_ISSUER | DEFER_TASKRUN" : "",
        flags & IORING_SETUP_COOP_TASKRUN ? " | COOP_TASKRUN | TASKRUN_FLAG" : "",
        flags, ring_.sq.ring_entries, ring_.cq.ring_entries,
        registered ? ", registered ring fd" : "");
  }

  static std::size_t provided_ring_bytes()
  {
    return provided_count * sizeof(io_uring_buf);
  }

  // RAW_HTTP_MULTISHOT: the buffer ring of group provided_group, full.
  void setup_provided_buffers()
  {
    void* mem = ::mmap(nullptr, provided_ring_bytes(), PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
      die("mmap", errno);
    provided_ring_ = static_cast<io_uring_buf_ring*>(mem);
    io_uring_buf_ring_init(provided_ring_);
    io_uring_buf_reg reg;
    std::memset(&reg, 0, sizeof(reg));
    reg.ring_addr = reinterpret_cast<std::uintptr_t>(provided_ring_);
    reg.ring_entries = provided_count;
    reg.bgid = provided_group;
    if (int r = io_uring_register_buf_ring(&ring_, &reg, 0); r < 0)
      die("io_uring_register_buf_ring", -r);
    provided_.resize(std::size_t(provided_count) * provided_size);
    for (unsigned i = 0; i < provided_count; ++i)
      give_back(static_cast<unsigned short>(i), static_cast<int>(i));
    io_uring_buf_ring_advance(provided_ring_, static_cast<int>(provided_count));
  }

  // Puts buffer bid back at position offset past the ring's tail (advance
  // makes it visible).
  void give_back(unsigned short bid, int offset)
  {
    io_uring_buf_ring_add(provided_ring_,
        provided_.data() + std::size_t(bid) * provided_size, provided_size,
        bid, io_uring_buf_ring_mask(provided_count), offset);
  }

  // Copies the CQEs out and gives their slots back.
  bool reap()
  {
    io_uring_cqe* cqe;
    unsigned head;
    unsigned n = 0;
    io_uring_for_each_cqe(&ring_, head, cqe)
    {
      pending_.push_back({cqe->user_data, cqe->res, cqe->flags});
      ++n;
    }
    io_uring_cq_advance(&ring_, n);
    return n > 0;
  }

  // An SQE, flushing the SQ when it is full.
  io_uring_sqe* get_sqe()
  {
    for (;;)
    {
      if (io_uring_sqe* sqe = io_uring_get_sqe(&ring_))
        return sqe;
      int r = io_uring_submit(&ring_);
      if (r == -EBUSY || r == -EAGAIN)
      {
        // The kernel wants completions reaped first.
        if (!reap())
          sched_yield();
      }
      else if (r < 0 && r != -EINTR)
        die("io_uring_submit", -r);
    }
  }

  void arm_accept()
  {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_multishot_accept(sqe, listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, op_accept);
    accept_armed_ = true;
    ++in_flight_;
  }

  void arm_signal()
  {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_poll_add(sqe, signal_fd_, POLLIN);
    io_uring_sqe_set_data64(sqe, op_signal);
    ++in_flight_;
  }

  void start_recv(connection* c)
  {
    if (multishot_)
    {
      if (c->recv_armed)
        return;  // already receiving
      io_uring_sqe* sqe = get_sqe();
      io_uring_prep_recv_multishot(sqe, c->fd, nullptr, 0, 0);
      sqe->flags |= IOSQE_BUFFER_SELECT;
      sqe->buf_group = provided_group;
      io_uring_sqe_set_data64(sqe, reinterpret_cast<std::uintptr_t>(c) | op_recv);
      c->recv_armed = true;
      ++c->in_flight;
      ++in_flight_;
      return;
    }
    // Grown only here, with nothing of c in flight: no recv targets it.
    if (c->in.size() - c->in_used < min_free_for_recv)
      c->in.resize(std::max(c->in.size() * 2, initial_buffer));
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_recv(sqe, c->fd, c->in.data() + c->in_used,
        c->in.size() - c->in_used, 0);
    if (poll_first_ && !c->nonempty)
      sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
    io_uring_sqe_set_data64(sqe, reinterpret_cast<std::uintptr_t>(c) | op_recv);
    ++c->in_flight;
    ++in_flight_;
  }

  void start_send(connection* c)
  {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_send(sqe, c->fd, c->out.data() + c->out_sent,
        c->out.size() - c->out_sent, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, reinterpret_cast<std::uintptr_t>(c) | op_send);
    c->sending = true;
    ++c->in_flight;
    ++in_flight_;
  }

  void dispatch(const completion& c)
  {
    connection* conn = reinterpret_cast<connection*>(
        static_cast<std::uintptr_t>(c.user_data & ~std::uint64_t(op_mask)));
    switch (c.user_data & op_mask)
    {
    case op_recv:
      if (multishot_)
      {
        on_multishot_recv(conn, c);
        break;
      }
      --in_flight_;
      --conn->in_flight;
      conn->nonempty = (c.flags & IORING_CQE_F_SOCK_NONEMPTY) != 0;
      on_recv(conn, c.res);
      break;
    case op_send:
      --in_flight_;
      --conn->in_flight;
      conn->sending = false;
      on_send(conn, c.res);
      break;
    case op_accept:
      if (!(c.flags & IORING_CQE_F_MORE))
      {
        --in_flight_;
        accept_armed_ = false;
      }
      on_accept(c.res);
      break;
    case op_signal:
      --in_flight_;
      on_signal(c.res);
      break;
    case op_cancel:
      --in_flight_;
      break;
    }
  }

  void on_accept(int res)
  {
    if (res >= 0)
    {
      if (stopping_)
        ::close(res);
      else
      {
        int one = 1;
        (void)::setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        start_recv(new connection(res));
      }
    }
    // Errors (EMFILE, ECONNABORTED, ...): accept again, as the example does.
    if (!accept_armed_ && !stopping_)
      arm_accept();
  }

  void on_signal(int res)
  {
    if (stopping_)
      return;
    if (res < 0 && res != -EINTR && res != -EAGAIN && res != -ECANCELED)
      die("poll on the signalfd", -res);
    signalfd_siginfo info;
    if (res > 0 && ::read(signal_fd_, &info, sizeof(info)) == sizeof(info))
    {
      // SIGINT or SIGTERM: cancel everything in flight, then drain.
      stopping_ = true;
      io_uring_sqe* sqe = get_sqe();
      io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
      io_uring_sqe_set_data64(sqe, op_cancel);
      ++in_flight_;
      return;
    }
    arm_signal();
  }

  void on_recv(connection* c, int res)
  {
    if (c->closing || stopping_)
      return finish(c);
    if (res == -EAGAIN || res == -EINTR)
      return start_recv(c);
    if (res <= 0)
      return finish(c);  // EOF, or an error (ENOBUFS included)
    c->in_used += static_cast<std::size_t>(res);
    answer(c);
  }

  // RAW_HTTP_MULTISHOT: a CQE of the connection's multishot recv.
  void on_multishot_recv(connection* c, const completion& cqe)
  {
    const bool more = (cqe.flags & IORING_CQE_F_MORE) != 0;
    if (!more)
    {
      --in_flight_;
      --c->in_flight;
      c->recv_armed = false;
    }
    std::size_t n = 0;
    if (cqe.flags & IORING_CQE_F_BUFFER)
    {
      const auto bid = static_cast<unsigned short>(
          cqe.flags >> IORING_CQE_BUFFER_SHIFT);
      n = cqe.res > 0 ? static_cast<std::size_t>(cqe.res) : 0;
      if (c->in.size() - c->in_used < n)
        c->in.resize(std::max(c->in.size() * 2, c->in_used + n));
      std::memcpy(c->in.data() + c->in_used,
          provided_.data() + std::size_t(bid) * provided_size, n);
      give_back(bid, 0);
      io_uring_buf_ring_advance(provided_ring_, 1);
    }
    if (c->closing || stopping_)
      return finish(c);
    if (cqe.res == -ENOBUFS || cqe.res == -EAGAIN || cqe.res == -EINTR)
      return start_recv(c);  // armed again (its buffers are back)
    if (cqe.res <= 0)
      return finish(c);  // EOF, or an error
    c->in_used += n;
    if (!more)
      start_recv(c);  // first: c stays alive while a recv is in flight
    if (!c->sending)
      answer(c);  // else on_send answers once the send is back
  }

  void on_send(connection* c, int res)
  {
    if (c->closing || stopping_)
      return finish(c);
    if (res == -EAGAIN || res == -EINTR)
      return start_send(c);
    if (res <= 0)
      return finish(c);  // an error (EPIPE, ECONNRESET, ENOBUFS, ...)
    c->out_sent += static_cast<std::size_t>(res);
    if (c->out_sent < c->out.size())
      return start_send(c);  // short send: the rest
    c->out.clear();
    c->out_sent = 0;
    if (c->close_after)
    {
      ::shutdown(c->fd, SHUT_WR);
      return finish(c);
    }
    answer(c);  // an incomplete request may wait in the buffer
  }

  // Answers every complete request in the buffer, in order, then sends all
  // the responses at once, or receives more when there are none.
  void answer(connection* c)
  {
    for (;;)
    {
      http_head::request h;
      const http_head::parse_result parsed =
          http_head::parse(std::string_view(c->in.data(), c->in_used), h);
      if (parsed == http_head::parse_result::bad)
      {
        c->out += bad_request;
        c->close_after = true;
        break;
      }
      if (parsed == http_head::parse_result::incomplete)
      {
        if (c->in_used > http_head::max_head_bytes)
        {
          c->out += header_too_large;
          c->close_after = true;
        }
        break;
      }
      const std::size_t whole = h.head_size + h.content_length;
      if (c->in_used < whole)
        break;  // the body is still arriving
      c->close_after = !h.keep_alive;
      if (h.method != "GET" && h.method != "HEAD")
        c->out += h.keep_alive ? not_allowed_keep_alive : not_allowed_close;
      else
        c->out += http_head::hello_response(h.keep_alive);
      std::memmove(c->in.data(), c->in.data() + whole, c->in_used - whole);
      c->in_used -= whole;
      if (c->close_after)
        break;
    }
    if (!c->out.empty())
      start_send(c);
    else if (c->close_after)
      finish(c);
    else
      start_recv(c);
  }

  // Closes the connection; its state goes when its last CQE is handled.
  void finish(connection* c)
  {
    if (c->in_flight > 0)
    {
      // Not reached by the loop above (one operation at a time, finished
      // from its CQE); a shutdown would make any pending one complete.
      if (!c->closing)
        ::shutdown(c->fd, SHUT_RDWR);
      c->closing = true;
      return;
    }
    ::close(c->fd);
    delete c;
  }

  io_uring ring_;
  int listen_fd_;
  int signal_fd_;
  bool accept_armed_ = false;
  bool poll_first_ = std::getenv("RAW_HTTP_POLL_FIRST") != nullptr;
  bool multishot_ = std::getenv("RAW_HTTP_MULTISHOT") != nullptr;
  io_uring_buf_ring* provided_ring_ = nullptr;  // RAW_HTTP_MULTISHOT only
  std::vector<char> provided_;                  // its buffers
  bool stopping_ = false;
  std::size_t in_flight_ = 0;  // SQEs (an armed multishot: one) not reaped
  std::vector<completion> pending_;
};

} // namespace

int main(int argc, char* argv[])
{
  if (argc > 2)
  {
    std::fprintf(stderr, "usage: w3_http_raw_liburing [port]  "
        "(fixed response only; RAW_HTTP_FLAGS=plain: ring setup flags 0)\n");
    return 2;
  }
  const unsigned short port =
      static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 0);
  bool plain = false;
  if (const char* f = std::getenv("RAW_HTTP_FLAGS"))
  {
    if (std::strcmp(f, "plain") == 0)
      plain = true;
    else if (*f != '\0' && std::strcmp(f, "defer") != 0)
    {
      std::fprintf(stderr, "raw_http_server: RAW_HTTP_FLAGS is 'plain' or 'defer'\n");
      return 2;
    }
  }

  // SIGINT and SIGTERM are read from a signalfd, not delivered.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  if (sigprocmask(SIG_BLOCK, &stop_signals, nullptr) != 0)
    die("sigprocmask", errno);
  const int signal_fd = ::signalfd(-1, &stop_signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd < 0)
    die("signalfd", errno);

  const int listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd < 0)
    die("socket", errno);
  int one = 1;
  if (::setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
    die("setsockopt(SO_REUSEADDR)", errno);
  sockaddr_in addr;
  std::memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons(port);
  if (::bind(listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    die("bind", errno);
  if (::listen(listen_fd, SOMAXCONN) != 0)
    die("listen", errno);
  socklen_t len = sizeof(addr);
  if (::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    die("getsockname", errno);

  {
    server s(listen_fd, signal_fd, plain);
    std::printf("listening on %u\n", static_cast<unsigned>(ntohs(addr.sin_port)));
    std::fflush(stdout);
    s.run();
  }
  ::close(listen_fd);
  ::close(signal_fd);
  return 0;
}
