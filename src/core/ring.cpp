#include <asio_uring/detail/core/ring.hpp>

#include <liburing.h>

#include <cerrno>
#include <cstddef>
#include <fcntl.h>
#include <sys/stat.h>
#include <cstring>
#include <sys/uio.h>

namespace asio_uring::detail::core {

ring::ring() noexcept = default;

ring::~ring()
{
  if (initialised_)
    ::io_uring_queue_exit(ring_.get());
}

namespace {

// Tries io_uring_setup with flags, then without the optional ones the kernel
// rejects with EINVAL (older kernels), most recent first.
int setup_with_fallback(unsigned entries, io_uring_params& base, io_uring* r)
{
  static constexpr unsigned optional_flags[] = {
      IORING_SETUP_DEFER_TASKRUN,  // 6.1
      IORING_SETUP_SINGLE_ISSUER,  // 6.0
      IORING_SETUP_TASKRUN_FLAG,   // 5.19
      IORING_SETUP_COOP_TASKRUN,   // 5.19
      IORING_SETUP_SUBMIT_ALL,     // 5.18
  };
  unsigned flags = base.flags;
  for (std::size_t i = 0;; ++i)
  {
    io_uring_params p = base;
    p.flags = flags;
    int ret = ::io_uring_queue_init_params(entries, r, &p);
    if (ret == 0)
    {
      base = p;
      return 0;
    }
    if (ret != -EINVAL || i == std::size(optional_flags))
      return ret;
    flags &= ~optional_flags[i];
    // DEFER_TASKRUN is only valid with SINGLE_ISSUER.
    if (!(flags & IORING_SETUP_SINGLE_ISSUER))
      flags &= ~IORING_SETUP_DEFER_TASKRUN;
  }
}

} // namespace

int ring::init(const ring_config& config) noexcept
{
  if (initialised_)
    return -EALREADY;
  if (!ring_)
  {
    ring_.reset(new (std::nothrow) io_uring{});
    if (!ring_)
      return -ENOMEM;
  }

  io_uring_params params{};
  params.flags = IORING_SETUP_SUBMIT_ALL;
  params.flags |= IORING_SETUP_CQSIZE;
  params.cq_entries = config.cq_entries ? config.cq_entries
                                        : 4 * (config.entries ? config.entries : 1);
  if (config.sqpoll)
  {
    params.flags |= IORING_SETUP_SQPOLL;
    params.sq_thread_idle = config.sqpoll_idle_ms;
  }
  else if (config.single_issuer)
    params.flags |= IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN
        | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_R_DISABLED;
  else if (config.coop_taskrun)
    params.flags |= IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;

  int ret = setup_with_fallback(config.entries ? config.entries : 1, params,
      ring_.get());
  if (ret < 0)
    return ret;

  initialised_ = true;
  enabled_ = !(params.flags & IORING_SETUP_R_DISABLED);
  setup_flags_ = params.flags;
  features_ = params.features;

  // For the inline SQ/CQ accessors (no SQE128 or CQE32 here).
  io_uring* r = ring_.get();
  sq_tail_ = &r->sq.sqe_tail;
  sq_khead_ = r->sq.khead;
  sq_kflags_ = r->sq.kflags;
  sq_mask_ = r->sq.ring_mask;
  sq_entries_ = r->sq.ring_entries;
  sqes_ = reinterpret_cast<unsigned char*>(r->sq.sqes);
  cq_khead_ = r->cq.khead;
  cq_ktail_ = r->cq.ktail;
  cq_mask_ = r->cq.ring_mask;
  cqes_ = reinterpret_cast<const unsigned char*>(r->cq.cqes);

  // Opcode support is probed once; an unprobeable kernel (< 5.6) reports none.
  if (io_uring_probe* probe = ::io_uring_get_probe_ring(ring_.get()))
  {
    supported_ops_count_ = probe->last_op + 1u;
    supported_ops_.reset(new (std::nothrow) unsigned char[supported_ops_count_]);
    if (supported_ops_)
      for (unsigned op = 0; op < supported_ops_count_; ++op)
        supported_ops_[op] = ::io_uring_opcode_supported(probe, int(op)) ? 1 : 0;
    ::io_uring_free_probe(probe);
  }

  // No registered ring fd here: that registration is per thread, and any
  // thread may enter a shared ring. Single-issuer rings get it in enable().
  return 0;
}

int ring::enable() noexcept
{
  if (enabled_)
    return 0;
  int ret = ::io_uring_register(ring_->ring_fd, IORING_REGISTER_ENABLE_RINGS,
      nullptr, 0);
  if (ret < 0)
    return ret;
  enabled_ = true;
  // Only this thread will enter the ring from now on (SINGLE_ISSUER), so a
  // registered ring fd (5.18) saves an fget/fput per enter; optional.
  if (setup_flags_ & IORING_SETUP_SINGLE_ISSUER)
    (void)::io_uring_register_ring_fd(ring_.get());
  return 0;
}

// The inline accessors in ring.hpp rely on these.
static_assert(ring::setup_sqpoll == IORING_SETUP_SQPOLL);
static_assert(ring::setup_single_issuer == IORING_SETUP_SINGLE_ISSUER);
static_assert(sizeof(io_uring_sqe) == 64);
static_assert(sizeof(io_uring_cqe) == 16);
static_assert(offsetof(io_uring_cqe, user_data) == 0);
static_assert(offsetof(io_uring_cqe, res) == 8);
static_assert(offsetof(io_uring_cqe, flags) == 12);
static_assert(((1u << 1) | (1u << 2))
    == (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN));

bool ring::flush_cq() noexcept
{
  ++enters_;
  return ::io_uring_get_events(ring_.get()) >= 0;
}

int ring::flush() noexcept
{
  if (::io_uring_sq_ready(ring_.get()) == 0)
    return 0;
  if (hooks_)
    if (int injected = hooks_->fail_enter())
      return injected;
  ++enters_;
  return ::io_uring_submit(ring_.get());
}

int ring::submit(bool wait, std::int64_t timeout_ns) noexcept
{
  io_uring* r = ring_.get();
  if (!wait)
  {
    // Nothing to submit and no completions held back: no syscall.
    if (::io_uring_sq_ready(r) == 0
        && !(IO_URING_READ_ONCE(*r->sq.kflags) & needs_flush))
      return 0;
  }
  if (hooks_)
  {
    if (int injected = hooks_->fail_enter())
      return injected;
    if (!held_.empty())
      wait = false;  // held completions are ready now
  }
  ++enters_;
  if (!wait)
    return ::io_uring_submit_and_get_events(r);

  if (timeout_ns < 0)
  {
    // One enter with GETEVENTS: liburing's timeout variant would first peek
    // the CQ through its generic get-CQE loop, which costs more user-space
    // work than the whole raw round trip.
    return ::io_uring_submit_and_wait(r, 1);
  }
  io_uring_cqe* cqe = nullptr;
  __kernel_timespec ts{};
  ts.tv_sec = timeout_ns / 1000000000;
  ts.tv_nsec = timeout_ns % 1000000000;
  return ::io_uring_submit_and_wait_timeout(r, &cqe, 1, &ts, nullptr);
}

unsigned ring::reap(completion* out, unsigned max) noexcept
{
  io_uring* r = ring_.get();
  unsigned count = 0;
  // Completions held back by the hooks last time come first.
  while (count < max && !held_.empty())
  {
    out[count++] = held_.front();
    held_.erase(held_.begin());
  }
  const unsigned fresh = count;
  for (int attempt = 0; attempt < 2 && count == fresh; ++attempt)
  {
    unsigned head;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(r, head, cqe)
    {
      if (count == max)
        break;
      out[count].user_data = cqe->user_data;
      out[count].res = cqe->res;
      out[count].flags = cqe->flags;
      ++count;
    }
    ::io_uring_cq_advance(r, count - fresh);
    if (count != fresh)
      break;
    // The CQ is empty: completions may still wait in the kernel's overflow
    // list or as task work (COOP_TASKRUN); one GETEVENTS enter flushes them.
    if (!(IO_URING_READ_ONCE(*r->sq.kflags) & needs_flush))
      break;
    (void)flush_cq();
  }
  if (hooks_)
  {
    unsigned kept = fresh;
    for (unsigned i = fresh; i < count; ++i)
    {
      hooks_->on_completion(out[i]);
      if (hooks_->delay(out[i]))
        held_.push_back(out[i]);
      else
        out[kept++] = out[i];
    }
    count = kept;
  }
  return count;
}

int ring::register_buffer_table(unsigned nr) noexcept
{
  return ::io_uring_register_buffers_sparse(ring_.get(), nr);
}

int ring::update_buffers(unsigned offset, const ::iovec* iov,
    unsigned n) noexcept
{
  int ret = ::io_uring_register_buffers_update_tag(ring_.get(), offset, iov,
      nullptr, n);
  return ret < 0 ? ret : 0;
}

int ring::register_file_table(unsigned nr) noexcept
{
  return ::io_uring_register_files_sparse(ring_.get(), nr);
}

int ring::update_file(unsigned index, int fd) noexcept
{
  int ret = ::io_uring_register_files_update(ring_.get(), index, &fd, 1);
  return ret < 0 ? ret : 0;
}

int ring::register_buf_ring(void* mem, unsigned entries, unsigned bgid) noexcept
{
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uintptr_t>(mem);
  reg.ring_entries = entries;
  reg.bgid = static_cast<__u16>(bgid);
  return ::io_uring_register_buf_ring(ring_.get(), &reg, 0);
}

int ring::unregister_buf_ring(unsigned bgid) noexcept
{
  return ::io_uring_unregister_buf_ring(ring_.get(), static_cast<int>(bgid));
}

bool ring::supports(int opcode) const noexcept
{
  return opcode >= 0 && unsigned(opcode) < supported_ops_count_
      && supported_ops_ && supported_ops_[opcode];
}

bool ring::supports_multishot_accept() const noexcept
{
  return supports(IORING_OP_SOCKET);
}

bool ring::supports_buf_ring() const noexcept
{
  return supports(IORING_OP_SOCKET);
}

bool ring::supports_multishot_recv() const noexcept
{
  return supports(IORING_OP_SEND_ZC);
}

bool ring::cq_overflow_pending() const noexcept
{
  return (IO_URING_READ_ONCE(*ring_->sq.kflags) & IORING_SQ_CQ_OVERFLOW) != 0;
}

int ring::fd() const noexcept { return ring_ ? ring_->ring_fd : -1; }
unsigned ring::sq_entries() const noexcept { return ring_->sq.ring_entries; }
unsigned ring::cq_entries() const noexcept { return ring_->cq.ring_entries; }

bool probe_support(int* error) noexcept
{
  io_uring r{};
  int ret = ::io_uring_queue_init(2, &r, 0);
  if (ret < 0)
  {
    if (error)
      *error = ret;
    return false;
  }
  ::io_uring_queue_exit(&r);
  if (error)
    *error = 0;
  return true;
}

void prep_nop(io_uring_sqe* sqe, std::uint64_t user_data) noexcept
{
  ::io_uring_prep_nop(sqe);
  sqe->user_data = user_data;
}

void prep_read(io_uring_sqe* sqe, int fd, void* buf, unsigned len,
    std::uint64_t offset, std::uint64_t user_data) noexcept
{
  ::io_uring_prep_read(sqe, fd, buf, len, offset);
  sqe->user_data = user_data;
}

void prep_readv(io_uring_sqe* sqe, int fd, const ::iovec* iov, unsigned n,
    std::uint64_t offset, std::uint64_t user_data) noexcept
{
  ::io_uring_prep_readv(sqe, fd, iov, n, offset);
  sqe->user_data = user_data;
}

void prep_write(io_uring_sqe* sqe, int fd, const void* buf, unsigned len,
    std::uint64_t offset, std::uint64_t user_data) noexcept
{
  ::io_uring_prep_write(sqe, fd, buf, len, offset);
  sqe->user_data = user_data;
}

void prep_writev(io_uring_sqe* sqe, int fd, const ::iovec* iov, unsigned n,
    std::uint64_t offset, std::uint64_t user_data) noexcept
{
  ::io_uring_prep_writev(sqe, fd, iov, n, offset);
  sqe->user_data = user_data;
}

void prep_read_fixed(io_uring_sqe* sqe, int fd, void* buf, unsigned len,
    std::uint64_t offset, int buf_index, std::uint64_t user_data) noexcept
{
  ::io_uring_prep_read_fixed(sqe, fd, buf, len, offset, buf_index);
  sqe->user_data = user_data;
}

void prep_write_fixed(io_uring_sqe* sqe, int fd, const void* buf,
    unsigned len, std::uint64_t offset, int buf_index,
    std::uint64_t user_data) noexcept
{
  ::io_uring_prep_write_fixed(sqe, fd, buf, len, offset, buf_index);
  sqe->user_data = user_data;
}

void prep_fsync(io_uring_sqe* sqe, int fd, bool data_only,
    std::uint64_t user_data) noexcept
{
  ::io_uring_prep_fsync(sqe, fd, data_only ? IORING_FSYNC_DATASYNC : 0);
  sqe->user_data = user_data;
}

void prep_cancel(io_uring_sqe* sqe, std::uint64_t target,
    std::uint64_t user_data) noexcept
{
  ::io_uring_prep_cancel64(sqe, target, 0);
  sqe->user_data = user_data;
}

void prep_cancel_fd(io_uring_sqe* sqe, int fd,
    std::uint64_t user_data) noexcept
{
  ::io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
  sqe->user_data = user_data;
}

void prep_openat(io_uring_sqe* sqe, const char* path, int flags,
    unsigned mode, std::uint64_t user_data) noexcept
{
  ::io_uring_prep_openat(sqe, AT_FDCWD, path, flags, mode);
  sqe->user_data = user_data;
}

void prep_statx_fd(io_uring_sqe* sqe, int fd, unsigned mask,
    struct ::statx* out, std::uint64_t user_data) noexcept
{
  ::io_uring_prep_statx(sqe, fd, "", AT_EMPTY_PATH, mask, out);
  sqe->user_data = user_data;
}

void prep_fallocate(io_uring_sqe* sqe, int fd, int mode,
    std::uint64_t offset, std::uint64_t len, std::uint64_t user_data) noexcept
{
  ::io_uring_prep_fallocate(sqe, fd, mode, static_cast<off_t>(offset),
      static_cast<off_t>(len));
  sqe->user_data = user_data;
}

void prep_ftruncate(io_uring_sqe* sqe, int fd, std::uint64_t length,
    std::uint64_t user_data) noexcept
{
  std::memset(sqe, 0, sizeof(*sqe));
  sqe->opcode = op_ftruncate;
  sqe->fd = fd;
  sqe->off = length;
  sqe->user_data = user_data;
}

void use_fixed_file(io_uring_sqe* sqe, int index) noexcept
{
  sqe->fd = index;
  sqe->flags |= IOSQE_FIXED_FILE;
}

void set_link(io_uring_sqe* sqe) noexcept
{
  sqe->flags |= IOSQE_IO_LINK;
}

void prep_link_timeout(io_uring_sqe* sqe, const timespec64* ts,
    std::uint64_t user_data) noexcept
{
  static_assert(sizeof(timespec64) == sizeof(__kernel_timespec));
  ::io_uring_prep_link_timeout(sqe,
      reinterpret_cast<__kernel_timespec*>(const_cast<timespec64*>(ts)), 0);
  sqe->user_data = user_data;
}

void prep_close(io_uring_sqe* sqe, int fd, std::uint64_t user_data) noexcept
{
  ::io_uring_prep_close(sqe, fd);
  sqe->user_data = user_data;
}

void prep_cancel_all(io_uring_sqe* sqe, std::uint64_t user_data) noexcept
{
  ::io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
  sqe->user_data = user_data;
}

void prep_recv(io_uring_sqe* sqe, int fd, void* buf, unsigned len, int flags,
    std::uint64_t user_data) noexcept
{
  ::io_uring_prep_recv(sqe, fd, buf, len, flags);
  sqe->user_data = user_data;
}

void prep_send(io_uring_sqe* sqe, int fd, const void* buf, unsigned len,
    int flags, std::uint64_t user_data) noexcept
{
  ::io_uring_prep_send(sqe, fd, buf, len, flags);
  sqe->user_data = user_data;
}

void prep_recvmsg(io_uring_sqe* sqe, int fd, ::msghdr* msg, unsigned flags,
    std::uint64_t user_data) noexcept
{
  ::io_uring_prep_recvmsg(sqe, fd, msg, flags);
  sqe->user_data = user_data;
}

void prep_sendmsg(io_uring_sqe* sqe, int fd, const ::msghdr* msg,
    unsigned flags, std::uint64_t user_data) noexcept
{
  ::io_uring_prep_sendmsg(sqe, fd, msg, flags);
  sqe->user_data = user_data;
}

void prep_accept(io_uring_sqe* sqe, int fd, ::sockaddr* addr,
    unsigned* addrlen, int flags, std::uint64_t user_data) noexcept
{
  static_assert(sizeof(socklen_t) == sizeof(unsigned));
  ::io_uring_prep_accept(sqe, fd, addr, reinterpret_cast<socklen_t*>(addrlen),
      flags);
  sqe->user_data = user_data;
}

void prep_connect(io_uring_sqe* sqe, int fd, const ::sockaddr* addr,
    unsigned addrlen, std::uint64_t user_data) noexcept
{
  ::io_uring_prep_connect(sqe, fd, addr, addrlen);
  sqe->user_data = user_data;
}

void prep_splice(io_uring_sqe* sqe, int fd_in, std::int64_t off_in,
    int fd_out, std::int64_t off_out, unsigned len, unsigned splice_flags,
    std::uint64_t user_data) noexcept
{
  ::io_uring_prep_splice(sqe, fd_in, off_in, fd_out, off_out, len,
      splice_flags);
  sqe->user_data = user_data;
}

static_assert(cqe_f_buffer == IORING_CQE_F_BUFFER);
static_assert(cqe_f_more == IORING_CQE_F_MORE);
static_assert(cqe_buffer_shift == IORING_CQE_BUFFER_SHIFT);

std::size_t buf_ring_bytes(unsigned entries) noexcept
{
  return std::size_t(entries) * sizeof(io_uring_buf);
}

void buf_ring_init(void* ring) noexcept
{
  ::io_uring_buf_ring_init(static_cast<io_uring_buf_ring*>(ring));
}

void buf_ring_add(void* ring, void* addr, unsigned len, unsigned short bid,
    unsigned mask, int offset) noexcept
{
  ::io_uring_buf_ring_add(static_cast<io_uring_buf_ring*>(ring), addr, len,
      bid, static_cast<int>(mask), offset);
}

void buf_ring_advance(void* ring, int count) noexcept
{
  ::io_uring_buf_ring_advance(static_cast<io_uring_buf_ring*>(ring), count);
}

void prep_multishot_accept(io_uring_sqe* sqe, int fd, int flags,
    std::uint64_t user_data) noexcept
{
  ::io_uring_prep_multishot_accept(sqe, fd, nullptr, nullptr, flags);
  sqe->user_data = user_data;
}

void prep_recv_provided(io_uring_sqe* sqe, int fd, unsigned len, int flags,
    unsigned bgid, bool multishot, std::uint64_t user_data) noexcept
{
  // liburing 2.3's io_uring_prep_recv_multishot is recv + IORING_RECV_MULTISHOT
  // in ioprio; the buffer group goes in buf_group with IOSQE_BUFFER_SELECT.
  ::io_uring_prep_recv(sqe, fd, nullptr, len, flags);
  if (multishot)
    sqe->ioprio |= IORING_RECV_MULTISHOT;
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = static_cast<__u16>(bgid);
  sqe->user_data = user_data;
}

void prep_poll_add(io_uring_sqe* sqe, int fd, unsigned poll_mask,
    std::uint64_t user_data, bool multishot) noexcept
{
  if (multishot)
    ::io_uring_prep_poll_multishot(sqe, fd, poll_mask);
  else
    ::io_uring_prep_poll_add(sqe, fd, poll_mask);
  sqe->user_data = user_data;
}

} // namespace asio_uring::detail::core
