//
// basic_random_access_file.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~
//
// A file read and written at explicit offsets, through the ring.
//
#pragma once

#include <asio_uring/basic_file.hpp>
#include <asio_uring/detail/file_initiate.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

namespace asio_uring {

/// Provides random-access file functionality (Boost.Asio's
/// basic_random_access_file), with every read and write on the ring.
/**
 * Any number of asynchronous reads and writes may be outstanding on one
 * object: each goes to the kernel at once (no per-object serialisation).
 *
 * @par Thread Safety
 * @e Distinct @e objects: Safe.@n
 * @e Shared @e objects: Unsafe.
 */
template <typename Executor = boost::asio::any_io_executor>
class basic_random_access_file : public basic_file<Executor>
{
public:
  using executor_type = Executor;

  template <typename Executor1>
  struct rebind_executor
  {
    using other = basic_random_access_file<Executor1>;
  };

  using native_handle_type = typename basic_file<Executor>::native_handle_type;

  // Constructors are spelled out rather than inherited: an inherited
  // basic_file(basic_file<Executor1>&&) would let any file kind of another
  // executor type convert into this one.

  /// Constructs a file without opening it.
  explicit basic_random_access_file(const executor_type& ex)
    : basic_file<Executor>(ex)
  {
  }

  /// Constructs a file without opening it.
  template <typename ExecutionContext>
  explicit basic_random_access_file(ExecutionContext& context,
      std::enable_if_t<std::is_convertible_v<ExecutionContext&,
          boost::asio::execution_context&>>* = nullptr)
    : basic_file<Executor>(context)
  {
  }

  /// Constructs and opens a file. Throws boost::system::system_error.
  basic_random_access_file(const executor_type& ex, const char* path,
      file_base::flags open_flags)
    : basic_file<Executor>(ex, path, open_flags)
  {
  }

  /// Constructs and opens a file. Throws boost::system::system_error.
  template <typename ExecutionContext>
  basic_random_access_file(ExecutionContext& context, const char* path,
      file_base::flags open_flags,
      std::enable_if_t<std::is_convertible_v<ExecutionContext&,
          boost::asio::execution_context&>>* = nullptr)
    : basic_file<Executor>(context, path, open_flags)
  {
  }

  /// Constructs and opens a file. Throws boost::system::system_error.
  basic_random_access_file(const executor_type& ex, const std::string& path,
      file_base::flags open_flags)
    : basic_file<Executor>(ex, path, open_flags)
  {
  }

  /// Constructs and opens a file. Throws boost::system::system_error.
  template <typename ExecutionContext>
  basic_random_access_file(ExecutionContext& context, const std::string& path,
      file_base::flags open_flags,
      std::enable_if_t<std::is_convertible_v<ExecutionContext&,
          boost::asio::execution_context&>>* = nullptr)
    : basic_file<Executor>(context, path, open_flags)
  {
  }

  /// Constructs a file on an existing native file (takes ownership).
  basic_random_access_file(const executor_type& ex, const native_handle_type& native_file)
    : basic_file<Executor>(ex, native_file)
  {
  }

  /// Constructs a file on an existing native file (takes ownership).
  template <typename ExecutionContext>
  basic_random_access_file(ExecutionContext& context, const native_handle_type& native_file,
      std::enable_if_t<std::is_convertible_v<ExecutionContext&,
          boost::asio::execution_context&>>* = nullptr)
    : basic_file<Executor>(context, native_file)
  {
  }

  basic_random_access_file(basic_random_access_file&&) noexcept = default;
  basic_random_access_file& operator=(basic_random_access_file&&) = default;

  template <typename Executor1>
  basic_random_access_file(basic_random_access_file<Executor1>&& other,
      std::enable_if_t<std::is_convertible_v<Executor1, Executor>>* = nullptr)
    : basic_file<Executor>(std::move(other))
  {
  }

  template <typename Executor1>
  std::enable_if_t<std::is_convertible_v<Executor1, Executor>,
      basic_random_access_file&>
  operator=(basic_random_access_file<Executor1>&& other)
  {
    basic_file<Executor>::operator=(std::move(other));
    return *this;
  }

  /// Destroys the file, cancelling its asynchronous operations.
  ~basic_random_access_file() = default;

  /// Writes some data at offset (pwritev). Throws on failure.
  template <typename ConstBufferSequence>
  std::size_t write_some_at(std::uint64_t offset,
      const ConstBufferSequence& buffers)
  {
    boost::system::error_code ec;
    std::size_t n = write_some_at(offset, buffers, ec);
    boost::asio::detail::throw_error(ec, "write_some_at");
    return n;
  }

  /// Writes some data at offset (pwritev).
  template <typename ConstBufferSequence>
  std::size_t write_some_at(std::uint64_t offset,
      const ConstBufferSequence& buffers, boost::system::error_code& ec)
  {
    if (!this->impl_.is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return 0;
    }
    if (!detail::valid_offset(offset))
    {
      ec = boost::asio::error::invalid_argument;
      return 0;
    }
    detail::iovecs<boost::asio::const_buffer, ConstBufferSequence> bufs(buffers);
    return detail::descriptor_ops::write_at(this->impl_.fd(), offset,
        bufs.data(), bufs.count(), ec);
  }

  /// Starts an asynchronous write at offset.
  /**
   * @param buffers Kept alive by the caller until the handler is called.
   * @param token Completion signature void(boost::system::error_code,
   * std::size_t). The handler is never invoked from within this function.
   * Supports cancellation_type::terminal, partial and total.
   */
  template <typename ConstBufferSequence,
      BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code, std::size_t))
          WriteToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_write_some_at(std::uint64_t offset,
      const ConstBufferSequence& buffers,
      WriteToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return boost::asio::async_initiate<WriteToken,
        void(boost::system::error_code, std::size_t)>(
        initiate_async_write_some_at(this), token, offset, buffers);
  }

  /// Reads some data at offset (preadv). Throws on failure; error::eof at
  /// the end of the file.
  template <typename MutableBufferSequence>
  std::size_t read_some_at(std::uint64_t offset,
      const MutableBufferSequence& buffers)
  {
    boost::system::error_code ec;
    std::size_t n = read_some_at(offset, buffers, ec);
    boost::asio::detail::throw_error(ec, "read_some_at");
    return n;
  }

  /// Reads some data at offset (preadv).
  template <typename MutableBufferSequence>
  std::size_t read_some_at(std::uint64_t offset,
      const MutableBufferSequence& buffers, boost::system::error_code& ec)
  {
    if (!this->impl_.is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return 0;
    }
    if (!detail::valid_offset(offset))
    {
      ec = boost::asio::error::invalid_argument;
      return 0;
    }
    detail::iovecs<boost::asio::mutable_buffer, MutableBufferSequence> bufs(buffers);
    return detail::descriptor_ops::read_at(this->impl_.fd(), offset,
        bufs.data(), bufs.count(), bufs.total_size(), ec);
  }

  /// Starts an asynchronous read at offset.
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
  auto async_read_some_at(std::uint64_t offset,
      const MutableBufferSequence& buffers,
      ReadToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return boost::asio::async_initiate<ReadToken,
        void(boost::system::error_code, std::size_t)>(
        initiate_async_read_some_at(this), token, offset, buffers);
  }

private:
  class initiate_async_write_some_at
  {
  public:
    using executor_type = Executor;

    explicit initiate_async_write_some_at(basic_random_access_file* self)
      : self_(self)
    {
    }

    const executor_type& get_executor() const noexcept
    {
      return self_->impl_.get_executor();
    }

    template <typename WriteHandler, typename ConstBufferSequence>
    void operator()(WriteHandler&& handler, std::uint64_t offset,
        const ConstBufferSequence& buffers) const
    {
      detail::initiate_write(self_->impl_,
          static_cast<WriteHandler&&>(handler), offset, buffers,
          detail::stream_position(),
          detail::valid_offset(offset) ? 0 : -EINVAL);
    }

  private:
    basic_random_access_file* self_;
  };

  class initiate_async_read_some_at
  {
  public:
    using executor_type = Executor;

    explicit initiate_async_read_some_at(basic_random_access_file* self)
      : self_(self)
    {
    }

    const executor_type& get_executor() const noexcept
    {
      return self_->impl_.get_executor();
    }

    template <typename ReadHandler, typename MutableBufferSequence>
    void operator()(ReadHandler&& handler, std::uint64_t offset,
        const MutableBufferSequence& buffers) const
    {
      detail::initiate_read(self_->impl_,
          static_cast<ReadHandler&&>(handler), offset, buffers,
          detail::stream_position(),
          detail::valid_offset(offset) ? 0 : -EINVAL);
    }

  private:
    basic_random_access_file* self_;
  };
};

} // namespace asio_uring
