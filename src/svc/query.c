/* query (svc): the ITI-18 handler (see query.h). */
#define _POSIX_C_SOURCE 200809L
#include "svc/query.h"

#include <string.h>

#include "ebrim/errlist.h"
#include "ebrim/model.h"
#include "registry/query.h"
#include "svc/xca.h"
#include "svc/xds.h"

#define MAX_SLOTS 256 /* rim:Slot elements of one AdhocQuery */
#define MAX_SLOT_VALUES 1000

static const char *
attr(cg_pool *pool, xmlNodePtr n, const char *name)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    const char *out = cg_pool_strdup(pool, (const char *)v);
    xmlFree(v);
    return out;
}

/* LeafClass: the objects as registered. Their stored texts (ours: each a complete element with
 * its namespaces declared, well-formed when it was registered) are written into the answer as
 * they are, not parsed and serialised again, nor copied: the pieces point at the texts the
 * query result holds (in the request's pool). */
static void
leaf_objects(const cg_request *req, cg_response *resp, xmlNodePtr list, const cg_query_result *res,
             const char *home)
{
    if (res == NULL || res->count == 0)
        return;
    cg_text_piece *pieces = cg_pool_alloc(req->pool, res->count * sizeof(*pieces));
    for (size_t i = 0; i < res->count; i++) {
        pieces[i] = (cg_text_piece){res->items[i].xml, res->items[i].xml_len};
        if (home) /* ITI-38: each object says which community holds it */
            pieces[i].text = cg_xca_set_home(req->pool, pieces[i].text, pieces[i].len, home,
                                             &pieces[i].len);
    }
    cg_response_splice(resp, list, pieces, res->count);
}

/* ITI-38 (ITI TF-2b 3.38.4.1.2): the query names our community in AdhocQuery/@home; a query
 * without a patient id must name one (XDSMissingHomeCommunityId), another community's is
 * XDSUnknownCommunity. */
static int
xca_community(xmlNodePtr q, const cg_query_param *params, size_t n, const char *xca_home,
              cg_pool *pool, cg_errlist *errs)
{
    const char *home = attr(pool, q, "home");
    if (home && *home) {
        if (strcmp(home, xca_home) == 0)
            return CG_OK;
        cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_UNKNOWN_COMMUNITY, xca_home,
                       "the query names community %.200s; this community is %s", home, xca_home);
        return CG_EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        if (params[i].name && cg_xca_is_patient_param(params[i].name))
            return CG_OK;
    cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_MISSING_HOME_COMMUNITY_ID, xca_home,
                   "a query without a patient id must name its community in AdhocQuery/@home");
    return CG_EINVAL;
}

/* The answer: status, errors, and the RegistryObjectList (empty on failure). */
static void
answer(const cg_request *req, cg_response *resp, const cg_xds *xds, cg_errlist *errs,
       const cg_query_result *res, int leaf, const char *xca_home)
{
    xmlNodePtr list;
    xmlDocPtr doc = cg_ebrim_query_response(req->pool, &list);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNsPtr rim = list->ns;
    if (leaf && errs->errors == 0)
        leaf_objects(req, resp, list, res, xca_home);
    for (size_t i = 0; !leaf && res && i < res->count; i++) {
        xmlNodePtr ref = xmlNewChild(list, rim, (const xmlChar *)"ObjectRef", NULL);
        xmlNewProp(ref, (const xmlChar *)"id", (const xmlChar *)res->items[i].uuid);
        const char *home = xca_home ? xca_home : xds->home_community_id;
        if (home)
            xmlNewProp(ref, (const xmlChar *)"home", (const xmlChar *)home);
    }
    if (errs->errors > 0) /* a failed query answers no objects */
        for (xmlNodePtr c = list->children, next; c; c = next) {
            next = c->next;
            xmlUnlinkNode(c);
            xmlFreeNode(c);
        }
    xmlNewProp(root, (const xmlChar *)"status", (const xmlChar *)cg_errlist_status(errs, 0));
    for (size_t i = 0; xca_home && i < errs->count; i++)
        errs->items[i].location = xca_home; /* ITI-38: which community answered the error */
    cg_ebrim_write_errors(root, errs);
    resp->action = xca_home ? CG_ACTION_ITI38_RESPONSE
                   : req->action && strcmp(req->action, CG_ACTION_ITI51) == 0
                       ? CG_ACTION_ITI51_RESPONSE
                       : CG_ACTION_ITI18_RESPONSE;
    resp->body = doc;
}

/* A patient id slot value as the query encodes it ('ID^^^&OID&ISO', or a list of them for
 * ITI-51): each one, quotes and parentheses taken away. */
static void audit_patient(const cg_request *req, const char *value)
{
    const char *p = value;
    while (*p) {
        while (*p == ' ' || *p == '(' || *p == ',' || *p == ')')
            p++;
        if (*p != '\'')
            break;
        const char *end = strchr(p + 1, '\'');
        if (!end)
            break;
        cg_audit_add_patient(req->audit, cg_pool_strndup(req->pool, p + 1, (size_t)(end - p - 1)));
        p = end + 1;
    }
}

int
cg_svc_iti18(void *ctx, const cg_request *req, cg_response *resp)
{
    return cg_svc_stored_query(ctx, req, resp, NULL);
}

int
cg_svc_stored_query(const cg_xds *xds, const cg_request *req, cg_response *resp,
                    const char *xca_home)
{
    if (!cg_request_is_el(req->body, CG_NS_QUERY, "AdhocQueryRequest"))
        return cg_response_wrong_body(resp, req, CG_NS_QUERY, "AdhocQueryRequest");
    cg_errlist errs;
    cg_errlist_init(&errs, req->pool);
    cg_query_result res = {0};
    int leaf = 1;
    xmlNodePtr opt = cg_request_child(req->body, CG_NS_QUERY, "ResponseOption", NULL);
    const char *rtype = opt ? attr(req->pool, opt, "returnType") : NULL;
    xmlNodePtr q = cg_request_child(req->body, CG_NS_RIM, "AdhocQuery", NULL);
    if (rtype && strcmp(rtype, "ObjectRef") == 0) {
        leaf = 0;
    } else if (rtype && strcmp(rtype, "LeafClass") != 0) {
        cg_errlist_add(&errs, CG_IHE_ERROR, CG_XDS_REGISTRY_ERROR, NULL,
                       "returnType \"%.100s\" is not supported: use LeafClass or ObjectRef", rtype);
        goto reply;
    }
    if (q == NULL) {
        cg_errlist_add(&errs, CG_IHE_ERROR, CG_XDS_REGISTRY_ERROR, NULL,
                       "AdhocQueryRequest has no rim:AdhocQuery");
        goto reply;
    }
    cg_query_request qr = {.query_id = attr(req->pool, q, "id"), .leaf_class = leaf};
    /* ITI TF-2a 3.18.5.1: the query (id and the AdhocQueryRequest itself) and its patient */
    cg_audit_set_query(req->audit, qr.query_id, req->body, attr(req->pool, q, "home"));
    cg_query_param *params = NULL;
    size_t n = 0, cap = 0;
    for (xmlNodePtr s = cg_request_child(q, CG_NS_RIM, "Slot", NULL); s; s = cg_request_child(q, CG_NS_RIM, "Slot", s)) {
        if (n == MAX_SLOTS) {
            cg_errlist_add(&errs, CG_IHE_ERROR, CG_XDS_SQ_PARAM_NUMBER, NULL,
                           "more than %d Slots in one AdhocQuery", MAX_SLOTS);
            goto reply;
        }
        params = cg_pool_grow(req->pool, params, &cap, n + 1, sizeof(*params));
        cg_query_param *p = &params[n++];
        p->name = attr(req->pool, s, "name");
        xmlNodePtr vl = cg_request_child(s, CG_NS_RIM, "ValueList", NULL);
        const char **vals = NULL;
        size_t nv = 0, vcap = 0;
        for (xmlNodePtr v = vl ? cg_request_child(vl, CG_NS_RIM, "Value", NULL) : NULL; v;
             v = cg_request_child(vl, CG_NS_RIM, "Value", v)) {
            if (nv == MAX_SLOT_VALUES) {
                cg_errlist_add(&errs, CG_IHE_ERROR, CG_XDS_SQ_PARAM_NUMBER, NULL,
                               "Slot %s has more than %d values", p->name ? p->name : "",
                               MAX_SLOT_VALUES);
                goto reply;
            }
            vals = cg_pool_grow(req->pool, vals, &vcap, nv + 1, sizeof(*vals));
            xmlChar *t = xmlNodeGetContent(v);
            vals[nv++] = cg_pool_strdup(req->pool, t ? (const char *)t : "");
            xmlFree(t);
        }
        p->values = vals;
        p->nvalues = nv;
        if (p->name && nv > 0 && strstr(p->name, "PatientId"))
            audit_patient(req, vals[0]);
    }
    qr.params = params;
    qr.nparams = n;
    if (xca_home && xca_community(q, params, n, xca_home, req->pool, &errs) != CG_OK)
        goto reply;
    if (xds->registry == NULL) {
        cg_errlist_add(&errs, CG_IHE_ERROR, CG_XDS_REGISTRY_ERROR, NULL,
                       "this node is not a document registry");
        goto reply;
    }
    cg_registry_query(xds->registry, &qr, req->pool, &res, &errs);
reply:
    answer(req, resp, xds, &errs, &res, leaf, xca_home);
    return CG_OK;
}
