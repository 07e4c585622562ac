// SSL_GET's client side as keepalived has it: no certificate verification, an optional server
// name, and each checker's last session offered again so that a server that allows it resumes.
#pragma once
#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <string>

class TlsClient {
 public:
  TlsClient() = default;
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;
  ~TlsClient();

  /** A client connection over `fd`, or nullptr with the reason in `error`. */
  SSL* Open(int fd, const std::string& serverName, const uint8_t* session, size_t sessionLength, std::string* error);

  /** The session to offer next time, serialized; empty when the server gave none to resume. */
  static std::string ResumableSession(SSL* ssl);

  /**
   * Why the last call on `ssl` returned `ret`: an errno (> 0), 0 for want-read or want-write, or
   * -1 with `reason` set. The thread's OpenSSL error queue is left empty for Node's own crypto.
   */
  static int Failure(SSL* ssl, int ret, std::string* reason);

 private:
  SSL_CTX* context_ = nullptr;
};
