//
// posix/basic_stream_descriptor.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
//
// A stream-oriented POSIX descriptor (pipes, terminals, stdin) whose
// asynchronous reads and writes go through the ring.
//
#pragma once

#include <asio_uring/posix/basic_descriptor.hpp>

#include <boost/asio/buffer.hpp>

#include <cerrno>
#include <cstddef>
#include <type_traits>
#include <utility>

namespace asio_uring::posix {

/// Provides stream-oriented descriptor functionality (Boost.Asio's
/// posix::basic_stream_descriptor), with every asynchronous read and write
/// on the ring (IORING_OP_READ/WRITE, READV/WRITEV for sequences).
/**
 * A read of 0 bytes into non-empty buffers reports error::eof; zero-size
 * buffers complete at once with 0 bytes. Writing to a pipe whose reader is
 * gone reports error::broken_pipe; SIGPIPE is still raised for pipes (as
 * with write(2)) unless the program ignores it.
 *
 * @par Thread Safety
 * @e Distinct @e objects: Safe.@n
 * @e Shared @e objects: Unsafe.
 */
template <typename Executor = boost::asio::any_io_executor>
class basic_stream_descriptor : public basic_descriptor<Executor>
{
  using base = basic_descriptor<Executor>;

public:
  using executor_type = Executor;

  /// Rebinds the descriptor type to another executor.
  template <typename Executor1>
  struct rebind_executor
  {
    using other = basic_stream_descriptor<Executor1>;
  };

  using native_handle_type = typename base::native_handle_type;

  using base::base;

  /// Constructs a descriptor without opening it.
  explicit basic_stream_descriptor(const executor_type& ex) : base(ex) {}

  /// Move-constructs: other is left as if constructed with its executor.
  basic_stream_descriptor(basic_stream_descriptor&& other) noexcept = default;

  /// Move-assigns: closes this descriptor first.
  basic_stream_descriptor& operator=(basic_stream_descriptor&& other) = default;

  /// Move-constructs from a descriptor of another executor type.
  template <typename Executor1>
  basic_stream_descriptor(basic_stream_descriptor<Executor1>&& other,
      std::enable_if_t<std::is_convertible_v<Executor1, Executor>>* = nullptr)
    : base(std::move(other))
  {
  }

  /// Move-assigns from a descriptor of another executor type.
  template <typename Executor1>
  std::enable_if_t<std::is_convertible_v<Executor1, Executor>,
      basic_stream_descriptor&>
  operator=(basic_stream_descriptor<Executor1>&& other)
  {
    base::operator=(std::move(other));
    return *this;
  }

  ~basic_stream_descriptor() = default;

  /// Writes some data; blocks until some is written. Throws on failure.
  template <typename ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers)
  {
    boost::system::error_code ec;
    std::size_t n = write_some(buffers, ec);
    boost::asio::detail::throw_error(ec, "write_some");
    return n;
  }

  /// Writes some data.
  template <typename ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers,
      boost::system::error_code& ec)
  {
    if (!this->is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return 0;
    }
    if constexpr (detail::is_null_buffers<ConstBufferSequence>)
    {
      // Waits until writable (Boost.Asio's null_buffers).
      detail::socket_ops::poll_wait(this->impl_.fd(), this->impl_.state(),
          POLLOUT, ec);
      return 0;
    }
    detail::iovecs<boost::asio::const_buffer, ConstBufferSequence> bufs(buffers);
    return detail::socket_ops::write(this->impl_.fd(), this->impl_.state(),
        bufs.data(), bufs.count(), bufs.total_size(), ec);
  }

  /// Starts an asynchronous write.
  /**
   * @param buffers Kept alive by the caller until the handler is called.
   * @param token Completion signature void(boost::system::error_code,
   * std::size_t). The handler is never invoked from within this function.
   * Supports cancellation_type::terminal, partial and total.
   */
  template <typename ConstBufferSequence,
      BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code, std::size_t))
          WriteToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_write_some(const ConstBufferSequence& buffers,
      WriteToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return boost::asio::async_initiate<WriteToken,
        void(boost::system::error_code, std::size_t)>(
        initiate_async_write_some(this), token, buffers);
  }

  /// Reads some data; blocks until some is read. Throws on failure
  /// (error::eof at end of file).
  template <typename MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers)
  {
    boost::system::error_code ec;
    std::size_t n = read_some(buffers, ec);
    boost::asio::detail::throw_error(ec, "read_some");
    return n;
  }

  /// Reads some data.
  template <typename MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers,
      boost::system::error_code& ec)
  {
    if (!this->is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return 0;
    }
    if constexpr (detail::is_null_buffers<MutableBufferSequence>)
    {
      // Waits until readable (Boost.Asio's null_buffers).
      detail::socket_ops::poll_wait(this->impl_.fd(), this->impl_.state(),
          POLLIN, ec);
      return 0;
    }
    detail::iovecs<boost::asio::mutable_buffer, MutableBufferSequence> bufs(buffers);
    return detail::socket_ops::read(this->impl_.fd(), this->impl_.state(),
        const_cast<::iovec*>(bufs.data()), bufs.count(), bufs.total_size(),
        ec);
  }

  /// Starts an asynchronous read.
  /**
   * @param buffers Kept alive by the caller until the handler is called.
   * @param token Completion signature void(boost::system::error_code,
   * std::size_t); error::eof at end of file. The handler is never invoked
   * from within this function. Supports cancellation_type::terminal,
   * partial and total.
   */
  template <typename MutableBufferSequence,
      BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code, std::size_t))
          ReadToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_read_some(const MutableBufferSequence& buffers,
      ReadToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return boost::asio::async_initiate<ReadToken,
        void(boost::system::error_code, std::size_t)>(
        initiate_async_read_some(this), token, buffers);
  }

private:
  class initiate_async_write_some
  {
  public:
    using executor_type = Executor;

    explicit initiate_async_write_some(basic_stream_descriptor* self)
      : self_(self)
    {
    }

    const executor_type& get_executor() const noexcept
    {
      return self_->get_executor();
    }

    template <typename WriteHandler, typename ConstBufferSequence>
    void operator()(WriteHandler&& handler,
        const ConstBufferSequence& buffers) const
    {
      // null_buffers: a wait until writable.
      detail::start_transfer<
          detail::descriptor_write_op_base<ConstBufferSequence>>(self_->impl_,
          POLLOUT, static_cast<WriteHandler&&>(handler), buffers);
    }

  private:
    basic_stream_descriptor* self_;
  };

  class initiate_async_read_some
  {
  public:
    using executor_type = Executor;

    explicit initiate_async_read_some(basic_stream_descriptor* self)
      : self_(self)
    {
    }

    const executor_type& get_executor() const noexcept
    {
      return self_->get_executor();
    }

    template <typename ReadHandler, typename MutableBufferSequence>
    void operator()(ReadHandler&& handler,
        const MutableBufferSequence& buffers) const
    {
      // null_buffers: a wait until readable.
      detail::start_transfer<
          detail::descriptor_read_op_base<MutableBufferSequence>>(self_->impl_,
          POLLIN, static_cast<ReadHandler&&>(handler), buffers);
    }

  private:
    basic_stream_descriptor* self_;
  };
};

} // namespace asio_uring::posix
