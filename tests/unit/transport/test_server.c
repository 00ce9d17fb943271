/* Tests for transport/server: an in-process server on 127.0.0.1:0 spoken to in raw HTTP. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "transport/client.h"
#include "transport/mime.h"
#include "unit.h"
#include "util/alloc.h"
#include "util/buf.h"

static test_server ts;
static cg_server_config cfg;

static void *run(void *srv)
{
    cg_server_run(srv);
    return NULL;
}

static int suite_init(void)
{
    test_server_config(&cfg, &ts);
    cfg.recv_timeout_s = 1; /* the slow-client test */
    cg_err err;
    cg_err_init(&err);
    if (cg_server_start(&ts.srv, &cfg, &err) != CG_OK) {
        fprintf(stderr, "cg_server_start: %s\n", err.msg);
        return 1;
    }
    ts.port = cg_server_port(ts.srv);
    pthread_create(&ts.thread, NULL, run, ts.srv);
    return 0;
}

static int suite_clean(void)
{
    test_server_stop(&ts);
    return 0;
}

/* POSTs a body on a fresh connection and reads the answer. */
static void post(const char *content_type, const char *body, size_t len, http_answer *a)
{
    size_t rl;
    char *req = http_post(ECHO_PATH, content_type, body, len ? len : strlen(body), &rl);
    int fd = http_connect(ts.port);
    CU_ASSERT_FATAL(fd >= 0);
    int rc = http_exchange(fd, req, rl, a, 5000);
    CU_ASSERT_EQUAL(rc, 0);
    close(fd);
    free(req);
}

#define SOAP12 "application/soap+xml; charset=UTF-8"
#define ECHO_BODY "<t:Echo xmlns:t=\"" ECHO_NS "\"/>"

static void test_inline(void)
{
    char *env = soap12(ECHO_ACTION, "urn:uuid:11111111-2222-4333-8444-555555555555", ECHO_BODY);
    http_answer a;
    post(SOAP12, env, 0, &a);
    CU_ASSERT_EQUAL(a.status, 200);
    char *ct = http_header(&a, "content-type");
    CU_ASSERT_PTR_NOT_NULL(ct && strstr(ct, "application/soap+xml"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "action=\"" ECHO_ACTION "\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "<wsa:Action SOAP-ENV:mustUnderstand=\"true\">" ECHO_RESPONSE_ACTION "</wsa:Action>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "<wsa:RelatesTo>urn:uuid:11111111-2222-4333-8444-555555555555</wsa:RelatesTo>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "<wsa:MessageID>urn:uuid:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "http://www.w3.org/2003/05/soap-envelope"));
    free(ct);
    http_answer_dispose(&a);
    free(env);
}

static void sha1_hex(const void *data, size_t len, char out[41])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha1(), NULL);
    for (unsigned i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static char *mtom_body(const char *boundary, const char *env, const void *part, size_t plen,
                       size_t *len)
{
    cg_buf b;
    cg_buf_init(&b, (size_t)64 << 20);
    cg_buf_printf(&b,
                  "--%s\r\nContent-Type: application/xop+xml; charset=UTF-8; "
                  "type=\"application/soap+xml\"\r\nContent-Transfer-Encoding: binary\r\n"
                  "Content-ID: <root.message@test>\r\n\r\n%s\r\n--%s\r\n"
                  "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n"
                  "Content-ID: <doc1@test>\r\n\r\n",
                  boundary, env, boundary);
    cg_buf_append(&b, part, plen);
    cg_buf_printf(&b, "\r\n--%s--\r\n", boundary);
    *len = b.len;
    return cg_buf_detach(&b);
}

static void test_mtom(void)
{
    const char *doc = "<ClinicalDocument>\r\n--MIMEBoundary not really\r\n</ClinicalDocument>";
    char *env = soap12(ECHO_ACTION, "urn:uuid:1", ECHO_BODY);
    size_t len;
    char *body = mtom_body("MIMEBoundaryurn_uuid_ABC", env, doc, strlen(doc), &len);
    http_answer a;
    post("multipart/related; boundary=MIMEBoundaryurn_uuid_ABC; type=\"application/xop+xml\"; "
         "start=\"<root.message@test>\"; start-info=\"application/soap+xml\"",
         body, len, &a);
    CU_ASSERT_EQUAL(a.status, 200);
    char *ct = http_header(&a, "content-type");
    CU_ASSERT_FATAL(ct != NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(ct, "multipart/related"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ct, "type=\"application/xop+xml\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(ct, "start-info=\"application/soap+xml\""));
    /* the answer splits with our own reader: root + the pong part */
    cg_pool *pool = cg_pool_new(0);
    cg_mime_limits lim = {1 << 20, 1 << 20, 10, 4096};
    cg_mime_reader *r = NULL;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL_FATAL(cg_mime_reader_new(&r, ct, &lim, pool, &err), CG_OK);
    int rc = cg_mime_reader_feed(r, a.body, a.body_len, &err);
    cg_mime_message msg;
    if (rc == CG_OK)
        rc = cg_mime_reader_finish(r, &msg, &err);
    cg_mime_reader_free(r);
    if (rc != CG_OK)
        fprintf(stderr, "MTOM answer: %s\n%.*s\n", err.msg, (int)a.body_len, a.body);
    CU_ASSERT_EQUAL_FATAL(rc, CG_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg.root_content_type, "application/xop+xml"));
    char want[41];
    sha1_hex(doc, strlen(doc), want);
    char *needle = cg_xasprintf("sha1=\"%s\"", want);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg.root, needle));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg.root, "id=\"doc1@test\""));
    free(needle);
    CU_ASSERT_EQUAL(msg.nparts, 1);
    if (msg.nparts == 1) {
        CU_ASSERT_EQUAL(msg.parts[0].len, 26);
        CU_ASSERT(memcmp(msg.parts[0].data, "pong\r\n--not-a-boundary\r\n", 24) == 0);
        char *href = cg_xasprintf("cid:%s", msg.parts[0].content_id);
        CU_ASSERT_PTR_NOT_NULL(strstr(msg.root, href));
        free(href);
    }
    cg_pool_free(pool);
    free(ct);
    http_answer_dispose(&a);
    free(body);
    free(env);
}

static void test_chunked_and_keepalive(void)
{
    char *env = soap12(ECHO_ACTION, NULL, ECHO_BODY);
    size_t n = strlen(env), half = n / 2;
    char *req = cg_xasprintf("POST " ECHO_PATH " HTTP/1.1\r\nHost: x\r\nContent-Type: " SOAP12
                             "\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n%.*s\r\n%zx\r\n%s\r\n0\r\n\r\n",
                             half, (int)half, env, n - half, env + half);
    int fd = http_connect(ts.port);
    http_answer a, b;
    CU_ASSERT_EQUAL(http_exchange(fd, req, 0, &a, 5000), 0);
    CU_ASSERT_EQUAL(a.status, 200);
    CU_ASSERT(!a.closed);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "EchoResponse"));
    /* a second request on the same connection */
    size_t rl;
    char *req2 = http_post(ECHO_PATH, SOAP12, env, n, &rl);
    CU_ASSERT_EQUAL(http_exchange(fd, req2, rl, &b, 5000), 0);
    CU_ASSERT_EQUAL(b.status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(b.body, "EchoResponse"));
    http_answer_dispose(&a);
    http_answer_dispose(&b);
    close(fd);
    free(req);
    free(req2);
    free(env);
}

static void test_faults(void)
{
    http_answer a;
    /* SOAP 1.1: a SOAP 1.1 VersionMismatch fault */
    post("text/xml; charset=UTF-8",
         "<e:Envelope xmlns:e=\"http://schemas.xmlsoap.org/soap/envelope/\"><e:Body>" ECHO_BODY
         "</e:Body></e:Envelope>",
         0, &a);
    CU_ASSERT_EQUAL(a.status, 500);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "http://schemas.xmlsoap.org/soap/envelope/"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "VersionMismatch"));
    http_answer_dispose(&a);

    /* unknown action */
    char *env = soap12("urn:nobody:knows", "urn:uuid:2", "<t:Other xmlns:t=\"urn:x\"/>");
    post(SOAP12, env, 0, &a);
    CU_ASSERT_EQUAL(a.status, 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "SOAP-ENV:Sender"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "wsa:ActionNotSupported"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "xml:lang=\"en\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "<wsa:RelatesTo>urn:uuid:2</wsa:RelatesTo>"));
    http_answer_dispose(&a);
    free(env);

    /* malformed XML */
    post(SOAP12, "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>", 0, &a);
    CU_ASSERT_EQUAL(a.status, 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "SOAP-ENV:Sender"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "refused"));
    http_answer_dispose(&a);

    /* not XML at all */
    post(SOAP12, "hello, world", 0, &a);
    CU_ASSERT_EQUAL(a.status, 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "SOAP-ENV:Sender"));
    http_answer_dispose(&a);

    /* a DTD that declares an entity */
    post(SOAP12,
         "<?xml version=\"1.0\"?><!DOCTYPE s:Envelope [<!ENTITY x \"boom\">]>"
         "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>&x;</s:Body></s:Envelope>",
         0, &a);
    CU_ASSERT_EQUAL(a.status, 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "SOAP-ENV:Sender"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "entity"));
    http_answer_dispose(&a);

    /* a mustUnderstand header we do not know */
    post(SOAP12,
         "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Header>"
         "<x:Secret xmlns:x=\"urn:x\" s:mustUnderstand=\"true\"/></s:Header><s:Body>" ECHO_BODY
         "</s:Body></s:Envelope>",
         0, &a);
    CU_ASSERT_EQUAL(a.status, 500);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "SOAP-ENV:MustUnderstand"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "NotUnderstood"));
    http_answer_dispose(&a);

    /* the handler's own fault */
    env = soap12(ECHO_ACTION, NULL, "<t:Fail xmlns:t=\"" ECHO_NS "\"/>");
    post(SOAP12, env, 0, &a);
    CU_ASSERT_EQUAL(a.status, 500);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "SOAP-ENV:Receiver"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "asked to fail"));
    http_answer_dispose(&a);
    free(env);

    /* no wsa:Action: the action parameter of the Content-Type */
    env = soap12(NULL, NULL, "<t:Other xmlns:t=\"urn:x\"/>");
    post(SOAP12 "; action=\"" ECHO_ACTION "\"", env, 0, &a);
    CU_ASSERT_EQUAL(a.status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "action=\"" ECHO_ACTION "\""));
    http_answer_dispose(&a);
    free(env);
}

static void test_oversize(void)
{
    /* an envelope past max_envelope: 413, connection closed, and the server still serves */
    size_t big = (size_t)cfg.max_envelope + 1000;
    char *pad = cg_xmalloc(big + 1);
    memset(pad, ' ', big);
    pad[big] = '\0';
    char *env = soap12(ECHO_ACTION, NULL, pad);
    http_answer a;
    post(SOAP12, env, 0, &a);
    CU_ASSERT_EQUAL(a.status, 413);
    CU_ASSERT(a.closed);
    http_answer_dispose(&a);
    free(env);

    /* an attachment past max_part */
    char *small = soap12(ECHO_ACTION, NULL, ECHO_BODY);
    size_t len;
    char *body = mtom_body("bb", small, pad, cfg.max_part + 1, &len);
    post("multipart/related; boundary=bb; type=\"application/xop+xml\"", body, len, &a);
    CU_ASSERT_EQUAL(a.status, 413);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "doc1@test"));
    http_answer_dispose(&a);
    free(body);
    /* exactly at the limit: accepted */
    body = mtom_body("bb", small, pad, cfg.max_part, &len);
    post("multipart/related; boundary=bb; type=\"application/xop+xml\"", body, len, &a);
    CU_ASSERT_EQUAL(a.status, 200);
    http_answer_dispose(&a);
    free(body);
    free(pad);

    /* a header block past max_header */
    char *longhdr = cg_xmalloc(cfg.max_header + 100);
    memset(longhdr, 'a', cfg.max_header + 99);
    longhdr[cfg.max_header + 99] = '\0';
    char *req = cg_xasprintf("POST " ECHO_PATH " HTTP/1.1\r\nHost: x\r\nX-Pad: %.*s\r\nX-Pad2: %s\r\n"
                             "Content-Type: " SOAP12 "\r\nContent-Length: 5\r\n\r\nhello",
                             1000, longhdr, longhdr + 1000);
    int fd = http_connect(ts.port);
    int rc = http_exchange(fd, req, 0, &a, 5000);
    CU_ASSERT(rc != 0 || a.status == 431 || a.status == 400);
    http_answer_dispose(&a);
    close(fd);
    free(req);
    free(longhdr);

    /* the server still answers */
    post(SOAP12, small, 0, &a);
    CU_ASSERT_EQUAL(a.status, 200);
    http_answer_dispose(&a);
    free(small);
}

static void test_get(void)
{
    int fd = http_connect(ts.port);
    http_answer a;
    CU_ASSERT_EQUAL(http_exchange(fd, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", 0, &a, 5000), 0);
    CU_ASSERT_EQUAL(a.status, 200);
    char *ct = http_header(&a, "content-type");
    CU_ASSERT_PTR_NOT_NULL(ct && strstr(ct, "application/json"));
    free(ct);
    CU_ASSERT_STRING_EQUAL(a.body, "{\"status\":\"ok\",\"test\":true}");
    http_answer_dispose(&a);
    /* same connection: the WSDL with the address the client used */
    CU_ASSERT_EQUAL(http_exchange(fd, "GET " ECHO_PATH "?wsdl HTTP/1.1\r\nHost: gw.example:8443\r\n\r\n",
                                  0, &a, 5000),
                    0);
    CU_ASSERT_EQUAL(a.status, 200);
    ct = http_header(&a, "content-type");
    CU_ASSERT_PTR_NOT_NULL(ct && strstr(ct, "text/xml"));
    free(ct);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "location=\"http://gw.example:8443" ECHO_PATH "\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"));
    http_answer_dispose(&a);
    CU_ASSERT_EQUAL(http_exchange(fd, "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n", 0, &a, 5000), 0);
    CU_ASSERT_EQUAL(a.status, 404);
    http_answer_dispose(&a);
    CU_ASSERT_EQUAL(http_exchange(fd, "PUT " ECHO_PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi",
                                  0, &a, 5000),
                    0);
    CU_ASSERT_EQUAL(a.status, 405);
    http_answer_dispose(&a);
    close(fd);
    /* a POST to a path with no endpoint */
    fd = http_connect(ts.port);
    CU_ASSERT_EQUAL(http_exchange(fd, "POST /nope HTTP/1.1\r\nHost: x\r\nContent-Type: " SOAP12
                                      "\r\nContent-Length: 2\r\n\r\nhi",
                                  0, &a, 5000),
                    0);
    CU_ASSERT_EQUAL(a.status, 404);
    http_answer_dispose(&a);
    close(fd);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void test_slow_client(void)
{
    /* a client that sends half a request and stalls */
    int slow = http_connect(ts.port);
    const char *part = "POST " ECHO_PATH " HTTP/1.1\r\nHost: x\r\nContent-Type: " SOAP12
                       "\r\nContent-Length: 500\r\n\r\n<s:Envelope";
    CU_ASSERT(send(slow, part, strlen(part), 0) > 0);
    double t0 = now_s();
    /* meanwhile another client is served at once */
    char *env = soap12(ECHO_ACTION, NULL, ECHO_BODY);
    http_answer a;
    post(SOAP12, env, 0, &a);
    CU_ASSERT_EQUAL(a.status, 200);
    CU_ASSERT(now_s() - t0 < 1.0);
    http_answer_dispose(&a);
    free(env);
    /* the stalled one is cut off after the receive timeout (1 s) */
    int rc = http_exchange(slow, NULL, 0, &a, 4000);
    double waited = now_s() - t0;
    CU_ASSERT(waited < 4.0);
    CU_ASSERT(rc != 0 || a.status == 408);
    http_answer_dispose(&a);
    char c;
    CU_ASSERT(recv(slow, &c, 1, 0) <= 0); /* closed */
    close(slow);
    CU_ASSERT(__atomic_load_n(&ts.requests, __ATOMIC_SEQ_CST) > 0);
}

static void test_plain_refused_off_loopback(void)
{
    cg_server_config c;
    test_server t;
    test_server_config(&c, &t);
    c.listen = "0.0.0.0:0";
    cg_server *srv = NULL;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_server_start(&srv, &c, &err), CG_EINVAL);
    CU_ASSERT_PTR_NULL(srv);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "plain HTTP"));
    c.listen = "127.0.0.1";
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_server_start(&srv, &c, &err), CG_EINVAL);
}

static void test_busy(void)
{
    /* one worker, one connection slot: a second connection while the first is served gets 503 */
    cg_server_config c;
    test_server t;
    test_server_config(&c, &t);
    c.threads = 1;
    c.max_connections = 1;
    test_server_start(&t, &c);
    int first = http_connect(t.port);
    http_answer a;
    CU_ASSERT_EQUAL(http_exchange(first, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", 0, &a, 5000), 0);
    CU_ASSERT_EQUAL(a.status, 200); /* the worker now holds the kept-alive connection */
    http_answer_dispose(&a);
    int second = http_connect(t.port);
    CU_ASSERT_EQUAL(http_exchange(second, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", 0, &a, 5000), 0);
    CU_ASSERT_EQUAL(a.status, 503);
    http_answer_dispose(&a);
    close(second);
    close(first);
    test_server_stop(&t);
}

/* ---- a client that does not read its answer -------------------------------------------------- */

#define BIG_PART (24u << 20) /* more than loopback's socket buffers hold */
static unsigned char *big_part;

/* Answers with one BIG_PART MTOM part. */
static int big_answer(void *ctx, const cg_request *req, cg_response *resp)
{
    (void)ctx;
    xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
    cg_pool_cleanup(req->pool, (void (*)(void *))xmlFreeDoc, doc);
    xmlNodePtr root = xmlNewDocNode(doc, NULL, (const xmlChar *)"Big", NULL);
    xmlSetNs(root, xmlNewNs(root, (const xmlChar *)ECHO_NS, (const xmlChar *)"t"));
    xmlDocSetRootElement(doc, root);
    cg_response_add_part(resp, req->pool, "application/octet-stream", big_part, BIG_PART);
    resp->body = doc;
    resp->action = ECHO_RESPONSE_ACTION;
    return CG_OK;
}

static void test_send_timeout(void)
{
    /* one worker, a 300 ms send timeout: a client that stops reading its (large) answer loses
     * it at the timeout, and the worker serves the next client */
    static const cg_route big_routes[] = {{ECHO_PATH, ECHO_ACTION, big_answer, NULL, ECHO_NS, "Big"}};
    big_part = cg_xcalloc(1, BIG_PART);
    cg_server_config c;
    test_server t;
    test_server_config(&c, &t);
    c.threads = 1;
    c.send_timeout_s = -300000; /* microseconds, as gSOAP reads a negative timeout */
    c.routes = big_routes;
    test_server_start(&t, &c);
    int stalled = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(stalled, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)t.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CU_ASSERT_EQUAL_FATAL(connect(stalled, (struct sockaddr *)&sa, sizeof sa), 0);
    char *env = soap12(ECHO_ACTION, NULL, ECHO_BODY);
    size_t rl;
    char *req = http_post(ECHO_PATH, SOAP12, env, strlen(env), &rl);
    CU_ASSERT_EQUAL(send(stalled, req, rl, 0), (ssize_t)rl);
    double t0 = now_s();
    poll(NULL, 0, 100); /* the worker is writing to the stalled client */
    int next = http_connect(t.port);
    http_answer a;
    CU_ASSERT_EQUAL(http_exchange(next, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", 0, &a, 10000), 0);
    CU_ASSERT_EQUAL(a.status, 200);
    double waited = now_s() - t0;
    CU_ASSERT(waited >= 0.2 && waited < 5.0);
    http_answer_dispose(&a);
    close(next);
    /* the stalled client gets part of its answer, then the end of the connection */
    size_t got = 0;
    char buf[65536];
    ssize_t r;
    struct pollfd p = {.fd = stalled, .events = POLLIN};
    while (poll(&p, 1, 5000) == 1 && (r = recv(stalled, buf, sizeof buf, 0)) > 0)
        got += (size_t)r;
    CU_ASSERT(got > 0 && got < BIG_PART);
    close(stalled);
    free(req);
    free(env);
    test_server_stop(&t);
    free(big_part);
}

/* ---- idle connections are parked with the accepting thread, not held by a worker ---------- */

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Waits up to ms for the server's connection counts; 1 when they were reached. */
static int stats_reach(cg_server *srv, unsigned active, unsigned queued, unsigned parked, int ms)
{
    cg_server_stats st;
    for (int waited = 0;; waited += 10) {
        cg_server_get_stats(&st, srv);
        if (st.active == active && st.queued == queued && st.parked == parked)
            return 1;
        if (waited >= ms) {
            fprintf(stderr, "stats: active %u queued %u parked %u, expected %u %u %u\n",
                    st.active, st.queued, st.parked, active, queued, parked);
            return 0;
        }
        sleep_ms(10);
    }
}

/* One echo request on fd; 0 when it was answered with 200. */
static int echo_on(int fd, http_answer *a, int timeout_ms)
{
    char *env = soap12(ECHO_ACTION, NULL, ECHO_BODY);
    size_t rl;
    char *req = http_post(ECHO_PATH, SOAP12, env, strlen(env), &rl);
    int rc = http_exchange(fd, req, rl, a, timeout_ms);
    free(req);
    free(env);
    return rc == 0 && a->status == 200 && strstr(a->body, "EchoResponse") ? 0 : -1;
}

/* Seconds until the server closes fd (EOF seen), -1 after timeout_ms. */
static double wait_eof(int fd, int timeout_ms)
{
    double t0 = now_s();
    char buf[4096];
    for (;;) {
        int left = timeout_ms - (int)((now_s() - t0) * 1000);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, left) <= 0)
            return -1;
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            return now_s() - t0;
    }
}

static void test_park_many(void)
{
    /* 8 keep-alive clients, 2 workers: an idle connection holds no worker, so none waits for
     * another's keep-alive timeout (5 s) */
    cg_server_config c;
    test_server t;
    test_server_config(&c, &t);
    c.threads = 2;
    c.keepalive_timeout_s = 5;
    test_server_start(&t, &c);
    int fd[8];
    for (int i = 0; i < 8; i++) {
        fd[i] = http_connect(t.port);
        CU_ASSERT_FATAL(fd[i] >= 0);
        http_answer a;
        double t0 = now_s();
        CU_ASSERT_EQUAL(echo_on(fd[i], &a, 3000), 0);
        CU_ASSERT(now_s() - t0 < 1.0);
        CU_ASSERT(!a.closed);
        http_answer_dispose(&a);
    }
    CU_ASSERT(stats_reach(t.srv, 0, 0, 8, 1000));
    /* the second round in reverse order: the oldest idle connections are served as promptly */
    for (int i = 7; i >= 0; i--) {
        http_answer a;
        double t0 = now_s();
        CU_ASSERT_EQUAL(echo_on(fd[i], &a, 3000), 0);
        CU_ASSERT(now_s() - t0 < 1.0);
        CU_ASSERT(!a.closed);
        http_answer_dispose(&a);
    }
    CU_ASSERT(stats_reach(t.srv, 0, 0, 8, 1000));
    CU_ASSERT_EQUAL(__atomic_load_n(&t.requests, __ATOMIC_SEQ_CST), 16);
    for (int i = 0; i < 8; i++)
        close(fd[i]);
    /* closed by the clients: reclaimed without a worker or the keep-alive timeout */
    CU_ASSERT(stats_reach(t.srv, 0, 0, 0, 1000));
    test_server_stop(&t);
}

static void test_park_timeouts(void)
{
    cg_server_config c;
    test_server t;
    test_server_config(&c, &t);
    c.threads = 1;
    c.keepalive_timeout_s = 1;
    c.recv_timeout_s = 2;
    test_server_start(&t, &c);
    /* an idle kept-alive connection is closed after keepalive_timeout */
    int idle = http_connect(t.port);
    http_answer a;
    CU_ASSERT_EQUAL(echo_on(idle, &a, 3000), 0);
    http_answer_dispose(&a);
    /* a connection that sends nothing is parked too: the one worker serves another client */
    int silent = http_connect(t.port);
    CU_ASSERT(stats_reach(t.srv, 0, 0, 2, 1000));
    int other = http_connect(t.port);
    double t0 = now_s();
    CU_ASSERT_EQUAL(echo_on(other, &a, 3000), 0);
    CU_ASSERT(now_s() - t0 < 1.0);
    http_answer_dispose(&a);
    close(other);
    double waited = wait_eof(idle, 4000);
    CU_ASSERT(waited >= 0 && waited < 2.0);
    /* ... and the silent one after recv_timeout (2 s) */
    waited = wait_eof(silent, 4000);
    CU_ASSERT(waited >= 0 && waited < 3.0);
    CU_ASSERT(stats_reach(t.srv, 0, 0, 0, 1000));
    close(idle);
    close(silent);
    test_server_stop(&t);
}

static void test_park_max_connections(void)
{
    /* parked connections count toward max_connections */
    cg_server_config c;
    test_server t;
    test_server_config(&c, &t);
    c.threads = 1;
    c.max_connections = 2;
    test_server_start(&t, &c);
    int one = http_connect(t.port), two = http_connect(t.port);
    http_answer a;
    CU_ASSERT_EQUAL(echo_on(one, &a, 3000), 0);
    http_answer_dispose(&a);
    CU_ASSERT_EQUAL(echo_on(two, &a, 3000), 0);
    http_answer_dispose(&a);
    CU_ASSERT(stats_reach(t.srv, 0, 0, 2, 1000));
    int three = http_connect(t.port);
    CU_ASSERT_EQUAL(http_exchange(three, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", 0, &a, 3000),
                    0);
    CU_ASSERT_EQUAL(a.status, 503);
    http_answer_dispose(&a);
    close(three);
    /* one leaves: its slot is free again */
    close(one);
    CU_ASSERT(stats_reach(t.srv, 0, 0, 1, 1000));
    int four = http_connect(t.port);
    CU_ASSERT_EQUAL(echo_on(four, &a, 3000), 0);
    http_answer_dispose(&a);
    /* the kept connection still works */
    CU_ASSERT_EQUAL(echo_on(two, &a, 3000), 0);
    http_answer_dispose(&a);
    close(two);
    close(four);
    test_server_stop(&t);
}

static int count(const char *s, size_t len, const char *needle)
{
    int n = 0;
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= len; i++)
        if (memcmp(s + i, needle, k) == 0)
            n++;
    return n;
}

static void test_pipelined_and_keepalive_max(void)
{
    cg_server_config c;
    test_server t;
    test_server_config(&c, &t);
    c.threads = 1;
    c.keepalive_max = 3;
    test_server_start(&t, &c);
    /* two requests in one write: both answered, in order */
    char *env = soap12(ECHO_ACTION, NULL, ECHO_BODY);
    size_t rl;
    char *req = http_post(ECHO_PATH, SOAP12, env, strlen(env), &rl);
    cg_buf two;
    cg_buf_init(&two, (size_t)1 << 20);
    cg_buf_append(&two, req, rl);
    cg_buf_append(&two, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", 34);
    int fd = http_connect(t.port);
    CU_ASSERT((size_t)send(fd, two.data, two.len, 0) == two.len);
    cg_buf in;
    cg_buf_init(&in, (size_t)1 << 20);
    double t0 = now_s();
    while (now_s() - t0 < 3.0 && !(in.data && strstr(in.data, "\"test\":true}"))) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char tmp[8192];
        ssize_t n = poll(&p, 1, 3000) > 0 ? recv(fd, tmp, sizeof(tmp), 0) : 0;
        if (n <= 0)
            break;
        cg_buf_append(&in, tmp, (size_t)n);
    }
    CU_ASSERT(now_s() - t0 < 1.0);
    CU_ASSERT_EQUAL(in.data ? count(in.data, in.len, "HTTP/1.1 200 OK") : 0, 2);
    const char *echo = in.data ? strstr(in.data, "EchoResponse") : NULL;
    const char *health = in.data ? strstr(in.data, "\"test\":true}") : NULL;
    CU_ASSERT(echo && health && echo < health);
    /* the third request is the last keepalive_max allows: Connection: close, then EOF */
    http_answer a;
    CU_ASSERT_EQUAL(echo_on(fd, &a, 3000), 0);
    CU_ASSERT(a.closed);
    http_answer_dispose(&a);
    CU_ASSERT(wait_eof(fd, 2000) >= 0);
    close(fd);
    CU_ASSERT(stats_reach(t.srv, 0, 0, 0, 1000));
    cg_buf_dispose(&in);
    cg_buf_dispose(&two);
    free(req);
    free(env);
    test_server_stop(&t);
}

static void test_body_never_a_next_request(void)
{
    /* a body far past the envelope limit (and past what gSOAP reads of one message, without
     * the slack the server adds) whose start is a request of its own: one 413, the inner GET
     * never served (bytes read past a request are kept for pipelining: not these) */
    cg_server_config c;
    test_server t;
    test_server_config(&c, &t);
    c.threads = 1;
    c.max_envelope = 16384;
    c.max_part = 4096;
    c.max_parts = 3;
    c.max_header = 2048;
    test_server_start(&t, &c);
    const char *inner = "GET /health HTTP/1.1\r\nHost: smuggled\r\n\r\n";
    size_t n = 60000;
    char *body = cg_xmalloc(n);
    memset(body, ' ', n);
    memcpy(body, inner, strlen(inner));
    size_t rl;
    char *req = http_post(ECHO_PATH, SOAP12, body, n, &rl);
    size_t head = (size_t)(strstr(req, "\r\n\r\n") + 4 - req);
    int fd = http_connect(t.port);
    CU_ASSERT((size_t)send(fd, req, head, 0) == head);
    sleep_ms(200); /* the body comes in one piece, after the headers were read */
    CU_ASSERT((size_t)send(fd, req + head, rl - head, MSG_NOSIGNAL) == rl - head);
    cg_buf in;
    cg_buf_init(&in, (size_t)1 << 20);
    double t0 = now_s(), seen = 0;
    /* read until the server closes, or 500 ms after the first answer */
    while (now_s() - t0 < 5.0 && !(seen > 0 && now_s() - seen > 0.5)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char tmp[8192];
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t got = recv(fd, tmp, sizeof(tmp), 0);
        if (got <= 0)
            break;
        cg_buf_append(&in, tmp, (size_t)got);
        if (seen == 0 && strstr(in.data, "\r\n\r\n"))
            seen = now_s();
    }
    CU_ASSERT_EQUAL(in.data ? count(in.data, in.len, "HTTP/1.1 ") : 0, 1);
    CU_ASSERT(in.data && strncmp(in.data, "HTTP/1.1 413", 12) == 0);
    CU_ASSERT(!in.data || !strstr(in.data, "\"test\":true"));
    close(fd);
    cg_buf_dispose(&in);
    free(req);
    free(body);
    test_server_stop(&t);
}

static void test_stop_closes_parked(void)
{
    cg_server_config c;
    test_server t;
    test_server_config(&c, &t);
    test_server_start(&t, &c);
    int fd = http_connect(t.port);
    http_answer a;
    CU_ASSERT_EQUAL(echo_on(fd, &a, 3000), 0);
    http_answer_dispose(&a);
    int fresh = http_connect(t.port);
    CU_ASSERT(stats_reach(t.srv, 0, 0, 2, 1000));
    double t0 = now_s();
    test_server_stop(&t);
    CU_ASSERT(now_s() - t0 < 1.0);
    CU_ASSERT(wait_eof(fd, 1000) >= 0);
    CU_ASSERT(wait_eof(fresh, 1000) >= 0);
    close(fd);
    close(fresh);
}

static xmlDocPtr echo_body(void)
{
    xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNodePtr root = xmlNewDocNode(doc, NULL, (const xmlChar *)"Echo", NULL);
    xmlSetNs(root, xmlNewNs(root, (const xmlChar *)ECHO_NS, (const xmlChar *)"t"));
    xmlDocSetRootElement(doc, root);
    return doc;
}

static void test_park_tls(void)
{
    /* two TLS clients, one worker: each connection keeps its TLS session (and client subject)
     * while parked, and neither waits for the other's keep-alive timeout */
    char *dir = cg_test_tmpdir();
    if (tls_make_certs(dir) != 0) {
        CU_FAIL("openssl could not make the test certificates");
        free(dir);
        return;
    }
    char *cert = cg_xasprintf("%s/server.pem", dir), *key = cg_xasprintf("%s/server.key", dir);
    char *ca = cg_xasprintf("%s/ca.pem", dir);
    char *ccert = cg_xasprintf("%s/client.pem", dir), *ckey = cg_xasprintf("%s/client.key", dir);
    cg_server_config c;
    test_server t;
    test_server_config(&c, &t);
    c.threads = 1;
    c.keepalive_timeout_s = 3;
    c.tls_cert = cert;
    c.tls_key = key;
    c.tls_ca = ca;
    test_server_start(&t, &c);
    char *url = cg_xasprintf("https://127.0.0.1:%d%s", t.port, ECHO_PATH);
    cg_client_tls tls = {.cert = ccert, .key = ckey, .ca = ca, .skip_host_check = 1};
    cg_client *cl[2] = {NULL, NULL};
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL_FATAL(cg_client_new(&cl[0], url, &tls, 5, &err), CG_OK);
    CU_ASSERT_EQUAL_FATAL(cg_client_new(&cl[1], url, &tls, 5, &err), CG_OK);
    cg_pool *pool = cg_pool_new(0);
    xmlDocPtr body = echo_body();
    for (int round = 0; round < 4; round++) {
        cg_client_answer ans;
        double t0 = now_s();
        int rc = cg_client_call(cl[round % 2], pool, ECHO_ACTION, body, NULL, 0, 0, &ans, &err);
        if (rc != CG_OK)
            fprintf(stderr, "TLS call %d: %s\n", round, err.msg);
        CU_ASSERT_EQUAL(rc, CG_OK);
        /* well under the other connection's keep-alive timeout, even with a (slow, under
         * valgrind) TLS handshake in the first two calls */
        CU_ASSERT(now_s() - t0 < (round < 2 ? 2.5 : 1.0));
        CU_ASSERT_EQUAL(ans.http_status, 200);
        xmlChar *subject = ans.body ? xmlGetProp(ans.body, (const xmlChar *)"subject") : NULL;
        CU_ASSERT_PTR_NOT_NULL(subject && strstr((const char *)subject, "CN=cdagate-test-client"));
        xmlFree(subject);
        cg_pool_reset(pool);
    }
    CU_ASSERT(stats_reach(t.srv, 0, 0, 2, 1000));
    /* the parked TLS connections are closed at their keep-alive deadline, by the accepting
     * thread, without waiting for the clients' close_notify */
    CU_ASSERT(stats_reach(t.srv, 0, 0, 0, 5000));
    xmlFreeDoc(body);
    cg_pool_free(pool);
    cg_client_free(cl[0]);
    cg_client_free(cl[1]);
    test_server_stop(&t);
    free(url);
    free(cert), free(key), free(ca), free(ccert), free(ckey);
    free(dir);
}

void cg_test_register_transport_server(void)
{
    CU_pSuite s = CU_add_suite("transport/server", suite_init, suite_clean);
    CU_add_test(s, "inline SOAP 1.2: 200, wsa:Action, RelatesTo, MessageID", test_inline);
    CU_add_test(s, "MTOM in, SHA-1 of the part, MTOM out with start-info", test_mtom);
    CU_add_test(s, "chunked request body, then a second request on the connection",
                test_chunked_and_keepalive);
    CU_add_test(s, "VersionMismatch, ActionNotSupported, malformed, DTD entity, MustUnderstand",
                test_faults);
    CU_add_test(s, "oversize envelope, attachment and header: 413/431 and still serving",
                test_oversize);
    CU_add_test(s, "GET /health, GET ?wsdl with the Host's address, 404, 405", test_get);
    CU_add_test(s, "a stalled client is cut off while another is served", test_slow_client);
    CU_add_test(s, "past max_connections a new connection gets 503", test_busy);
    CU_add_test(s, "a client that stops reading its answer is cut off at the send timeout",
                test_send_timeout);
    CU_add_test(s, "plain HTTP off loopback and a bad listen address are refused",
                test_plain_refused_off_loopback);
    CU_add_test(s, "8 keep-alive clients on 2 workers: all served promptly, reclaimed on close",
                test_park_many);
    CU_add_test(s, "parked connections close at keepalive_timeout, or recv_timeout when silent",
                test_park_timeouts);
    CU_add_test(s, "parked connections count toward max_connections", test_park_max_connections);
    CU_add_test(s, "pipelined requests answered in order; keepalive_max closes the connection",
                test_pipelined_and_keepalive_max);
    CU_add_test(s, "an oversized body is refused once, never read as a further request",
                test_body_never_a_next_request);
    CU_add_test(s, "stopping the server closes parked connections at once",
                test_stop_closes_parked);
    CU_add_test(s, "TLS: parked connections keep their session; closed at their deadline",
                test_park_tls);
}
