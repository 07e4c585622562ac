// MD5 (RFC 1321) over a byte stream: HTTP_GET digests are MD5s of the raw body, as genhash prints them.
#pragma once
#include <cstddef>
#include <cstdint>

class Md5 {
 public:
  Md5() { reset(); }
  void reset();
  void update(const uint8_t* data, size_t length);
  void finish(uint8_t digest[16]);

 private:
  void block(const uint8_t* chunk);
  uint32_t state_[4];
  uint64_t length_;
  uint8_t pending_[64];
};
