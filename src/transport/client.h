/* client: an outbound SOAP 1.2 / MTOM client over one keep-alive connection (gSOAP).
 * Owns: connecting (http, or https with an optional client certificate), sending a body with
 * WS-Addressing headers as inline SOAP or MTOM, and reading the answer into libxml2 trees and
 * parts. Used by tests and benchmarks, and later for forwarding to a remote registry or XCA.
 * Does not own: what the bodies mean, retries, or connection pools (one client = one socket). */
#ifndef CG_TRANSPORT_CLIENT_H
#define CG_TRANSPORT_CLIENT_H

#include <libxml/tree.h>
#include <stddef.h>

#include "svc/request.h"
#include "util/err.h"
#include "util/pool.h"

typedef struct cg_client cg_client;

typedef struct cg_client_tls {
    const char *cert, *key, *key_password; /* client certificate for mutual TLS, may be NULL */
    const char *ca;                        /* CA bundle that signs the server's certificate */
    int skip_host_check;                   /* do not match the host name (tests, IP literals) */
} cg_client_tls;

typedef struct cg_client_answer {
    int http_status;
    const char *content_type;
    xmlDocPtr envelope; /* NULL when the answer is not SOAP (then text holds its body) */
    xmlNodePtr body;    /* first element child of Body */
    const char *action, *relates_to, *message_id;
    const cg_part *parts; /* MTOM parts, SHA-1 computed */
    size_t nparts;
    int fault; /* the body is an env:Fault: */
    const char *fault_code, *fault_subcode, *fault_reason;
    const char *text; /* a non-SOAP answer's bytes, NUL-terminated */
    size_t text_len;
} cg_client_answer;

/* url: http://host:port/path or https://... ; tls only for https (NULL = no client
 * certificate, system CAs). timeout_s bounds connect, each read and each write. */
int cg_client_new(cg_client **out, const char *url, const cg_client_tls *tls, int timeout_s,
                  cg_err *err);
/* Sends body (its root element goes in soap:Body) with wsa:Action, wsa:MessageID and wsa:To,
 * as MTOM when nparts > 0 or mtom is set, and reads the answer into out; pool owns the
 * answer. CG_EIO: connection or HTTP failure; CG_EINVAL/CG_ETOOBIG: an unreadable answer. A
 * SOAP fault is an answer (out->fault), not an error. */
int cg_client_call(cg_client *c, cg_pool *pool, const char *action, xmlDocPtr body,
                   const cg_out_part *parts, size_t nparts, int mtom, cg_client_answer *out,
                   cg_err *err);
void cg_client_free(cg_client *c);

#endif
