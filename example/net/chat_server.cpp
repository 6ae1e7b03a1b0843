// Line-based chat server on asio_uring's ring: every line a client sends is
// delivered to every connected client (the sender included), in order.
//
//   chat_server [port]     (port 0 or none: the kernel picks one)
//
// Prints "listening on <port>" once ready; SIGINT/SIGTERM stop it. A slow
// client gets its own queue of pending lines; one that falls more than
// max_queued lines behind is disconnected instead of growing the queue.
#include <asio_uring.hpp>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <iostream>
#include <memory>
#include <set>
#include <string>

namespace net = asio_uring;
using net::ip::tcp;

class participant;

class room
{
public:
  void join(std::shared_ptr<participant> p) { members_.insert(std::move(p)); }
  void leave(const std::shared_ptr<participant>& p) { members_.erase(p); }
  void deliver(const std::string& line);
  void close_all();

private:
  std::set<std::shared_ptr<participant>> members_;
};

class participant : public std::enable_shared_from_this<participant>
{
public:
  static constexpr std::size_t max_queued = 1024;

  participant(tcp::socket socket, room& r) : socket_(std::move(socket)), room_(r) {}

  void start()
  {
    room_.join(shared_from_this());
    do_read();
  }

  void deliver(const std::string& line)
  {
    if (queue_.size() >= max_queued)
    {
      stop();
      return;
    }
    queue_.push_back(line);
    if (queue_.size() == 1)
      do_write();
  }

  void stop()
  {
    boost::system::error_code ignored;
    socket_.close(ignored);  // pending read and write complete aborted
  }

private:
  void do_read()
  {
    net::async_read_until(socket_, net::dynamic_buffer(input_), '\n',
        [self = shared_from_this()](boost::system::error_code ec,
            std::size_t n) {
          if (ec)
          {
            self->room_.leave(self);
            return;
          }
          std::string line = self->input_.substr(0, n);
          self->input_.erase(0, n);
          self->room_.deliver(line);
          self->do_read();
        });
  }

  void do_write()
  {
    net::async_write(socket_, net::buffer(queue_.front()),
        [self = shared_from_this()](boost::system::error_code ec,
            std::size_t) {
          if (ec)
          {
            self->room_.leave(self);
            return;
          }
          self->queue_.pop_front();
          if (!self->queue_.empty())
            self->do_write();
        });
  }

  tcp::socket socket_;
  room& room_;
  std::string input_;
  std::deque<std::string> queue_;
};

void room::deliver(const std::string& line)
{
  // Copy: a participant that is dropped leaves the set while we iterate.
  auto members = members_;
  for (auto& p : members)
    p->deliver(line);
}

void room::close_all()
{
  for (auto& p : members_)
    p->stop();
}

int main(int argc, char* argv[])
{
  try
  {
    net::io_context ctx(1);
    tcp::acceptor acceptor(ctx, tcp::endpoint(tcp::v4(),
        static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 0)));
    room r;
    std::function<void()> do_accept = [&] {
      acceptor.async_accept([&](boost::system::error_code ec, tcp::socket s) {
        if (ec == net::error::operation_aborted)
          return;
        if (!ec)
          std::make_shared<participant>(std::move(s), r)->start();
        do_accept();
      });
    };
    do_accept();
    net::signal_set signals(ctx, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code, int) {
      acceptor.close();
      r.close_all();
    });
    std::printf("listening on %u\n", acceptor.local_endpoint().port());
    std::fflush(stdout);
    ctx.run();
  }
  catch (const std::exception& e)
  {
    std::cerr << "chat_server: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
