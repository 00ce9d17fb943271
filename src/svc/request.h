/* request: one SOAP request as the transaction handlers see it, and the answer they give.
 * Owns: the transport-neutral shape of a request (action, body as a libxml2 tree, MTOM parts,
 * peer identity, pool, deadline) and of a response (body, parts to send as MTOM, fault), the
 * GET routes that are not SOAP (cg_get_route, cg_http_answer: pages and documents for people),
 * and resolving a Document element's content (xop:Include or inline base64).
 * Does not own: sockets, HTTP, MIME or the envelope (transport), what a body means (svc handlers). */
#ifndef CG_SVC_REQUEST_H
#define CG_SVC_REQUEST_H

#include <libxml/tree.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "util/err.h"
#include "util/pool.h"

#define CG_SHA1_HEX_LEN 40

/* A MIME part received with the request (not the root part). The transport computed size and
 * SHA-1 while reading; the bytes stay valid until the response has been sent. */
typedef struct cg_part {
    const char *content_id;   /* without "<>" and not %-escaped */
    const char *content_type; /* as sent, may be NULL */
    const unsigned char *data;
    size_t len;
    char sha1[CG_SHA1_HEX_LEN + 1]; /* lowercase hex */
} cg_part;

/* Limits the transport enforced; handlers use them for their own bounds (e.g. inline base64). */
typedef struct cg_request_limits {
    size_t max_envelope;   /* bytes of the SOAP envelope */
    size_t max_part;       /* bytes of one attachment (and of one decoded inline document) */
    size_t max_parts;      /* attachments per request */
    unsigned max_depth;    /* XML nesting */
} cg_request_limits;

typedef struct cg_request {
    cg_pool *pool;          /* dies after the response is sent */
    const char *path;       /* endpoint path, e.g. "/xds/repository" */
    const char *action;     /* wsa:Action (or the SOAP 1.2 action parameter when no header) */
    const char *message_id; /* wsa:MessageID, may be NULL */
    const char *reply_to;   /* wsa:ReplyTo address, may be NULL */
    xmlDocPtr envelope;     /* whole envelope, parsed by xml/parse (no DTD, no network) */
    xmlNodePtr body;        /* first element child of soap:Body */
    const cg_part *parts;
    size_t nparts;
    const char *peer_addr;    /* "127.0.0.1:51234" */
    const char *peer_subject; /* TLS client certificate subject, NULL without mutual TLS */
    int64_t deadline_ms;      /* monotonic ms by which the answer should be sent, 0 = none */
    const cg_request_limits *limits;
    /* The audit event the gateway emits after the answer (NULL: not audited, e.g. /health).
     * Handlers add the patient, submission set, documents or query (audit/audit.h setters,
     * which take NULL). */
    cg_audit_event *audit;
} cg_request;

/* A piece of text written out as it is (see cg_response_splice). */
typedef struct cg_text_piece {
    const char *text;
    size_t len;
} cg_text_piece;

/* A part the response carries as MTOM; the body refers to it by <xop:Include href="cid:ID"/>. */
typedef struct cg_out_part {
    const char *content_id; /* without "<>" */
    const char *content_type;
    const unsigned char *data; /* must live until the response is sent (pool or pool cleanup) */
    size_t len;
} cg_out_part;

typedef enum cg_fault_code {
    CG_FAULT_NONE = 0,
    CG_FAULT_SENDER,         /* env:Sender: the request is wrong */
    CG_FAULT_RECEIVER,       /* env:Receiver: we could not process a good request */
    CG_FAULT_VERSION_MISMATCH,
    CG_FAULT_MUST_UNDERSTAND
} cg_fault_code;

typedef struct cg_response {
    const char *action; /* wsa:Action of the answer */
    xmlDocPtr body;     /* its root element goes into soap:Body; freed with the request pool */
    int mtom;           /* answer as multipart/related MTOM even when there are no parts */
    cg_out_part *parts;
    size_t nparts;
    size_t parts_cap;
    /* A fault instead of a body: */
    cg_fault_code fault;
    const char *fault_subcode; /* QName text, e.g. "wsa:ActionNotSupported", may be NULL */
    const char *fault_reason;
    int http_status; /* 0 = transport chooses (200, or 400/500 for faults) */
    /* XML text the transport writes, as it is and piece after piece, where the body holds the
     * comment CG_SPLICE_MARK (cg_response_splice): stored objects answered without being parsed
     * again, nor copied into one text first. */
    const cg_text_piece *splice;
    size_t nsplice;
} cg_response;

#define CG_SPLICE_MARK "cg:splice"

/* Makes the pieces' text, one after the other (well-formed XML content the handler vouches
 * for, e.g. registered objects as stored), the content of `parent` in the answer, written out
 * as it is. One per response; the pieces and their text must live as long as the response. */
void cg_response_splice(cg_response *resp, xmlNodePtr parent, const cg_text_piece *pieces,
                        size_t n);

/* A handler answers one action; it fills resp and returns CG_OK, or sets a fault. It never
 * returns an error for bad input: bad input is an IHE error in the body or a Sender fault. */
typedef int (*cg_handler_fn)(void *ctx, const cg_request *req, cg_response *resp);

typedef struct cg_route {
    const char *path;   /* endpoint path this action is served on */
    const char *action; /* request wsa:Action */
    cg_handler_fn fn;
    void *ctx;
    /* The body element this action carries: a request with no wsa:Action (some peers put
     * WS-Addressing headers in the wrong namespace) and no action parameter is routed by it. */
    const char *body_ns;
    const char *body_name;
} cg_route;

/* A GET that is not SOAP (a page, a document's bytes): the handler fills an answer; the
 * transport sends it as it is, with the headers given. Everything in it lives in req->pool. */
typedef struct cg_http_answer {
    int status;               /* 200, 400, 404 ... */
    const char *content_type; /* e.g. "text/html; charset=utf-8" */
    const unsigned char *data;
    size_t len;
    const char *headers; /* extra header lines "Name: value", separated by CRLF, may be NULL */
} cg_http_answer;

/* rest: the path after the route's prefix, still %-encoded; query: after '?', "" when none.
 * Returns CG_OK with out filled (error pages too); anything else is answered 500. */
typedef int (*cg_get_fn)(void *ctx, const cg_request *req, const char *rest, const char *query,
                         cg_http_answer *out);

typedef struct cg_get_route {
    const char *prefix; /* a path starting with it is this route's, e.g. "/documents/" */
    cg_get_fn fn;
    void *ctx;
} cg_get_route;

/* The route for a request: path and action must match; with no action at all, path and the
 * body element. NULL when none matches. */
const cg_route *cg_route_find(const cg_route *routes, size_t nroutes, const char *path,
                              const char *action, xmlNodePtr body);

void cg_response_fault(cg_response *resp, cg_pool *pool, cg_fault_code code, const char *subcode,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* A Sender fault for a request whose body is not {ns}name: "the body of this action must be
 * ..."; returns CG_OK, for a handler to return. */
int cg_response_wrong_body(cg_response *resp, const cg_request *req, const char *ns,
                           const char *name);

/* Whether n is the element {ns}name. */
int cg_request_is_el(xmlNodePtr n, const char *ns, const char *name);
/* The first element child {ns}name of parent after `after` (NULL: from the first child), or
 * NULL. */
xmlNodePtr cg_request_child(xmlNodePtr parent, const char *ns, const char *name, xmlNodePtr after);
/* Adds an MTOM part to the response and returns the content id it was given. */
const char *cg_response_add_part(cg_response *resp, cg_pool *pool, const char *content_type,
                                 const unsigned char *data, size_t len);

/* The bytes of a Document-like element: a single xop:Include child resolved against the
 * request's parts (href "cid:" URL-unescaped), or the element's text decoded as base64.
 * sha1 receives the hex digest. CG_ENOTFOUND: the cid names no part; CG_EINVAL: bad base64
 * or bad reference; CG_ETOOBIG: decoded content above limits->max_part. */
int cg_request_content(const cg_request *req, xmlNodePtr element, const unsigned char **out,
                       size_t *len, char sha1[CG_SHA1_HEX_LEN + 1], cg_err *err);

#endif
