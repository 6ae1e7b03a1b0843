// Operation storage. Handlers with the default allocator get memory from a
// per-thread, size-classed cache, so operations allocate nothing once warm;
// handlers with their own associated allocator get it from that allocator.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>

namespace asio_uring::detail {

class recycling_cache
{
public:
  static constexpr std::size_t granularity = 64;   // bytes per size class
  static constexpr std::size_t classes = 32;       // up to 2 KiB recycled
  static constexpr std::size_t max_per_class = 8192;

  recycling_cache() = default;
  recycling_cache(const recycling_cache&) = delete;
  recycling_cache& operator=(const recycling_cache&) = delete;

  ~recycling_cache()
  {
    for (std::size_t c = 0; c < classes; ++c)
      while (block* b = free_[c])
      {
        free_[c] = b->next;
        ::operator delete(static_cast<void*>(b));
      }
  }

  void* allocate(std::size_t size)
  {
    std::size_t c = (size - 1) / granularity;
    if (size != 0 && c < classes)
    {
      if (block* b = free_[c])
      {
        free_[c] = b->next;
        --count_[c];
        return b;
      }
      return ::operator new((c + 1) * granularity);
    }
    return ::operator new(size);
  }

  void deallocate(void* p, std::size_t size) noexcept
  {
    std::size_t c = (size - 1) / granularity;
    if (size != 0 && c < classes && count_[c] < max_per_class)
    {
      block* b = static_cast<block*>(p);
      b->next = free_[c];
      free_[c] = b;
      ++count_[c];
      return;
    }
    ::operator delete(p);
  }

  // The calling thread's cache, or null once it has been destroyed: at
  // thread exit, thread_locals constructed before it (a context, say) are
  // destroyed after it and may still free operations.
  // Inline, it is one thread-local load: a trivial pointer needs no guard.
  static recycling_cache* this_thread() noexcept
  {
    if (recycling_cache* c = current_) [[likely]]
      return c;
    return first_use();
  }

private:
  static inline constinit thread_local recycling_cache* current_ = nullptr;

  // The thread's first call creates its cache; any call after the cache's
  // destruction gets null.
  [[gnu::noinline, gnu::cold]] static recycling_cache* first_use() noexcept
  {
    thread_local bool destroyed = false;  // trivial: valid until the end
    if (destroyed)
      return nullptr;
    struct holder
    {
      recycling_cache cache;
      ~holder()
      {
        destroyed = true;
        current_ = nullptr;
      }
    };
    thread_local holder h;
    current_ = &h.cache;
    return current_;
  }

  struct block
  {
    block* next;
  };
  block* free_[classes] = {};
  std::size_t count_[classes] = {};
};

// Allocates and frees raw storage for one operation object of type Op
// through the handler's associated allocator.
template <typename Allocator>
struct op_storage
{
  struct alignas(std::max_align_t) unit
  {
    unsigned char bytes[alignof(std::max_align_t)];
  };
  using unit_allocator =
      typename std::allocator_traits<Allocator>::template rebind_alloc<unit>;

  static constexpr std::size_t units(std::size_t size) noexcept
  {
    return (size + sizeof(unit) - 1) / sizeof(unit);
  }

  static void* allocate(const Allocator& a, std::size_t size)
  {
    unit_allocator ua(a);
    return std::allocator_traits<unit_allocator>::allocate(ua, units(size));
  }

  static void deallocate(const Allocator& a, void* p, std::size_t size)
  {
    unit_allocator ua(a);
    std::allocator_traits<unit_allocator>::deallocate(
        ua, static_cast<unit*>(p), units(size));
  }
};

template <typename T>
struct op_storage<std::allocator<T>>
{
  static void* allocate(const std::allocator<T>&, std::size_t size)
  {
    if (recycling_cache* cache = recycling_cache::this_thread())
      return cache->allocate(size);
    return ::operator new(size);
  }

  static void deallocate(const std::allocator<T>&, void* p, std::size_t size)
  {
    if (recycling_cache* cache = recycling_cache::this_thread())
      cache->deallocate(p, size);
    else
      ::operator delete(p);
  }
};

// Owns freshly allocated storage until an operation is constructed in it
// and handed over (release), so a throwing constructor leaks nothing.
template <typename Op, typename Allocator>
class op_ptr
{
public:
  explicit op_ptr(const Allocator& a)
    : alloc_(a), mem_(op_storage<Allocator>::allocate(a, sizeof(Op)))
  {
  }

  op_ptr(const op_ptr&) = delete;
  op_ptr& operator=(const op_ptr&) = delete;

  ~op_ptr()
  {
    if (op_)
      op_->~Op();
    if (mem_)
      op_storage<Allocator>::deallocate(alloc_, mem_, sizeof(Op));
  }

  template <typename... Args>
  Op* construct(Args&&... args)
  {
    op_ = ::new (mem_) Op(static_cast<Args&&>(args)...);
    return op_;
  }

  Op* release() noexcept
  {
    Op* op = op_;
    op_ = nullptr;
    mem_ = nullptr;
    return op;
  }

  // Destroys op and frees its storage (used by completion paths).
  static void destroy(Op* op, const Allocator& a) noexcept
  {
    op->~Op();
    op_storage<Allocator>::deallocate(a, op, sizeof(Op));
  }

private:
  Allocator alloc_;
  void* mem_;
  Op* op_ = nullptr;
};

} // namespace asio_uring::detail
