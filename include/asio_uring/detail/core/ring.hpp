// The ring core: RAII over one io_uring instance. Knows nothing of Boost.Asio
// and keeps <liburing.h> out of every public header. Every function that can
// fail returns -errno and never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

struct io_uring;
struct io_uring_sqe;
struct iovec;
struct statx;
struct msghdr;
struct sockaddr;

namespace asio_uring::detail::core {

// How the ring is set up. Flags the kernel refuses are dropped one by one
// (fallback), except those the caller marked as required.
struct ring_config
{
  unsigned entries = 1024;       // SQ entries (rounded up to a power of two)
  unsigned cq_entries = 0;       // 0: four times entries
  bool sqpoll = false;           // IORING_SETUP_SQPOLL (kernel thread polls)
  unsigned sqpoll_idle_ms = 1000;
  // IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN, created disabled
  // (IORING_SETUP_R_DISABLED) so that the thread calling enable() becomes
  // the only one allowed to enter the ring.
  bool single_issuer = false;
  bool coop_taskrun = true;      // IORING_SETUP_COOP_TASKRUN | TASKRUN_FLAG
};

// One reaped completion, copied out of the CQ so the slot can be reused.
struct completion
{
  std::uint64_t user_data;
  std::int32_t res;
  std::uint32_t flags;
};

// Test seam. Null in production: each hook costs one predictable branch.
class fault_hooks
{
public:
  virtual ~fault_hooks() = default;
  // Return true to make get_sqe() report a full SQ.
  virtual bool fail_get_sqe() noexcept { return false; }
  // Return 0 to let io_uring_enter run, or -errno to fail it without entering.
  virtual int fail_enter() noexcept { return 0; }
  // May rewrite a completion's result before the caller sees it.
  virtual void on_completion(completion&) noexcept {}
  // Return true to hold the completion back: the next reap() returns it,
  // and waits do not block while completions are held.
  virtual bool delay(const completion&) noexcept { return false; }
};

// Layout of the kernel's struct __kernel_timespec.
struct timespec64
{
  std::int64_t tv_sec;
  long long tv_nsec;
};

// user_data values reserved for the core's callers: never valid pointers.
inline constexpr std::uint64_t ignored_user_data = 0;
inline constexpr std::uint64_t liburing_timeout_user_data = ~std::uint64_t(0);

class ring
{
public:
  ring() noexcept;
  ~ring();
  ring(const ring&) = delete;
  ring& operator=(const ring&) = delete;

  // Creates the ring. Returns 0 or -errno from io_uring_setup.
  int init(const ring_config& config) noexcept;
  bool is_initialised() const noexcept { return initialised_; }

  // Enables a ring created disabled; the calling thread becomes its issuer
  // when IORING_SETUP_SINGLE_ISSUER is set. Returns 0 or -errno.
  int enable() noexcept;
  bool is_enabled() const noexcept { return enabled_; }
  // Whether IORING_SETUP_SINGLE_ISSUER was accepted by the kernel.
  bool is_single_issuer() const noexcept
  {
    return (setup_flags_ & setup_single_issuer) != 0;
  }
  // Whether a kernel thread consumes the SQ (IORING_SETUP_SQPOLL).
  bool is_sqpoll() const noexcept
  {
    return (setup_flags_ & setup_sqpoll) != 0;
  }

  // The SQ and CQ accessors below are inline: they run once per operation,
  // and an out-of-line call into liburing's inline helpers cost more than
  // the work itself. They read the ring through pointers init() caches.

  // A free SQE, or nullptr when the SQ is full (the caller flushes or queues).
  io_uring_sqe* get_sqe() noexcept
  {
    if (hooks_) [[unlikely]]
      if (hooks_->fail_get_sqe())
        return nullptr;
    const unsigned tail = *sq_tail_;
    if (tail - sq_head() >= sq_entries_)
      return nullptr;
    *sq_tail_ = tail + 1;
    return reinterpret_cast<io_uring_sqe*>(
        sqes_ + std::size_t(tail & sq_mask_) * sqe_size);
  }

  // SQEs prepared but not yet handed to the kernel.
  unsigned sq_pending() const noexcept { return *sq_tail_ - sq_head(); }
  // Free SQ entries.
  unsigned sq_space_left() const noexcept
  {
    return sq_entries_ - sq_pending();
  }

  // Hands prepared SQEs to the kernel without waiting. Returns the number
  // submitted or -errno (-EBUSY: reap completions first).
  int flush() noexcept;

  // One io_uring_enter: submits every prepared SQE and, when wait is true,
  // waits for at least one completion or until timeout_ns elapses
  // (timeout_ns < 0: no limit; needs IORING_FEAT_EXT_ARG for one syscall).
  // Returns >= 0, or -ETIME, -EINTR, -EBUSY, -errno.
  int submit(bool wait, std::int64_t timeout_ns) noexcept;

  // Copies up to max ready completions into out and releases their slots.
  // Flushes CQEs the kernel holds back (overflow, deferred task work) when
  // the CQ looks empty. Returns how many were copied.
  unsigned reap(completion* out, unsigned max) noexcept;

  // Hands every ready completion to f(const completion&), releasing each
  // slot before f runs (so f may reap, submit or wait itself), until the CQ
  // is empty and the kernel holds none back (overflow, deferred task work).
  // Returns how many f saw. The same as reap() in a loop, without copies.
  template <typename F>
  unsigned consume(F&& f)
  {
    if (hooks_) [[unlikely]]
      return consume_hooked(f);
    unsigned count = 0;
    bool flushed = false;
    for (;;)
    {
      // The head is re-read each time: f may have consumed CQEs itself.
      const unsigned head = *cq_khead_;
      if (head == __atomic_load_n(cq_ktail_, __ATOMIC_ACQUIRE))
      {
        // Empty: completions may still wait in the kernel's overflow list
        // or as task work; flush once more after each batch taken.
        if (flushed
            || !(__atomic_load_n(sq_kflags_, __ATOMIC_RELAXED) & needs_flush)
            || !flush_cq())
          return count;
        flushed = true;
        continue;
      }
      const cqe_layout* cqe = reinterpret_cast<const cqe_layout*>(
          cqes_ + std::size_t(head & cq_mask_) * sizeof(cqe_layout));
      const completion c{cqe->user_data, cqe->res, cqe->flags};
      __atomic_store_n(cq_khead_, head + 1, __ATOMIC_RELEASE);
      ++count;
      flushed = false;
      f(c);
    }
  }

  // Creates an empty (sparse) fixed-buffer table of nr slots (5.19).
  int register_buffer_table(unsigned nr) noexcept;
  // Fills (or, with null/zero iovecs, clears) table slots [offset,
  // offset + n). The kernel pins the memory until the slot is replaced and
  // no request uses it any more.
  int update_buffers(unsigned offset, const ::iovec* iov, unsigned n) noexcept;

  // Creates an empty (sparse) fixed-file table of nr slots (5.19).
  int register_file_table(unsigned nr) noexcept;
  // Puts fd in table slot index (fd -1 clears the slot). The table keeps its
  // own reference to the open file.
  int update_file(unsigned index, int fd) noexcept;

  // Registers a provided-buffer ring of entries (a power of two, at most
  // 32768) io_uring_buf slots at mem (page aligned) as buffer group bgid
  // (IORING_REGISTER_PBUF_RING, 5.19). Lifetime: mem and the buffers it
  // names must stay valid until unregister_buf_ring().
  int register_buf_ring(void* mem, unsigned entries, unsigned bgid) noexcept;
  int unregister_buf_ring(unsigned bgid) noexcept;

  // Whether the kernel holds completions back because the CQ overflowed.
  bool cq_overflow_pending() const noexcept;

  // Whether the kernel supports the opcode (from IORING_REGISTER_PROBE).
  bool supports(int opcode) const noexcept;

  // Features with no probe of their own, inferred from an opcode that came
  // in the same kernel release: multishot accept and provided-buffer rings
  // with IORING_OP_SOCKET (5.19), multishot recv with IORING_OP_SEND_ZC
  // (6.0).
  bool supports_multishot_accept() const noexcept;
  bool supports_buf_ring() const noexcept;
  bool supports_multishot_recv() const noexcept;

  int fd() const noexcept;
  unsigned setup_flags() const noexcept { return setup_flags_; }
  unsigned features() const noexcept { return features_; }
  unsigned sq_entries() const noexcept;
  unsigned cq_entries() const noexcept;

  // Number of io_uring_enter calls made through this object (statistics).
  std::uint64_t enter_count() const noexcept { return enters_; }

  void set_fault_hooks(fault_hooks* hooks) noexcept { hooks_ = hooks; }

  // Setup flags the inline accessors test (IORING_SETUP_*; checked against
  // liburing in ring.cpp).
  static constexpr unsigned setup_sqpoll = 1u << 1;
  static constexpr unsigned setup_single_issuer = 1u << 12;

private:
  // Kernel ABI: struct io_uring_cqe without CQE32 (never set up here), and
  // the size of an SQE without SQE128; IORING_SQ_CQ_OVERFLOW | TASKRUN.
  struct cqe_layout
  {
    std::uint64_t user_data;
    std::int32_t res;
    std::uint32_t flags;
  };
  static constexpr std::size_t sqe_size = 64;
  static constexpr unsigned needs_flush = (1u << 1) | (1u << 2);

  unsigned sq_head() const noexcept
  {
    // Acquire: with SQPOLL the kernel thread advances it concurrently.
    return __atomic_load_n(sq_khead_, __ATOMIC_ACQUIRE);
  }
  // One GETEVENTS enter that moves held-back CQEs into the CQ. Returns
  // whether it succeeded.
  bool flush_cq() noexcept;
  // consume() while fault hooks are installed: through reap().
  template <typename F>
  unsigned consume_hooked(F& f)
  {
    unsigned count = 0;
    completion batch[16];
    while (unsigned n = reap(batch, 16))
    {
      for (unsigned i = 0; i < n; ++i)
        f(batch[i]);
      count += n;
      if (n < 16 && !cq_overflow_pending())
        break;
    }
    return count;
  }

  // Cached by init(): liburing's local SQ tail and the mapped ring fields.
  unsigned* sq_tail_ = nullptr;
  const unsigned* sq_khead_ = nullptr;
  const unsigned* sq_kflags_ = nullptr;
  unsigned sq_mask_ = 0;
  unsigned sq_entries_ = 0;
  unsigned char* sqes_ = nullptr;
  unsigned* cq_khead_ = nullptr;
  const unsigned* cq_ktail_ = nullptr;
  unsigned cq_mask_ = 0;
  const unsigned char* cqes_ = nullptr;

  std::unique_ptr<io_uring> ring_;
  bool initialised_ = false;
  bool enabled_ = false;
  unsigned setup_flags_ = 0;
  unsigned features_ = 0;
  std::uint64_t enters_ = 0;
  fault_hooks* hooks_ = nullptr;
  std::vector<completion> held_;  // delayed by hooks_, returned next reap
  std::unique_ptr<unsigned char[]> supported_ops_;  // one byte per opcode
  unsigned supported_ops_count_ = 0;
};

// Checks, without throwing, whether an io_uring can be set up here. On
// failure stores -errno in *error when error is non-null.
bool probe_support(int* error) noexcept;

// SQE preparation: opcodes are data. Each writes the whole SQE.
void prep_nop(io_uring_sqe* sqe, std::uint64_t user_data) noexcept;
void prep_read(io_uring_sqe* sqe, int fd, void* buf, unsigned len,
    std::uint64_t offset, std::uint64_t user_data) noexcept;
void prep_readv(io_uring_sqe* sqe, int fd, const ::iovec* iov, unsigned n,
    std::uint64_t offset, std::uint64_t user_data) noexcept;
void prep_write(io_uring_sqe* sqe, int fd, const void* buf, unsigned len,
    std::uint64_t offset, std::uint64_t user_data) noexcept;
void prep_writev(io_uring_sqe* sqe, int fd, const ::iovec* iov, unsigned n,
    std::uint64_t offset, std::uint64_t user_data) noexcept;
void prep_read_fixed(io_uring_sqe* sqe, int fd, void* buf, unsigned len,
    std::uint64_t offset, int buf_index, std::uint64_t user_data) noexcept;
void prep_write_fixed(io_uring_sqe* sqe, int fd, const void* buf,
    unsigned len, std::uint64_t offset, int buf_index,
    std::uint64_t user_data) noexcept;
void prep_fsync(io_uring_sqe* sqe, int fd, bool data_only,
    std::uint64_t user_data) noexcept;
// Cancels the request whose user_data is target.
void prep_cancel(io_uring_sqe* sqe, std::uint64_t target,
    std::uint64_t user_data) noexcept;
// Cancels every request on fd (IORING_ASYNC_CANCEL_FD | ALL, kernel 5.19).
void prep_cancel_fd(io_uring_sqe* sqe, int fd,
    std::uint64_t user_data) noexcept;
// Opens path relative to the working directory (IORING_OP_OPENAT, 5.6).
// Lifetime: path must stay valid until the CQE.
void prep_openat(io_uring_sqe* sqe, const char* path, int flags,
    unsigned mode, std::uint64_t user_data) noexcept;
// statx of fd itself (AT_EMPTY_PATH) into *out (IORING_OP_STATX, 5.6).
void prep_statx_fd(io_uring_sqe* sqe, int fd, unsigned mask,
    struct ::statx* out, std::uint64_t user_data) noexcept;
// fallocate(fd, mode, offset, len) (IORING_OP_FALLOCATE, 5.6).
void prep_fallocate(io_uring_sqe* sqe, int fd, int mode,
    std::uint64_t offset, std::uint64_t len, std::uint64_t user_data) noexcept;
// ftruncate(fd, length) (IORING_OP_FTRUNCATE, kernel 6.9; liburing 2.3 has
// no helper, so the SQE is filled here). Probe with supports(op_ftruncate).
void prep_ftruncate(io_uring_sqe* sqe, int fd, std::uint64_t length,
    std::uint64_t user_data) noexcept;
inline constexpr int op_ftruncate = 55;
// Makes a prepared SQE name fixed-file slot index instead of its fd
// (IOSQE_FIXED_FILE). Lifetime: the slot must stay filled until the CQE.
void use_fixed_file(io_uring_sqe* sqe, int index) noexcept;
// Links the next SQE to this one (IOSQE_IO_LINK).
void set_link(io_uring_sqe* sqe) noexcept;
// A timeout for the SQE linked before it (IORING_OP_LINK_TIMEOUT, 5.5).
// Lifetime: *ts must stay valid until the SQE is issued.
void prep_link_timeout(io_uring_sqe* sqe, const timespec64* ts,
    std::uint64_t user_data) noexcept;
// Closes fd (IORING_OP_CLOSE, kernel 5.6).
void prep_close(io_uring_sqe* sqe, int fd, std::uint64_t user_data) noexcept;
// Cancels every request in the ring (IORING_ASYNC_CANCEL_ANY, kernel 5.19).
void prep_cancel_all(io_uring_sqe* sqe, std::uint64_t user_data) noexcept;

// CQE flags (IORING_CQE_F_*): the buffer id of a provided buffer is in the
// upper 16 bits when cqe_f_buffer is set; cqe_f_more means the multishot
// request that produced the CQE stays armed and will post more.
inline constexpr std::uint32_t cqe_f_buffer = 1u << 0;
inline constexpr std::uint32_t cqe_f_more = 1u << 1;
inline constexpr unsigned cqe_buffer_shift = 16;

// Provided-buffer rings (struct io_uring_buf_ring): bytes of ring memory for
// entries slots, and liburing's producer side (the kernel consumes).
std::size_t buf_ring_bytes(unsigned entries) noexcept;
void buf_ring_init(void* ring) noexcept;
// Puts buffer (addr, len) with id bid at slot (tail + offset) & mask; not
// visible to the kernel until buf_ring_advance.
void buf_ring_add(void* ring, void* addr, unsigned len, unsigned short bid,
    unsigned mask, int offset) noexcept;
// Publishes count added buffers (a release store of the tail).
void buf_ring_advance(void* ring, int count) noexcept;

// Sockets. flags are MSG_* flags; Lifetime: buf, msg, addr and addrlen are
// read (or written) by the kernel until the CQE, so they live in the op.
void prep_recv(io_uring_sqe* sqe, int fd, void* buf, unsigned len, int flags,
    std::uint64_t user_data) noexcept;
void prep_send(io_uring_sqe* sqe, int fd, const void* buf, unsigned len,
    int flags, std::uint64_t user_data) noexcept;
void prep_recvmsg(io_uring_sqe* sqe, int fd, ::msghdr* msg, unsigned flags,
    std::uint64_t user_data) noexcept;
void prep_sendmsg(io_uring_sqe* sqe, int fd, const ::msghdr* msg,
    unsigned flags, std::uint64_t user_data) noexcept;
// accept4(2): flags are SOCK_CLOEXEC / SOCK_NONBLOCK; addrlen is a socklen_t.
void prep_accept(io_uring_sqe* sqe, int fd, ::sockaddr* addr,
    unsigned* addrlen, int flags, std::uint64_t user_data) noexcept;
void prep_connect(io_uring_sqe* sqe, int fd, const ::sockaddr* addr,
    unsigned addrlen, std::uint64_t user_data) noexcept;
// IORING_OP_SPLICE: moves len bytes from fd_in (at off_in, or -1 for a
// pipe) to fd_out (at off_out, or -1). One side must be a pipe. The kernel
// runs it from its own async workers (splice cannot be issued non-blocking).
void prep_splice(io_uring_sqe* sqe, int fd_in, std::int64_t off_in,
    int fd_out, std::int64_t off_out, unsigned len, unsigned splice_flags,
    std::uint64_t user_data) noexcept;
// Multishot accept4 (IORING_ACCEPT_MULTISHOT, 5.19): one CQE per accepted
// connection, each with cqe_f_more while the request stays armed. No peer
// address (every CQE would write the same one).
void prep_multishot_accept(io_uring_sqe* sqe, int fd, int flags,
    std::uint64_t user_data) noexcept;
// recv into a buffer the kernel picks from buffer group bgid
// (IOSQE_BUFFER_SELECT, 5.19 for ring groups); len 0 means the buffer's size.
// multishot: IORING_RECV_MULTISHOT (6.0), one CQE per arrival.
void prep_recv_provided(io_uring_sqe* sqe, int fd, unsigned len, int flags,
    unsigned bgid, bool multishot, std::uint64_t user_data) noexcept;
// IORING_OP_POLL_ADD for poll_mask (POLLIN, POLLOUT, POLLPRI): one shot, or
// multishot (IORING_POLL_ADD_MULTI, 5.13): a CQE with cqe_f_more per
// wake-up that matches, until removed. The kernel always adds POLLERR,
// POLLHUP, POLLNVAL and POLLRDHUP to the mask.
void prep_poll_add(io_uring_sqe* sqe, int fd, unsigned poll_mask,
    std::uint64_t user_data, bool multishot = false) noexcept;

} // namespace asio_uring::detail::core
