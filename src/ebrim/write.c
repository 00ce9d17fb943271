/* write: ebRS 3.0 output of the metadata model (see model.h): RegistryResponse with its
 * RegistryErrorList, and one registry object as standalone XML for the store. */
#include "ebrim/model.h"

#include <assert.h>
#include <string.h>

#include "util/err.h"

static int
is_ns(xmlNodePtr n, const char *href, const char *local)
{
    return n->type == XML_ELEMENT_NODE && n->ns != NULL &&
           xmlStrEqual(n->ns->href, BAD_CAST href) && xmlStrEqual(n->name, BAD_CAST local);
}

void
cg_ebrim_write_errors(xmlNodePtr parent, const cg_errlist *errs)
{
    assert(parent != NULL && errs != NULL);
    if (errs->count == 0)
        return;
    xmlNsPtr ns = xmlSearchNsByHref(parent->doc, parent, BAD_CAST CG_NS_RS);
    xmlNodePtr list = xmlNewDocNode(parent->doc, ns, BAD_CAST "RegistryErrorList", NULL);
    if (ns == NULL) {
        ns = xmlNewNs(list, BAD_CAST CG_NS_RS, BAD_CAST "rs");
        xmlSetNs(list, ns);
    }
    /* RegistryResponseType: ResponseSlotList?, RegistryErrorList?; extensions (AdhocQueryResponse)
     * put their own content (RegistryObjectList) after these */
    xmlNodePtr before = NULL;
    for (xmlNodePtr n = parent->children; n != NULL && before == NULL; n = n->next)
        if (n->type == XML_ELEMENT_NODE && !is_ns(n, CG_NS_RS, "ResponseSlotList"))
            before = n;
    if (before != NULL)
        xmlAddPrevSibling(before, list);
    else
        xmlAddChild(parent, list);
    xmlNewProp(list, BAD_CAST "highestSeverity",
               BAD_CAST(errs->errors > 0 ? CG_SEVERITY_ERROR : CG_SEVERITY_WARNING));
    for (size_t i = 0; i < errs->count; i++) {
        const cg_ihe_error *e = &errs->items[i];
        xmlNodePtr el = xmlNewChild(list, ns, BAD_CAST "RegistryError", NULL);
        xmlNewProp(el, BAD_CAST "errorCode", BAD_CAST e->code);
        xmlNewProp(el, BAD_CAST "codeContext", BAD_CAST(e->context ? e->context : ""));
        if (e->location != NULL && *e->location != '\0')
            xmlNewProp(el, BAD_CAST "location", BAD_CAST e->location);
        xmlNewProp(el, BAD_CAST "severity",
                   BAD_CAST(e->severity == CG_IHE_ERROR ? CG_SEVERITY_ERROR : CG_SEVERITY_WARNING));
    }
}

xmlDocPtr
cg_ebrim_registry_response(cg_pool *pool, const cg_errlist *errs, int some_succeeded)
{
    assert(pool != NULL && errs != NULL);
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = xmlNewDocNode(doc, NULL, BAD_CAST "RegistryResponse", NULL);
    xmlSetNs(root, xmlNewNs(root, BAD_CAST CG_NS_RS, BAD_CAST "rs"));
    xmlDocSetRootElement(doc, root);
    xmlNewProp(root, BAD_CAST "status", BAD_CAST cg_errlist_status(errs, some_succeeded));
    cg_ebrim_write_errors(root, errs);
    cg_ebrim_pool_doc(pool, doc);
    return doc;
}

xmlDocPtr
cg_ebrim_query_response(cg_pool *pool, xmlNodePtr *list)
{
    assert(pool != NULL && list != NULL);
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = xmlNewDocNode(doc, NULL, BAD_CAST "AdhocQueryResponse", NULL);
    xmlSetNs(root, xmlNewNs(root, BAD_CAST CG_NS_QUERY, BAD_CAST "query"));
    xmlNsPtr rim = xmlNewNs(root, BAD_CAST CG_NS_RIM, BAD_CAST "rim");
    xmlDocSetRootElement(doc, root);
    *list = xmlNewChild(root, rim, BAD_CAST "RegistryObjectList", NULL);
    cg_ebrim_pool_doc(pool, doc);
    return doc;
}

int
cg_ebrim_object_xml(const char **out, size_t *len, cg_pool *pool, xmlNodePtr node,
                    const xmlNodePtr *fold, size_t nfold)
{
    assert(out != NULL && len != NULL && pool != NULL && node != NULL);
    int rc = CG_EINVAL;
    xmlBufferPtr buf = NULL;
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    /* a copy whose parent is outside the new tree declares every namespace it uses on itself */
    xmlNodePtr root = xmlDocCopyNode(node, doc, 1);
    if (root == NULL)
        goto done;
    xmlDocSetRootElement(doc, root);
    for (size_t i = 0; i < nfold; i++) {
        xmlNodePtr c = xmlDocCopyNode(fold[i], doc, 1);
        if (c == NULL)
            goto done;
        cg_ebrim_insert(root, c);
    }
    if (nfold > 0 && xmlDOMWrapReconcileNamespaces(NULL, root, 0) != 0)
        goto done;
    buf = xmlBufferCreate();
    if (buf == NULL || xmlNodeDump(buf, doc, root, 0, 0) < 0)
        goto done;
    *len = (size_t)xmlBufferLength(buf);
    *out = cg_pool_strndup(pool, (const char *)xmlBufferContent(buf), *len);
    rc = CG_OK;
done:
    if (buf != NULL)
        xmlBufferFree(buf);
    xmlFreeDoc(doc);
    return rc;
}
