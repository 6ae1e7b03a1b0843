// The HTTP/1.1 request head as the http_server example reads it, and the
// responses it builds from it: the one implementation used by both
// example/net/http_server.cpp (all its builds) and the W3 raw liburing
// floor, benchmark/net/raw_http_server.cpp, so that their answers stay
// identical byte for byte.
//
// Plain C++20 with the standard library only: no Boost and no asio_uring,
// since the raw server links neither.
//
// What it accepts, quirks included (the servers depend on them):
// - the head ends at the first "\r\n\r\n"; until then it is incomplete;
// - the request line is "<method> <target> <version>" (split at the first
//   two spaces, the version being all that follows the second); the method
//   is kept as sent (compared case-sensitively by the servers);
// - the version is "HTTP/1.1" (keep-alive by default) or "HTTP/1.0"
//   (close by default); anything else, or fewer than two spaces, is bad;
// - header lines without a colon are skipped; names compare ASCII
//   case-insensitively; values lose surrounding blanks (and a stray CR);
// - "Connection: close" / "keep-alive" (any case) set keep-alive, other
//   values leave it; the last such header wins;
// - Content-Length is read with strtoull and not checked (garbage gives 0,
//   "-1" wraps); the last one wins.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <string>
#include <string_view>

namespace http_head {

// A buffer holding this much without a complete head gets a 431.
inline constexpr std::size_t max_head_bytes = 64 * 1024;

// The fixed response (W3's workload), with and without "Connection: close".
// HEAD gets the body too.
inline constexpr std::string_view hello_keep_alive =
    "HTTP/1.1 200 OK\r\n"
    "Server: asio_uring-example\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 13\r\n"
    "\r\n"
    "Hello, World!";
inline constexpr std::string_view hello_close =
    "HTTP/1.1 200 OK\r\n"
    "Server: asio_uring-example\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 13\r\n"
    "Connection: close\r\n"
    "\r\n"
    "Hello, World!";

inline std::string_view hello_response(bool keep_alive)
{
  return keep_alive ? hello_keep_alive : hello_close;
}

// "HTTP/1.1 <code> <reason>", text/plain, with a "<code> <reason>\n" body;
// "Connection: close" when !keep_alive.
inline std::string status_response(
    int code, std::string_view reason, bool keep_alive)
{
  std::string status = std::to_string(code);
  status += ' ';
  status += reason;
  std::string r = "HTTP/1.1 ";
  r += status;
  r += "\r\nContent-Type: text/plain\r\nContent-Length: ";
  r += std::to_string(status.size() + 1);
  r += "\r\n";
  if (!keep_alive)
    r += "Connection: close\r\n";
  r += "\r\n";
  r += status;
  r += '\n';
  return r;
}

// One request head. The views point into the parsed buffer.
struct request
{
  std::string_view method;
  std::string_view target;
  bool keep_alive = true;
  std::size_t content_length = 0;
  std::size_t head_size = 0;  // request line + headers + blank line
};

enum class parse_result
{
  incomplete,  // no "\r\n\r\n" yet
  bad,         // request line or version not acceptable (answer 400)
  parsed,
};

// Case-insensitive for ASCII letters only (the C locale's tolower).
inline bool iequals(std::string_view a, std::string_view b)
{
  if (a.size() != b.size())
    return false;
  auto lower = [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  };
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i]))
      return false;
  return true;
}

// A header value without the blanks around it (and a trailing CR).
inline std::string_view trim(std::string_view s)
{
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty()
      && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Parses the request head at the start of data into r (reset first). On
// bad, only r.head_size is meaningful.
inline parse_result parse(std::string_view data, request& r)
{
  const std::size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos)
    return parse_result::incomplete;
  r = request{};
  r.head_size = end + 4;
  std::string_view head = data.substr(0, end);

  std::size_t eol = head.find("\r\n");
  const std::string_view line = head.substr(0, eol);
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 =
      sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos)
    return parse_result::bad;
  r.method = line.substr(0, sp1);
  r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (version == "HTTP/1.0")
    r.keep_alive = false;
  else if (version != "HTTP/1.1")
    return parse_result::bad;

  while (eol != std::string_view::npos)
  {
    head.remove_prefix(eol + 2);
    eol = head.find("\r\n");
    const std::string_view h = head.substr(0, eol);
    const std::size_t colon = h.find(':');
    if (colon == std::string_view::npos)
      continue;
    const std::string_view name = h.substr(0, colon);
    const std::string_view value = trim(h.substr(colon + 1));
    if (iequals(name, "connection"))
    {
      if (iequals(value, "close"))
        r.keep_alive = false;
      else if (iequals(value, "keep-alive"))
        r.keep_alive = true;
    }
    else if (iequals(name, "content-length"))
      r.content_length =
          std::strtoull(std::string(value).c_str(), nullptr, 10);
  }
  return parse_result::parsed;
}

} // namespace http_head
