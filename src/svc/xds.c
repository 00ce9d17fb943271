/* xds: the XDS.b transaction handlers (see xds.h). */
#define _POSIX_C_SOURCE 200809L
#include "svc/xds.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ebrim/errlist.h"
#include "ebrim/model.h"
#include "registry/delete.h"
#include "svc/xca.h"
#include "transport/client.h"
#include "util/alloc.h"
#include "util/str.h"

/* Bounds on what a remote registry's answer can make us relay. */
#define FORWARD_MAX_RELAYED 256 /* RegistryErrors */
#define FORWARD_MAX_CODE 128    /* characters of an errorCode; codeContext: errlist's bound */
#define FORWARD_MAX_SNIPPET 160 /* characters quoted from an answer that is not SOAP */


/* Text of a child element, trimmed, in the pool (NULL when absent or empty). */
static const char *child_text(cg_pool *pool, xmlNodePtr n, const char *ns, const char *name)
{
    xmlNodePtr c = cg_request_child(n, ns, name, NULL);
    if (!c)
        return NULL;
    xmlChar *t = xmlNodeGetContent(c);
    const char *s = (const char *)t;
    while (s && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
        s++;
    size_t len = s ? strlen(s) : 0;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' || s[len - 1] == '\n'))
        len--;
    char *out = len ? cg_pool_strndup(pool, s, len) : NULL;
    xmlFree(t);
    return out;
}

static void answer_registry_response(const cg_request *req, cg_response *resp, const char *action,
                                     const cg_errlist *errs)
{
    resp->action = action;
    resp->body = cg_ebrim_registry_response(req->pool, errs, 0);
}


/* The audit record's submission set and patient (ITI TF-2b 3.41.5.1, 3.42.5.1): the
 * SubmissionSet's uniqueId and patientId, as submitted. */
static void audit_submission(const cg_request *req, const cg_ebrim_submission *sub)
{
    for (size_t i = 0; i < sub->count; i++) {
        if (sub->objects[i].kind != CG_EBRIM_SUBMISSION_SET)
            continue;
        cg_audit_set_submission_set(req->audit, sub->objects[i].unique_id);
        cg_audit_add_patient(req->audit, sub->objects[i].patient_id);
    }
}

/* ---- the forwarder: ITI-42 to a remote registry ---------------------------------------------- */

struct cg_xds_forward {
    char *url;
    int timeout_s;
    char *tls_cert, *tls_key, *tls_ca;
    unsigned max_idle;
    pthread_mutex_t lock;
    cg_client **idle; /* max_idle slots */
    size_t nidle;
};

static char *dup_or_null(const char *s)
{
    return s ? cg_xstrdup(s) : NULL;
}

static int forward_connect(cg_xds_forward *fw, cg_client **out, cg_err *err)
{
    cg_client_tls tls = {.cert = fw->tls_cert, .key = fw->tls_key, .ca = fw->tls_ca};
    return cg_client_new(out, fw->url, &tls, fw->timeout_s, err);
}

int cg_xds_forward_new(cg_xds_forward **out, const cg_xds_forward_config *cfg, cg_err *err)
{
    *out = NULL;
    cg_xds_forward *fw = cg_xcalloc(1, sizeof(*fw));
    fw->url = cg_xstrdup(cfg->url);
    fw->timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s : 30;
    fw->tls_cert = dup_or_null(cfg->tls_cert);
    fw->tls_key = dup_or_null(cfg->tls_key);
    fw->tls_ca = dup_or_null(cfg->tls_ca);
    fw->max_idle = cfg->max_idle ? cfg->max_idle : 1;
    fw->idle = cg_xcalloc(fw->max_idle, sizeof(*fw->idle));
    pthread_mutex_init(&fw->lock, NULL);
    /* one client now: a bad URL or unusable TLS files stop the start, not the first request */
    cg_client *c = NULL;
    int rc = forward_connect(fw, &c, err);
    if (rc != CG_OK) {
        cg_xds_forward_free(fw);
        return rc;
    }
    fw->idle[fw->nidle++] = c;
    *out = fw;
    return CG_OK;
}

void cg_xds_forward_free(cg_xds_forward *fw)
{
    if (!fw)
        return;
    for (size_t i = 0; i < fw->nidle; i++)
        cg_client_free(fw->idle[i]);
    pthread_mutex_destroy(&fw->lock);
    free(fw->idle);
    free(fw->tls_ca);
    free(fw->tls_key);
    free(fw->tls_cert);
    free(fw->url);
    free(fw);
}

/* An idle connection, or a new client. */
static int forward_take(cg_xds_forward *fw, cg_client **out, cg_err *err)
{
    *out = NULL;
    pthread_mutex_lock(&fw->lock);
    if (fw->nidle > 0)
        *out = fw->idle[--fw->nidle];
    pthread_mutex_unlock(&fw->lock);
    return *out ? CG_OK : forward_connect(fw, out, err);
}

/* Keeps a client whose last exchange ended cleanly (its keep-alive connection may serve the
 * next request: gSOAP reconnects when the registry closed it meanwhile); frees the others. */
static void forward_give_back(cg_xds_forward *fw, cg_client *c, int reusable)
{
    if (reusable) {
        pthread_mutex_lock(&fw->lock);
        if (fw->nidle < fw->max_idle) {
            fw->idle[fw->nidle++] = c;
            c = NULL;
        }
        pthread_mutex_unlock(&fw->lock);
    }
    cg_client_free(c);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum { FORWARD_UNAVAILABLE = -1, FORWARD_REFUSED = 0, FORWARD_REGISTERED = 1 };

static int not_available(const cg_xds_forward *fw, cg_errlist *errs, const char *why)
{
    cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REGISTRY_NOT_AVAILABLE, NULL,
                   "the document registry at %s is not available: %s", fw->url, why);
    return FORWARD_UNAVAILABLE;
}

/* An attribute's value in the pool, at most max characters (NULL when absent). */
static const char *attr_bounded(cg_pool *pool, xmlNodePtr n, const char *name, size_t max)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    if (!v)
        return NULL;
    size_t len = strlen((const char *)v);
    char *out = cg_pool_strndup(pool, (const char *)v, len < max ? len : max);
    xmlFree(v);
    return out;
}

/* Copies the RegistryErrors of a RegistryResponse into errs as they are (severity, errorCode,
 * codeContext, location); with a Success status, errors become warnings: the status rules. */
void cg_xds_relay_errors(xmlNodePtr response, int success, const char *location, cg_pool *pool,
                        cg_errlist *errs)
{
    size_t relayed = 0, skipped = 0;
    xmlNodePtr list = cg_request_child(response, CG_NS_RS, "RegistryErrorList", NULL);
    for (xmlNodePtr e = list ? list->children : NULL; e; e = e->next) {
        if (!cg_request_is_el(e, CG_NS_RS, "RegistryError"))
            continue;
        if (relayed == FORWARD_MAX_RELAYED) {
            skipped++;
            continue;
        }
        const char *code = attr_bounded(pool, e, "errorCode", FORWARD_MAX_CODE);
        const char *context = attr_bounded(pool, e, "codeContext", 4096);
        const char *where = attr_bounded(pool, e, "location", 1024);
        const char *severity = attr_bounded(pool, e, "severity", 256);
        cg_ihe_severity sev = severity && strlen(severity) >= 8 &&
                                      strcmp(severity + strlen(severity) - 8, ":Warning") == 0
                                  ? CG_IHE_WARNING
                                  : CG_IHE_ERROR;
        if (success)
            sev = CG_IHE_WARNING;
        cg_errlist_add(errs, sev, code && *code ? code : CG_XDS_REGISTRY_ERROR,
                       where && *where ? where : location, "%s", context ? context : "");
        relayed++;
    }
    if (skipped)
        cg_errlist_add(errs, CG_IHE_WARNING, CG_XDS_REGISTRY_ERROR, location,
                       "%zu more RegistryErrors of the registry are not relayed", skipped);
}

/* Text for a message: control characters replaced, at most FORWARD_MAX_SNIPPET characters. */
static const char *snippet(cg_pool *pool, const char *text, size_t len)
{
    if (!text || len == 0)
        return "(empty)";
    size_t n = len < FORWARD_MAX_SNIPPET ? len : FORWARD_MAX_SNIPPET;
    char *out = cg_pool_strndup(pool, text, n);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
            out[i] = ' ';
    return out;
}

int cg_xds_forward_call(cg_xds_forward *fw, cg_pool *pool, const char *action, xmlDocPtr body,
                        const cg_out_part *parts, size_t nparts, int mtom,
                        struct cg_client_answer *out, cg_err *err)
{
    cg_client *c = NULL;
    int rc = forward_take(fw, &c, err);
    if (rc != CG_OK)
        return rc;
    rc = cg_client_call(c, pool, action, body, parts, nparts, mtom, out, err);
    /* a failed exchange leaves the connection in an unknown state: not reused */
    forward_give_back(fw, c, rc == CG_OK);
    return rc;
}

/* What the registry's answer says: registered, refused (its errors relayed), or not an answer
 * a registry gives (XDSRegistryNotAvailable). */
static int forward_verdict(const cg_xds_forward *fw, const cg_client_answer *ans, cg_pool *pool,
                           cg_errlist *errs)
{
    if (ans->fault)
        return not_available(
            fw, errs,
            cg_pool_printf(pool, "it answered a SOAP fault (HTTP %d): %s%s%s: %s",
                           ans->http_status, ans->fault_code ? ans->fault_code : "?",
                           ans->fault_subcode ? " " : "",
                           ans->fault_subcode ? ans->fault_subcode : "",
                           snippet(pool, ans->fault_reason,
                                   ans->fault_reason ? strlen(ans->fault_reason) : 0)));
    if (!ans->envelope)
        return not_available(fw, errs,
                             cg_pool_printf(pool, "it answered HTTP %d (%s), not SOAP: %s",
                                            ans->http_status,
                                            ans->content_type ? ans->content_type : "no type",
                                            snippet(pool, ans->text, ans->text_len)));
    if (!cg_request_is_el(ans->body, CG_NS_RS, "RegistryResponse"))
        return not_available(
            fw, errs,
            cg_pool_printf(pool, "it answered HTTP %d with <%s> instead of rs:RegistryResponse",
                           ans->http_status,
                           ans->body ? (const char *)ans->body->name : "an empty Body"));
    const char *status = attr_bounded(pool, ans->body, "status", 256);
    int success = status && strcmp(status, CG_RS_SUCCESS) == 0;
    if (!success && (!status || strcmp(status, CG_RS_FAILURE) != 0))
        return not_available(fw, errs,
                             cg_pool_printf(pool,
                                            "it answered a RegistryResponse with status \"%s\", "
                                            "which ITI-42 does not define",
                                            status ? status : "(none)"));
    size_t before = errs->errors;
    cg_xds_relay_errors(ans->body, success, NULL, pool, errs);
    if (success)
        return FORWARD_REGISTERED;
    if (errs->errors == before)
        cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REGISTRY_ERROR, NULL,
                       "the document registry at %s answered Failure without a RegistryError",
                       fw->url);
    return FORWARD_REFUSED;
}

/* ITI-42: the amended SubmitObjectsRequest (hash, size, repositoryUniqueId set) to the remote
 * registry. FORWARD_REGISTERED, FORWARD_REFUSED or FORWARD_UNAVAILABLE, with errs filled. */
static int forward_register(cg_xds_forward *fw, const cg_ebrim_submission *sub, cg_pool *pool,
                            cg_errlist *errs)
{
    xmlDocPtr body = xmlNewDoc((const xmlChar *)"1.0");
    cg_ebrim_pool_doc(pool, body);
    /* a copy whose parent is outside the new tree declares the namespaces it uses */
    xmlNodePtr root = xmlDocCopyNode(sub->request, body, 1);
    if (!root) {
        cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REPOSITORY_ERROR, NULL,
                       "xmlDocCopyNode(SubmitObjectsRequest): out of memory");
        return FORWARD_UNAVAILABLE;
    }
    xmlDocSetRootElement(body, root);
    cg_client *c = NULL;
    cg_err err;
    cg_err_init(&err);
    if (forward_take(fw, &c, &err) != CG_OK)
        return not_available(fw, errs, err.msg);
    cg_client_answer ans;
    int64_t t0 = now_ms();
    int rc = cg_client_call(c, pool, CG_ACTION_ITI42, body, NULL, 0, 0, &ans, &err);
    if (rc != CG_OK) {
        forward_give_back(fw, c, 0); /* the connection's state is unknown */
        int64_t waited = now_ms() - t0;
        if (waited >= (int64_t)fw->timeout_s * 1000)
            return not_available(fw, errs,
                                 cg_pool_printf(pool,
                                                "no answer within %ds "
                                                "(repository.registry_timeout): %s",
                                                fw->timeout_s, err.msg));
        return not_available(fw, errs, err.msg);
    }
    forward_give_back(fw, c, 1); /* the answer is in the pool */
    return forward_verdict(fw, &ans, pool, errs);
}

/* ITI-41 with a remote registry: documents held, the metadata registered there, the documents
 * then committed or discarded. Never a document retrievable without its registration. */
static void iti41_forward(cg_xds *xds, cg_ebrim_submission *sub, const cg_store_document *docs,
                          size_t ndocs, cg_pool *pool, cg_errlist *errs)
{
    cg_repository_held held;
    if (cg_repository_hold(xds->repository, &held, sub, docs, ndocs, errs) != CG_OK)
        return;
    if (forward_register(xds->forward, sub, pool, errs) == FORWARD_REGISTERED)
        cg_repository_commit(xds->repository, &held, errs);
    else
        cg_repository_discard(xds->repository, &held, errs);
}

/* ITI-42 and ITI-57: a SubmitObjectsRequest on the registry endpoint, parsed, audited (its
 * SubmissionSet and patient: ITI TF-2b 3.42.5.1, 3.57.4.1.4), then registered (update 0) or
 * applied as a metadata update (update 1). */
static int serve_submit_objects(cg_xds *xds, const cg_request *req, cg_response *resp,
                                const char *answer_action, int update)
{
    if (!cg_request_is_el(req->body, CG_NS_LCM, "SubmitObjectsRequest"))
        return cg_response_wrong_body(resp, req, CG_NS_LCM, "SubmitObjectsRequest");
    cg_errlist errs;
    cg_errlist_init(&errs, req->pool);
    cg_ebrim_submission sub;
    int parsed = cg_ebrim_parse_submission(&sub, req->body, req->pool, &errs);
    audit_submission(req, &sub);
    if (parsed == CG_OK && update)
        cg_registry_update(xds->registry, &sub, &errs);
    else if (parsed == CG_OK)
        cg_registry_submit(xds->registry, &sub, NULL, 0, &errs);
    answer_registry_response(req, resp, answer_action, &errs);
    return CG_OK;
}

/* ITI-42: the metadata alone; hash, size and repositoryUniqueId come from the source. */
int cg_svc_iti42(void *ctx, const cg_request *req, cg_response *resp)
{
    return serve_submit_objects(ctx, req, resp, CG_ACTION_ITI42_RESPONSE, 0);
}

/* ITI-57 Update Document Set: new versions, status updates and associations of registered
 * metadata, on the registry endpoint. */
int cg_svc_iti57(void *ctx, const cg_request *req, cg_response *resp)
{
    return serve_submit_objects(ctx, req, resp, CG_ACTION_ITI57_RESPONSE, 1);
}

/* ITI-41: documents checked against their entries, then metadata and bytes in one commit (or,
 * with a remote registry, bytes held while it registers the metadata). */
int cg_svc_iti41(void *ctx, const cg_request *req, cg_response *resp)
{
    cg_xds *xds = ctx;
    if (!cg_request_is_el(req->body, CG_NS_XDSB, "ProvideAndRegisterDocumentSetRequest"))
        return cg_response_wrong_body(resp, req, CG_NS_XDSB, "ProvideAndRegisterDocumentSetRequest");
    cg_errlist errs;
    cg_errlist_init(&errs, req->pool);
    xmlNodePtr submit = cg_request_child(req->body, CG_NS_LCM, "SubmitObjectsRequest", NULL);
    if (!submit) {
        cg_errlist_add(&errs, CG_IHE_ERROR, CG_XDS_REGISTRY_METADATA_ERROR, NULL,
                       "ProvideAndRegisterDocumentSetRequest has no lcm:SubmitObjectsRequest");
        answer_registry_response(req, resp, CG_ACTION_ITI41_RESPONSE, &errs);
        return CG_OK;
    }
    size_t ndocs = 0, cap = 0;
    cg_repository_doc *docs = NULL;
    for (xmlNodePtr c = req->body->children; c; c = c->next) {
        if (!cg_request_is_el(c, CG_NS_XDSB, "Document"))
            continue;
        docs = cg_pool_grow(req->pool, docs, &cap, ndocs + 1, sizeof(*docs));
        cg_repository_doc *d = &docs[ndocs];
        xmlChar *id = xmlGetProp(c, (const xmlChar *)"id");
        d->id = cg_pool_strdup(req->pool, (const char *)id);
        xmlFree(id);
        char sha1[CG_SHA1_HEX_LEN + 1];
        cg_err err;
        cg_err_init(&err);
        if (cg_request_content(req, c, &d->data, &d->len, sha1, &err) != CG_OK) {
            cg_errlist_add(&errs, CG_IHE_ERROR,
                           err.code == CG_ETOOBIG ? CG_XDS_REPOSITORY_OUT_OF_RESOURCES
                                                  : CG_XDS_MISSING_DOCUMENT,
                           d->id, "Document %s: %s", d->id ? d->id : "(no id)", err.msg);
            continue;
        }
        d->sha1 = cg_pool_strdup(req->pool, sha1);
        ndocs++;
    }
    cg_ebrim_submission sub;
    int parsed = cg_ebrim_parse_submission(&sub, submit, req->pool, &errs);
    audit_submission(req, &sub);
    if (parsed == CG_OK && errs.errors == 0) {
        cg_store_document *stored = NULL;
        size_t nstored = 0;
        if (cg_repository_accept(xds->repository, &sub, docs, ndocs, req->pool, &stored, &nstored,
                                 &errs) == CG_OK) {
            if (xds->forward)
                iti41_forward(xds, &sub, stored, nstored, req->pool, &errs);
            else
                cg_registry_submit(xds->registry, &sub, stored, nstored, &errs);
        }
    }
    answer_registry_response(req, resp, CG_ACTION_ITI41_RESPONSE, &errs);
    return CG_OK;
}

static void blob_free(void *data)
{
    cg_store_blob *blob = data;
    cg_store_blob_dispose(blob);
}

/* ITI-43: each DocumentRequest answered from our repository; the rest are errors. */
/* One DocumentRequest of an ITI-43 or ITI-86 body that names a document of this repository. */
typedef struct doc_ref {
    const char *home, *repo_id, *uid;
} doc_ref;

/* The body's DocumentRequests (at most max_retrieve) that name this repository; the others are
 * reported in errs (XDSRepositoryError for a missing id, XDSUnknownRepositoryId). *requested
 * counts them all. */
static size_t document_requests(const cg_xds *xds, const cg_request *req, cg_errlist *errs,
                                doc_ref **out, unsigned *requested, const char *xca_home)
{
    size_t n = 0, cap = 0;
    *out = NULL;
    for (xmlNodePtr c = req->body->children; c; c = c->next) {
        if (!cg_request_is_el(c, CG_NS_XDSB, "DocumentRequest"))
            continue;
        if (++*requested > xds->max_retrieve) {
            cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REPOSITORY_OUT_OF_RESOURCES, NULL,
                           "more than %u DocumentRequests in one request", xds->max_retrieve);
            break;
        }
        const char *home = child_text(req->pool, c, CG_NS_XDSB, "HomeCommunityId");
        const char *repo_id = child_text(req->pool, c, CG_NS_XDSB, "RepositoryUniqueId");
        const char *uid = child_text(req->pool, c, CG_NS_XDSB, "DocumentUniqueId");
        /* ITI-39 (ITI TF-2b 3.39.4.1.3): each request names the community that holds it */
        if (xca_home && !home) {
            cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_MISSING_HOME_COMMUNITY_ID, xca_home,
                           "DocumentRequest %u (document %s) lacks HomeCommunityId", *requested,
                           uid ? uid : "?");
            continue;
        }
        if (xca_home && strcmp(home, xca_home) != 0) {
            cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_UNKNOWN_COMMUNITY, xca_home,
                           "DocumentRequest %u names community %s; this community is %s",
                           *requested, home, xca_home);
            continue;
        }
        if (!repo_id || !uid) {
            cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REPOSITORY_ERROR, uid,
                           "DocumentRequest %u lacks %s", *requested,
                           !repo_id ? "RepositoryUniqueId" : "DocumentUniqueId");
            continue;
        }
        if (!xds->repository || strcmp(repo_id, cg_repository_id(xds->repository)) != 0) {
            cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_UNKNOWN_REPOSITORY_ID, repo_id,
                           "repository %s is not known here (this repository is %s)", repo_id,
                           xds->repository ? cg_repository_id(xds->repository) : "none");
            continue;
        }
        *out = cg_pool_grow(req->pool, *out, &cap, n + 1, sizeof(**out));
        (*out)[n++] = (doc_ref){home, repo_id, uid};
        /* ITI TF-2b 3.43.5.1 (and RMD 3.86.5.1): one ParticipantObject per document asked
         * for; those of other repositories were refused above and are not named */
        cg_audit_add_document(req->audit, uid, repo_id, home);
    }
    return n;
}

int cg_svc_iti43(void *ctx, const cg_request *req, cg_response *resp)
{
    return cg_svc_retrieve(ctx, req, resp, NULL);
}

int cg_svc_retrieve(const cg_xds *xds, const cg_request *req, cg_response *resp,
                    const char *xca_home)
{
    if (!cg_request_is_el(req->body, CG_NS_XDSB, "RetrieveDocumentSetRequest"))
        return cg_response_wrong_body(resp, req, CG_NS_XDSB, "RetrieveDocumentSetRequest");
    cg_errlist errs;
    cg_errlist_init(&errs, req->pool);
    xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
    cg_ebrim_pool_doc(req->pool, doc);
    xmlNodePtr root = xmlNewDocNode(doc, NULL, (const xmlChar *)"RetrieveDocumentSetResponse", NULL);
    xmlNsPtr xdsb = xmlNewNs(root, (const xmlChar *)CG_NS_XDSB, (const xmlChar *)"xdsb");
    xmlSetNs(root, xdsb);
    xmlDocSetRootElement(doc, root);
    xmlNodePtr rr = xmlNewChild(root, NULL, (const xmlChar *)"RegistryResponse", NULL);
    xmlNsPtr rs = xmlNewNs(rr, (const xmlChar *)CG_NS_RS, (const xmlChar *)"rs");
    xmlSetNs(rr, rs);
    xmlNsPtr xop = xmlNewNs(root, (const xmlChar *)CG_NS_XOP, (const xmlChar *)"xop");

    unsigned requested = 0, found = 0;
    doc_ref *refs = NULL;
    size_t nrefs = document_requests(xds, req, &errs, &refs, &requested, xca_home);
    for (size_t i = 0; i < nrefs; i++) {
        const char *home = refs[i].home, *repo_id = refs[i].repo_id, *uid = refs[i].uid;
        cg_store_blob *blob = cg_pool_calloc(req->pool, 1, sizeof(*blob));
        cg_err err;
        cg_err_init(&err);
        int rc = cg_repository_get(xds->repository, uid, blob, &err);
        if (rc == CG_ENOTFOUND) {
            cg_errlist_add(&errs, CG_IHE_ERROR, CG_XDS_DOCUMENT_UNIQUE_ID_ERROR, uid,
                           "document %s is not in repository %s", uid, repo_id);
            continue;
        }
        if (rc != CG_OK) {
            cg_errlist_add(&errs, CG_IHE_ERROR, CG_XDS_REPOSITORY_ERROR, uid,
                           "document %s could not be read: %s", uid, err.msg);
            continue;
        }
        cg_pool_cleanup(req->pool, blob_free, blob);
        found++;
        const char *cid = cg_response_add_part(resp, req->pool, blob->mime_type, blob->data, blob->len);
        xmlNodePtr dr = xmlNewChild(root, xdsb, (const xmlChar *)"DocumentResponse", NULL);
        if (xca_home)
            xmlNewTextChild(dr, xdsb, (const xmlChar *)"HomeCommunityId", (const xmlChar *)xca_home);
        else if (home)
            xmlNewTextChild(dr, xdsb, (const xmlChar *)"HomeCommunityId", (const xmlChar *)home);
        else if (xds->home_community_id)
            xmlNewTextChild(dr, xdsb, (const xmlChar *)"HomeCommunityId",
                            (const xmlChar *)xds->home_community_id);
        xmlNewTextChild(dr, xdsb, (const xmlChar *)"RepositoryUniqueId", (const xmlChar *)repo_id);
        xmlNewTextChild(dr, xdsb, (const xmlChar *)"DocumentUniqueId", (const xmlChar *)uid);
        xmlNewTextChild(dr, xdsb, (const xmlChar *)"mimeType", (const xmlChar *)blob->mime_type);
        xmlNodePtr d = xmlNewChild(dr, xdsb, (const xmlChar *)"Document", NULL);
        xmlNodePtr inc = xmlNewChild(d, xop, (const xmlChar *)"Include", NULL);
        char *href = cg_pool_printf(req->pool, "cid:%s", cid);
        xmlNewProp(inc, (const xmlChar *)"href", (const xmlChar *)href);
    }
    if (requested == 0)
        cg_errlist_add(&errs, CG_IHE_ERROR, CG_XDS_REPOSITORY_ERROR, NULL,
                       "RetrieveDocumentSetRequest holds no DocumentRequest");
    xmlSetProp(rr, (const xmlChar *)"status",
               (const xmlChar *)cg_errlist_status(&errs, found > 0));
    for (size_t i = 0; xca_home && i < errs.count; i++)
        errs.items[i].location = xca_home; /* ITI-39: which community answered the error */
    cg_ebrim_write_errors(rr, &errs);
    resp->action = xca_home ? CG_ACTION_ITI39_RESPONSE : CG_ACTION_ITI43_RESPONSE;
    resp->body = doc;
    resp->mtom = 1;
    return CG_OK;
}

int cg_svc_iti86(void *ctx, const cg_request *req, cg_response *resp)
{
    cg_xds *xds = ctx;
    if (!cg_request_is_el(req->body, CG_NS_RMD, "RemoveDocumentsRequest"))
        return cg_response_wrong_body(resp, req, CG_NS_RMD, "RemoveDocumentsRequest");
    cg_errlist errs;
    cg_errlist_init(&errs, req->pool);
    unsigned requested = 0;
    doc_ref *refs = NULL;
    size_t n = document_requests(xds, req, &errs, &refs, &requested, NULL);
    const char **uids = cg_pool_calloc(req->pool, n ? n : 1, sizeof(*uids));
    for (size_t i = 0; i < n; i++)
        uids[i] = refs[i].uid;
    if (requested == 0)
        cg_errlist_add(&errs, CG_IHE_ERROR, CG_XDS_REPOSITORY_ERROR, NULL,
                       "RemoveDocumentsRequest holds no DocumentRequest");
    size_t removed = 0;
    if (n > 0 && errs.errors == 0) {
        cg_store_conflicts missing = {0};
        cg_err err;
        cg_err_init(&err);
        int rc = cg_repository_remove(xds->repository, uids, n, &missing, &err);
        if (rc == CG_OK || rc == CG_ENOTFOUND) {
            removed = n - missing.count;
            for (size_t i = 0; i < missing.count; i++)
                cg_errlist_add(&errs, CG_IHE_ERROR, CG_XDS_DOCUMENT_UNIQUE_ID_ERROR,
                               missing.items[i].id, "document %s is not in repository %s",
                               missing.items[i].id, cg_repository_id(xds->repository));
        } else {
            cg_errlist_add(&errs, CG_IHE_ERROR, CG_XDS_REPOSITORY_ERROR, NULL,
                           "the documents could not be removed: %s", err.msg);
        }
        cg_store_conflicts_dispose(&missing);
    }
    resp->action = CG_ACTION_ITI86_RESPONSE;
    resp->body = cg_ebrim_registry_response(req->pool, &errs, removed > 0);
    return CG_OK;
}

#define DELETE_ALL "urn:oasis:names:tc:ebxml-regrep:DeletionScopeType:DeleteAll"

/* The entryUUIDs a RemoveObjectsRequest names (ITI TF-2b 3.62.4.1.2: an ObjectRefList, no
 * AdhocQuery, the default deletion scope); what is wrong with it goes into errs. */
static size_t delete_refs(const cg_request *req, cg_errlist *errs, const char ***out)
{
    size_t n = 0, cap = 0;
    *out = NULL;
    const char *scope = attr_bounded(req->pool, req->body, "deletionScope", 256);
    if (scope && strcmp(scope, DELETE_ALL) != 0)
        cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REGISTRY_METADATA_ERROR, NULL,
                       "deletionScope \"%s\": ITI-62 deletes metadata only (%s)", scope,
                       DELETE_ALL);
    if (cg_request_child(req->body, CG_NS_RIM, "AdhocQuery", NULL))
        cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REGISTRY_METADATA_ERROR, NULL,
                       "ITI-62 names the objects to delete in an ObjectRefList, not by an "
                       "AdhocQuery");
    for (xmlNodePtr list = req->body->children; list; list = list->next) {
        if (!cg_request_is_el(list, CG_NS_RIM, "ObjectRefList"))
            continue;
        for (xmlNodePtr r = list->children; r; r = r->next) {
            if (!cg_request_is_el(r, CG_NS_RIM, "ObjectRef"))
                continue;
            const char *id = attr_bounded(req->pool, r, "id", 1024);
            if (!id || !*id) {
                cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REGISTRY_METADATA_ERROR, NULL,
                               "ObjectRef %zu of the ObjectRefList has no id", n + 1);
                continue;
            }
            *out = cg_pool_grow(req->pool, *out, &cap, n + 1, sizeof(**out));
            (*out)[n++] = id;
        }
    }
    if (n == 0 && errs->errors == 0)
        cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REGISTRY_METADATA_ERROR, NULL,
                       "RemoveObjectsRequest names no object (no rim:ObjectRef in a "
                       "rim:ObjectRefList)");
    return n;
}

int cg_svc_iti62(void *ctx, const cg_request *req, cg_response *resp)
{
    cg_xds *xds = ctx;
    if (!cg_request_is_el(req->body, CG_NS_LCM, "RemoveObjectsRequest"))
        return cg_response_wrong_body(resp, req, CG_NS_LCM, "RemoveObjectsRequest");
    cg_errlist errs;
    cg_errlist_init(&errs, req->pool);
    const char **uuids = NULL;
    size_t n = delete_refs(req, &errs, &uuids);
    /* the audit record names each object asked for (once) and the patients they belong to
     * (ITI TF-2b 3.62.5.1), whatever the outcome */
    const char **sorted = cg_pool_calloc(req->pool, n ? n : 1, sizeof(*sorted));
    if (n)
        memcpy(sorted, uuids, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cg_str_ptr_cmp);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(sorted[i], sorted[i - 1]) != 0)
            cg_audit_add_registry_object(req->audit, sorted[i]);
    if (errs.errors == 0) {
        cg_registry_deleted deleted;
        cg_registry_delete(xds->registry, req->pool, uuids, n, &deleted, &errs);
        for (size_t i = 0; i < deleted.npatients; i++)
            cg_audit_add_patient(req->audit, deleted.patients[i]);
    }
    answer_registry_response(req, resp, CG_ACTION_ITI62_RESPONSE, &errs);
    return CG_OK;
}
