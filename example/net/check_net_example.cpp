// Drives one network example as a test: starts it on a kernel-chosen port,
// exercises it with plain blocking POSIX sockets (independent of the
// library under test), then stops it with SIGTERM and expects a clean exit.
//
//   check_net_example echo|chat|http|beast <server-binary>
//
// Exit status 0 when every check passed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace {

int failures = 0;

void check(bool ok, const std::string& what)
{
  if (!ok)
  {
    ++failures;
    std::fprintf(stderr, "FAILED: %s\n", what.c_str());
  }
}

// A server child process whose first stdout line is "listening on PORT".
class server_process
{
public:
  explicit server_process(std::vector<std::string> args)
  {
    int out[2];
    if (::pipe(out) != 0)
      throw std::runtime_error("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ) != 0)
      throw std::runtime_error("cannot start " + args[0]);
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    std::string line;
    char c;
    pollfd p{out[0], POLLIN, 0};
    while (::poll(&p, 1, 20000) > 0 && ::read(out[0], &c, 1) == 1 && c != '\n')
      line += c;
    ::close(out[0]);
    if (std::sscanf(line.c_str(), "listening on %hu", &port_) != 1)
      throw std::runtime_error("server did not report its port: '" + line + "'");
  }

  ~server_process()
  {
    if (pid_ > 0)
    {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  unsigned short port() const { return port_; }

  // SIGTERM, then the exit status (-1 if it had to be killed).
  int stop()
  {
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i)
    {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_)
      {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      ::usleep(50000);
    }
    return -1;
  }

private:
  pid_t pid_ = -1;
  unsigned short port_ = 0;
};

int connect_to(unsigned short port)
{
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0)
    throw std::runtime_error("connect failed");
  timeval tv{20, 0};  // hang guard
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

void send_all(int fd, const std::string& s)
{
  std::size_t off = 0;
  while (off < s.size())
  {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0)
      throw std::runtime_error("send failed");
    off += static_cast<std::size_t>(n);
  }
}

// Reads exactly n bytes (fewer at EOF).
std::string recv_n(int fd, std::size_t n)
{
  std::string s;
  char buf[65536];
  while (s.size() < n)
  {
    ssize_t r = ::recv(fd, buf, std::min(sizeof(buf), n - s.size()), 0);
    if (r <= 0)
      break;
    s.append(buf, static_cast<std::size_t>(r));
  }
  return s;
}

// Whether the peer closes (EOF) without sending more.
bool at_eof(int fd)
{
  char c;
  return ::recv(fd, &c, 1, 0) == 0;
}

struct http_response
{
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// Reads one response (Content-Length framing); leftover stays in carry.
http_response read_response(int fd, std::string& carry, bool head = false)
{
  http_response r;
  char buf[65536];
  std::size_t end;
  while ((end = carry.find("\r\n\r\n")) == std::string::npos)
  {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
      return r;
    carry.append(buf, static_cast<std::size_t>(n));
  }
  std::string head_text = carry.substr(0, end);
  carry.erase(0, end + 4);
  std::sscanf(head_text.c_str(), "HTTP/1.%*d %d", &r.status);
  std::size_t pos = head_text.find("\r\n");
  while (pos != std::string::npos)
  {
    std::size_t next = head_text.find("\r\n", pos + 2);
    std::string line = head_text.substr(pos + 2,
        next == std::string::npos ? std::string::npos : next - pos - 2);
    std::size_t colon = line.find(':');
    if (colon != std::string::npos)
    {
      std::string name = line.substr(0, colon);
      for (auto& ch : name)
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ')
        value.erase(0, 1);
      r.headers[name] = value;
    }
    pos = next;
  }
  std::size_t len = head ? 0 : std::strtoull(r.headers["content-length"].c_str(), nullptr, 10);
  while (carry.size() < len)
  {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
      break;
    carry.append(buf, static_cast<std::size_t>(n));
  }
  r.body = carry.substr(0, len);
  carry.erase(0, len);
  return r;
}

std::string get(const std::string& target, const char* extra = "")
{
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

void check_echo(const std::string& binary)
{
  server_process server({binary, "0"});
  std::mt19937 gen(42);
  std::vector<int> fds;
  for (int i = 0; i < 20; ++i)
    fds.push_back(connect_to(server.port()));
  for (std::size_t i = 0; i < fds.size(); ++i)
  {
    std::string data(100000 + i * 1000, '\0');
    for (auto& c : data)
      c = static_cast<char>(gen());
    // Interleave sending and receiving so neither side's buffers fill.
    std::string got;
    for (std::size_t off = 0; off < data.size(); off += 16384)
    {
      std::string chunk = data.substr(off, 16384);
      send_all(fds[i], chunk);
      got += recv_n(fds[i], chunk.size());
    }
    check(got == data, "echo connection " + std::to_string(i) + " echoed every byte");
  }
  for (int fd : fds)
  {
    ::shutdown(fd, SHUT_WR);
    check(at_eof(fd), "echo server closes after client EOF");
    ::close(fd);
  }
  check(server.stop() == 0, "echo server exits cleanly on SIGTERM");
}

void check_chat(const std::string& binary)
{
  server_process server({binary, "0"});
  constexpr int clients = 3, lines_each = 2;
  std::vector<int> fds(clients, -1);
  std::vector<std::string> carry(clients);
  auto read_line = [&](int i) {
    std::string& c = carry[i];
    std::size_t nl;
    char buf[4096];
    while ((nl = c.find('\n')) == std::string::npos)
    {
      ssize_t n = ::recv(fds[i], buf, sizeof(buf), 0);
      if (n <= 0)
        return std::string("<eof>");
      c.append(buf, static_cast<std::size_t>(n));
    }
    std::string line = c.substr(0, nl + 1);
    c.erase(0, nl + 1);
    return line;
  };
  // Clients join one at a time: a client's own hello coming back proves it
  // has joined, and every earlier client must see it too.
  for (int i = 0; i < clients; ++i)
  {
    fds[i] = connect_to(server.port());
    send_all(fds[i], "hello from " + std::to_string(i) + "\n");
    for (int j = 0; j <= i; ++j)
      check(read_line(j) == "hello from " + std::to_string(i) + "\n",
          "client " + std::to_string(j) + " sees hello " + std::to_string(i));
  }
  for (int k = 0; k < lines_each; ++k)
    for (int i = 0; i < clients; ++i)
      send_all(fds[i], "line " + std::to_string(k) + " of " + std::to_string(i) + "\n");
  for (int j = 0; j < clients; ++j)
  {
    std::map<int, int> next;  // per sender, lines arrive in order
    for (int n = 0; n < clients * lines_each; ++n)
    {
      std::string line = read_line(j);
      int k = -1, i = -1;
      if (std::sscanf(line.c_str(), "line %d of %d", &k, &i) != 2)
      {
        check(false, "chat line well formed: " + line);
        continue;
      }
      check(k == next[i]++, "chat lines from one sender arrive in order");
    }
  }
  for (int fd : fds)
    ::close(fd);
  check(server.stop() == 0, "chat server exits cleanly on SIGTERM");
}

void check_http_fixed(const std::string& binary)
{
  server_process server({binary, "0"});
  int fd = connect_to(server.port());
  std::string carry;
  for (int i = 0; i < 100; ++i)
  {
    send_all(fd, get("/"));
    http_response r = read_response(fd, carry);
    check(r.status == 200 && r.body == "Hello, World!", "keep-alive request " + std::to_string(i));
  }
  std::string pipelined;
  for (int i = 0; i < 10; ++i)
    pipelined += get("/p");
  send_all(fd, pipelined);
  for (int i = 0; i < 10; ++i)
    check(read_response(fd, carry).body == "Hello, World!", "pipelined response");
  send_all(fd, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  check(read_response(fd, carry).status == 405, "POST gets 405");
  send_all(fd, get("/", "Connection: close\r\n"));
  http_response last = read_response(fd, carry);
  check(last.status == 200 && last.headers["connection"] == "close", "Connection: close honoured");
  check(carry.empty() && at_eof(fd), "server closes after Connection: close");
  ::close(fd);

  fd = connect_to(server.port());
  carry.clear();
  send_all(fd, "GET / HTTP/1.0\r\n\r\n");
  check(read_response(fd, carry).status == 200 && at_eof(fd), "HTTP/1.0 closes");
  ::close(fd);

  fd = connect_to(server.port());
  carry.clear();
  send_all(fd, "NONSENSE\r\n\r\n");
  check(read_response(fd, carry).status == 400 && at_eof(fd), "malformed request gets 400 and close");
  ::close(fd);

  fd = connect_to(server.port());
  carry.clear();
  send_all(fd, "GET /" + std::string(70000, 'a'));
  check(read_response(fd, carry).status == 431, "oversized header gets 431");
  ::close(fd);
  check(server.stop() == 0, "http server exits cleanly on SIGTERM");
}

void check_http_files(const std::string& binary)
{
  char dir[] = "/tmp/asio_uring_docroot_XXXXXX";
  if (!::mkdtemp(dir))
    throw std::runtime_error("mkdtemp");
  const std::string root = dir;
  std::string big(300000, '\0');
  std::mt19937 gen(7);
  for (auto& c : big)
    c = static_cast<char>(gen());
  std::ofstream(root + "/index.html") << "<p>index</p>";
  std::ofstream(root + "/a.txt") << "file a";
  std::ofstream(root + "/big.bin", std::ios::binary) << big;
  std::ofstream(root + "/empty.txt");
  {
    server_process server({binary, "0", root});
    int fd = connect_to(server.port());
    std::string carry;
    send_all(fd, get("/a.txt"));
    http_response r = read_response(fd, carry);
    check(r.status == 200 && r.body == "file a" && r.headers["content-type"] == "text/plain", "GET /a.txt");
    send_all(fd, get("/"));
    check(read_response(fd, carry).body == "<p>index</p>", "GET / serves index.html");
    send_all(fd, get("/big.bin") + get("/a.txt"));  // pipelined around a file
    check(read_response(fd, carry).body == big, "GET /big.bin, every byte");
    check(read_response(fd, carry).body == "file a", "pipelined after a file");
    send_all(fd, get("/empty.txt"));
    r = read_response(fd, carry);
    check(r.status == 200 && r.body.empty(), "empty file");
    send_all(fd, get("/missing"));
    check(read_response(fd, carry).status == 404, "missing file is 404");
    send_all(fd, get("/../etc/passwd"));
    check(read_response(fd, carry).status == 400, "path escaping docroot is 400");
    send_all(fd, "HEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    r = read_response(fd, carry, true);
    check(r.status == 200 && r.headers["content-length"] == "6", "HEAD has headers");
    send_all(fd, get("/a.txt"));
    check(read_response(fd, carry).body == "file a", "no body was sent for HEAD");
    ::close(fd);
    check(server.stop() == 0, "file server exits cleanly on SIGTERM");
  }
  for (const char* f : {"/index.html", "/a.txt", "/big.bin", "/empty.txt"})
    ::unlink((root + f).c_str());
  ::rmdir(dir);
}

void check_beast(const std::string& binary)
{
  server_process server({binary, "0"});
  int fd = connect_to(server.port());
  std::string carry;
  for (const char* t : {"/one", "/two"})
  {
    send_all(fd, get(t));
    http_response r = read_response(fd, carry);
    check(r.status == 200 && r.body == std::string("Hello from Beast on asio_uring: ") + t + "\n",
        std::string("beast GET ") + t);
  }
  send_all(fd, "DELETE /x HTTP/1.1\r\nHost: x\r\n\r\n");
  check(read_response(fd, carry).status == 405, "beast DELETE gets 405");
  ::shutdown(fd, SHUT_WR);
  check(at_eof(fd), "beast server closes after client EOF");
  ::close(fd);
  check(server.stop() == 0, "beast server exits cleanly on SIGTERM");
}

} // namespace

int main(int argc, char* argv[])
{
  if (argc != 3)
  {
    std::fprintf(stderr, "usage: %s echo|chat|http|beast <server>\n", argv[0]);
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  const std::string mode = argv[1];
  try
  {
    if (mode == "echo")
      check_echo(argv[2]);
    else if (mode == "chat")
      check_chat(argv[2]);
    else if (mode == "http")
    {
      check_http_fixed(argv[2]);
      check_http_files(argv[2]);
    }
    else if (mode == "beast")
      check_beast(argv[2]);
    else
      throw std::runtime_error("unknown mode " + mode);
  }
  catch (const std::exception& e)
  {
    std::fprintf(stderr, "FAILED: %s\n", e.what());
    return 1;
  }
  std::printf("%s: %s\n", mode.c_str(), failures ? "FAILED" : "passed");
  return failures ? 1 : 0;
}
