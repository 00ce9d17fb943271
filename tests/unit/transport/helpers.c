/* helpers: in-process test server, raw HTTP, throwaway certificates (see helpers.h). */
#define _GNU_SOURCE
#include "helpers.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"
#include "util/alloc.h"
#include "util/buf.h"

static void free_doc(void *doc)
{
    xmlFreeDoc(doc);
}

/* Answers with the action, peer, TLS subject and the SHA-1 of every part; with parts (or
 * mtom="1" on the body) it sends one MTOM part back. A <Fail/> body gets a Receiver fault. */
static int echo(void *ctx, const cg_request *req, cg_response *resp)
{
    (void)ctx;
    if (strcmp((const char *)req->body->name, "Fail") == 0) {
        cg_response_fault(resp, req->pool, CG_FAULT_RECEIVER, NULL, "asked to fail");
        return CG_OK;
    }
    xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
    cg_pool_cleanup(req->pool, free_doc, doc);
    xmlNodePtr root = xmlNewDocNode(doc, NULL, (const xmlChar *)"EchoResponse", NULL);
    xmlNsPtr ns = xmlNewNs(root, (const xmlChar *)ECHO_NS, (const xmlChar *)"t");
    xmlSetNs(root, ns);
    xmlDocSetRootElement(doc, root);
    xmlSetProp(root, (const xmlChar *)"action", (const xmlChar *)(req->action ? req->action : ""));
    xmlSetProp(root, (const xmlChar *)"path", (const xmlChar *)req->path);
    xmlSetProp(root, (const xmlChar *)"subject",
               (const xmlChar *)(req->peer_subject ? req->peer_subject : ""));
    for (size_t i = 0; i < req->nparts; i++) {
        xmlNodePtr p = xmlNewChild(root, ns, (const xmlChar *)"part", NULL);
        char len[32];
        snprintf(len, sizeof(len), "%zu", req->parts[i].len);
        xmlSetProp(p, (const xmlChar *)"id", (const xmlChar *)req->parts[i].content_id);
        xmlSetProp(p, (const xmlChar *)"sha1", (const xmlChar *)req->parts[i].sha1);
        xmlSetProp(p, (const xmlChar *)"len", (const xmlChar *)len);
    }
    xmlChar *want = xmlGetProp(req->body, (const xmlChar *)"mtom");
    if (req->nparts > 0 || (want && strcmp((const char *)want, "1") == 0)) {
        static const unsigned char pong[] = "pong\r\n--not-a-boundary\r\n\x00\x01";
        const char *cid = cg_response_add_part(resp, req->pool, "application/octet-stream", pong,
                                               sizeof(pong) - 1);
        xmlNodePtr d = xmlNewChild(root, ns, (const xmlChar *)"Document", NULL);
        xmlNodePtr inc = xmlNewChild(d, NULL, (const xmlChar *)"Include", NULL);
        xmlNsPtr xop = xmlNewNs(inc, (const xmlChar *)"http://www.w3.org/2004/08/xop/include",
                                (const xmlChar *)"xop");
        xmlSetNs(inc, xop);
        char *href = cg_pool_printf(req->pool, "cid:%s", cid);
        xmlSetProp(inc, (const xmlChar *)"href", (const xmlChar *)href);
    }
    xmlFree(want);
    resp->body = doc;
    resp->action = ECHO_RESPONSE_ACTION;
    return CG_OK;
}

static const cg_route echo_routes[] = {
    {ECHO_PATH, ECHO_ACTION, echo, NULL, ECHO_NS, "Echo"},
};
static const cg_server_wsdl echo_wsdl[] = {{ECHO_PATH, "repository.wsdl"}};

static int health(void *ctx, cg_buf *out)
{
    (void)ctx;
    cg_buf_puts(out, "{\"status\":\"ok\",\"test\":true}");
    return 200;
}

static void on_request(void *ctx, const cg_request *req, const cg_response *resp, int status,
                       double ms)
{
    (void)req;
    (void)resp;
    (void)status;
    (void)ms;
    test_server *ts = ctx;
    __atomic_add_fetch(&ts->requests, 1, __ATOMIC_SEQ_CST);
}

void test_server_config(cg_server_config *cfg, test_server *ts)
{
    memset(cfg, 0, sizeof(*cfg));
    memset(ts, 0, sizeof(*ts));
    cfg->listen = "127.0.0.1:0";
    cfg->threads = 4;
    cfg->max_connections = 16;
    cfg->max_envelope = 64 << 10;
    cfg->max_part = 64 << 10;
    cfg->max_parts = 3;
    cfg->max_header = 8192;
    cfg->recv_timeout_s = 5;
    cfg->send_timeout_s = 5;
    cfg->keepalive_timeout_s = 5;
    cfg->routes = echo_routes;
    cfg->nroutes = 1;
    cfg->wsdl_dir = CG_SRCDIR "/wsdl";
    cfg->wsdl_map = echo_wsdl;
    cfg->nwsdl = 1;
    cfg->health = health;
    cfg->on_request = on_request;
    cfg->log_ctx = ts;
}

static void *run_server(void *arg)
{
    cg_server_run(arg);
    return NULL;
}

int test_server_start(test_server *ts, const cg_server_config *cfg)
{
    cg_err err;
    cg_err_init(&err);
    int rc = cg_server_start(&ts->srv, cfg, &err);
    if (rc != CG_OK)
        fprintf(stderr, "cg_server_start: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, CG_OK);
    ts->port = cg_server_port(ts->srv);
    CU_ASSERT(ts->port > 0);
    pthread_create(&ts->thread, NULL, run_server, ts->srv);
    return 1;
}

void test_server_stop(test_server *ts)
{
    if (!ts->srv)
        return;
    cg_server_stop(ts->srv);
    pthread_join(ts->thread, NULL);
    cg_server_free(ts->srv);
    ts->srv = NULL;
}

int http_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads into buf until pred is satisfied or the peer closes / times out. */
static int read_more(int fd, cg_buf *buf, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0)
        return -1;
    char tmp[65536];
    ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
    if (n <= 0)
        return 0;
    cg_buf_append(buf, tmp, (size_t)n);
    return 1;
}

int http_exchange(int fd, const char *req, size_t len, http_answer *out, int timeout_ms)
{
    memset(out, 0, sizeof(*out));
    if (req) {
        if (!len)
            len = strlen(req);
        size_t off = 0;
        while (off < len) {
            ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
            if (n <= 0)
                break; /* the server may refuse early: read what it said */
            off += (size_t)n;
        }
    }
    cg_buf buf;
    cg_buf_init(&buf, (size_t)256 << 20);
    char *end = NULL;
    int r = 1;
    while (!(buf.data && (end = strstr(buf.data, "\r\n\r\n")))) {
        if ((r = read_more(fd, &buf, timeout_ms)) <= 0)
            break;
    }
    if (!end) {
        cg_buf_dispose(&buf);
        return -1;
    }
    size_t hlen = (size_t)(end - buf.data) + 4;
    out->headers = cg_xstrndup(buf.data, hlen);
    sscanf(out->headers, "HTTP/1.%*d %d", &out->status);
    char *cl = http_header(out, "content-length");
    char *te = http_header(out, "transfer-encoding");
    cg_buf body;
    cg_buf_init(&body, (size_t)256 << 20);
    size_t have = buf.len - hlen;
    if (cl) {
        size_t want = (size_t)strtoull(cl, NULL, 10);
        while (buf.len - hlen < want && (r = read_more(fd, &buf, timeout_ms)) > 0)
            ;
        size_t n = buf.len - hlen < want ? buf.len - hlen : want;
        cg_buf_append(&body, buf.data + hlen, n);
    } else if (te && strstr(te, "chunked")) {
        size_t pos = hlen;
        for (;;) {
            char *crlf;
            while (!(crlf = strstr(buf.data + pos, "\r\n")) && (r = read_more(fd, &buf, timeout_ms)) > 0)
                ;
            if (!crlf)
                break;
            size_t sz = (size_t)strtoul(buf.data + pos, NULL, 16);
            size_t start = (size_t)(crlf - buf.data) + 2;
            while (buf.len < start + sz + 2 && (r = read_more(fd, &buf, timeout_ms)) > 0)
                ;
            if (buf.len < start + sz)
                break;
            cg_buf_append(&body, buf.data + start, sz);
            pos = start + sz + 2;
            if (sz == 0)
                break;
        }
    } else {
        while ((r = read_more(fd, &buf, timeout_ms)) > 0)
            ;
        cg_buf_append(&body, buf.data + hlen, buf.len - hlen);
    }
    (void)have;
    free(cl);
    free(te);
    out->body_len = body.len;
    out->body = body.data ? cg_buf_detach(&body) : cg_xstrdup("");
    cg_buf_dispose(&body);
    char *conn = http_header(out, "connection");
    out->closed = conn && strcasestr(conn, "close");
    free(conn);
    cg_buf_dispose(&buf);
    return 0;
}

void http_answer_dispose(http_answer *a)
{
    free(a->headers);
    free(a->body);
    memset(a, 0, sizeof(*a));
}

char *http_header(const http_answer *a, const char *name)
{
    if (!a->headers)
        return NULL;
    size_t n = strlen(name);
    for (const char *p = strstr(a->headers, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
            const char *v = p + 3 + n;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            return cg_xstrndup(v, e ? (size_t)(e - v) : strlen(v));
        }
    }
    return NULL;
}

char *http_post(const char *path, const char *content_type, const char *body, size_t len,
                size_t *out_len)
{
    cg_buf b;
    cg_buf_init(&b, (size_t)256 << 20);
    cg_buf_printf(&b,
                  "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\n"
                  "Content-Length: %zu\r\n\r\n",
                  path, content_type, len);
    cg_buf_append(&b, body, len);
    *out_len = b.len;
    return cg_buf_detach(&b);
}

char *soap12(const char *action, const char *message_id, const char *body_xml)
{
    return cg_xasprintf(
        "<?xml version=\"1.0\"?>\n<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" "
        "xmlns:a=\"http://www.w3.org/2005/08/addressing\"><s:Header>%s%s%s%s%s%s</s:Header>"
        "<s:Body>%s</s:Body></s:Envelope>",
        action ? "<a:Action s:mustUnderstand=\"true\">" : "", action ? action : "",
        action ? "</a:Action>" : "", message_id ? "<a:MessageID>" : "",
        message_id ? message_id : "", message_id ? "</a:MessageID>" : "", body_xml);
}

int tls_make_certs(const char *dir)
{
    char *cmd = cg_xasprintf(
        "set -e; cd '%s'; exec >openssl.log 2>&1; "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
        "-subj '/CN=cdagate test CA'; "
        "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' >server.ext; "
        "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=localhost'; "
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem "
        "-days 2 -extfile server.ext; "
        "openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr "
        "-subj '/O=cdagate tests/CN=cdagate-test-client'; "
        "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem "
        "-days 2; "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout rogue.key -out rogue.pem -days 2 "
        "-subj '/CN=rogue'",
        dir);
    int rc = system(cmd);
    free(cmd);
    return rc;
}

/* The one registration the runner calls: every transport suite. */
void cg_test_register_transport(void)
{
    cg_test_register_transport_mime();
    cg_test_register_transport_server();
    cg_test_register_transport_client();
}
