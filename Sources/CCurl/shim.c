// libcurl behind CCurl.h: loaded with dlopen on the first request (the header says why), its handful of
// functions looked up once. The easy interface: one request at a time, on the calling thread.
#include "CCurl.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    CURLcode (*global_init)(long);
    int loaded;
} lib;

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void) {
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!h) return;
#define SYM(field, name) *(void **)(&lib.field) = dlsym(h, name); if (!lib.field) return;
    SYM(easy_init, "curl_easy_init")
    SYM(easy_setopt, "curl_easy_setopt")
    SYM(easy_perform, "curl_easy_perform")
    SYM(easy_getinfo, "curl_easy_getinfo")
    SYM(easy_cleanup, "curl_easy_cleanup")
    SYM(easy_strerror, "curl_easy_strerror")
    SYM(slist_append, "curl_slist_append")
    SYM(slist_free_all, "curl_slist_free_all")
    SYM(global_init, "curl_global_init")
#undef SYM
    if (lib.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return;
    lib.loaded = 1;
}

typedef struct {
    char *data;
    size_t len, cap, max;
    int overflow;
    CURL *curl;
    i2curl_writer writer;   // when set, the body goes there instead
    void *writer_ctx;
    int writer_stopped;
} buffer;

static size_t collect(char *p, size_t size, size_t n, void *ctx) {
    buffer *b = (buffer *)ctx;
    size_t add = size * n;
    if (b->writer) {
        long status = 0;
        char *ct = NULL;
        lib.easy_getinfo(b->curl, CURLINFO_RESPONSE_CODE, &status);
        lib.easy_getinfo(b->curl, CURLINFO_CONTENT_TYPE, &ct);
        if (b->writer(p, add, status, ct ? ct : "", b->writer_ctx) != 0) { b->writer_stopped = 1; return 0; }
        return add;
    }
    if (b->len + add > b->max) { b->overflow = 1; return 0; }   // aborts the transfer
    if (b->len + add + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + add + 1) cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, add);
    b->len += add;
    b->data[b->len] = 0;
    return add;
}

static int say(char *err, size_t errlen, int code, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

typedef struct {
    i2curl_reader reader;
    void *ctx;
} source;

static size_t feed(char *p, size_t size, size_t n, void *ctx) {
    source *s = (source *)ctx;
    size_t got = s->reader(p, size * n, s->ctx);
    return got == (size_t)-1 ? CURL_READFUNC_ABORT : got;
}

int i2curl_request(const char *method, const char *url, const char *const *headers, int header_count, const char *user,
                   const char *password, const void *body, size_t body_len, i2curl_reader reader, void *reader_ctx,
                   i2curl_writer writer, void *writer_ctx, long connect_timeout, long timeout,
                   size_t max_body, const char *ca_file, i2curl_response *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    pthread_once(&once, load);
    if (!lib.loaded) return say(err, errlen, I2CURL_NO_LIBRARY, "libcurl.so.4 cannot be loaded: apt-get install -y libcurl4");
    CURL *c = lib.easy_init();
    if (!c) return say(err, errlen, I2CURL_FAILED, "curl_easy_init failed");
    struct curl_slist *list = NULL;
    for (int i = 0; i < header_count; i++) list = lib.slist_append(list, headers[i]);
    buffer b = {0, 0, 0, max_body, 0, c, writer, writer_ctx, 0};
    source src = {reader, reader_ctx};
    lib.easy_setopt(c, CURLOPT_URL, url);
    lib.easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    lib.easy_setopt(c, CURLOPT_HTTPHEADER, list);
    lib.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    lib.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, connect_timeout);
    lib.easy_setopt(c, CURLOPT_TIMEOUT, timeout);
    lib.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    lib.easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    lib.easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    lib.easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (ca_file && *ca_file) lib.easy_setopt(c, CURLOPT_CAINFO, ca_file);
    if (user && *user) {
        lib.easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        lib.easy_setopt(c, CURLOPT_USERNAME, user);
        lib.easy_setopt(c, CURLOPT_PASSWORD, password ? password : "");
    }
    if (body) {
        lib.easy_setopt(c, CURLOPT_POSTFIELDS, body);
        lib.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    } else if (reader) {
        lib.easy_setopt(c, CURLOPT_POST, 1L);
        lib.easy_setopt(c, CURLOPT_READFUNCTION, feed);
        lib.easy_setopt(c, CURLOPT_READDATA, &src);
        lib.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        lib.easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 1L << 20);   // fewer, larger reads of the files
    }
    if (writer) lib.easy_setopt(c, CURLOPT_BUFFERSIZE, 512L << 10);
    CURLcode rc = lib.easy_perform(c);
    int outcome = I2CURL_OK;
    if (rc != CURLE_OK) {
        const char *why = lib.easy_strerror(rc);
        switch (rc) {
        case CURLE_COULDNT_RESOLVE_HOST: outcome = say(err, errlen, I2CURL_UNRESOLVED, "cannot resolve the host: %s", why); break;
        case CURLE_COULDNT_CONNECT: outcome = say(err, errlen, I2CURL_UNREACHABLE, "%s", why); break;
        case CURLE_OPERATION_TIMEDOUT: outcome = say(err, errlen, I2CURL_TIMEOUT, "%s", why); break;
        case CURLE_SSL_CONNECT_ERROR: case CURLE_PEER_FAILED_VERIFICATION: case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
            outcome = say(err, errlen, I2CURL_TLS, "TLS: %s", why); break;
        case CURLE_ABORTED_BY_CALLBACK:
            outcome = say(err, errlen, I2CURL_FAILED, "the request body could not be read"); break;
        case CURLE_WRITE_ERROR:
            if (b.writer_stopped) { outcome = say(err, errlen, I2CURL_FAILED, "the answer could not be stored"); break; }
            if (b.overflow) { outcome = say(err, errlen, I2CURL_TOO_LARGE, "the answer exceeds %zu bytes", max_body); break; }
            /* fall through */
        default: outcome = say(err, errlen, I2CURL_FAILED, "%s", why); break;
        }
        free(b.data);
        b.data = NULL;
        b.len = 0;
    } else {
        char *ct = NULL;
        lib.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
        if (lib.easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct) snprintf(out->content_type, sizeof out->content_type, "%s", ct);
        out->body = b.data ? b.data : calloc(1, 1);
        out->body_len = b.len;
    }
    lib.slist_free_all(list);
    lib.easy_cleanup(c);
    return outcome;
}

void i2curl_free(i2curl_response *r) {
    free(r->body);
    r->body = NULL;
}
