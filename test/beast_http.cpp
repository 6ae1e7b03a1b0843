// Boost.Beast on asio_uring: HTTP reads and writes directly on ring-backed
// sockets, and beast::tcp_stream built from an accepted asio_uring socket
// (the documented hand-over to a Boost.Asio socket on the same executor),
// with Beast programs switched by their `namespace net = ...` line only.
#include <asio_uring.hpp>

#include "tcp_test_util.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = asio_uring;  // the one line a Beast program changes
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

namespace {

http::request<http::string_body> make_request(const std::string& target)
{
  http::request<http::string_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.keep_alive(true);
  return req;
}

// A server session in the style of Beast's http_server_async example: it
// takes the accepted socket by rvalue into a beast::tcp_stream.
class session : public std::enable_shared_from_this<session>
{
public:
  explicit session(tcp::socket&& socket) : stream_(std::move(socket)) {}

  void run()
  {
    net::dispatch(stream_.get_executor(),
        beast::bind_front_handler(&session::do_read, shared_from_this()));
  }

  int served = 0;

private:
  void do_read()
  {
    req_ = {};
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, req_,
        beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t)
  {
    if (ec == http::error::end_of_stream)
    {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      return;
    }
    if (ec)
      return;
    auto res = std::make_shared<http::response<http::string_body>>(
        http::status::ok, req_.version());
    res->set(http::field::content_type, "text/plain");
    res->body() = "beast saw " + std::string(req_.target());
    res->keep_alive(req_.keep_alive());
    res->prepare_payload();
    res_ = res;
    http::async_write(stream_, *res,
        beast::bind_front_handler(&session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t)
  {
    if (ec)
      return;
    ++served;
    do_read();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  std::shared_ptr<void> res_;
};

} // namespace

BOOST_AUTO_TEST_SUITE(beast_http)

BOOST_AUTO_TEST_CASE(http_async_read_write_on_ring_sockets)
{
  net::io_context ioc;
  auto [server, client] = asio_uring_test::connected_pair(ioc);
  beast::flat_buffer sbuf, cbuf;
  http::request<http::string_body> got_req;
  http::response<http::string_body> res;
  auto req = make_request("/ring");
  http::async_write(client, req, [](beast::error_code ec, std::size_t) {
    BOOST_TEST(!ec);
  });
  http::response<http::string_body> reply{http::status::ok, 11};
  http::async_read(server, sbuf, got_req,
      [&, &server = server](beast::error_code ec, std::size_t) {
        BOOST_TEST(!ec);
        reply.body() = std::string(got_req.target());
        reply.prepare_payload();
        http::async_write(server, reply, [](beast::error_code ec2, std::size_t) {
          BOOST_TEST(!ec2);
        });
      });
  http::async_read(client, cbuf, res, [](beast::error_code ec, std::size_t) {
    BOOST_TEST(!ec);
  });
  ioc.run_for(10s);
  BOOST_TEST(got_req.target() == "/ring");
  BOOST_TEST(res.result() == http::status::ok);
  BOOST_TEST(res.body() == "/ring");
}

BOOST_AUTO_TEST_CASE(http_sync_read_write_on_ring_sockets)
{
  net::io_context ioc;
  auto [server, client] = asio_uring_test::connected_pair(ioc);
  http::write(client, make_request("/sync"));
  beast::flat_buffer buf;
  http::request<http::string_body> req;
  http::read(server, buf, req);
  BOOST_TEST(req.target() == "/sync");
  BOOST_TEST(beast::get_lowest_layer(server).is_open());
}

BOOST_AUTO_TEST_CASE(tcp_stream_from_accepted_ring_socket_serves_keep_alive)
{
  net::io_context ioc;
  // As in Beast's examples: acceptor and accepted sockets on strands.
  tcp::acceptor acceptor(net::make_strand(ioc),
      tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  std::shared_ptr<session> s;
  acceptor.async_accept(net::make_strand(ioc),
      [&](beast::error_code ec, tcp::socket socket) {
        BOOST_TEST(!ec);
        s = std::make_shared<session>(std::move(socket));
        s->run();
      });

  // Client: a ring-backed socket doing two requests on one connection.
  tcp::socket client(ioc);
  beast::flat_buffer buf;
  http::response<http::string_body> res1, res2;
  auto req1 = make_request("/one");
  auto req2 = make_request("/two");
  client.async_connect(acceptor.local_endpoint(), [&](beast::error_code ec) {
    BOOST_TEST(!ec);
    http::async_write(client, req1, [&](beast::error_code ec, std::size_t) {
      BOOST_TEST(!ec);
      http::async_read(client, buf, res1, [&](beast::error_code ec, std::size_t) {
        BOOST_TEST(!ec);
        http::async_write(client, req2, [&](beast::error_code ec, std::size_t) {
          BOOST_TEST(!ec);
          http::async_read(client, buf, res2,
              [&](beast::error_code ec, std::size_t) {
                BOOST_TEST(!ec);
                client.shutdown(tcp::socket::shutdown_send);
              });
        });
      });
    });
  });
  ioc.run_for(20s);
  BOOST_TEST(res1.body() == "beast saw /one");
  BOOST_TEST(res2.body() == "beast saw /two");
  BOOST_REQUIRE(s);
  BOOST_TEST(s->served == 2);
}

BOOST_AUTO_TEST_CASE(hand_over_keeps_executor_and_descriptor)
{
  net::io_context ioc;
  auto [server, client] = asio_uring_test::connected_pair(ioc);
  const int fd = server.native_handle();
  const auto remote = server.remote_endpoint();
  boost::asio::ip::tcp::socket handed(std::move(server));
  BOOST_TEST(!server.is_open());
  BOOST_TEST(handed.native_handle() == fd);
  BOOST_TEST(handed.remote_endpoint() == remote);
  BOOST_TEST((handed.get_executor() == boost::asio::any_io_executor(ioc.get_executor())));
  // A closed socket hands over as a closed one.
  tcp::socket closed(ioc);
  boost::asio::ip::tcp::socket closed_handed(std::move(closed));
  BOOST_TEST(!closed_handed.is_open());
}

BOOST_AUTO_TEST_SUITE_END()
