/* schematron: see schematron.h. */
#include "validate/schematron.h"

#include <libxml/hash.h>
#include <libxml/xpathInternals.h>
#include <libxslt/extensions.h>
#include <libxslt/security.h>
#include <libxslt/transform.h>
#include <libxslt/xsltInternals.h>
#include <libxslt/xsltutils.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "xml/parse.h"
#include "xml/path.h"
#include "xml/xslt.h"

#define SCH_FILE_MAX ((size_t)256 << 20)

struct cg_schematron {
    xsltStylesheetPtr style;
};

/* cg:location(): the context node's location path, computed in C; the compiled stylesheet
 * calls it for every finding (a portable compilation uses an XSLT template instead). */
static void
fn_location(xmlXPathParserContextPtr ctxt, int nargs)
{
    if (nargs != 0) {
        xmlXPathSetArityError(ctxt);
        return;
    }
    cg_buf b;
    cg_buf_init(&b, (size_t)1 << 20);
    cg_xml_path_of(&b, ctxt->context->node);
    xmlXPathReturnString(ctxt, xmlStrdup(BAD_CAST(b.data ? b.data : "")));
    cg_buf_dispose(&b);
}

/* cg:children('{uri}local', 'attr', 'value') and cg:parents(...): the elements of that name whose
 * attribute has that value, or their parents (each once), in document order. The index behind
 * them is built in one walk of the document on first use in a transformation and lives in the
 * transformation's context; it replaces xsl:key, whose initialisation evaluates XPath for every
 * node, and the parent-axis merge that key() results need. */
typedef struct node_list {
    xmlNodePtr *v;
    int n, cap;
} node_list;

typedef struct value_entry {
    node_list children, parents;
} value_entry;

typedef struct attr_index {
    char *name; /* "{uri}local" */
    char *attr;
    xmlHashTablePtr by_value;
} attr_index;

#define MAX_INDEXES 16

typedef struct run_state {
    xmlDocPtr doc;
    attr_index idx[MAX_INDEXES];
    int nidx;
} run_state;

static void
list_add(node_list *l, xmlNodePtr n)
{
    if (l->n == l->cap) {
        size_t cap = (size_t)l->cap;
        l->v = cg_xgrow(l->v, &cap, (size_t)l->n + 1, sizeof *l->v);
        l->cap = (int)cap;
    }
    l->v[l->n++] = n;
}

static void
free_entry(void *payload, const xmlChar *name)
{
    (void)name;
    value_entry *e = payload;
    free(e->children.v);
    free(e->parents.v);
    free(e);
}

static const xmlChar *
attr_text(xmlAttrPtr a)
{
    xmlNodePtr t = a->children;
    if (t == NULL)
        return BAD_CAST "";
    if (t->next == NULL && t->type == XML_TEXT_NODE)
        return t->content;
    return NULL; /* entity references or several nodes: take the slow path */
}

static void
build_index(attr_index *ix, xmlDocPtr doc, const char *uri, const char *local, const char *attr)
{
    ix->by_value = xmlHashCreate(256);
    xmlXPathOrderDocElems(doc); /* makes document-order comparisons O(1) for the sorts below */
    xmlNodePtr n = xmlDocGetRootElement(doc);
    while (n) {
        if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST local) &&
            (n->ns ? xmlStrEqual(n->ns->href, BAD_CAST uri) : *uri == '\0')) {
            for (xmlAttrPtr a = n->properties; a; a = a->next) {
                if (a->ns != NULL || !xmlStrEqual(a->name, BAD_CAST attr))
                    continue;
                xmlChar *owned = NULL;
                const xmlChar *v = attr_text(a);
                if (v == NULL)
                    v = owned = xmlNodeGetContent((xmlNodePtr)a);
                value_entry *e = xmlHashLookup(ix->by_value, v);
                if (e == NULL) {
                    e = cg_xcalloc(1, sizeof *e);
                    xmlHashAddEntry(ix->by_value, v, e);
                }
                list_add(&e->children, n);
                xmlNodePtr p = n->parent; /* consecutive repeats dropped here, the rest at lookup */
                if (p && p->type == XML_ELEMENT_NODE &&
                    (e->parents.n == 0 || e->parents.v[e->parents.n - 1] != p))
                    list_add(&e->parents, p);
                xmlFree(owned);
                break;
            }
        }
        /* next element in document order */
        if (n->children && n->type == XML_ELEMENT_NODE) {
            n = n->children;
            continue;
        }
        while (n && n->next == NULL)
            n = n->parent && n->parent->type == XML_ELEMENT_NODE ? n->parent : NULL;
        if (n)
            n = n->next;
    }
}

enum { INDEX_CHILDREN, INDEX_PARENTS, INDEX_SPACED };

typedef struct spaced_scan {
    xmlNodeSetPtr out;
} spaced_scan;

static void
add_spaced(void *payload, void *data, const xmlChar *value)
{
    value_entry *e = payload;
    spaced_scan *sc = data;
    if (xmlStrchr(value, ' ') == NULL)
        return;
    for (int i = 0; i < e->children.n; i++)
        xmlXPathNodeSetAddUnique(sc->out, e->children.v[i]);
}

#define INDEX_MAX_ARGS 16

/* Does the element have every attr=value of the (attr, value) pairs? */
static int
has_attributes(xmlNodePtr n, xmlXPathObjectPtr *pairs, int npairs)
{
    for (int i = 0; i < npairs; i += 2) {
        const xmlChar *want = pairs[i + 1]->stringval;
        int ok = 0;
        for (xmlAttrPtr a = n->properties; a && !ok; a = a->next) {
            if (a->ns != NULL || !xmlStrEqual(a->name, pairs[i]->stringval))
                continue;
            const xmlChar *v = attr_text(a);
            if (v)
                ok = xmlStrEqual(v, want);
            else {
                xmlChar *owned = xmlNodeGetContent((xmlNodePtr)a);
                ok = xmlStrEqual(owned, want);
                xmlFree(owned);
            }
        }
        if (!ok)
            return 0;
    }
    return 1;
}

static void
sort_unique(xmlNodeSetPtr out)
{
    if (out->nodeNr < 2)
        return;
    xmlXPathNodeSetSort(out);
    int w = 1;
    for (int r = 1; r < out->nodeNr; r++)
        if (out->nodeTab[r] != out->nodeTab[w - 1])
            out->nodeTab[w++] = out->nodeTab[r];
    out->nodeNr = w;
}

/* cg:children(name, attr, value [, attr2, value2 ...]) and cg:parents(...): see above; further
 * pairs are conditions on the same element. cg:spaced(name, attr): the elements whose attr
 * holds a space. */
static void
index_function(xmlXPathParserContextPtr ctxt, int nargs, int kind)
{
    int want = kind == INDEX_SPACED ? 2 : 3;
    if (nargs < want || nargs > INDEX_MAX_ARGS || (nargs - want) % 2 != 0 ||
        (kind == INDEX_SPACED && nargs != 2)) {
        xmlXPathSetArityError(ctxt);
        return;
    }
    /* the arguments are string literals: use their values without copying them again */
    xmlXPathObjectPtr args[INDEX_MAX_ARGS];
    for (int i = nargs - 1; i >= 0; i--)
        args[i] = valuePop(ctxt);
    int strings = 1;
    for (int i = 0; i < nargs; i++)
        strings &= args[i] != NULL && args[i]->type == XPATH_STRING;
    const xmlChar *name = strings ? args[0]->stringval : NULL;
    const xmlChar *attr = strings ? args[1]->stringval : NULL;
    const xmlChar *value = strings && kind != INDEX_SPACED ? args[2]->stringval : NULL;
    xsltTransformContextPtr tctxt = xsltXPathGetTransformContext(ctxt);
    run_state *st = tctxt ? tctxt->_private : NULL;
    xmlNodeSetPtr out = xmlXPathNodeSetCreate(NULL);
    const char *nm = (const char *)name, *close = nm ? strchr(nm, '}') : NULL;
    if (st == NULL || !strings || nm[0] != '{' || close == NULL || ctxt->context->doc != st->doc) {
        xmlXPathSetError(ctxt, XPATH_INVALID_TYPE);
        goto done;
    }
    attr_index *ix = NULL;
    for (int i = 0; i < st->nidx && ix == NULL; i++)
        if (strcmp(st->idx[i].name, nm) == 0 && strcmp(st->idx[i].attr, (const char *)attr) == 0)
            ix = &st->idx[i];
    if (ix == NULL && st->nidx < MAX_INDEXES) {
        ix = &st->idx[st->nidx++];
        ix->name = cg_xstrdup(nm);
        ix->attr = cg_xstrdup((const char *)attr);
        char *uri = cg_xstrndup(nm + 1, (size_t)(close - nm - 1));
        build_index(ix, st->doc, uri, close + 1, (const char *)attr);
        free(uri);
    }
    if (ix == NULL) {
        xmlXPathSetError(ctxt, XPATH_MEMORY_ERROR);
        goto done;
    }
    if (kind == INDEX_SPACED) {
        /* values with a space: the rare case a list-membership test must still look at */
        spaced_scan sc = {out};
        xmlHashScan(ix->by_value, add_spaced, &sc);
        sort_unique(out);
        goto done;
    }
    value_entry *e = xmlHashLookup(ix->by_value, value);
    if (e == NULL)
        goto done;
    int npairs = nargs - 3;
    if (npairs == 0 && kind == INDEX_PARENTS) {
        for (int i = 0; i < e->parents.n; i++)
            xmlXPathNodeSetAddUnique(out, e->parents.v[i]);
        /* a parent can come after a descendant found first, or twice when its matching
         * children are not adjacent */
        sort_unique(out);
        goto done;
    }
    for (int i = 0; i < e->children.n; i++) {
        xmlNodePtr n = e->children.v[i];
        if (npairs && !has_attributes(n, args + 3, npairs))
            continue;
        if (kind == INDEX_CHILDREN)
            xmlXPathNodeSetAddUnique(out, n);
        else if (n->parent && n->parent->type == XML_ELEMENT_NODE)
            xmlXPathNodeSetAddUnique(out, n->parent);
    }
    if (kind == INDEX_PARENTS)
        sort_unique(out);
done:
    valuePush(ctxt, xmlXPathWrapNodeSet(out));
    for (int i = 0; i < nargs; i++)
        if (args[i])
            xmlXPathFreeObject(args[i]);
}

static void
fn_children(xmlXPathParserContextPtr ctxt, int nargs)
{
    index_function(ctxt, nargs, INDEX_CHILDREN);
}

static void
fn_parents(xmlXPathParserContextPtr ctxt, int nargs)
{
    index_function(ctxt, nargs, INDEX_PARENTS);
}

static void
fn_spaced(xmlXPathParserContextPtr ctxt, int nargs)
{
    index_function(ctxt, nargs, INDEX_SPACED);
}

static void
run_state_dispose(run_state *st)
{
    for (int i = 0; i < st->nidx; i++) {
        free(st->idx[i].name);
        free(st->idx[i].attr);
        xmlHashFree(st->idx[i].by_value, free_entry);
    }
}

static pthread_once_t register_once = PTHREAD_ONCE_INIT;

static void
register_functions(void)
{
    xsltRegisterExtModuleFunction(BAD_CAST "location", BAD_CAST CG_SVRL_EXT_NS, fn_location);
    xsltRegisterExtModuleFunction(BAD_CAST "children", BAD_CAST CG_SVRL_EXT_NS, fn_children);
    xsltRegisterExtModuleFunction(BAD_CAST "parents", BAD_CAST CG_SVRL_EXT_NS, fn_parents);
    xsltRegisterExtModuleFunction(BAD_CAST "spaced", BAD_CAST CG_SVRL_EXT_NS, fn_spaced);
}

int
cg_schematron_compile_file(cg_buf *out, const char *sch_path, const cg_sch_options *opt,
                           cg_sch_stats *stats, cg_err *err)
{
    cg_xml_limits lim;
    cg_xml_limits_default(&lim);
    lim.max_bytes = SCH_FILE_MAX;
    xmlDocPtr sch = NULL;
    int rc = cg_xml_parse_file(&sch, sch_path, &lim, err);
    if (rc == CG_OK)
        rc = cg_sch_compile(out, sch, opt, stats, err);
    if (sch)
        xmlFreeDoc(sch);
    return rc;
}

int
cg_schematron_load(cg_schematron **out, const char *text, size_t len, const char *base_uri,
                   cg_err *err)
{
    xmlDocPtr doc = NULL;
    cg_xml_limits lim;
    cg_xml_limits_default(&lim);
    lim.max_bytes = SCH_FILE_MAX;
    *out = NULL;
    pthread_once(&register_once, register_functions);
    int rc = cg_xml_parse(&doc, text, len, base_uri, &lim, err);
    if (rc != CG_OK)
        return rc;
    xsltStylesheetPtr style;
    cg_xslt_msgs msgs;
    cg_xslt_msgs_init(&msgs, 4000, 1024);
    rc = cg_xslt_compile(&style, doc, base_uri, &msgs, err);
    cg_xslt_msgs_dispose(&msgs);
    if (rc != CG_OK)
        return rc; /* doc freed */
    cg_schematron *s = cg_xcalloc(1, sizeof *s);
    s->style = style;
    *out = s;
    return CG_OK;
}

void
cg_schematron_free(cg_schematron *s)
{
    if (s == NULL)
        return;
    xsltFreeStylesheet(s->style);
    free(s);
}

static char *
get_attr(xmlNodePtr n, const char *name, const char *ns)
{
    xmlChar *v = ns ? xmlGetNsProp(n, BAD_CAST name, BAD_CAST ns) : xmlGetNoNsProp(n, BAD_CAST name);
    return (char *)v;
}

static cg_severity
severity_of(const char *word)
{
    if (word && strcmp(word, "warning") == 0)
        return CG_SEV_WARNING;
    if (word && strcmp(word, "info") == 0)
        return CG_SEV_INFO;
    return CG_SEV_ERROR;
}

static void
read_svrl(xmlDocPtr svrl, xmlDocPtr doc, cg_report *report)
{
    xmlNodePtr root = xmlDocGetRootElement(svrl);
    char *pattern = NULL;
    for (xmlNodePtr n = root ? root->children : NULL; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE || n->ns == NULL ||
            !xmlStrEqual(n->ns->href, BAD_CAST CG_SVRL_NS))
            continue;
        if (xmlStrEqual(n->name, BAD_CAST "active-pattern")) {
            xmlFree(pattern);
            pattern = get_attr(n, "id", NULL);
            continue;
        }
        int failed = xmlStrEqual(n->name, BAD_CAST "failed-assert");
        if (!failed && !xmlStrEqual(n->name, BAD_CAST "successful-report"))
            continue;
        char *id = get_attr(n, "id", NULL);
        char *loc = get_attr(n, "location", NULL);
        char *sev = get_attr(n, "severity", CG_SVRL_EXT_NS);
        xmlChar *msg = NULL;
        for (xmlNodePtr t = n->children; t; t = t->next)
            if (t->type == XML_ELEMENT_NODE && xmlStrEqual(t->name, BAD_CAST "text")) {
                msg = xmlNodeGetContent(t);
                break;
            }
        char *noid = NULL;
        if (id == NULL) {
            char *pat = get_attr(n, "pattern", CG_SVRL_EXT_NS);
            noid = cg_xasprintf("[no-id] pattern=%s", pat ? pat : pattern ? pattern : "");
            xmlFree(pat);
        }
        xmlNodePtr at = loc ? cg_xml_path_resolve(doc, loc) : NULL;
        long lineno = at ? xmlGetLineNo(at) : 0;
        cg_report_add(report, severity_of(sev), CG_SRC_SCHEMATRON, id ? id : noid,
                      msg ? (const char *)msg : "", loc, lineno);
        free(noid);
        xmlFree(id);
        xmlFree(loc);
        xmlFree(sev);
        xmlFree(msg);
    }
    xmlFree(pattern);
}

int
cg_schematron_run(const cg_schematron *s, xmlDocPtr doc, const char *phase, cg_report *report,
                  int keep_svrl, cg_err *err)
{
    int rc = CG_OK;
    xmlDocPtr svrl = NULL;
    cg_xslt_msgs msgs;
    cg_xslt_msgs_init(&msgs, 4000, 1024);
    char *quoted = cg_xasprintf("'%s'", phase ? phase : "#ALL");
    const char *params[] = {"phase", quoted, "cg-svrl", keep_svrl ? "true()" : "false()", NULL};
    if (strchr(phase ? phase : "", '\'')) {
        rc = cg_err_set(err, CG_EINVAL, "phase name may not contain a quote");
        goto done;
    }
    xsltTransformContextPtr ctxt = xsltNewTransformContext(s->style, doc);
    if (ctxt == NULL) {
        rc = cg_err_set(err, CG_EIO, "xsltNewTransformContext failed");
        goto done;
    }
    xsltSetCtxtSecurityPrefs(xsltGetDefaultSecurityPrefs(), ctxt);
    xsltSetCtxtParseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xsltSetTransformErrorFunc(ctxt, &msgs, cg_xslt_msgs_generic);
    xmlStructuredErrorFunc saved = xmlStructuredError;
    void *saved_ctx = xmlStructuredErrorContext;
    xmlSetStructuredErrorFunc(&msgs, cg_xslt_msgs_structured);
    run_state st = {.doc = doc};
    ctxt->_private = &st;
    svrl = xsltApplyStylesheetUser(s->style, doc, params, NULL, NULL, ctxt);
    ctxt->_private = NULL;
    run_state_dispose(&st);
    xmlSetStructuredErrorFunc(saved_ctx, saved);
    int state = ctxt->state;
    xsltFreeTransformContext(ctxt);
    if (svrl == NULL || state == XSLT_STATE_ERROR || state == XSLT_STATE_STOPPED) {
        rc = cg_err_set(err, CG_EINVAL, "xsltApplyStylesheetUser(schematron): %s",
                        cg_xslt_msgs_text(&msgs, "transformation failed"));
        goto done;
    }
    read_svrl(svrl, doc, report);
    if (keep_svrl) {
        if (report->svrl)
            xmlFreeDoc(report->svrl);
        report->svrl = svrl;
        svrl = NULL;
    }
done:
    if (svrl)
        xmlFreeDoc(svrl);
    free(quoted);
    cg_xslt_msgs_dispose(&msgs);
    return rc;
}
