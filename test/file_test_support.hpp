// Helpers shared by the file test programs (stream_file, random_access_file,
// file_cancellation, file_large): fast deterministic data, handler probes,
// a move-only handler, a counting allocator, a pipe.
#pragma once

#include <boost/system/error_code.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace asio_uring_test {

// The byte at absolute offset off of the deterministic test pattern seeded by
// seed. Cheap enough to verify hundreds of MiB byte by byte.
inline unsigned char pattern_byte(std::uint64_t off, std::uint64_t seed = 1)
{
  std::uint64_t x = (off >> 3) * 0x9e3779b97f4a7c15ull + seed;
  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 29;
  return static_cast<unsigned char>(x >> (8 * (off & 7)));
}

// Fills [p, p + n) with the pattern starting at absolute offset off, eight
// bytes per hash.
inline void fill_pattern(unsigned char* p, std::size_t n, std::uint64_t off,
    std::uint64_t seed = 1)
{
  std::size_t i = 0;
  for (; i < n && ((off + i) & 7) != 0; ++i)
    p[i] = pattern_byte(off + i, seed);
  for (; i + 8 <= n; i += 8)
  {
    std::uint64_t x = ((off + i) >> 3) * 0x9e3779b97f4a7c15ull + seed;
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 29;
    std::memcpy(p + i, &x, 8);  // little endian: byte k is x >> 8k
  }
  for (; i < n; ++i)
    p[i] = pattern_byte(off + i, seed);
}

inline std::vector<unsigned char> pattern(std::size_t n, std::uint64_t off = 0,
    std::uint64_t seed = 1)
{
  std::vector<unsigned char> v(n);
  fill_pattern(v.data(), n, off, seed);
  return v;
}

// Index of the first byte of [p, p + n) that differs from the pattern at
// off, or n.
inline std::size_t first_pattern_mismatch(const unsigned char* p,
    std::size_t n, std::uint64_t off, std::uint64_t seed = 1)
{
  unsigned char chunk[4096];
  for (std::size_t done = 0; done < n;)
  {
    std::size_t len = n - done < sizeof(chunk) ? n - done : sizeof(chunk);
    fill_pattern(chunk, len, off + done, seed);
    if (std::memcmp(chunk, p + done, len) != 0)
      for (std::size_t i = 0; i < len; ++i)
        if (chunk[i] != p[done + i])
          return done + i;
    done += len;
  }
  return n;
}

// Order-dependent checksum (FNV-1a, 64 bit) over a byte stream.
class checksum
{
public:
  void update(const unsigned char* p, std::size_t n) noexcept
  {
    for (std::size_t i = 0; i < n; ++i)
    {
      h_ ^= p[i];
      h_ *= 0x100000001b3ull;
    }
  }
  std::uint64_t value() const noexcept { return h_; }

private:
  std::uint64_t h_ = 0xcbf29ce484222325ull;
};

// What a (error_code, size_t) handler saw.
struct io_result
{
  int calls = 0;
  boost::system::error_code ec;
  std::size_t n = 0;
};

// Records into an io_result; also notes whether it ran inside the initiating
// function (*initiating is true until the caller clears it).
class recording_handler
{
public:
  recording_handler(io_result& r, const bool* initiating = nullptr)
    : r_(&r), initiating_(initiating)
  {
  }

  void operator()(const boost::system::error_code& ec, std::size_t n)
  {
    if (initiating_ && *initiating_)
      throw std::logic_error("handler invoked inside initiating function");
    ++r_->calls;
    r_->ec = ec;
    r_->n = n;
  }

private:
  io_result* r_;
  const bool* initiating_;
};

// A handler that can only be moved (the ops must never copy a handler).
class move_only_handler
{
public:
  explicit move_only_handler(io_result& r)
    : r_(std::make_unique<io_result*>(&r))
  {
  }
  move_only_handler(move_only_handler&&) = default;
  move_only_handler& operator=(move_only_handler&&) = default;
  move_only_handler(const move_only_handler&) = delete;
  move_only_handler& operator=(const move_only_handler&) = delete;

  void operator()(const boost::system::error_code& ec, std::size_t n)
  {
    ++(*r_)->calls;
    (*r_)->ec = ec;
    (*r_)->n = n;
  }

private:
  std::unique_ptr<io_result*> r_;
};

// Counts every allocation and deallocation made through it.
struct allocation_counts
{
  std::atomic<long> allocations{0};
  std::atomic<long> deallocations{0};
  std::atomic<long> live_bytes{0};
};

template <typename T>
class counting_allocator
{
public:
  using value_type = T;

  explicit counting_allocator(allocation_counts& c) noexcept : c_(&c) {}
  template <typename U>
  counting_allocator(const counting_allocator<U>& other) noexcept
    : c_(other.c_)
  {
  }

  T* allocate(std::size_t n)
  {
    ++c_->allocations;
    c_->live_bytes += static_cast<long>(n * sizeof(T));
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }

  void deallocate(T* p, std::size_t n) noexcept
  {
    ++c_->deallocations;
    c_->live_bytes -= static_cast<long>(n * sizeof(T));
    ::operator delete(p);
  }

  template <typename U>
  bool operator==(const counting_allocator<U>& o) const noexcept
  {
    return c_ == o.c_;
  }
  template <typename U>
  bool operator!=(const counting_allocator<U>& o) const noexcept
  {
    return c_ != o.c_;
  }

private:
  template <typename> friend class counting_allocator;
  allocation_counts* c_;
};

// A pipe whose ends close with the object (an end handed to a file object is
// released with take_read/take_write).
class test_pipe
{
public:
  test_pipe()
  {
    if (::pipe2(fds_, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe2 failed");
  }
  test_pipe(const test_pipe&) = delete;
  test_pipe& operator=(const test_pipe&) = delete;
  ~test_pipe()
  {
    for (int fd : fds_)
      if (fd >= 0)
        ::close(fd);
  }

  int read_end() const noexcept { return fds_[0]; }
  int write_end() const noexcept { return fds_[1]; }
  int take_read() noexcept { return std::exchange(fds_[0], -1); }
  int take_write() noexcept { return std::exchange(fds_[1], -1); }

  // Writes n bytes at p to the write end (blocking).
  void put(const void* p, std::size_t n)
  {
    const char* c = static_cast<const char*>(p);
    while (n > 0)
    {
      ssize_t r = ::write(fds_[1], c, n);
      if (r <= 0)
        throw std::runtime_error("pipe write failed");
      c += r;
      n -= static_cast<std::size_t>(r);
    }
  }

  // Bytes waiting in the pipe.
  int available() const
  {
    int n = 0;
    if (::ioctl(fds_[0], FIONREAD, &n) != 0)
      return -1;
    return n;
  }

private:
  int fds_[2];
};

// Whether fd is an open descriptor.
inline bool fd_is_open(int fd)
{
  return fd >= 0 && ::fcntl(fd, F_GETFD) != -1;
}

} // namespace asio_uring_test
