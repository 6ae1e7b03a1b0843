//
// raw_ring.hpp
// ~~~~~~~~~~~~
//
// A plain liburing ring for the "raw liburing" floor the benchmarks
// compare against: no library in between, one SQE per round trip.
//
#pragma once

#include <liburing.h>

#include <cstring>

namespace bench {

// Setup flags of the raw rings. plain: the kernel's defaults (task work
// signalled with an IPI). coop: what asio_uring's io_context asks for by
// default. defer: what ring_options::single_issuer asks for.
inline constexpr unsigned raw_plain = 0;
inline constexpr unsigned raw_coop = IORING_SETUP_SUBMIT_ALL
    | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
inline constexpr unsigned raw_defer = IORING_SETUP_SUBMIT_ALL
    | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;

class raw_ring
{
public:
  // Sets up a ring of `entries` SQEs; error() is -errno if that failed.
  explicit raw_ring(unsigned flags, unsigned entries = 8) noexcept
  {
    io_uring_params params;
    std::memset(&params, 0, sizeof(params));
    params.flags = flags;
    error_ = io_uring_queue_init_params(entries, &ring_, &params);
  }

  ~raw_ring()
  {
    if (error_ == 0)
      io_uring_queue_exit(&ring_);
  }

  raw_ring(const raw_ring&) = delete;
  raw_ring& operator=(const raw_ring&) = delete;

  int error() const noexcept { return error_; }

  // Submits the prepared SQE, waits for its CQE and returns its result
  // (or -errno if the round trip itself failed).
  template <typename Prep>
  int round_trip(Prep prep) noexcept
  {
    prep(io_uring_get_sqe(&ring_));
    int r = io_uring_submit_and_wait(&ring_, 1);
    if (r < 0)
      return r;
    io_uring_cqe* cqe = nullptr;
    r = io_uring_peek_cqe(&ring_, &cqe);
    if (r < 0)
      return r;
    int res = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    return res;
  }

  // Submits `depth` prepared SQEs in one io_uring_enter that also waits
  // for all their CQEs, then reaps them. Returns 0, the first negative
  // result, or -errno if the round trip itself failed.
  template <typename Prep>
  int batch_round_trip(Prep prep, unsigned depth) noexcept
  {
    for (unsigned i = 0; i < depth; ++i)
      prep(io_uring_get_sqe(&ring_));
    int r = io_uring_submit_and_wait(&ring_, depth);
    if (r < 0)
      return r;
    int first_error = 0;
    for (unsigned seen = 0; seen < depth;)
    {
      io_uring_cqe* cqe = nullptr;
      r = io_uring_wait_cqe(&ring_, &cqe);
      if (r < 0)
        return r;
      if (cqe->res < 0 && first_error == 0)
        first_error = cqe->res;
      io_uring_cqe_seen(&ring_, cqe);
      ++seen;
    }
    return first_error;
  }

private:
  io_uring ring_;
  int error_;
};

} // namespace bench
