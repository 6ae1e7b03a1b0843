// Real kernel faults on files: EFBIG past RLIMIT_FSIZE, ENOSPC on a small
// tmpfs (in a child process with its own mount namespace; skipped with a
// message where mounting is not allowed), EMFILE past RLIMIT_NOFILE, a file
// truncated underneath an open object, buffers larger than one transfer.
// Every failure must be the matching error_code (or system_error), composed
// operations report the bytes that did reach the file, and nothing hangs.
#include <asio_uring/io_context.hpp>
#include <asio_uring/random_access_file.hpp>
#include <asio_uring/stream_file.hpp>

#include "fault_hooks.hpp"
#include "test_util.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/read_at.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/write_at.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <csignal>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

namespace net = boost::asio;
using namespace std::chrono_literals;
using asio_uring_test::temp_file;

namespace {

const boost::system::error_code efbig(EFBIG, boost::system::system_category());
const boost::system::error_code enospc(ENOSPC, boost::system::system_category());
const boost::system::error_code emfile(EMFILE, boost::system::system_category());

struct outcome
{
  int calls = 0;
  boost::system::error_code ec;
  std::size_t n = 0;
};

auto record(outcome& o)
{
  return [&o](boost::system::error_code ec, std::size_t n) {
    o = {o.calls + 1, ec, n};
  };
}

// Lowers RLIMIT_FSIZE for a scope, with SIGXFSZ ignored (its default
// action would kill the process at the first write past the limit).
class file_size_limit
{
public:
  explicit file_size_limit(rlim_t bytes)
  {
    ::getrlimit(RLIMIT_FSIZE, &old_);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit r = old_;
    r.rlim_cur = bytes;
    ok_ = ::setrlimit(RLIMIT_FSIZE, &r) == 0;
  }
  ~file_size_limit()
  {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }
  bool ok() const noexcept { return ok_; }

private:
  rlimit old_{};
  void (*old_handler_)(int) = SIG_DFL;
  bool ok_ = false;
};

// Fills the descriptor table up to a lowered RLIMIT_NOFILE for a scope.
class descriptors_exhausted
{
public:
  descriptors_exhausted()
  {
    ::getrlimit(RLIMIT_NOFILE, &old_);
    int highest = ::dup(0);
    if (highest < 0)
      return;
    ::close(highest);
    rlimit r = old_;
    r.rlim_cur = static_cast<rlim_t>(highest) + 16;
    if (::setrlimit(RLIMIT_NOFILE, &r) != 0)
      return;
    for (;;)
    {
      int fd = ::dup(0);
      if (fd < 0)
      {
        ok_ = errno == EMFILE;
        break;
      }
      fds_.push_back(fd);
    }
  }
  ~descriptors_exhausted()
  {
    release_all();
    ::setrlimit(RLIMIT_NOFILE, &old_);
  }
  bool ok() const noexcept { return ok_; }
  void release_one()
  {
    if (!fds_.empty())
    {
      ::close(fds_.back());
      fds_.pop_back();
    }
  }
  void release_all()
  {
    for (int fd : fds_)
      ::close(fd);
    fds_.clear();
  }

private:
  rlimit old_{};
  std::vector<int> fds_;
  bool ok_ = false;
};

// Child side: enters a private mount namespace (as root, or through a user
// namespace) and mounts a tmpfs of size bytes on dir. Returns "" or why not.
std::string mount_small_tmpfs(const std::string& dir, std::size_t size)
{
  if (::unshare(CLONE_NEWNS) != 0)
  {
    const uid_t uid = ::getuid();
    const gid_t gid = ::getgid();
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
      return std::string("unshare: ") + std::strerror(errno);
    auto write_file = [](const char* path, const std::string& s) {
      int fd = ::open(path, O_WRONLY | O_CLOEXEC);
      if (fd < 0)
        return false;
      bool ok = ::write(fd, s.data(), s.size()) == ssize_t(s.size());
      ::close(fd);
      return ok;
    };
    write_file("/proc/self/setgroups", "deny");
    if (!write_file("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1")
        || !write_file("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1"))
      return "user namespace id maps refused";
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return std::string("making mounts private: ") + std::strerror(errno);
  const std::string opts = "size=" + std::to_string(size);
  if (::mount("asio_uring_test", dir.c_str(), "tmpfs", 0, opts.c_str()) != 0)
    return std::string("mount tmpfs: ") + std::strerror(errno);
  return "";
}

std::string make_temp_dir()
{
  const char* tmp = std::getenv("TMPDIR");
  std::string path = std::string(tmp && *tmp ? tmp : "/tmp")
      + "/asio_uring_enospc_XXXXXX";
  return ::mkdtemp(path.data()) ? path : std::string();
}

constexpr std::size_t tmpfs_size = 64 * 1024;

// Whether this machine lets a child mount a tmpfs (decorator precondition:
// the ENOSPC cases are reported as skipped, with the reason, otherwise).
boost::test_tools::assertion_result small_tmpfs_available(
    boost::unit_test::test_unit_id)
{
  const std::string dir = make_temp_dir();
  if (dir.empty())
    return boost::test_tools::assertion_result(false);
  auto r = asio_uring_test::run_in_child([&](int out) {
    std::string why = mount_small_tmpfs(dir, tmpfs_size);
    asio_uring_test::report(out, why);
    return why.empty() ? 0 : 1;
  });
  ::rmdir(dir.c_str());
  boost::test_tools::assertion_result result(r.exited && r.status == 0);
  if (!result)
    result.message() << "no small tmpfs for ENOSPC (" << r.output << ")";
  return result;
}

// Parses "key=value" lines from a child's report.
std::string field(const std::string& text, const std::string& key)
{
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.compare(0, key.size() + 1, key + "=") == 0)
      return line.substr(key.size() + 1);
  return "<missing>";
}

} // namespace

BOOST_AUTO_TEST_SUITE(file_faults)

// EFBIG --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(write_past_file_size_limit_ends_with_efbig_and_bytes_written)
{
  constexpr std::size_t limit = 64 * 1024, size = 100000;
  const auto data = asio_uring_test::random_bytes(size, 21);
  temp_file file;
  outcome stream_o, at_o;
  temp_file file2;
  {
    file_size_limit l(limit);
    BOOST_TEST_REQUIRE(l.ok());
    asio_uring::io_context ctx;
    asio_uring::stream_file f(ctx, file.path(),
        asio_uring::stream_file::write_only);
    net::async_write(f, net::buffer(data), record(stream_o));
    asio_uring::random_access_file g(ctx, file2.path(),
        asio_uring::random_access_file::write_only);
    net::async_write_at(g, 1000, net::buffer(data), record(at_o));
    ctx.run_for(20s);
  }
  // The write reaching the limit is cut short there; the next one fails.
  BOOST_TEST(stream_o.calls == 1);
  BOOST_TEST((stream_o.ec == efbig), stream_o.ec.message());
  BOOST_TEST(stream_o.n == limit);
  const auto written = file.contents();
  BOOST_TEST(written.size() == limit);
  BOOST_TEST(std::equal(written.begin(), written.end(), data.begin()));

  BOOST_TEST(at_o.calls == 1);
  BOOST_TEST((at_o.ec == efbig), at_o.ec.message());
  BOOST_TEST(at_o.n == limit - 1000);
  const auto written2 = file2.contents();
  BOOST_TEST(written2.size() == limit);
  BOOST_TEST(std::equal(written2.begin() + 1000, written2.end(), data.begin()));
}

BOOST_AUTO_TEST_CASE(write_some_at_limit_fails_with_efbig)
{
  constexpr std::size_t limit = 8192;
  temp_file file;
  const char byte = 'x';
  file_size_limit l(limit);
  BOOST_TEST_REQUIRE(l.ok());
  asio_uring::io_context ctx;
  asio_uring::random_access_file f(ctx, file.path(),
      asio_uring::random_access_file::write_only);
  outcome o;
  f.async_write_some_at(limit, net::buffer(&byte, 1), record(o));
  ctx.run_for(10s);
  BOOST_TEST(o.calls == 1);
  BOOST_TEST((o.ec == efbig), o.ec.message());
  BOOST_TEST(o.n == 0u);
  // The synchronous members report the same error, or throw it.
  boost::system::error_code ec;
  BOOST_TEST(f.write_some_at(limit, net::buffer(&byte, 1), ec) == 0u);
  BOOST_TEST((ec == efbig));
  try
  {
    f.write_some_at(limit, net::buffer(&byte, 1));
    BOOST_TEST(false, "no exception");
  }
  catch (const boost::system::system_error& e)
  {
    BOOST_TEST((e.code() == efbig));
  }
  // Below the limit the object is still fully usable.
  ec.clear();
  BOOST_TEST(f.write_some_at(0, net::buffer(&byte, 1), ec) == 1u);
  BOOST_TEST(!ec);
}

// ENOSPC -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(write_to_full_file_system_ends_with_enospc_and_recovers,
    *boost::unit_test::precondition(small_tmpfs_available))
{
  const std::string dir = make_temp_dir();
  BOOST_TEST_REQUIRE(!dir.empty());
  auto r = asio_uring_test::run_in_child([&](int out) {
    if (std::string why = mount_small_tmpfs(dir, tmpfs_size); !why.empty())
    {
      asio_uring_test::report(out, "mount=" + why + "\n");
      return 3;
    }
    const std::string path = dir + "/full";
    const auto data = asio_uring_test::random_bytes(4 * tmpfs_size, 22);
    std::ostringstream rep;
    {
      asio_uring::io_context ctx;
      asio_uring::stream_file f(ctx, path,
          asio_uring::stream_file::write_only | asio_uring::stream_file::create);
      outcome o;
      net::async_write(f, net::buffer(data), record(o));
      ctx.run_for(20s);
      rep << "calls=" << o.calls << "\nerror=" << o.ec.value()
          << "\nbytes=" << o.n << "\n";
      // What the handler says was written is on the file system.
      boost::system::error_code ec;
      const auto size = f.size(ec);
      std::vector<unsigned char> back(o.n);
      {
        asio_uring::random_access_file g(ctx, path,
            asio_uring::random_access_file::read_only);
        net::read_at(g, 0, net::buffer(back), ec);
      }
      rep << "size=" << size << "\nintact="
          << (std::equal(back.begin(), back.end(), data.begin()) && !ec)
          << "\n";
      // Space freed: the same object writes again.
      f.resize(0);
      outcome again;
      asio_uring::random_access_file h(ctx, path,
          asio_uring::random_access_file::write_only);
      net::async_write_at(h, 0, net::buffer(data.data(), 4096), record(again));
      ctx.restart();
      ctx.run_for(20s);
      rep << "again_calls=" << again.calls << "\nagain_error="
          << again.ec.value() << "\nagain_bytes=" << again.n << "\n";
    }
    asio_uring_test::report(out, rep.str());
    return 0;
  });
  ::rmdir(dir.c_str());
  BOOST_TEST_MESSAGE("child report:\n" << r.output);
  BOOST_TEST_REQUIRE(r.exited);
  BOOST_TEST_REQUIRE(r.status == 0);
  BOOST_TEST(field(r.output, "calls") == "1");
  BOOST_TEST(field(r.output, "error") == std::to_string(ENOSPC));
  const std::size_t n = std::stoul(field(r.output, "bytes"));
  BOOST_TEST(n > 0u);
  BOOST_TEST(n <= tmpfs_size);
  BOOST_TEST(field(r.output, "size") == std::to_string(n));
  BOOST_TEST(field(r.output, "intact") == "1");
  BOOST_TEST(field(r.output, "again_calls") == "1");
  BOOST_TEST(field(r.output, "again_error") == "0");
  BOOST_TEST(field(r.output, "again_bytes") == "4096");
}

// EMFILE -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(open_without_free_descriptor_fails_with_emfile)
{
  temp_file file(asio_uring_test::random_bytes(100, 23));
  asio_uring::io_context ctx;  // needs descriptors itself: made first
  asio_uring::stream_file f(ctx);
  // Results are only recorded while the table is full: Boost.Test's and
  // the sanitizers' runtimes may need a descriptor themselves.
  boost::system::error_code open_ec, throw_ec, ctx_ec, reopen_ec;
  std::string ctx_what;
  bool open_left_closed = false, threw = false, ctx_threw = false;
  bool exhausted = false;
  {
    descriptors_exhausted full;
    exhausted = full.ok();
    f.open(file.path(), asio_uring::stream_file::read_only, open_ec);
    open_left_closed = !f.is_open();
    try
    {
      asio_uring::random_access_file g(ctx, file.path(),
          asio_uring::random_access_file::read_only);
    }
    catch (const boost::system::system_error& e)
    {
      threw = true;
      throw_ec = e.code();
    }
    // A new context cannot get its ring: the message names the limit.
    try
    {
      asio_uring::io_context other;
    }
    catch (const boost::system::system_error& e)
    {
      ctx_threw = true;
      ctx_ec = e.code();
      ctx_what = e.what();
    }
    // Opening works again as soon as one descriptor frees up.
    full.release_one();
    f.open(file.path(), asio_uring::stream_file::read_only, reopen_ec);
  }
  BOOST_TEST_REQUIRE(exhausted);
  BOOST_TEST((open_ec == emfile), open_ec.message());
  BOOST_TEST(open_left_closed);
  BOOST_TEST(threw);
  BOOST_TEST((throw_ec == emfile), throw_ec.message());
  BOOST_TEST(ctx_threw);
  BOOST_TEST((ctx_ec == emfile), ctx_ec.message());
  BOOST_TEST(ctx_what.find("RLIMIT_NOFILE") != std::string::npos, ctx_what);
  BOOST_TEST(!reopen_ec, reopen_ec.message());
  // The existing context still works.
  char buf[100];
  outcome o;
  net::async_read(f, net::buffer(buf), record(o));
  ctx.run_for(10s);
  BOOST_TEST(o.calls == 1);
  BOOST_TEST(!o.ec);
  BOOST_TEST(o.n == 100u);
}

// Truncation ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(stream_read_after_truncation_reports_eof)
{
  const auto data = asio_uring_test::random_bytes(64 * 1024, 24);
  temp_file file(data);
  asio_uring::io_context ctx;
  asio_uring::stream_file f(ctx, file.path(), asio_uring::stream_file::read_only);
  std::vector<unsigned char> buf(16 * 1024);
  outcome first, second;
  net::async_read(f, net::buffer(buf), [&](boost::system::error_code ec,
                                           std::size_t n) {
    first = {1, ec, n};
    // Cut the file below the stream position.
    BOOST_TEST(::truncate(file.path().c_str(), 8 * 1024) == 0);
    f.async_read_some(net::buffer(buf), record(second));
  });
  ctx.run_for(10s);
  BOOST_TEST(!first.ec);
  BOOST_TEST(first.n == buf.size());
  BOOST_TEST(second.calls == 1);
  BOOST_TEST((second.ec == net::error::eof), second.ec.message());
  BOOST_TEST(second.n == 0u);
}

BOOST_AUTO_TEST_CASE(read_at_straddling_truncation_returns_bytes_left_then_eof)
{
  const auto data = asio_uring_test::random_bytes(64 * 1024, 25);
  temp_file file(data);
  BOOST_TEST_REQUIRE(::truncate(file.path().c_str(), 10000) == 0);
  asio_uring::io_context ctx;
  asio_uring::random_access_file f(ctx, file.path(),
      asio_uring::random_access_file::read_only);
  std::vector<unsigned char> a(8192), b(8192);
  outcome some, all;
  f.async_read_some_at(8192, net::buffer(a), record(some));
  net::async_read_at(f, 8192, net::buffer(b), record(all));
  ctx.run_for(10s);
  BOOST_TEST(!some.ec);
  BOOST_TEST(some.n == 10000u - 8192u);
  BOOST_TEST(std::equal(a.begin(), a.begin() + 1808, data.begin() + 8192));
  BOOST_TEST((all.ec == net::error::eof), all.ec.message());
  BOOST_TEST(all.n == 10000u - 8192u);
  BOOST_TEST(std::equal(b.begin(), b.begin() + 1808, data.begin() + 8192));
}

BOOST_AUTO_TEST_CASE(composed_read_truncated_midway_ends_with_eof_and_prefix)
{
  const auto data = asio_uring_test::random_bytes(64 * 1024, 26);
  temp_file file(data);
  asio_uring::io_context ctx;
  asio_uring::stream_file f(ctx, file.path(), asio_uring::stream_file::read_only);
  std::vector<unsigned char> buf(data.size());
  outcome o;
  constexpr std::size_t cut = 20000;
  // 4 KiB per step; the file shrinks once 16 KiB have been read.
  auto condition = [&](const boost::system::error_code& ec, std::size_t n)
      -> std::size_t {
    if (n == 16384)
      (void)::truncate(file.path().c_str(), cut);
    return ec ? 0 : 4096;
  };
  net::async_read(f, net::buffer(buf), condition, record(o));
  ctx.run_for(10s);
  BOOST_TEST(o.calls == 1);
  BOOST_TEST((o.ec == net::error::eof), o.ec.message());
  BOOST_TEST(o.n == cut);
  BOOST_TEST(std::equal(buf.begin(), buf.begin() + cut, data.begin()));
}

// The kernel does not order a read against a concurrent truncate: a read
// that saw the old size may copy pages the truncate already dropped, which
// read as zeros. So the bytes returned are the original ones or, from a page
// boundary on, zeros; anything else (the 0xEE fill included) is corruption.
BOOST_AUTO_TEST_CASE(reads_racing_repeated_truncation_return_original_bytes_or_zeros)
{
  constexpr std::size_t size = 1 << 20, reads = 2000;
  const auto data = asio_uring_test::random_bytes(size, 27);
  temp_file file(data);
  struct job
  {
    std::uint64_t offset;
    std::vector<unsigned char> buf;
    outcome o;
  };
  std::mt19937 gen(28);
  std::vector<job> jobs(reads);
  for (auto& j : jobs)
  {
    j.buf.assign(1 + gen() % 16384, 0xEE);  // bytes never written stand out
    j.offset = gen() % size;
  }
  std::atomic<bool> done{false};
  {
    asio_uring::io_context ctx;
    asio_uring::random_access_file f(ctx, file.path(),
        asio_uring::random_access_file::read_only);
    for (auto& j : jobs)
      net::async_read_at(f, j.offset, net::buffer(j.buf), record(j.o));
    // Shrinks the file step by step while the reads run.
    std::thread cutter([&] {
      for (std::size_t s = size; s > 0 && !done; s -= size / 64)
      {
        (void)::truncate(file.path().c_str(), static_cast<off_t>(s));
        std::this_thread::yield();
      }
    });
    ctx.run_for(30s);
    done = true;
    cutter.join();
  }
  std::size_t bad = 0, full = 0, cut_short = 0, zero_tail = 0;
  for (const auto& j : jobs)
  {
    std::size_t first = 0;  // the first byte that differs from the original
    while (first < j.o.n && j.buf[first] == data[j.offset + first])
      ++first;
    // Zeros, from a page the truncate dropped (its sizes are page-aligned).
    const bool zeros_after = std::all_of(
        j.buf.begin() + static_cast<long>(first),
        j.buf.begin() + static_cast<long>(j.o.n),
        [](unsigned char c) { return c == 0; })
        && (first == j.o.n || (j.offset + first) % 4096 == 0);
    if (j.o.calls != 1 || j.o.n > j.buf.size()
        || (j.o.ec && j.o.ec != net::error::eof)
        || (!j.o.ec && j.o.n != j.buf.size()) || !zeros_after)
    {
      if (++bad <= 3)
        BOOST_TEST_MESSAGE("offset " << j.offset << " size " << j.buf.size()
            << ": " << j.o.calls << " calls, " << j.o.ec.message() << ", "
            << j.o.n << " bytes, first difference at " << first);
    }
    else if (first < j.o.n)
      ++zero_tail;
    else if (j.o.ec)
      ++cut_short;
    else
      ++full;
  }
  BOOST_TEST_MESSAGE(full << " full reads, " << cut_short
      << " cut short by truncation, " << zero_tail
      << " with zeros where the truncate raced the copy");
  BOOST_TEST(bad == 0u);
}

// Bad input ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(read_into_buffer_larger_than_4gib_returns_bytes_not_eof)
{
  // A single read moves at most MAX_RW_COUNT bytes: a larger buffer must be
  // clamped, not truncated to 32 bits (4 GiB + 16 would become 16 bytes;
  // exactly 4 GiB would become 0, i.e. a false end of file).
  const auto data = asio_uring_test::random_bytes(100, 29);
  temp_file file(data);
  const std::size_t huge = (std::size_t(1) << 32);
  void* p = ::mmap(nullptr, huge + 4096, PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  BOOST_TEST_REQUIRE(p != MAP_FAILED);
  asio_uring::io_context ctx;
  asio_uring::random_access_file f(ctx, file.path(),
      asio_uring::random_access_file::read_only);
  outcome exact, more;
  f.async_read_some_at(0, net::buffer(p, huge), record(exact));
  ctx.run_for(10s);
  ctx.restart();
  f.async_read_some_at(0, net::buffer(p, huge + 16), record(more));
  ctx.run_for(10s);
  BOOST_TEST(!exact.ec, exact.ec.message());
  BOOST_TEST(exact.n == 100u);
  BOOST_TEST(!more.ec, more.ec.message());
  BOOST_TEST(more.n == 100u);
  BOOST_TEST(std::memcmp(p, data.data(), 100) == 0);
  ::munmap(p, huge + 4096);
}

BOOST_AUTO_TEST_CASE(wrong_open_mode_fails_with_bad_descriptor)
{
  temp_file file(asio_uring_test::random_bytes(100, 30));
  asio_uring::io_context ctx;
  asio_uring::stream_file ro(ctx, file.path(), asio_uring::stream_file::read_only);
  asio_uring::stream_file wo(ctx, file.path(), asio_uring::stream_file::write_only);
  char buf[10] = {};
  outcome w, r;
  ro.async_write_some(net::buffer(buf), record(w));
  wo.async_read_some(net::buffer(buf), record(r));
  ctx.run_for(10s);
  const boost::system::error_code ebadf(EBADF, boost::system::system_category());
  BOOST_TEST(w.calls == 1);
  BOOST_TEST((w.ec == ebadf), w.ec.message());
  BOOST_TEST(r.calls == 1);
  BOOST_TEST((r.ec == ebadf), r.ec.message());
  BOOST_TEST((file.contents() == asio_uring_test::random_bytes(100, 30)));
}

BOOST_AUTO_TEST_SUITE_END()
