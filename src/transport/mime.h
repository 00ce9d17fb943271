/* mime: a bounded, streaming reader for multipart/related (MTOM/XOP) HTTP bodies.
 * Owns: splitting a multipart body fed in arbitrary chunks into the root part (the SOAP
 * envelope) and the attachments, with limits on every part, header and the part count, SHA-1
 * computed while the bytes arrive, base64 parts decoded; parsing Content-Type parameters.
 * Does not own: the HTTP layer that delivers the bytes (transport/wire, through gSOAP), what the
 * envelope says (transport/envelope), or resolving cid: references (svc/request).
 *
 * Why not gSOAP's own MIME reader (soap_get_mime_attachment): it only recognises a boundary
 * after CRLF (bare-LF bodies from real peers are not split), it reads the first part and every
 * part before the root into memory without calling the fmimewrite* callbacks (so no per-part
 * limit and no hashing while reading there), it keeps base64 parts encoded, and it needs a
 * live struct soap to be tested. This reader is fed from gSOAP's HTTP body reader instead. */
#ifndef CG_TRANSPORT_MIME_H
#define CG_TRANSPORT_MIME_H

#include <stddef.h>

#include "svc/request.h"
#include "util/err.h"
#include "util/pool.h"

typedef struct cg_mime_limits {
    size_t max_root;   /* bytes of the root part (the envelope) */
    size_t max_part;   /* decoded bytes of one attachment */
    size_t max_parts;  /* attachments (parts other than the root) */
    size_t max_header; /* bytes of one part's header block, and of the preamble */
} cg_mime_limits;

/* A whole multipart message once the closing delimiter was seen. Everything lives in the pool
 * given to cg_mime_reader_new. */
typedef struct cg_mime_message {
    const char *root;              /* root part bytes, NUL-terminated */
    size_t root_len;
    const char *root_content_type; /* may be NULL */
    const char *root_content_id;   /* without "<>", may be NULL */
    cg_part *parts;                /* the other parts, in the order they came */
    size_t nparts;
} cg_mime_message;

typedef struct cg_mime_reader cg_mime_reader;

/* content_type is the HTTP Content-Type (multipart/related; boundary=...; start=...).
 * CG_EINVAL: not multipart or no boundary parameter. */
int cg_mime_reader_new(cg_mime_reader **out, const char *content_type,
                       const cg_mime_limits *limits, cg_pool *pool, cg_err *err);
/* Feeds the next bytes of the body. CG_ETOOBIG past a limit, CG_EINVAL for a malformed body
 * (bad header, duplicate Content-ID, bad base64); after an error the reader takes no more. */
int cg_mime_reader_feed(cg_mime_reader *r, const void *data, size_t len, cg_err *err);
/* The end of the body: CG_EINVAL when the closing delimiter was not seen (truncated body) or
 * the root named by `start` is missing. On success the part memory belongs to the pool. */
int cg_mime_reader_finish(cg_mime_reader *r, cg_mime_message *out, cg_err *err);
/* Releases the reader and any part memory not yet handed to the pool. NULL is allowed. */
void cg_mime_reader_free(cg_mime_reader *r);

/* The value of parameter `name` in a header value like `a/b; x="1"; y=2` (case-insensitive
 * name, quotes and backslash escapes removed), copied into the pool; NULL when absent. */
char *cg_mime_param(cg_pool *pool, const char *header, const char *name);
/* The media type of a header value, lowercased, without parameters ("multipart/related"). */
char *cg_mime_type(cg_pool *pool, const char *header);
/* A Content-ID or start value without surrounding blanks and "<>". */
char *cg_mime_cid(cg_pool *pool, const char *value);

#endif
