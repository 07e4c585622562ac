// Reads an HTTP response the way keepalived's HTTP_GET and genhash do: the status code from the
// status line, and an MD5 over the raw bytes after the header (no chunked decoding).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "md5.h"

enum class ReadOutcome { More, NotHttp, HeaderTooLarge };

class HttpResponseReader {
 public:
  /** A response header larger than this is not an HTTP server we can check. */
  static constexpr size_t MAX_HEADER_BYTES = 64 * 1024;

  void reset(bool hashBody, bool keepBody);
  ReadOutcome feed(const uint8_t* data, size_t length);
  bool headerComplete() const { return headerComplete_; }
  int status() const { return status_; }
  bool hashesBody() const { return hashBody_; }
  void digest(uint8_t out[16]) { md5_.finish(out); }
  const std::string& body() const { return body_; }

 private:
  void onBody(const uint8_t* data, size_t length);
  bool hashBody_ = false;
  bool keepBody_ = false;
  bool headerComplete_ = false;
  int status_ = 0;
  std::string header_;
  std::string body_;
  Md5 md5_;
};
