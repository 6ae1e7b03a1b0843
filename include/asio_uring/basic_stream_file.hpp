//
// basic_stream_file.hpp
// ~~~~~~~~~~~~~~~~~~~~~
//
// A file read and written as a stream, through the ring.
//
#pragma once

#include <asio_uring/basic_file.hpp>
#include <asio_uring/detail/file_initiate.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>

#include <cerrno>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

namespace asio_uring {

/// Provides stream-oriented file functionality (Boost.Asio's
/// basic_stream_file), with every read and write on the ring.
/**
 * The object keeps its own file position and passes it as an explicit
 * offset with each read and write. (A ring read at offset -1 of an O_DIRECT
 * file does not advance the descriptor's position on current kernels, so a
 * stream that relied on it would re-read its first block forever.) Writes
 * to a file opened with file_base::append go to its end and leave the
 * position just past what they wrote, as with write(2).
 * release() leaves the descriptor positioned at the stream position. A
 * descriptor that cannot seek (an assigned pipe, FIFO or terminal) is read
 * and written where it stands, and seek() on it fails with
 * errc::invalid_seek (ESPIPE), as lseek(2) does.
 *
 * @par Thread Safety
 * @e Distinct @e objects: Safe.@n
 * @e Shared @e objects: Unsafe.
 */
template <typename Executor = boost::asio::any_io_executor>
class basic_stream_file : public basic_file<Executor>
{
public:
  using executor_type = Executor;

  template <typename Executor1>
  struct rebind_executor
  {
    using other = basic_stream_file<Executor1>;
  };

  using native_handle_type = typename basic_file<Executor>::native_handle_type;

  // Constructors are spelled out rather than inherited: an inherited
  // basic_file(basic_file<Executor1>&&) would let any file kind of another
  // executor type convert into this one.

  /// Constructs a file without opening it.
  explicit basic_stream_file(const executor_type& ex)
    : basic_file<Executor>(ex)
  {
    this->impl_.set_stream();
  }

  /// Constructs a file without opening it.
  template <typename ExecutionContext>
  explicit basic_stream_file(ExecutionContext& context,
      std::enable_if_t<std::is_convertible_v<ExecutionContext&,
          boost::asio::execution_context&>>* = nullptr)
    : basic_file<Executor>(context)
  {
    this->impl_.set_stream();
  }

  /// Constructs and opens a file. Throws boost::system::system_error.
  basic_stream_file(const executor_type& ex, const char* path,
      file_base::flags open_flags)
    : basic_file<Executor>(ex, path, open_flags)
  {
    this->impl_.set_stream();
  }

  /// Constructs and opens a file. Throws boost::system::system_error.
  template <typename ExecutionContext>
  basic_stream_file(ExecutionContext& context, const char* path,
      file_base::flags open_flags,
      std::enable_if_t<std::is_convertible_v<ExecutionContext&,
          boost::asio::execution_context&>>* = nullptr)
    : basic_file<Executor>(context, path, open_flags)
  {
    this->impl_.set_stream();
  }

  /// Constructs and opens a file. Throws boost::system::system_error.
  basic_stream_file(const executor_type& ex, const std::string& path,
      file_base::flags open_flags)
    : basic_file<Executor>(ex, path, open_flags)
  {
    this->impl_.set_stream();
  }

  /// Constructs and opens a file. Throws boost::system::system_error.
  template <typename ExecutionContext>
  basic_stream_file(ExecutionContext& context, const std::string& path,
      file_base::flags open_flags,
      std::enable_if_t<std::is_convertible_v<ExecutionContext&,
          boost::asio::execution_context&>>* = nullptr)
    : basic_file<Executor>(context, path, open_flags)
  {
    this->impl_.set_stream();
  }

  /// Constructs a file on an existing native file (takes ownership).
  basic_stream_file(const executor_type& ex, const native_handle_type& native_file)
    : basic_file<Executor>(ex, native_file)
  {
    this->impl_.set_stream();
  }

  /// Constructs a file on an existing native file (takes ownership).
  template <typename ExecutionContext>
  basic_stream_file(ExecutionContext& context, const native_handle_type& native_file,
      std::enable_if_t<std::is_convertible_v<ExecutionContext&,
          boost::asio::execution_context&>>* = nullptr)
    : basic_file<Executor>(context, native_file)
  {
    this->impl_.set_stream();
  }

  basic_stream_file(basic_stream_file&&) noexcept = default;
  basic_stream_file& operator=(basic_stream_file&&) = default;

  template <typename Executor1>
  basic_stream_file(basic_stream_file<Executor1>&& other,
      std::enable_if_t<std::is_convertible_v<Executor1, Executor>>* = nullptr)
    : basic_file<Executor>(std::move(other))
  {
  }

  template <typename Executor1>
  std::enable_if_t<std::is_convertible_v<Executor1, Executor>,
      basic_stream_file&>
  operator=(basic_stream_file<Executor1>&& other)
  {
    basic_file<Executor>::operator=(std::move(other));
    return *this;
  }

  /// Destroys the file, cancelling its asynchronous operations.
  ~basic_stream_file() = default;

  /// Moves the file position. Returns the new position. Throws on failure.
  std::uint64_t seek(std::int64_t offset, file_base::seek_basis whence)
  {
    boost::system::error_code ec;
    std::uint64_t n = seek(offset, whence, ec);
    boost::asio::detail::throw_error(ec, "seek");
    return n;
  }

  /// Moves the file position. Returns the new position.
  std::uint64_t seek(std::int64_t offset, file_base::seek_basis whence,
      boost::system::error_code& ec)
  {
    if (!this->impl_.is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return 0;
    }
    if (!this->impl_.seekable())
    {
      ec.assign(ESPIPE, boost::system::system_category());
      return 0;
    }
    std::uint64_t& pos = *this->impl_.position();
    std::int64_t base = 0;
    switch (whence)
    {
    case file_base::seek_set:
      base = 0;
      break;
    case file_base::seek_cur:
      base = static_cast<std::int64_t>(pos);
      break;
    case file_base::seek_end:
      base = static_cast<std::int64_t>(
          detail::descriptor_ops::size(this->impl_.fd(), ec));
      if (ec)
        return 0;
      break;
    default:
      ec = boost::asio::error::invalid_argument;
      return 0;
    }
    if ((offset < 0 && base + offset < 0)
        || (offset > 0
            && base > (std::numeric_limits<std::int64_t>::max)() - offset))
    {
      ec = boost::asio::error::invalid_argument;
      return 0;
    }
    pos = static_cast<std::uint64_t>(base + offset);
    ec.clear();
    return pos;
  }

  /// Writes some data at the file position. Throws on failure.
  template <typename ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers)
  {
    boost::system::error_code ec;
    std::size_t n = write_some(buffers, ec);
    boost::asio::detail::throw_error(ec, "write_some");
    return n;
  }

  /// Writes some data at the file position.
  template <typename ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers,
      boost::system::error_code& ec)
  {
    if (!this->impl_.is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return 0;
    }
    detail::iovecs<boost::asio::const_buffer, ConstBufferSequence> bufs(buffers);
    std::uint64_t offset = write_offset();
    std::size_t n = detail::descriptor_ops::write_at(this->impl_.fd(), offset,
        bufs.data(), bufs.count(), ec);
    if (!ec)
      detail::advance_after_write(*this->impl_.position(), this->impl_.fd(),
          offset, n);
    return n;
  }

  /// Starts an asynchronous write at the file position.
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

  /// Reads some data at the file position. Throws on failure; error::eof at
  /// the end of the file.
  template <typename MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers)
  {
    boost::system::error_code ec;
    std::size_t n = read_some(buffers, ec);
    boost::asio::detail::throw_error(ec, "read_some");
    return n;
  }

  /// Reads some data at the file position.
  template <typename MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers,
      boost::system::error_code& ec)
  {
    if (!this->impl_.is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return 0;
    }
    detail::iovecs<boost::asio::mutable_buffer, MutableBufferSequence> bufs(buffers);
    std::uint64_t offset = read_offset();
    std::size_t n = detail::descriptor_ops::read_at(this->impl_.fd(),
        offset, bufs.data(), bufs.count(), bufs.total_size(), ec);
    if (offset != detail::current_position)
      *this->impl_.position() += n;
    return n;
  }

  /// Starts an asynchronous read at the file position.
  /**
   * @param buffers Kept alive by the caller until the handler is called.
   * @param token Completion signature void(boost::system::error_code,
   * std::size_t); error::eof at the end of the file. The handler is never
   * invoked from within this function. Supports cancellation_type::terminal,
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
  // A descriptor that cannot seek (a pipe, a FIFO, a terminal) is read and
  // written where it stands, as read(2) and write(2) do.
  std::uint64_t read_offset() const
  {
    if (!this->impl_.seekable())
      return detail::current_position;
    return *this->impl_.position();
  }

  // Appending writes go where the kernel says the end is.
  std::uint64_t write_offset() const
  {
    if ((this->impl_.flags() & O_APPEND) != 0 || !this->impl_.seekable())
      return detail::current_position;
    return *this->impl_.position();
  }

  class initiate_async_write_some
  {
  public:
    using executor_type = Executor;

    explicit initiate_async_write_some(basic_stream_file* self) : self_(self) {}

    const executor_type& get_executor() const noexcept
    {
      return self_->impl_.get_executor();
    }

    template <typename WriteHandler, typename ConstBufferSequence>
    void operator()(WriteHandler&& handler,
        const ConstBufferSequence& buffers) const
    {
      auto& impl = self_->impl_;
      detail::initiate_write(impl, static_cast<WriteHandler&&>(handler),
          impl.is_open() ? self_->write_offset() : 0, buffers,
          impl.position());
    }

  private:
    basic_stream_file* self_;
  };

  class initiate_async_read_some
  {
  public:
    using executor_type = Executor;

    explicit initiate_async_read_some(basic_stream_file* self) : self_(self) {}

    const executor_type& get_executor() const noexcept
    {
      return self_->impl_.get_executor();
    }

    template <typename ReadHandler, typename MutableBufferSequence>
    void operator()(ReadHandler&& handler,
        const MutableBufferSequence& buffers) const
    {
      auto& impl = self_->impl_;
      const bool open = impl.is_open();
      const std::uint64_t offset = open ? self_->read_offset() : 0;
      detail::initiate_read(impl, static_cast<ReadHandler&&>(handler), offset,
          buffers, offset != detail::current_position
              ? impl.position() : detail::stream_position());
    }

  private:
    basic_stream_file* self_;
  };
};

} // namespace asio_uring
