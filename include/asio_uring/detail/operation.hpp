// Operation base types: everything the context queues is an operation; ring
// operations add an SQE preparer and the completion's result.
#pragma once

#include <asio_uring/detail/core/ring.hpp>

#include <cstdint>

namespace asio_uring::detail {

class scheduler;
template <typename Operation> class op_queue;
class op_queue_access;

// Base of every queued operation (ready handlers, ring operations, timer
// waits). Type erasure is one function pointer: complete when owner is set,
// destroy (without invoking the handler) when owner is null.
class operation
{
public:
  // Runs the completion handler (the operation frees itself first).
  void complete(scheduler& owner) { func_(&owner, this); }
  // Destroys the operation and its handler without invoking it.
  void destroy() { func_(nullptr, this); }

protected:
  using func_type = void (*)(scheduler* owner, operation* op);

  explicit operation(func_type func) noexcept : func_(func) {}
  ~operation() = default;

private:
  friend class op_queue_access;
  operation* next_ = nullptr;  // intrusive link for op_queue
  func_type func_;             // completion or destruction
};

// An operation that goes through the ring. Lifetime: the object stays alive
// (and with it everything its SQE points at) until its final CQE is reaped.
class uring_op : public operation
{
public:
  using prepare_type = void (*)(uring_op* op, io_uring_sqe* sqe);

  // Fills the SQE; user_data must be this object's address.
  void prepare(io_uring_sqe* sqe) { prepare_(this, sqe); }

  std::uint64_t user_data() noexcept
  {
    return reinterpret_cast<std::uintptr_t>(this);
  }

  int result_ = 0;          // CQE res: bytes or -errno
  std::uint32_t cqe_flags_ = 0;
  int fd_ = -1;             // descriptor, so cancel() can find queued ops
  // Requests the kernel runs from its io-wq workers only (splice) resolve
  // their descriptors when a worker picks them up, so until then
  // IORING_ASYNC_CANCEL_FD cannot find them, and a descriptor number closed
  // and reused meanwhile would be resolved to the new file. Such ops set
  // late_fd_ (>= 0: a second descriptor they use besides fd_, or fd_
  // itself): the scheduler then tracks them while in flight, and
  // cancel_fd() cancels them by user_data before the descriptor is closed.
  int late_fd_ = -1;
  bool late_bound() const noexcept { return late_fd_ >= 0; }
  // Per-operation deadline as a linked timeout (IORING_OP_LINK_TIMEOUT);
  // tv_sec < 0 means none. Lifetime: read by the kernel when issued.
  core::timespec64 link_timeout_{-1, 0};
  std::uint8_t cqes_outstanding_ = 0;  // CQEs still due (2 when linked)
  bool timed_out_ = false;             // the linked timeout fired
  // Multishot requests only: called with the ring held for every CQE that
  // carries core::cqe_f_more (the request stays armed); it may push ready
  // operations onto ready. The final CQE completes the op as usual. Returns
  // true to have the scheduler end the request (an IORING_OP_ASYNC_CANCEL
  // whose CQE the op also waits for, so it cannot outlive the op).
  using more_type = bool (*)(uring_op* op, const core::completion& c,
      op_queue<operation>& ready);
  more_type on_more_ = nullptr;

protected:
  uring_op(func_type complete, prepare_type prepare, int fd) noexcept
    : operation(complete), fd_(fd), prepare_(prepare)
  {
  }

private:
  prepare_type prepare_;
};

} // namespace asio_uring::detail
