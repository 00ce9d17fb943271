/* envelope: the SOAP 1.2 envelope as the transport reads and writes it, on libxml2 trees.
 * Owns: parsing the root part with xml/parse (no DTD, no network, bounded), the SOAP version
 * check, the WS-Addressing 1.0 headers a request carries, the mustUnderstand check, and the text
 * of the response's Header and Body elements. Does not own: sockets, HTTP or MIME
 * (transport/wire through gSOAP), the Envelope element and fault serialisation on output
 * (gSOAP's soap_envelope_begin_out and soap_putfault, in transport/wire), or what a body means. */
#ifndef CG_TRANSPORT_ENVELOPE_H
#define CG_TRANSPORT_ENVELOPE_H

#include <libxml/tree.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/pool.h"
#include "xml/parse.h"

#define CG_NS_SOAP12 "http://www.w3.org/2003/05/soap-envelope"
#define CG_NS_SOAP11 "http://schemas.xmlsoap.org/soap/envelope/"
#define CG_NS_WSA "http://www.w3.org/2005/08/addressing"
#define CG_WSA_ANONYMOUS "http://www.w3.org/2005/08/addressing/anonymous"
#define CG_WSA_FAULT_ACTION "http://www.w3.org/2005/08/addressing/fault"

typedef struct cg_envelope {
    xmlDocPtr doc;   /* freed with the pool */
    xmlNodePtr body; /* first element child of Body; NULL for an empty Body */
    int version_mismatch; /* the root is not a SOAP 1.2 Envelope */
    int soap11;           /* ... and it is a SOAP 1.1 one */
    /* WS-Addressing 1.0 headers (text trimmed, in the pool; NULL when absent) */
    const char *action, *message_id, *to, *reply_to;
    /* wsa header names sent in the SOAP envelope namespace by some peers (Axis2 captures):
     * understood, and their Action is used when there is no wsa:Action */
    const char *misplaced_action;
    /* the first header block with mustUnderstand="true" that we do not understand */
    const char *not_understood;    /* its local name */
    const char *not_understood_ns; /* its namespace, may be NULL */
    /* a fault envelope (what a client reads back) */
    int is_fault;
    const char *fault_code, *fault_subcode, *fault_reason; /* QName text as sent; reason text */
    const char *relates_to;
} cg_envelope;

/* Parses and inspects an envelope. CG_OK also for version_mismatch and not_understood (the
 * caller answers those with a fault); CG_EINVAL (not well-formed, not an Envelope, no Body),
 * CG_EUNSAFE (entity declarations), CG_ETOOBIG (size, depth) with err naming the problem. */
int cg_envelope_read(cg_envelope *out, cg_pool *pool, const char *data, size_t len,
                     const cg_xml_limits *limits, cg_err *err);

/* Appends <SOAP-ENV:Header> with wsa:Action, wsa:MessageID, wsa:RelatesTo and wsa:To (each
 * when not NULL). The prefixes are the ones transport/wire declares on the Envelope. */
int cg_envelope_put_header(cg_buf *out, const char *action, const char *message_id,
                           const char *relates_to, const char *to);
/* Appends <SOAP-ENV:Body>, the root element of body serialised by libxml2, </SOAP-ENV:Body>.
 * splice_at (may be NULL): the comment CG_SPLICE_MARK of the tree is left out, and
 * *splice_at set to the offset in out where it was (where the sender writes the spliced text,
 * see cg_response_splice), or to SIZE_MAX when the tree has none. */
int cg_envelope_put_body(cg_buf *out, xmlDocPtr body, size_t *splice_at);
/* Appends text with the five XML special characters escaped. */
int cg_envelope_put_text(cg_buf *out, const char *text);

#endif
