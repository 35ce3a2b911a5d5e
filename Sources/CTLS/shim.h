#ifndef VOLUMED_CTLS_SHIM_H
#define VOLUMED_CTLS_SHIM_H
/* A TLS client connection pumped to a plain local socket: the hiredis in Debian 12 (0.14)
   has no TLS, so a connection to a `rediss://` server is made here and hiredis talks to the
   other end of a socketpair. Kept in C because OpenSSL's setters are macros Swift cannot call
   and the pump is a loop over raw buffers. */
#include <errno.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

static inline void ctls_error(char *error, size_t length, const char *what) {
    unsigned long code = ERR_get_error();
    if (code != 0) {
        char reason[256];
        ERR_error_string_n(code, reason, sizeof reason);
        snprintf(error, length, "%s: %s", what, reason);
    } else {
        snprintf(error, length, "%s: %s", what, errno ? strerror(errno) : "failed");
    }
    ERR_clear_error();
}

/* Connects to host:port over TCP and completes a TLS handshake that verifies the server's
   certificate against `ca_file` (or the system's roots when NULL) and its name or address
   against `host`. Returns the TCP descriptor and the session in *ssl_out, or -1 with a
   message in `error`. */
static inline int ctls_connect(const char *host, int port, const char *ca_file, int timeout_seconds, SSL **ssl_out, char *error, size_t error_length) {
    struct addrinfo hints = {0}, *found = NULL;
    hints.ai_socktype = SOCK_STREAM;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    int status = getaddrinfo(host, service, &hints, &found);
    if (status != 0) {
        snprintf(error, error_length, "cannot resolve %s: %s", host, gai_strerror(status));
        return -1;
    }
    int fd = -1;
    struct timeval timeout = { timeout_seconds, 0 };
    for (struct addrinfo *address = found; address != NULL; address = address->ai_next) {
        fd = socket(address->ai_family, address->ai_socktype | SOCK_CLOEXEC, address->ai_protocol);
        if (fd < 0) continue;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
        if (connect(fd, address->ai_addr, address->ai_addrlen) == 0) break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(found);
    if (fd < 0) {
        snprintf(error, error_length, "cannot connect to %s:%d: %s", host, port, strerror(errno));
        return -1;
    }
    SSL_CTX *context = SSL_CTX_new(TLS_client_method());
    if (context == NULL) { ctls_error(error, error_length, "TLS setup"); close(fd); return -1; }
    SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, NULL);
    int loaded = ca_file ? SSL_CTX_load_verify_locations(context, ca_file, NULL) : SSL_CTX_set_default_verify_paths(context);
    if (loaded != 1) { ctls_error(error, error_length, "loading the CA certificates"); SSL_CTX_free(context); close(fd); return -1; }
    SSL *ssl = SSL_new(context);
    SSL_CTX_free(context);
    if (ssl == NULL) { ctls_error(error, error_length, "TLS setup"); close(fd); return -1; }
    unsigned char ip[16];
    int isAddress = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
    if (isAddress) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
    } else {
        SSL_set_tlsext_host_name(ssl, host);
        SSL_set1_host(ssl, host);
    }
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1) {
        long verified = SSL_get_verify_result(ssl);
        if (verified != X509_V_OK) {
            snprintf(error, error_length, "TLS handshake with %s:%d: certificate not trusted (%s)", host, port, X509_verify_cert_error_string(verified));
            ERR_clear_error();
        } else {
            ctls_error(error, error_length, "TLS handshake");
        }
        SSL_free(ssl);
        close(fd);
        return -1;
    }
    /* The pump waits in poll(2) and never in a read: a TLS 1.3 server sends session tickets
       after the handshake, and a blocking SSL_read would take one and then wait for
       application data that only comes once the pump has forwarded a command. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    *ssl_out = ssl;
    return fd;
}

/* Copies bytes both ways between the TLS session on `tcp` and the plain socket `local` until
   either side closes, then closes both and frees the session. Bytes for `local` are buffered
   without bound rather than blocking: hiredis writes a whole pipeline before it reads a
   reply, and a pump blocked on its replies would stop reading its commands. */
static inline int ctls_write_all(SSL *ssl, int tcp, const char *bytes, int length) {
    for (;;) {
        int sent = SSL_write(ssl, bytes, length);
        if (sent > 0) return 1;
        int reason = SSL_get_error(ssl, sent);
        if (reason != SSL_ERROR_WANT_WRITE && reason != SSL_ERROR_WANT_READ) return 0;
        struct pollfd wait = { tcp, reason == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, 0 };
        if (poll(&wait, 1, -1) < 0 && errno != EINTR) return 0;
    }
}

static inline void ctls_pump(SSL *ssl, int tcp, int local) {
    fcntl(local, F_SETFL, fcntl(local, F_GETFL) | O_NONBLOCK);
    char buffer[65536];
    char *pending = NULL;
    size_t pending_length = 0, pending_capacity = 0, pending_start = 0;
    int open = 1;
    while (open) {
        struct pollfd fds[2] = { { tcp, POLLIN, 0 }, { local, POLLIN | (pending_length > pending_start ? POLLOUT : 0), 0 } };
        if (poll(fds, 2, -1) < 0 && errno != EINTR) break;
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            /* Every whole record that has arrived, until the session wants more bytes. */
            for (;;) {
                int got = SSL_read(ssl, buffer, sizeof buffer);
                if (got <= 0) {
                    int reason = SSL_get_error(ssl, got);
                    if (reason != SSL_ERROR_WANT_READ && reason != SSL_ERROR_WANT_WRITE) open = 0;
                    break;
                }
                if (pending_length + (size_t)got > pending_capacity) {
                    pending_capacity = (pending_length + (size_t)got) * 2;
                    char *grown = realloc(pending, pending_capacity);
                    if (grown == NULL) { open = 0; break; }
                    pending = grown;
                }
                memcpy(pending + pending_length, buffer, (size_t)got);
                pending_length += (size_t)got;
            }
        }
        if (pending_length > pending_start) {
            ssize_t sent = write(local, pending + pending_start, pending_length - pending_start);
            if (sent > 0) pending_start += (size_t)sent;
            else if (sent < 0 && errno != EAGAIN && errno != EINTR) open = 0;
            if (pending_start == pending_length) pending_start = pending_length = 0;
        }
        if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t got = read(local, buffer, sizeof buffer);
            if (got > 0) {
                if (!ctls_write_all(ssl, tcp, buffer, (int)got)) open = 0;
            } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
                open = 0;
            }
        }
    }
    free(pending);
    SSL_shutdown(ssl);
    SSL_free(ssl);
    close(tcp);
    close(local);
}
#endif
