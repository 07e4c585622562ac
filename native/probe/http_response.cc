#include "http_response.h"

#include <cstring>

namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

/** `HTTP/d.d ddd` at the start of the first min(headerLength, 64) bytes; the status, or -1. */
int statusOf(const std::string& header, size_t headerLength) {
  const size_t visible = headerLength < 64 ? headerLength : 64;
  if (visible < 12) return -1;
  const char* s = header.data();
  if (std::memcmp(s, "HTTP/", 5) != 0 || !isDigit(s[5]) || s[6] != '.' || !isDigit(s[7]) || s[8] != ' ') return -1;
  if (!isDigit(s[9]) || !isDigit(s[10]) || !isDigit(s[11])) return -1;
  return (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
}

}  // namespace

void HttpResponseReader::reset(bool hashBody, bool keepBody) {
  hashBody_ = hashBody;
  keepBody_ = keepBody;
  headerComplete_ = false;
  status_ = 0;
  header_.clear();
  body_.clear();
  md5_.reset();
}

void HttpResponseReader::onBody(const uint8_t* data, size_t length) {
  if (hashBody_) md5_.update(data, length);
  if (keepBody_) body_.append(reinterpret_cast<const char*>(data), length);
}

ReadOutcome HttpResponseReader::feed(const uint8_t* data, size_t length) {
  if (headerComplete_) {
    onBody(data, length);
    return ReadOutcome::More;
  }
  const size_t searchFrom = header_.size() < 3 ? 0 : header_.size() - 3;
  header_.append(reinterpret_cast<const char*>(data), length);
  const size_t end = header_.find("\r\n\r\n", searchFrom);
  if (end == std::string::npos) {
    return header_.size() > MAX_HEADER_BYTES ? ReadOutcome::HeaderTooLarge : ReadOutcome::More;
  }
  status_ = statusOf(header_, end);
  if (status_ < 0) return ReadOutcome::NotHttp;
  headerComplete_ = true;
  const size_t bodyStart = end + 4;
  if (bodyStart < header_.size()) {
    onBody(reinterpret_cast<const uint8_t*>(header_.data()) + bodyStart, header_.size() - bodyStart);
  }
  header_.clear();
  return ReadOutcome::More;
}
