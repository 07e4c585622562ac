// bench/checkers' real servers: TCP and HTTP listeners on many ports, in C so that their answer
// time (microseconds) does not set the checkers' rate. A TCP connection is closed as soon as it is
// accepted; an HTTP connection gets a 200 once its request has arrived. Each line on stdin is
// answered with the counts so far, as JSON: {"tcp":N,"http":N}.
//
//   listener TCP_BASE TCP_PORTS HTTP_BASE HTTP_PORTS
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char RESPONSE[] =
    "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";

enum Role { STDIN = 0, TCP_LISTENER = 1, HTTP_LISTENER = 2, HTTP_CONNECTION = 3 };

static uint64_t tag(enum Role role, int fd) { return (uint64_t)role << 32 | (uint32_t)fd; }

static void watch(int epoll, enum Role role, int fd, uint32_t events) {
  struct epoll_event event = {.events = events, .data.u64 = tag(role, fd)};
  if (epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) != 0) {
    perror("epoll_ctl");
    exit(1);
  }
}

static void listenOn(int epoll, enum Role role, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_ANY)};
  if (fd < 0 || bind(fd, (struct sockaddr*)&address, sizeof address) != 0 || listen(fd, 4096) != 0) {
    fprintf(stderr, "listen on port %d: %s\n", port, strerror(errno));
    exit(1);
  }
  watch(epoll, role, fd, EPOLLIN);
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: listener TCP_BASE TCP_PORTS HTTP_BASE HTTP_PORTS\n");
    return 2;
  }
  const int tcpBase = atoi(argv[1]), tcpPorts = atoi(argv[2]), httpBase = atoi(argv[3]), httpPorts = atoi(argv[4]);
  const int epoll = epoll_create1(EPOLL_CLOEXEC);
  for (int i = 0; i < tcpPorts; i++) listenOn(epoll, TCP_LISTENER, tcpBase + i);
  for (int i = 0; i < httpPorts; i++) listenOn(epoll, HTTP_LISTENER, httpBase + i);
  watch(epoll, STDIN, 0, EPOLLIN);
  unsigned long long tcp = 0, http = 0;
  printf("ready\n");
  fflush(stdout);
  struct epoll_event events[512];
  char buffer[4096];
  for (;;) {
    const int count = epoll_wait(epoll, events, 512, -1);
    if (count < 0 && errno == EINTR) continue;
    for (int i = 0; i < count; i++) {
      const enum Role role = (enum Role)(events[i].data.u64 >> 32);
      const int fd = (int)(uint32_t)events[i].data.u64;
      if (role == STDIN) {
        const ssize_t got = read(0, buffer, sizeof buffer);
        if (got <= 0) return 0;
        for (ssize_t at = 0; at < got; at++) {
          if (buffer[at] == '\n') printf("{\"tcp\":%llu,\"http\":%llu}\n", tcp, http);
        }
        fflush(stdout);
      } else if (role == HTTP_CONNECTION) {
        const ssize_t got = read(fd, buffer, sizeof buffer);
        // MSG_NOSIGNAL: a checker that reset the connection must not end the listener with SIGPIPE.
        if (got > 0) send(fd, RESPONSE, sizeof RESPONSE - 1, MSG_NOSIGNAL);
        if (got != -1 || errno != EAGAIN) close(fd);
      } else {
        for (;;) {
          const int connection = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (connection < 0) break;
          if (role == TCP_LISTENER) {
            tcp++;
            close(connection);
          } else {
            http++;
            watch(epoll, HTTP_CONNECTION, connection, EPOLLIN | EPOLLRDHUP);
          }
        }
      }
    }
  }
}
