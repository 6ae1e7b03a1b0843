//
// file_base.hpp
// ~~~~~~~~~~~~~
//
// Flags and seek bases for files, with Boost.Asio's names and values.
//
#pragma once

#include <fcntl.h>
#include <unistd.h>

namespace asio_uring {

/// The file_base class is used as a base for the basic_stream_file and
/// basic_random_access_file class templates so as to define common types.
/**
 * Names and values are Boost.Asio's (the POSIX open flags). asio_uring adds
 * #direct (O_DIRECT): reads and writes then bypass the page cache and need
 * buffers, offsets and sizes aligned to the device's logical block size.
 */
class file_base
{
public:
  /// A bitmask type (C++ Std [lib.bitmask.types]).
  enum flags
  {
    read_only = O_RDONLY,
    write_only = O_WRONLY,
    read_write = O_RDWR,
    append = O_APPEND,
    create = O_CREAT,
    exclusive = O_EXCL,
    truncate = O_TRUNC,
    sync_all_on_write = O_SYNC,
    /// asio_uring extension: open with O_DIRECT.
    direct = O_DIRECT
  };

  friend flags operator&(flags x, flags y)
  {
    return static_cast<flags>(
        static_cast<unsigned int>(x) & static_cast<unsigned int>(y));
  }

  friend flags operator|(flags x, flags y)
  {
    return static_cast<flags>(
        static_cast<unsigned int>(x) | static_cast<unsigned int>(y));
  }

  friend flags operator^(flags x, flags y)
  {
    return static_cast<flags>(
        static_cast<unsigned int>(x) ^ static_cast<unsigned int>(y));
  }

  friend flags operator~(flags x)
  {
    return static_cast<flags>(~static_cast<unsigned int>(x));
  }

  friend flags& operator&=(flags& x, flags y)
  {
    x = x & y;
    return x;
  }

  friend flags& operator|=(flags& x, flags y)
  {
    x = x | y;
    return x;
  }

  friend flags& operator^=(flags& x, flags y)
  {
    x = x ^ y;
    return x;
  }

  /// Basis for seeking in a file.
  enum seek_basis
  {
    seek_set = SEEK_SET,
    seek_cur = SEEK_CUR,
    seek_end = SEEK_END
  };

protected:
  /// Protected destructor to prevent deletion through this type.
  ~file_base() = default;
};

} // namespace asio_uring
