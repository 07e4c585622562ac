// `lvsctl status` without a JavaScript runtime: a node start costs more time and memory than
// printing a table (0.2 s and 45 MB here), and an operator runs this many times a day.
// The daemon renders the status (control request "status-view"), so this only connects to the
// control socket, sends one request line and prints the rendered text it gets back. bin/lvsctl
// runs it for `status [--json] [--socket PATH]` and the bundle for everything else.
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *const DEFAULT_SOCKET = "/run/lvsd/lvsd.sock";
enum { ANSWER_TIMEOUT_MS = 30000, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_NOT_RUNNING = 3 };

struct buffer {
  char *data;
  size_t length, capacity;
};

static void append(struct buffer *buffer, const char *bytes, size_t count) {
  if (buffer->length + count + 1 > buffer->capacity) {
    size_t capacity = buffer->capacity ? buffer->capacity : 16384;
    while (capacity < buffer->length + count + 1) capacity *= 2;
    char *data = realloc(buffer->data, capacity);
    if (!data) {
      fputs("lvsctl: out of memory\n", stderr);
      exit(EXIT_FAILED);
    }
    buffer->data = data;
    buffer->capacity = capacity;
  }
  memcpy(buffer->data + buffer->length, bytes, count);
  buffer->length += count;
  buffer->data[buffer->length] = '\0';
}

static void append_utf8(struct buffer *out, unsigned long code) {
  char bytes[4];
  size_t count;
  if (code < 0x80) bytes[0] = (char)code, count = 1;
  else if (code < 0x800) bytes[0] = (char)(0xc0 | code >> 6), bytes[1] = (char)(0x80 | (code & 0x3f)), count = 2;
  else if (code < 0x10000)
    bytes[0] = (char)(0xe0 | code >> 12), bytes[1] = (char)(0x80 | ((code >> 6) & 0x3f)), bytes[2] = (char)(0x80 | (code & 0x3f)), count = 3;
  else
    bytes[0] = (char)(0xf0 | code >> 18), bytes[1] = (char)(0x80 | ((code >> 12) & 0x3f)), bytes[2] = (char)(0x80 | ((code >> 6) & 0x3f)),
    bytes[3] = (char)(0x80 | (code & 0x3f)), count = 4;
  append(out, bytes, count);
}

static int hex4(const char *text, unsigned long *value) {
  *value = 0;
  for (int i = 0; i < 4; i++) {
    char c = text[i];
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (digit < 0) return 0;
    *value = *value << 4 | (unsigned long)digit;
  }
  return 1;
}

/** Decodes the JSON string starting at `text` (its opening quote) into `out`; returns the text after it, or NULL. */
static const char *json_string(const char *text, struct buffer *out) {
  if (*text++ != '"') return NULL;
  while (*text && *text != '"') {
    if (*text != '\\') {
      append(out, text++, 1);
      continue;
    }
    char escape = text[1];
    text += 2;
    const char *simple = strchr("\"\\/bfnrt", escape);
    if (escape && simple) {
      append(out, &"\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"], 1);
      continue;
    }
    unsigned long code, low;
    if (escape != 'u' || !hex4(text, &code)) return NULL;
    text += 4;
    if (code >= 0xd800 && code < 0xdc00 && text[0] == '\\' && text[1] == 'u' && hex4(text + 2, &low) && low >= 0xdc00 && low < 0xe000) {
      code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
      text += 6;
    }
    append_utf8(out, code);
  }
  return *text == '"' ? text + 1 : NULL;
}

static int usage(const char *message) {
  fprintf(stderr, "lvsctl: %s\nTry 'lvsctl --help'.\n", message);
  return EXIT_USAGE;
}

static long long now_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/** Reads until the daemon closes the connection, or fails after ANSWER_TIMEOUT_MS. */
static int read_answer(int fd, struct buffer *answer) {
  long long deadline = now_ms() + ANSWER_TIMEOUT_MS;
  char chunk[65536];
  for (;;) {
    long long left = deadline - now_ms();
    struct pollfd waiting = {.fd = fd, .events = POLLIN};
    int ready = left > 0 ? poll(&waiting, 1, (int)left) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return ready == 0 ? ETIMEDOUT : errno;
    ssize_t count = read(fd, chunk, sizeof chunk);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) return errno;
    if (count == 0) return 0;
    append(answer, chunk, (size_t)count);
  }
}

int main(int argc, char **argv) {
  const char *socket_path = DEFAULT_SOCKET;
  int json = 0;
  if (argc < 2 || strcmp(argv[1], "status") != 0) return usage("lvsctl-status runs only `lvsctl status`");
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) json = 1;
    else if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) socket_path = argv[++i];
    else if (strncmp(argv[i], "--socket=", 9) == 0) socket_path = argv[i] + 9;
    else return usage("lvsctl-status takes only --json and --socket PATH");
  }
  int color = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;

  struct sockaddr_un address = {.sun_family = AF_UNIX};
  if (strlen(socket_path) >= sizeof address.sun_path) {
    fprintf(stderr, "lvsctl: socket path too long: %s\n", socket_path);
    return EXIT_FAILED;
  }
  strcpy(address.sun_path, socket_path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) < 0) {
    if (errno == ENOENT || errno == ECONNREFUSED) {
      fprintf(stderr, "lvsctl: lvsd is not running (no control socket at %s)\n", socket_path);
      return EXIT_NOT_RUNNING;
    }
    fprintf(stderr, "lvsctl: cannot connect to %s: %s\n", socket_path, strerror(errno));
    return EXIT_FAILED;
  }
  char request[96];
  int length = snprintf(request, sizeof request, "{\"command\":\"status-view\",\"format\":\"%s\",\"color\":%s}\n", json ? "json" : "table", color ? "true" : "false");
  if (write(fd, request, (size_t)length) != length) {
    fprintf(stderr, "lvsctl: cannot send to %s: %s\n", socket_path, strerror(errno));
    return EXIT_FAILED;
  }
  struct buffer answer = {0}, text = {0};
  int failure = read_answer(fd, &answer);
  if (failure == ETIMEDOUT) {
    fprintf(stderr, "lvsctl: no answer from lvsd at %s within %d ms\n", socket_path, ANSWER_TIMEOUT_MS);
    return EXIT_FAILED;
  }
  if (failure) {
    fprintf(stderr, "lvsctl: reading from %s: %s\n", socket_path, strerror(failure));
    return EXIT_FAILED;
  }
  // The daemon answers with JSON.stringify({ ok, result }) or ({ ok, error }), in that order.
  static const char OK[] = "{\"ok\":true,\"result\":", FAILED[] = "{\"ok\":false,\"error\":";
  int ok = answer.data && strncmp(answer.data, OK, sizeof OK - 1) == 0;
  int refused = answer.data && strncmp(answer.data, FAILED, sizeof FAILED - 1) == 0;
  const char *rest = ok || refused ? json_string(answer.data + (ok ? sizeof OK : sizeof FAILED) - 1, &text) : NULL;
  if (!rest || strcmp(rest, "}\n") != 0) {
    fputs("lvsctl: unexpected answer from lvsd\n", stderr);
    return EXIT_FAILED;
  }
  if (refused) {
    fprintf(stderr, "lvsctl: %s\n", text.data ? text.data : "");
    return EXIT_FAILED;
  }
  if (text.length && fwrite(text.data, 1, text.length, stdout) != text.length) return EXIT_FAILED;
  return fflush(stdout) == 0 ? 0 : EXIT_FAILED;
}
