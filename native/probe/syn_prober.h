// TCP_CHECK's half-open mode (`lvsd_tcp_check syn`): a SYN sent on a raw socket, and the answer read
// there. A SYN-ACK is up, an RST refused, an ICMP error the connect's errno; the kernel answers the
// SYN-ACK with an RST itself, since
// no socket of its own owns the connection. The real server's application never sees the check,
// and neither side creates a socket for it.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <unordered_map>
#include <vector>

/** Our port with their address and port, or an address alone (ports 0): hashed as raw words. */
struct FlowKey {
  uint32_t ports;
  uint32_t family;
  uint8_t address[16];
  bool operator==(const FlowKey& other) const { return std::memcmp(this, &other, sizeof *this) == 0; }
};

static_assert(sizeof(FlowKey) == 24, "FlowKeyHash reads three words");

struct FlowKeyHash {
  size_t operator()(const FlowKey& key) const {
    uint64_t words[3];
    std::memcpy(words, &key, sizeof words);
    uint64_t hash = words[0] * 0x9e3779b97f4a7c15ull;
    hash = (hash ^ words[1] ^ (hash >> 29)) * 0xbf58476d1ce4e5b9ull;
    hash = (hash ^ words[2] ^ (hash >> 32)) * 0x94d049bb133111ebull;
    return size_t(hash ^ (hash >> 31));
  }
};

/** A raw socket's answer to the SYN of the probe in `slot`. */
struct SynAnswer {
  uint32_t slot;
  uint32_t generation;
  /** 0: a SYN-ACK; ECONNREFUSED: an RST; else the errno an ICMP error gives a connect. */
  int error;
};

class SynProber {
 public:
  /** Source ports held for half-open probes; no connect() on this host picks them meanwhile. */
  static constexpr uint16_t PORTS = 64;

  ~SynProber();

  /**
   * Sends the SYN of the probe in `slot` to `destination`, from `source` (family 0: the address
   * the kernel's route gives) and `sourcePort` (0: one of the held ports). The raw socket of the
   * family is opened on first use and added to `epollFd` with `epollTag`. 0 when sent, else
   * errno: EADDRINUSE when every held port has a probe to this destination in flight;
   * `*openFailed` tells whether the raw socket or the held ports could not be had at all.
   */
  int Start(uint32_t slot, uint32_t generation, const sockaddr_storage& destination, const sockaddr_storage& source,
            int epollFd, uint64_t epollTag, bool* openFailed);
  /** The same SYN again, as the kernel retransmits an unanswered one. 0 or errno. */
  int Resend(uint32_t slot);
  /**
   * The probe in `slot` ended: an answer to it is no longer one. `unanswered`: it timed out, so
   * the next probe to its destination asks the route for the source address again.
   */
  void Forget(uint32_t slot, bool unanswered = false);
  /** Reads every answer queued on the family's raw socket, and every ICMP error about a SYN. */
  void Receive(int family, std::vector<SynAnswer>* answers);
  void Close();

 private:
  struct Flight {
    bool live = false;
    uint32_t generation = 0;
    uint32_t sequence = 0;
    FlowKey key{};
    sockaddr_storage destination{};
    sockaddr_storage source{};
  };

  int Open(int family, int epollFd, uint64_t epollTag);
  int HoldPorts();
  int SourceFor(const sockaddr_storage& destination, sockaddr_storage* source);
  int Send(const Flight& flight);
  void Decode(int family, const uint8_t* packet, size_t length, const sockaddr_storage& from,
              std::vector<SynAnswer>* answers) const;
  void ReceiveErrors(int fd, std::vector<SynAnswer>* answers);
  /** The probe a segment or error about `localPort` to `remote`:`remotePort` concerns, if any. */
  const uint32_t* SlotOf(uint16_t localPort, const sockaddr_storage& remote, uint16_t remotePort) const;
  uint32_t Random();

  int fd4_ = -1;
  int fd6_ = -1;
  uint16_t nextPort_ = 0;
  std::vector<int> holders_;
  /** The ports the holders are bound to; empty until held. */
  std::vector<uint16_t> ports_;
  std::vector<Flight> flights_;
  /** (local port, remote address, remote port) of each probe in flight, to its slot. */
  std::unordered_map<FlowKey, uint32_t, FlowKeyHash> bySocketKey_;
  /** The kernel's source address towards a destination, as a connected UDP socket reports it. */
  std::unordered_map<FlowKey, sockaddr_storage, FlowKeyHash> sources_;
  uint64_t randomState_ = 0;
  /** Receive()'s batch of answers, read with one recvmmsg. */
  struct ReadBuffers {
    static constexpr unsigned BATCH = 32;
    uint8_t packets[BATCH][128];
    sockaddr_storage senders[BATCH];
    iovec vectors[BATCH];
    mmsghdr messages[BATCH];
  } read_{};
};
