//
// basic_file.hpp
// ~~~~~~~~~~~~~~
//
// Common functionality of stream-oriented and random-access files.
//
#pragma once

#include <asio_uring/detail/descriptor_ops.hpp>
#include <asio_uring/detail/file_meta_ops.hpp>
#include <asio_uring/detail/file_ops.hpp>
#include <asio_uring/detail/uring_handler_op.hpp>
#include <asio_uring/detail/io_object.hpp>
#include <asio_uring/file_base.hpp>
#include <asio_uring/io_context.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/detail/throw_error.hpp>
#include <boost/asio/error.hpp>

#include <cerrno>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

namespace asio_uring {

/// Provides file functionality (Boost.Asio's basic_file, on the ring).
/**
 * @par Thread Safety
 * @e Distinct @e objects: Safe.@n
 * @e Shared @e objects: Unsafe.
 */
template <typename Executor = boost::asio::any_io_executor>
class basic_file : public file_base
{
public:
  /// The type of the executor associated with the object.
  using executor_type = Executor;

  /// Rebinds the file type to another executor.
  template <typename Executor1>
  struct rebind_executor
  {
    using other = basic_file<Executor1>;
  };

  /// The native representation of a file.
  using native_handle_type = int;

  /// Constructs a basic_file without opening it.
  explicit basic_file(const executor_type& ex)
    : impl_(ex)
  {
  }

  /// Constructs a basic_file without opening it.
  template <typename ExecutionContext>
  explicit basic_file(ExecutionContext& context,
      std::enable_if_t<std::is_convertible_v<ExecutionContext&,
          boost::asio::execution_context&>>* = nullptr)
    : impl_(context.get_executor())
  {
  }

  /// Constructs and opens a basic_file. Throws on failure.
  basic_file(const executor_type& ex, const char* path, file_base::flags open_flags)
    : impl_(ex)
  {
    open(path, open_flags);
  }

  /// Constructs and opens a basic_file. Throws on failure.
  template <typename ExecutionContext>
  basic_file(ExecutionContext& context, const char* path,
      file_base::flags open_flags,
      std::enable_if_t<std::is_convertible_v<ExecutionContext&,
          boost::asio::execution_context&>>* = nullptr)
    : impl_(context.get_executor())
  {
    open(path, open_flags);
  }

  /// Constructs and opens a basic_file. Throws on failure.
  basic_file(const executor_type& ex, const std::string& path,
      file_base::flags open_flags)
    : impl_(ex)
  {
    open(path.c_str(), open_flags);
  }

  /// Constructs and opens a basic_file. Throws on failure.
  template <typename ExecutionContext>
  basic_file(ExecutionContext& context, const std::string& path,
      file_base::flags open_flags,
      std::enable_if_t<std::is_convertible_v<ExecutionContext&,
          boost::asio::execution_context&>>* = nullptr)
    : impl_(context.get_executor())
  {
    open(path.c_str(), open_flags);
  }

  /// Constructs a basic_file on an existing native file (takes ownership).
  basic_file(const executor_type& ex, const native_handle_type& native_file)
    : impl_(ex)
  {
    assign(native_file);
  }

  /// Constructs a basic_file on an existing native file (takes ownership).
  template <typename ExecutionContext>
  basic_file(ExecutionContext& context, const native_handle_type& native_file,
      std::enable_if_t<std::is_convertible_v<ExecutionContext&,
          boost::asio::execution_context&>>* = nullptr)
    : impl_(context.get_executor())
  {
    assign(native_file);
  }

  /// Move-constructs: other is left closed, with its executor.
  basic_file(basic_file&& other) noexcept = default;

  /// Move-assigns: closes this file first (cancelling its operations).
  basic_file& operator=(basic_file&& other) = default;

  /// Move-constructs from a file of another executor type.
  template <typename Executor1>
  basic_file(basic_file<Executor1>&& other,
      std::enable_if_t<std::is_convertible_v<Executor1, Executor>>* = nullptr)
    : impl_(std::move(other.impl_))
  {
  }

  /// Move-assigns from a file of another executor type.
  template <typename Executor1>
  std::enable_if_t<std::is_convertible_v<Executor1, Executor>, basic_file&>
  operator=(basic_file<Executor1>&& other)
  {
    impl_ = std::move(other.impl_);
    return *this;
  }

  /// Gets the executor associated with the object.
  const executor_type& get_executor() noexcept { return impl_.get_executor(); }

  /// Opens the file at path. Throws boost::system::system_error on failure;
  /// error::already_open if the object is open.
  void open(const char* path, file_base::flags open_flags)
  {
    boost::system::error_code ec;
    open(path, open_flags, ec);
    boost::asio::detail::throw_error(ec, "open");
  }

  /// Opens the file at path.
  void open(const char* path, file_base::flags open_flags,
      boost::system::error_code& ec)
  {
    if (impl_.is_open())
    {
      ec = boost::asio::error::already_open;
      return;
    }
    int fd = detail::descriptor_ops::open(path, static_cast<int>(open_flags), ec);
    if (fd >= 0)
      impl_.assign(fd, open_flags);
  }

  /// Opens the file at path.
  void open(const std::string& path, file_base::flags open_flags)
  {
    open(path.c_str(), open_flags);
  }

  /// Opens the file at path.
  void open(const std::string& path, file_base::flags open_flags,
      boost::system::error_code& ec)
  {
    open(path.c_str(), open_flags, ec);
  }

  /// Assigns an existing native file (takes ownership).
  void assign(const native_handle_type& native_file)
  {
    boost::system::error_code ec;
    assign(native_file, ec);
    boost::asio::detail::throw_error(ec, "assign");
  }

  /// Assigns an existing native file (takes ownership).
  void assign(const native_handle_type& native_file,
      boost::system::error_code& ec)
  {
    if (impl_.is_open())
    {
      ec = boost::asio::error::already_open;
      return;
    }
    int fl = ::fcntl(native_file, F_GETFL);
    if (fl < 0)
    {
      ec = detail::errno_to_error(errno);
      return;
    }
    impl_.assign(native_file, static_cast<file_base::flags>(fl));
    ec.clear();
  }

  /// Whether the file is open.
  bool is_open() const { return impl_.is_open(); }

  /// Closes the file. Pending asynchronous operations complete with
  /// boost::asio::error::operation_aborted.
  void close()
  {
    boost::system::error_code ec;
    close(ec);
    boost::asio::detail::throw_error(ec, "close");
  }

  /// Closes the file.
  void close(boost::system::error_code& ec) { impl_.close(ec); }

  /// Releases ownership of the native file; pending operations complete
  /// with boost::asio::error::operation_aborted.
  native_handle_type release()
  {
    boost::system::error_code ec;
    native_handle_type fd = release(ec);
    boost::asio::detail::throw_error(ec, "release");
    return fd;
  }

  /// Releases ownership of the native file. A closed file gives -1 and no
  /// error, as Boost.Asio's file service does (its sockets report
  /// bad_descriptor there, and so do ours).
  native_handle_type release(boost::system::error_code& ec)
  {
    if (!impl_.is_open())
    {
      ec.clear();
      return -1;
    }
    return impl_.release(ec);
  }

  /// Gets the native file representation.
  native_handle_type native_handle() { return impl_.native_handle(); }

  /// Cancels all asynchronous operations on the file: their handlers get
  /// boost::asio::error::operation_aborted (or their result, if they won).
  /**
   * The kernel matches the cancellation (IORING_ASYNC_CANCEL_FD) against
   * the open file, not the descriptor number: operations of another object
   * that holds a dup() of this descriptor are cancelled too, unlike in
   * Boost.Asio. close() and the destructor cancel the same way.
   */
  void cancel()
  {
    boost::system::error_code ec;
    cancel(ec);
    boost::asio::detail::throw_error(ec, "cancel");
  }

  /// Cancels all asynchronous operations on the file.
  void cancel(boost::system::error_code& ec) { impl_.cancel(ec); }

  /// Gets the size of the file.
  std::uint64_t size() const
  {
    boost::system::error_code ec;
    std::uint64_t s = size(ec);
    boost::asio::detail::throw_error(ec, "size");
    return s;
  }

  /// Gets the size of the file.
  std::uint64_t size(boost::system::error_code& ec) const
  {
    if (!impl_.is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return 0;
    }
    return detail::descriptor_ops::size(impl_.fd(), ec);
  }

  /// Alters the size of the file (truncating or zero-extending).
  void resize(std::uint64_t n)
  {
    boost::system::error_code ec;
    resize(n, ec);
    boost::asio::detail::throw_error(ec, "resize");
  }

  /// Alters the size of the file.
  void resize(std::uint64_t n, boost::system::error_code& ec)
  {
    if (!impl_.is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return;
    }
    detail::descriptor_ops::resize(impl_.fd(), n, ec);
  }

  /// Synchronises the file's data and metadata to disk (fsync).
  void sync_all()
  {
    boost::system::error_code ec;
    sync_all(ec);
    boost::asio::detail::throw_error(ec, "sync_all");
  }

  /// Synchronises the file's data and metadata to disk (fsync).
  void sync_all(boost::system::error_code& ec)
  {
    if (!impl_.is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return;
    }
    detail::descriptor_ops::sync_all(impl_.fd(), ec);
  }

  /// Synchronises the file's data to disk (fdatasync).
  void sync_data()
  {
    boost::system::error_code ec;
    sync_data(ec);
    boost::asio::detail::throw_error(ec, "sync_data");
  }

  /// Synchronises the file's data to disk (fdatasync).
  void sync_data(boost::system::error_code& ec)
  {
    if (!impl_.is_open())
    {
      ec = boost::asio::error::bad_descriptor;
      return;
    }
    detail::descriptor_ops::sync_data(impl_.fd(), ec);
  }

  /// Registers the descriptor in the ring's fixed-file table (an
  /// asio_uring extension).
  /**
   * Operations started afterwards name the table slot (IOSQE_FIXED_FILE),
   * which saves the kernel a file lookup per operation; worth it for
   * long-lived descriptors with many operations. close(), release() and
   * destruction unregister it. Throws on failure (for instance ENOSPC when
   * the table's 1024 slots are taken).
   */
  void register_descriptor()
  {
    boost::system::error_code ec;
    register_descriptor(ec);
    boost::asio::detail::throw_error(ec, "register_descriptor");
  }

  /// Registers the descriptor in the ring's fixed-file table.
  void register_descriptor(boost::system::error_code& ec)
  {
    impl_.register_descriptor(ec);
  }

  /// Whether the descriptor is registered in the ring's fixed-file table.
  bool is_descriptor_registered() const
  {
    return impl_.is_descriptor_registered();
  }

  /// @name Asynchronous metadata operations (asio_uring extensions)
  /// Each goes through the ring; none blocks the calling thread. The handler
  /// is never invoked from within the initiating function. A closed file
  /// completes with boost::asio::error::bad_descriptor.
  /// @{

  /// Asynchronously opens the file at path (IORING_OP_OPENAT).
  /**
   * Completion signature void(boost::system::error_code); error::already_open
   * if the object is open. The object must stay valid, and must not be
   * moved, until the handler runs. The descriptor is opened with O_CLOEXEC
   * and creation mode 0666 (before umask), as open() does.
   */
  template <BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code))
          OpenToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_open(const std::string& path, file_base::flags open_flags,
      OpenToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return boost::asio::async_initiate<OpenToken, void(boost::system::error_code)>(
        [this](auto&& handler, const std::string& p, file_base::flags f) {
          using base = detail::openat_op_base<detail::io_object<Executor>>;
          if (impl_.is_open())
            detail::post_uring_op<base>(impl_.get_scheduler(), 0,
                static_cast<decltype(handler)&&>(handler), impl_.get_executor(),
                &impl_, std::string(), 0, true);
          else
            detail::start_uring_op<base>(impl_.get_scheduler(),
                static_cast<decltype(handler)&&>(handler), impl_.get_executor(),
                &impl_, p, static_cast<int>(f));
        },
        token, path, open_flags);
  }

  /// Asynchronously synchronises data and metadata (IORING_OP_FSYNC).
  /** Completion signature void(boost::system::error_code). */
  template <BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code))
          SyncToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_sync_all(
      SyncToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return async_fsync(false, static_cast<SyncToken&&>(token));
  }

  /// Asynchronously synchronises data (IORING_OP_FSYNC, DATASYNC).
  /** Completion signature void(boost::system::error_code). */
  template <BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code))
          SyncToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_sync_data(
      SyncToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return async_fsync(true, static_cast<SyncToken&&>(token));
  }

  /// Asynchronously gets the size of the file (IORING_OP_STATX).
  /** Completion signature void(boost::system::error_code, std::uint64_t). */
  template <BOOST_ASIO_COMPLETION_TOKEN_FOR(
          void(boost::system::error_code, std::uint64_t))
          SizeToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_size(
      SizeToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return boost::asio::async_initiate<SizeToken,
        void(boost::system::error_code, std::uint64_t)>(
        [this](auto&& handler) {
          using base = detail::statx_size_op_base;
          const int fd = impl_.fd();
          if (fd < 0)
            detail::post_uring_op<base>(impl_.get_scheduler(), -EBADF,
                static_cast<decltype(handler)&&>(handler), impl_.get_executor(), fd);
          else
            detail::start_uring_op<base>(impl_.get_scheduler(),
                static_cast<decltype(handler)&&>(handler), impl_.get_executor(), fd);
        },
        token);
  }

  /// Asynchronously truncates or extends the file to n bytes.
  /**
   * Completion signature void(boost::system::error_code). Uses
   * IORING_OP_FTRUNCATE (Linux 6.9); on older kernels it runs ftruncate(2)
   * in the calling thread and posts the result.
   */
  template <BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code))
          ResizeToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_resize(std::uint64_t n,
      ResizeToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return boost::asio::async_initiate<ResizeToken, void(boost::system::error_code)>(
        [this](auto&& handler, std::uint64_t len) {
          using base = detail::ftruncate_op_base;
          auto& sched = impl_.get_scheduler();
          const int fd = impl_.fd();
          if (fd >= 0 && sched.ring().supports(detail::core::op_ftruncate))
          {
            detail::start_uring_op<base>(sched,
                static_cast<decltype(handler)&&>(handler), impl_.get_executor(),
                fd, len);
            return;
          }
          boost::system::error_code ec = boost::asio::error::bad_descriptor;
          if (fd >= 0)
            detail::descriptor_ops::resize(fd, len, ec);
          detail::post_uring_op<base>(sched, ec ? -ec.value() : 0,
              static_cast<decltype(handler)&&>(handler), impl_.get_executor(),
              fd, len);
        },
        token, n);
  }

  /// Asynchronously allocates disk space for [offset, offset + len)
  /// (IORING_OP_FALLOCATE, mode 0: the size grows if needed).
  /** Completion signature void(boost::system::error_code). */
  template <BOOST_ASIO_COMPLETION_TOKEN_FOR(void(boost::system::error_code))
          AllocateToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_allocate(std::uint64_t offset, std::uint64_t len,
      AllocateToken&& token = boost::asio::default_completion_token_t<executor_type>())
  {
    return boost::asio::async_initiate<AllocateToken, void(boost::system::error_code)>(
        [this](auto&& handler, std::uint64_t off, std::uint64_t n) {
          using base = detail::fallocate_op_base;
          const int fd = impl_.fd();
          if (fd < 0)
            detail::post_uring_op<base>(impl_.get_scheduler(), -EBADF,
                static_cast<decltype(handler)&&>(handler), impl_.get_executor(),
                fd, off, n);
          else
            detail::start_uring_op<base>(impl_.get_scheduler(),
                static_cast<decltype(handler)&&>(handler), impl_.get_executor(),
                fd, off, n);
        },
        token, offset, len);
  }

  /// @}

protected:
  template <typename> friend class basic_file;

  template <typename SyncToken>
  auto async_fsync(bool data_only, SyncToken&& token)
  {
    return boost::asio::async_initiate<SyncToken, void(boost::system::error_code)>(
        [this](auto&& handler, bool data) {
          using base = detail::fsync_op_base;
          const int fd = impl_.fd();
          if (fd < 0)
            detail::post_uring_op<base>(impl_.get_scheduler(), -EBADF,
                static_cast<decltype(handler)&&>(handler), impl_.get_executor(),
                fd, data);
          else
            detail::start_uring_op<base>(impl_.get_scheduler(),
                static_cast<decltype(handler)&&>(handler), impl_.get_executor(),
                fd, data);
        },
        token, data_only);
  }

  /// Protected destructor: closes the file, cancelling its operations.
  ~basic_file() = default;

  detail::io_object<Executor> impl_;
};

} // namespace asio_uring
