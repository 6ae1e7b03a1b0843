//
// aligned_buffer.hpp
// ~~~~~~~~~~~~~~~~~~
//
// Owning, suitably aligned memory for O_DIRECT I/O (file_base::direct).
//
#pragma once

#include <boost/asio/buffer.hpp>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <utility>

namespace asio_uring {

/// A block of memory aligned for direct I/O.
/**
 * O_DIRECT reads and writes need the buffer address, the file offset and
 * the length aligned to the device's logical block size (commonly 512 or
 * 4096 bytes); the kernel rejects anything else with EINVAL, which
 * asio_uring reports as boost::asio::error::invalid_argument. The default
 * alignment, 4096, satisfies every common device.
 *
 * Use it with asio_uring::buffer(b) (or b.buffer()) like any other buffer.
 */
class aligned_buffer
{
public:
  /// An empty buffer.
  aligned_buffer() noexcept = default;

  /// Allocates size bytes (zeroed) aligned to alignment, a power of two.
  /// Throws std::invalid_argument for a bad alignment, std::bad_alloc when
  /// out of memory.
  explicit aligned_buffer(std::size_t size, std::size_t alignment = 4096)
    : size_(size), alignment_(alignment)
  {
    if (alignment == 0 || (alignment & (alignment - 1)) != 0
        || alignment < sizeof(void*))
      throw std::invalid_argument(
          "asio_uring::aligned_buffer: alignment must be a power of two");
    if (size == 0)
      return;
    const std::size_t rounded = (size + alignment - 1) / alignment * alignment;
    data_ = std::aligned_alloc(alignment, rounded);
    if (!data_)
      throw std::bad_alloc();
    std::memset(data_, 0, rounded);
  }

  aligned_buffer(aligned_buffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      alignment_(other.alignment_)
  {
  }

  aligned_buffer& operator=(aligned_buffer&& other) noexcept
  {
    if (this != &other)
    {
      std::free(data_);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
      alignment_ = other.alignment_;
    }
    return *this;
  }

  aligned_buffer(const aligned_buffer&) = delete;
  aligned_buffer& operator=(const aligned_buffer&) = delete;

  ~aligned_buffer() { std::free(data_); }

  void* data() noexcept { return data_; }
  const void* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::size_t alignment() const noexcept { return alignment_; }

  unsigned char& operator[](std::size_t i) noexcept
  {
    return static_cast<unsigned char*>(data_)[i];
  }

  const unsigned char& operator[](std::size_t i) const noexcept
  {
    return static_cast<const unsigned char*>(data_)[i];
  }

  boost::asio::mutable_buffer buffer() noexcept
  {
    return boost::asio::mutable_buffer(data_, size_);
  }

  boost::asio::const_buffer buffer() const noexcept
  {
    return boost::asio::const_buffer(data_, size_);
  }

private:
  void* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t alignment_ = 4096;
};

/// The whole of b as a mutable buffer.
inline boost::asio::mutable_buffer buffer(aligned_buffer& b) noexcept
{
  return b.buffer();
}

/// At most max_size bytes of b.
inline boost::asio::mutable_buffer buffer(aligned_buffer& b,
    std::size_t max_size) noexcept
{
  return boost::asio::buffer(b.buffer(), max_size);
}

/// The whole of b as a const buffer.
inline boost::asio::const_buffer buffer(const aligned_buffer& b) noexcept
{
  return b.buffer();
}

/// At most max_size bytes of b.
inline boost::asio::const_buffer buffer(const aligned_buffer& b,
    std::size_t max_size) noexcept
{
  return boost::asio::buffer(b.buffer(), max_size);
}

} // namespace asio_uring
