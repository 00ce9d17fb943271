/* view: the gateway's pages for people: GET /documents/{uniqueId} (the stored bytes, with their
 * mimeType, as a download), GET /documents/{uniqueId}/view (the document rendered to HTML) and
 * GET /patients/{patientId} (a clinician's list of the patient's documents, with their links).
 * Owns: reading the uniqueId from the path (%-decoded, bounded, checked), the answers' headers
 * (a strict Content-Security-Policy with a per-answer style nonce, nosniff, no referrer, no
 * caching), the 400/404/415/422/503 pages. Does not own: rendering (render), storage (store),
 * HTTP framing (transport), access control (the transport's TLS client-certificate policy). */
#ifndef CG_SVC_VIEW_H
#define CG_SVC_VIEW_H

#include "render/render.h"
#include "store/store.h"
#include "svc/request.h"

#define CG_VIEW_PREFIX "/documents/"
#define CG_VIEW_MAX_UNIQUE_ID 128 /* bytes of a decoded uniqueId (XDS: at most 128) */

typedef struct cg_view {
    cg_store *store;
    const char *repository_id;
    const cg_render *render; /* NULL: views answer 503 (render_missing says why) */
    const char *render_missing;
    size_t max_document; /* bytes of a document parsed for a view */
    unsigned max_depth;
} cg_view;

/* The cg_get_fn of the route CG_VIEW_PREFIX: rest is "{uniqueId}" or "{uniqueId}/view".
 * Query (views only): lang=en|fr|de, mask-ids=1. */
int cg_svc_documents(void *ctx, const cg_request *req, const char *rest, const char *query,
                     cg_http_answer *out);

#define CG_VIEW_PATIENT_PREFIX "/patients/"
#define CG_VIEW_MAX_PATIENT_ID 256 /* bytes of a decoded patient id (a CX) */
#define CG_VIEW_MAX_LISTED 1000    /* DocumentEntries one patient page lists */

/* The cg_get_fn of CG_VIEW_PATIENT_PREFIX: rest is a %-encoded CX patient id. The patient's
 * DocumentEntries from the local registry, newest registration first: title, type, creation
 * time, authors, status, what replaced it (RPLC, XFRM_RPLC), links to the raw document and its
 * view. Only served with a local registry. */
int cg_svc_patient_page(void *ctx, const cg_request *req, const char *rest, const char *query,
                        cg_http_answer *out);

/* %-decodes src (n bytes) into a NUL-terminated pool string; NULL when an escape is malformed,
 * decodes to a control character, or the result exceeds max bytes. */
char *cg_view_url_decode(cg_pool *pool, const char *src, size_t n, size_t max);

#endif
