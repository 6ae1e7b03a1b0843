// Boost.Asio registered buffers whose ids name slots of one scheduler's
// fixed-buffer table: minting them, and recognising them in operations.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/buffer_registration.hpp>
#include <boost/asio/registered_buffer.hpp>

namespace asio_uring::detail {

class scheduler;

class registered_buffers_access : boost::asio::detail::buffer_registration_base
{
public:
  static boost::asio::mutable_registered_buffer make(
      const boost::asio::mutable_buffer& b, const scheduler& s, int index)
  {
    return make_buffer(b, &s, index);
  }

  // The table slot of a buffer registered with s, or -1.
  template <typename RegisteredBuffer>
  static int index_of(const RegisteredBuffer& b, const scheduler& s)
  {
    const int index = b.id().native_handle();
    if (index < 0)
      return -1;
    return make_buffer(boost::asio::mutable_buffer(), &s, index).id() == b.id()
        ? index
        : -1;
  }
};

template <typename RegisteredBuffer>
int registered_index(const RegisteredBuffer& b, const scheduler& s)
{
  return registered_buffers_access::index_of(b, s);
}

} // namespace asio_uring::detail
