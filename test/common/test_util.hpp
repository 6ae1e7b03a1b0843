// Helpers shared by the test programs.
#pragma once

#include <boost/asio/cancellation_type.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace asio_uring_test {

// "terminal", "partial", "total", "none" (or "mixed"), for test contexts.
inline const char* name_of(boost::asio::cancellation_type t)
{
  using ct = boost::asio::cancellation_type;
  switch (t)
  {
  case ct::terminal: return "terminal";
  case ct::partial: return "partial";
  case ct::total: return "total";
  case ct::none: return "none";
  default: return "mixed";
  }
}

// A file under $TMPDIR (or /tmp) removed when the object dies.
class temp_file
{
public:
  explicit temp_file(const std::vector<unsigned char>& contents = {})
  {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir && *dir ? dir : "/tmp") + "/asio_uring_test_XXXXXX";
    int fd = ::mkstemp(path_.data());
    if (fd < 0)
      throw std::runtime_error("mkstemp failed");
    std::size_t off = 0;
    while (off < contents.size())
    {
      ssize_t n = ::write(fd, contents.data() + off, contents.size() - off);
      if (n <= 0)
      {
        ::close(fd);
        throw std::runtime_error("write failed");
      }
      off += static_cast<std::size_t>(n);
    }
    ::close(fd);
  }

  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  ~temp_file() { ::unlink(path_.c_str()); }

  const std::string& path() const noexcept { return path_; }

  // The file's current contents.
  std::vector<unsigned char> contents() const
  {
    std::vector<unsigned char> out;
    int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      throw std::runtime_error("open failed");
    unsigned char buf[65536];
    for (;;)
    {
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n <= 0)
        break;
      out.insert(out.end(), buf, buf + n);
    }
    ::close(fd);
    return out;
  }

private:
  std::string path_;
};

// A fresh directory under $TMPDIR (or /tmp), removed with its contents
// when the object dies.
class temp_dir
{
public:
  temp_dir()
  {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir && *dir ? dir : "/tmp") + "/asio_uring_test_XXXXXX";
    if (!::mkdtemp(path_.data()))
      throw std::runtime_error("mkdtemp failed");
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() { std::filesystem::remove_all(path_); }

  // The path of name inside the directory.
  std::string file(const char* name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

// Deterministic pseudo-random bytes.
inline std::vector<unsigned char> random_bytes(std::size_t n,
    std::uint32_t seed = 12345)
{
  std::vector<unsigned char> v(n);
  std::mt19937 gen(seed);
  for (auto& b : v)
    b = static_cast<unsigned char>(gen());
  return v;
}

} // namespace asio_uring_test
