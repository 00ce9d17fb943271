/* wire: one SOAP message in or out of a gSOAP context; shared by the server and the client.
 * Owns: the HTTP header hook (Content-Type, Host, SOAPAction, size of the header block), the
 * HTTP body read from gSOAP's reader (Content-Length, chunked, until close) into the MIME reader
 * or a bounded envelope buffer, and writing a message through gSOAP: HTTP status line and
 * headers, MTOM/MIME framing, the Envelope element and faults. Does not own: what an envelope
 * says (transport/envelope), sockets, accept loops and TLS set-up (transport/server, client).
 * Only the transport sources include this header (it includes gSOAP's). */
#ifndef CG_TRANSPORT_WIRE_H
#define CG_TRANSPORT_WIRE_H

#include <stddef.h>
#include <stdsoap2.h>

#include "svc/request.h"
#include "util/err.h"
#include "util/pool.h"

/* Per-context state, reachable as soap->user. */
typedef struct cg_wire {
    int (*parsehdr)(struct soap *, const char *, const char *); /* gSOAP's own parser */
    size_t (*frecv)(struct soap *, char *, size_t);             /* gSOAP's own reader */
    int (*fclose)(struct soap *);                                /* gSOAP's own closer */
    int (*fsend)(struct soap *, const char *, size_t);          /* gSOAP's own writer (TLS) */
    size_t max_header;
    /* the request's (or answer's) HTTP headers, copied with soap_strdup */
    const char *content_type, *host, *soap_action, *content_encoding;
    size_t header_bytes;
    int header_too_big;
    int has_length; /* a Content-Length header was sent */
    int eof; /* the connection ended (closed, error or receive timeout) while reading */
    void *owner;
    /* A slow request set aside (server): while `gate` is set, every byte read is also kept in
     * kept[0..kept_cap) (past kept_cap the gate opens: the request is read to its end here),
     * and a read for which nothing arrives within gate_ms gives up with `parked` set instead of
     * waiting: the request is read again later from what was kept. */
    int gate, parked;
    int ready; /* bytes are known to be waiting: the next read does not watch for them first */
    unsigned gate_ms;
    char *kept;
    size_t nkept, kept_cap;
} cg_wire;

typedef struct cg_wire_limits {
    size_t max_envelope, max_part, max_parts, max_header;
} cg_wire_limits;

/* A received message's SOAP part and attachments, all in the pool. */
typedef struct cg_wire_message {
    const char *envelope; /* NUL-terminated */
    size_t envelope_len;
    const char *root_content_type; /* root part's Content-Type (MTOM), else NULL */
    int multipart;
    cg_part *parts;
    size_t nparts;
} cg_wire_message;

/* What to send. Exactly one of body_xml and fault_code is set. */
typedef struct cg_wire_out {
    int http_status;        /* server only: 200, or the status of a fault */
    int soap11;             /* SOAP 1.1 envelope (VersionMismatch answers only) */
    const char *header_xml; /* <SOAP-ENV:Header>...</SOAP-ENV:Header>, may be NULL */
    const char *body_xml;   /* <SOAP-ENV:Body>...</SOAP-ENV:Body> */
    /* text written as it is at offset splice_at of body_xml (see cg_envelope_put_body) */
    size_t splice_at;
    const cg_text_piece *splice;
    size_t nsplice;
    const char *fault_code; /* "SOAP-ENV:Sender", ... */
    const char *fault_subcode;
    const char *fault_reason;
    const cg_out_part *parts;
    size_t nparts;
    int mtom;
} cg_wire_out;

/* Sets the namespace table, SOAP 1.2, MSG_NOSIGNAL and the header and receive hooks. */
void cg_wire_attach(struct soap *soap, cg_wire *w, size_t max_header);
/* Forgets the previous message's headers (call before soap_begin_recv). */
void cg_wire_reset(cg_wire *w);

/* Reads the body of the message whose headers soap_begin_recv has read. CG_ETOOBIG past a
 * limit, CG_EINVAL for a malformed MIME body or unsupported content coding, CG_EIO when the
 * connection ended or timed out before the body did. */
int cg_wire_read(struct soap *soap, cg_pool *pool, const cg_wire_limits *limits,
                 cg_wire_message *out, cg_err *err);

/* Writes a message: as the server's answer when url is NULL (soap_response), else as a POST to
 * url with the given SOAP action (soap_connect_command). Returns gSOAP's error code. */
int cg_wire_send(struct soap *soap, const cg_wire_out *o, const char *url, const char *action);

/* Reads and drops what the peer still sends, up to max bytes or timeout_ms, so that it reads
 * our answer before the connection closes (a close with unread input would reset it). */
void cg_wire_drain(struct soap *soap, size_t max, int timeout_ms);

/* CG_EINVAL with "what: " and OpenSSL's first queued error (the queue is cleared), for TLS
 * set-up failures of the server and the client. */
int cg_wire_tls_error(cg_err *err, const char *what);

#endif
