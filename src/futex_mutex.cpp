#include <asio_uring/detail/futex_mutex.hpp>

#include <cerrno>
#include <climits>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace asio_uring::detail {

namespace {

void futex(std::atomic<int>* word, int op, int value) noexcept
{
  static_assert(sizeof(std::atomic<int>) == sizeof(int),
      "the futex word is the atomic int itself");
  // EINTR and EAGAIN (the word changed before we slept) only mean: look
  // again, which the caller's loop does.
  (void)::syscall(SYS_futex, reinterpret_cast<int*>(word),
      op | FUTEX_PRIVATE_FLAG, value, nullptr, nullptr, 0);
}

} // namespace

void futex_mutex::lock_contended() noexcept
{
  // A short spin first: the ring's holders other than a blocking ring turn
  // keep it for a few hundred instructions.
  for (int i = 0; i < 100; ++i)
  {
    if (state_.load(std::memory_order_relaxed) == unlocked && try_lock())
      return;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }
  // From here the state says "contended" whenever we may sleep, so that the
  // holder's unlock wakes somebody.
  while (state_.exchange(contended, std::memory_order_acquire) != unlocked)
    futex(&state_, FUTEX_WAIT, contended);
}

void futex_mutex::wake_one() noexcept
{
  futex(&state_, FUTEX_WAKE, 1);
}

} // namespace asio_uring::detail
