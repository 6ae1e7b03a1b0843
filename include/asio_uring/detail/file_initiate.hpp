// Starting file reads and writes: the shared body of the initiation
// objects of stream_file and random_access_file.
#pragma once

#include <asio_uring/detail/file_ops.hpp>
#include <asio_uring/detail/io_object.hpp>
#include <asio_uring/detail/registered_buffers.hpp>
#include <asio_uring/detail/uring_handler_op.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/asio/registered_buffer.hpp>

#include <cerrno>
#include <cstdint>
#include <type_traits>

namespace asio_uring::detail {

// The fixed-buffer slot to use for buffers: only a single registered buffer
// registered with this very scheduler qualifies; anything else is -1.
template <typename Buffers>
int fixed_buffer_index(const Buffers& buffers, const scheduler& s)
{
  if constexpr (std::is_same_v<Buffers, boost::asio::mutable_registered_buffer>
      || std::is_same_v<Buffers, boost::asio::const_registered_buffer>)
    return registered_index(buffers, s);
  else
    return (void)buffers, (void)s, -1;
}

// Whether a random-access offset fits off_t. The kernel reads offset ~0 as
// "the descriptor's own position", which a random-access file never means.
inline bool valid_offset(std::uint64_t offset) noexcept
{
  return offset <= static_cast<std::uint64_t>(INT64_MAX);
}

// The result an operation completes with without touching the kernel, or 1
// when it must go to the kernel: bad_descriptor for a closed object, then
// error (a -errno the caller found, such as -EINVAL for an offset), then 0
// bytes for zero-size buffers.
template <typename Buffers>
int immediate_result(int fd, int error, const Buffers& buffers)
{
  if (fd < 0)
    return -EBADF;
  if (error != 0)
    return error;
  if (total_buffer_size(buffers) == 0)
    return 0;
  return 1;
}

// Operations that complete without the kernel never run the handler inline
// either: the completion is posted. Always inlined, as start_uring_op.
template <typename Handler, typename Executor, typename MutableBufferSequence>
[[gnu::always_inline]] inline void initiate_read(io_object<Executor>& impl, Handler&& handler,
    std::uint64_t offset, const MutableBufferSequence& buffers,
    stream_position position, int error = 0)
{
  using base = read_op_base<MutableBufferSequence>;
  const int fd = impl.fd();
  if (int r = immediate_result(fd, error, buffers); r <= 0)
    post_uring_op<base>(impl.get_scheduler(), r,
        static_cast<Handler&&>(handler), impl.get_executor(), fd, offset,
        buffers, stream_position());
  else
    start_uring_op<base>(impl.get_scheduler(), static_cast<Handler&&>(handler),
        impl.get_executor(), fd, offset, buffers, std::move(position),
        fixed_buffer_index(buffers, impl.get_scheduler()));
}

template <typename Handler, typename Executor, typename ConstBufferSequence>
[[gnu::always_inline]] inline void initiate_write(io_object<Executor>& impl, Handler&& handler,
    std::uint64_t offset, const ConstBufferSequence& buffers,
    stream_position position, int error = 0)
{
  using base = write_op_base<ConstBufferSequence>;
  const int fd = impl.fd();
  if (int r = immediate_result(fd, error, buffers); r <= 0)
    post_uring_op<base>(impl.get_scheduler(), r,
        static_cast<Handler&&>(handler), impl.get_executor(), fd, offset,
        buffers, stream_position());
  else
    start_uring_op<base>(impl.get_scheduler(), static_cast<Handler&&>(handler),
        impl.get_executor(), fd, offset, buffers, std::move(position),
        fixed_buffer_index(buffers, impl.get_scheduler()));
}

} // namespace asio_uring::detail
