#include "md5.h"

#include <cmath>
#include <cstring>

namespace {

const uint8_t SHIFTS[64] = {
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
    5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
    6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
};

// RFC 1321: K[i] is the integer part of 2^32 * |sin(i + 1)|.
struct Constants {
  uint32_t k[64];
  Constants() {
    for (int i = 0; i < 64; i++) k[i] = static_cast<uint32_t>(std::fabs(std::sin(i + 1.0)) * 4294967296.0);
  }
};
const Constants CONSTANTS;

inline uint32_t rotateLeft(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

}  // namespace

void Md5::reset() {
  state_[0] = 0x67452301;
  state_[1] = 0xefcdab89;
  state_[2] = 0x98badcfe;
  state_[3] = 0x10325476;
  length_ = 0;
}

void Md5::block(const uint8_t* chunk) {
  uint32_t m[16];
  for (int i = 0; i < 16; i++) {
    m[i] = uint32_t(chunk[4 * i]) | uint32_t(chunk[4 * i + 1]) << 8 | uint32_t(chunk[4 * i + 2]) << 16 |
           uint32_t(chunk[4 * i + 3]) << 24;
  }
  uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
  for (int i = 0; i < 64; i++) {
    uint32_t f;
    int g;
    if (i < 16) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (i < 32) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) % 16;
    } else if (i < 48) {
      f = b ^ c ^ d;
      g = (3 * i + 5) % 16;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) % 16;
    }
    const uint32_t next = d;
    d = c;
    c = b;
    b = b + rotateLeft(a + f + CONSTANTS.k[i] + m[g], SHIFTS[i]);
    a = next;
  }
  state_[0] += a;
  state_[1] += b;
  state_[2] += c;
  state_[3] += d;
}

void Md5::update(const uint8_t* data, size_t length) {
  size_t used = length_ % 64;
  length_ += length;
  if (used > 0) {
    const size_t take = length < 64 - used ? length : 64 - used;
    std::memcpy(pending_ + used, data, take);
    data += take;
    length -= take;
    if (used + take < 64) return;
    block(pending_);
  }
  for (; length >= 64; data += 64, length -= 64) block(data);
  std::memcpy(pending_, data, length);
}

void Md5::finish(uint8_t digest[16]) {
  const uint64_t bits = length_ * 8;
  static const uint8_t PADDING[64] = {0x80};
  const size_t used = length_ % 64;
  update(PADDING, used < 56 ? 56 - used : 120 - used);
  uint8_t trailer[8];
  for (int i = 0; i < 8; i++) trailer[i] = static_cast<uint8_t>(bits >> (8 * i));
  update(trailer, 8);
  for (int i = 0; i < 4; i++) {
    for (int j = 0; j < 4; j++) digest[4 * i + j] = static_cast<uint8_t>(state_[i] >> (8 * j));
  }
}
