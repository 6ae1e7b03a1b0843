// The shared state behind a buffer_ring: the ring memory and the buffers
// (one anonymous mapping), the kernel registration, and the producer side
// that gives buffers back. Shared by the buffer_ring object, operations in
// flight and buffer handles, so none of them outlives the memory.
#pragma once

#include <asio_uring/detail/core/ring.hpp>
#include <asio_uring/detail/scheduler.hpp>

#include <boost/asio/execution_context.hpp>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

namespace asio_uring::detail {

// Buffer group ids of one context (16 bits in the SQE): allocated per
// context, so rings on different contexts may share numbers.
class buffer_group_service : public boost::asio::execution_context::service
{
public:
  static inline boost::asio::execution_context::id id;

  explicit buffer_group_service(boost::asio::execution_context& ctx)
    : boost::asio::execution_context::service(ctx)
  {
  }

  // The lowest free id, or -ENOSPC.
  int allocate()
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (std::size_t i = 0; i < used_.size(); ++i)
      if (!used_[i])
      {
        used_[i] = true;
        return static_cast<int>(i);
      }
    if (used_.size() > 0xffff)
      return -ENOSPC;
    used_.push_back(true);
    return static_cast<int>(used_.size() - 1);
  }

  void release(unsigned bgid)
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (bgid < used_.size())
      used_[bgid] = false;
  }

private:
  void shutdown() override {}

  std::mutex mutex_;
  std::vector<bool> used_;  // by group id
};

class buffer_ring_state
{
public:
  // Maps and registers count buffers of size bytes as a fresh group.
  // Returns 0 or -errno (-EINVAL: bad sizes; -EOPNOTSUPP: kernel < 5.19).
  int init(scheduler& s, buffer_group_service& groups, std::size_t count,
      std::size_t size) noexcept
  {
    if (count == 0 || count > 32768 || size == 0 || size > 0xffffffffu)
      return -EINVAL;
    if (!s.ring().supports_buf_ring())
      return -EOPNOTSUPP;
    unsigned entries = 1;
    while (entries < count)
      entries <<= 1;
    const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t ring_bytes =
        (core::buf_ring_bytes(entries) + page - 1) / page * page;
    const std::size_t total = ring_bytes + count * size;
    void* mem = ::mmap(nullptr, total, PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
      return -errno;
    const int bgid = groups.allocate();
    if (bgid < 0)
    {
      ::munmap(mem, total);
      return bgid;
    }
    core::buf_ring_init(mem);
    // Lifetime: the kernel reads the ring and writes the buffers until the
    // group is unregistered, in the destructor.
    if (int r = s.ring().register_buf_ring(mem, entries,
            static_cast<unsigned>(bgid)); r < 0)
    {
      groups.release(static_cast<unsigned>(bgid));
      ::munmap(mem, total);
      return r == -EINVAL ? -EOPNOTSUPP : r;
    }
    sched_ = &s;
    groups_ = &groups;
    mem_ = mem;
    mem_bytes_ = total;
    buffers_ = static_cast<unsigned char*>(mem) + ring_bytes;
    count_ = count;
    size_ = size;
    mask_ = entries - 1;
    bgid_ = static_cast<unsigned>(bgid);
    for (std::size_t i = 0; i < count; ++i)
      core::buf_ring_add(mem_, data(static_cast<std::uint16_t>(i)),
          static_cast<unsigned>(size), static_cast<unsigned short>(i), mask_,
          static_cast<int>(i));
    core::buf_ring_advance(mem_, static_cast<int>(count));
    return 0;
  }

  buffer_ring_state() = default;
  buffer_ring_state(const buffer_ring_state&) = delete;
  buffer_ring_state& operator=(const buffer_ring_state&) = delete;

  ~buffer_ring_state()
  {
    if (!mem_)
      return;
    // Nothing in flight refers to the group any more (operations hold this
    // state). A registration the kernel refuses to drop (another thread
    // than a single-issuer ring's) keeps the memory mapped: leaked, never
    // reused under the kernel.
    if (sched_->ring().unregister_buf_ring(bgid_) < 0)
      return;
    groups_->release(bgid_);
    ::munmap(mem_, mem_bytes_);
  }

  scheduler& get_scheduler() const noexcept { return *sched_; }
  unsigned group_id() const noexcept { return bgid_; }
  std::size_t buffer_count() const noexcept { return count_; }
  std::size_t buffer_size() const noexcept { return size_; }

  unsigned char* data(std::uint16_t bid) const noexcept
  {
    return buffers_ + std::size_t(bid) * size_;
  }

  // Gives buffer bid back to the kernel, and wakes the requests parked for
  // want of a buffer. Any thread, the ring held or not.
  void give_back(std::uint16_t bid) noexcept
  {
    std::lock_guard<std::mutex> lock(mutex_);
    core::buf_ring_add(mem_, data(bid), static_cast<unsigned>(size_), bid,
        mask_, 0);
    core::buf_ring_advance(mem_, 1);
    generation_.fetch_add(1, std::memory_order_release);
    for (uring_op* op : parked_)
    {
      // Its completion re-arms it (-EAGAIN is not reported).
      op->result_ = -EAGAIN;
      op->cqe_flags_ = 0;
      sched_->post_deferred_completion(op);
    }
    parked_.clear();
  }

  // Counts give_back() calls: a request records it when prepared, so that
  // an ENOBUFS it gets can tell whether a buffer came back since.
  std::uint64_t generation() const noexcept
  {
    return generation_.load(std::memory_order_acquire);
  }

  // Parks a multishot request that ran out of buffers until the next
  // give_back(); false (not parked) if a buffer came back after seen.
  bool park(uring_op* op, std::uint64_t seen)
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (generation_.load(std::memory_order_relaxed) != seen)
      return false;
    parked_.push_back(op);
    return true;
  }

  // Takes a parked request back; false if give_back() woke it already.
  bool unpark(uring_op* op) noexcept
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (std::size_t i = 0; i < parked_.size(); ++i)
      if (parked_[i] == op)
      {
        parked_.erase(parked_.begin() + static_cast<std::ptrdiff_t>(i));
        return true;
      }
    return false;
  }

private:
  scheduler* sched_ = nullptr;
  buffer_group_service* groups_ = nullptr;
  std::mutex mutex_;                  // the producer side (tail), parked_
  std::atomic<std::uint64_t> generation_{0};  // give_back() calls
  std::vector<uring_op*> parked_;     // multishot requests out of buffers
  void* mem_ = nullptr;               // ring entries, then the buffers
  std::size_t mem_bytes_ = 0;
  unsigned char* buffers_ = nullptr;  // count_ buffers of size_ bytes
  std::size_t count_ = 0;
  std::size_t size_ = 0;
  unsigned mask_ = 0;                 // ring entries - 1
  unsigned bgid_ = 0;                 // buffer group id
};

} // namespace asio_uring::detail
