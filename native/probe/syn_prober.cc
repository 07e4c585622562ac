#include "syn_prober.h"

#include <linux/errqueue.h>
#include <linux/filter.h>
#include <netinet/ip.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace {

constexpr uint8_t TCP_SYN = 0x02;
constexpr uint8_t TCP_RST = 0x04;
constexpr uint8_t TCP_ACK = 0x10;
/** A SYN with one option, the MSS: 24 bytes. */
constexpr size_t SYN_BYTES = 24;

const uint8_t* addressBytes(const sockaddr_storage& address, size_t* length) {
  if (address.ss_family == AF_INET) {
    *length = 4;
    return reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in&>(address).sin_addr);
  }
  *length = 16;
  return reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in6&>(address).sin6_addr);
}

uint16_t portOf(const sockaddr_storage& address) {
  return ntohs(address.ss_family == AF_INET ? reinterpret_cast<const sockaddr_in&>(address).sin_port
                                            : reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
}

socklen_t lengthOf(const sockaddr_storage& address) {
  return address.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
}

/** What an answer and its probe share: our port, their address and port (ports 0: an address). */
FlowKey flowKey(const sockaddr_storage& remote, uint16_t localPort = 0, uint16_t remotePort = 0) {
  FlowKey key{};
  size_t length;
  const uint8_t* bytes = addressBytes(remote, &length);
  key.ports = uint32_t(localPort) << 16 | remotePort;
  key.family = remote.ss_family;
  std::memcpy(key.address, bytes, length);
  return key;
}

uint32_t sum16(const uint8_t* data, size_t length, uint32_t sum) {
  for (size_t i = 0; i + 1 < length; i += 2) sum += uint32_t(data[i]) << 8 | data[i + 1];
  if (length % 2 == 1) sum += uint32_t(data[length - 1]) << 8;
  return sum;
}

/** The TCP checksum over the pseudo-header of either family and the segment. */
uint16_t tcpChecksum(const sockaddr_storage& source, const sockaddr_storage& destination, const uint8_t* segment,
                     size_t length) {
  size_t sourceLength, destinationLength;
  const uint8_t* sourceBytes = addressBytes(source, &sourceLength);
  const uint8_t* destinationBytes = addressBytes(destination, &destinationLength);
  uint32_t sum = sum16(sourceBytes, sourceLength, 0);
  sum = sum16(destinationBytes, destinationLength, sum);
  sum += IPPROTO_TCP + uint32_t(length);
  sum = sum16(segment, length, sum);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

/**
 * Only SYN-ACKs and RSTs to the held ports reach the socket: a raw TCP socket is otherwise handed
 * a copy of every TCP segment this host receives. `ipHeader`: IPv4 raw sockets read the IP header.
 * The ports are compared one by one: they are wherever bind() found them free, not a range.
 */
int attachFilter(int fd, bool ipHeader, const std::vector<uint16_t>& ports) {
  static_assert(SynProber::PORTS < 200, "jump offsets of classic BPF are 8 bits");
  std::vector<sock_filter> code;
  std::vector<size_t> jumpsToDrop;
  if (ipHeader) {
    code.push_back(BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6));
    jumpsToDrop.push_back(code.size());
    code.push_back(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 0, 0));  // a later fragment
    code.push_back(BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0));             // X: the IP header's length
  } else {
    code.push_back(BPF_STMT(BPF_LDX | BPF_IMM, 0));
  }
  code.push_back(BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2));  // destination port
  std::vector<size_t> jumpsToFlags;
  for (const uint16_t port : ports) {
    jumpsToFlags.push_back(code.size());
    code.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 0));
  }
  code.push_back(BPF_STMT(BPF_RET | BPF_K, 0));  // not a held port
  const size_t flags = code.size();
  code.push_back(BPF_STMT(BPF_LD | BPF_B | BPF_IND, 13));
  code.push_back(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, TCP_RST, 2, 0));
  code.push_back(BPF_STMT(BPF_ALU | BPF_AND | BPF_K, TCP_SYN | TCP_ACK));
  code.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TCP_SYN | TCP_ACK, 0, 1));
  code.push_back(BPF_STMT(BPF_RET | BPF_K, 128));
  const size_t drop = code.size();
  code.push_back(BPF_STMT(BPF_RET | BPF_K, 0));
  // A jump's offset counts the instructions it skips.
  for (const size_t at : jumpsToFlags) code[at].jt = uint8_t(flags - at - 1);
  for (const size_t at : jumpsToDrop) code[at].jt = uint8_t(drop - at - 1);
  sock_fprog program{static_cast<unsigned short>(code.size()), code.data()};
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) == 0 ? 0 : errno;
}

}  // namespace

SynProber::~SynProber() { Close(); }

void SynProber::Close() {
  if (fd4_ >= 0) close(fd4_);
  if (fd6_ >= 0) close(fd6_);
  fd4_ = fd6_ = -1;
  for (int holder : holders_) close(holder);
  holders_.clear();
  ports_.clear();
  flights_.clear();
  bySocketKey_.clear();
  sources_.clear();
}

uint32_t SynProber::Random() {
  if (randomState_ == 0 && getrandom(&randomState_, sizeof randomState_, 0) != sizeof randomState_) {
    randomState_ = 0x9e3779b97f4a7c15ull ^ uint64_t(getpid());
  }
  randomState_ ^= randomState_ << 13;
  randomState_ ^= randomState_ >> 7;
  randomState_ ^= randomState_ << 17;
  return uint32_t(randomState_ >> 16);
}

/**
 * Holds PORTS source ports with sockets bound to port 0 (never listening): bind() takes ports that
 * nothing uses, TIME_WAITs included, and connect() then skips them; a SYN-ACK to one finds no
 * socket, so the kernel resets the real server's side.
 */
int SynProber::HoldPorts() {
  int error = 0;
  for (uint16_t i = 0; i < PORTS; i++) {
    // One IPv6 socket open to IPv4 as well holds the port in both families; IPv4 alone where the
    // host has no IPv6.
    int holder = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_storage any{};
    if (holder >= 0) {
      const int off = 0;
      setsockopt(holder, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
      any.ss_family = AF_INET6;
    } else {
      holder = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (holder < 0) {
        error = errno;
        break;
      }
      any.ss_family = AF_INET;
    }
    socklen_t length = sizeof any;
    if (bind(holder, reinterpret_cast<const sockaddr*>(&any), lengthOf(any)) != 0 ||
        getsockname(holder, reinterpret_cast<sockaddr*>(&any), &length) != 0) {
      error = errno;
      close(holder);
      break;
    }
    holders_.push_back(holder);
    ports_.push_back(portOf(any));
  }
  if (error == 0) return 0;
  for (int holder : holders_) close(holder);
  holders_.clear();
  ports_.clear();
  return error;
}

int SynProber::Open(int family, int epollFd, uint64_t epollTag) {
  int& fd = family == AF_INET ? fd4_ : fd6_;
  if (fd >= 0) return 0;
  if (ports_.empty()) {
    const int error = HoldPorts();
    if (error != 0) return error;
  }
  const int opened = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (opened < 0) return errno;
  // Answers wait here while the event loop is busy: a thousand of them take about a megabyte of
  // buffer, and one dropped is a check that times out. Root may exceed rmem_max.
  const int buffer = 8 << 20;
  if (setsockopt(opened, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer) != 0) {
    setsockopt(opened, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  }
  int error = attachFilter(opened, family == AF_INET, ports_);
  // ICMP errors about the SYNs (a neighbour that never answers, an unreachable network) reach the
  // error queue, as they end a connect.
  const int on = 1;
  if (error == 0 && setsockopt(opened, family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6, family == AF_INET ? IP_RECVERR : IPV6_RECVERR, &on, sizeof on) != 0) {
    error = errno;
  }
  epoll_event event{};
  event.events = EPOLLIN | EPOLLET;
  event.data.u64 = epollTag;
  if (error == 0 && epoll_ctl(epollFd, EPOLL_CTL_ADD, opened, &event) != 0) error = errno;
  if (error != 0) {
    close(opened);
    return error;
  }
  fd = opened;
  return 0;
}

int SynProber::SourceFor(const sockaddr_storage& destination, sockaddr_storage* source) {
  const FlowKey key = flowKey(destination);
  const auto known = sources_.find(key);
  if (known != sources_.end()) {
    *source = known->second;
    return 0;
  }
  const int udp = socket(destination.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (udp < 0) return errno;
  socklen_t length = sizeof *source;
  int error = 0;
  if (connect(udp, reinterpret_cast<const sockaddr*>(&destination), lengthOf(destination)) != 0 ||
      getsockname(udp, reinterpret_cast<sockaddr*>(source), &length) != 0) {
    error = errno;
  }
  close(udp);
  if (error == 0) sources_[key] = *source;
  return error;
}

int SynProber::Start(uint32_t slot, uint32_t generation, const sockaddr_storage& destination,
                     const sockaddr_storage& source, int epollFd, uint64_t epollTag, bool* openFailed) {
  *openFailed = false;
  const int family = destination.ss_family;
  if (const int error = Open(family, epollFd, epollTag); error != 0) {
    *openFailed = true;
    return error;
  }
  if (flights_.size() <= slot) flights_.resize(slot + 1);
  Flight& flight = flights_[slot];
  flight.destination = destination;
  if (source.ss_family == 0) {
    if (const int error = SourceFor(destination, &flight.source); error != 0) return error;
  } else {
    flight.source = source;
  }
  const uint16_t remotePort = portOf(destination);
  uint16_t localPort = portOf(source);
  if (localPort == 0) {
    // Any held port whose socket key is free: two checks of one real server each get their own.
    for (uint16_t tried = 0; tried < PORTS; tried++) {
      const uint16_t candidate = ports_[nextPort_++ % PORTS];
      if (bySocketKey_.count(flowKey(destination, candidate, remotePort)) == 0) {
        localPort = candidate;
        break;
      }
    }
    if (localPort == 0) return EADDRINUSE;
  }
  flight.key = flowKey(destination, localPort, remotePort);
  if (!bySocketKey_.emplace(flight.key, slot).second) return EADDRINUSE;
  if (family == AF_INET) reinterpret_cast<sockaddr_in&>(flight.source).sin_port = htons(localPort);
  else reinterpret_cast<sockaddr_in6&>(flight.source).sin6_port = htons(localPort);
  flight.generation = generation;
  flight.sequence = Random();
  flight.live = true;
  const int error = Send(flight);
  if (error != 0) Forget(slot);
  return error;
}

int SynProber::Resend(uint32_t slot) {
  if (slot >= flights_.size() || !flights_[slot].live) return 0;
  return Send(flights_[slot]);
}

int SynProber::Send(const Flight& flight) {
  uint8_t segment[SYN_BYTES] = {};
  const uint16_t localPort = portOf(flight.source);
  const uint16_t remotePort = portOf(flight.destination);
  segment[0] = uint8_t(localPort >> 8);
  segment[1] = uint8_t(localPort);
  segment[2] = uint8_t(remotePort >> 8);
  segment[3] = uint8_t(remotePort);
  segment[4] = uint8_t(flight.sequence >> 24);
  segment[5] = uint8_t(flight.sequence >> 16);
  segment[6] = uint8_t(flight.sequence >> 8);
  segment[7] = uint8_t(flight.sequence);
  segment[12] = uint8_t((SYN_BYTES / 4) << 4);
  segment[13] = TCP_SYN;
  segment[14] = 0xfa;  // window 64240
  segment[15] = 0xf0;
  segment[20] = 2;  // MSS 1460
  segment[21] = 4;
  segment[22] = 0x05;
  segment[23] = 0xb4;
  const uint16_t checksum = tcpChecksum(flight.source, flight.destination, segment, SYN_BYTES);
  segment[16] = uint8_t(checksum >> 8);
  segment[17] = uint8_t(checksum);

  // The source address travels as packet info, so that the checksum's pseudo-header is the
  // packet's own header.
  union {
    char bytes[CMSG_SPACE(sizeof(in6_pktinfo))];
    cmsghdr align;
  } control{};
  iovec vector{segment, SYN_BYTES};
  msghdr message{};
  message.msg_iov = &vector;
  message.msg_iovlen = 1;
  message.msg_control = control.bytes;
  cmsghdr* header = reinterpret_cast<cmsghdr*>(control.bytes);
  const auto packetInfo = [&](int level, int type, const auto& info) {
    header->cmsg_level = level;
    header->cmsg_type = type;
    header->cmsg_len = CMSG_LEN(sizeof info);
    std::memcpy(CMSG_DATA(header), &info, sizeof info);
    message.msg_controllen = CMSG_SPACE(sizeof info);
  };
  int fd;
  if (flight.destination.ss_family == AF_INET) {
    fd = fd4_;
    message.msg_namelen = sizeof(sockaddr_in);
    in_pktinfo info{};
    info.ipi_spec_dst = reinterpret_cast<const sockaddr_in&>(flight.source).sin_addr;
    packetInfo(IPPROTO_IP, IP_PKTINFO, info);
  } else {
    fd = fd6_;
    message.msg_namelen = sizeof(sockaddr_in6);
    in6_pktinfo info{};
    info.ipi6_addr = reinterpret_cast<const sockaddr_in6&>(flight.source).sin6_addr;
    packetInfo(IPPROTO_IPV6, IPV6_PKTINFO, info);
  }
  // An IPv6 raw socket reads a destination's port as its protocol: none is given.
  sockaddr_storage destination = flight.destination;
  if (destination.ss_family == AF_INET) reinterpret_cast<sockaddr_in&>(destination).sin_port = 0;
  else reinterpret_cast<sockaddr_in6&>(destination).sin6_port = 0;
  message.msg_name = &destination;
  return sendmsg(fd, &message, MSG_DONTWAIT | MSG_NOSIGNAL) == ssize_t(SYN_BYTES) ? 0 : errno;
}

void SynProber::Forget(uint32_t slot, bool unanswered) {
  if (slot >= flights_.size() || !flights_[slot].live) return;
  Flight& flight = flights_[slot];
  flight.live = false;
  bySocketKey_.erase(flight.key);
  if (unanswered) sources_.erase(flowKey(flight.destination));
}

const uint32_t* SynProber::SlotOf(uint16_t localPort, const sockaddr_storage& remote, uint16_t remotePort) const {
  const auto found = bySocketKey_.find(flowKey(remote, localPort, remotePort));
  return found == bySocketKey_.end() ? nullptr : &found->second;
}

void SynProber::Receive(int family, std::vector<SynAnswer>* answers) {
  const int fd = family == AF_INET ? fd4_ : fd6_;
  if (fd < 0) return;
  // Answers come in bursts, as checks start together: one system call reads up to a batch.
  constexpr unsigned BATCH = ReadBuffers::BATCH;
  auto& [packets, senders, vectors, messages] = read_;
  bool errorPending = false;
  for (;;) {
    for (unsigned i = 0; i < BATCH; i++) {
      vectors[i] = {packets[i], sizeof packets[i]};
      messages[i].msg_hdr = {};
      messages[i].msg_hdr.msg_name = &senders[i];
      messages[i].msg_hdr.msg_namelen = sizeof senders[i];
      messages[i].msg_hdr.msg_iov = &vectors[i];
      messages[i].msg_hdr.msg_iovlen = 1;
    }
    const int got = recvmmsg(fd, messages, BATCH, MSG_DONTWAIT, nullptr);
    if (got < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      // The pending error of an ICMP message (its details wait in the error queue), or EINTR.
      errorPending = errorPending || errno != EINTR;
      continue;
    }
    for (int i = 0; i < got; i++) Decode(family, packets[i], messages[i].msg_len, senders[i], answers);
    // Fewer than asked for: the queue was empty, and the next answer wakes epoll again.
    if (unsigned(got) < BATCH) break;
  }
  // With IP_RECVERR every ICMP error also sets the socket's pending error, which the read returns.
  if (errorPending) ReceiveErrors(fd, answers);
}

void SynProber::Decode(int family, const uint8_t* packet, size_t length, const sockaddr_storage& from,
                       std::vector<SynAnswer>* answers) const {
  size_t offset = 0;
  if (family == AF_INET) {
    if (length < 20) return;
    offset = size_t(packet[0] & 0x0f) * 4;
  }
  if (length < offset + 14) return;
  const uint8_t* tcp = packet + offset;
  const uint16_t remotePort = uint16_t(tcp[0] << 8 | tcp[1]);
  const uint16_t localPort = uint16_t(tcp[2] << 8 | tcp[3]);
  const uint32_t acknowledged = uint32_t(tcp[8]) << 24 | uint32_t(tcp[9]) << 16 | uint32_t(tcp[10]) << 8 | tcp[11];
  const uint8_t flags = tcp[13];
  const uint32_t* slot = SlotOf(localPort, from, remotePort);
  if (slot == nullptr) return;
  const Flight& flight = flights_[*slot];
  // Only an answer to this SYN: an old connection's segment to the same ports is not one.
  if (!(flags & TCP_ACK) || acknowledged != flight.sequence + 1) return;
  const bool refused = (flags & TCP_RST) != 0;
  if (!refused && (flags & (TCP_SYN | TCP_ACK)) != (TCP_SYN | TCP_ACK)) return;
  answers->push_back({*slot, flight.generation, refused ? ECONNREFUSED : 0});
}

/**
 * ICMP errors about the SYNs, from the error queue: the kernel ends a connect in SYN_SENT with the
 * error's errno, except for "fragmentation needed", which only lowers the path MTU.
 */
void SynProber::ReceiveErrors(int fd, std::vector<SynAnswer>* answers) {
  for (;;) {
    uint8_t quoted[64];
    sockaddr_storage destination{};
    union {
      char bytes[512];
      cmsghdr align;
    } control;
    iovec vector{quoted, sizeof quoted};
    msghdr message{};
    message.msg_name = &destination;
    message.msg_namelen = sizeof destination;
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = control.bytes;
    message.msg_controllen = sizeof control.bytes;
    const ssize_t got = recvmsg(fd, &message, MSG_ERRQUEUE | MSG_DONTWAIT);
    if (got < 0) {
      if (errno == EINTR) continue;
      return;
    }
    // The quoted segment starts with the SYN's ports and sequence number.
    if (got < 8) continue;
    const sock_extended_err* error = nullptr;
    for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr; header = CMSG_NXTHDR(&message, header)) {
      if ((header->cmsg_level == IPPROTO_IP && header->cmsg_type == IP_RECVERR) ||
          (header->cmsg_level == IPPROTO_IPV6 && header->cmsg_type == IPV6_RECVERR)) {
        error = reinterpret_cast<const sock_extended_err*>(CMSG_DATA(header));
      }
    }
    if (error == nullptr || error->ee_errno == 0 || error->ee_errno == EMSGSIZE ||
        (error->ee_origin != SO_EE_ORIGIN_ICMP && error->ee_origin != SO_EE_ORIGIN_ICMP6)) {
      continue;
    }
    const uint16_t localPort = uint16_t(quoted[0] << 8 | quoted[1]);
    const uint16_t remotePort = uint16_t(quoted[2] << 8 | quoted[3]);
    const uint32_t sequence = uint32_t(quoted[4]) << 24 | uint32_t(quoted[5]) << 16 | uint32_t(quoted[6]) << 8 | quoted[7];
    const uint32_t* slot = SlotOf(localPort, destination, remotePort);
    if (slot == nullptr || flights_[*slot].sequence != sequence) continue;
    answers->push_back({*slot, flights_[*slot].generation, int(error->ee_errno)});
  }
}
