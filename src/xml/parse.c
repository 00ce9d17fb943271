/* parse: see parse.h. */
#include "xml/parse.h"

#include <libexslt/exslt.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxslt/security.h>
#include <libxslt/xslt.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"
#include "xml/memory.h"

#define CG_XML_SCAN_DEPTH 4096 /* open elements too_costly follows (max_depth refuses sooner) */

typedef struct parse_state {
    unsigned depth;
    unsigned max_depth;
    int refused;      /* CG_OK, or why we stopped the parser */
    char why[256];
    int first_line;   /* the first error: where the document really goes wrong */
    char first_msg[256];
} parse_state;

static void
on_error(void *ctx, xmlErrorPtr e)
{
    xmlParserCtxtPtr ctxt = ctx;
    parse_state *st = ctxt ? ctxt->_private : NULL;
    if (st == NULL || st->first_line || e == NULL || e->level < XML_ERR_ERROR)
        return;
    st->first_line = e->line > 0 ? e->line : 1;
    snprintf(st->first_msg, sizeof st->first_msg, "%s", e->message ? e->message : "");
}

static xmlExternalEntityLoader default_loader;

static xmlParserInputPtr
refusing_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    /* Only local files (stylesheets, schemas of installed profiles) may be loaded; entity
     * declarations never reach this point because the parser refuses them first. */
    if (url != NULL && strstr(url, "://") != NULL && strncmp(url, "file://", 7) != 0) {
        if (ctxt != NULL)
            xmlStopParser(ctxt);
        return NULL;
    }
    return default_loader(url, id, ctxt);
}

static xsltSecurityPrefsPtr security_prefs;

void
cg_xml_init(void)
{
    cg_xml_memory_install(); /* before libxml2 allocates anything */
    xmlInitParser();
    LIBXML_TEST_VERSION
    exsltRegisterAll();
    default_loader = xmlGetExternalEntityLoader();
    xmlSetExternalEntityLoader(refusing_loader);
    security_prefs = xsltNewSecurityPrefs();
    xsltSetSecurityPrefs(security_prefs, XSLT_SECPREF_WRITE_FILE, xsltSecurityForbid);
    xsltSetSecurityPrefs(security_prefs, XSLT_SECPREF_CREATE_DIRECTORY, xsltSecurityForbid);
    xsltSetSecurityPrefs(security_prefs, XSLT_SECPREF_READ_NETWORK, xsltSecurityForbid);
    xsltSetSecurityPrefs(security_prefs, XSLT_SECPREF_WRITE_NETWORK, xsltSecurityForbid);
    xsltSetDefaultSecurityPrefs(security_prefs);
}

void
cg_xml_cleanup(void)
{
    xsltSetDefaultSecurityPrefs(NULL);
    if (security_prefs)
        xsltFreeSecurityPrefs(security_prefs);
    security_prefs = NULL;
    xsltCleanupGlobals();
    xmlCleanupParser();
}

void
cg_xml_limits_default(cg_xml_limits *out)
{
    out->max_bytes = CG_XML_DEFAULT_MAX_BYTES;
    out->max_depth = CG_XML_DEFAULT_MAX_DEPTH;
    out->max_attributes = CG_XML_DEFAULT_MAX_ATTRIBUTES;
    out->read_only = 0;
}

static void
refuse(xmlParserCtxtPtr ctxt, int code, const char *why)
{
    parse_state *st = ctxt->_private;
    if (st->refused == CG_OK) {
        st->refused = code;
        snprintf(st->why, sizeof st->why, "%s", why);
    }
    xmlStopParser(ctxt);
}

static void
on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
               const xmlChar *system_id, xmlChar *content)
{
    (void)type;
    (void)public_id;
    (void)system_id;
    (void)content;
    xmlParserCtxtPtr ctxt = ctx;
    char why[200];
    snprintf(why, sizeof why,
             "DOCTYPE declares entity '%.80s': entity declarations are refused (no expansion, no "
             "external entities)",
             (const char *)name);
    refuse(ctxt, CG_EUNSAFE, why);
}

static void
on_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
         int nb_namespaces, const xmlChar **namespaces, int nb_attributes, int nb_defaulted,
         const xmlChar **attributes)
{
    xmlParserCtxtPtr ctxt = ctx;
    parse_state *st = ctxt->_private;
    if (++st->depth > st->max_depth) {
        char why[100];
        snprintf(why, sizeof why, "element nesting exceeds the limit of %u levels", st->max_depth);
        refuse(ctxt, CG_ETOOBIG, why);
        return;
    }
    xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
                          nb_defaulted, attributes);
}

static void
on_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
    xmlParserCtxtPtr ctxt = ctx;
    parse_state *st = ctxt->_private;
    st->depth--;
    xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

/* The end of the first occurrence of the NUL-free string `what` at or after p, or end. */
static const char *
skip_past(const char *p, const char *end, const char *what)
{
    size_t n = strlen(what);
    for (; p + n <= end; p++)
        if (*p == what[0] && memcmp(p, what, n) == 0)
            return p + n;
    return end;
}

/* Is the attribute whose '=' is at eq (in a start tag beginning at tag) a namespace
 * declaration: is its name "xmlns" or "xmlns:..."? */
static int
is_xmlns(const char *tag, const char *eq)
{
    const char *e = eq;
    while (e > tag && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        e--;
    const char *b = e;
    while (b > tag && b[-1] != ' ' && b[-1] != '\t' && b[-1] != '\r' && b[-1] != '\n' &&
           b[-1] != '"' && b[-1] != '\'')
        b--;
    return e - b >= 5 && memcmp(b, "xmlns", 5) == 0 && (e - b == 5 || b[5] == ':');
}

/* A lexical pass over the bytes, before libxml2 sees them, for what costs libxml2 2.9 quadratic
 * time: more than max_attr attributes on one element (each is compared with all the earlier
 * ones), or more than CG_XML_MAX_NAMESPACES namespace declarations in scope (each prefixed name
 * is looked up through all of them). 0 when neither, else the line of the first start tag past
 * a limit, with *why set. An attribute is an '=' outside quotes in a start tag; comments, CDATA
 * sections, processing instructions and the DOCTYPE (its internal subset too) are skipped.
 * Exact for well-formed XML; for other bytes it may miscount, and libxml2 refuses them anyway. */
static int
too_costly(const char *p, size_t len, unsigned max_attr, const char **why)
{
    const char *end = p + len;
    int line = 1;
    unsigned stack[CG_XML_SCAN_DEPTH]; /* namespace declarations of each open element */
    size_t depth = 0;
    unsigned in_scope = 0;
    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (lt == NULL)
            break;
        for (const char *q = p; q < lt; q++)
            line += *q == '\n';
        p = lt + 1;
        const char *from = p;
        if (end - p >= 3 && memcmp(p, "!--", 3) == 0)
            p = skip_past(p + 3, end, "-->");
        else if (end - p >= 8 && memcmp(p, "![CDATA[", 8) == 0)
            p = skip_past(p + 8, end, "]]>");
        else if (p < end && *p == '?')
            p = skip_past(p + 1, end, "?>");
        else if (p < end && *p == '!') { /* DOCTYPE, with an internal subset in [] */
            int bracket = 0;
            char quote = 0;
            for (; p < end; p++) {
                if (quote) {
                    quote = *p == quote ? 0 : quote;
                } else if (*p == '"' || *p == '\'') {
                    quote = *p;
                } else if (*p == '[') {
                    bracket++;
                } else if (*p == ']') {
                    bracket--;
                } else if (*p == '>' && bracket <= 0) {
                    p++;
                    break;
                }
            }
        } else if (p < end && *p == '/') { /* an end tag */
            if (depth > 0)
                in_scope -= stack[--depth];
            const char *gt = memchr(p, '>', (size_t)(end - p));
            p = gt ? gt + 1 : end;
        } else if (p < end) { /* a start tag */
            unsigned n = 0, ns = 0;
            char quote = 0, last = 0;
            for (; p < end; p++) {
                if (quote) {
                    quote = *p == quote ? 0 : quote;
                } else if (*p == '"' || *p == '\'') {
                    quote = *p;
                } else if (*p == '=') {
                    if (++n > max_attr) {
                        *why = "attributes";
                        return line;
                    }
                    ns += is_xmlns(from, p);
                } else if (*p == '>') {
                    p++;
                    break;
                }
                if (!quote && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
                    last = *p;
            }
            if (last != '/') { /* not an empty element: it stays open */
                if (depth < CG_XML_SCAN_DEPTH)
                    stack[depth++] = ns;
                else
                    ns = 0; /* past any depth limit: libxml2 refuses it */
                in_scope += ns;
                if (in_scope > CG_XML_MAX_NAMESPACES) {
                    *why = "namespaces";
                    return line;
                }
            } else if (in_scope + ns > CG_XML_MAX_NAMESPACES) {
                *why = "namespaces";
                return line;
            }
        }
        for (const char *q = from; q < p; q++)
            line += *q == '\n';
    }
    return 0;
}

int
cg_xml_parse(xmlDocPtr *out, const char *data, size_t len, const char *name,
             const cg_xml_limits *limits, cg_err *err)
{
    cg_xml_limits def;
    int rc = CG_OK;
    xmlDocPtr doc = NULL;
    parse_state st = {0};
    *out = NULL;
    if (limits == NULL) {
        cg_xml_limits_default(&def);
        limits = &def;
    }
    if (len > limits->max_bytes)
        return cg_err_set(err, CG_ETOOBIG, "%s: %zu bytes exceeds the limit of %zu bytes", name, len,
                          limits->max_bytes);
    if (len > (size_t)INT32_MAX)
        return cg_err_set(err, CG_ETOOBIG, "%s: document too large", name);
    unsigned max_attributes =
        limits->max_attributes ? limits->max_attributes : CG_XML_DEFAULT_MAX_ATTRIBUTES;
    const char *costly = NULL;
    int at_line = too_costly(data, len, max_attributes, &costly);
    if (at_line && strcmp(costly, "attributes") == 0)
        return cg_err_set(err, CG_ETOOBIG,
                          "%s:%d: an element has more than %u attributes (namespace declarations "
                          "included), the limit",
                          name, at_line, max_attributes);
    if (at_line)
        return cg_err_set(err, CG_ETOOBIG,
                          "%s:%d: more than %u namespace declarations in scope, the limit", name,
                          at_line, CG_XML_MAX_NAMESPACES);
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (ctxt == NULL)
        return cg_err_set(err, CG_EIO, "xmlNewParserCtxt failed");
    st.max_depth = limits->max_depth;
    ctxt->_private = &st;
    ctxt->sax->entityDecl = on_entity_decl;
    ctxt->sax->startElementNs = on_start;
    ctxt->sax->endElementNs = on_end;
    ctxt->sax->serror = on_error;
    int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES;
    if (limits->read_only)
        options |= XML_PARSE_COMPACT;
    doc = xmlCtxtReadMemory(ctxt, data, (int)len, name, NULL, options);
    if (st.refused != CG_OK) {
        rc = cg_err_set(err, st.refused, "%s:%d: %s", name, xmlSAX2GetLineNumber(ctxt), st.why);
        goto done;
    }
    if (doc == NULL || !ctxt->wellFormed || !ctxt->nsWellFormed) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        if (len == 0)
            rc = cg_err_set(err, CG_EINVAL, "%s: empty document (no root element)", name);
        else if (st.first_line || (e != NULL && e->message != NULL)) {
            const char *m = st.first_line ? st.first_msg : e->message;
            size_t n = strlen(m);
            while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
                n--;
            rc = cg_err_set(err, CG_EINVAL, "%s:%d: not well-formed XML: %.*s", name,
                            st.first_line ? st.first_line : e->line, (int)n, m);
        } else
            rc = cg_err_set(err, CG_EINVAL, "%s: not well-formed XML", name);
        goto done;
    }
    *out = doc;
    doc = NULL;
done:
    if (doc)
        xmlFreeDoc(doc);
    ctxt->_private = NULL;
    xmlFreeParserCtxt(ctxt);
    return rc;
}

int
cg_xml_parse_file(xmlDocPtr *out, const char *path, const cg_xml_limits *limits, cg_err *err)
{
    cg_xml_limits def;
    char *data = NULL;
    size_t len = 0;
    if (limits == NULL) {
        cg_xml_limits_default(&def);
        limits = &def;
    }
    *out = NULL;
    int rc = cg_fs_read(&data, &len, path, limits->max_bytes, err);
    if (rc == CG_OK)
        rc = cg_xml_parse(out, data, len, path, limits, err);
    free(data);
    return rc;
}
