// A mutex of one atomic int whose uncontended lock and unlock are a single
// atomic instruction each, inline (std::mutex goes through pthread calls).
// Contended waiters sleep on a futex. Meets Lockable (lock, try_lock,
// unlock), so std::lock_guard works with it.
#pragma once

#include <atomic>

namespace asio_uring::detail {

class futex_mutex
{
public:
  futex_mutex() noexcept = default;
  futex_mutex(const futex_mutex&) = delete;
  futex_mutex& operator=(const futex_mutex&) = delete;

  bool try_lock() noexcept
  {
    int expected = unlocked;
    return state_.compare_exchange_strong(expected, locked,
        std::memory_order_acquire, std::memory_order_relaxed);
  }

  void lock() noexcept
  {
    if (!try_lock())
      lock_contended();
  }

  void unlock() noexcept
  {
    if (state_.exchange(unlocked, std::memory_order_release) == contended)
      wake_one();
  }

private:
  static constexpr int unlocked = 0;
  static constexpr int locked = 1;     // held, nobody sleeps on it
  static constexpr int contended = 2;  // held, a thread may sleep on it

  void lock_contended() noexcept;
  void wake_one() noexcept;

  std::atomic<int> state_{unlocked};
};

} // namespace asio_uring::detail
