// Sends a complete link-layer frame on one interface through an AF_PACKET socket: the only way
// to emit gratuitous ARP (and a hand-built unsolicited NA) without running external tools.
#include <napi.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <unistd.h>

static Napi::Value SendFrame(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsNumber() || !info[1].IsBuffer()) {
    Napi::TypeError::New(env, "sendFrame(ifindex: number, frame: Buffer)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int ifindex = info[0].As<Napi::Number>().Int32Value();
  Napi::Buffer<uint8_t> frame = info[1].As<Napi::Buffer<uint8_t>>();
  if (frame.Length() < ETH_HLEN) {
    Napi::RangeError::New(env, "frame shorter than an Ethernet header").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    Napi::Error::New(env, std::string("socket(AF_PACKET): ") + strerror(errno)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_ifindex = ifindex;
  address.sll_halen = ETH_ALEN;
  std::memcpy(address.sll_addr, frame.Data(), ETH_ALEN);
  std::memcpy(&address.sll_protocol, frame.Data() + 2 * ETH_ALEN, 2);
  const ssize_t sent = sendto(fd, frame.Data(), frame.Length(), 0, reinterpret_cast<sockaddr*>(&address), sizeof address);
  const int sendErrno = errno;
  close(fd);
  if (sent < 0) {
    Napi::Error::New(env, std::string("sendto(AF_PACKET): ") + strerror(sendErrno)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(sent));
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("sendFrame", Napi::Function::New(env, SendFrame));
  return exports;
}

NODE_API_MODULE(vrrp_packet, Init)
