// The link from a cancellation slot's handler to its operation, safe when
// the slot's owner emits on one thread (say, a strand) while the operation
// completes on a ring thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

namespace asio_uring::detail {

// Held by the handler installed in the slot. The operation never touches
// the slot once started (clearing it would race with emit; Boost.Asio also
// leaves its handler installed): as it completes it closes the gate, which
// waits out an emit in progress, and only then frees itself. An emit after
// that does nothing, so it never reaches a freed operation, nor a new one
// that reuses the address.
class cancellation_gate
{
public:
  explicit cancellation_gate(void* op) noexcept
    : op_(reinterpret_cast<std::uintptr_t>(op))
  {
  }

  cancellation_gate(const cancellation_gate&) = delete;
  cancellation_gate& operator=(const cancellation_gate&) = delete;

  // Calls f(op) unless the gate is closed; op is not freed meanwhile. f must
  // not complete the operation inline (cancellation only queues it).
  template <typename F>
  void with_op(F f)
  {
    std::uintptr_t op = op_.load(std::memory_order_acquire);
    while (op != 0 && (op & busy) == 0)
    {
      if (op_.compare_exchange_weak(op, op | busy, std::memory_order_acquire))
      {
        f(reinterpret_cast<void*>(op));
        op_.store(op, std::memory_order_release);
        return;
      }
    }
  }

  // Called by the operation before it frees itself.
  void close() noexcept
  {
    std::uintptr_t op = op_.load(std::memory_order_acquire);
    while (op != 0)
    {
      if (op & busy)
      {
        std::this_thread::yield();
        op = op_.load(std::memory_order_acquire);
      }
      else if (op_.compare_exchange_weak(op, 0, std::memory_order_acq_rel))
        return;
    }
  }

private:
  static constexpr std::uintptr_t busy = 1;  // operations are aligned
  std::atomic<std::uintptr_t> op_;           // the operation, 0 once closed
};

} // namespace asio_uring::detail
