#include "tls_client.h"

#include <openssl/err.h>

#include <cerrno>

namespace {

/** The reason of the oldest queued error, and the queue emptied. */
std::string TakeErrors() {
  const unsigned long first = ERR_get_error();
  ERR_clear_error();
  const char* reason = first == 0 ? nullptr : ERR_reason_error_string(first);
  return reason != nullptr ? reason : "connection closed during the TLS exchange";
}

}  // namespace

TlsClient::~TlsClient() {
  if (context_ != nullptr) SSL_CTX_free(context_);
}

SSL* TlsClient::Open(int fd, const std::string& serverName, const uint8_t* session, size_t sessionLength, std::string* error) {
  ERR_clear_error();
  if (context_ == nullptr) {
    context_ = SSL_CTX_new(TLS_client_method());
    if (context_ == nullptr) {
      *error = TakeErrors();
      return nullptr;
    }
    SSL_CTX_set_verify(context_, SSL_VERIFY_NONE, nullptr);
    // A server that closes without close_notify has still sent its whole response (HTTP/1.0).
    SSL_CTX_set_options(context_, SSL_OP_IGNORE_UNEXPECTED_EOF);
  }
  SSL* ssl = SSL_new(context_);
  if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1 ||
      (!serverName.empty() && SSL_set_tlsext_host_name(ssl, serverName.c_str()) != 1)) {
    if (ssl != nullptr) SSL_free(ssl);
    *error = TakeErrors();
    return nullptr;
  }
  SSL_set_connect_state(ssl);
  if (sessionLength > 0) {
    const unsigned char* bytes = session;
    SSL_SESSION* resumed = d2i_SSL_SESSION(nullptr, &bytes, static_cast<long>(sessionLength));
    if (resumed != nullptr) {
      SSL_set_session(ssl, resumed);
      SSL_SESSION_free(resumed);
    }
    // A session that no longer parses only costs a full handshake.
    ERR_clear_error();
  }
  return ssl;
}

std::string TlsClient::ResumableSession(SSL* ssl) {
  SSL_SESSION* session = SSL_get1_session(ssl);
  std::string bytes;
  if (session != nullptr && SSL_SESSION_is_resumable(session)) {
    const int length = i2d_SSL_SESSION(session, nullptr);
    if (length > 0) {
      bytes.resize(static_cast<size_t>(length));
      unsigned char* out = reinterpret_cast<unsigned char*>(bytes.data());
      i2d_SSL_SESSION(session, &out);
    }
  }
  if (session != nullptr) SSL_SESSION_free(session);
  return bytes;
}

int TlsClient::Failure(SSL* ssl, int ret, std::string* reason) {
  const int saved = errno;
  switch (SSL_get_error(ssl, ret)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      ERR_clear_error();
      return 0;
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error() == 0 && saved != 0) {
        ERR_clear_error();
        return saved;
      }
      break;
    case SSL_ERROR_ZERO_RETURN:
      ERR_clear_error();
      *reason = "the server closed the TLS connection";
      return -1;
  }
  *reason = TakeErrors();
  return -1;
}
