//
// ring_options.hpp
// ~~~~~~~~~~~~~~~~
//
// How an io_context sets up its io_uring instance.
//
#pragma once

namespace asio_uring {

/// Options for the io_uring instance an io_context owns.
/**
 * Every option is a request: flags the running kernel does not know are
 * dropped at construction (the context still works, with the older
 * behaviour). None of them is needed by a program moved over from
 * Boost.Asio.
 */
struct ring_options
{
  /// Submission queue entries (rounded up to a power of two by the kernel).
  /// More operations than this may be in flight: the excess waits in user
  /// space and is submitted on the next loop turn.
  unsigned entries = 1024;

  /// Completion queue entries; 0 selects four times #entries.
  unsigned cq_entries = 0;

  /// Let a kernel thread poll the submission queue (IORING_SETUP_SQPOLL).
  bool sqpoll = false;

  /// Idle time in milliseconds before the SQPOLL thread sleeps.
  unsigned sqpoll_idle_ms = 1000;

  /// IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN. Only one
  /// thread may then run the context; the default (false) allows several.
  bool single_issuer = false;
};

} // namespace asio_uring
