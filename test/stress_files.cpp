// Bounded file stress with every byte verified. Each round puts 1,000
// concurrent reads and writes at random offsets and sizes over 16 files of
// random sizes (operations in one round touch disjoint ranges, so every
// result is predictable), checks each result against an in-memory model,
// then re-reads all 16 files through stream_files and compares every byte.
// Rounds rotate through ring configurations: default, tiny ring (SQ 2 /
// CQ 4), two threads running the loop, transparent faults injected at
// random (EINTR, EAGAIN, EBUSY, SQ full, short counts, delayed
// completions), SQPOLL and single issuer.
//
// The ctest run is bounded: at most 150 rounds and about 20 seconds. Soak
// mode, by hand: ASIO_URING_SOAK_SECONDS=600 ./test_stress_files
#include <asio_uring/io_context.hpp>
#include <asio_uring/random_access_file.hpp>
#include <asio_uring/stream_file.hpp>

#include "fault_hooks.hpp"
#include "test_util.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/read_at.hpp>
#include <boost/asio/write_at.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t file_count = 16;
constexpr std::size_t ops_per_round = 1000;
constexpr std::size_t min_file_size = 64 * 1024;
constexpr std::size_t max_file_size = 1024 * 1024;
constexpr std::size_t max_op_size = 64 * 1024;

enum class config
{
  plain,
  tiny_ring,
  two_threads,
  faults,
  tiny_faults_two_threads,
  sqpoll,
  single_issuer,
  count
};

const char* name_of(config c)
{
  switch (c)
  {
  case config::plain: return "default ring";
  case config::tiny_ring: return "tiny ring";
  case config::two_threads: return "two threads";
  case config::faults: return "random faults";
  case config::tiny_faults_two_threads: return "tiny ring, faults, two threads";
  case config::sqpoll: return "SQPOLL";
  case config::single_issuer: return "single issuer";
  default: return "?";
  }
}

struct op
{
  std::size_t file;
  std::uint64_t offset;
  std::size_t size;
  bool write;
  std::vector<unsigned char> buf;  // data to write, or room to read into
  std::atomic<int> calls{0};
  boost::system::error_code ec;
  std::size_t n = 0;
};

struct totals
{
  std::size_t rounds = 0;
  std::size_t operations = 0;
  std::size_t bytes_verified = 0;
  std::size_t bytes_written = 0;
  std::size_t faults = 0;
  std::size_t lost = 0;        // handler never ran
  std::size_t duplicated = 0;  // handler ran more than once
  std::size_t failed = 0;      // error, wrong count
  std::size_t corrupted = 0;   // bytes differ from the model
};

// Splits [0, size) into random disjoint ranges of at most max_op_size.
std::vector<std::pair<std::uint64_t, std::size_t>> split(std::size_t size,
    std::mt19937_64& gen)
{
  std::vector<std::pair<std::uint64_t, std::size_t>> out;
  std::uint64_t at = 0;
  while (at < size)
  {
    std::uint64_t gap = gen() % 4096;  // some bytes nobody touches
    at += gap;
    if (at >= size)
      break;
    // Mostly up to 16 KiB, one in eight up to 64 KiB.
    std::size_t len = 1 + gen() % (gen() % 8 ? 16 * 1024 : max_op_size);
    len = std::min<std::size_t>(len, size - at);
    out.emplace_back(at, len);
    at += len;
  }
  return out;
}

class stress
{
public:
  stress(std::uint64_t seed) : gen_(seed)
  {
    for (std::size_t i = 0; i < file_count; ++i)
    {
      std::size_t size = min_file_size + gen_() % (max_file_size - min_file_size);
      model_.push_back(asio_uring_test::random_bytes(size,
          static_cast<std::uint32_t>(gen_())));
      files_.push_back(std::make_unique<asio_uring_test::temp_file>(model_.back()));
    }
  }

  void round(config c, totals& t)
  {
    asio_uring::ring_options opts;
    if (c == config::tiny_ring || c == config::tiny_faults_two_threads)
    {
      opts.entries = 2;
      opts.cq_entries = 4;
    }
    opts.sqpoll = c == config::sqpoll;
    opts.single_issuer = c == config::single_issuer;
    const bool two_threads =
        c == config::two_threads || c == config::tiny_faults_two_threads;
    const bool faults = c == config::faults || c == config::tiny_faults_two_threads;

    std::vector<std::unique_ptr<op>> ops = plan();
    std::optional<asio_uring_test::random_fault_hooks> hooks;
    if (faults)
      hooks.emplace(static_cast<std::uint32_t>(gen_()), 8);
    {
      asio_uring::io_context ctx(opts, two_threads ? 2 : 1);
      if (hooks)
        ctx.impl().ring().set_fault_hooks(&*hooks);
      std::vector<asio_uring::random_access_file> rf;
      rf.reserve(file_count);
      for (auto& f : files_)
        rf.emplace_back(ctx, f->path(), asio_uring::random_access_file::read_write);
      for (auto& o : ops)
      {
        auto done = [p = o.get()](boost::system::error_code ec, std::size_t n) {
          p->ec = ec;
          p->n = n;
          ++p->calls;
        };
        if (o->write)
          net::async_write_at(rf[o->file], o->offset, net::buffer(o->buf), done);
        else
          net::async_read_at(rf[o->file], o->offset, net::buffer(o->buf), done);
      }
      std::thread other;
      if (two_threads)
        other = std::thread([&] { ctx.run_for(60s); });
      ctx.run_for(60s);
      if (other.joinable())
        other.join();
      ctx.impl().ring().set_fault_hooks(nullptr);
    }
    if (hooks)
      t.faults += hooks->total();

    // Each result against the model as it was when the round started.
    for (auto& o : ops)
    {
      ++t.operations;
      if (o->calls == 0)
        ++t.lost;
      else if (o->calls > 1)
        ++t.duplicated;
      else if (o->ec || o->n != o->size)
        ++t.failed;
      else if (!o->write)
      {
        const auto& m = model_[o->file];
        if (!std::equal(o->buf.begin(), o->buf.end(),
                m.begin() + static_cast<long>(o->offset)))
          ++t.corrupted;
        else
          t.bytes_verified += o->size;
      }
      else
        t.bytes_written += o->size;
    }
    // The writes change the model; then every byte of every file is read
    // back through stream_files (16 sequential reads at once) and compared.
    for (auto& o : ops)
      if (o->write)
        std::copy(o->buf.begin(), o->buf.end(),
            model_[o->file].begin() + static_cast<long>(o->offset));
    verify_all(t);
    ++t.rounds;
  }

private:
  // ops_per_round operations on disjoint ranges, half of them writes.
  std::vector<std::unique_ptr<op>> plan()
  {
    std::vector<std::pair<std::size_t, std::pair<std::uint64_t, std::size_t>>>
        ranges;
    for (std::size_t f = 0; f < file_count; ++f)
      for (auto r : split(model_[f].size(), gen_))
        ranges.emplace_back(f, r);
    std::shuffle(ranges.begin(), ranges.end(), gen_);
    if (ranges.size() > ops_per_round)
      ranges.resize(ops_per_round);
    std::vector<std::unique_ptr<op>> ops;
    for (auto& [f, r] : ranges)
    {
      auto o = std::make_unique<op>();
      o->file = f;
      o->offset = r.first;
      o->size = r.second;
      o->write = gen_() % 2;
      o->buf = o->write ? asio_uring_test::random_bytes(o->size,
                              static_cast<std::uint32_t>(gen_()))
                        : std::vector<unsigned char>(o->size);
      ops.push_back(std::move(o));
    }
    // The ranges cover less than 1,000 operations only for tiny files:
    // top up with reads anywhere (reads may overlap each other).
    while (ops.size() < ops_per_round)
    {
      auto o = std::make_unique<op>();
      o->file = gen_() % file_count;
      o->size = 1 + gen_() % 4096;
      o->offset = gen_() % (model_[o->file].size() - o->size);
      o->write = false;
      bool overlaps_write = false;
      for (auto& w : ops)
        if (w->write && w->file == o->file && w->offset < o->offset + o->size
            && o->offset < w->offset + w->size)
        {
          overlaps_write = true;
          break;
        }
      if (overlaps_write)
        continue;
      o->buf.resize(o->size);
      ops.push_back(std::move(o));
    }
    return ops;
  }

  void verify_all(totals& t)
  {
    asio_uring::io_context ctx;
    std::vector<asio_uring::stream_file> sf;
    sf.reserve(file_count);  // composed reads hold references to the files
    std::vector<std::vector<unsigned char>> back(file_count);
    std::vector<int> calls(file_count, 0);
    std::vector<boost::system::error_code> ecs(file_count);
    for (std::size_t i = 0; i < file_count; ++i)
    {
      sf.emplace_back(ctx, files_[i]->path(), asio_uring::stream_file::read_only);
      back[i].resize(model_[i].size() + 1);  // one more: must meet eof
      net::async_read(sf[i], net::buffer(back[i]),
          [&, i](boost::system::error_code ec, std::size_t n) {
            ++calls[i];
            ecs[i] = ec;
            back[i].resize(n);
          });
    }
    ctx.run_for(60s);
    for (std::size_t i = 0; i < file_count; ++i)
    {
      if (calls[i] != 1)
        ++(calls[i] == 0 ? t.lost : t.duplicated);
      else if (ecs[i] != net::error::eof)
        ++t.failed;
      else if (back[i] != model_[i])
        ++t.corrupted;
      else
        t.bytes_verified += back[i].size();
    }
  }

  std::mt19937_64 gen_;
  std::vector<std::vector<unsigned char>> model_;
  std::vector<std::unique_ptr<asio_uring_test::temp_file>> files_;
};

} // namespace

BOOST_AUTO_TEST_SUITE(stress_files)

BOOST_AUTO_TEST_CASE(thousand_concurrent_operations_over_16_files_verify_every_byte)
{
  std::size_t max_rounds = 150;
  auto budget = std::chrono::seconds(20);
  if (const char* soak = std::getenv("ASIO_URING_SOAK_SECONDS"))
  {
    budget = std::chrono::seconds(std::strtoul(soak, nullptr, 10));
    max_rounds = static_cast<std::size_t>(-1);
  }
  const std::uint64_t seed = std::random_device()();
  BOOST_TEST_MESSAGE("seed " << seed);
  stress s(seed);
  totals t;
  const auto start = std::chrono::steady_clock::now();
  std::size_t per_config[static_cast<int>(config::count)] = {};
  // At least one round of every configuration, then until the budget ends.
  while (t.rounds < max_rounds
      && (t.rounds < static_cast<std::size_t>(config::count)
          || std::chrono::steady_clock::now() - start < budget))
  {
    const config c = static_cast<config>(t.rounds % static_cast<int>(config::count));
    BOOST_TEST_CONTEXT("round " << t.rounds << " (" << name_of(c) << "), seed "
        << seed)
    {
      const totals before = t;
      s.round(c, t);
      BOOST_TEST(t.lost == before.lost);
      BOOST_TEST(t.duplicated == before.duplicated);
      BOOST_TEST(t.failed == before.failed);
      BOOST_TEST(t.corrupted == before.corrupted);
      if (t.lost + t.duplicated + t.failed + t.corrupted > 0)
        break;  // the first failing round says enough
    }
    ++per_config[static_cast<int>(c)];
  }
  const double secs = std::chrono::duration<double>(
      std::chrono::steady_clock::now() - start).count();
  std::printf("stress_files: %zu rounds in %.1f s, %zu operations (%zu bytes "
              "written), %zu bytes verified, %zu faults injected; lost %zu, "
              "duplicated %zu, failed %zu, corrupted %zu\n",
      t.rounds, secs, t.operations, t.bytes_written, t.bytes_verified,
      t.faults, t.lost, t.duplicated, t.failed, t.corrupted);
  BOOST_TEST(t.rounds >= static_cast<std::size_t>(config::count));
  BOOST_TEST(t.faults > 0u);
  BOOST_TEST(t.bytes_verified > 0u);
}

BOOST_AUTO_TEST_SUITE_END()
