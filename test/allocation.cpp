// The allocation suite. This program replaces the global operator new and
// delete with counting versions, and checks:
// - in steady state (after a warm-up), posts, dispatches, defers and file
//   reads and writes through the ring perform no heap allocation at all
//   with the default allocator;
// - a handler's associated allocator (bind_allocator, or an executor's
//   allocator property) provides the operation's storage, every block is
//   given back, and the global heap is not touched instead;
// - operations destroyed without running (context destroyed first) give
//   their storage back to the same allocator;
// - Boost.Asio's own per-thread recycling (coroutine frames, strand
//   operations) works on our threads as on boost::asio::io_context's: it
//   allocates with aligned_alloc, which this program counts too.
#include <asio_uring/io_context.hpp>

#include <asio_uring/random_access_file.hpp>
#include <asio_uring/stream_file.hpp>

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/defer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/require.hpp>
#include <boost/test/unit_test.hpp>

#include "test_util.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

// ---------------------------------------------------------------------------
// Counting global allocation functions (every replaceable form).

namespace {

std::atomic<long> global_allocations{0};
std::atomic<long> global_deallocations{0};

void* counted_alloc(std::size_t n)
{
  global_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1))
    return p;
  throw std::bad_alloc();
}

void* counted_aligned_alloc(std::size_t n, std::align_val_t a)
{
  global_allocations.fetch_add(1, std::memory_order_relaxed);
  std::size_t align = static_cast<std::size_t>(a);
  if (align < sizeof(void*))
    align = sizeof(void*);
  void* p = nullptr;
  if (::posix_memalign(&p, align, n ? n : 1) != 0)
    throw std::bad_alloc();
  return p;
}

void counted_free(void* p) noexcept
{
  if (!p)
    return;
  global_deallocations.fetch_add(1, std::memory_order_relaxed);
  std::free(p);
}

} // namespace

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept
{
  try { return counted_alloc(n); } catch (...) { return nullptr; }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept
{
  try { return counted_alloc(n); } catch (...) { return nullptr; }
}
void* operator new(std::size_t n, std::align_val_t a)
{
  return counted_aligned_alloc(n, a);
}
void* operator new[](std::size_t n, std::align_val_t a)
{
  return counted_aligned_alloc(n, a);
}
void* operator new(std::size_t n, std::align_val_t a,
    const std::nothrow_t&) noexcept
{
  try { return counted_aligned_alloc(n, a); } catch (...) { return nullptr; }
}
void* operator new[](std::size_t n, std::align_val_t a,
    const std::nothrow_t&) noexcept
{
  try { return counted_aligned_alloc(n, a); } catch (...) { return nullptr; }
}
// Boost.Asio's aligned_new() calls aligned_alloc, not operator new. Under a
// sanitizer, whose allocator must see every call, its allocation hook counts
// them (and every other heap allocation); otherwise glibc's aligned entry
// points are interposed.
namespace {
std::atomic<long> aligned_allocations{0};
} // namespace

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
extern "C" int __sanitizer_install_malloc_and_free_hooks(
    void (*)(const volatile void*, std::size_t), void (*)(const volatile void*));

namespace {
void on_sanitizer_malloc(const volatile void*, std::size_t)
{
  aligned_allocations.fetch_add(1, std::memory_order_relaxed);
}
void on_sanitizer_free(const volatile void*) {}
const int hooks_installed = __sanitizer_install_malloc_and_free_hooks(
    &on_sanitizer_malloc, &on_sanitizer_free);
} // namespace
#else
extern "C" void* __libc_memalign(std::size_t align, std::size_t size);

extern "C" void* aligned_alloc(std::size_t align, std::size_t size)
{
  aligned_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(align, size);
}

extern "C" int posix_memalign(void** p, std::size_t align, std::size_t size)
{
  aligned_allocations.fetch_add(1, std::memory_order_relaxed);
  *p = __libc_memalign(align, size);
  return *p ? 0 : ENOMEM;
}
#endif

void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept
{
  counted_free(p);
}
void operator delete(void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept
{
  counted_free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept
{
  counted_free(p);
}
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept
{
  counted_free(p);
}
void operator delete[](void* p, std::align_val_t,
    const std::nothrow_t&) noexcept
{
  counted_free(p);
}

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

long allocations_now()
{
  return global_allocations.load(std::memory_order_relaxed);
}

// Every heap allocation the program can see: operator new, aligned_alloc,
// posix_memalign (and, under a sanitizer, malloc).
long heap_allocations_now()
{
  return global_allocations.load(std::memory_order_relaxed)
      + aligned_allocations.load(std::memory_order_relaxed);
}

// An allocator that records what it hands out (storage from malloc, so the
// global counters show anything that bypasses it).
struct alloc_stats
{
  long allocations = 0;
  long deallocations = 0;
  long live_bytes = 0;
  long mismatches = 0;  // deallocate() with a size allocate() did not give
};

template <typename T>
struct counting_allocator
{
  using value_type = T;
  alloc_stats* stats;

  explicit counting_allocator(alloc_stats& s) noexcept : stats(&s) {}
  template <typename U>
  counting_allocator(const counting_allocator<U>& o) noexcept : stats(o.stats)
  {
  }

  T* allocate(std::size_t n)
  {
    ++stats->allocations;
    stats->live_bytes += static_cast<long>(n * sizeof(T));
    // A header remembers the size, to catch unbalanced deallocations.
    void* raw = std::aligned_alloc(alignof(std::max_align_t),
        (n * sizeof(T) + 2 * alignof(std::max_align_t) - 1)
            / alignof(std::max_align_t) * alignof(std::max_align_t));
    if (!raw)
      throw std::bad_alloc();
    *static_cast<std::size_t*>(raw) = n * sizeof(T);
    return reinterpret_cast<T*>(
        static_cast<unsigned char*>(raw) + alignof(std::max_align_t));
  }

  void deallocate(T* p, std::size_t n) noexcept
  {
    ++stats->deallocations;
    stats->live_bytes -= static_cast<long>(n * sizeof(T));
    void* raw = reinterpret_cast<unsigned char*>(p) - alignof(std::max_align_t);
    if (*static_cast<std::size_t*>(raw) != n * sizeof(T))
      ++stats->mismatches;
    std::free(raw);
  }

  template <typename U>
  bool operator==(const counting_allocator<U>& o) const noexcept
  {
    return stats == o.stats;
  }
  template <typename U>
  bool operator!=(const counting_allocator<U>& o) const noexcept
  {
    return stats != o.stats;
  }
};

// A handler that reposts itself `remaining` times, using each way of
// submitting a function in turn. No std::function: nothing allocates but
// the library.
struct repost
{
  asio_uring::io_context* ctx;
  long* ran;
  int remaining;

  void operator()()
  {
    ++*ran;
    if (remaining == 0)
      return;
    repost next{ctx, ran, remaining - 1};
    switch (remaining % 4)
    {
    case 0:
      asio::post(*ctx, next);
      break;
    case 1:
      asio::defer(*ctx, next);
      break;
    case 2:
      asio::post(ctx->get_executor(), next);
      // dispatch from inside runs inline: it must not allocate either.
      asio::dispatch(*ctx, [r = ran] { ++*r; });
      break;
    default:
      asio::require(ctx->get_executor(), asio::execution::blocking.never)
          .execute(next);
      break;
    }
  }
};

// Posts `chains` reposting chains of length `length` and runs them.
long run_post_chains(asio_uring::io_context& ctx, int chains, int length)
{
  long ran = 0;
  for (int i = 0; i < chains; ++i)
    asio::post(ctx, repost{&ctx, &ran, length});
  ctx.restart();
  ctx.run();
  return ran;
}

// Keeps `depth` reads or writes in flight on a file until `total` have
// completed; each completion starts the next one.
struct io_loop
{
  asio_uring::random_access_file* file;
  asio_uring::stream_file* stream;
  unsigned char* buffer;   // depth blocks of block_size bytes
  std::size_t block_size;
  std::size_t file_blocks;
  int started = 0;
  int completed = 0;
  int errors = 0;
  int total = 0;
  bool write = false;

  struct handler
  {
    io_loop* loop;
    int slot;
    void operator()(error_code ec, std::size_t n)
    {
      if (ec || n != loop->block_size)
        ++loop->errors;
      ++loop->completed;
      loop->start(slot);
    }
  };

  void start(int slot)
  {
    if (started == total)
      return;
    const std::uint64_t offset =
        static_cast<std::uint64_t>(started % file_blocks) * block_size;
    ++started;
    unsigned char* b = buffer + slot * block_size;
    if (stream)
    {
      if (stream->seek(static_cast<std::int64_t>(offset),
              asio_uring::file_base::seek_set) != offset)
        ++errors;
      stream->async_read_some(asio::buffer(b, block_size), handler{this, slot});
    }
    else if (write)
      file->async_write_some_at(offset, asio::buffer(b, block_size),
          handler{this, slot});
    else
      file->async_read_some_at(offset, asio::buffer(b, block_size),
          handler{this, slot});
  }
};

int run_io(asio_uring::io_context& ctx, io_loop& loop, int depth, int total)
{
  loop.started = loop.completed = loop.errors = 0;
  loop.total = total;
  for (int s = 0; s < depth; ++s)
    loop.start(s);
  ctx.restart();
  ctx.run();
  return loop.completed;
}

constexpr std::size_t block = 4096;
constexpr std::size_t blocks = 64;

} // namespace

BOOST_AUTO_TEST_SUITE(allocation)

BOOST_AUTO_TEST_CASE(counting_operator_new_sees_allocations)
{
  // The seam itself: without it, zero below would prove nothing.
  long before = allocations_now();
  auto* p = new int(1);
  delete p;
  std::vector<int> v(10);
  BOOST_TEST(allocations_now() - before == 2);
  long heap_before = heap_allocations_now();
  void* q = std::aligned_alloc(64, 64);
  std::free(q);
  BOOST_TEST(heap_allocations_now() - heap_before >= 1);
}

BOOST_AUTO_TEST_CASE(posts_allocate_nothing_after_warm_up)
{
  asio_uring::io_context ctx;
  BOOST_TEST(run_post_chains(ctx, 64, 200) > 0);  // warm-up

  long before = heap_allocations_now();
  long ran = run_post_chains(ctx, 64, 5000);
  long allocated = heap_allocations_now() - before;

  BOOST_TEST(ran == 64 * (5000 + 1) + 64 * 1250);  // + inline dispatches
  BOOST_TEST(allocated == 0);
}

BOOST_AUTO_TEST_CASE(strand_posts_allocate_nothing_after_warm_up)
{
  // Boost.Asio's strand allocates its queued operations from its per-thread
  // cache, which must be on the stack of our run loop.
  asio_uring::io_context ctx;
  auto strand = asio::make_strand(ctx);
  struct chain
  {
    decltype(strand)* s;
    int* left;
    long* heap_before;
    long* heap_after;
    void operator()() const
    {
      if (*left == 5000)
        *heap_before = heap_allocations_now();
      if (--*left > 0)
        asio::post(*s, *this);
      else
        *heap_after = heap_allocations_now();
    }
  };
  int left = 5100;
  long before = 0;
  long after = 0;
  asio::post(strand, chain{&strand, &left, &before, &after});
  ctx.run();
  BOOST_TEST(left == 0);
  BOOST_TEST(after - before == 0);
}

BOOST_AUTO_TEST_CASE(posts_with_hint_1_allocate_nothing_after_warm_up)
{
  asio_uring::io_context ctx(1);
  run_post_chains(ctx, 64, 200);
  long before = heap_allocations_now();
  run_post_chains(ctx, 64, 5000);
  BOOST_TEST(heap_allocations_now() - before == 0);
}

BOOST_AUTO_TEST_CASE(file_reads_and_writes_allocate_nothing_after_warm_up)
{
  auto data = asio_uring_test::random_bytes(block * blocks);
  asio_uring_test::temp_file in_file(data);
  asio_uring_test::temp_file out_file;
  asio_uring::io_context ctx;
  asio_uring::random_access_file in(ctx, in_file.path(),
      asio_uring::file_base::read_only);
  asio_uring::random_access_file out(ctx, out_file.path(),
      asio_uring::file_base::write_only);
  asio_uring::stream_file stream(ctx, in_file.path(),
      asio_uring::file_base::read_only);
  std::vector<unsigned char> buffers(16 * block);

  io_loop reads{&in, nullptr, buffers.data(), block, blocks};
  io_loop writes{&out, nullptr, buffers.data(), block, blocks};
  writes.write = true;
  io_loop stream_reads{nullptr, &stream, buffers.data(), block, blocks};

  // Warm-up with the same depths as below.
  run_io(ctx, reads, 16, 200);
  run_io(ctx, writes, 16, 200);
  run_io(ctx, stream_reads, 1, 100);

  long before = heap_allocations_now();
  int r = run_io(ctx, reads, 16, 5000);
  int w = run_io(ctx, writes, 16, 5000);
  int s = run_io(ctx, stream_reads, 1, 2000);
  long allocated = heap_allocations_now() - before;

  BOOST_TEST(r == 5000);
  BOOST_TEST(w == 5000);
  BOOST_TEST(s == 2000);
  BOOST_TEST(reads.errors == 0);
  BOOST_TEST(writes.errors == 0);
  BOOST_TEST(stream_reads.errors == 0);
  BOOST_TEST(allocated == 0);
}

BOOST_AUTO_TEST_CASE(coroutine_reads_allocate_nothing_after_warm_up)
{
  auto data = asio_uring_test::random_bytes(block * blocks);
  asio_uring_test::temp_file file(data);
  for (bool on_strand : {false, true})
  {
    BOOST_TEST_CONTEXT((on_strand ? "on a strand" : "on the context"))
    {
      asio_uring::io_context ctx;
      asio_uring::random_access_file f(ctx, file.path(),
          asio_uring::file_base::read_only);
      std::vector<unsigned char> buf(block);
      long before = 0;
      long after = 0;
      int errors = 0;
      auto body = [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 2100; ++i)
        {
          if (i == 100)
            before = heap_allocations_now();
          std::size_t n = co_await f.async_read_some_at(
              static_cast<std::uint64_t>(i % blocks) * block,
              asio::buffer(buf), asio::use_awaitable);
          errors += n != block;
          co_await asio::post(ctx, asio::use_awaitable);
        }
        after = heap_allocations_now();
      };
      if (on_strand)
        asio::co_spawn(asio::make_strand(ctx), body, asio::detached);
      else
        asio::co_spawn(ctx, body, asio::detached);
      ctx.run();
      BOOST_TEST(errors == 0);
      BOOST_TEST(after - before == 0);
    }
  }
}

BOOST_AUTO_TEST_CASE(bind_allocator_provides_read_storage_and_is_balanced)
{
  auto data = asio_uring_test::random_bytes(block * blocks);
  asio_uring_test::temp_file file(data);
  asio_uring::io_context ctx;
  asio_uring::random_access_file f(ctx, file.path(),
      asio_uring::file_base::read_only);
  std::vector<unsigned char> buf(block);
  alloc_stats stats;
  counting_allocator<void> alloc(stats);

  // Warm up everything but the allocator under test.
  int done = 0;
  for (int i = 0; i < 4; ++i)
    f.async_read_some_at(0, asio::buffer(buf),
        [&](error_code, std::size_t) { ++done; });
  ctx.run();

  long before = allocations_now();
  constexpr int reads = 1000;
  int ok = 0;
  ctx.restart();
  for (int i = 0; i < reads; ++i)
    f.async_read_some_at(static_cast<std::uint64_t>(i % blocks) * block,
        asio::buffer(buf),
        asio::bind_allocator(alloc, [&](error_code ec, std::size_t n) {
          ok += !ec && n == block;
        }));
  long live_while_in_flight = stats.live_bytes;
  ctx.run();
  long allocated = allocations_now() - before;

  BOOST_TEST(ok == reads);
  BOOST_TEST(stats.allocations == reads);
  BOOST_TEST(live_while_in_flight > 0);
  BOOST_TEST(stats.deallocations == stats.allocations);
  BOOST_TEST(stats.live_bytes == 0);
  BOOST_TEST(stats.mismatches == 0);
  BOOST_TEST(allocated == 0);
}

BOOST_AUTO_TEST_CASE(bind_allocator_provides_posted_function_storage)
{
  asio_uring::io_context ctx;
  alloc_stats stats;
  counting_allocator<void> alloc(stats);
  int ran = 0;
  asio::post(ctx, [] {});  // warm-up
  ctx.run();
  ctx.restart();

  long before = allocations_now();
  for (int i = 0; i < 100; ++i)
  {
    asio::post(ctx, asio::bind_allocator(alloc, [&] { ++ran; }));
    asio::defer(ctx, asio::bind_allocator(alloc, [&] { ++ran; }));
    asio::dispatch(ctx, asio::bind_allocator(alloc, [&] { ++ran; }));
  }
  // The executor's own allocator property, and the TS member's argument.
  auto ex = asio::require(ctx.get_executor(),
      asio::execution::allocator(alloc));
  ex.execute([&] { ++ran; });
  ctx.get_executor().post([&] { ++ran; }, alloc);
  long live_before_run = stats.live_bytes;
  ctx.run();
  long allocated = allocations_now() - before;

  BOOST_TEST(ran == 302);
  BOOST_TEST(stats.allocations == 302);
  BOOST_TEST(live_before_run > 0);
  BOOST_TEST(stats.deallocations == stats.allocations);
  BOOST_TEST(stats.live_bytes == 0);
  BOOST_TEST(stats.mismatches == 0);
  BOOST_TEST(allocated == 0);
}

BOOST_AUTO_TEST_CASE(storage_of_unrun_operations_returns_to_their_allocator)
{
  alloc_stats stats;
  counting_allocator<void> alloc(stats);
  int fds[2];
  BOOST_TEST_REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  bool invoked = false;
  std::vector<unsigned char> buf(16);
  {
    asio_uring::io_context ctx;
    asio_uring::stream_file in(ctx, fds[0]);
    // A read that never completes, and queued functions that never run.
    in.async_read_some(asio::buffer(buf),
        asio::bind_allocator(alloc, [&](error_code, std::size_t) {
          invoked = true;
        }));
    for (int i = 0; i < 10; ++i)
      asio::post(ctx, asio::bind_allocator(alloc, [&] { invoked = true; }));
    BOOST_TEST(stats.allocations == 11);
  }
  ::close(fds[1]);
  BOOST_TEST(!invoked);
  BOOST_TEST(stats.deallocations == 11);
  BOOST_TEST(stats.live_bytes == 0);
  BOOST_TEST(stats.mismatches == 0);
}

BOOST_AUTO_TEST_CASE(operations_destroyed_at_thread_exit_go_back_to_the_heap)
{
  // A thread_local context constructed before the thread's operation cache
  // is destroyed after it at thread exit: the operations it destroys then
  // must go back to the heap, not into the dead cache (where they would
  // leak). Everything the thread allocated must be freed once it is joined.
  long allocs_before = global_allocations.load();
  long frees_before = global_deallocations.load();
  std::thread t([] {
    thread_local std::optional<asio_uring::io_context> ctx;
    ctx.emplace();
    for (int i = 0; i < 8; ++i)
      asio::post(*ctx, [] {});
  });
  t.join();
  long allocated = global_allocations.load() - allocs_before;
  long freed = global_deallocations.load() - frees_before;
  BOOST_TEST(allocated > 0);
  BOOST_TEST(freed == allocated);
}

BOOST_AUTO_TEST_SUITE_END()
