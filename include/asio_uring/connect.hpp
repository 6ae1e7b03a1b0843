//
// connect.hpp
// ~~~~~~~~~~~
//
// connect / async_connect over a sequence of endpoints for asio_uring
// sockets (Boost.Asio's take boost::asio::basic_socket only). Same
// semantics as Boost.Asio 1.81: each endpoint accepted by the connect
// condition is tried in turn, closing the socket between attempts; the
// result is the endpoint (or iterator) that connected, error::not_found
// when no endpoint was tried, or the last attempt's error.
//
#pragma once

#include <asio_uring/basic_socket.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detail/throw_error.hpp>
#include <boost/asio/error.hpp>

#include <cstddef>
#include <iterator>
#include <type_traits>
#include <utility>

namespace asio_uring {

namespace detail {

// Whether C can be called as condition(error_code, endpoint) for the
// endpoints Iterator yields.
template <typename C, typename Iterator>
inline constexpr bool is_connect_condition_v = std::is_invocable_v<C&,
    const boost::system::error_code&, decltype(*std::declval<Iterator>())>;

// Accepts every endpoint.
struct default_connect_condition
{
  template <typename Endpoint>
  bool operator()(const boost::system::error_code&, const Endpoint&) const
  {
    return true;
  }
};

template <typename Iterator, typename ConnectCondition>
Iterator next_candidate(Iterator it, Iterator end,
    const boost::system::error_code& ec, ConnectCondition& condition)
{
  for (; it != end; ++it)
    if (condition(ec, *it))
      break;
  return it;
}

template <typename Protocol, typename Executor, typename Iterator,
    typename ConnectCondition>
Iterator connect_range(basic_socket<Protocol, Executor>& s, Iterator begin,
    Iterator end, ConnectCondition condition, boost::system::error_code& ec)
{
  ec.clear();
  bool tried = false;
  for (Iterator it = begin; (it = next_candidate(it, end, ec, condition)) != end; ++it)
  {
    tried = true;
    s.close(ec);
    s.connect(*it, ec);
    if (!ec)
      return it;
  }
  if (!tried)
    ec = boost::asio::error::not_found;
  return end;
}

// The composed asynchronous operations: one async_connect per candidate.
// They stop with operation_aborted when cancelled or when the user closes
// the socket between attempts (as Boost.Asio's).
template <typename Socket, typename Iterator, typename ConnectCondition>
class iterator_connect_op
{
public:
  iterator_connect_op(Socket& s, Iterator begin, Iterator end,
      ConnectCondition condition)
    : socket_(s), it_(begin), end_(end), condition_(std::move(condition))
  {
  }

  template <typename Self>
  void operator()(Self& self, boost::system::error_code ec = {})
  {
    if (started_)
    {
      if (!ec)
        return self.complete(ec, it_);
      if (!socket_.is_open()
          || self.cancelled() != boost::asio::cancellation_type::none)
        return self.complete(boost::system::error_code(
            boost::asio::error::operation_aborted), end_);
      last_ec_ = ec;
      ++it_;
    }
    it_ = next_candidate(it_, end_, last_ec_, condition_);
    if (it_ == end_)
      return self.complete(started_ ? last_ec_
          : boost::system::error_code(boost::asio::error::not_found), end_);
    started_ = true;
    boost::system::error_code ignored;
    socket_.close(ignored);
    socket_.async_connect(*it_, std::move(self));
  }

private:
  Socket& socket_;  // Lifetime: the caller keeps it until the handler runs
  Iterator it_;
  Iterator end_;
  ConnectCondition condition_;
  boost::system::error_code last_ec_;
  bool started_ = false;
};

// The range form keeps its own copy of the sequence and an index into it,
// so moving the operation never invalidates an iterator.
template <typename Socket, typename EndpointSequence,
    typename ConnectCondition>
class range_connect_op
{
public:
  using endpoint_type = typename Socket::endpoint_type;

  range_connect_op(Socket& s, const EndpointSequence& endpoints,
      ConnectCondition condition)
    : socket_(s), endpoints_(endpoints), condition_(std::move(condition))
  {
  }

  template <typename Self>
  void operator()(Self& self, boost::system::error_code ec = {})
  {
    if (started_)
    {
      if (!ec)
        return self.complete(ec, endpoint_type(*current()));
      if (!socket_.is_open()
          || self.cancelled() != boost::asio::cancellation_type::none)
        return self.complete(boost::system::error_code(
            boost::asio::error::operation_aborted), endpoint_type());
      last_ec_ = ec;
      ++index_;
    }
    const EndpointSequence& endpoints = endpoints_;
    auto it = next_candidate(current(), endpoints.end(), last_ec_,
        condition_);
    index_ = static_cast<std::size_t>(std::distance(endpoints.begin(), it));
    if (it == endpoints.end())
      return self.complete(started_ ? last_ec_
          : boost::system::error_code(boost::asio::error::not_found),
          endpoint_type());
    started_ = true;
    boost::system::error_code ignored;
    socket_.close(ignored);
    socket_.async_connect(*it, std::move(self));
  }

private:
  auto current() const
  {
    auto it = endpoints_.begin();
    std::advance(it, index_);
    return it;
  }

  Socket& socket_;  // Lifetime: the caller keeps it until the handler runs
  EndpointSequence endpoints_;
  ConnectCondition condition_;
  std::size_t index_ = 0;
  boost::system::error_code last_ec_;
  bool started_ = false;
};

} // namespace detail

/// Connects s to the first endpoint of endpoints that accepts. Throws on
/// failure. Returns the connected endpoint.
template <typename Protocol, typename Executor, typename EndpointSequence>
typename Protocol::endpoint connect(basic_socket<Protocol, Executor>& s,
    const EndpointSequence& endpoints,
    std::enable_if_t<boost::asio::is_endpoint_sequence<EndpointSequence>::value>* = nullptr)
{
  boost::system::error_code ec;
  typename Protocol::endpoint result = connect(s, endpoints, ec);
  boost::asio::detail::throw_error(ec, "connect");
  return result;
}

/// Connects s to the first endpoint of endpoints that accepts.
template <typename Protocol, typename Executor, typename EndpointSequence>
typename Protocol::endpoint connect(basic_socket<Protocol, Executor>& s,
    const EndpointSequence& endpoints, boost::system::error_code& ec,
    std::enable_if_t<boost::asio::is_endpoint_sequence<EndpointSequence>::value>* = nullptr)
{
  auto it = detail::connect_range(s, endpoints.begin(), endpoints.end(),
      detail::default_connect_condition(), ec);
  return ec ? typename Protocol::endpoint() : typename Protocol::endpoint(*it);
}

/// Connects s, trying the endpoints that condition(ec, endpoint) accepts.
template <typename Protocol, typename Executor, typename EndpointSequence,
    typename ConnectCondition>
typename Protocol::endpoint connect(basic_socket<Protocol, Executor>& s,
    const EndpointSequence& endpoints, ConnectCondition condition,
    std::enable_if_t<boost::asio::is_endpoint_sequence<EndpointSequence>::value
        && detail::is_connect_condition_v<ConnectCondition,
            decltype(endpoints.begin())>>* = nullptr)
{
  boost::system::error_code ec;
  typename Protocol::endpoint result = connect(s, endpoints, condition, ec);
  boost::asio::detail::throw_error(ec, "connect");
  return result;
}

/// Connects s, trying the endpoints that condition(ec, endpoint) accepts.
template <typename Protocol, typename Executor, typename EndpointSequence,
    typename ConnectCondition>
typename Protocol::endpoint connect(basic_socket<Protocol, Executor>& s,
    const EndpointSequence& endpoints, ConnectCondition condition,
    boost::system::error_code& ec,
    std::enable_if_t<boost::asio::is_endpoint_sequence<EndpointSequence>::value
        && detail::is_connect_condition_v<ConnectCondition,
            decltype(endpoints.begin())>>* = nullptr)
{
  auto it = detail::connect_range(s, endpoints.begin(), endpoints.end(),
      condition, ec);
  return ec ? typename Protocol::endpoint() : typename Protocol::endpoint(*it);
}

/// Connects s to the first endpoint in [begin, end) that accepts. Returns
/// the iterator that connected. Throws on failure.
template <typename Protocol, typename Executor, typename Iterator>
Iterator connect(basic_socket<Protocol, Executor>& s, Iterator begin,
    Iterator end,
    std::enable_if_t<!boost::asio::is_endpoint_sequence<Iterator>::value>* = nullptr)
{
  boost::system::error_code ec;
  Iterator result = detail::connect_range(s, begin, end,
      detail::default_connect_condition(), ec);
  boost::asio::detail::throw_error(ec, "connect");
  return result;
}

/// Connects s to the first endpoint in [begin, end) that accepts.
template <typename Protocol, typename Executor, typename Iterator>
Iterator connect(basic_socket<Protocol, Executor>& s, Iterator begin,
    Iterator end, boost::system::error_code& ec,
    std::enable_if_t<!boost::asio::is_endpoint_sequence<Iterator>::value>* = nullptr)
{
  return detail::connect_range(s, begin, end,
      detail::default_connect_condition(), ec);
}

/// Connects s to the first endpoint in [begin, end) that condition
/// accepts. Throws on failure.
template <typename Protocol, typename Executor, typename Iterator,
    typename ConnectCondition>
Iterator connect(basic_socket<Protocol, Executor>& s, Iterator begin,
    Iterator end, ConnectCondition condition,
    std::enable_if_t<detail::is_connect_condition_v<ConnectCondition,
            Iterator>>* = nullptr)
{
  boost::system::error_code ec;
  Iterator result = detail::connect_range(s, begin, end, condition, ec);
  boost::asio::detail::throw_error(ec, "connect");
  return result;
}

/// Connects s to the first endpoint in [begin, end) that condition
/// accepts.
template <typename Protocol, typename Executor, typename Iterator,
    typename ConnectCondition>
Iterator connect(basic_socket<Protocol, Executor>& s, Iterator begin,
    Iterator end, ConnectCondition condition, boost::system::error_code& ec,
    std::enable_if_t<detail::is_connect_condition_v<ConnectCondition,
            Iterator>>* = nullptr)
{
  return detail::connect_range(s, begin, end, condition, ec);
}

/// Starts connecting s to the first endpoint of endpoints that accepts.
/**
 * @param endpoints Copied: need not outlive the call.
 * @param token Completion signature void(boost::system::error_code,
 * typename Protocol::endpoint). The handler is never invoked from within
 * this function. Cancellation (terminal, partial, total) stops the attempt
 * with error::operation_aborted.
 */
template <typename Protocol, typename Executor, typename EndpointSequence,
    BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code,
        typename Protocol::endpoint)) RangeConnectToken
    = boost::asio::default_completion_token_t<Executor>>
auto async_connect(basic_socket<Protocol, Executor>& s,
    const EndpointSequence& endpoints,
    RangeConnectToken&& token = boost::asio::default_completion_token_t<Executor>(),
    std::enable_if_t<boost::asio::is_endpoint_sequence<EndpointSequence>::value>* = nullptr)
{
  return async_connect(s, endpoints, detail::default_connect_condition(),
      static_cast<RangeConnectToken&&>(token));
}

/// Starts connecting s, trying the endpoints that condition accepts (see
/// above).
template <typename Protocol, typename Executor, typename EndpointSequence,
    typename ConnectCondition,
    BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code,
        typename Protocol::endpoint)) RangeConnectToken
    = boost::asio::default_completion_token_t<Executor>>
auto async_connect(basic_socket<Protocol, Executor>& s,
    const EndpointSequence& endpoints, ConnectCondition condition,
    RangeConnectToken&& token = boost::asio::default_completion_token_t<Executor>(),
    std::enable_if_t<boost::asio::is_endpoint_sequence<EndpointSequence>::value
        && detail::is_connect_condition_v<ConnectCondition,
            decltype(endpoints.begin())>>* = nullptr)
{
  return boost::asio::async_compose<RangeConnectToken,
      void(boost::system::error_code, typename Protocol::endpoint)>(
      detail::range_connect_op<basic_socket<Protocol, Executor>,
          EndpointSequence, ConnectCondition>(s, endpoints,
          std::move(condition)),
      token, s);
}

/// Starts connecting s to the first endpoint in [begin, end) that accepts.
/**
 * @param token Completion signature void(boost::system::error_code,
 * Iterator). The handler is never invoked from within this function.
 * Cancellation (terminal, partial, total) stops the attempt with
 * error::operation_aborted.
 */
template <typename Protocol, typename Executor, typename Iterator,
    BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code, Iterator))
        IteratorConnectToken = boost::asio::default_completion_token_t<Executor>>
auto async_connect(basic_socket<Protocol, Executor>& s, Iterator begin,
    Iterator end,
    IteratorConnectToken&& token = boost::asio::default_completion_token_t<Executor>(),
    std::enable_if_t<!boost::asio::is_endpoint_sequence<Iterator>::value>* = nullptr)
{
  return async_connect(s, begin, end, detail::default_connect_condition(),
      static_cast<IteratorConnectToken&&>(token));
}

/// Starts connecting s to the first endpoint in [begin, end) that
/// condition accepts (see above).
template <typename Protocol, typename Executor, typename Iterator,
    typename ConnectCondition,
    BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code, Iterator))
        IteratorConnectToken = boost::asio::default_completion_token_t<Executor>>
auto async_connect(basic_socket<Protocol, Executor>& s, Iterator begin,
    Iterator end, ConnectCondition condition,
    IteratorConnectToken&& token = boost::asio::default_completion_token_t<Executor>(),
    std::enable_if_t<detail::is_connect_condition_v<ConnectCondition,
            Iterator>>* = nullptr)
{
  return boost::asio::async_compose<IteratorConnectToken,
      void(boost::system::error_code, Iterator)>(
      detail::iterator_connect_op<basic_socket<Protocol, Executor>, Iterator,
          ConnectCondition>(s, begin, end, std::move(condition)),
      token, s);
}

} // namespace asio_uring
