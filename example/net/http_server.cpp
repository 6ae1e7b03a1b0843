// A minimal HTTP/1.1 keep-alive server on asio_uring's ring.
//
//   http_server [port] [docroot]
//
// Without docroot every request gets a fixed "Hello, World!" response (the
// W3 benchmark's workload); with docroot, GET and HEAD serve the files
// below it (index.html for directories), read through the ring with
// random_access_file and async_read_at. Prints "listening on <port>" once ready;
// SIGINT/SIGTERM stop it.
//
// The same source builds against Boost.Asio (define HTTP_SERVER_BOOST_ASIO;
// with BOOST_ASIO_HAS_IO_URING too for Boost.Asio's own io_uring backend):
// the benchmark compares the three builds. Only the namespace alias
// differs, and the file reads (Boost.Asio's epoll build has no files).
//
// Requests are parsed as they arrive, pipelined requests included: the
// responses to every complete request in the buffer go out in one write.
// The head parser and the fixed and status responses are in http_head.hpp,
// shared with the W3 raw liburing server (benchmark/net/raw_http_server.cpp).
//
// HTTP_SERVER_MULTISHOT (asio_uring only) reads with the multishot receive
// extension: each connection keeps one IORING_RECV_MULTISHOT armed on a
// provided-buffer ring shared by all connections, and each read takes the
// next chunk (copied into the session's buffer, the ring buffer given back
// at once) instead of submitting a receive.
#ifdef HTTP_SERVER_BOOST_ASIO
#if HTTP_SERVER_MULTISHOT
#error "HTTP_SERVER_MULTISHOT needs asio_uring"
#endif
#include <boost/asio.hpp>
namespace net = boost::asio;
#else
#include <asio_uring.hpp>
namespace net = asio_uring;
#endif

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include <sys/stat.h>

#include "http_head.hpp"

using tcp = net::ip::tcp;

namespace {

using http_head::status_response;

std::string_view content_type(std::string_view path)
{
  auto ends = [&](std::string_view s) {
    return path.size() >= s.size() && path.substr(path.size() - s.size()) == s;
  };
  if (ends(".html") || ends(".htm"))
    return "text/html";
  if (ends(".txt"))
    return "text/plain";
  if (ends(".css"))
    return "text/css";
  if (ends(".js"))
    return "application/javascript";
  if (ends(".json"))
    return "application/json";
  if (ends(".png"))
    return "image/png";
  return "application/octet-stream";
}

// The file below docroot that target names, or "" when target is unsafe.
std::string resolve(const std::string& docroot, std::string_view target)
{
  target = target.substr(0, target.find('?'));
  if (target.empty() || target.front() != '/'
      || target.find("..") != std::string_view::npos
      || target.find('\0') != std::string_view::npos)
    return {};
  std::string path = docroot + std::string(target);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    path += "/index.html";
  return path;
}

#if HTTP_SERVER_MULTISHOT
// The provided-buffer ring every connection's multishot receive uses.
net::buffer_ring* receive_ring = nullptr;
#endif

class session : public std::enable_shared_from_this<session>
{
public:
  session(tcp::socket socket, const std::string& docroot)
    : socket_(std::move(socket)), docroot_(docroot)
  {
  }

  void start() { do_read(); }

private:
#if HTTP_SERVER_MULTISHOT
  void do_read()
  {
    socket_.async_receive_multishot(*receive_ring,
        [self = shared_from_this()](boost::system::error_code ec,
            net::provided_buffer b) {
          if (ec)
            return;  // eof or error: the session ends
          if (self->in_.size() - self->in_used_ < b.size())
            self->in_.resize(std::max(self->in_.size() * 2,
                self->in_used_ + b.size()));
          std::copy_n(b.data(), b.size(), self->in_.data() + self->in_used_);
          self->in_used_ += b.size();
          b.release();
          self->process();
        });
  }
#else
  void do_read()
  {
    if (in_.size() - in_used_ < 4096)
      in_.resize(std::max<std::size_t>(in_.size() * 2, 8192));
    socket_.async_read_some(
        net::buffer(in_.data() + in_used_, in_.size() - in_used_),
        [self = shared_from_this()](boost::system::error_code ec,
            std::size_t n) {
          if (ec)
            return;  // eof or error: the session ends
          self->in_used_ += n;
          self->process();
        });
  }
#endif

  // Answers the complete requests in the buffer in order, then writes all
  // their responses at once. A file request suspends the loop until its
  // (asynchronous) read is done.
  void process()
  {
    for (;;)
    {
      http_head::request req;
      const http_head::parse_result parsed =
          http_head::parse(std::string_view(in_.data(), in_used_), req);
      if (parsed == http_head::parse_result::bad)
      {
        out_ += status_response(400, "Bad Request", false);
        close_after_ = true;
        break;
      }
      if (parsed == http_head::parse_result::incomplete)
      {
        if (in_used_ > http_head::max_head_bytes)
        {
          out_ += status_response(431, "Request Header Fields Too Large", false);
          close_after_ = true;
        }
        break;
      }
      const std::size_t size = req.head_size + req.content_length;
      if (in_used_ < size)
        break;  // the body is still arriving
      close_after_ = !req.keep_alive;
      std::string path;
      const bool file = respond(req, path);
      const bool head = req.method == "HEAD";
      const bool keep_alive = req.keep_alive;
      consume(size);  // req's views die here
      if (file)
      {
        read_file(path, head, keep_alive);
        return;  // the read's completion resumes the loop
      }
      if (close_after_)
        break;
    }
    flush();
  }

  void consume(std::size_t n)
  {
    std::copy(in_.begin() + n, in_.begin() + in_used_, in_.begin());
    in_used_ -= n;
  }

  // Writes the pending responses, or reads more when there are none.
  void flush()
  {
    if (out_.empty())
    {
      if (close_after_)
        return;
      do_read();
      return;
    }
    std::swap(out_, writing_);
    out_.clear();
    net::async_write(socket_, net::buffer(writing_),
        [self = shared_from_this()](boost::system::error_code ec,
            std::size_t) {
          if (ec)
            return;
          if (self->close_after_)
          {
            boost::system::error_code ignored;
            self->socket_.shutdown(tcp::socket::shutdown_send, ignored);
            return;
          }
          self->process();  // pipelined requests may be waiting
        });
  }

  // Appends the response to req, or returns true with the file to serve.
  bool respond(const http_head::request& req, std::string& path)
  {
    if (req.method != "GET" && req.method != "HEAD")
    {
      out_ += status_response(405, "Method Not Allowed", req.keep_alive);
      return false;
    }
    if (docroot_.empty())
    {
      out_ += http_head::hello_response(req.keep_alive);
      return false;
    }
    path = resolve(docroot_, req.target);
    if (path.empty())
    {
      out_ += status_response(400, "Bad Request", req.keep_alive);
      return false;
    }
    return true;
  }

  void file_done(bool ok, const std::string& path, bool head, bool keep_alive)
  {
    if (!ok)
      out_ += status_response(404, "Not Found", keep_alive);
    else
    {
      std::ostringstream h;
      h << "HTTP/1.1 200 OK\r\nContent-Type: " << content_type(path)
        << "\r\nContent-Length: " << body_.size() << "\r\n"
        << (keep_alive ? "" : "Connection: close\r\n") << "\r\n";
      out_ += h.str();
      if (!head)
        out_ += body_;
    }
    body_.clear();
    if (close_after_)
      flush();
    else
      process();
  }

#ifdef HTTP_SERVER_BOOST_ASIO
  // The Boost.Asio builds (benchmark baselines only) read files with the
  // standard library.
  void read_file(const std::string& path, bool head, bool keep_alive)
  {
    std::ifstream f(path, std::ios::binary);
    std::ostringstream s;
    if (f)
      s << f.rdbuf();
    body_ = s.str();
    file_done(static_cast<bool>(f), path, head, keep_alive);
  }
#else
  // Reads the whole file through the ring.
  void read_file(const std::string& path, bool head, bool keep_alive)
  {
    file_.emplace(socket_.get_executor());
    boost::system::error_code ec;
    file_->open(path, net::file_base::read_only, ec);
    std::uint64_t size = ec ? 0 : file_->size(ec);
    if (ec)
    {
      file_.reset();
      file_done(false, path, head, keep_alive);
      return;
    }
    body_.resize(static_cast<std::size_t>(size));
    net::async_read_at(*file_, 0, net::buffer(body_),
        [self = shared_from_this(), path, head, keep_alive](
            boost::system::error_code ec, std::size_t n) {
          self->file_.reset();
          // A file that shrank meanwhile serves what was there.
          const bool ok = !ec || (ec == net::error::eof && n > 0);
          self->body_.resize(n);
          self->file_done(ok, path, head, keep_alive);
        });
  }

  std::optional<net::random_access_file> file_;
#endif

  tcp::socket socket_;
  const std::string& docroot_;
  std::string in_ = std::string(8192, '\0');
  std::size_t in_used_ = 0;
  std::string out_;
  std::string writing_;
  std::string body_;
  bool close_after_ = false;
};

} // namespace

int main(int argc, char* argv[])
{
  try
  {
    const unsigned short port =
        static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 0);
    const std::string docroot = argc > 2 ? argv[2] : "";
#ifdef HTTP_SERVER_BOOST_ASIO
    net::io_context ctx(1);
#else
    // One thread runs this server: the ring can be set up for a single
    // issuer (IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN), which lets the
    // kernel skip its cross-thread locking and run socket completions in
    // batches when the loop enters. Set HTTP_SERVER_SHARED_RING=1 to compare
    // with the default ring set-up (any thread may run the context).
    net::ring_options options;
    options.single_issuer = std::getenv("HTTP_SERVER_SHARED_RING") == nullptr;
    net::io_context ctx(options, 1);
#endif
#if HTTP_SERVER_MULTISHOT
    // 1024 buffers of 4 KiB (4 MiB) shared by every connection: a buffer
    // is held only from the kernel's receive until the handler copies it.
    net::buffer_ring ring(ctx, 1024, 4096);
    receive_ring = &ring;
#endif
    tcp::acceptor acceptor(ctx, tcp::endpoint(tcp::v4(), port));
    std::function<void()> do_accept = [&] {
      acceptor.async_accept([&](boost::system::error_code ec, tcp::socket s) {
        if (ec == net::error::operation_aborted)
          return;
        if (!ec)
        {
          s.set_option(tcp::no_delay(true), ec);
          std::make_shared<session>(std::move(s), docroot)->start();
        }
        do_accept();
      });
    };
    do_accept();
    net::signal_set signals(ctx, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code, int) { ctx.stop(); });
    std::printf("listening on %u\n", acceptor.local_endpoint().port());
    std::fflush(stdout);
    ctx.run();
  }
  catch (const std::exception& e)
  {
    std::cerr << "http_server: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
