// Counting replacements of the global operator new and delete, for test
// programs that check "no allocation per operation". Include in exactly one
// translation unit of a program.
#pragma once

#include <atomic>
#include <cstdlib>
#include <new>

namespace asio_uring_test {

inline std::atomic<long> allocations{0};

// Out of line, so that the compiler does not pair an inlined malloc with a
// free it cannot match (-Wmismatched-new-delete in optimised builds).
[[gnu::noinline]] inline void* counted_alloc(std::size_t n) noexcept
{
  allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}

[[gnu::noinline]] inline void counted_free(void* p) noexcept { std::free(p); }

} // namespace asio_uring_test

void* operator new(std::size_t n)
{
  if (void* p = asio_uring_test::counted_alloc(n))
    return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept
{
  return asio_uring_test::counted_alloc(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept
{
  return asio_uring_test::counted_alloc(n);
}
void operator delete(void* p) noexcept { asio_uring_test::counted_free(p); }
void operator delete(void* p, std::size_t) noexcept
{
  asio_uring_test::counted_free(p);
}
void operator delete[](void* p) noexcept { asio_uring_test::counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept
{
  asio_uring_test::counted_free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept
{
  asio_uring_test::counted_free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept
{
  asio_uring_test::counted_free(p);
}
