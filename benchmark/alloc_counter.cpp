//
// alloc_counter.cpp
// ~~~~~~~~~~~~~~~~~
//
// Replacements of the global operator new/delete that count allocations
// (see alloc_counter.hpp). Memory comes from malloc/aligned_alloc as in
// libstdc++'s own versions; the count is a relaxed atomic increment.
//
#include "alloc_counter.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {

std::atomic<std::uint64_t> allocations{0};

void* allocate(std::size_t size)
{
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (size == 0)
    size = 1;
  if (void* p = std::malloc(size))
    return p;
  throw std::bad_alloc();
}

void* allocate_aligned(std::size_t size, std::align_val_t al)
{
  allocations.fetch_add(1, std::memory_order_relaxed);
  std::size_t alignment = static_cast<std::size_t>(al);
  if (alignment < sizeof(void*))
    alignment = sizeof(void*);
  std::size_t rounded = (size + alignment - 1) / alignment * alignment;
  if (rounded == 0)
    rounded = alignment;
  if (void* p = std::aligned_alloc(alignment, rounded))
    return p;
  throw std::bad_alloc();
}

} // namespace

std::uint64_t bench::allocation_count() noexcept
{
  return allocations.load(std::memory_order_relaxed);
}

void* operator new(std::size_t size) { return allocate(size); }
void* operator new[](std::size_t size) { return allocate(size); }

void* operator new(std::size_t size, const std::nothrow_t&) noexcept
{
  try { return allocate(size); } catch (...) { return nullptr; }
}

void* operator new[](std::size_t size, const std::nothrow_t&) noexcept
{
  try { return allocate(size); } catch (...) { return nullptr; }
}

void* operator new(std::size_t size, std::align_val_t al)
{
  return allocate_aligned(size, al);
}

void* operator new[](std::size_t size, std::align_val_t al)
{
  return allocate_aligned(size, al);
}

void* operator new(std::size_t size, std::align_val_t al,
    const std::nothrow_t&) noexcept
{
  try { return allocate_aligned(size, al); } catch (...) { return nullptr; }
}

void* operator new[](std::size_t size, std::align_val_t al,
    const std::nothrow_t&) noexcept
{
  try { return allocate_aligned(size, al); } catch (...) { return nullptr; }
}

void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept
{
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept
{
  std::free(p);
}
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept
{
  std::free(p);
}
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept
{
  std::free(p);
}
