// A tiny ring (SQ 2, CQ 4) driven with thousands of operations: the SQ is
// full almost all the time (operations wait in user space and are flushed
// two at a time) and completions overflow the CQ into the kernel's overflow
// list. Nothing may be lost or duplicated: every handler runs exactly once
// with the right bytes.
#include <asio_uring/io_context.hpp>
#include <asio_uring/random_access_file.hpp>
#include <asio_uring/steady_timer.hpp>
#include <asio_uring/stream_file.hpp>

#include "fault_hooks.hpp"
#include "test_util.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write_at.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <functional>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <thread>
#include <vector>

namespace net = boost::asio;
using namespace std::chrono_literals;
using asio_uring_test::temp_file;

namespace {

asio_uring::ring_options tiny_options()
{
  asio_uring::ring_options o;
  o.entries = 2;
  o.cq_entries = 4;
  return o;
}

// Watches the seam: the most SQEs handed out between two reaps. Each of
// them produces a CQE; more than the CQ holds (4) means the kernel had to
// keep completions in its overflow list until the next reap.
class overflow_watch : public asio_uring::detail::core::fault_hooks
{
public:
  bool fail_get_sqe() noexcept override
  {
    ++since_reap_;
    return false;
  }
  void on_completion(asio_uring::detail::core::completion& c) noexcept override
  {
    std::size_t n = since_reap_.exchange(0);
    if (n > max_unreaped_)
      max_unreaped_ = n;
    if (asio_uring_test::is_operation_completion(c))
      ++completions_;
  }
  std::size_t max_unreaped() const noexcept { return max_unreaped_; }
  std::size_t completions() const noexcept { return completions_; }

private:
  std::atomic<std::size_t> since_reap_{0}, max_unreaped_{0}, completions_{0};
};

struct read_job
{
  std::uint64_t offset;
  std::size_t size;
  std::vector<unsigned char> buf;
  int calls = 0;
  boost::system::error_code ec;
  std::size_t n = 0;
};

std::vector<read_job> make_jobs(std::size_t count, std::size_t file_size,
    std::uint32_t seed)
{
  std::mt19937 gen(seed);
  std::vector<read_job> jobs(count);
  for (auto& j : jobs)
  {
    j.size = 1 + gen() % 8192;
    j.offset = gen() % (file_size - j.size);
    j.buf.assign(j.size, 0);
  }
  return jobs;
}

void check_jobs(const std::vector<read_job>& jobs,
    const std::vector<unsigned char>& data)
{
  std::size_t bad_calls = 0, bad_data = 0, verified = 0;
  for (const auto& j : jobs)
  {
    if (j.calls != 1 || j.ec || j.n != j.size)
      ++bad_calls;
    else if (!std::equal(j.buf.begin(), j.buf.end(),
                 data.begin() + static_cast<long>(j.offset)))
      ++bad_data;
    else
      verified += j.n;
  }
  BOOST_TEST(bad_calls == 0u);
  BOOST_TEST(bad_data == 0u);
  BOOST_TEST_MESSAGE(jobs.size() << " reads, " << verified
      << " bytes verified");
}

} // namespace

BOOST_AUTO_TEST_SUITE(tiny_ring)

BOOST_AUTO_TEST_CASE(ring_options_give_two_sq_and_four_cq_entries)
{
  asio_uring::io_context ctx(tiny_options());
  BOOST_TEST(ctx.impl().ring().sq_entries() == 2u);
  BOOST_TEST(ctx.impl().ring().cq_entries() == 4u);
}

BOOST_AUTO_TEST_CASE(thousands_of_reads_complete_once_each)
{
  constexpr std::size_t file_size = 1 << 20, count = 5000;
  const auto data = asio_uring_test::random_bytes(file_size, 11);
  temp_file file(data);
  auto jobs = make_jobs(count, file_size, 12);
  overflow_watch watch;
  {
    asio_uring::io_context ctx(tiny_options());
    ctx.impl().ring().set_fault_hooks(&watch);
    asio_uring::random_access_file f(ctx, file.path(),
        asio_uring::random_access_file::read_only);
    for (auto& j : jobs)
      f.async_read_some_at(j.offset, net::buffer(j.buf),
          [&j](boost::system::error_code ec, std::size_t n) {
            ++j.calls;
            j.ec = ec;
            j.n = n;
          });
    ctx.run_for(60s);
  }
  check_jobs(jobs, data);
  BOOST_TEST(watch.completions() == count);
  // Far more requests were issued between two reaps than the CQ holds.
  BOOST_TEST_MESSAGE("most SQEs issued between two reaps: "
      << watch.max_unreaped());
  BOOST_TEST(watch.max_unreaped() > 4u);
}

BOOST_AUTO_TEST_CASE(thousands_of_writes_land_exactly_once)
{
  constexpr std::size_t slots = 4000, slot = 256;
  const auto data = asio_uring_test::random_bytes(slots * slot, 13);
  temp_file file;
  std::vector<std::size_t> order(slots);
  for (std::size_t i = 0; i < slots; ++i)
    order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(14));
  std::vector<int> calls(slots, 0);
  std::size_t errors = 0;
  {
    asio_uring::io_context ctx(tiny_options());
    asio_uring::random_access_file f(ctx, file.path(),
        asio_uring::random_access_file::write_only);
    for (std::size_t i : order)
      net::async_write_at(f, i * slot, net::buffer(&data[i * slot], slot),
          [&, i](boost::system::error_code ec, std::size_t n) {
            ++calls[i];
            if (ec || n != slot)
              ++errors;
          });
    ctx.run_for(60s);
  }
  BOOST_TEST(std::count(calls.begin(), calls.end(), 1) == long(slots));
  BOOST_TEST(errors == 0u);
  BOOST_TEST((file.contents() == data));
}

BOOST_AUTO_TEST_CASE(chained_operations_never_stall)
{
  // 64 chains of 100 dependent reads: each handler starts the next one, so
  // new SQEs arrive while the ring is full of earlier ones.
  constexpr std::size_t chains = 64, links = 100, size = 64 * 1024;
  const auto data = asio_uring_test::random_bytes(size, 15);
  temp_file file(data);
  struct chain
  {
    std::size_t done = 0;
    std::size_t bad = 0;
    std::array<unsigned char, 512> buf;
  };
  std::vector<chain> c(chains);
  {
    asio_uring::io_context ctx(tiny_options());
    asio_uring::random_access_file f(ctx, file.path(),
        asio_uring::random_access_file::read_only);
    std::function<void(std::size_t)> next = [&](std::size_t i) {
      const std::uint64_t off = (c[i].done * 4099 + i * 512) % (size - 512);
      f.async_read_some_at(off, net::buffer(c[i].buf),
          [&, i, off](boost::system::error_code ec, std::size_t n) {
            if (ec || n != 512 || !std::equal(c[i].buf.begin(), c[i].buf.end(),
                    data.begin() + static_cast<long>(off)))
              ++c[i].bad;
            if (++c[i].done < links)
              next(i);
          });
    };
    for (std::size_t i = 0; i < chains; ++i)
      next(i);
    ctx.run_for(60s);
  }
  for (std::size_t i = 0; i < chains; ++i)
  {
    BOOST_TEST(c[i].done == links);
    BOOST_TEST(c[i].bad == 0u);
  }
}

BOOST_AUTO_TEST_CASE(two_threads_with_posts_and_timers_lose_nothing)
{
  constexpr std::size_t file_size = 256 * 1024, reads = 3000, posts = 3000,
                        timers = 300;
  const auto data = asio_uring_test::random_bytes(file_size, 16);
  temp_file file(data);
  auto jobs = make_jobs(reads, file_size, 17);
  std::vector<std::atomic<int>> post_calls(posts);
  std::vector<std::atomic<int>> timer_calls(timers);
  std::atomic<int> timer_errors{0};
  {
    asio_uring::io_context ctx(tiny_options());
    asio_uring::random_access_file f(ctx, file.path(),
        asio_uring::random_access_file::read_only);
    std::vector<std::unique_ptr<asio_uring::steady_timer>> ts;
    std::mt19937 gen(18);
    for (std::size_t i = 0; i < timers; ++i)
    {
      ts.push_back(std::make_unique<asio_uring::steady_timer>(ctx,
          std::chrono::microseconds(gen() % 5000)));
      ts.back()->async_wait([&, i](boost::system::error_code ec) {
        ++timer_calls[i];
        if (ec)
          ++timer_errors;
      });
    }
    for (auto& j : jobs)
      f.async_read_some_at(j.offset, net::buffer(j.buf),
          [&j](boost::system::error_code ec, std::size_t n) {
            ++j.calls;
            j.ec = ec;
            j.n = n;
          });
    auto guard = net::make_work_guard(ctx);
    std::thread other([&] { ctx.run(); });
    // Posts from a thread outside the loop race with both runners.
    for (std::size_t i = 0; i < posts; ++i)
      net::post(ctx, [&, i] { ++post_calls[i]; });
    guard.reset();
    ctx.run_for(60s);
    other.join();
  }
  check_jobs(jobs, data);
  BOOST_TEST(std::all_of(post_calls.begin(), post_calls.end(),
      [](const std::atomic<int>& c) { return c == 1; }));
  BOOST_TEST(std::all_of(timer_calls.begin(), timer_calls.end(),
      [](const std::atomic<int>& c) { return c == 1; }));
  BOOST_TEST(timer_errors == 0);
}

BOOST_AUTO_TEST_CASE(cancelling_hundreds_of_blocked_reads_aborts_each_once)
{
  // Reads of empty pipes stay in the kernel; closing their objects needs a
  // cancel SQE each while the SQ holds two.
  constexpr std::size_t count = 200;
  std::vector<std::unique_ptr<asio_uring_test::pipe_pair>> pipes;
  std::vector<int> calls(count, 0);
  std::size_t aborted = 0;
  char bufs[count][16];
  {
    asio_uring::io_context ctx(tiny_options());
    std::vector<std::unique_ptr<asio_uring::stream_file>> files;
    for (std::size_t i = 0; i < count; ++i)
    {
      pipes.push_back(std::make_unique<asio_uring_test::pipe_pair>());
      files.push_back(std::make_unique<asio_uring::stream_file>(ctx,
          pipes.back()->release_read()));
      files.back()->async_read_some(net::buffer(bufs[i]),
          [&, i](boost::system::error_code ec, std::size_t) {
            ++calls[i];
            if (ec == net::error::operation_aborted)
              ++aborted;
          });
    }
    ctx.poll();  // every read is now blocked in the kernel
    for (auto& f : files)
      f->close();
    ctx.run_for(30s);
  }
  BOOST_TEST(std::count(calls.begin(), calls.end(), 1) == long(count));
  BOOST_TEST(aborted == count);
}

BOOST_AUTO_TEST_SUITE_END()
