/* render: C-CDA to safe HTML (see render.h). */
#define _POSIX_C_SOURCE 200809L
#include "render/render.h"

#include <libxml/xmlstring.h>
#include <libxml/xpathInternals.h>
#include <libxslt/extensions.h>
#include <libxslt/security.h>
#include <libxslt/transform.h>
#include <libxslt/xsltInternals.h>
#include <libxslt/xsltutils.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"
#include "util/base64.h"
#include "util/fs.h"
#include "xml/xslt.h"

#define RENDER_NS "urn:cdagate:render"
#define RENDER_XSL_MAX ((size_t)4 << 20)     /* the stylesheet file */
#define RENDER_B64_TEXT_MAX ((size_t)16 << 20) /* base64 text/plain decoded for display */
#define RENDER_OPT_MAX 64                      /* lang and nonce values */

struct cg_render {
    xsltStylesheetPtr style;
    xsltSecurityPrefsPtr prefs; /* no file reads or writes, no directories, no network */
};

const char *cg_render_dir(void)
{
    const char *env = getenv("CDAGATE_XSLT_DIR");
    if (env && *env)
        return env;
    if (cg_fs_is_file(CG_DATADIR "/xslt/" CG_RENDER_STYLESHEET))
        return CG_DATADIR "/xslt";
    return CG_SRCDIR "/xslt";
}

/* ---- cg:base64-text(s): base64 text/plain decoded, or "" when it is not valid UTF-8 text ----- */

static void fn_base64_text(xmlXPathParserContextPtr ctxt, int nargs)
{
    if (nargs != 1) {
        xmlXPathSetArityError(ctxt);
        return;
    }
    xmlChar *in = xmlXPathPopString(ctxt);
    size_t n = in ? strlen((const char *)in) : 0;
    xmlChar *res = NULL;
    if (n > 0 && n <= RENDER_B64_TEXT_MAX) {
        unsigned char *dec = cg_xmalloc(n / 4 * 3 + 4);
        size_t m = cg_base64_decode(dec, in, n);
        if (m != CG_BASE64_INVALID) {
            dec[m] = '\0';
            int ok = strlen((const char *)dec) == m && xmlCheckUTF8(dec);
            for (size_t i = 0; ok && i < m; i++) /* characters XML cannot carry */
                if ((dec[i] < 0x20 && dec[i] != '\t' && dec[i] != '\n' && dec[i] != '\r'))
                    ok = 0;
            if (ok)
                res = xmlStrndup(dec, (int)m);
        }
        free(dec);
    }
    xmlFree(in);
    valuePush(ctxt, xmlXPathWrapString(res ? res : xmlStrdup((const xmlChar *)"")));
}

static pthread_once_t register_once = PTHREAD_ONCE_INIT;

static void register_functions(void)
{
    xsltRegisterExtModuleFunction((const xmlChar *)"base64-text", (const xmlChar *)RENDER_NS,
                                  fn_base64_text);
}

/* ---- open / free --------------------------------------------------------------------------- */

int cg_render_open(cg_render **out, const char *dir, cg_err *err)
{
    int rc;
    xmlDocPtr doc = NULL;
    cg_xslt_msgs m;
    cg_xslt_msgs_init(&m, 2000, 512);
    *out = NULL;
    pthread_once(&register_once, register_functions);
    char *path = cg_fs_join(dir ? dir : cg_render_dir(), CG_RENDER_STYLESHEET);
    cg_xml_limits lim;
    cg_xml_limits_default(&lim);
    lim.max_bytes = RENDER_XSL_MAX;
    if (!cg_fs_is_file(path)) {
        rc = cg_err_set(err, CG_EIO, "%s: no renderer stylesheet (set CDAGATE_XSLT_DIR)", path);
        goto done;
    }
    if ((rc = cg_xml_parse_file(&doc, path, &lim, err)) != CG_OK)
        goto done;
    xsltStylesheetPtr style;
    rc = cg_xslt_compile(&style, doc, path, &m, err);
    doc = NULL; /* the stylesheet's now, or freed */
    if (rc != CG_OK)
        goto done;
    cg_render *r = cg_xcalloc(1, sizeof *r);
    r->style = style;
    r->prefs = xsltNewSecurityPrefs();
    xsltSetSecurityPrefs(r->prefs, XSLT_SECPREF_READ_FILE, xsltSecurityForbid);
    xsltSetSecurityPrefs(r->prefs, XSLT_SECPREF_WRITE_FILE, xsltSecurityForbid);
    xsltSetSecurityPrefs(r->prefs, XSLT_SECPREF_CREATE_DIRECTORY, xsltSecurityForbid);
    xsltSetSecurityPrefs(r->prefs, XSLT_SECPREF_READ_NETWORK, xsltSecurityForbid);
    xsltSetSecurityPrefs(r->prefs, XSLT_SECPREF_WRITE_NETWORK, xsltSecurityForbid);
    *out = r;
done:
    if (doc)
        xmlFreeDoc(doc);
    free(path);
    cg_xslt_msgs_dispose(&m);
    return rc;
}

void cg_render_free(cg_render *r)
{
    if (r == NULL)
        return;
    xsltFreeStylesheet(r->style);
    xsltFreeSecurityPrefs(r->prefs);
    free(r);
}

/* ---- the link rule --------------------------------------------------------------------------- */

/* Length of a character browsers strip from or ignore in URLs at s (0: not one): ASCII controls,
 * space, DEL, C1 controls, NBSP, zero-width space/joiners, line/paragraph separators, BOM. */
static size_t strippable(const unsigned char *s)
{
    if (s[0] <= 0x20 || s[0] == 0x7f)
        return s[0] ? 1 : 0;
    if (s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0xa0)
        return 2;
    if (s[0] == 0xe2 && s[1] == 0x80 &&
        ((s[2] >= 0x8b && s[2] <= 0x8d) || s[2] == 0xa8 || s[2] == 0xa9))
        return 3;
    if (s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf)
        return 3;
    return 0;
}

int cg_render_url_ok(const char *url)
{
    char scheme[16];
    size_t n = 0;
    int any = 0, colon = 0;
    for (const unsigned char *s = (const unsigned char *)url; *s;) {
        size_t k = strippable(s);
        if (k) {
            s += k;
            continue;
        }
        any = 1;
        if (*s == ':') {
            colon = 1;
            break;
        }
        if (*s == '/' || *s == '?' || *s == '#')
            return 1; /* relative: a path, a query or a fragment comes before any colon */
        if (n + 1 < sizeof scheme)
            scheme[n] = (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
        n++;
        s++;
    }
    if (!any)
        return 0;
    if (!colon)
        return 1; /* relative */
    if (n + 1 > sizeof scheme)
        return 0; /* no allowed scheme is this long */
    scheme[n] = '\0';
    return strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0 ||
           strcmp(scheme, "mailto") == 0 || strcmp(scheme, "tel") == 0;
}

/* ---- the second pass: the page's allow-list, enforced on the result tree -------------------- */

static int in_list(const char *name, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(name, *list) == 0)
            return 1;
    return 0;
}

static const char *const page_elements[] = {
    "html", "head", "meta", "title", "style", "body", "header", "main", "nav", "section", "h1",
    "h2", "h3", "h4", "h5", "h6", "div", "span", "p", "dl", "dt", "dd", "ol", "ul", "li", "a",
    "br", "sub", "sup", "del", "ins", "table", "caption", "colgroup", "col", "thead", "tbody",
    "tfoot", "tr", "th", "td", "img", "iframe", "pre", NULL};

static const char *const page_attributes[] = {
    "id", "class", "lang", "href", "rel", "title", "src", "alt", "sandbox", "scope", "colspan",
    "rowspan", "abbr", "headers", "width", "border", "cellspacing", "cellpadding", "frame",
    "rules", "span", "align", "valign", "aria-labelledby", "aria-description", "role", "data-id",
    "nonce", "charset", "name", "content", "http-equiv", NULL};

static int src_ok(const char *element, const char *v)
{
    static const char *const images[] = {"data:image/png;base64,", "data:image/jpeg;base64,",
                                         "data:image/gif;base64,", NULL};
    if (strcmp(element, "img") == 0) {
        for (const char *const *p = images; *p; p++)
            if (strncmp(v, *p, strlen(*p)) == 0)
                return 1;
        return 0;
    }
    return strcmp(element, "iframe") == 0 && strncmp(v, "data:application/pdf;base64,", 28) == 0;
}

static int attribute_ok(xmlNodePtr el, xmlAttrPtr a)
{
    const char *name = (const char *)a->name;
    const char *element = (const char *)el->name;
    if (a->ns != NULL || !in_list(name, page_attributes))
        return 0;
    xmlChar *v = xmlNodeGetContent((xmlNodePtr)a);
    const char *value = v ? (const char *)v : "";
    int ok = 1;
    if (strcmp(name, "href") == 0)
        ok = cg_render_url_ok(value);
    else if (strcmp(name, "src") == 0)
        ok = src_ok(element, value);
    else if (strcmp(name, "http-equiv") == 0)
        ok = strcasecmp(value, "Content-Type") == 0;
    else if (strcmp(name, "content") == 0 || strcmp(name, "charset") == 0 ||
             strcmp(name, "name") == 0)
        ok = strcmp(element, "meta") == 0;
    xmlFree(v);
    return ok;
}

/* Removes what is not on the page's allow-lists; counts the removals. */
static size_t sanitize(xmlNodePtr n, int in_head)
{
    size_t removed = 0;
    while (n) {
        xmlNodePtr next = n->next;
        if (n->type == XML_ELEMENT_NODE) {
            const char *name = (const char *)n->name;
            if (n->ns != NULL || !in_list(name, page_elements) ||
                (strcmp(name, "style") == 0 && !in_head)) {
                xmlUnlinkNode(n);
                xmlFreeNode(n);
                removed++;
                n = next;
                continue;
            }
            for (xmlAttrPtr a = n->properties; a;) {
                xmlAttrPtr an = a->next;
                if (!attribute_ok(n, a)) {
                    xmlRemoveProp(a);
                    removed++;
                }
                a = an;
            }
            if (strcmp(name, "iframe") == 0)
                xmlSetProp(n, (const xmlChar *)"sandbox", (const xmlChar *)"");
            removed += sanitize(n->children, in_head || strcmp(name, "head") == 0);
        } else if (n->type != XML_TEXT_NODE && n->type != XML_DTD_NODE) {
            xmlUnlinkNode(n); /* comments, processing instructions, CDATA, entity references */
            xmlFreeNode(n);
            removed++;
        }
        n = next;
    }
    return removed;
}

/* ---- rendering --------------------------------------------------------------------------------- */

static int option_ok(const char *v, const char *allowed)
{
    return v == NULL || (strlen(v) <= RENDER_OPT_MAX && strspn(v, allowed) == strlen(v));
}

int cg_render_doc(const cg_render *r, xmlDocPtr doc, const cg_render_options *opt, cg_buf *out,
                  cg_err *err)
{
    int rc = CG_OK;
    xmlDocPtr html = NULL;
    xmlChar *text = NULL;
    int len = 0;
    cg_xslt_msgs m;
    cg_xslt_msgs_init(&m, 2000, 512);
    cg_render_options none = {0};
    if (opt == NULL)
        opt = &none;
    char *lang = NULL, *nonce = NULL;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (root == NULL || root->ns == NULL ||
        strcmp((const char *)root->ns->href, "urn:hl7-org:v3") != 0 ||
        strcmp((const char *)root->name, "ClinicalDocument") != 0) {
        rc = cg_err_set(err, CG_EINVAL,
                        "not a CDA document: the root element is {%s}%s, not "
                        "{urn:hl7-org:v3}ClinicalDocument",
                        root && root->ns ? (const char *)root->ns->href : "",
                        root ? (const char *)root->name : "(none)");
        goto done;
    }
    if (!option_ok(opt->lang, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-") ||
        !option_ok(opt->css_nonce, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789+/=_-")) {
        rc = cg_err_set(err, CG_EINVAL, "render: bad language or nonce option");
        goto done;
    }
    lang = cg_xasprintf("'%s'", opt->lang ? opt->lang : "");
    nonce = cg_xasprintf("'%s'", opt->css_nonce ? opt->css_nonce : "");
    const char *params[] = {"lang", lang, "mask-ids", opt->mask_ids ? "'true'" : "'false'",
                            "css-nonce", nonce, NULL};
    xsltTransformContextPtr ctxt = xsltNewTransformContext(r->style, doc);
    if (ctxt == NULL) {
        rc = cg_err_set(err, CG_EIO, "xsltNewTransformContext failed");
        goto done;
    }
    xsltSetCtxtSecurityPrefs(r->prefs, ctxt);
    xsltSetCtxtParseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xsltSetTransformErrorFunc(ctxt, &m, cg_xslt_msgs_generic);
    xmlStructuredErrorFunc saved = xmlStructuredError;
    void *saved_ctx = xmlStructuredErrorContext;
    xmlSetStructuredErrorFunc(&m, cg_xslt_msgs_structured);
    html = xsltApplyStylesheetUser(r->style, doc, params, NULL, NULL, ctxt);
    xmlSetStructuredErrorFunc(saved_ctx, saved);
    int state = ctxt->state;
    xsltFreeTransformContext(ctxt);
    if (html == NULL || state == XSLT_STATE_ERROR || state == XSLT_STATE_STOPPED) {
        rc = cg_err_set(err, CG_EIO, "xsltApplyStylesheetUser(%s): %s", CG_RENDER_STYLESHEET,
                        cg_xslt_msgs_text(&m, "transformation failed"));
        goto done;
    }
    sanitize(html->children, 0);
    if (xsltSaveResultToString(&text, &len, html, r->style) != 0 || len < 0) {
        rc = cg_err_set(err, CG_EIO, "xsltSaveResultToString failed");
        goto done;
    }
    if (cg_buf_append(out, text, (size_t)len) != CG_OK)
        rc = cg_err_set(err, CG_ETOOBIG, "render: the page exceeds %zu bytes", out->max);
done:
    xmlFree(text);
    if (html)
        xmlFreeDoc(html);
    free(lang);
    free(nonce);
    cg_xslt_msgs_dispose(&m);
    return rc;
}

int cg_render_bytes(const cg_render *r, const char *data, size_t len, const char *name,
                    const cg_xml_limits *limits, const cg_render_options *opt, cg_buf *out,
                    cg_err *err)
{
    xmlDocPtr doc = NULL;
    int rc = cg_xml_parse(&doc, data, len, name, limits, err);
    if (rc == CG_OK)
        rc = cg_render_doc(r, doc, opt, out, err);
    if (doc)
        xmlFreeDoc(doc);
    return rc;
}
