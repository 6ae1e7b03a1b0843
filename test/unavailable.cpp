// io_uring unavailable: a child process installs a seccomp filter (with
// PR_SET_NO_NEW_PRIVS and a hand-written BPF program, as container runtimes
// do; no libseccomp) that makes io_uring_setup fail, then checks that
// is_supported() says no and that the context's constructor throws a
// system_error naming the cause and the fix. A filter on io_uring_enter
// must make run() throw, and the context's destruction must not hang.
#include <asio_uring/io_context.hpp>
#include <asio_uring/random_access_file.hpp>

#include "fault_hooks.hpp"
#include "test_util.hpp"

#include <boost/asio/error.hpp>

#include <boost/asio/post.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

using namespace std::chrono_literals;
using asio_uring_test::temp_file;

namespace {

#if defined(__x86_64__)
constexpr std::uint32_t native_arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr std::uint32_t native_arch = AUDIT_ARCH_AARCH64;
#elif defined(__riscv) && __riscv_xlen == 64
constexpr std::uint32_t native_arch = AUDIT_ARCH_RISCV64;
#else
#error "unavailable.cpp: add this architecture's AUDIT_ARCH_ value"
#endif

// Makes syscall nr fail with err in this process (and its threads created
// later). Returns 0 or errno.
int deny_syscall(long nr, int err)
{
  sock_filter filter[] = {
      // Another ABI's system call numbers mean other calls: allow them.
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, native_arch, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<std::uint32_t>(nr), 0, 1),
      BPF_STMT(BPF_RET | BPF_K,
          SECCOMP_RET_ERRNO | (static_cast<std::uint32_t>(err) & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(std::size(filter)), filter};
  // Unprivileged filters need no_new_privs.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return errno;
  if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
    return errno;
  return 0;
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

// In a child with io_uring_setup denied with err: what is_supported() and
// the constructors (default options, SQPOLL, single issuer) report.
asio_uring_test::child_result setup_denied_report(int err)
{
  return asio_uring_test::run_in_child([err](int out) {
    if (int r = deny_syscall(__NR_io_uring_setup, err); r != 0)
    {
      asio_uring_test::report(out, "filter=" + std::to_string(r) + "\n");
      return 3;
    }
    std::ostringstream rep;
    rep << "filter=0\n";
    boost::system::error_code ec;
    rep << "supported=" << asio_uring::is_supported(ec) << "\n";
    rep << "supported_plain=" << asio_uring::is_supported() << "\n";
    rep << "supported_ec=" << ec.value() << "\n";
    auto attempt = [&](const char* name, const asio_uring::ring_options& o) {
      try
      {
        asio_uring::io_context ctx(o);
        rep << name << "_threw=0\n";
      }
      catch (const boost::system::system_error& e)
      {
        rep << name << "_threw=1\n" << name << "_code=" << e.code().value()
            << "\n" << name << "_category=" << e.code().category().name()
            << "\n" << name << "_what=" << e.what() << "\n";
      }
    };
    attempt("default", asio_uring::ring_options());
    asio_uring::ring_options sqpoll;
    sqpoll.sqpoll = true;
    attempt("sqpoll", sqpoll);
    asio_uring::ring_options single;
    single.single_issuer = true;
    attempt("single", single);
    asio_uring_test::report(out, rep.str());
    return 0;
  }, 30s);
}

bool contains(const std::string& s, const char* part)
{
  return s.find(part) != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_SUITE(unavailable)

BOOST_AUTO_TEST_CASE(is_supported_here_without_a_filter)
{
  // The control for the cases below: the filter is what makes the difference.
  boost::system::error_code ec = boost::asio::error::fault;
  BOOST_TEST(asio_uring::is_supported(ec));
  BOOST_TEST(!ec);
  BOOST_TEST(asio_uring::is_supported());
}

BOOST_AUTO_TEST_CASE(seccomp_enosys_makes_constructor_throw_naming_cause_and_fix)
{
  auto r = setup_denied_report(ENOSYS);
  BOOST_TEST_MESSAGE("child report:\n" << r.output);
  BOOST_TEST_REQUIRE(r.exited);
  BOOST_TEST_REQUIRE(r.status == 0);
  BOOST_TEST(field(r.output, "supported") == "0");
  BOOST_TEST(field(r.output, "supported_plain") == "0");
  BOOST_TEST(field(r.output, "supported_ec") == std::to_string(ENOSYS));
  for (const char* name : {"default", "sqpoll", "single"})
  {
    BOOST_TEST_CONTEXT(name)
    {
      const std::string p(name);
      BOOST_TEST(field(r.output, p + "_threw") == "1");
      BOOST_TEST(field(r.output, p + "_code") == std::to_string(ENOSYS));
      BOOST_TEST(field(r.output, p + "_category") == "system");
      const std::string what = field(r.output, p + "_what");
      BOOST_TEST(contains(what, "io_uring_setup"), what);
      BOOST_TEST(contains(what, "seccomp"), what);
      BOOST_TEST(contains(what, "Fix"), what);
    }
  }
}

BOOST_AUTO_TEST_CASE(seccomp_eperm_makes_constructor_throw_naming_sysctl)
{
  // What kernel.io_uring_disabled (6.6) or a filter returning EPERM gives.
  auto r = setup_denied_report(EPERM);
  BOOST_TEST_MESSAGE("child report:\n" << r.output);
  BOOST_TEST_REQUIRE(r.exited);
  BOOST_TEST_REQUIRE(r.status == 0);
  BOOST_TEST(field(r.output, "supported") == "0");
  BOOST_TEST(field(r.output, "supported_ec") == std::to_string(EPERM));
  BOOST_TEST(field(r.output, "default_threw") == "1");
  BOOST_TEST(field(r.output, "default_code") == std::to_string(EPERM));
  const std::string what = field(r.output, "default_what");
  BOOST_TEST(contains(what, "io_uring_disabled"), what);
  // Docker's default seccomp profile answers EPERM, not ENOSYS.
  BOOST_TEST(contains(what, "seccomp"), what);
  BOOST_TEST(contains(what, "Fix"), what);
}

BOOST_AUTO_TEST_CASE(seccomp_on_enter_makes_run_throw_and_destruction_finish)
{
  // The ring exists but can never be entered: run() must report it rather
  // than spin, and destroying the context must not wait forever for
  // completions that cannot come.
  temp_file file(asio_uring_test::random_bytes(4096, 31));
  auto r = asio_uring_test::run_in_child([&](int out) {
    std::ostringstream rep;
    {
      asio_uring::io_context ctx;
      asio_uring::random_access_file f(ctx, file.path(),
          asio_uring::random_access_file::read_only);
      char buf[64];
      int calls = 0;
      if (int e = deny_syscall(__NR_io_uring_enter, ENOSYS); e != 0)
      {
        asio_uring_test::report(out, "filter=" + std::to_string(e) + "\n");
        return 3;
      }
      f.async_read_some_at(0, boost::asio::buffer(buf),
          [&](boost::system::error_code, std::size_t) { ++calls; });
      try
      {
        ctx.run_for(5s);
        rep << "threw=0\n";
      }
      catch (const boost::system::system_error& e)
      {
        rep << "threw=1\ncode=" << e.code().value() << "\nwhat=" << e.what()
            << "\n";
      }
      rep << "calls=" << calls << "\n";
    }
    rep << "destroyed=1\n";
    asio_uring_test::report(out, rep.str());
    return 0;
  }, 30s);
  BOOST_TEST_MESSAGE("child report:\n" << r.output);
  BOOST_TEST_REQUIRE(!r.timed_out);
  BOOST_TEST_REQUIRE(r.exited);
  BOOST_TEST_REQUIRE(r.status == 0);
  BOOST_TEST(field(r.output, "threw") == "1");
  BOOST_TEST(field(r.output, "code") == std::to_string(ENOSYS));
  BOOST_TEST(contains(field(r.output, "what"), "io_uring_enter"));
  BOOST_TEST(field(r.output, "calls") == "0");
  BOOST_TEST(field(r.output, "destroyed") == "1");
}

BOOST_AUTO_TEST_SUITE_END()
