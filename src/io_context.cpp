#include <asio_uring/io_context.hpp>

#include <boost/asio/detail/throw_error.hpp>
#include <boost/asio/execution_context.hpp>

namespace asio_uring {

bool is_supported(boost::system::error_code& ec) noexcept
{
  int err = 0;
  if (detail::core::probe_support(&err))
  {
    ec.clear();
    return true;
  }
  ec.assign(-err, boost::system::system_category());
  return false;
}

bool is_supported() noexcept
{
  boost::system::error_code ec;
  return is_supported(ec);
}

// Marks an execution_context as an asio_uring::io_context, so that I/O
// objects holding a type-erased executor can find the ring behind it.
class io_context::identity_service : public boost::asio::execution_context::service
{
public:
  static inline boost::asio::execution_context::id id;

  explicit identity_service(boost::asio::execution_context& ctx)
    : boost::asio::execution_context::service(ctx), owner_(nullptr)
  {
  }

  identity_service(boost::asio::execution_context& ctx, io_context* owner)
    : boost::asio::execution_context::service(ctx), owner_(owner)
  {
  }

  io_context* owner() const noexcept { return owner_; }

private:
  void shutdown() override {}

  io_context* owner_;
};

io_context* io_context::from(boost::asio::execution_context& ctx) noexcept
{
  if (!boost::asio::has_service<identity_service>(ctx))
    return nullptr;
  return boost::asio::use_service<identity_service>(ctx).owner();
}

io_context::io_context()
  : io_context(ring_options(), BOOST_ASIO_CONCURRENCY_HINT_DEFAULT)
{
}

io_context::io_context(int concurrency_hint)
  : io_context(ring_options(), concurrency_hint)
{
}

io_context::io_context(const ring_options& options, int concurrency_hint)
  : impl_(options, concurrency_hint)
{
  boost::asio::add_service(*this, new identity_service(*this, this));
}

io_context::~io_context()
{
  // Order matters: first drain the ring and destroy unfinished handlers
  // (their destructors may still use services), then shut down and destroy
  // the services while the scheduler they refer to is still alive.
  impl_.shutdown();
  shutdown();
  // Handlers destroyed by the services' shutdown may have posted more.
  impl_.shutdown();
  destroy();
}

io_context::count_type io_context::run()
{
  boost::system::error_code ec;
  count_type n = impl_.run(ec);
  boost::asio::detail::throw_error(ec);
  return n;
}

io_context::count_type io_context::run_one()
{
  boost::system::error_code ec;
  count_type n = impl_.run_one(ec);
  boost::asio::detail::throw_error(ec);
  return n;
}

io_context::count_type io_context::poll()
{
  boost::system::error_code ec;
  count_type n = impl_.poll(ec);
  boost::asio::detail::throw_error(ec);
  return n;
}

io_context::count_type io_context::poll_one()
{
  boost::system::error_code ec;
  count_type n = impl_.poll_one(ec);
  boost::asio::detail::throw_error(ec);
  return n;
}

void io_context::stop() { impl_.stop(); }

bool io_context::stopped() const { return impl_.stopped(); }

void io_context::restart() { impl_.restart(); }

} // namespace asio_uring
