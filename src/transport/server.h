/* server: the SOAP 1.2 / MTOM endpoint: listener, workers, one request's path through them.
 * Owns: binding and accepting (gSOAP), TLS 1.2+/1.3 with optional client certificates
 * (gSOAP's OpenSSL layer), keep-alive connections served by a fixed pool of worker threads,
 * the limits and timeouts that keep slow or oversized requests from holding them, dispatch on
 * path + wsa:Action to the cg_route table, faults, GET /health and GET <endpoint>?wsdl, and
 * other GETs by path prefix to the cg_get_route table.
 * A worker holds a connection only while it has bytes to read: an idle one (new, or kept alive
 * between requests) is parked with the accepting thread, which watches it with epoll and queues
 * it for the workers again when its next request arrives, or closes it at its deadline. (A
 * worker with no other connection waiting watches a kept-alive one 2 ms first, and serves a
 * request that comes by then itself.)
 * Does not own: what a request means (svc handlers), MIME splitting (transport/mime), the
 * envelope's reading (transport/envelope) or the bytes on the wire (transport/wire). */
#ifndef CG_TRANSPORT_SERVER_H
#define CG_TRANSPORT_SERVER_H

#include <stddef.h>

#include "svc/request.h"
#include "util/buf.h"
#include "util/err.h"

typedef struct cg_server cg_server;

typedef struct cg_server_wsdl {
    const char *path; /* endpoint path, e.g. "/xds/repository" */
    const char *file; /* file name in wsdl_dir, e.g. "repository.wsdl" */
} cg_server_wsdl;

/* Defaults apply to every zero field. Strings and tables must outlive the server. */
typedef struct cg_server_config {
    const char *listen;       /* "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:8443"; port 0 = any */
    unsigned threads;         /* worker threads (default 2 x cores, at least 4, at most 256) */
    unsigned max_connections; /* open connections (active, queued or parked) before new ones
                               * get 503 (256); one served holds a gSOAP context (160 KiB) */
    size_t max_envelope;      /* bytes of the SOAP envelope (16 MiB) */
    size_t max_part;          /* decoded bytes of one attachment (64 MiB) */
    size_t max_parts;         /* attachments per request (100) */
    size_t max_header;        /* bytes of the HTTP header block and of one MIME part's (16 KiB) */
    unsigned max_depth;       /* XML nesting (256) */
    int recv_timeout_s;       /* a read that stalls this long ends the connection, as does a
                               * new connection that sends nothing for this long (30) */
    int send_timeout_s;       /* a write that stalls this long ends the connection (30) */
    int transfer_timeout_s;   /* one whole request or answer (300) */
    int keepalive_timeout_s;  /* an idle keep-alive connection is closed after this (15) */
    unsigned keepalive_max;   /* requests per connection (100) */
    const char *tls_cert, *tls_key, *tls_key_password; /* PEM files; tls_cert set = HTTPS */
    const char *tls_ca;       /* CA bundle: set = a client certificate is required (mTLS) */
    const char *tls_ciphers;  /* OpenSSL cipher list for TLS 1.2; default ECDHE AEAD only */
    int tls13_only;           /* else TLS 1.2 and 1.3 */
    int allow_plain;          /* plain HTTP on a non-loopback address only when set */
    const cg_route *routes;
    size_t nroutes;
    const cg_get_route *get_routes; /* GET paths that are not SOAP (pages, documents) */
    size_t nget_routes;
    const char *wsdl_dir;     /* directory of the WSDL files served for GET <path>?wsdl */
    const cg_server_wsdl *wsdl_map;
    size_t nwsdl;
    /* GET /health: fills out with a JSON body; returns the HTTP status (0 = 200). */
    int (*health)(void *ctx, cg_buf *out);
    void *health_ctx;
    /* One call per HTTP request, after the answer was sent (resp NULL when no SOAP answer). */
    void (*on_request)(void *ctx, const cg_request *req, const cg_response *resp,
                       int http_status, double ms);
    void *log_ctx;
} cg_server_config;

/* Binds and starts the workers. CG_EINVAL: bad listen address, plain HTTP on a non-loopback
 * address without allow_plain, unusable TLS files; CG_EIO: the address cannot be bound. */
int cg_server_start(cg_server **out, const cg_server_config *cfg, cg_err *err);
/* The bound port (useful with port 0). */
int cg_server_port(const cg_server *srv);
/* Async-signal-safe: asks cg_server_run to return (writes one byte to a pipe). */
void cg_server_stop(cg_server *srv);
/* Accepts connections until stopped; returns after the workers finished their requests.
 * 0, or CG_EIO when accepting failed for good. */
int cg_server_run(cg_server *srv);
/* Open connections by state, at one instant. */
typedef struct cg_server_stats {
    unsigned active; /* a worker is serving it */
    unsigned queued; /* bytes of a request arrived: waits for a worker */
    unsigned parked; /* idle (new, or between requests): watched by the accepting thread */
} cg_server_stats;

/* A snapshot of the connection counts (tests, /health). */
void cg_server_get_stats(cg_server_stats *out, cg_server *srv);
/* Stops (if running), joins the workers, closes the listener. NULL is allowed. */
void cg_server_free(cg_server *srv);

/* A listen address "HOST:PORT" or "[IPV6]:PORT" split (host into a buffer of cap bytes); port
 * 0..65535. CG_EINVAL when malformed. Also used by the MLLP listener. */
int cg_listen_parse(const char *listen, char *host, size_t cap, int *port);
/* Whether a host of cg_listen_parse is loopback (plain TCP is allowed there only by default). */
int cg_listen_is_loopback(const char *host);

#endif
