// Reliability test helpers: fault hooks for the ring core's test seam
// (fail step N of a scenario, or inject transparent faults at random),
// handlers and allocators that count what happens to them, and a child
// process runner for tests that change process-wide state (seccomp, mounts).
#pragma once

#include <asio_uring/detail/core/ring.hpp>
#include <asio_uring/io_context.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <new>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace asio_uring_test {

namespace core = asio_uring::detail::core;

// Whether a completion is an operation's own CQE: not the wake-up read
// (user_data 1), a cancel request (0), liburing's internal timeout (~0) or a
// linked timeout (bit 1 set). Operations are at least 8-byte aligned.
inline bool is_operation_completion(const core::completion& c) noexcept
{
  return c.user_data > 4096 && (c.user_data & 7) == 0
      && c.user_data != core::liburing_timeout_user_data;
}

// One kind of fault, and the hook it acts through.
enum class fault
{
  none,
  sq_full,        // get_sqe() reports a full SQ
  enter_eintr,    // io_uring_enter fails with EINTR without entering
  enter_eagain,
  enter_ebusy,
  cqe_eintr,      // an operation's result becomes -EINTR
  cqe_eagain,
  cqe_ecanceled,
  cqe_eio,
  cqe_enospc,
  cqe_short,      // a positive result is halved (a short read or write)
  cqe_zero,       // a read's result becomes 0 (end of file)
  cqe_delay,      // the completion is held back one loop turn
};

enum class seam { get_sqe, enter, completion };

inline seam seam_of(fault f) noexcept
{
  switch (f)
  {
  case fault::sq_full:
    return seam::get_sqe;
  case fault::enter_eintr:
  case fault::enter_eagain:
  case fault::enter_ebusy:
    return seam::enter;
  default:
    return seam::completion;
  }
}

inline const char* name_of(fault f) noexcept
{
  switch (f)
  {
  case fault::none: return "none";
  case fault::sq_full: return "sq_full";
  case fault::enter_eintr: return "enter_eintr";
  case fault::enter_eagain: return "enter_eagain";
  case fault::enter_ebusy: return "enter_ebusy";
  case fault::cqe_eintr: return "cqe_eintr";
  case fault::cqe_eagain: return "cqe_eagain";
  case fault::cqe_ecanceled: return "cqe_ecanceled";
  case fault::cqe_eio: return "cqe_eio";
  case fault::cqe_enospc: return "cqe_enospc";
  case fault::cqe_short: return "cqe_short";
  case fault::cqe_zero: return "cqe_zero";
  case fault::cqe_delay: return "cqe_delay";
  }
  return "?";
}

// Faults an operation never notices: the result and the data are exactly
// those of a run without faults (EAGAIN is retried, composed operations
// continue after short counts). A file operation's -EINTR may be either
// retried or delivered: Boost.Asio's io_uring file operations deliver it
// (on a regular file the kernel reports it for an interrupted, i.e.
// cancelled, request), so tests accept both; see may_deliver().
inline bool is_transparent(fault f) noexcept
{
  switch (f)
  {
  case fault::cqe_ecanceled:
  case fault::cqe_eio:
  case fault::cqe_enospc:
  case fault::cqe_zero:
    return false;
  default:
    return true;
  }
}

// Transparent faults that an operation may nevertheless report as their
// error (see is_transparent).
inline bool may_deliver(fault f) noexcept { return f == fault::cqe_eintr; }

// The -errno a CQE fault substitutes (0 for the others).
inline int errno_of(fault f) noexcept
{
  switch (f)
  {
  case fault::cqe_eintr: return EINTR;
  case fault::cqe_eagain: return EAGAIN;
  case fault::cqe_ecanceled: return ECANCELED;
  case fault::cqe_eio: return EIO;
  case fault::cqe_enospc: return ENOSPC;
  default: return 0;
  }
}

// Counts the steps at one seam (SQE acquisitions, enters, or operation
// completions) and fails step fail_step (1-based; 0: never) with f.
// Thread-safe: the seam is called with the ring locked, but tests read the
// counters from other threads.
class step_fault_hooks : public core::fault_hooks
{
public:
  explicit step_fault_hooks(fault f = fault::none, std::size_t fail_step = 0)
    : fault_(f), fail_step_(fail_step)
  {
  }

  bool fail_get_sqe() noexcept override
  {
    std::size_t step = ++sqe_steps_;
    return seam_of(fault_) == seam::get_sqe && hit(step);
  }

  int fail_enter() noexcept override
  {
    std::size_t step = ++enter_steps_;
    if (seam_of(fault_) != seam::enter || !hit(step))
      return 0;
    switch (fault_)
    {
    case fault::enter_eintr: return -EINTR;
    case fault::enter_eagain: return -EAGAIN;
    default: return -EBUSY;
    }
  }

  void on_completion(core::completion& c) noexcept override
  {
    hold_ = false;
    if (!is_operation_completion(c))
      return;
    std::size_t step = ++completion_steps_;
    if (seam_of(fault_) != seam::completion || step != fail_step_)
    {
      if (step < fail_step_ && c.res > 0)
        bytes_before_ += static_cast<std::size_t>(c.res);
      return;
    }
    original_result_ = c.res;
    ++reached_;
    switch (fault_)
    {
    case fault::cqe_short:
      if (c.res < 2)
        return;  // nothing shorter that is still a success
      c.res /= 2;
      break;
    case fault::cqe_zero:
      if (c.res <= 0)
        return;
      c.res = 0;
      break;
    case fault::cqe_delay:
      hold_ = true;
      break;
    default:
      c.res = -errno_of(fault_);
      break;
    }
    ++injected_;
  }

  bool delay(const core::completion&) noexcept override
  {
    return std::exchange(hold_, false);
  }

  fault kind() const noexcept { return fault_; }
  std::size_t fail_step() const noexcept { return fail_step_; }
  std::size_t steps(seam s) const noexcept
  {
    switch (s)
    {
    case seam::get_sqe: return sqe_steps_;
    case seam::enter: return enter_steps_;
    default: return completion_steps_;
    }
  }
  // Faults injected so far (0 or 1).
  std::size_t injected() const noexcept { return injected_; }
  // Whether the failing completion step happened (a short count or 0 can
  // not be injected into a result that is already 0 or 1).
  std::size_t reached() const noexcept { return reached_; }
  // Bytes the operation completions before the failed step reported.
  std::size_t bytes_before() const noexcept { return bytes_before_; }
  // The kernel's result that the fault replaced.
  int original_result() const noexcept { return original_result_; }

private:
  bool hit(std::size_t step) noexcept
  {
    if (step != fail_step_)
      return false;
    ++injected_;
    return true;
  }

  const fault fault_;
  const std::size_t fail_step_;
  std::atomic<std::size_t> sqe_steps_{0};
  std::atomic<std::size_t> enter_steps_{0};
  std::atomic<std::size_t> completion_steps_{0};
  std::atomic<std::size_t> injected_{0};
  std::atomic<std::size_t> reached_{0};
  std::atomic<std::size_t> bytes_before_{0};
  std::atomic<int> original_result_{0};
  bool hold_ = false;  // on_completion -> delay, same call with the ring held
};

// Injects transparent faults at random: each seam call fails with
// probability 1/one_in (SQ full, EINTR/EAGAIN/EBUSY from the enter, EAGAIN,
// short counts and delays on CQEs). Results stay those of a fault-free run.
class random_fault_hooks : public core::fault_hooks
{
public:
  explicit random_fault_hooks(std::uint32_t seed, unsigned one_in = 16)
    : gen_(seed), one_in_(one_in)
  {
  }

  bool fail_get_sqe() noexcept override
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // A run of refusals would only spin the SQE loop: never twice in a row.
    if (last_sqe_failed_ || !roll())
      return last_sqe_failed_ = false;
    ++counts_[0];
    return last_sqe_failed_ = true;
  }

  int fail_enter() noexcept override
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!roll())
      return 0;
    ++counts_[1];
    static constexpr int errs[] = {-EINTR, -EAGAIN, -EBUSY};
    return errs[gen_() % 3];
  }

  void on_completion(core::completion& c) noexcept override
  {
    std::lock_guard<std::mutex> lock(mutex_);
    hold_ = false;
    if (!is_operation_completion(c))
      return;
    // An operation answered -EAGAIN may poll for readiness next: a poll
    // never fails with -EAGAIN, so the completion after one is left alone.
    if (auto it = std::find(eagain_.begin(), eagain_.end(), c.user_data);
        it != eagain_.end())
    {
      eagain_.erase(it);
      return;
    }
    if (!roll())
      return;
    // No -EINTR: file operations may deliver it (see is_transparent).
    switch (gen_() % 3)
    {
    case 0:
      c.res = -EAGAIN;
      eagain_.push_back(c.user_data);
      break;
    case 1:
      if (c.res < 2)
        return;
      c.res = 1 + static_cast<std::int32_t>(
          gen_() % static_cast<std::uint32_t>(c.res - 1));
      break;
    default:
      hold_ = true;
      break;
    }
    ++counts_[2];
  }

  bool delay(const core::completion&) noexcept override
  {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::exchange(hold_, false);
  }

  std::size_t sqe_faults() const { return get(0); }
  std::size_t enter_faults() const { return get(1); }
  std::size_t completion_faults() const { return get(2); }
  std::size_t total() const { return get(0) + get(1) + get(2); }

private:
  bool roll() noexcept { return gen_() % one_in_ == 0; }
  std::size_t get(int i) const
  {
    std::lock_guard<std::mutex> lock(mutex_);
    return counts_[i];
  }

  mutable std::mutex mutex_;
  std::mt19937 gen_;
  const unsigned one_in_;
  bool hold_ = false;
  bool last_sqe_failed_ = false;
  std::vector<std::uint64_t> eagain_;  // operations last answered -EAGAIN
  std::size_t counts_[3] = {};
};

// Installs hooks on a context for a scope. Declare the hooks before the
// context: the context's destructor still reaps through them.
class hooks_installed
{
public:
  hooks_installed(asio_uring::io_context& ctx, core::fault_hooks& hooks)
    : ctx_(ctx)
  {
    ctx_.impl().ring().set_fault_hooks(&hooks);
  }
  ~hooks_installed() { ctx_.impl().ring().set_fault_hooks(nullptr); }
  hooks_installed(const hooks_installed&) = delete;
  hooks_installed& operator=(const hooks_installed&) = delete;

private:
  asio_uring::io_context& ctx_;
};

// What happened to the objects of a counted handler type.
struct handler_counters
{
  std::atomic<long> constructed{0};  // including copies and moves
  std::atomic<long> destroyed{0};
  std::atomic<long> invoked{0};
  std::atomic<long> bad_destroys{0};  // destructor run on a dead object

  long live() const noexcept { return constructed - destroyed; }
};

// Storage handed out through a counting allocator.
struct alloc_counters
{
  std::atomic<long> allocations{0};
  std::atomic<long> deallocations{0};
  std::atomic<long> bytes{0};  // currently allocated
};

template <typename T>
class counting_allocator
{
public:
  using value_type = T;

  explicit counting_allocator(alloc_counters& c) noexcept : c_(&c) {}
  template <typename U>
  counting_allocator(const counting_allocator<U>& other) noexcept
    : c_(other.counters())
  {
  }

  T* allocate(std::size_t n)
  {
    ++c_->allocations;
    c_->bytes += static_cast<long>(n * sizeof(T));
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }

  void deallocate(T* p, std::size_t n) noexcept
  {
    ++c_->deallocations;
    c_->bytes -= static_cast<long>(n * sizeof(T));
    ::operator delete(static_cast<void*>(p));
  }

  alloc_counters* counters() const noexcept { return c_; }

  template <typename U>
  bool operator==(const counting_allocator<U>& o) const noexcept
  {
    return c_ == o.counters();
  }

private:
  alloc_counters* c_;
};

// Wraps a function object as a completion handler that counts its
// constructions, destructions and invocations, and allocates operation
// storage through a counting allocator.
template <typename F>
class counted_handler
{
public:
  using allocator_type = counting_allocator<void>;

  counted_handler(F f, handler_counters& hc, alloc_counters& ac)
    : f_(std::move(f)), hc_(&hc), ac_(&ac)
  {
    ++hc_->constructed;
  }
  counted_handler(const counted_handler& o)
    : f_(o.f_), hc_(o.hc_), ac_(o.ac_)
  {
    ++hc_->constructed;
  }
  counted_handler(counted_handler&& o)
    : f_(std::move(o.f_)), hc_(o.hc_), ac_(o.ac_)
  {
    ++hc_->constructed;
  }
  counted_handler& operator=(const counted_handler&) = delete;
  ~counted_handler()
  {
    if (magic_ != alive)
      ++hc_->bad_destroys;
    magic_ = dead;
    ++hc_->destroyed;
  }

  template <typename... Args>
  void operator()(Args&&... args)
  {
    ++hc_->invoked;
    f_(static_cast<Args&&>(args)...);
  }

  allocator_type get_allocator() const noexcept
  {
    return allocator_type(*ac_);
  }

private:
  static constexpr std::uint32_t alive = 0xA11FE5u;
  static constexpr std::uint32_t dead = 0xDEADu;

  F f_;
  handler_counters* hc_;
  alloc_counters* ac_;
  std::uint32_t magic_ = alive;
};

template <typename F>
counted_handler<F> counted(F f, handler_counters& hc, alloc_counters& ac)
{
  return counted_handler<F>(std::move(f), hc, ac);
}

// A pipe whose ends are closed when the object dies (unless released).
class pipe_pair
{
public:
  pipe_pair()
  {
    if (::pipe2(fds_, O_CLOEXEC) != 0)
      fds_[0] = fds_[1] = -1;
  }
  ~pipe_pair()
  {
    for (int fd : fds_)
      if (fd >= 0)
        ::close(fd);
  }
  pipe_pair(const pipe_pair&) = delete;
  pipe_pair& operator=(const pipe_pair&) = delete;

  int read_end() const noexcept { return fds_[0]; }
  int write_end() const noexcept { return fds_[1]; }
  int release_read() noexcept { return std::exchange(fds_[0], -1); }
  int release_write() noexcept { return std::exchange(fds_[1], -1); }

  // Bytes waiting in the pipe, read without blocking (fd: the read end
  // when an I/O object owns it).
  std::string drain() const { return drain(fds_[0]); }
  static std::string drain(int fd)
  {
    std::string out;
    char buf[4096];
    for (;;)
    {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 0) != 1 || !(p.revents & POLLIN))
        break;
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n <= 0)
        break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

private:
  int fds_[2];
};

// The outcome of a function run in a child process.
struct child_result
{
  bool exited = false;   // exited normally (not signalled or timed out)
  int status = -1;       // its exit status
  bool timed_out = false;
  std::string output;    // what it wrote to its report descriptor
};

// Runs fn(report_fd) in a forked child so that it may change process-wide
// state (seccomp filters, mount namespaces, resource limits). The child
// exits with fn's return value (2 if it throws); it is killed after
// timeout. Call only while this process runs no other thread of its own.
inline child_result run_in_child(const std::function<int(int)>& fn,
    std::chrono::seconds timeout = std::chrono::seconds(60))
{
  child_result result;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0)
    return result;
  pid_t pid = ::fork();
  if (pid < 0)
  {
    ::close(p[0]);
    ::close(p[1]);
    return result;
  }
  if (pid == 0)
  {
    ::close(p[0]);
    int code = 2;
    try
    {
      code = fn(p[1]);
    }
    catch (...)
    {
    }
    ::_exit(code);  // no atexit handlers: they belong to the parent's tests
  }
  ::close(p[1]);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;)
  {
    char buf[1024];
    pollfd pfd{p[0], POLLIN, 0};
    if (::poll(&pfd, 1, 10) == 1)
    {
      ssize_t n = ::read(p[0], buf, sizeof(buf));
      if (n > 0)
        result.output.append(buf, static_cast<std::size_t>(n));
    }
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid)
      break;
    if (std::chrono::steady_clock::now() > deadline)
    {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      result.timed_out = true;
      break;
    }
  }
  for (;;)
  {
    char buf[1024];
    ssize_t n = ::read(p[0], buf, sizeof(buf));
    if (n <= 0)
      break;
    result.output.append(buf, static_cast<std::size_t>(n));
  }
  ::close(p[0]);
  if (!result.timed_out && WIFEXITED(status))
  {
    result.exited = true;
    result.status = WEXITSTATUS(status);
  }
  return result;
}

// Writes a whole string to fd (a child's report).
inline void report(int fd, const std::string& s)
{
  std::size_t off = 0;
  while (off < s.size())
  {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n <= 0)
      return;
    off += static_cast<std::size_t>(n);
  }
}

} // namespace asio_uring_test
