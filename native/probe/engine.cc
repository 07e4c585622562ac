// The probe engine: TCP_CHECK connects and HTTP_GET / SSL_GET exchanges on non-blocking sockets, driven by
// one epoll set that libuv polls, with deadlines on one heap and one libuv timer. Results reach
// JavaScript in batches: one call per event-loop turn, however many probes ended in it.
#include <napi.h>
#include <uv.h>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <queue>
#include <string>
#include <vector>

#include "http_response.h"
#include "syn_prober.h"
#include "tls_client.h"

#include <openssl/err.h>

namespace {

/** Where a probe connects, and from where; engine.target() hands it to JavaScript as a Buffer. */
struct Target {
  sockaddr_storage destination;
  socklen_t destinationLength;
  sockaddr_storage source;
  socklen_t sourceLength;  // 0: the kernel picks the source
};

// RAW: a half-open probe found no raw socket (no CAP_NET_RAW) or no source ports to hold.
enum Phase : int32_t { SOCKET = 1, BIND = 2, CONNECT = 3, HANDSHAKE = 4, WRITE = 5, READ = 6, RAW = 7 };

// A result's code: 0 success, > 0 an errno, < 0 one of these.
constexpr int32_t TIMEOUT = -1;
constexpr int32_t NOT_HTTP = -2;
constexpr int32_t HEADER_TOO_LARGE = -3;
constexpr int32_t CLOSED_BEFORE_HEADER = -4;
/** The reason travels beside the batch, as text. */
constexpr int32_t TLS_FAILED = -5;

enum Flags : uint32_t {
  HASH_BODY = 1,
  KEEP_BODY = 2,
  // keepalived's wire behaviour: the handshake's last ACK at once, and a FIN at the end.
  CLOSE_WITH_FIN = 4,
  // TCP_CHECK: a SYN on a raw socket, up at the SYN-ACK (syn_prober.h).
  HALF_OPEN = 8,
};

/** epoll tags of the raw sockets; a probe's tag holds its slot, far below these. */
constexpr uint64_t RAW4_TAG = UINT32_MAX;
constexpr uint64_t RAW6_TAG = UINT32_MAX - 1;
/** An unanswered SYN goes again after 1 s, then 2 s later, and so on, as the kernel's would. */
constexpr uint64_t FIRST_RESEND_NS = 1000000000;

/** One result as JavaScript reads it (Int32Array / Float64Array views over the batch). */
struct Record {
  uint32_t id;
  int32_t code;
  int32_t status;
  int32_t phase;
  double elapsedMs;
  uint8_t md5[16];
};
static_assert(sizeof(Record) == 40, "Record layout is shared with probe-engine.ts");

struct Probe {
  uint32_t id = 0;
  uint32_t generation = 0;
  int fd = -1;
  /** A half-open probe in flight: it has no socket of its own. */
  bool syn = false;
  uint64_t resendNs = 0;
  uint64_t resendGapNs = 0;
  bool http = false;
  bool tls = false;
  /** SSL_GET's connection, from the end of the TCP handshake on. */
  SSL* ssl = nullptr;
  uint32_t flags = 0;
  Phase phase = SOCKET;
  uint64_t startNs = 0;
  uint64_t timeoutNs = 0;
  uint64_t deadlineNs = 0;
  std::string request;
  std::string serverName;
  std::string session;
  size_t written = 0;
  HttpResponseReader reader;
};

struct Deadline {
  uint64_t atNs;
  uint32_t slot;
  uint32_t generation;
  bool operator>(const Deadline& other) const { return atNs > other.atNs; }
};

/** epoll data: which slot, and which use of it (a slot is reused once its probe ended). */
uint64_t tag(uint32_t slot, uint32_t generation) { return uint64_t(generation) << 32 | slot; }

bool inFlight(const Probe& probe) { return probe.fd >= 0 || probe.syn; }

bool parseAddress(const std::string& host, uint16_t port, sockaddr_storage* out, socklen_t* length) {
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) return false;
  std::memcpy(out, found->ai_addr, found->ai_addrlen);
  *length = found->ai_addrlen;
  freeaddrinfo(found);
  if (out->ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(out)->sin_port = htons(port);
  else reinterpret_cast<sockaddr_in6*>(out)->sin6_port = htons(port);
  return true;
}

void anyAddress(int family, uint16_t port, sockaddr_storage* out, socklen_t* length) {
  std::memset(out, 0, sizeof *out);
  out->ss_family = family;
  if (family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(out)->sin_port = htons(port);
    *length = sizeof(sockaddr_in);
  } else {
    reinterpret_cast<sockaddr_in6*>(out)->sin6_port = htons(port);
    *length = sizeof(sockaddr_in6);
  }
}

/** Handles are freed by libuv's close callback, after the engine itself may be gone. */
struct PollHandle {
  uv_poll_t poll;
  int epollFd;
};

class Engine : public Napi::ObjectWrap<Engine> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Engine",
                       {InstanceMethod<&Engine::Target>("target"), InstanceMethod<&Engine::Tcp>("tcp"),
                        InstanceMethod<&Engine::Http>("http"), InstanceMethod<&Engine::Https>("https"),
                        InstanceMethod<&Engine::Close>("close")});
  }

  explicit Engine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Engine>(info) {
    Napi::Env env = info.Env();
    if (info.Length() != 1 || !info[0].IsFunction()) {
      Napi::TypeError::New(env, "new Engine(onBatch: (records: ArrayBuffer, bodies: unknown[], sessions: unknown[], reasons: unknown[]) => void)")
          .ThrowAsJavaScriptException();
      return;
    }
    onBatch_ = Napi::Persistent(info[0].As<Napi::Function>());
    const int epollFd = epoll_create1(EPOLL_CLOEXEC);
    if (epollFd < 0) {
      Napi::Error::New(env, std::string("epoll_create1: ") + strerror(errno)).ThrowAsJavaScriptException();
      return;
    }
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    poll_ = new PollHandle{};
    poll_->epollFd = epollFd;
    poll_->poll.data = this;
    uv_poll_init(loop, &poll_->poll, epollFd);
    uv_poll_start(&poll_->poll, UV_READABLE, [](uv_poll_t* handle, int, int) {
      static_cast<Engine*>(handle->data)->OnReadable();
    });
    uv_unref(reinterpret_cast<uv_handle_t*>(&poll_->poll));
    timer_ = new uv_timer_t{};
    timer_->data = this;
    uv_timer_init(loop, timer_);
    uv_unref(reinterpret_cast<uv_handle_t*>(timer_));
    napi_add_env_cleanup_hook(env, ShutdownAtExit, this);
    cleanupHook_ = true;
  }

  ~Engine() override {
    Shutdown();
  }

 private:
  static void ShutdownAtExit(void* self) { static_cast<Engine*>(self)->Shutdown(); }

  // target(host, port, bindHost | undefined, bindPort): Buffer
  Napi::Value Target(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() != 4 || !info[0].IsString() || !info[1].IsNumber() || !info[3].IsNumber()) {
      Napi::TypeError::New(env, "target(host: string, port: number, bindTo: string | undefined, bindPort: number)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    struct Target target {};
    const std::string host = info[0].As<Napi::String>().Utf8Value();
    const uint16_t port = static_cast<uint16_t>(info[1].As<Napi::Number>().Uint32Value());
    if (!parseAddress(host, port, &target.destination, &target.destinationLength)) {
      Napi::Error::New(env, "not an IP address: " + host).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const uint16_t bindPort = static_cast<uint16_t>(info[3].As<Napi::Number>().Uint32Value());
    if (info[2].IsString()) {
      const std::string bindTo = info[2].As<Napi::String>().Utf8Value();
      if (!parseAddress(bindTo, bindPort, &target.source, &target.sourceLength) ||
          target.source.ss_family != target.destination.ss_family) {
        Napi::Error::New(env, "bind_to " + bindTo + " is not an address of " + host + "'s family")
            .ThrowAsJavaScriptException();
        return env.Undefined();
      }
    } else if (bindPort != 0) {
      anyAddress(target.destination.ss_family, bindPort, &target.source, &target.sourceLength);
    }
    return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<uint8_t*>(&target), sizeof target);
  }

  enum class Kind { TCP, HTTP, HTTPS };

  // tcp(id, target, timeoutMs, flags): 0 when started, else phase << 16 | errno
  Napi::Value Tcp(const Napi::CallbackInfo& info) { return Start(info, Kind::TCP); }

  // http(id, target, timeoutMs, flags, request: Buffer): 0 when started, else phase << 16 | errno
  Napi::Value Http(const Napi::CallbackInfo& info) { return Start(info, Kind::HTTP); }

  // https(id, target, timeoutMs, flags, request: Buffer, serverName: string, session: Buffer):
  // as http(), over TLS; an empty serverName sends none, an empty session resumes none.
  Napi::Value Https(const Napi::CallbackInfo& info) { return Start(info, Kind::HTTPS); }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }

  Napi::Value Start(const Napi::CallbackInfo& info, Kind kind) {
    Napi::Env env = info.Env();
    if (closed_) {
      Napi::Error::New(env, "the probe engine is closed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const bool http = kind != Kind::TCP;
    const size_t arguments = kind == Kind::TCP ? 4 : kind == Kind::HTTP ? 5 : 7;
    if (info.Length() != arguments || !info[0].IsNumber() || !info[1].IsBuffer() || !info[2].IsNumber() ||
        !info[3].IsNumber() || (http && !info[4].IsBuffer()) ||
        (kind == Kind::HTTPS && (!info[5].IsString() || !info[6].IsBuffer())) ||
        info[1].As<Napi::Buffer<uint8_t>>().Length() != sizeof(struct Target)) {
      Napi::TypeError::New(env, kind == Kind::TCP    ? "tcp(id, target, timeoutMs, flags)"
                                : kind == Kind::HTTP ? "http(id, target, timeoutMs, flags, request)"
                                                     : "https(id, target, timeoutMs, flags, request, serverName, session)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    struct Target target;
    std::memcpy(&target, info[1].As<Napi::Buffer<uint8_t>>().Data(), sizeof target);
    const uint32_t slot = AllocateSlot();
    Probe& probe = probes_[slot];
    probe.id = info[0].As<Napi::Number>().Uint32Value();
    probe.http = http;
    probe.flags = info[3].As<Napi::Number>().Uint32Value();
    probe.timeoutNs = uint64_t(info[2].As<Napi::Number>().Uint32Value()) * 1000000;
    probe.startNs = uv_hrtime();
    probe.deadlineNs = probe.startNs + probe.timeoutNs;
    probe.written = 0;
    if (http) {
      Napi::Buffer<uint8_t> request = info[4].As<Napi::Buffer<uint8_t>>();
      probe.request.assign(reinterpret_cast<const char*>(request.Data()), request.Length());
      probe.reader.reset(probe.flags & HASH_BODY, probe.flags & KEEP_BODY);
    }
    probe.tls = kind == Kind::HTTPS;
    if (probe.tls) {
      probe.serverName = info[5].As<Napi::String>().Utf8Value();
      Napi::Buffer<uint8_t> session = info[6].As<Napi::Buffer<uint8_t>>();
      probe.session.assign(reinterpret_cast<const char*>(session.Data()), session.Length());
    }
    const bool halfOpen = kind == Kind::TCP && (probe.flags & HALF_OPEN) && !(probe.flags & CLOSE_WITH_FIN);
    const int32_t failure = halfOpen ? SendSyn(probe, slot, target) : Connect(probe, target);
    if (failure != 0) {
      if (probe.fd >= 0) close(probe.fd);
      probe.fd = -1;
      free_.push_back(slot);
      return Napi::Number::New(env, failure);
    }
    deadlines_.push({NextDeadline(probe), slot, probe.generation});
    if (active_++ == 0) uv_ref(reinterpret_cast<uv_handle_t*>(&poll_->poll));
    Arm();
    return Napi::Number::New(env, 0);
  }

  uint32_t AllocateSlot() {
    uint32_t slot;
    if (free_.empty()) {
      slot = static_cast<uint32_t>(probes_.size());
      probes_.emplace_back();
    } else {
      slot = free_.back();
      free_.pop_back();
    }
    probes_[slot].generation++;
    return slot;
  }

  /**
   * 0 once the SYN is sent, else phase << 16 | errno. A probe from a configured source port
   * (bind_port), or to a destination that already has a probe from every held port, connects.
   */
  int32_t SendSyn(Probe& probe, uint32_t slot, const struct Target& target) {
    sockaddr_storage source{};
    if (target.sourceLength != 0) source = target.source;
    const uint16_t sourcePort = ntohs(source.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(source).sin6_port
                                                                     : reinterpret_cast<sockaddr_in&>(source).sin_port);
    if (sourcePort != 0) return Connect(probe, target);
    probe.phase = CONNECT;
    bool openFailed = false;
    const int error = syn_.Start(slot, probe.generation, target.destination, source, poll_->epollFd,
                                 target.destination.ss_family == AF_INET ? RAW4_TAG : RAW6_TAG, &openFailed);
    // No raw socket or no ports to hold comes first: EADDRINUSE from holding the ports must not
    // read as "every held port is busy", or each probe would try to hold them again.
    if (openFailed) return RAW << 16 | error;
    if (error == EADDRINUSE) return Connect(probe, target);
    if (error != 0) return CONNECT << 16 | error;
    probe.syn = true;
    probe.resendGapNs = FIRST_RESEND_NS;
    probe.resendNs = probe.startNs + FIRST_RESEND_NS;
    return 0;
  }

  /** When the deadline heap next needs this probe: its deadline, or an earlier resend of its SYN. */
  static uint64_t NextDeadline(const Probe& probe) {
    return probe.syn && probe.resendNs < probe.deadlineNs ? probe.resendNs : probe.deadlineNs;
  }

  /** 0 once the connect is under way, else phase << 16 | errno. */
  int32_t Connect(Probe& probe, const struct Target& target) {
    probe.phase = SOCKET;
    probe.fd = socket(target.destination.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (probe.fd < 0) return SOCKET << 16 | errno;
    if (!(probe.flags & CLOSE_WITH_FIN)) {
      // HAProxy's way: the handshake's final ACK waits, to go with the request or be replaced by
      // the RST of the close, so the real server's application never accepts a bare TCP check.
      const int off = 0;
      setsockopt(probe.fd, IPPROTO_TCP, TCP_QUICKACK, &off, sizeof off);
    }
    probe.phase = BIND;
    if (target.sourceLength != 0 &&
        bind(probe.fd, reinterpret_cast<const sockaddr*>(&target.source), target.sourceLength) != 0) {
      return BIND << 16 | errno;
    }
    probe.phase = CONNECT;
    if (connect(probe.fd, reinterpret_cast<const sockaddr*>(&target.destination), target.destinationLength) != 0 &&
        errno != EINPROGRESS) {
      return CONNECT << 16 | errno;
    }
    // Edge-triggered, for the whole exchange: one epoll_ctl a probe.
    epoll_event event{};
    event.events = EPOLLOUT | (probe.http ? EPOLLIN | EPOLLRDHUP : 0) | EPOLLET;
    event.data.u64 = tag(static_cast<uint32_t>(&probe - probes_.data()), probe.generation);
    if (epoll_ctl(poll_->epollFd, EPOLL_CTL_ADD, probe.fd, &event) != 0) return CONNECT << 16 | errno;
    return 0;
  }

  void OnReadable() {
    Drain();
    Flush();
    Arm();
  }

  void Drain() {
    epoll_event events[256];
    for (;;) {
      const int count = epoll_wait(poll_->epollFd, events, 256, 0);
      if (count <= 0) return;
      for (int i = 0; i < count; i++) {
        if (events[i].data.u64 == RAW4_TAG || events[i].data.u64 == RAW6_TAG) {
          ReadSynAnswers(events[i].data.u64 == RAW4_TAG ? AF_INET : AF_INET6);
          continue;
        }
        const uint32_t slot = static_cast<uint32_t>(events[i].data.u64);
        const uint32_t generation = static_cast<uint32_t>(events[i].data.u64 >> 32);
        if (slot < probes_.size() && probes_[slot].generation == generation && probes_[slot].fd >= 0) {
          Advance(probes_[slot], events[i].events);
        }
      }
      if (count < 256) return;
    }
  }

  void ReadSynAnswers(int family) {
    synAnswers_.clear();
    syn_.Receive(family, &synAnswers_);
    for (const SynAnswer& answer : synAnswers_) {
      Probe& probe = probes_[answer.slot];
      if (probe.generation == answer.generation && probe.syn) Finish(probe, answer.error);
    }
  }

  void Advance(Probe& probe, uint32_t events) {
    if (probe.phase == CONNECT) {
      // Writable without an error or hang-up: connected, no SO_ERROR to read.
      if (events & (EPOLLERR | EPOLLHUP)) {
        int error = 0;
        socklen_t length = sizeof error;
        if (getsockopt(probe.fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
        if (error != 0) return Finish(probe, error);
      }
      if (!probe.http) return Finish(probe, 0);
      probe.phase = probe.tls ? HANDSHAKE : WRITE;
      Restart(probe);
      if (probe.tls) {
        std::string reason;
        probe.ssl = tls_.Open(probe.fd, probe.serverName, reinterpret_cast<const uint8_t*>(probe.session.data()),
                              probe.session.size(), &reason);
        if (probe.ssl == nullptr) return Finish(probe, TLS_FAILED, reason);
      }
    }
    if (probe.phase == HANDSHAKE) {
      ERR_clear_error();
      const int done = SSL_do_handshake(probe.ssl);
      if (done != 1) return Wait(probe, done);
      probe.phase = WRITE;
      Restart(probe);
    }
    if (probe.phase == WRITE && probe.tls) {
      ERR_clear_error();
      const int sent = SSL_write(probe.ssl, probe.request.data(), static_cast<int>(probe.request.size()));
      if (sent <= 0) return Wait(probe, sent);
      probe.phase = READ;
      // OpenSSL may hold records it read along with the handshake: read until it wants more.
      return ReadTls(probe);
    }
    if (probe.phase == WRITE) {
      while (probe.written < probe.request.size()) {
        const ssize_t sent = send(probe.fd, probe.request.data() + probe.written, probe.request.size() - probe.written,
                                  MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent < 0) {
          if (errno == EAGAIN || errno == EINTR) return;
          return Finish(probe, errno);
        }
        probe.written += static_cast<size_t>(sent);
      }
      probe.phase = READ;
      // An edge that came with this event is not signalled again.
      if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;
    }
    if (probe.phase == READ && probe.tls) return ReadTls(probe);
    if (probe.phase == READ && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) Read(probe, events);
  }

  /** After an OpenSSL call returned `ret`: wait for the socket, or end the probe with why it failed. */
  void Wait(Probe& probe, int ret) {
    std::string reason;
    const int failure = TlsClient::Failure(probe.ssl, ret, &reason);
    if (failure > 0) Finish(probe, failure);
    else if (failure < 0) Finish(probe, TLS_FAILED, reason);
  }

  /** Bytes of the response to its reader; false once they ended the probe. */
  bool Feed(Probe& probe, const uint8_t* data, size_t length) {
    Restart(probe);
    switch (probe.reader.feed(data, length)) {
      case ReadOutcome::More:
        return true;
      case ReadOutcome::NotHttp:
        Finish(probe, NOT_HTTP);
        return false;
      case ReadOutcome::HeaderTooLarge:
        Finish(probe, HEADER_TOO_LARGE);
        return false;
    }
    return true;
  }

  void ReadTls(Probe& probe) {
    uint8_t buffer[16384];
    for (;;) {
      ERR_clear_error();
      const int got = SSL_read(probe.ssl, buffer, sizeof buffer);
      if (got <= 0) {
        if (SSL_get_error(probe.ssl, got) == SSL_ERROR_ZERO_RETURN) {
          ERR_clear_error();
          return Finish(probe, probe.reader.headerComplete() ? 0 : CLOSED_BEFORE_HEADER);
        }
        return Wait(probe, got);
      }
      if (!Feed(probe, buffer, static_cast<size_t>(got))) return;
    }
  }

  void Read(Probe& probe, uint32_t events) {
    uint8_t buffer[16384];
    for (;;) {
      const ssize_t got = recv(probe.fd, buffer, sizeof buffer, MSG_DONTWAIT);
      if (got < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        return Finish(probe, errno);
      }
      if (got == 0) return Finish(probe, probe.reader.headerComplete() ? 0 : CLOSED_BEFORE_HEADER);
      if (!Feed(probe, buffer, static_cast<size_t>(got))) return;
      // A short read drained the socket; unless the peer has closed, the next edge brings more.
      if (static_cast<size_t>(got) < sizeof buffer && !(events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;
    }
  }

  /** keepalived's timeouts apply to each step of an exchange. */
  void Restart(Probe& probe) { probe.deadlineNs = uv_hrtime() + probe.timeoutNs; }

  void Finish(Probe& probe, int32_t code, const std::string& reason = std::string()) {
    const uint32_t slot = static_cast<uint32_t>(&probe - probes_.data());
    if (probe.syn) {
      syn_.Forget(slot, code == TIMEOUT);
      probe.syn = false;
      return Report(probe, slot, code, reason);
    }
    const bool connected = probe.phase >= HANDSHAKE || (probe.phase == CONNECT && code == 0);
    if (probe.ssl != nullptr) EndTls(probe);
    if (connected && !(probe.flags & CLOSE_WITH_FIN)) {
      // A zero linger ends the connection with an RST: no TIME_WAIT on either side.
      const linger reset{1, 0};
      setsockopt(probe.fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    }
    close(probe.fd);
    probe.fd = -1;
    Report(probe, slot, code, reason);
  }

  void Report(Probe& probe, uint32_t slot, int32_t code, const std::string& reason) {
    Record record{};
    record.id = probe.id;
    record.code = code;
    record.phase = probe.phase;
    record.elapsedMs = double(uv_hrtime() - probe.startNs) / 1e6;
    if (code == TLS_FAILED) reasons_.emplace_back(probe.id, reason);
    if (probe.http && code == 0) {
      record.status = probe.reader.status();
      if (probe.reader.hashesBody()) probe.reader.digest(record.md5);
      if (probe.flags & KEEP_BODY) bodies_.emplace_back(probe.id, probe.reader.body());
    }
    results_.push_back(record);
    free_.push_back(slot);
    if (--active_ == 0) uv_unref(reinterpret_cast<uv_handle_t*>(&poll_->poll));
  }

  /** The session kept for the checker's next probe; keepalived's close_notify only in its close mode. */
  void EndTls(Probe& probe) {
    if (probe.phase >= WRITE) {
      std::string session = TlsClient::ResumableSession(probe.ssl);
      if (!session.empty()) sessions_.emplace_back(probe.id, std::move(session));
      if (probe.flags & CLOSE_WITH_FIN) SSL_shutdown(probe.ssl);
    }
    SSL_free(probe.ssl);
    ERR_clear_error();
    probe.ssl = nullptr;
  }

  void OnTimer() {
    armedNs_ = UINT64_MAX;
    // I/O that already arrived wins over a deadline that expired while the loop was busy.
    Drain();
    const uint64_t nowNs = uv_hrtime();
    while (!deadlines_.empty() && deadlines_.top().atNs <= nowNs + 500000) {
      const Deadline due = deadlines_.top();
      deadlines_.pop();
      Probe& probe = probes_[due.slot];
      if (probe.generation != due.generation || !inFlight(probe)) continue;
      if (probe.deadlineNs > due.atNs) {
        if (probe.syn && probe.resendNs <= due.atNs) {
          // A resend that fails (no route any more) leaves the probe to its deadline, as the
          // kernel leaves a connect whose retransmission fails.
          syn_.Resend(due.slot);
          probe.resendGapNs *= 2;
          probe.resendNs += probe.resendGapNs;
        }
        deadlines_.push({NextDeadline(probe), due.slot, due.generation});
        continue;
      }
      Finish(probe, TIMEOUT);
    }
    Flush();
    Arm();
  }

  void Arm() {
    while (!deadlines_.empty()) {
      const Deadline& top = deadlines_.top();
      const Probe& probe = probes_[top.slot];
      if (probe.generation == top.generation && inFlight(probe)) break;
      deadlines_.pop();
    }
    if (closed_ || deadlines_.empty() || deadlines_.top().atNs == armedNs_) return;
    armedNs_ = deadlines_.top().atNs;
    const uint64_t nowNs = uv_hrtime();
    const uint64_t waitMs = armedNs_ <= nowNs ? 0 : (armedNs_ - nowNs + 999999) / 1000000;
    uv_timer_start(timer_, [](uv_timer_t* handle) { static_cast<Engine*>(handle->data)->OnTimer(); }, waitMs, 0);
  }

  void Flush() {
    if (results_.empty()) return;
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    std::vector<Record> records;
    records.swap(results_);
    Napi::ArrayBuffer batch = Napi::ArrayBuffer::New(env, records.size() * sizeof(Record));
    std::memcpy(batch.Data(), records.data(), records.size() * sizeof(Record));
    Napi::Array bodies = ByProbe(env, bodies_, true);
    Napi::Array sessions = ByProbe(env, sessions_, true);
    Napi::Array reasons = ByProbe(env, reasons_, false);
    onBatch_.MakeCallback(Value(), {batch, bodies, sessions, reasons});
    if (env.IsExceptionPending()) napi_fatal_exception(env, env.GetAndClearPendingException().Value());
  }

  /** [id, value, id, value, ...], each value a Buffer or a string; `items` is left empty. */
  static Napi::Array ByProbe(Napi::Env env, std::vector<std::pair<uint32_t, std::string>>& items, bool asBuffers) {
    Napi::Array array = Napi::Array::New(env, items.size() * 2);
    for (size_t i = 0; i < items.size(); i++) {
      const std::string& value = items[i].second;
      array.Set(2 * i, Napi::Number::New(env, items[i].first));
      if (asBuffers) array.Set(2 * i + 1, Napi::Buffer<char>::Copy(env, value.data(), value.size()));
      else array.Set(2 * i + 1, Napi::String::New(env, value));
    }
    items.clear();
    return array;
  }

  void Shutdown() {
    if (closed_) return;
    closed_ = true;
    for (Probe& probe : probes_) {
      if (probe.ssl != nullptr) SSL_free(probe.ssl);
      probe.ssl = nullptr;
      if (probe.fd >= 0) close(probe.fd);
      probe.fd = -1;
      probe.syn = false;
    }
    syn_.Close();
    active_ = 0;
    if (cleanupHook_) {
      napi_remove_env_cleanup_hook(Env(), ShutdownAtExit, this);
      cleanupHook_ = false;
    }
    if (poll_ != nullptr) {
      uv_close(reinterpret_cast<uv_handle_t*>(&poll_->poll), [](uv_handle_t* handle) {
        PollHandle* poll = reinterpret_cast<PollHandle*>(handle);
        close(poll->epollFd);
        delete poll;
      });
      poll_ = nullptr;
    }
    if (timer_ != nullptr) {
      uv_close(reinterpret_cast<uv_handle_t*>(timer_), [](uv_handle_t* handle) { delete reinterpret_cast<uv_timer_t*>(handle); });
      timer_ = nullptr;
    }
  }

  Napi::FunctionReference onBatch_;
  PollHandle* poll_ = nullptr;
  uv_timer_t* timer_ = nullptr;
  bool closed_ = false;
  bool cleanupHook_ = false;
  size_t active_ = 0;
  uint64_t armedNs_ = UINT64_MAX;
  std::vector<Probe> probes_;
  std::vector<uint32_t> free_;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<Deadline>> deadlines_;
  std::vector<Record> results_;
  std::vector<std::pair<uint32_t, std::string>> bodies_;
  std::vector<std::pair<uint32_t, std::string>> sessions_;
  std::vector<std::pair<uint32_t, std::string>> reasons_;
  TlsClient tls_;
  SynProber syn_;
  std::vector<SynAnswer> synAnswers_;
};

// parseHttpResponse(chunks: Buffer[], flags): { code, status, md5, body }, as a probe would read
// those chunks followed by the end of the stream. Exposed so the parser can be fuzzed from JavaScript.
Napi::Value ParseHttpResponse(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsArray() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "parseHttpResponse(chunks: Buffer[], flags: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array chunks = info[0].As<Napi::Array>();
  const uint32_t flags = info[1].As<Napi::Number>().Uint32Value();
  HttpResponseReader reader;
  reader.reset(flags & HASH_BODY, flags & KEEP_BODY);
  int32_t code = 0;
  for (uint32_t i = 0; i < chunks.Length() && code == 0; i++) {
    Napi::Value chunk = chunks.Get(i);
    if (!chunk.IsBuffer()) {
      Napi::TypeError::New(env, "chunks must be Buffers").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Buffer<uint8_t> bytes = chunk.As<Napi::Buffer<uint8_t>>();
    if (bytes.Length() == 0) continue;
    const ReadOutcome outcome = reader.feed(bytes.Data(), bytes.Length());
    if (outcome == ReadOutcome::NotHttp) code = NOT_HTTP;
    if (outcome == ReadOutcome::HeaderTooLarge) code = HEADER_TOO_LARGE;
  }
  if (code == 0 && !reader.headerComplete()) code = CLOSED_BEFORE_HEADER;
  Napi::Object result = Napi::Object::New(env);
  result.Set("code", code);
  result.Set("status", code == 0 ? reader.status() : 0);
  if (code == 0 && reader.hashesBody()) {
    uint8_t md5[16];
    reader.digest(md5);
    result.Set("md5", Napi::Buffer<uint8_t>::Copy(env, md5, 16));
  } else {
    result.Set("md5", env.Null());
  }
  if (code == 0 && (flags & KEEP_BODY)) {
    result.Set("body", Napi::Buffer<char>::Copy(env, reader.body().data(), reader.body().size()));
  } else {
    result.Set("body", env.Null());
  }
  return result;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Engine", Engine::Define(env));
  exports.Set("parseHttpResponse", Napi::Function::New(env, ParseHttpResponse));
  return exports;
}

}  // namespace

NODE_API_MODULE(probe_engine, Init)
