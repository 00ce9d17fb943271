/* helpers: what the transport tests share: an in-process server with an echo route, a raw
 * HTTP/1.1 exchange over a socket, and throwaway TLS certificates made with openssl. */
#ifndef CG_TESTS_TRANSPORT_HELPERS_H
#define CG_TESTS_TRANSPORT_HELPERS_H

#include <pthread.h>
#include <stddef.h>

#include "transport/server.h"

#define ECHO_PATH "/echo"
#define ECHO_ACTION "urn:cdagate:test:Echo"
#define ECHO_RESPONSE_ACTION "urn:cdagate:test:EchoResponse"
#define ECHO_NS "urn:cdagate:test"

typedef struct test_server {
    cg_server *srv;
    pthread_t thread;
    int port;
    int requests; /* on_request calls (atomic) */
} test_server;

/* The default test configuration: 127.0.0.1:0, the echo route, the project's WSDL files for
 * ECHO_PATH, a health callback, small limits (envelope 64 KiB, part 64 KiB, 3 parts). */
void test_server_config(cg_server_config *cfg, test_server *ts);
/* Starts cfg's server and runs it in a thread; CU-asserts on failure (returns 0 then). */
int test_server_start(test_server *ts, const cg_server_config *cfg);
void test_server_stop(test_server *ts);

/* One HTTP answer read from a socket. */
typedef struct http_answer {
    int status;
    char *headers; /* the header block as sent */
    char *body;
    size_t body_len;
    int closed; /* the server closed the connection after it */
} http_answer;

int http_connect(int port);
/* Sends len bytes (or strlen) and reads one answer; 0 when an answer was read. */
int http_exchange(int fd, const char *req, size_t len, http_answer *out, int timeout_ms);
void http_answer_dispose(http_answer *a);
/* The value of a header (any case) in an answer, malloc'd; NULL when absent. */
char *http_header(const http_answer *a, const char *name);
/* A POST of an envelope or MTOM body with Content-Length. */
char *http_post(const char *path, const char *content_type, const char *body, size_t len,
                size_t *out_len);
/* A SOAP 1.2 envelope with wsa:Action, wsa:MessageID and body xml. */
char *soap12(const char *action, const char *message_id, const char *body_xml);

/* Makes a CA, a server certificate (localhost, 127.0.0.1) and a client certificate
 * (CN=cdagate-test-client) in dir with the openssl command; 0 on success. */
int tls_make_certs(const char *dir);

void cg_test_register_transport_mime(void);
void cg_test_register_transport_server(void);
void cg_test_register_transport_client(void);

#endif
