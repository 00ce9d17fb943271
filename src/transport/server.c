/* server: listener, workers and the path of one request (see server.h). */
#define _GNU_SOURCE
#include "transport/server.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "transport/envelope.h"
#include "transport/mime.h"
#include "transport/wire.h"
#include "util/alloc.h"
#include "util/fs.h"
#include "util/id.h"
#include "xml/parse.h"

#define SERVER_DEFAULT_CIPHERS                                                                     \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"     \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define SERVER_MAX_WSDL ((size_t)1 << 20)
#define SERVER_MAX_HEALTH ((size_t)64 << 10)
#define SERVER_DRAIN_BYTES ((size_t)64 << 20)
#define SERVER_DRAIN_MS 2000
/* Slow clients: a request whose next bytes do not come within this time, while all it sent so
 * far fits a gSOAP buffer (64 KB), goes back to the accepting thread with those bytes
 * (conn.saved) instead of holding its worker; the receive timeout still ends it (408). */
#define SERVER_GATE_MS 50
/* The kernel's send buffer of a connection (doubled by Linux for its own accounting): an
 * answer up to about this size is handed over whole, and its worker goes on while the client
 * reads it, instead of waiting for the client to drain the 16 KB the buffer starts at. It is a
 * bound, taken only while bytes wait to be read; the send timeout ends a client that stops. */
#define SERVER_SNDBUF (1 << 20)
/* Keep-alive: a worker that answered a request and has no other connection waiting watches its
 * connection this long for the next request before parking it, which spares that request the
 * hand-off through the accepting thread (an epoll wake-up, the queue, a worker's wake-up). */
#define SERVER_LINGER_MS 2

/* A gSOAP context with its wire state. A connection has one from the first time a worker serves
 * it until it is closed; then it is kept for the next connection (at most one per worker). */
typedef struct gsoap_ctx {
    struct soap *soap;
    cg_wire wire;
    struct gsoap_ctx *next; /* in the spare list */
} gsoap_ctx;

/* Why a connection is parked, and so which timeout ends it. */
enum {
    PARK_FIRST, /* no request yet: recv_timeout_s */
    PARK_IDLE,  /* between two requests: keepalive_timeout_s */
    PARK_KINDS
};

typedef enum conn_state {
    CONN_PARKED,  /* the accepting thread's: idle, its socket in the epoll set */
    CONN_QUEUED,  /* bytes arrived: in the queue, waiting for a worker */
    CONN_ACTIVE,  /* a worker's */
    CONN_CLOSING, /* taken off the parked lists to be closed */
} conn_state;

/* One open connection. It has one owner at a time (see conn_state); the state changes and the
 * lists and queue it is on change only under the server's lock. */
typedef struct conn {
    SOAP_SOCKET fd;
    char peer[INET6_ADDRSTRLEN + 8];
    conn_state state;
    int started;              /* its socket is in ctx->soap (and the TLS handshake was done) */
    gsoap_ctx *ctx;           /* NULL until a worker first serves it */
    cg_pool *pool;            /* lives as long as the connection (TLS subject); may be NULL */
    const char *peer_subject; /* the TLS client certificate's subject, in pool */
    unsigned requests;        /* answered on this connection */
    int park_kind;            /* parked: PARK_FIRST or PARK_IDLE */
    int64_t deadline_ms;      /* parked: closed then unless bytes arrived (INT64_MAX: never) */
    struct conn *prev, *next; /* parked: in srv->parked[park_kind], oldest first */
    /* a request set aside half-read (slow client: see SERVER_GATE_MS) */
    char *saved;      /* the bytes it sent so far, read again when more arrive */
    size_t nsaved;
    int64_t since_ms; /* when it was first set aside */
    int expired;      /* its receive timeout passed while parked: answer 408 and close */
} conn;

/* Parked connections of one kind. They all wait the same time, so appending keeps the list
 * sorted by deadline: the head is the next to expire. */
typedef struct conn_list {
    conn *head, *tail;
} conn_list;

struct cg_server {
    cg_server_config cfg;
    cg_request_limits limits;
    cg_xml_limits xml_limits;
    struct soap *master; /* bound listener; TLS context shared by the connections' copies */
    struct soap *proto;  /* unbound copy of master with the hooks set: copied per connection */
    struct soap *reject; /* answers 503 when every slot is taken */
    int port;
    int tls;
    int stop_pipe[2];
    int epfd;                  /* accepting thread: listener, stop pipe, parked sockets */
    atomic_int stop_requested; /* set by cg_server_stop (async-signal-safe) */
    int stopping;              /* under lock: nothing is parked or served any more */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    conn **queue; /* ring of max_connections: cannot overflow, as nconns is bounded */
    size_t qhead, qlen, qcap;
    conn_list parked[PARK_KINDS];
    unsigned nparked;
    unsigned active;
    unsigned nconns; /* open: active + queued + parked (+ being closed) */
    gsoap_ctx *spare;
    unsigned nspare;
    pthread_t *workers;
    unsigned nworkers;
    int joined;
};

/* One worker: the connection it serves now, and a request pool reused across requests. */
typedef struct worker {
    cg_server *srv;
    struct soap *soap; /* the connection's context while serving it */
    cg_wire *wire;     /* its wire state */
    cg_pool *pool;
    const conn *conn;
    const char *peer_subject;
    struct timespec t0;
    int status; /* HTTP status of the answer sent for the current request */
    int last;   /* the connection's last request (keepalive_max) */
    int kept;   /* keep_unread was called for the current request */
    size_t nunread;
    char unread[sizeof(((struct soap *)0)->buf)]; /* bytes read past the current request */
    char keep[sizeof(((struct soap *)0)->buf)];   /* a request's bytes while they are gated */
} worker;

static double ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) * 1000.0 + (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

static int64_t now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* ---- small answers that are not SOAP ------------------------------------------------------- */

/* gSOAP writes an answer through the buffer it reads from, so bytes it read past the request
 * (the start of a pipelined next one) are set aside before the answer; serve_connection puts
 * them back for the next soap_begin_recv. Once per request, when its body has been read. */
static void keep_unread(struct soap *soap)
{
    cg_wire *w = soap->user;
    worker *wk = w ? w->owner : NULL;
    if (!wk || wk->kept)
        return;
    wk->kept = 1;
    if (soap->keep_alive && soap->bufidx < soap->buflen) {
        wk->nunread = soap->buflen - soap->bufidx;
        memcpy(wk->unread, soap->buf + soap->bufidx, wk->nunread);
        soap->bufidx = soap->buflen;
    }
}

static int send_plain(struct soap *soap, int status, const char *type, const char *body, size_t len)
{
    keep_unread(soap);
    soap->http_content = type;
    int rc = soap_response(soap, status == 200 ? SOAP_FILE : SOAP_FILE + status);
    if (rc == SOAP_OK && len)
        rc = soap_send_raw(soap, body, len);
    if (rc == SOAP_OK)
        rc = soap_end_send(soap);
    soap->http_content = NULL;
    return rc;
}

static int send_text(struct soap *soap, int status, const char *text)
{
    return send_plain(soap, status, "text/plain; charset=utf-8", text, strlen(text));
}

static void log_request(worker *wk, const cg_request *req, const cg_response *resp, int status)
{
    const cg_server_config *cfg = &wk->srv->cfg;
    if (!cfg->on_request)
        return;
    cg_request plain = {0};
    if (!req) {
        plain.pool = wk->pool;
        plain.path = wk->soap->path;
        plain.peer_addr = wk->conn->peer;
        plain.peer_subject = wk->peer_subject;
        plain.limits = &wk->srv->limits;
        req = &plain;
    }
    cfg->on_request(cfg->log_ctx, req, resp, status, ms_since(&wk->t0));
}

/* ---- GET: /health, <endpoint>?wsdl; other methods ------------------------------------------ */

static const char *path_query(struct soap *soap, char *path, size_t cap)
{
    snprintf(path, cap, "%s", soap->path);
    char *q = strchr(path, '?');
    if (!q)
        return "";
    *q = '\0';
    return q + 1;
}

/* The address the client used, for the WSDL's soap12:address: its Host header when it looks
 * like a host name (or IP literal) and port, else the listen address. */
static const char *client_host(worker *wk)
{
    const char *host = wk->wire->host;
    if (host && *host && strlen(host) < 256 &&
        strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") ==
            strlen(host))
        return host;
    return cg_pool_printf(wk->pool, "localhost:%d", wk->srv->port);
}

static int wsdl_rewrite(xmlNodePtr n, const char *location)
{
    int done = 0;
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (strcmp((const char *)n->name, "address") == 0 && n->ns &&
            (strcmp((const char *)n->ns->href, "http://schemas.xmlsoap.org/wsdl/soap12/") == 0 ||
             strcmp((const char *)n->ns->href, "http://schemas.xmlsoap.org/wsdl/soap/") == 0)) {
            xmlSetProp(n, (const xmlChar *)"location", (const xmlChar *)location);
            done++;
        }
        done += wsdl_rewrite(n->children, location);
    }
    return done;
}

static int serve_wsdl(worker *wk, const char *path)
{
    cg_server *srv = wk->srv;
    struct soap *soap = wk->soap;
    const char *file = NULL;
    for (size_t i = 0; i < srv->cfg.nwsdl; i++)
        if (strcmp(srv->cfg.wsdl_map[i].path, path) == 0)
            file = srv->cfg.wsdl_map[i].file;
    if (!file || !srv->cfg.wsdl_dir) {
        wk->status = 404;
        return send_text(soap, 404, "no WSDL for this path\n");
    }
    char *full = cg_fs_join(srv->cfg.wsdl_dir, file);
    xmlDocPtr doc = NULL;
    cg_err err;
    cg_err_init(&err);
    cg_xml_limits lim;
    cg_xml_limits_default(&lim);
    lim.max_bytes = SERVER_MAX_WSDL;
    int rc = cg_xml_parse_file(&doc, full, &lim, &err);
    free(full);
    if (rc != CG_OK) {
        wk->status = 500;
        return send_text(soap, 500, "the WSDL file cannot be read\n");
    }
    const char *location = cg_pool_printf(wk->pool, "%s://%s%s", srv->tls ? "https" : "http",
                                          client_host(wk), path);
    wsdl_rewrite(xmlDocGetRootElement(doc), location);
    xmlChar *text = NULL;
    int len = 0;
    xmlDocDumpMemoryEnc(doc, &text, &len, "UTF-8");
    xmlFreeDoc(doc);
    wk->status = 200;
    rc = send_plain(soap, 200, "text/xml; charset=utf-8", (const char *)text, (size_t)len);
    xmlFree(text);
    return rc;
}

static const cg_get_route *find_get_route(const cg_server *srv, const char *path)
{
    for (size_t i = 0; i < srv->cfg.nget_routes; i++) {
        const char *prefix = srv->cfg.get_routes[i].prefix;
        if (strncmp(path, prefix, strlen(prefix)) == 0)
            return &srv->cfg.get_routes[i];
    }
    return NULL;
}

/* A GET route's answer (a page, a document), sent as the handler made it. */
static int serve_get_route(worker *wk, const cg_get_route *route, const char *path,
                           const char *query)
{
    cg_server *srv = wk->srv;
    cg_request req = {0};
    req.pool = wk->pool;
    req.path = cg_pool_strdup(wk->pool, path);
    req.peer_addr = wk->conn->peer;
    req.peer_subject = wk->peer_subject;
    req.limits = &srv->limits;
    req.audit = cg_audit_event_new(wk->pool);
    cg_http_answer a = {0};
    int rc;
    if (route->fn(route->ctx, &req, path + strlen(route->prefix), query, &a) != CG_OK ||
        a.status < 200 || a.status > 599 || !a.content_type) {
        wk->status = 500;
        rc = send_text(wk->soap, 500, "the page could not be made\n");
    } else {
        wk->status = a.status;
        wk->soap->http_extra_header = a.headers;
        rc = send_plain(wk->soap, a.status, a.content_type, (const char *)a.data, a.len);
        wk->soap->http_extra_header = NULL;
    }
    log_request(wk, &req, NULL, wk->status);
    return rc;
}

static int server_get(struct soap *soap)
{
    cg_wire *w = soap->user;
    if (w->parked)
        return SOAP_STOP; /* its header stalled, not ended: answered when it is whole */
    worker *wk = w->owner;
    cg_server *srv = wk->srv;
    char path[sizeof(soap->path)];
    const char *query = path_query(soap, path, sizeof(path));
    const cg_get_route *route;
    int rc;
    if (wk->last)
        soap->keep_alive = 0;
    if (strcmp(path, "/health") == 0) {
        cg_buf out;
        cg_buf_init(&out, SERVER_MAX_HEALTH);
        int status = 200;
        if (srv->cfg.health) {
            status = srv->cfg.health(srv->cfg.health_ctx, &out);
            if (status == 0)
                status = 200;
            else if (status < 100 || status > 599)
                status = 500;
        } else {
            cg_buf_puts(&out, "{\"status\":\"ok\"}");
        }
        wk->status = status;
        rc = send_plain(soap, status, "application/json", out.data ? out.data : "", out.len);
        cg_buf_dispose(&out);
    } else if (strcasecmp(query, "wsdl") == 0) {
        rc = serve_wsdl(wk, path);
    } else if ((route = find_get_route(srv, path)) != NULL) {
        rc = serve_get_route(wk, route, path, query);
        return rc == SOAP_OK ? SOAP_STOP : rc;
    } else {
        wk->status = 404;
        rc = send_text(soap, 404, "not found\n");
    }
    log_request(wk, NULL, NULL, wk->status);
    return rc == SOAP_OK ? SOAP_STOP : rc;
}

static int server_method_not_allowed(struct soap *soap)
{
    cg_wire *w = soap->user;
    if (w->parked)
        return SOAP_STOP; /* its header stalled, not ended */
    worker *wk = w->owner;
    soap->keep_alive = 0; /* its body, if any, is not read */
    soap->http_extra_header = "Allow: GET, POST";
    wk->status = 405;
    int rc = send_text(soap, 405, "only GET and POST are served\n");
    soap->http_extra_header = NULL;
    log_request(wk, NULL, NULL, 405);
    return rc == SOAP_OK ? SOAP_STOP : rc;
}

/* ---- POST: one SOAP request ---------------------------------------------------------------- */

static int has_path(const cg_server *srv, const char *path)
{
    for (size_t i = 0; i < srv->cfg.nroutes; i++)
        if (strcmp(srv->cfg.routes[i].path, path) == 0)
            return 1;
    return 0;
}

static const char *fault_qname(cg_fault_code code)
{
    switch (code) {
    case CG_FAULT_SENDER:
        return "SOAP-ENV:Sender";
    case CG_FAULT_VERSION_MISMATCH:
        return "SOAP-ENV:VersionMismatch";
    case CG_FAULT_MUST_UNDERSTAND:
        return "SOAP-ENV:MustUnderstand";
    case CG_FAULT_RECEIVER:
    case CG_FAULT_NONE:
        break;
    }
    return "SOAP-ENV:Receiver";
}

/* Sends resp (a body or a fault) with the WS-Addressing headers; returns the HTTP status. */
static int send_soap(worker *wk, const cg_envelope *env, const cg_response *resp, int soap11,
                     const char *extra_header)
{
    struct soap *soap = wk->soap;
    keep_unread(soap);
    cg_buf head, body;
    cg_buf_init(&head, (size_t)1 << 20);
    cg_buf_init(&body, (size_t)-1);
    char msgid[CG_UUID_URN_LEN + 1];
    cg_id_uuid_urn(msgid);
    int status;
    cg_wire_out o = {0};
    o.soap11 = soap11;
    if (resp->fault) {
        status = resp->http_status ? resp->http_status
                                   : resp->fault == CG_FAULT_SENDER ? 400 : 500;
        o.fault_code = fault_qname(resp->fault);
        o.fault_subcode = resp->fault_subcode;
        o.fault_reason = resp->fault_reason ? resp->fault_reason : "";
        if (!soap11) {
            cg_envelope_put_header(&head, resp->action ? resp->action : CG_WSA_FAULT_ACTION, msgid,
                                   env ? env->message_id : NULL, NULL);
            if (extra_header) {
                /* splice extra header blocks (NotUnderstood) into the Header element */
                if (head.len == 0)
                    cg_buf_printf(&head, "<SOAP-ENV:Header>%s</SOAP-ENV:Header>", extra_header);
                else {
                    head.len -= strlen("</SOAP-ENV:Header>");
                    head.data[head.len] = '\0';
                    cg_buf_printf(&head, "%s</SOAP-ENV:Header>", extra_header);
                }
            }
        }
    } else {
        status = resp->http_status ? resp->http_status : 200;
        cg_envelope_put_header(&head, resp->action, msgid, env ? env->message_id : NULL, NULL);
        if (cg_envelope_put_body(&body, resp->body, resp->nsplice ? &o.splice_at : NULL) !=
            CG_OK) {
            cg_buf_dispose(&head);
            cg_buf_dispose(&body);
            wk->status = 500;
            return send_text(soap, 500, "the answer could not be serialised\n"), 500;
        }
        o.body_xml = body.data;
        o.splice = resp->splice;
        o.nsplice = resp->nsplice;
        o.parts = resp->parts;
        o.nparts = resp->nparts;
        o.mtom = resp->mtom;
    }
    o.header_xml = head.len ? head.data : NULL;
    o.http_status = status;
    cg_wire_send(soap, &o, NULL, NULL);
    cg_buf_dispose(&head);
    cg_buf_dispose(&body);
    wk->status = status;
    return status;
}

static const char *action_param(cg_pool *pool, const char *content_type)
{
    char *a = cg_mime_param(pool, content_type, "action");
    return a && *a ? a : NULL;
}

static void handle_post(worker *wk)
{
    cg_server *srv = wk->srv;
    struct soap *soap = wk->soap;
    cg_pool *pool = wk->pool;
    char path[sizeof(soap->path)];
    path_query(soap, path, sizeof(path));
    cg_request req = {0};
    req.pool = pool;
    req.path = cg_pool_strdup(pool, path);
    req.peer_addr = wk->conn->peer;
    req.peer_subject = wk->peer_subject;
    req.limits = &srv->limits;
    req.audit = cg_audit_event_new(pool);
    if (srv->cfg.transfer_timeout_s > 0)
        req.deadline_ms = now_ms() + (int64_t)srv->cfg.transfer_timeout_s * 1000;
    cg_response resp = {0};
    cg_envelope env = {0};
    int have_env = 0, soap11 = 0;
    const char *extra = NULL;
    cg_err err;
    cg_err_init(&err);

    if (!has_path(srv, path)) {
        soap->keep_alive = 0;
        wk->status = 404;
        send_text(soap, 404, "no SOAP endpoint at this path\n");
        cg_wire_drain(soap, SERVER_DRAIN_BYTES, SERVER_DRAIN_MS);
        log_request(wk, &req, NULL, 404);
        return;
    }
    cg_wire_limits lim = {srv->limits.max_envelope, srv->limits.max_part, srv->limits.max_parts,
                          srv->cfg.max_header};
    cg_wire_message msg;
    int rc = cg_wire_read(soap, pool, &lim, &msg, &err);
    if (wk->wire->parked)
        return; /* set aside until more of it arrives: no answer yet */
    if (rc == CG_ETOOBIG) {
        soap->keep_alive = 0;
        wk->status = 413;
        send_text(soap, 413, cg_pool_printf(pool, "request too large: %s\n", err.msg));
        cg_wire_drain(soap, SERVER_DRAIN_BYTES, SERVER_DRAIN_MS);
        log_request(wk, &req, NULL, 413);
        return;
    }
    if (rc == CG_EIO) {
        soap->keep_alive = 0;
        wk->status = 408;
        send_text(soap, 408, "the request body did not arrive in time\n");
        log_request(wk, &req, NULL, 408);
        return;
    }
    int body_read = rc == CG_OK;
    if (wk->wire->eof)
        soap->keep_alive = 0; /* a body that ended with the connection: nothing can follow */
    if (rc != CG_OK) {
        soap->keep_alive = 0; /* the body may not have been read to its end */
        cg_response_fault(&resp, pool, CG_FAULT_SENDER, NULL, "%s", err.msg);
        goto answer;
    }
    const char *type = wk->wire->content_type;
    char *media = cg_mime_type(pool, type);
    if (!media || (strcmp(media, "application/soap+xml") != 0 &&
                   strcmp(media, "multipart/related") != 0 && strcmp(media, "text/xml") != 0 &&
                   strcmp(media, "application/xml") != 0)) {
        cg_response_fault(&resp, pool, CG_FAULT_SENDER, NULL,
                          "Content-Type \"%s\" is not application/soap+xml or multipart/related",
                          type ? type : "");
        goto answer;
    }
    rc = cg_envelope_read(&env, pool, msg.envelope, msg.envelope_len, &srv->xml_limits, &err);
    if (rc != CG_OK) {
        cg_response_fault(&resp, pool, CG_FAULT_SENDER, NULL, "the SOAP envelope was refused: %s",
                          err.msg);
        goto answer;
    }
    have_env = 1;
    if (env.version_mismatch) {
        soap11 = env.soap11;
        cg_response_fault(&resp, pool, CG_FAULT_VERSION_MISMATCH, NULL,
                          "only SOAP 1.2 (%s) envelopes are accepted", CG_NS_SOAP12);
        goto answer;
    }
    req.envelope = env.doc;
    req.body = env.body;
    req.message_id = env.message_id;
    req.reply_to = env.reply_to;
    req.parts = msg.parts;
    req.nparts = msg.nparts;
    if (env.not_understood) {
        cg_response_fault(&resp, pool, CG_FAULT_MUST_UNDERSTAND, NULL,
                          "header block %s is marked mustUnderstand and is not understood",
                          env.not_understood);
        cg_buf nu;
        cg_buf_init(&nu, 4096);
        cg_buf_puts(&nu, "<SOAP-ENV:NotUnderstood qname=\"nu:");
        cg_envelope_put_text(&nu, env.not_understood);
        cg_buf_puts(&nu, "\" xmlns:nu=\"");
        cg_envelope_put_text(&nu, env.not_understood_ns ? env.not_understood_ns : "");
        cg_buf_puts(&nu, "\"/>");
        extra = cg_pool_strdup(pool, nu.data);
        cg_buf_dispose(&nu);
        goto answer;
    }
    const char *action = env.action;
    if (!action || !*action)
        action = action_param(pool, type);
    if ((!action || !*action) && msg.root_content_type)
        action = action_param(pool, msg.root_content_type);
    if ((!action || !*action) && wk->wire->soap_action) {
        const char *sa = cg_mime_cid(pool, wk->wire->soap_action);
        size_t n = strlen(sa);
        if (n >= 2 && sa[0] == '"' && sa[n - 1] == '"')
            sa = cg_pool_strndup(pool, sa + 1, n - 2);
        action = *sa ? sa : NULL;
    }
    if (!action || !*action)
        action = env.misplaced_action;
    req.action = action;
    if (!env.body) {
        cg_response_fault(&resp, pool, CG_FAULT_SENDER, NULL, "the SOAP Body is empty");
        goto answer;
    }
    const cg_route *route = cg_route_find(srv->cfg.routes, srv->cfg.nroutes, path, action,
                                          env.body);
    if (!route) {
        cg_response_fault(&resp, pool, CG_FAULT_SENDER, "wsa:ActionNotSupported",
                          "action \"%s\" is not supported at %s", action ? action : "", path);
        goto answer;
    }
    if (!req.action)
        req.action = route->action;
    rc = route->fn(route->ctx, &req, &resp);
    if (rc != CG_OK && !resp.fault)
        cg_response_fault(&resp, pool, CG_FAULT_RECEIVER, NULL,
                          "the request could not be processed (%s)", cg_err_name(rc));
answer:;
    int status = send_soap(wk, have_env ? &env : NULL, &resp, soap11, extra);
    if (!soap->keep_alive && !body_read) /* read to its end, no need to wait for the peer */
        cg_wire_drain(soap, SERVER_DRAIN_BYTES, SERVER_DRAIN_MS);
    log_request(wk, &req, &resp, status);
}

/* ---- connections --------------------------------------------------------------------------- */

/* Whether the next request on an idle keep-alive connection arrives while no other connection
 * waits for a worker (SERVER_LINGER_MS): then its worker serves it at once. */
static int linger(cg_server *srv, struct soap *soap)
{
    pthread_mutex_lock(&srv->lock);
    int waiting = srv->qlen > 0 || srv->stopping;
    pthread_mutex_unlock(&srv->lock);
    if (waiting)
        return 0;
    struct pollfd pfd = {.fd = soap->socket, .events = POLLIN};
    return poll(&pfd, 1, SERVER_LINGER_MS) == 1 && (pfd.revents & POLLIN);
}

/* A configured timeout in milliseconds, -1 for none; negative values are microseconds, as
 * gSOAP reads them. */
static int64_t timeout_ms(int seconds)
{
    if (seconds < 0)
        return seconds / -1000 > 0 ? seconds / -1000 : 1;
    return seconds > 0 ? (int64_t)seconds * 1000 : -1;
}

static void list_append(conn_list *l, conn *c)
{
    c->next = NULL;
    c->prev = l->tail;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
}

static void list_remove(conn_list *l, conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    c->prev = c->next = NULL;
}

/* Under lock: puts a connection whose next bytes arrived at the end of the queue. */
static void queue_push(cg_server *srv, conn *c)
{
    assert(srv->qlen < srv->qcap);
    c->state = CONN_QUEUED;
    srv->queue[(srv->qhead + srv->qlen) % srv->qcap] = c;
    srv->qlen++;
    pthread_cond_signal(&srv->cond);
}

static void ctx_free(gsoap_ctx *g)
{
    soap_destroy(g->soap);
    soap_end(g->soap);
    soap_free(g->soap);
    free(g);
}

/* A spare context, or a new copy of the prototype; NULL when gSOAP is out of memory. */
static gsoap_ctx *ctx_get(cg_server *srv)
{
    pthread_mutex_lock(&srv->lock);
    gsoap_ctx *g = srv->spare;
    if (g) {
        srv->spare = g->next;
        srv->nspare--;
        pthread_mutex_unlock(&srv->lock);
        g->next = NULL;
        cg_wire_reset(&g->wire);
        return g;
    }
    /* soap_copy reads the prototype only; the lock keeps it to one copy at a time anyway */
    struct soap *soap = soap_copy(srv->proto);
    pthread_mutex_unlock(&srv->lock);
    if (!soap)
        return NULL;
    g = cg_xcalloc(1, sizeof(*g));
    g->soap = soap;
    cg_wire_attach(soap, &g->wire, srv->cfg.max_header);
    return g;
}

/* Keeps a context whose socket is closed for the next connection, or frees it. */
static void ctx_put(cg_server *srv, gsoap_ctx *g)
{
    soap_destroy(g->soap);
    soap_end(g->soap);
    pthread_mutex_lock(&srv->lock);
    int keep = srv->nspare < srv->nworkers;
    if (keep) {
        g->next = srv->spare;
        srv->spare = g;
        srv->nspare++;
    }
    pthread_mutex_unlock(&srv->lock);
    if (!keep)
        ctx_free(g);
}

/* Closes and frees a connection that is on no list and not in the queue. `now`: without
 * waiting for the TLS peer's close_notify, as the accepting thread must (gSOAP's close can wait
 * seconds for it); a close_notify is still sent when the socket takes it at once. */
static void conn_free(cg_server *srv, conn *c, int now)
{
    if (!c->started) {
        close(c->fd);
    } else {
        struct soap *soap = c->ctx->soap;
        if (now && soap_valid_socket(soap->socket)) {
            if (soap->ssl) {
                fcntl(soap->socket, F_SETFL, fcntl(soap->socket, F_GETFL) | O_NONBLOCK);
                SSL_shutdown(soap->ssl);
                SSL_free(soap->ssl);
                soap->ssl = NULL;
                ERR_clear_error();
            }
            close(soap->socket);
            soap->socket = SOAP_INVALID_SOCKET;
        }
        soap->keep_alive = 0;
        soap_closesock(soap); /* closes the socket (if still open) and frees the SSL object */
        if (soap_valid_socket(soap->socket))
            close(soap->socket);
        soap->socket = SOAP_INVALID_SOCKET;
        if (soap->ssl) {
            SSL_free(soap->ssl);
            soap->ssl = NULL;
        }
    }
    if (c->ctx)
        ctx_put(srv, c->ctx);
    free(c->saved);
    cg_pool_free(c->pool);
    pthread_mutex_lock(&srv->lock);
    if (c->state == CONN_ACTIVE)
        srv->active--;
    srv->nconns--;
    pthread_mutex_unlock(&srv->lock);
    free(c);
}

static void conn_arm(struct epoll_event *ev, conn *c)
{
    memset(ev, 0, sizeof(*ev));
    ev->events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
    ev->data.ptr = c;
}

/* A worker hands an idle connection to the accepting thread: its socket is armed in the epoll
 * set (where it is registered from its accept on, one-shot) and it joins a parked list. */
static void conn_park(cg_server *srv, conn *c, int kind)
{
    int64_t t =
        timeout_ms(kind == PARK_IDLE ? srv->cfg.keepalive_timeout_s : srv->cfg.recv_timeout_s);
    struct epoll_event ev;
    conn_arm(&ev, c);
    pthread_mutex_lock(&srv->lock);
    /* all under the lock: from the epoll_ctl on, the accepting thread may take the connection
     * (queue it, or close it at its deadline); after the unlock c is not ours to touch */
    if (!srv->stopping && epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0) {
        /* no need to wake the accepting thread: it wakes by then anyway (see park_expire) */
        c->park_kind = kind;
        c->deadline_ms = t < 0 ? INT64_MAX : now_ms() + t;
        c->state = CONN_PARKED;
        list_append(&srv->parked[kind], c);
        srv->nparked++;
        srv->active--;
        pthread_mutex_unlock(&srv->lock);
        return;
    }
    pthread_mutex_unlock(&srv->lock);
    conn_free(srv, c, 0);
}

/* Bytes of a next request already read from the socket: in gSOAP's buffer, or decrypted (or
 * buffered) by OpenSSL. epoll would not report those, so such a connection is not parked. */
static int has_input(struct soap *soap)
{
    if (soap->bufidx < soap->buflen)
        return 1;
    return soap->ssl && (SSL_pending(soap->ssl) > 0 || SSL_has_pending(soap->ssl));
}

static const char *peer_subject(struct soap *soap, cg_pool *pool)
{
    X509 *cert = SSL_get1_peer_certificate(soap->ssl);
    if (!cert)
        return NULL;
    BIO *bio = BIO_new(BIO_s_mem());
    X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
    char *text = NULL;
    long n = BIO_get_mem_data(bio, &text);
    const char *out = cg_pool_strndup(pool, text ? text : "", n > 0 ? (size_t)n : 0);
    BIO_free(bio);
    X509_free(cert);
    return out;
}

/* A connection's first turn with a worker: its socket goes into a gSOAP context, and with TLS
 * the handshake is done. 0 when it has failed (and is closed). */
static int conn_start(cg_server *srv, conn *c)
{
    struct soap *soap = c->ctx->soap;
    c->started = 1;
    soap->socket = c->fd;
    soap->keep_alive = -1;
    soap->max_keep_alive = (int)srv->cfg.keepalive_max;
    /* a spare context: nothing of its last connection's input is left */
    soap->bufidx = soap->buflen = 0;
    soap->ahead = 0;
    soap->chunksize = soap->chunkbuflen = 0;
    if (srv->tls) {
        if (soap_ssl_accept(soap) != SOAP_OK)
            return 0;
        c->pool = cg_pool_new(1024);
        c->peer_subject = peer_subject(soap, c->pool);
    }
    return 1;
}

/* Serves requests on c while it has some: parks it when it is idle, closes it when it ends. */
static void serve_connection(worker *wk, conn *c)
{
    cg_server *srv = wk->srv;
    if (!c->ctx && !(c->ctx = ctx_get(srv))) {
        conn_free(srv, c, 1);
        return;
    }
    struct soap *soap = c->ctx->soap;
    if (!c->started) {
        if (!conn_start(srv, c)) {
            conn_free(srv, c, 0);
            return;
        }
        if (srv->tls && !has_input(soap)) {
            conn_park(srv, c, PARK_FIRST); /* handshake done, the request not there yet */
            return;
        }
    }
    wk->conn = c;
    wk->soap = soap;
    wk->wire = &c->ctx->wire;
    wk->wire->owner = wk;
    wk->peer_subject = c->peer_subject;
    int park = 0;
    int input = 1; /* queued because bytes arrived (or with bytes from its TLS handshake) */
    if (c->expired || (c->since_ms && srv->cfg.transfer_timeout_s > 0 &&
                       now_ms() - c->since_ms > (int64_t)srv->cfg.transfer_timeout_s * 1000)) {
        /* a request set aside that did not come whole in time */
        clock_gettime(CLOCK_MONOTONIC, &wk->t0);
        soap->keep_alive = 0;
        send_text(soap, 408, "the request did not arrive in time\n");
        log_request(wk, NULL, NULL, 408);
        soap_destroy(soap);
        soap_end(soap);
        cg_pool_reset(wk->pool);
        goto done;
    }
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &wk->t0);
        cg_wire_reset(wk->wire);
        wk->status = 0;
        /* gated: a request that stalls is set aside with its bytes (SERVER_GATE_MS), one set
         * aside earlier is read again from its bytes; not with bytes of a pipelined request in
         * gSOAP's buffer (they are not ours to keep) */
        cg_wire *w = wk->wire;
        w->parked = 0;
        w->kept = wk->keep;
        w->kept_cap = sizeof(wk->keep);
        w->gate_ms = SERVER_GATE_MS;
        w->nkept = 0;
        w->gate = !wk->nunread && soap->bufidx >= soap->buflen;
        w->ready = input;
        input = 0;
        int keep_alive = soap->keep_alive;
        if (c->nsaved) {
            memcpy(soap->buf, c->saved, c->nsaved);
            memcpy(wk->keep, c->saved, c->nsaved);
            soap->bufidx = 0;
            soap->buflen = w->nkept = c->nsaved;
            soap->ahead = 0;
            soap->chunksize = soap->chunkbuflen = 0;
            free(c->saved);
            c->saved = NULL;
            c->nsaved = 0;
            w->gate = 1;
        }
        /* the last request keepalive_max allows is answered with Connection: close (gSOAP
         * counts only in its generated serve loop, which we do not use) */
        wk->last = srv->cfg.keepalive_max > 0 && c->requests + 1 >= srv->cfg.keepalive_max;
        /* with keep-alive, soap_begin_recv keeps what is in its buffer: a pipelined request
         * read with the previous one is served from there */
        if (wk->nunread) {
            memcpy(soap->buf, wk->unread, wk->nunread);
            soap->bufidx = 0;
            soap->buflen = wk->nunread;
            wk->nunread = 0;
        }
        wk->kept = 0;
        int rc = soap_begin_recv(soap);
        if (w->parked) {
            /* stalled in its header: set aside below */
            soap->keep_alive = keep_alive; /* gSOAP took the stall for the end */
        } else if (rc == SOAP_OK && wk->wire->eof) {
            /* gSOAP takes a header cut short by the end of the connection (or the receive
             * timeout) as complete: nothing of it is served */
            soap->keep_alive = 0;
            send_text(soap, 408, "the request was cut short (closed, or the receive timeout)\n");
            log_request(wk, NULL, NULL, 408);
        } else if (rc == SOAP_OK) {
            if (wk->last)
                soap->keep_alive = 0;
            handle_post(wk);
            if (w->parked)
                soap->keep_alive = keep_alive; /* stalled in its body: set aside below */
        } else if (rc == SOAP_STOP) {
            /* a GET (or refused method) answered by its hook */
        } else {
            if (wk->wire->header_too_big || rc == SOAP_HDR) { /* block or one line too long */
                soap->keep_alive = 0;
                send_text(soap, 431, "the request header is too large\n");
                cg_wire_drain(soap, SERVER_DRAIN_BYTES, SERVER_DRAIN_MS); /* so it is read */
                log_request(wk, NULL, NULL, 431);
            } else if (soap->status == SOAP_POST && rc == SOAP_EOF && !wk->wire->eof) {
                /* headers read, but no body at all */
                soap->keep_alive = 0;
                send_text(soap, 400, "the request has no body\n");
                log_request(wk, NULL, NULL, 400);
            } else if (rc != SOAP_EOF && rc != SOAP_TCP_ERROR && rc != SOAP_SSL_ERROR) {
                soap->keep_alive = 0;
                int status = rc == SOAP_HTTP_METHOD ? 405 : (rc >= 400 && rc < 600) ? rc : 400;
                send_text(soap, status, "bad HTTP request\n");
                log_request(wk, NULL, NULL, status);
            }
            soap->keep_alive = 0;
        }
        soap_destroy(soap);
        soap_end(soap);
        cg_pool_reset(wk->pool);
        if (w->parked && !atomic_load(&srv->stop_requested) && soap_valid_socket(soap->socket)) {
            c->saved = cg_xmalloc(w->nkept ? w->nkept : 1);
            memcpy(c->saved, wk->keep, w->nkept);
            c->nsaved = w->nkept;
            if (!c->since_ms)
                c->since_ms = now_ms();
            soap->keep_alive = keep_alive;
            w->parked = 0;
            park = 2;
            break;
        }
        if (w->parked) {
            w->parked = 0;
            break; /* stopping, or gSOAP closed it after all: closed */
        }
        c->since_ms = 0;
        c->requests++;
        if (!soap->keep_alive || atomic_load(&srv->stop_requested))
            break;
        if (!wk->nunread && !has_input(soap)) {
            if (!linger(srv, soap)) {
                park = 1;
                break;
            }
            input = 1;
        }
    }
done:
    wk->nunread = 0;
    wk->conn = NULL;
    wk->soap = NULL;
    wk->wire->owner = NULL;
    wk->wire = NULL;
    wk->peer_subject = NULL;
    if (park)
        conn_park(srv, c, park == 2 ? PARK_FIRST : PARK_IDLE);
    else
        conn_free(srv, c, 0);
}

static void *worker_main(void *arg)
{
    worker *wk = arg;
    cg_server *srv = wk->srv;
    for (;;) {
        pthread_mutex_lock(&srv->lock);
        while (srv->qlen == 0 && !srv->stopping)
            pthread_cond_wait(&srv->cond, &srv->lock);
        if (srv->qlen == 0) {
            pthread_mutex_unlock(&srv->lock);
            break;
        }
        conn *c = srv->queue[srv->qhead];
        srv->qhead = (srv->qhead + 1) % srv->qcap;
        srv->qlen--;
        c->state = CONN_ACTIVE;
        srv->active++;
        int stopping = srv->stopping;
        pthread_mutex_unlock(&srv->lock);
        if (stopping)
            conn_free(srv, c, 1); /* its request was not begun */
        else
            serve_connection(wk, c);
    }
    cg_pool_free(wk->pool);
    free(wk);
    return NULL;
}

/* ---- the accepting thread: new and parked connections --------------------------------------- */

/* A parked connection's socket is readable: bytes (queued for a worker), the peer's close or
 * an error (closed here), or nothing after all (armed again). */
static void conn_ready(cg_server *srv, conn *c, uint32_t events)
{
    char b;
    ssize_t r = 1; /* EPOLLIN alone: bytes arrived */
    /* with the peer's close or an error: bytes before it, or none? */
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        r = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        struct epoll_event ev;
        conn_arm(&ev, c);
        if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
            return;
    }
    pthread_mutex_lock(&srv->lock);
    assert(c->state == CONN_PARKED);
    list_remove(&srv->parked[c->park_kind], c);
    srv->nparked--;
    if (r > 0 && !srv->stopping) {
        queue_push(srv, c);
        pthread_mutex_unlock(&srv->lock);
        return;
    }
    c->state = CONN_CLOSING;
    pthread_mutex_unlock(&srv->lock);
    conn_free(srv, c, 1);
}

/* Closes the parked connections whose deadline passed; returns the milliseconds until the
 * accepting thread must look again, -1 for never. That is the earliest deadline of any
 * connection parked now or later: a list's head, or for an empty list now + its timeout, as a
 * connection parked on it later expires no earlier. So a worker that parks a connection never
 * has to wake the accepting thread. (A request that races the deadline is lost, as with any
 * HTTP server: clients retry a request on a kept-alive connection that closes under it.) */
static int park_expire(cg_server *srv)
{
    int64_t now = now_ms(), next = INT64_MAX;
    conn *due = NULL, *c;
    pthread_mutex_lock(&srv->lock);
    for (int k = 0; k < PARK_KINDS; k++) {
        while ((c = srv->parked[k].head) && c->deadline_ms <= now) {
            list_remove(&srv->parked[k], c);
            srv->nparked--;
            if (c->nsaved && !srv->stopping) {
                /* a request set aside half-read: a worker answers 408 and closes it
                 * (serve_connection); its socket leaves the epoll set first, where even a
                 * disarmed one reports a hang-up */
                epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
                c->expired = 1;
                queue_push(srv, c);
                continue;
            }
            c->state = CONN_CLOSING;
            c->next = due;
            due = c;
        }
        int64_t t = timeout_ms(k == PARK_IDLE ? srv->cfg.keepalive_timeout_s
                                              : srv->cfg.recv_timeout_s);
        int64_t first = c ? c->deadline_ms : t < 0 ? INT64_MAX : now + t;
        if (first < next)
            next = first;
    }
    pthread_mutex_unlock(&srv->lock);
    while (due) {
        c = due;
        due = c->next;
        conn_free(srv, c, 1);
    }
    if (next == INT64_MAX)
        return -1;
    return next - now > INT_MAX ? INT_MAX : (int)(next - now);
}

/* Stop: nothing is parked or queued any more; the parked connections are closed. */
static void park_close_all(cg_server *srv)
{
    conn *all = NULL, *c;
    pthread_mutex_lock(&srv->lock);
    srv->stopping = 1;
    pthread_cond_broadcast(&srv->cond);
    for (int k = 0; k < PARK_KINDS; k++) {
        while ((c = srv->parked[k].head)) {
            list_remove(&srv->parked[k], c);
            srv->nparked--;
            c->state = CONN_CLOSING;
            c->next = all;
            all = c;
        }
    }
    pthread_mutex_unlock(&srv->lock);
    while (all) {
        c = all;
        all = c->next;
        conn_free(srv, c, 1);
    }
}

/* ---- start, run, stop ---------------------------------------------------------------------- */

int cg_listen_parse(const char *listen, char *host, size_t cap, int *port)
{
    const char *colon;
    if (listen[0] == '[') {
        const char *end = strchr(listen, ']');
        if (!end || end[1] != ':')
            return CG_EINVAL;
        snprintf(host, cap, "%.*s", (int)(end - listen - 1), listen + 1);
        colon = end + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon)
            return CG_EINVAL;
        snprintf(host, cap, "%.*s", (int)(colon - listen), listen);
    }
    char *end = NULL;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno || !end || *end || end == colon + 1 || p < 0 || p > 65535)
        return CG_EINVAL;
    *port = (int)p;
    return CG_OK;
}

int cg_listen_is_loopback(const char *host)
{
    return strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
           strcmp(host, "::1") == 0;
}

static int setup_tls(cg_server *srv, cg_err *err)
{
    const cg_server_config *c = &srv->cfg;
    struct soap *soap = srv->master;
    unsigned short flags = c->tls13_only ? SOAP_TLSv1_3 : (SOAP_TLSv1_2 | SOAP_TLSv1_3);
    if (c->tls_ca)
        flags |= SOAP_SSL_REQUIRE_CLIENT_AUTHENTICATION;
    /* gSOAP wants key and certificate in one file: it gets neither, and OpenSSL loads the two
     * files into the context it made. */
    if (soap_ssl_server_context(soap, flags, NULL, NULL, c->tls_ca, NULL, NULL, NULL, NULL)) {
        const char *s = soap_fault_string(soap);
        const char *d = soap_fault_detail(soap);
        return cg_err_set(err, CG_EINVAL, "soap_ssl_server_context(%s): %s %s",
                          c->tls_ca ? c->tls_ca : "no client CA", s ? s : "failed", d ? d : "");
    }
    SSL_CTX *ctx = soap->ctx;
    if (c->tls_key_password)
        SSL_CTX_set_default_passwd_cb_userdata(ctx, (void *)(uintptr_t)c->tls_key_password);
    if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert) != 1)
        return cg_wire_tls_error(err, "SSL_CTX_use_certificate_chain_file(tls_cert)");
    if (SSL_CTX_use_PrivateKey_file(ctx, c->tls_key ? c->tls_key : c->tls_cert,
                                    SSL_FILETYPE_PEM) != 1)
        return cg_wire_tls_error(err, "SSL_CTX_use_PrivateKey_file(tls_key)");
    if (SSL_CTX_check_private_key(ctx) != 1)
        return cg_wire_tls_error(err, "SSL_CTX_check_private_key");
    if (SSL_CTX_set_min_proto_version(ctx, c->tls13_only ? TLS1_3_VERSION : TLS1_2_VERSION) != 1)
        return cg_wire_tls_error(err, "SSL_CTX_set_min_proto_version");
    if (SSL_CTX_set_cipher_list(ctx, c->tls_ciphers ? c->tls_ciphers : SERVER_DEFAULT_CIPHERS) != 1)
        return cg_wire_tls_error(err, "SSL_CTX_set_cipher_list(tls_ciphers)");
    return CG_OK;
}

static void server_join(cg_server *srv)
{
    if (srv->joined)
        return;
    park_close_all(srv); /* sets stopping: the workers finish what they serve, then leave */
    for (unsigned i = 0; i < srv->nworkers; i++)
        pthread_join(srv->workers[i], NULL);
    srv->joined = 1;
    /* connections whose request was never begun */
    while (srv->qlen) {
        conn *c = srv->queue[srv->qhead];
        srv->qhead = (srv->qhead + 1) % srv->qcap;
        srv->qlen--;
        conn_free(srv, c, 1);
    }
}

void cg_server_free(cg_server *srv)
{
    if (!srv)
        return;
    atomic_store(&srv->stop_requested, 1);
    server_join(srv);
    while (srv->spare) {
        gsoap_ctx *g = srv->spare;
        srv->spare = g->next;
        ctx_free(g);
    }
    struct soap *contexts[] = {srv->reject, srv->proto, srv->master}; /* master last */
    for (size_t i = 0; i < sizeof(contexts) / sizeof(contexts[0]); i++) {
        if (contexts[i]) {
            soap_destroy(contexts[i]);
            soap_end(contexts[i]);
            soap_free(contexts[i]);
        }
    }
    if (srv->epfd >= 0)
        close(srv->epfd);
    close(srv->stop_pipe[0]);
    close(srv->stop_pipe[1]);
    pthread_cond_destroy(&srv->cond);
    pthread_mutex_destroy(&srv->lock);
    free(srv->queue);
    free(srv->workers);
    free(srv);
}

static void config_defaults(cg_server_config *c)
{
    if (!c->threads) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        c->threads = cores > 0 ? (unsigned)(2 * cores) : 4;
        if (c->threads < 4)
            c->threads = 4;
    }
    if (c->threads > 256)
        c->threads = 256;
    if (!c->max_connections)
        c->max_connections = 256;
    if (!c->max_envelope)
        c->max_envelope = (size_t)16 << 20;
    if (!c->max_part)
        c->max_part = (size_t)64 << 20;
    if (!c->max_parts)
        c->max_parts = 100;
    if (!c->max_header)
        c->max_header = (size_t)16 << 10;
    if (!c->max_depth)
        c->max_depth = CG_XML_DEFAULT_MAX_DEPTH;
    if (!c->recv_timeout_s)
        c->recv_timeout_s = 30;
    if (!c->send_timeout_s)
        c->send_timeout_s = 30;
    if (!c->transfer_timeout_s)
        c->transfer_timeout_s = 300;
    if (!c->keepalive_timeout_s)
        c->keepalive_timeout_s = 15;
    if (!c->keepalive_max)
        c->keepalive_max = 100;
}

static void ignore_sigpipe(void)
{
    /* A peer that goes away mid-answer must not end the process: writes report EPIPE. OpenSSL
     * writes with write(2), where MSG_NOSIGNAL cannot be passed, so SIGPIPE is ignored. */
    struct sigaction old;
    if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &sa, NULL);
    }
}

int cg_server_start(cg_server **out, const cg_server_config *cfg, cg_err *err)
{
    *out = NULL;
    char host[256];
    int port = 0, rc;
    if (!cfg->listen || cg_listen_parse(cfg->listen, host, sizeof(host), &port) != CG_OK)
        return cg_err_set(err, CG_EINVAL, "listen address \"%s\" is not HOST:PORT or [IPv6]:PORT",
                          cfg->listen ? cfg->listen : "");
    int tls = cfg->tls_cert != NULL;
    if (!tls && !cfg->allow_plain && !cg_listen_is_loopback(host))
        return cg_err_set(err, CG_EINVAL,
                          "plain HTTP on %s is refused: configure TLS or allow plain HTTP", host);
    if (cfg->tls_ca && !tls)
        return cg_err_set(err, CG_EINVAL, "a client CA (mutual TLS) needs a server certificate");
    ignore_sigpipe();

    cg_server *srv = cg_xcalloc(1, sizeof(*srv));
    srv->cfg = *cfg;
    config_defaults(&srv->cfg);
    srv->tls = tls;
    srv->stop_pipe[0] = srv->stop_pipe[1] = -1;
    pthread_mutex_init(&srv->lock, NULL);
    pthread_cond_init(&srv->cond, NULL);
    srv->limits.max_envelope = srv->cfg.max_envelope;
    srv->limits.max_part = srv->cfg.max_part;
    srv->limits.max_parts = srv->cfg.max_parts;
    srv->limits.max_depth = srv->cfg.max_depth;
    cg_xml_limits_default(&srv->xml_limits);
    srv->xml_limits.max_bytes = srv->cfg.max_envelope;
    srv->xml_limits.max_depth = srv->cfg.max_depth;
    srv->epfd = -1;
    srv->joined = 1; /* no workers yet */
    if (pipe(srv->stop_pipe) != 0) {
        rc = cg_err_set(err, CG_EIO, "pipe: %s", strerror(errno));
        goto fail;
    }
    fcntl(srv->stop_pipe[0], F_SETFD, FD_CLOEXEC);
    fcntl(srv->stop_pipe[1], F_SETFD, FD_CLOEXEC);
    fcntl(srv->stop_pipe[1], F_SETFL, O_NONBLOCK);
    if ((srv->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        rc = cg_err_set(err, CG_EIO, "epoll_create1: %s", strerror(errno));
        goto fail;
    }

    srv->master = soap_new1(SOAP_IO_KEEPALIVE);
    struct soap *m = srv->master;
    m->bind_flags = SO_REUSEADDR;
    m->recv_timeout = srv->cfg.recv_timeout_s;
    m->send_timeout = srv->cfg.send_timeout_s;
    m->transfer_timeout = srv->cfg.transfer_timeout_s;
    /* soap_accept is called when the listener is readable: a connection that went away meanwhile
     * must not hold the accepting thread (the TLS handshake is bounded by recv_timeout) */
    m->accept_timeout = -200000; /* microseconds */
    m->socket_flags = MSG_NOSIGNAL;
    size_t slack = srv->cfg.max_header + 4096;
    m->recv_maxlength = (ULONG64)srv->cfg.max_envelope + (ULONG64)srv->cfg.max_parts *
                        ((ULONG64)srv->cfg.max_part / 3 * 4 + (ULONG64)srv->cfg.max_part / 38 + slack) +
                        slack + sizeof(m->buf); /* gSOAP counts whole reads: the limits
                                                   * above are met (and named) first */
    if (tls && (rc = setup_tls(srv, err)) != CG_OK)
        goto fail;
    if (!soap_valid_socket(soap_bind(m, host[0] ? host : NULL, port, 128))) {
        const char *s = soap_fault_string(m);
        rc = cg_err_set(err, CG_EIO, "soap_bind(%s): %s", cfg->listen, s ? s : "failed");
        goto fail;
    }
    fcntl(m->master, F_SETFD, FD_CLOEXEC);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(m->master, (struct sockaddr *)&ss, &sl) == 0)
        srv->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                    : ((struct sockaddr_in *)&ss)->sin_port);

    srv->reject = soap_copy(m);
    srv->reject->master = SOAP_INVALID_SOCKET;
    srv->reject->send_timeout = 1;
    srv->reject->recv_timeout = 1;
    srv->proto = soap_copy(m);
    if (!srv->reject || !srv->proto) {
        rc = cg_err_set(err, CG_EIO, "soap_copy: out of memory");
        goto fail;
    }
    srv->proto->master = SOAP_INVALID_SOCKET;
    srv->proto->fget = server_get;
    srv->proto->fput = server_method_not_allowed;
    srv->proto->fpatch = server_method_not_allowed;
    srv->proto->fdel = server_method_not_allowed;
    srv->proto->fopt = server_method_not_allowed;
    srv->proto->fhead = server_method_not_allowed;

    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.ptr = srv->master;
    int erc = epoll_ctl(srv->epfd, EPOLL_CTL_ADD, m->master, &ev);
    ev.data.ptr = srv->stop_pipe;
    if (erc == 0)
        erc = epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->stop_pipe[0], &ev);
    if (erc != 0) {
        rc = cg_err_set(err, CG_EIO, "epoll_ctl: %s", strerror(errno));
        goto fail;
    }

    srv->qcap = srv->cfg.max_connections;
    srv->queue = cg_xcalloc(srv->qcap, sizeof(*srv->queue));
    srv->workers = cg_xcalloc(srv->cfg.threads, sizeof(*srv->workers));
    srv->joined = 0;
    for (unsigned i = 0; i < srv->cfg.threads; i++) {
        worker *wk = cg_xcalloc(1, sizeof(*wk));
        wk->srv = srv;
        wk->pool = cg_pool_new((size_t)64 << 10);
        if (pthread_create(&srv->workers[i], NULL, worker_main, wk) != 0) {
            cg_pool_free(wk->pool);
            free(wk);
            rc = cg_err_set(err, CG_EIO, "pthread_create: %s", strerror(errno));
            goto fail;
        }
        srv->nworkers++;
    }
    *out = srv;
    return CG_OK;
fail:
    cg_server_free(srv);
    return rc;
}

int cg_server_port(const cg_server *srv)
{
    return srv->port;
}

void cg_server_stop(cg_server *srv)
{
    atomic_store(&srv->stop_requested, 1);
    char c = 's';
    ssize_t n = write(srv->stop_pipe[1], &c, 1);
    (void)n;
}

static void reject_connection(cg_server *srv, SOAP_SOCKET fd)
{
    struct soap *soap = srv->reject;
    if (!srv->tls) {
        soap->socket = fd;
        soap->keep_alive = 0;
        soap->http_extra_header = "Retry-After: 1";
        send_text(soap, 503, "server busy\n");
        soap->http_extra_header = NULL;
        cg_wire_drain(soap, (size_t)1 << 20, 100);
        soap_closesock(soap);
        soap_end(soap);
        soap->socket = SOAP_INVALID_SOCKET;
    } else {
        close(fd);
    }
}

/* A new connection: parked until its first bytes arrive (or 503 past max_connections). */
static void accept_one(cg_server *srv)
{
    struct soap *m = srv->master;
    SOAP_SOCKET fd = soap_accept(m);
    m->socket = SOAP_INVALID_SOCKET; /* the connection is its conn's now */
    if (!soap_valid_socket(fd)) {
        struct timespec pause = {0, 10 * 1000 * 1000}; /* e.g. out of descriptors */
        nanosleep(&pause, NULL);
        return;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    int sndbuf = SERVER_SNDBUF;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf); /* best effort */
    pthread_mutex_lock(&srv->lock);
    int busy = srv->nconns >= srv->cfg.max_connections;
    if (!busy)
        srv->nconns++;
    pthread_mutex_unlock(&srv->lock);
    if (busy) {
        reject_connection(srv, fd);
        return;
    }
    conn *c = cg_xcalloc(1, sizeof(*c));
    c->fd = fd;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    memset(&ss, 0, sizeof(ss));
    getpeername(fd, (struct sockaddr *)&ss, &sl);
    char ip[INET6_ADDRSTRLEN] = "?";
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
        snprintf(c->peer, sizeof(c->peer), "[%s]:%d", ip, ntohs(a->sin6_port));
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
        snprintf(c->peer, sizeof(c->peer), "%s:%d", ip, ntohs(a->sin_port));
    }
    int64_t t = timeout_ms(srv->cfg.recv_timeout_s);
    c->park_kind = PARK_FIRST;
    c->deadline_ms = t < 0 ? INT64_MAX : now_ms() + t;
    c->state = CONN_PARKED;
    struct epoll_event ev;
    conn_arm(&ev, c);
    pthread_mutex_lock(&srv->lock);
    /* it stays registered until it is closed: parking it again only arms it (EPOLLONESHOT) */
    if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        c->state = CONN_CLOSING;
        pthread_mutex_unlock(&srv->lock);
        conn_free(srv, c, 1);
        return;
    }
    list_append(&srv->parked[PARK_FIRST], c);
    srv->nparked++;
    pthread_mutex_unlock(&srv->lock);
}

int cg_server_run(cg_server *srv)
{
    int rc = CG_OK, wait_ms = -1;
    struct epoll_event ev[64];
    while (!atomic_load(&srv->stop_requested)) {
        int n = epoll_wait(srv->epfd, ev, (int)(sizeof(ev) / sizeof(ev[0])), wait_ms);
        if (n < 0) {
            if (errno != EINTR) {
                rc = CG_EIO;
                break;
            }
            n = 0;
        }
        int stop = 0;
        for (int i = 0; i < n; i++) {
            void *p = ev[i].data.ptr;
            if (p == srv->stop_pipe) {
                stop = 1;
            } else if (p == srv->master) {
                accept_one(srv);
            } else {
                conn_ready(srv, p, ev[i].events);
            }
        }
        if (stop)
            break;
        wait_ms = park_expire(srv);
    }
    server_join(srv);
    return rc;
}

void cg_server_get_stats(cg_server_stats *out, cg_server *srv)
{
    pthread_mutex_lock(&srv->lock);
    out->active = srv->active;
    out->queued = (unsigned)srv->qlen;
    out->parked = srv->nparked;
    pthread_mutex_unlock(&srv->lock);
}
