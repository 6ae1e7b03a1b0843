// Buffer sequences flattened into the iovec array an SQE points at.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/registered_buffer.hpp>

#include <cstddef>
#include <sys/uio.h>
#include <type_traits>

namespace asio_uring::detail {

template <typename T>
inline constexpr bool is_registered_buffer_v =
    std::is_same_v<T, boost::asio::mutable_registered_buffer>
    || std::is_same_v<T, boost::asio::const_registered_buffer>;

// The plain buffer behind a single buffer, registered or not.
template <typename Buffer, typename T>
Buffer single_buffer(const T& b) noexcept
{
  if constexpr (is_registered_buffer_v<T>)
    return Buffer(b.buffer());
  else
    return Buffer(b);
}

// Total size of a buffer sequence (registered buffers included).
template <typename Buffers>
std::size_t total_buffer_size(const Buffers& buffers) noexcept
{
  if constexpr (is_registered_buffer_v<Buffers>)
    return buffers.size();
  else
    return boost::asio::buffer_size(buffers);
}

// Buffer is boost::asio::mutable_buffer or const_buffer. A single-buffer
// sequence needs one iovec; others take at most max_buffers (as Asio).
// Empty buffers get no iovec: count() is 0 for a zero-size sequence.
template <typename Buffer, typename Buffers>
class iovecs
{
public:
  static constexpr bool is_single = std::is_convertible_v<const Buffers&, Buffer>
      || is_registered_buffer_v<Buffers>;
  static constexpr std::size_t max_buffers = is_single ? 1 : 64;
  // Linux transfers at most this much per read or write (MAX_RW_COUNT).
  static constexpr std::size_t max_size = 0x7ffff000;

  explicit iovecs(const Buffers& buffers) noexcept
  {
    if constexpr (is_single)
    {
      Buffer b = single_buffer<Buffer>(buffers);
      iov_[0].iov_base = const_cast<void*>(static_cast<const void*>(b.data()));
      iov_[0].iov_len = b.size() < max_size ? b.size() : max_size;
      count_ = b.size() != 0 ? 1 : 0;  // empty buffers are skipped, as below
      total_ = iov_[0].iov_len;
    }
    else
    {
      auto it = boost::asio::buffer_sequence_begin(buffers);
      auto end = boost::asio::buffer_sequence_end(buffers);
      for (; it != end && count_ < max_buffers && total_ < max_size; ++it)
      {
        Buffer b(*it);
        if (b.size() == 0)
          continue;
        std::size_t n = b.size() < max_size - total_ ? b.size() : max_size - total_;
        iov_[count_].iov_base =
            const_cast<void*>(static_cast<const void*>(b.data()));
        iov_[count_].iov_len = n;
        total_ += n;
        ++count_;
      }
    }
  }

  const ::iovec* data() const noexcept { return iov_; }
  unsigned count() const noexcept { return count_; }
  std::size_t total_size() const noexcept { return total_; }

private:
  ::iovec iov_[max_buffers];
  unsigned count_ = 0;
  std::size_t total_ = 0;
};

} // namespace asio_uring::detail
