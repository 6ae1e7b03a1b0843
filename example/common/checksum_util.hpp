//
// checksum_util.hpp
// ~~~~~~~~~~~~~~~~~
//
// Pieces shared by the W1 file-checksum demo and the benchmarks: the byte
// sum, test-file generation, page-cache warming and getrusage deltas. Uses
// no Boost.Asio and no asio_uring header, so binaries built with other
// Boost.Asio configurations (BOOST_ASIO_HAS_IO_URING) can include it too.
//
#pragma once

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace checksum_util {

// The sum of every byte in [p, p + n). The W1 workload's CPU part: kept
// cheap (SSE2 psadbw where available) so that I/O dominates the numbers.
// Out of line and 64-byte aligned so that every variant of every benchmark
// binary runs the very same machine code at the same alignment: inlined
// copies of this loop differed by up to 40% in speed between template
// instantiations (code placement), which showed up as a 10% difference
// between two identical raw liburing loops.
[[gnu::noinline, gnu::aligned(64)]] inline std::uint64_t byte_sum(
    const unsigned char* p, std::size_t n) noexcept
{
  std::uint64_t total = 0;
#if defined(__SSE2__)
  const __m128i zero = _mm_setzero_si128();
  __m128i acc = zero;
  while (n >= 16)
  {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    acc = _mm_add_epi64(acc, _mm_sad_epu8(v, zero));
    p += 16;
    n -= 16;
  }
  alignas(16) std::uint64_t lanes[2];
  _mm_store_si128(reinterpret_cast<__m128i*>(lanes), acc);
  total = lanes[0] + lanes[1];
#endif
  while (n > 0)
  {
    total += *p++;
    --n;
  }
  return total;
}

// Throws std::system_error for errno with what = "what: path".
[[noreturn]] inline void throw_errno(const char* what, const std::string& path)
{
  throw std::system_error(errno, std::generic_category(),
      std::string(what) + ": " + path);
}

// Size of the file at path, or -1 if it does not exist.
inline long long file_size_or_missing(const std::string& path)
{
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
  {
    if (errno == ENOENT)
      return -1;
    throw_errno("stat", path);
  }
  return static_cast<long long>(st.st_size);
}

// Writes size bytes of deterministic pseudo-random data to path (created or
// truncated). Throws std::system_error on failure and removes the partial
// file.
inline void generate_file(const std::string& path, std::uint64_t size)
{
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw_errno("open", path);
  constexpr std::size_t chunk = 1 << 20;
  std::unique_ptr<std::uint64_t[]> words(new std::uint64_t[chunk / 8]);
  std::uint64_t state = 0x9E3779B97F4A7C15ull;
  std::uint64_t left = size;
  while (left > 0)
  {
    for (std::size_t i = 0; i < chunk / 8; ++i)
    {
      // xorshift64: fast, and enough to make every byte value appear.
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      words[i] = state;
    }
    std::size_t todo = static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk));
    const char* p = reinterpret_cast<const char*>(words.get());
    while (todo > 0)
    {
      ssize_t n = ::write(fd, p, todo);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
      {
        int saved = n < 0 ? errno : ENOSPC;
        ::close(fd);
        ::unlink(path.c_str());
        errno = saved;
        throw_errno("write", path);
      }
      p += n;
      todo -= static_cast<std::size_t>(n);
      left -= static_cast<std::uint64_t>(n);
    }
  }
  if (::close(fd) != 0)
    throw_errno("close", path);
}

// What one sequential pass with read(2) saw.
struct read_pass
{
  std::uint64_t bytes = 0;
  std::uint64_t sum = 0;
  std::uint64_t calls = 0;  // read(2) calls made, the final one included
};

// Reads the whole file with plain read(2) in block-sized pieces and sums it.
// Used to pull the file into the page cache right before a measured run
// (these machines reclaim page-cache pages idle for about a minute), and as
// the reference checksum.
inline read_pass read_whole_file(const std::string& path, std::size_t block)
{
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw_errno("open", path);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  std::unique_ptr<unsigned char[]> buf(new unsigned char[block]);
  read_pass pass;
  for (;;)
  {
    ssize_t n = ::read(fd, buf.get(), block);
    ++pass.calls;
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
    {
      int saved = errno;
      ::close(fd);
      errno = saved;
      throw_errno("read", path);
    }
    if (n == 0)
      break;
    pass.bytes += static_cast<std::uint64_t>(n);
    pass.sum += byte_sum(buf.get(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  return pass;
}

// Context switches and CPU time of the whole process (all threads).
struct usage
{
  long voluntary = 0;
  long involuntary = 0;
  double user_s = 0;
  double system_s = 0;

  static usage now()
  {
    struct rusage ru;
    ::getrusage(RUSAGE_SELF, &ru);
    usage u;
    u.voluntary = ru.ru_nvcsw;
    u.involuntary = ru.ru_nivcsw;
    u.user_s = static_cast<double>(ru.ru_utime.tv_sec)
        + static_cast<double>(ru.ru_utime.tv_usec) / 1e6;
    u.system_s = static_cast<double>(ru.ru_stime.tv_sec)
        + static_cast<double>(ru.ru_stime.tv_usec) / 1e6;
    return u;
  }

  friend usage operator-(const usage& a, const usage& b)
  {
    usage d;
    d.voluntary = a.voluntary - b.voluntary;
    d.involuntary = a.involuntary - b.involuntary;
    d.user_s = a.user_s - b.user_s;
    d.system_s = a.system_s - b.system_s;
    return d;
  }
};

// Decimal megabytes per second, the unit the brief's tables use.
inline double mb_per_s(std::uint64_t bytes, std::chrono::steady_clock::duration d)
{
  double s = std::chrono::duration<double>(d).count();
  return s > 0 ? static_cast<double>(bytes) / 1e6 / s : 0.0;
}

} // namespace checksum_util
