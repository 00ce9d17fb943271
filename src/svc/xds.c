/* xds: the XDS.b transaction handlers (see xds.h). */
#include "svc/xds.h"

#include <stdlib.h>
#include <string.h>

#include "ebrim/errlist.h"
#include "ebrim/model.h"

static int is_element(xmlNodePtr n, const char *ns, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns &&
           strcmp((const char *)n->ns->href, ns) == 0 && strcmp((const char *)n->name, name) == 0;
}

static xmlNodePtr first_child(xmlNodePtr n, const char *ns, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (is_element(c, ns, name))
            return c;
    return NULL;
}

/* Text of a child element, trimmed, in the pool (NULL when absent or empty). */
static const char *child_text(cg_pool *pool, xmlNodePtr n, const char *ns, const char *name)
{
    xmlNodePtr c = first_child(n, ns, name);
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

static int wrong_body(const cg_request *req, cg_response *resp, const char *ns, const char *name)
{
    cg_response_fault(resp, req->pool, CG_FAULT_SENDER, NULL,
                      "the body of this action must be {%s}%s, not <%s>", ns, name,
                      req->body ? (const char *)req->body->name : "(empty)");
    return CG_OK;
}

/* ITI-42: the metadata alone; hash, size and repositoryUniqueId come from the source. */
int cg_svc_iti42(void *ctx, const cg_request *req, cg_response *resp)
{
    cg_xds *xds = ctx;
    if (!is_element(req->body, CG_NS_LCM, "SubmitObjectsRequest"))
        return wrong_body(req, resp, CG_NS_LCM, "SubmitObjectsRequest");
    cg_errlist errs;
    cg_errlist_init(&errs, req->pool);
    cg_ebrim_submission sub;
    if (cg_ebrim_parse_submission(&sub, req->body, req->pool, &errs) == CG_OK)
        cg_registry_submit(xds->registry, &sub, NULL, 0, &errs);
    answer_registry_response(req, resp, CG_ACTION_ITI42_RESPONSE, &errs);
    return CG_OK;
}

/* ITI-41: documents checked against their entries, then metadata and bytes in one commit. */
int cg_svc_iti41(void *ctx, const cg_request *req, cg_response *resp)
{
    cg_xds *xds = ctx;
    if (!is_element(req->body, CG_NS_XDSB, "ProvideAndRegisterDocumentSetRequest"))
        return wrong_body(req, resp, CG_NS_XDSB, "ProvideAndRegisterDocumentSetRequest");
    cg_errlist errs;
    cg_errlist_init(&errs, req->pool);
    xmlNodePtr submit = first_child(req->body, CG_NS_LCM, "SubmitObjectsRequest");
    if (!submit) {
        cg_errlist_add(&errs, CG_IHE_ERROR, CG_XDS_REGISTRY_METADATA_ERROR, NULL,
                       "ProvideAndRegisterDocumentSetRequest has no lcm:SubmitObjectsRequest");
        answer_registry_response(req, resp, CG_ACTION_ITI41_RESPONSE, &errs);
        return CG_OK;
    }
    size_t ndocs = 0, cap = 0;
    cg_repository_doc *docs = NULL;
    for (xmlNodePtr c = req->body->children; c; c = c->next) {
        if (!is_element(c, CG_NS_XDSB, "Document"))
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
    if (cg_ebrim_parse_submission(&sub, submit, req->pool, &errs) == CG_OK && errs.errors == 0) {
        cg_store_document *stored = NULL;
        size_t nstored = 0;
        if (cg_repository_accept(xds->repository, &sub, docs, ndocs, req->pool, &stored, &nstored,
                                 &errs) == CG_OK)
            cg_registry_submit(xds->registry, &sub, stored, nstored, &errs);
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
int cg_svc_iti43(void *ctx, const cg_request *req, cg_response *resp)
{
    cg_xds *xds = ctx;
    if (!is_element(req->body, CG_NS_XDSB, "RetrieveDocumentSetRequest"))
        return wrong_body(req, resp, CG_NS_XDSB, "RetrieveDocumentSetRequest");
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
    for (xmlNodePtr c = req->body->children; c; c = c->next) {
        if (!is_element(c, CG_NS_XDSB, "DocumentRequest"))
            continue;
        if (++requested > xds->max_retrieve) {
            cg_errlist_add(&errs, CG_IHE_ERROR, CG_XDS_REPOSITORY_OUT_OF_RESOURCES, NULL,
                           "more than %u DocumentRequests in one request", xds->max_retrieve);
            break;
        }
        const char *home = child_text(req->pool, c, CG_NS_XDSB, "HomeCommunityId");
        const char *repo_id = child_text(req->pool, c, CG_NS_XDSB, "RepositoryUniqueId");
        const char *uid = child_text(req->pool, c, CG_NS_XDSB, "DocumentUniqueId");
        if (!repo_id || !uid) {
            cg_errlist_add(&errs, CG_IHE_ERROR, CG_XDS_REPOSITORY_ERROR, uid,
                           "DocumentRequest %u lacks %s", requested,
                           !repo_id ? "RepositoryUniqueId" : "DocumentUniqueId");
            continue;
        }
        if (!xds->repository || strcmp(repo_id, cg_repository_id(xds->repository)) != 0) {
            cg_errlist_add(&errs, CG_IHE_ERROR, CG_XDS_UNKNOWN_REPOSITORY_ID, repo_id,
                           "repository %s is not known here (this repository is %s)", repo_id,
                           xds->repository ? cg_repository_id(xds->repository) : "none");
            continue;
        }
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
        if (home)
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
    cg_ebrim_write_errors(rr, &errs);
    resp->action = CG_ACTION_ITI43_RESPONSE;
    resp->body = doc;
    resp->mtom = 1;
    return CG_OK;
}
