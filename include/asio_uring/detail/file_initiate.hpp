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

// Closed objects complete with bad_descriptor and zero-size buffers with 0
// bytes, without touching the kernel; neither runs the handler inline.
template <typename Handler, typename Executor, typename MutableBufferSequence>
void initiate_read(io_object<Executor>& impl, Handler&& handler,
    std::uint64_t offset, const MutableBufferSequence& buffers,
    stream_position position)
{
  using base = read_op_base<MutableBufferSequence>;
  const int fd = impl.fd();
  if (fd < 0 || total_buffer_size(buffers) == 0)
    post_uring_op<base>(impl.get_scheduler(), fd < 0 ? -EBADF : 0,
        static_cast<Handler&&>(handler), impl.get_executor(), fd, offset,
        buffers, stream_position());
  else
    start_uring_op<base>(impl.get_scheduler(), static_cast<Handler&&>(handler),
        impl.get_executor(), fd, offset, buffers, std::move(position),
        fixed_buffer_index(buffers, impl.get_scheduler()));
}

template <typename Handler, typename Executor, typename ConstBufferSequence>
void initiate_write(io_object<Executor>& impl, Handler&& handler,
    std::uint64_t offset, const ConstBufferSequence& buffers,
    stream_position position)
{
  using base = write_op_base<ConstBufferSequence>;
  const int fd = impl.fd();
  if (fd < 0 || total_buffer_size(buffers) == 0)
    post_uring_op<base>(impl.get_scheduler(), fd < 0 ? -EBADF : 0,
        static_cast<Handler&&>(handler), impl.get_executor(), fd, offset,
        buffers, stream_position());
  else
    start_uring_op<base>(impl.get_scheduler(), static_cast<Handler&&>(handler),
        impl.get_executor(), fd, offset, buffers, std::move(position),
        fixed_buffer_index(buffers, impl.get_scheduler()));
}

} // namespace asio_uring::detail
