// C ABI over libcurl for i2's DICOMweb client (see shim.c): one HTTP request in, status and body out.
// libcurl is loaded on first use (dlopen of libcurl.so.4), not linked: it pulls in TLS, GSSAPI and LDAP
// libraries that would cost every i2 process their load time, DICOMweb or not.
#ifndef CCURL_H
#define CCURL_H
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// How a request ended: I2CURL_OK (an HTTP answer, whatever its status) or why there was none.
enum {
    I2CURL_OK = 0,
    I2CURL_UNRESOLVED = 1,   // the host name does not resolve
    I2CURL_UNREACHABLE = 2,  // connection refused, no route, connect timeout
    I2CURL_TIMEOUT = 3,      // connected, but no complete answer in time
    I2CURL_TLS = 4,          // the TLS handshake or the server's certificate failed
    I2CURL_FAILED = 5,       // anything else (the message says what)
    I2CURL_NO_LIBRARY = 6,   // libcurl.so.4 is not installed
    I2CURL_TOO_LARGE = 7,    // the answer exceeded max_body
};

typedef struct {
    long status;          // HTTP status
    char *body;           // malloc'd (free with i2curl_free), NUL-terminated after body_len bytes
    size_t body_len;
    char content_type[256];
} i2curl_response;

/// Streams a request body: fills `buf` with up to `len` bytes; returns the count, 0 at the end,
/// (size_t)-1 to abort the request.
typedef size_t (*i2curl_reader)(char *buf, size_t len, void *ctx);
/// Streams an answer's body: `status` and `content_type` are the answer's; non-zero aborts the request.
typedef int (*i2curl_writer)(const char *data, size_t len, long status, const char *content_type, void *ctx);

/// One request. `headers`: "Name: value" lines. `user`/`password` (basic) may be NULL. A body of
/// `body_len` bytes is sent when `body` is not NULL, or read from `reader` when it is not NULL. Timeouts
/// in seconds (0: none for `timeout`). The answer's body goes to `writer` when it is not NULL (out->body
/// stays empty), else into out->body, bounded by `max_body` bytes. `ca_file`: a CA bundle to trust
/// instead of the system's (NULL: system).
int i2curl_request(const char *method, const char *url, const char *const *headers, int header_count, const char *user,
                   const char *password, const void *body, size_t body_len, i2curl_reader reader, void *reader_ctx,
                   i2curl_writer writer, void *writer_ctx, long connect_timeout, long timeout,
                   size_t max_body, const char *ca_file, i2curl_response *out, char *err, size_t errlen);
void i2curl_free(i2curl_response *r);

#ifdef __cplusplus
}
#endif
#endif
