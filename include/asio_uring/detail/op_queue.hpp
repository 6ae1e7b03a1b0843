// Intrusive FIFO of operations. Not thread-safe: callers hold the lock that
// protects the queue, or own it privately.
#pragma once

#include <asio_uring/detail/operation.hpp>

namespace asio_uring::detail {

class op_queue_access
{
public:
  template <typename Operation>
  static Operation* next(Operation* o) noexcept
  {
    return static_cast<Operation*>(o->next_);
  }

  template <typename Operation1, typename Operation2>
  static void next(Operation1*& o1, Operation2* o2) noexcept
  {
    o1->next_ = o2;
  }

  template <typename Operation>
  static void destroy(Operation* o)
  {
    o->destroy();
  }
};

template <typename Operation>
class op_queue
{
public:
  op_queue() noexcept = default;
  op_queue(const op_queue&) = delete;
  op_queue& operator=(const op_queue&) = delete;

  // Destroys (without invoking) every operation still queued.
  ~op_queue()
  {
    while (Operation* op = front_)
    {
      pop();
      op_queue_access::destroy(op);
    }
  }

  Operation* front() const noexcept { return front_; }
  bool empty() const noexcept { return front_ == nullptr; }

  void pop() noexcept
  {
    if (front_)
    {
      Operation* tmp = front_;
      front_ = op_queue_access::next(front_);
      if (front_ == nullptr)
        back_ = nullptr;
      op_queue_access::next(tmp, static_cast<Operation*>(nullptr));
    }
  }

  void push(Operation* h) noexcept
  {
    op_queue_access::next(h, static_cast<Operation*>(nullptr));
    if (back_)
    {
      op_queue_access::next(back_, h);
      back_ = h;
    }
    else
      front_ = back_ = h;
  }

  // Appends all of q's operations, leaving q empty.
  template <typename OtherOperation>
  void push(op_queue<OtherOperation>& q) noexcept
  {
    if (Operation* other_front = q.front_)
    {
      if (back_)
        op_queue_access::next(back_, other_front);
      else
        front_ = other_front;
      back_ = q.back_;
      q.front_ = nullptr;
      q.back_ = nullptr;
    }
  }

  // Prepends all of q's operations, leaving q empty.
  void push_front(op_queue& q) noexcept
  {
    if (q.front_)
    {
      op_queue_access::next(q.back_, front_);
      if (!back_)
        back_ = q.back_;
      front_ = q.front_;
      q.front_ = q.back_ = nullptr;
    }
  }

  // Removes op if present. Linear: for rare paths (cancellation).
  bool remove(Operation* op) noexcept
  {
    Operation* prev = nullptr;
    for (Operation* cur = front_; cur; cur = op_queue_access::next(cur))
    {
      if (cur == op)
      {
        Operation* nxt = op_queue_access::next(cur);
        if (prev)
          op_queue_access::next(prev, nxt);
        else
          front_ = nxt;
        if (back_ == cur)
          back_ = prev;
        op_queue_access::next(cur, static_cast<Operation*>(nullptr));
        return true;
      }
      prev = cur;
    }
    return false;
  }

  // Moves every operation for which pred(op) is true into out, in order.
  template <typename Pred, typename OtherOperation>
  void extract_if(Pred pred, op_queue<OtherOperation>& out) noexcept
  {
    op_queue keep;
    while (Operation* op = front_)
    {
      pop();
      if (pred(op))
        out.push(op);
      else
        keep.push(op);
    }
    push(keep);
  }

private:
  template <typename> friend class op_queue;
  Operation* front_ = nullptr;  // next to run
  Operation* back_ = nullptr;   // last pushed
};

} // namespace asio_uring::detail
