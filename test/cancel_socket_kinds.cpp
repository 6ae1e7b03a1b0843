// Every cancellation type, cancel(), close() and the destructor against
// every socket and descriptor operation kind: TCP receive, send, wait,
// accept (both forms) and connect, and stream_descriptor read and write.
// (cancel_race.cpp does the same for files and timers.)
//
// Each operation is started where it cannot complete by itself (no data,
// a full send buffer, no client, a listener whose backlog is full), then
// cancelled: it must end exactly once with operation_aborted, move no
// byte, and leave the object usable where it is still open. A slot that
// emits cancellation_type::none must leave it pending; it then completes
// normally once the test supplies what it waited for.
#include <asio_uring.hpp>

#include "tcp_test_util.hpp"
#include "test_util.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/test/unit_test.hpp>

#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace net = boost::asio;
using asio_uring::ip::tcp;
using ct = net::cancellation_type;
using namespace std::chrono_literals;

namespace {

enum class kind
{
  receive,
  send,
  wait_read,
  accept_into,
  accept_move,
  connect,
  descriptor_read,
  descriptor_write,
};

const char* name_of(kind k)
{
  switch (k)
  {
  case kind::receive: return "socket::async_receive";
  case kind::send: return "socket::async_send";
  case kind::wait_read: return "socket::async_wait(wait_read)";
  case kind::accept_into: return "acceptor::async_accept(socket&)";
  case kind::accept_move: return "acceptor::async_accept()";
  case kind::connect: return "socket::async_connect";
  case kind::descriptor_read: return "stream_descriptor::async_read_some";
  case kind::descriptor_write: return "stream_descriptor::async_write_some";
  }
  return "?";
}

using asio_uring_test::name_of;

enum class cancel_by { slot, cancel, close, destroy };

const char* name_of(cancel_by b)
{
  switch (b)
  {
  case cancel_by::slot: return "slot";
  case cancel_by::cancel: return "cancel()";
  case cancel_by::close: return "close()";
  case cancel_by::destroy: return "destructor";
  }
  return "?";
}

// Makes fd non-blocking, writes until the kernel refuses even one byte,
// restores the flags: the next blocking send or write on fd waits. Returns
// the bytes written.
std::size_t fill(int fd, bool socket)
{
  const int fl = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  std::size_t total = 0;
  std::vector<char> block(65536, 'f');
  for (std::size_t size : {block.size(), std::size_t(1)})
    for (;;)
    {
      ssize_t n = socket ? ::send(fd, block.data(), size, MSG_NOSIGNAL)
                         : ::write(fd, block.data(), size);
      if (n <= 0)
        break;
      total += static_cast<std::size_t>(n);
    }
  ::fcntl(fd, F_SETFL, fl);
  return total;
}

// Reads and discards n bytes from fd, or everything there is when
// non_blocking; returns the bytes read.
std::size_t drain(int fd, std::size_t n, bool non_blocking = false)
{
  const int fl = ::fcntl(fd, F_GETFL);
  if (non_blocking)
    ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  std::vector<char> block(65536);
  std::size_t total = 0;
  while (total < n)
  {
    ssize_t r = ::read(fd, block.data(), std::min(n - total, block.size()));
    if (r <= 0)
      break;
    total += static_cast<std::size_t>(r);
  }
  ::fcntl(fd, F_SETFL, fl);
  return total;
}

struct outcome
{
  int calls = 0;
  boost::system::error_code ec;
  std::size_t n = 0;
};

constexpr char initial[16] = "0123456789abcde";

// One pending operation of kind k and everything it needs. `object` is the
// socket, acceptor or descriptor the operation belongs to.
class scenario
{
public:
  explicit scenario(kind k) : k_(k) { std::memcpy(buf_, initial, 16); }

  ~scenario()
  {
    for (int fd : fds_)
      ::close(fd);
  }

  template <typename Handler, typename WaitHandler, typename SocketHandler>
  void start(Handler h, WaitHandler wh, SocketHandler sh)
  {
    switch (k_)
    {
    case kind::receive:
      connect_pair();
      socket_->async_receive(net::buffer(buf_), h);
      break;
    case kind::send:
      connect_pair();
      filled_ = fill(socket_->native_handle(), true);
      socket_->async_send(net::buffer(buf_), h);
      break;
    case kind::wait_read:
      connect_pair();
      socket_->async_wait(tcp::socket::wait_read, wh);
      break;
    case kind::accept_into:
      acceptor_.emplace(asio_uring_test::make_listener(ctx));
      accepted_.emplace(ctx);
      acceptor_->async_accept(*accepted_, wh);
      break;
    case kind::accept_move:
      acceptor_.emplace(asio_uring_test::make_listener(ctx));
      acceptor_->async_accept(sh);
      break;
    case kind::connect:
      fill_backlog();
      socket_.emplace(ctx);
      socket_->async_connect(listener_->local_endpoint(), wh);
      break;
    case kind::descriptor_read:
      make_pipe();
      descriptor_.emplace(ctx, ::dup(pipe_read_));
      descriptor_->async_read_some(net::buffer(buf_), h);
      break;
    case kind::descriptor_write:
      make_pipe();
      filled_ = fill(pipe_write_, false);
      descriptor_.emplace(ctx, ::dup(pipe_write_));
      descriptor_->async_write_some(net::buffer(buf_), h);
      break;
    }
  }

  void cancel_object()
  {
    if (socket_)
      socket_->cancel();
    else if (acceptor_)
      acceptor_->cancel();
    else
      descriptor_->cancel();
  }

  void close_object()
  {
    if (socket_)
      socket_->close();
    else if (acceptor_)
      acceptor_->close();
    else
      descriptor_->close();
  }

  void destroy_object()
  {
    socket_.reset();
    acceptor_.reset();
    descriptor_.reset();
  }

  // Supplies what the operation waits for, so that it completes normally.
  void feed()
  {
    switch (k_)
    {
    case kind::receive:
    case kind::wait_read:
      BOOST_TEST(::send(peer_->native_handle(), "xy", 2, 0) == 2);
      break;
    case kind::send:
      BOOST_TEST(drain(peer_->native_handle(), filled_) == filled_);
      break;
    case kind::accept_into:
    case kind::accept_move:
      client_.emplace(ctx);
      client_->connect(acceptor_->local_endpoint());
      break;
    case kind::connect:
      // Frees the backlog: the fillers go, the queued connection is
      // accepted; the kernel takes the waiting connect when its SYN is
      // retransmitted (after about a second).
      for (int fd : fds_)
        ::close(fd);
      fds_.clear();
      listener_->accept().close();
      break;
    case kind::descriptor_read:
      BOOST_TEST(::write(pipe_write_, "xy", 2) == 2);
      break;
    case kind::descriptor_write:
      BOOST_TEST(drain(pipe_read_, filled_) == filled_);
      break;
    }
  }

  // What the handler reports once feed() let the operation complete.
  std::size_t fed_bytes() const
  {
    return k_ == kind::receive || k_ == kind::descriptor_read ? 2 : 16;
  }

  bool transfers() const
  {
    return k_ == kind::receive || k_ == kind::send
        || k_ == kind::descriptor_read || k_ == kind::descriptor_write;
  }

  // After a cancelled transfer: the buffer was not touched; a cancelled
  // read left later data for the next reader; a cancelled write put
  // nothing into the socket or pipe.
  void check_nothing_moved()
  {
    BOOST_TEST(std::memcmp(buf_, initial, 16) == 0);
    if (k_ == kind::receive || k_ == kind::descriptor_read)
    {
      const int writer = k_ == kind::receive ? peer_->native_handle()
                                             : pipe_write_;
      BOOST_TEST(::write(writer, "late", 4) == 4);
      ctx.restart();
      ctx.run_for(20ms);  // a stray read would take the bytes now
      BOOST_TEST(std::memcmp(buf_, initial, 16) == 0);
      const int reader = k_ == kind::receive
          ? (socket_ && socket_->is_open() ? socket_->native_handle() : -1)
          : pipe_read_;
      if (reader >= 0)
        BOOST_TEST(drain(reader, 8, true) == 4u);
    }
    if (k_ == kind::send || k_ == kind::descriptor_write)
    {
      const int reader = k_ == kind::send ? peer_->native_handle()
                                          : pipe_read_;
      // Everything but the cancelled write's 16 bytes.
      BOOST_TEST(drain(reader, filled_ + 16, true) == filled_);
    }
  }

  asio_uring::io_context ctx;
  std::optional<tcp::socket> accepted_;  // accept_into's target

private:
  void connect_pair()
  {
    auto [server, client] = asio_uring_test::connected_pair(ctx);
    socket_.emplace(std::move(server));
    peer_.emplace(std::move(client));
  }

  void make_pipe()
  {
    int p[2];
    BOOST_REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    pipe_read_ = p[0];
    pipe_write_ = p[1];
    fds_.push_back(p[0]);
    fds_.push_back(p[1]);
  }

  // A listener with a backlog of 0 holds one connection nobody accepts;
  // the kernel drops further SYNs, so a connect waits (retransmitting)
  // until the backlog frees up.
  void fill_backlog()
  {
    listener_.emplace(ctx);
    listener_->open(tcp::v4());
    listener_->bind(tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    listener_->listen(0);
    const auto ep = listener_->local_endpoint();
    for (int i = 0; i < 16; ++i)
    {
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
          0);
      fds_.push_back(fd);
      if (::connect(fd, ep.data(), ep.size()) == 0)
        continue;
      pollfd pfd{fd, POLLOUT, 0};
      if (::poll(&pfd, 1, 200) == 0)
        return;  // this one waits: the backlog is full
    }
    BOOST_FAIL("could not fill a listen backlog of 0");
  }

  kind k_;
  char buf_[16];
  std::size_t filled_ = 0;
  std::vector<int> fds_;  // pipe ends and backlog fillers, closed at the end
  int pipe_read_ = -1;
  int pipe_write_ = -1;
  std::optional<tcp::socket> socket_;     // receive/send/wait/connect
  std::optional<tcp::socket> peer_;
  std::optional<tcp::socket> client_;
  std::optional<tcp::acceptor> acceptor_;  // accept forms
  std::optional<tcp::acceptor> listener_;  // connect's full listener
  std::optional<asio_uring::posix::stream_descriptor> descriptor_;
};

void cancel_pending(kind k, cancel_by by, ct type)
{
  // Declared before the scenario (and its context): the context's
  // destructor may still destroy handlers bound to sig's slot.
  net::cancellation_signal sig;
  outcome o;
  scenario sc(k);
  auto record = [&](boost::system::error_code ec, std::size_t n) {
    o = {o.calls + 1, ec, n};
  };
  sc.start(net::bind_cancellation_slot(sig.slot(), record),
      net::bind_cancellation_slot(sig.slot(),
          [&](boost::system::error_code ec) { record(ec, 0); }),
      net::bind_cancellation_slot(sig.slot(),
          [&](boost::system::error_code ec, tcp::socket s) {
            record(ec, 0);
            BOOST_TEST(s.is_open() == !ec);
          }));
  sc.ctx.poll();  // the operation is now in the kernel
  BOOST_TEST(o.calls == 0);

  switch (by)
  {
  case cancel_by::slot: sig.emit(type); break;
  case cancel_by::cancel: sc.cancel_object(); break;
  case cancel_by::close: sc.close_object(); break;
  case cancel_by::destroy: sc.destroy_object(); break;
  }

  if (by == cancel_by::slot && type == ct::none)
  {
    // Nothing happened: the operation still waits. Let it finish.
    sc.ctx.run_for(50ms);
    BOOST_TEST(o.calls == 0);
    sc.feed();
    sc.ctx.restart();
    sc.ctx.run_for(10s);
    BOOST_TEST(o.calls == 1);
    BOOST_TEST(!o.ec, o.ec.message());
    if (sc.transfers())
      BOOST_TEST(o.n == sc.fed_bytes());
    return;
  }

  sc.ctx.run_for(10s);
  BOOST_TEST(o.calls == 1);
  BOOST_TEST((o.ec == net::error::operation_aborted), o.ec.message());
  BOOST_TEST(o.n == 0u);
  if (sc.accepted_)
    BOOST_TEST(!sc.accepted_->is_open());
  if (sc.transfers())
    sc.check_nothing_moved();
}

constexpr kind all_kinds[] = {kind::receive, kind::send, kind::wait_read,
    kind::accept_into, kind::accept_move, kind::connect,
    kind::descriptor_read, kind::descriptor_write};

} // namespace

BOOST_AUTO_TEST_SUITE(cancel_socket_kinds)

BOOST_AUTO_TEST_CASE(each_cancellation_type_aborts_each_operation_kind)
{
  for (kind k : all_kinds)
    for (ct t : {ct::terminal, ct::partial, ct::total, ct::none})
      BOOST_TEST_CONTEXT(name_of(k) << ", slot emits " << name_of(t))
        cancel_pending(k, cancel_by::slot, t);
}

BOOST_AUTO_TEST_CASE(cancel_close_and_destroy_abort_each_operation_kind)
{
  for (kind k : all_kinds)
    for (cancel_by b : {cancel_by::cancel, cancel_by::close,
             cancel_by::destroy})
      BOOST_TEST_CONTEXT(name_of(k) << ", " << name_of(b))
        cancel_pending(k, b, ct::none);
}

BOOST_AUTO_TEST_SUITE_END()
