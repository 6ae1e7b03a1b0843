// The protocol classes asio_uring::ip::tcp, ip::udp, local::stream_protocol
// and local::datagram_protocol share their shape: each stands for one of
// Boost.Asio's protocol classes (its sockets' protocol_type), converts to
// and from it implicitly, and adds its own ring-backed socket types. The
// common part is here; each class adds only its nested types.
#pragma once

namespace asio_uring::detail {

// An internet protocol (IPv4 or IPv6): carries the family.
template <typename Derived, typename BoostProtocol>
class ip_protocol_facade
{
public:
  /// Boost.Asio's protocol type (the sockets' protocol_type).
  using boost_type = BoostProtocol;

  /// Construct to represent the IPv4 protocol.
  static Derived v4() noexcept { return Derived(boost_type::v4()); }

  /// Construct to represent the IPv6 protocol.
  static Derived v6() noexcept { return Derived(boost_type::v6()); }

  /// Converts from Boost.Asio's protocol object (endpoint.protocol()).
  ip_protocol_facade(const boost_type& p) noexcept : family_(p.family()) {}

  /// Converts to Boost.Asio's protocol object.
  operator boost_type() const noexcept
  {
    return family_ == boost_type::v6().family() ? boost_type::v6()
                                                : boost_type::v4();
  }

  /// Obtain an identifier for the type of the protocol.
  int type() const noexcept { return boost_type::v4().type(); }

  /// Obtain an identifier for the protocol.
  int protocol() const noexcept { return boost_type::v4().protocol(); }

  /// Obtain an identifier for the protocol family.
  int family() const noexcept { return family_; }

  /// Compare two protocols for equality.
  friend bool operator==(const Derived& p1, const Derived& p2) noexcept
  {
    return p1.family() == p2.family();
  }

  /// Compare with Boost.Asio's protocol object (either order, by rewriting).
  friend bool operator==(const Derived& p1, const boost_type& p2) noexcept
  {
    return p1.family() == p2.family();
  }

private:
  int family_;
};

// A UNIX domain protocol: stateless, all objects equal.
template <typename Derived, typename BoostProtocol>
class local_protocol_facade
{
public:
  /// Boost.Asio's protocol type (the sockets' protocol_type).
  using boost_type = BoostProtocol;

  local_protocol_facade() noexcept = default;

  /// Converts from Boost.Asio's protocol object (endpoint.protocol()).
  local_protocol_facade(const boost_type&) noexcept {}

  /// Converts to Boost.Asio's protocol object.
  operator boost_type() const noexcept { return boost_type(); }

  /// Obtain an identifier for the type of the protocol.
  int type() const noexcept { return boost_type().type(); }

  /// Obtain an identifier for the protocol.
  int protocol() const noexcept { return boost_type().protocol(); }

  /// Obtain an identifier for the protocol family.
  int family() const noexcept { return boost_type().family(); }

  /// All objects of a UNIX domain protocol are equal.
  friend bool operator==(const Derived&, const Derived&) noexcept
  {
    return true;
  }
};

} // namespace asio_uring::detail
