/* sch_compile: see sch_compile.h.
 *
 * Shape of the generated stylesheet, one mode per pattern:
 *   <xsl:template match="/">  svrl:schematron-output, then for each pattern active in $phase:
 *       svrl:active-pattern and <xsl:apply-templates select="CANDIDATES" mode="Mk"/>
 *   one template per concrete rule, priority falling with rule order (first match wins), holding
 *   the rule's lets, asserts and reports (abstract rules expanded where they are extended);
 *   an empty catch-all template per mode, so nothing recurses by default.
 * CANDIDATES is a superset of the nodes any rule of the pattern can match, computed from the rule
 * contexts: where a context step is constrained by a child such as cda:templateId[@root='X'],
 * the candidates come from an xsl:key on that attribute instead of a walk of the document. */
#define _POSIX_C_SOURCE 200809L
#include "validate/sch_compile.h"

#include <libxml/globals.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/fs.h"
#include "xml/parse.h"
#include "xml/xpath_scan.h"

/* Where a finding is. cdagate registers cg:location() (computed in C, see schematron.c) and
 * the stylesheet it caches calls it in an attribute value template; a portable stylesheet
 * (cg_sch_options.portable) computes the same path with an XSLT template instead. */
#define LOCATION_NATIVE " location=\"{cg:location()}\">"
#define LOCATION_PORTABLE                                                                          \
    "><xsl:attribute name=\"location\"><xsl:call-template name=\"cg-location\"/></xsl:attribute>"

#define PROFILE_FILE_MAX ((size_t)512 << 20)

typedef struct loaded_doc {
    char *href;
    xmlDocPtr doc;
} loaded_doc;

typedef struct compiler {
    const cg_sch_options *opt;
    cg_sch_stats *stats;
    cg_err *err;
    xmlDocPtr sch;
    xmlNodePtr root;
    cg_buf head;  /* keys and global variables */
    cg_buf rules; /* rule templates */
    cg_strv ns_prefix, ns_uri;
    cg_strv key_sig;   /* "QNAME\x01ATTR" per xsl:key, index = key number */
    cg_strv inline_sig; /* "href\x01path" per inlined look-up, index = variable number */
    loaded_doc *docs;
    size_t ndocs, docs_cap;
    cg_strv group_test;  /* distinct $phase tests, in first-use order */
    cg_buf *group_body;  /* the patterns under each test */
    size_t group_cap;
    cg_buf *group_active; /* the svrl:active-pattern elements of each group */
    cg_buf *current;     /* where the pattern being compiled writes */
    const char *pattern_id; /* of the pattern being compiled */
    int rc;
} compiler;

/* ---- small helpers ---------------------------------------------------------------------- */

static int
is_sch(xmlNodePtr n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns &&
           xmlStrEqual(n->ns->href, BAD_CAST CG_SCH_NS) &&
           (name == NULL || xmlStrEqual(n->name, BAD_CAST name));
}

static char *
attr(xmlNodePtr n, const char *name)
{
    xmlChar *v = xmlGetNoNsProp(n, BAD_CAST name);
    if (v == NULL)
        return NULL;
    char *s = cg_xstrdup((const char *)v);
    xmlFree(v);
    return s;
}

static void
put_esc(cg_buf *b, const char *s, int in_attr, int avt)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': cg_buf_puts(b, "&amp;"); break;
        case '<': cg_buf_puts(b, "&lt;"); break;
        case '>': cg_buf_puts(b, "&gt;"); break;
        case '"': cg_buf_puts(b, in_attr ? "&quot;" : "\""); break;
        case '\n': cg_buf_puts(b, in_attr ? "&#10;" : "\n"); break;
        case '\t': cg_buf_puts(b, in_attr ? "&#9;" : "\t"); break;
        case '\r': cg_buf_puts(b, "&#13;"); break;
        case '{': cg_buf_puts(b, avt ? "{{" : "{"); break;
        case '}': cg_buf_puts(b, avt ? "}}" : "}"); break;
        default: cg_buf_putc(b, *s);
        }
    }
}

static void
put_attr(cg_buf *b, const char *name, const char *value)
{
    cg_buf_printf(b, " %s=\"", name);
    put_esc(b, value, 1, 0);
    cg_buf_putc(b, '"');
}

/* An attribute of a literal result element: escaped for XML and for attribute value templates. */
static void
put_lit_attr(cg_buf *b, const char *name, const char *value)
{
    cg_buf_printf(b, " %s=\"", name);
    put_esc(b, value, 1, 1);
    cg_buf_putc(b, '"');
}

static int fail(compiler *c, int code, xmlNodePtr where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(compiler *c, int code, xmlNodePtr where, const char *fmt, ...)
{
    char what[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (where)
        cg_err_set(c->err, code, "schematron line %ld: %s", xmlGetLineNo(where), what);
    else
        cg_err_set(c->err, code, "schematron: %s", what);
    if (c->rc == CG_OK)
        c->rc = code;
    return code;
}

/* Checks that an expression parses as XPath 1.0, so a schema error is reported at compile time
 * with the place it comes from rather than as an opaque stylesheet error. */
static void
collect_xpath_error(void *ctx, xmlErrorPtr e)
{
    cg_buf *b = ctx;
    if (b->len == 0 && e && e->message)
        cg_buf_puts(b, e->message);
}

static int
check_xpath(compiler *c, xmlNodePtr where, const char *expr)
{
    cg_buf why;
    cg_buf_init(&why, 1024);
    /* libxml2 reports XPath syntax errors through the thread's error handler: keep the reason
     * for our message instead of letting it print on stderr */
    xmlStructuredErrorFunc saved = xmlStructuredError;
    void *saved_ctx = xmlStructuredErrorContext;
    xmlSetStructuredErrorFunc(&why, collect_xpath_error);
    xmlXPathCompExprPtr comp = xmlXPathCompile(BAD_CAST expr);
    xmlSetStructuredErrorFunc(saved_ctx, saved);
    int rc = CG_OK;
    if (comp == NULL) {
        while (why.len && (why.data[why.len - 1] == '\n' || why.data[why.len - 1] == ' '))
            why.data[--why.len] = '\0';
        rc = fail(c, CG_EINVAL, where, "not a valid XPath 1.0 expression (%s): %.500s",
                  why.len ? why.data : "syntax error", expr ? expr : "");
    } else
        xmlXPathFreeCompExpr(comp);
    cg_buf_dispose(&why);
    return rc;
}

/* ---- document() inlining ----------------------------------------------------------------- */

static xmlDocPtr
load_doc(compiler *c, const char *href, xmlNodePtr where)
{
    for (size_t i = 0; i < c->ndocs; i++)
        if (strcmp(c->docs[i].href, href) == 0)
            return c->docs[i].doc;
    if (c->opt->base_dir == NULL || strstr(href, "://") || href[0] == '/' || strstr(href, ".."))
        return NULL;
    char *path = cg_fs_join(c->opt->base_dir, href);
    cg_xml_limits lim;
    cg_xml_limits_default(&lim);
    lim.max_bytes = PROFILE_FILE_MAX;
    xmlDocPtr doc = NULL;
    cg_err e;
    cg_err_init(&e);
    if (cg_xml_parse_file(&doc, path, &lim, &e) != CG_OK)
        fail(c, e.code, where, "document('%s'): %s", href, e.msg);
    free(path);
    if (doc == NULL)
        return NULL;
    c->docs = cg_xgrow(c->docs, &c->docs_cap, c->ndocs + 1, sizeof *c->docs);
    c->docs[c->ndocs].href = cg_xstrdup(href);
    c->docs[c->ndocs].doc = doc;
    c->ndocs++;
    return doc;
}

static int
name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-' || ch == '.' || ch == ':' || ch == '*';
}

/* Length of the constant location path that follows a document(...) call at s, or 0. */
static size_t
constant_path_len(const char *s)
{
    size_t j = 0;
    while (s[j] == '/') {
        j += s[j + 1] == '/' ? 2 : 1;
        if (s[j] == '@')
            j++;
        size_t start = j;
        while (name_char(s[j]))
            j++;
        if (s[j] == '(' && s[j + 1] == ')')
            j += 2;
        if (j == start)
            return 0;
        while (s[j] == '[') {
            size_t end = cg_xpath_skip(s, j);
            for (size_t k = j; k < end; k++)
                if (s[k] == '$' || strncmp(s + k, "current(", 8) == 0)
                    return 0;
            j = end;
        }
    }
    return j;
}

/* Keeps the code of the first XPath error of a compile-time look-up: never printed. */
static void
collect_lookup_error(void *ctx, xmlErrorPtr e)
{
    int *code = ctx;
    if (*code == 0 && e)
        *code = e->code ? e->code : -1;
}

/* Declares the global variables cg-dN-rtf (holding `items`, literal result elements) and cg-dN
 * (the node-set exsl:node-set($cg-dN-rtf)/STEP), records `sig` (owned) as the Nth inlined set,
 * and returns N. */
static size_t
declare_global_set(compiler *c, char *sig, const char *items, const char *step)
{
    size_t idx = c->inline_sig.n + 1;
    cg_buf_printf(&c->head, "<xsl:variable name=\"cg-d%zu-rtf\">%s</xsl:variable>\n", idx, items);
    cg_buf_printf(&c->head,
                  "<xsl:variable name=\"cg-d%zu\" select=\"exsl:node-set($cg-d%zu-rtf)/%s\"/>\n",
                  idx, idx, step);
    cg_strv_push(&c->inline_sig, sig);
    return idx;
}

/* Evaluates document(href)PATH now and emits a global variable holding its attribute values.
 * Returns the variable's name, or NULL when the result is not a set of plain attributes. */
static char *
inline_lookup(compiler *c, xmlNodePtr where, const char *href, const char *path)
{
    char *sig = cg_xasprintf("%s\x01%s", href, path);
    for (size_t i = 0; i < c->inline_sig.n; i++)
        if (strcmp(c->inline_sig.v[i], sig) == 0) {
            free(sig);
            return cg_xasprintf("cg-d%zu", i + 1);
        }
    xmlDocPtr doc = load_doc(c, href, where);
    if (doc == NULL) {
        free(sig);
        return NULL;
    }
    char *name = NULL;
    xmlXPathContextPtr xp = xmlXPathNewContext(doc);
    for (size_t i = 0; i < c->ns_prefix.n; i++)
        xmlXPathRegisterNs(xp, BAD_CAST c->ns_prefix.v[i], BAD_CAST c->ns_uri.v[i]);
    /* an error here (say an XSLT function libxml2 alone lacks) leaves the look-up to run time,
     * except a prefix no sch:ns declares, which fails there too */
    int xerr = 0;
    xp->error = collect_lookup_error;
    xp->userData = &xerr;
    xmlXPathObjectPtr res = xmlXPathEvalExpression(BAD_CAST path, xp);
    if (xerr == XML_XPATH_UNDEF_PREFIX_ERROR) {
        fail(c, CG_EINVAL, where, "document('%s')%s: a namespace prefix is not declared by sch:ns",
             href, path);
        goto done;
    }
    if (res == NULL || res->type != XPATH_NODESET)
        goto done;
    xmlNodeSetPtr ns = res->nodesetval;
    int n = ns ? ns->nodeNr : 0;
    for (int i = 0; i < n; i++)
        if (ns->nodeTab[i]->type != XML_ATTRIBUTE_NODE || ns->nodeTab[i]->ns != NULL)
            goto done;
    cg_buf items;
    cg_buf_init(&items, (size_t)64 << 20);
    for (int i = 0; i < n; i++) {
        xmlChar *v = xmlNodeGetContent(ns->nodeTab[i]);
        cg_buf_puts(&items, "<cg:v");
        put_attr(&items, (const char *)ns->nodeTab[i]->name, v ? (const char *)v : "");
        cg_buf_puts(&items, "/>");
        xmlFree(v);
    }
    size_t idx = declare_global_set(c, sig, items.data ? items.data : "", "cg:v/@*");
    sig = NULL;
    cg_buf_dispose(&items);
    name = cg_xasprintf("cg-d%zu", idx);
    c->stats->inlined_lookups++;
done:
    free(sig);
    if (res)
        xmlXPathFreeObject(res);
    xmlXPathFreeContext(xp);
    return name;
}

/* Rewrites document('lit')/constant/path look-ups into inlined variables; a look-up that cannot
 * be inlined keeps document() with the href made absolute against the profile directory. */
static char *
rewrite_expr(compiler *c, xmlNodePtr where, const char *expr)
{
    cg_buf out;
    cg_buf_init(&out, (size_t)64 << 20);
    size_t i = 0, len = strlen(expr);
    while (i < len) {
        char ch = expr[i];
        if (ch == '\'' || ch == '"') {
            size_t end = cg_xpath_skip(expr, i);
            cg_buf_append(&out, expr + i, end - i);
            i = end;
            continue;
        }
        if (strncmp(expr + i, "document(", 9) == 0 && (i == 0 || !name_char(expr[i - 1]))) {
            size_t j = i + 9;
            while (expr[j] == ' ')
                j++;
            char q = expr[j];
            const char *lit_end = (q == '\'' || q == '"') ? strchr(expr + j + 1, q) : NULL;
            if (lit_end) {
                size_t k = (size_t)(lit_end - expr) + 1;
                while (expr[k] == ' ')
                    k++;
                if (expr[k] == ')') {
                    char *href = cg_xstrndup(expr + j + 1, (size_t)(lit_end - expr) - j - 1);
                    size_t plen = constant_path_len(expr + k + 1);
                    char *var = NULL;
                    if (!c->opt->no_inline && plen > 0) {
                        char *path = cg_xstrndup(expr + k + 1, plen);
                        var = inline_lookup(c, where, href, path);
                        free(path);
                    }
                    if (var) {
                        cg_buf_printf(&out, "$%s", var);
                        i = k + 1 + plen;
                    } else if (c->opt->base_dir && !strstr(href, "://") && href[0] != '/') {
                        const char *at = c->opt->link_base ? c->opt->link_base : c->opt->base_dir;
                        char *abs = cg_fs_join(at, href);
                        cg_buf_puts(&out, "document('");
                        cg_buf_puts(&out, abs);
                        cg_buf_puts(&out, "')");
                        free(abs);
                        i = k + 1;
                    } else {
                        cg_buf_append(&out, expr + i, k + 1 - i);
                        i = k + 1;
                    }
                    free(var);
                    free(href);
                    continue;
                }
            }
        }
        cg_buf_putc(&out, ch);
        i++;
    }
    return cg_buf_detach(&out);
}

/* ---- rule context analysis ---------------------------------------------------------------- */

/* The number of the xsl:key with this match pattern and use expression, declared on first use. */
static size_t
key_index(compiler *c, const char *match, const char *use)
{
    char *sig = cg_xasprintf("%s\x01%s", match, use);
    for (size_t i = 0; i < c->key_sig.n; i++)
        if (strcmp(c->key_sig.v[i], sig) == 0) {
            free(sig);
            return i + 1;
        }
    cg_strv_push(&c->key_sig, sig);
    size_t idx = c->key_sig.n;
    cg_buf_printf(&c->head, "<xsl:key name=\"cg-k%zu\"", idx);
    put_attr(&c->head, "match", match);
    put_attr(&c->head, "use", use);
    cg_buf_puts(&c->head, "/>\n");
    return idx;
}

/* 'QN' as '{namespace-uri}local-name' for cdagate's index functions, or NULL when its prefix
 * is not declared. */
static char *
clark_name(const compiler *c, const char *qname)
{
    const char *colon = strchr(qname, ':');
    if (colon == NULL)
        return cg_xasprintf("{}%s", qname);
    for (size_t i = 0; i < c->ns_prefix.n; i++)
        if (strlen(c->ns_prefix.v[i]) == (size_t)(colon - qname) &&
            strncmp(c->ns_prefix.v[i], qname, (size_t)(colon - qname)) == 0)
            return strchr(c->ns_uri.v[i], '\'') ? NULL : cg_xasprintf("{%s}%s", c->ns_uri.v[i], colon + 1);
    return NULL;
}

/* The nodes QN whose @attr is lit (parents = 0), or their parents, each once and in document
 * order (parents = 1): cdagate's cg:children()/cg:parents() index functions in a native
 * stylesheet, an xsl:key in a portable one. */
static char *
index_lookup(compiler *c, const char *qname, const char *attr_name, const char *lit, int parents)
{
    char *clark = c->opt->portable ? NULL : clark_name(c, qname);
    if (clark) {
        char *r = cg_xasprintf("cg:%s('%s','%s','%s')", parents ? "parents" : "children", clark,
                               attr_name, lit);
        free(clark);
        return r;
    }
    char *use = cg_xasprintf("@%s", attr_name);
    size_t idx = key_index(c, qname, use);
    free(use);
    return parents ? cg_xasprintf("key('cg-k%zu','%s')/..", idx, lit)
                   : cg_xasprintf("key('cg-k%zu','%s')", idx, lit);
}

/* "@A='LIT'" or "'LIT'=@A": fills name and literal. */
static int
attr_equals_literal(const char *s, char **attr_out, char **lit_out)
{
    cg_strv sides = {0};
    int ok = 0;
    cg_xpath_split_char(&sides, s, '=');
    if (sides.n == 2) {
        const char *a = sides.v[0], *l = sides.v[1];
        size_t al = strlen(a), ll = strlen(l);
        if (al > 0 && a[al - 1] == '!') /* '!=' */
            goto done;
        if (a[0] != '@') {
            const char *t = a;
            a = l;
            l = t;
            al = strlen(a);
            ll = strlen(l);
        }
        if (a[0] == '@' && cg_xpath_is_qname(a + 1) && strchr(a + 1, ':') == NULL && ll >= 2 &&
            (l[0] == '\'' || l[0] == '"') && l[ll - 1] == l[0] &&
            memchr(l + 1, l[0], ll - 2) == NULL) {
            *attr_out = cg_xstrdup(a + 1);
            *lit_out = cg_xstrndup(l + 1, ll - 2);
            ok = 1;
        }
    }
done:
    cg_strv_dispose(&sides);
    return ok;
}

/* A predicate that requires a child QN whose @A equals a literal: returns "key('cg-kN','LIT')"
 * (a union of them for an 'or' of such requirements), or NULL. */
static char *
keyed_predicate(compiler *c, const char *pred, char **first_out, int *implied_out)
{
    cg_strv disj = {0};
    char *first = NULL;
    cg_buf out;
    cg_buf_init(&out, (size_t)1 << 20);
    int ok = 1;
    cg_xpath_split_word(&disj, pred, "or");
    for (size_t d = 0; d < disj.n && ok; d++) {
        cg_strv conj = {0};
        char *found = NULL;
        cg_xpath_split_word(&conj, disj.v[d], "and");
        for (size_t k = 0; k < conj.n && !found; k++) {
            cg_xpath_path p;
            if (cg_xpath_split_steps(&p, conj.v[k]) != 0)
                continue;
            if (p.n == 1 && p.steps[0].sep[0] == '\0' && cg_xpath_is_qname(p.steps[0].test) &&
                p.steps[0].preds.n == 1) {
                cg_strv inner = {0};
                cg_xpath_split_word(&inner, p.steps[0].preds.v[0], "and");
                for (size_t m = 0; m < inner.n && !found; m++) {
                    char *an = NULL, *lit = NULL;
                    if (attr_equals_literal(inner.v[m], &an, &lit) && strchr(lit, '\'') == NULL) {
                        found = index_lookup(c, p.steps[0].test, an, lit, 1);
                        free(first);
                        first = NULL;
                        if (strncmp(found, "key(", 4) == 0) {
                            /* each parent once: from its first child with that value */
                            char *use = cg_xasprintf("@%s", an);
                            size_t idx = key_index(c, p.steps[0].test, use);
                            free(use);
                            first = cg_xasprintf("key('cg-k%zu','%s')[not(preceding-sibling::%s[@%s='%s'])]",
                                                 idx, lit, p.steps[0].test, an, lit);
                        }
                    }
                    free(an);
                    free(lit);
                }
                /* every condition on the child an @attr='literal': the index function checks
                 * them all, and alone in the predicate, the predicate itself is implied */
                int all_pairs = found && strncmp(found, "cg:", 3) == 0;
                cg_buf pairs;
                cg_buf_init(&pairs, (size_t)1 << 20);
                for (size_t m = 0; m < inner.n && all_pairs; m++) {
                    char *an = NULL, *lit = NULL;
                    all_pairs = attr_equals_literal(inner.v[m], &an, &lit) && strchr(lit, '\'') == NULL;
                    if (all_pairs)
                        cg_buf_printf(&pairs, ",'%s','%s'", an, lit);
                    free(an);
                    free(lit);
                }
                if (all_pairs && inner.n > 1) {
                    /* found is cg:parents('{uri}local','a1','v1'): replace its argument list */
                    char *paren = strchr(found, '(');
                    char *third = paren ? strchr(paren, ',') : NULL;
                    if (third) {
                        char *full = cg_xasprintf("%.*s%s)", (int)(third - found), found, pairs.data);
                        free(found);
                        found = full;
                    }
                }
                if (all_pairs && implied_out && disj.n == 1 && conj.n == 1)
                    *implied_out = 1;
                cg_buf_dispose(&pairs);
                cg_strv_dispose(&inner);
            }
            cg_xpath_path_dispose(&p);
        }
        cg_strv_dispose(&conj);
        if (found) {
            if (out.len)
                cg_buf_puts(&out, " | ");
            cg_buf_puts(&out, found);
            free(found);
        } else
            ok = 0;
    }
    size_t ndisj = disj.n;
    cg_strv_dispose(&disj);
    if (!ok || out.len == 0) {
        free(first);
        cg_buf_dispose(&out);
        return NULL;
    }
    if (first_out && ndisj == 1)
        *first_out = first;
    else
        free(first);
    return cg_buf_detach(&out);
}

static int
is_element_test(const char *t)
{
    if (strncmp(t, "child::", 7) == 0)
        t += 7;
    if (strcmp(t, "*") == 0 || cg_xpath_is_qname(t))
        return 1;
    size_t n = strlen(t);
    if (n < 3 || t[n - 1] != '*' || t[n - 2] != ':')
        return 0;
    char *prefix = cg_xstrndup(t, n - 2);
    int ok = cg_xpath_is_qname(prefix) && strchr(prefix, ':') == NULL;
    free(prefix);
    return ok;
}

static int
is_space_literal(const char *s)
{
    return strcmp(s, "' '") == 0 || strcmp(s, "\" \"") == 0;
}

/* The next token of a list literal's body [*q, end) that has a space on both sides: its start
 * and end go to *t and *te, and *q moves past it. 0 when there is none. */
static int
next_list_token(const char **q, const char *end, const char **t, const char **te)
{
    const char *sp = memchr(*q, ' ', (size_t)(end - *q));
    if (sp == NULL)
        return 0;
    const char *e = memchr(sp + 1, ' ', (size_t)(end - sp - 1));
    if (e == NULL)
        return 0;
    *t = sp + 1;
    *te = e;
    *q = e;
    return 1;
}

/* Selects the TEST elements whose ' '+@A+SEP+@B+' ' occurs in LIT exactly: every space-delimited
 * token of LIT split at each SEP gives a pair (a, b), looked up as key(@A = a)[string(@B) = b];
 * values with an inner space (which could span tokens) are found by a scan. NULL when the
 * literal parts do not allow it (quotes, an empty or spaced separator). */
static char *
list_by_attribute_key(compiler *c, const char *sep, const char *test, const char *pred,
                      const char *lit, const char *a_name, const char *sep_lit, const char *b_name)
{
    size_t sl = strlen(sep_lit), ll = strlen(lit);
    if (sl < 3 || (sep_lit[0] != '\'' && sep_lit[0] != '"') || sep_lit[sl - 1] != sep_lit[0] ||
        memchr(sep_lit + 1, sep_lit[0], sl - 2) || memchr(sep_lit + 1, ' ', sl - 2) ||
        memchr(lit + 1, '\'', ll - 2))
        return NULL;
    char *sepv = cg_xstrndup(sep_lit + 1, sl - 2);
    size_t sepl = strlen(sepv);
    cg_strv as = {0}, bs = {0}; /* per distinct a: the or-list of b tests */
    const char *q = lit + 1, *end = lit + ll - 1, *t, *te;
    while (next_list_token(&q, end, &t, &te)) {
        for (const char *m = t; m + sepl <= te; m++) {
            if (memcmp(m, sepv, sepl) != 0)
                continue;
            char *av = cg_xstrndup(t, (size_t)(m - t));
            char *bv = cg_xstrndup(m + sepl, (size_t)(te - m - sepl));
            size_t i = 0;
            while (i < as.n && strcmp(as.v[i], av) != 0)
                i++;
            if (i == as.n) {
                cg_strv_push(&as, av);
                cg_strv_push(&bs, cg_xstrdup(""));
            } else
                free(av);
            char *more = cg_xasprintf("%s%sstring(@%s)='%s'", bs.v[i], bs.v[i][0] ? " or " : "",
                                      b_name, bv);
            free(bs.v[i]);
            bs.v[i] = more;
            free(bv);
        }
    }
    cg_buf out;
    cg_buf_init(&out, (size_t)16 << 20);
    for (size_t i = 0; i < as.n; i++) {
        char *look = index_lookup(c, test, a_name, as.v[i], 0);
        cg_buf_printf(&out, "%s%s[%s]", out.len ? " | " : "", look, bs.v[i]);
        free(look);
    }
    char *clark = c->opt->portable ? NULL : clark_name(c, test);
    if (clark)
        cg_buf_printf(&out, "%s(cg:spaced('%s','%s') | cg:spaced('%s','%s'))[%s]", out.len ? " | " : "",
                      clark, a_name, clark, b_name, pred);
    else
        cg_buf_printf(&out, "%s%s%s[contains(@%s,' ') or contains(@%s,' ')][%s]", out.len ? " | " : "",
                      sep[0] ? sep : "//", test, a_name, b_name, pred);
    free(clark);
    cg_strv_dispose(&as);
    cg_strv_dispose(&bs);
    free(sepv);
    return cg_buf_detach(&out);
}

/* A rule context TEST[contains('LIT', concat(' ', ..., ' '))], the "is this (root, extension)
 * in my list" idiom: selected exactly through a key on the concat() value looked up with every
 * space-delimited token of LIT, plus a scan for the rare values with an inner space (which could
 * match across tokens). Returns the expression, or NULL when the predicate is not of that form. */
static char *
contains_list_candidates(compiler *c, const char *sep, const char *test, const char *pred)
{
    size_t len = strlen(pred);
    char *res = NULL;
    cg_strv args = {0}, parts = {0};
    if (strncmp(pred, "contains(", 9) != 0 || cg_xpath_skip(pred, 8) != len)
        return NULL;
    char *inner = cg_xstrndup(pred + 9, len - 10);
    cg_xpath_split_char(&args, inner, ',');
    free(inner);
    if (args.n != 2)
        goto done;
    const char *lit = args.v[0], *needle = args.v[1];
    size_t ll = strlen(lit), nl = strlen(needle);
    if (ll < 2 || (lit[0] != '\'' && lit[0] != '"') || lit[ll - 1] != lit[0] ||
        memchr(lit + 1, lit[0], ll - 2) != NULL)
        goto done;
    if (strncmp(needle, "concat(", 7) != 0 || cg_xpath_skip(needle, 6) != nl)
        goto done;
    char *cargs = cg_xstrndup(needle + 7, nl - 8);
    cg_xpath_split_char(&parts, cargs, ',');
    free(cargs);
    if (parts.n < 3 || !is_space_literal(parts.v[0]) || !is_space_literal(parts.v[parts.n - 1]))
        goto done;
    /* The common shape concat(' ', @A, 'SEP', @B, ' '): look each listed A up in a key on @A
     * and check B, which shares the key every templateId rule already uses. */
    if (parts.n == 5 && parts.v[1][0] == '@' && cg_xpath_is_qname(parts.v[1] + 1) &&
        parts.v[3][0] == '@' && cg_xpath_is_qname(parts.v[3] + 1)) {
        res = list_by_attribute_key(c, sep, test, pred, lit, parts.v[1] + 1, parts.v[2],
                                    parts.v[3] + 1);
        if (res)
            goto done;
    }
    /* the tokens of LIT that have a space on both sides */
    cg_buf items;
    cg_buf_init(&items, (size_t)64 << 20);
    const char *q = lit + 1, *end = lit + ll - 1, *t, *te;
    while (next_list_token(&q, end, &t, &te)) {
        if (te > t) {
            char *tok = cg_xstrndup(t - 1, (size_t)(te - t) + 2); /* with its two spaces */
            cg_buf_puts(&items, "<cg:t>");
            put_esc(&items, tok, 0, 0);
            cg_buf_puts(&items, "</cg:t>");
            free(tok);
        }
    }
    size_t tidx = declare_global_set(c, cg_xasprintf("tokens\x01%s", lit),
                                     items.data ? items.data : "", "cg:t");
    cg_buf_dispose(&items);
    /* A space inside the needle's middle can only come from one of its non-literal parts. */
    cg_buf spaced;
    cg_buf_init(&spaced, (size_t)1 << 20);
    for (size_t i = 1; i + 1 < parts.n; i++) {
        const char *a = parts.v[i];
        size_t al = strlen(a);
        int literal = al >= 2 && (a[0] == '\'' || a[0] == '"') && a[al - 1] == a[0] &&
                      memchr(a + 1, a[0], al - 2) == NULL;
        if (literal && memchr(a + 1, ' ', al - 2) == NULL)
            continue;
        if (literal) { /* a literal space in the middle: every value may span tokens */
            cg_buf_reset(&spaced);
            cg_buf_puts(&spaced, "true()");
            break;
        }
        cg_buf_printf(&spaced, "%scontains(%s,' ')", spaced.len ? " or " : "", a);
    }
    size_t k = key_index(c, test, needle);
    if (spaced.len == 0)
        res = cg_xasprintf("key('cg-k%zu',$cg-d%zu)", k, tidx);
    else
        res = cg_xasprintf("key('cg-k%zu',$cg-d%zu) | %s%s[%s][%s]", k, tidx, sep[0] ? sep : "//",
                           test, spaced.data, pred);
    cg_buf_dispose(&spaced);
done:
    cg_strv_dispose(&args);
    cg_strv_dispose(&parts);
    return res;
}

/* Does a predicate use the context position or size? Moved onto the parent axis of a key()
 * result, position() and last() are always 1, so such a predicate is positional. */
static int
uses_context_position(const char *pred)
{
    size_t len = strlen(pred);
    for (size_t i = 0; i < len;) {
        if (pred[i] == '\'' || pred[i] == '"') {
            i = cg_xpath_skip(pred, i);
            continue;
        }
        if (i == 0 || !name_char(pred[i - 1])) {
            size_t j = strncmp(pred + i, "position", 8) == 0 ? i + 8
                       : strncmp(pred + i, "last", 4) == 0   ? i + 4
                                                               : 0;
            while (j && pred[j] == ' ')
                j++;
            if (j && pred[j] == '(')
                return 1;
        }
        i++;
    }
    return 0;
}

/* Does a predicate always evaluate to a boolean (rather than a number, which would test the
 * position)? Conservative: anything unrecognised counts as positional. */
static int
predicate_is_boolean(const char *pred)
{
    cg_strv parts = {0};
    int yes = 0;
    if (uses_context_position(pred))
        return 0;
    cg_xpath_split_word(&parts, pred, "or");
    if (parts.n == 1) {
        cg_strv_dispose(&parts);
        cg_xpath_split_word(&parts, pred, "and");
    }
    if (parts.n > 1)
        yes = 1;
    cg_strv_dispose(&parts);
    if (yes)
        return 1;
    size_t len = strlen(pred);
    for (size_t i = 0; i < len;) {
        if (pred[i] == '=' || pred[i] == '<' || pred[i] == '>')
            return 1;
        i = cg_xpath_skip(pred, i);
    }
    static const char *const boolean_calls[] = {"not(", "contains(", "starts-with(", "boolean(",
                                                "lang(", "true(", "false(", NULL};
    for (const char *const *f = boolean_calls; *f; f++) {
        size_t fl = strlen(*f);
        if (strncmp(pred, *f, fl) == 0 && cg_xpath_skip(pred, fl - 1) == len)
            return 1;
    }
    /* a plain relative location path is a node-set */
    for (size_t i = 0; i < len;) {
        char ch = pred[i];
        if (ch == '[') {
            i = cg_xpath_skip(pred, i);
            continue;
        }
        if (!(name_char(ch) || ch == '/' || ch == '@' || ch == '.'))
            return 0;
        if (ch == '-' && i == 0)
            return 0;
        i++;
    }
    return len > 0 && !(pred[0] >= '0' && pred[0] <= '9') && pred[0] != '.' ? 1 : 0;
}

static void
put_step(cg_buf *b, const cg_xpath_step *st, int with_preds)
{
    cg_buf_printf(b, "%s%s", st->sep, st->test);
    for (size_t q = 0; with_preds && q < st->preds.n; q++)
        cg_buf_printf(b, "[%s]", st->preds.v[q]);
}

/* The condition, seen from step k of a relative pattern, that its ancestors match steps 0..k-1:
 * parent::T[preds][parent::...] (ancestor:: where steps are joined by //). NULL when a step
 * has a positional predicate or a test that is not an element name. */
static char *
ancestor_condition(const cg_xpath_path *p, size_t k)
{
    cg_buf b;
    cg_buf_init(&b, (size_t)16 << 20);
    size_t open = 0;
    for (size_t j = k; j-- > 0;) {
        const char *t = p->steps[j].test;
        if (strncmp(t, "child::", 7) == 0)
            t += 7;
        if (!is_element_test(t))
            goto fail;
        for (size_t q = 0; q < p->steps[j].preds.n; q++)
            if (!predicate_is_boolean(p->steps[j].preds.v[q]))
                goto fail;
        const char *axis = strcmp(p->steps[j + 1].sep, "/") == 0 ? "parent" : "ancestor";
        cg_buf_printf(&b, "%s%s::%s", open ? "[" : "", axis, t);
        if (open)
            open++;
        else
            open = 1;
        for (size_t q = 0; q < p->steps[j].preds.n; q++)
            cg_buf_printf(&b, "[%s]", p->steps[j].preds.v[q]);
    }
    if (strcmp(p->steps[0].sep, "/") == 0)
        goto fail; /* absolute patterns are not analysed */
    for (size_t i = 1; i < open; i++)
        cg_buf_putc(&b, ']');
    return cg_buf_detach(&b);
fail:
    cg_buf_dispose(&b);
    return NULL;
}

/* Expressions for the nodes one pattern alternative matches: *loose selects a superset (the
 * rule's template then checks the match), *exact (or NULL) selects exactly the matched nodes. */
static void
alternative_candidates(compiler *c, const char *alt, char **loose, char **exact, char **outer,
                       char **inner)
{
    cg_xpath_path p;
    char *first = NULL;
    *loose = *exact = *outer = *inner = NULL;
    if (strncmp(alt, "id(", 3) == 0 || strncmp(alt, "key(", 4) == 0) {
        *loose = cg_xstrdup(alt);
        *exact = cg_xstrdup(alt);
        return;
    }
    if (cg_xpath_split_steps(&p, alt) != 0) {
        *loose = cg_xstrdup("/|//node()|//@*");
        return;
    }
    if (p.n == 1 && p.steps[0].test[0] == '\0') {
        cg_xpath_path_dispose(&p);
        *loose = cg_xstrdup("/");
        *exact = cg_xstrdup("/");
        return;
    }
    if (p.n == 1 && p.steps[0].preds.n == 1 && strcmp(p.steps[0].sep, "/") != 0 &&
        is_element_test(p.steps[0].test)) {
        char *e = contains_list_candidates(c, p.steps[0].sep, p.steps[0].test, p.steps[0].preds.v[0]);
        if (e) {
            *loose = cg_xstrdup(e);
            *exact = e;
            cg_xpath_path_dispose(&p);
            return;
        }
    }
    char *key = NULL;
    size_t k = p.n, implied_q = (size_t)-1;
    for (size_t s = p.n; s-- > 0 && key == NULL;) {
        if (!is_element_test(p.steps[s].test))
            continue;
        for (size_t q = 0; q < p.steps[s].preds.n && key == NULL; q++) {
            int implied = 0;
            key = keyed_predicate(c, p.steps[s].preds.v[q], &first, &implied);
            if (key && implied)
                implied_q = q;
        }
        if (key)
            k = s;
    }
    cg_buf lb, eb;
    cg_buf_init(&lb, (size_t)16 << 20);
    cg_buf_init(&eb, (size_t)16 << 20);
    if (key) {
        const char *test = p.steps[k].test;
        if (strncmp(test, "child::", 7) == 0)
            test += 7;
        int is_exact = strcmp(p.steps[0].sep, "/") != 0 || k == 0;
        for (size_t q = 0; q < p.steps[k].preds.n; q++)
            is_exact &= predicate_is_boolean(p.steps[k].preds.v[q]);
        cg_buf_printf(&lb, "(%s)[self::%s]", key, test);
        cg_buf_printf(&eb, "(%s)[self::%s]", key, test);
        for (size_t q = 0; q < p.steps[k].preds.n; q++)
            if (q != implied_q) /* the index function has already required it */
                cg_buf_printf(&eb, "[%s]", p.steps[k].preds.v[q]);
        /* the steps before the keyed one constrain its ancestors: say so as a predicate */
        char *up = NULL;
        if (k > 0 && is_exact) {
            up = ancestor_condition(&p, k);
            is_exact = up != NULL;
        } else if (k == 0 && strcmp(p.steps[0].sep, "/") == 0)
            up = cg_xstrdup("not(parent::*)");
        if (up)
            cg_buf_printf(&eb, "[%s]", up);
        for (size_t s = k + 1; s < p.n; s++) {
            put_step(&lb, &p.steps[s], 0);
            put_step(&eb, &p.steps[s], 1);
        }
        *loose = cg_buf_detach(&lb);
        *exact = is_exact ? cg_buf_detach(&eb) : NULL;
        if (is_exact && first) {
            /* Two levels, to avoid merging a large key result through the parent axis (libxml2
             * merges location-step results with a quadratic duplicate check): visit each keyed
             * child that is the first of its kind, then its parent. */
            cg_buf ib;
            cg_buf_init(&ib, (size_t)16 << 20);
            cg_buf_printf(&ib, "parent::%s", test);
            for (size_t q = 0; q < p.steps[k].preds.n; q++)
                cg_buf_printf(&ib, "[%s]", p.steps[k].preds.v[q]);
            if (up)
                cg_buf_printf(&ib, "[%s]", up);
            for (size_t s = k + 1; s < p.n; s++)
                put_step(&ib, &p.steps[s], 1);
            *outer = first;
            first = NULL;
            *inner = cg_buf_detach(&ib);
        }
        free(up);
        free(key);
    } else {
        if (p.steps[0].sep[0] == '\0')
            cg_buf_puts(&lb, "//");
        for (size_t s = 0; s < p.n; s++)
            put_step(&lb, &p.steps[s], 0);
        *loose = cg_buf_detach(&lb);
        *exact = alt[0] == '/' ? cg_xstrdup(alt) : cg_xasprintf("//%s", alt);
    }
    free(first);
    cg_buf_dispose(&lb);
    cg_buf_dispose(&eb);
    cg_xpath_path_dispose(&p);
}

/* ---- rules -------------------------------------------------------------------------------- */

static xmlNodePtr
find_by_id(compiler *c, xmlNodePtr from, const char *elem, const char *id, int abstract_rule)
{
    for (xmlNodePtr n = from; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (is_sch(n, elem)) {
            char *nid = attr(n, "id");
            char *abs = abstract_rule ? attr(n, "abstract") : NULL;
            int hit = nid && strcmp(nid, id) == 0 && (!abstract_rule || (abs && !strcmp(abs, "true")));
            free(nid);
            free(abs);
            if (hit)
                return n;
        }
        xmlNodePtr r = find_by_id(c, n->children, elem, id, abstract_rule);
        if (r)
            return r;
    }
    return NULL;
}

static void emit_message(compiler *c, cg_buf *b, xmlNodePtr parent);

static void
emit_message_node(compiler *c, cg_buf *b, xmlNodePtr n)
{
    if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
        put_esc(b, (const char *)n->content, 0, 0);
        return;
    }
    if (n->type != XML_ELEMENT_NODE)
        return;
    if (is_sch(n, "value-of")) {
        char *sel = attr(n, "select");
        if (sel == NULL) {
            fail(c, CG_EINVAL, n, "sch:value-of without select");
            return;
        }
        char *rw = rewrite_expr(c, n, sel);
        check_xpath(c, n, rw);
        cg_buf_puts(b, "<xsl:value-of");
        put_attr(b, "select", rw);
        cg_buf_puts(b, "/>");
        free(rw);
        free(sel);
    } else if (is_sch(n, "name")) {
        char *path = attr(n, "path");
        char *sel = cg_xasprintf("name(%s)", path ? path : ".");
        check_xpath(c, n, sel);
        cg_buf_puts(b, "<xsl:value-of");
        put_attr(b, "select", sel);
        cg_buf_puts(b, "/>");
        free(sel);
        free(path);
    } else
        emit_message(c, b, n); /* emph, dir, span, foreign markup: their text */
}

static void
emit_message(compiler *c, cg_buf *b, xmlNodePtr parent)
{
    for (xmlNodePtr n = parent->children; n; n = n->next)
        emit_message_node(c, b, n);
}

static const char *
severity_word(const char *role)
{
    static const char *const known[][2] = {{"fatal", "error"}, {"error", "error"},
                                           {"warning", "warning"}, {"warn", "warning"},
                                           {"info", "info"}, {"information", "info"}};
    if (role == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(role, known[i][0]) == 0)
            return known[i][1];
    return NULL;
}

static void
emit_check(compiler *c, cg_buf *b, xmlNodePtr n, const char *pattern_severity)
{
    int is_assert = is_sch(n, "assert");
    char *test = attr(n, "test");
    if (test == NULL) {
        fail(c, CG_EINVAL, n, "sch:%s without test", is_assert ? "assert" : "report");
        return;
    }
    char *rw = rewrite_expr(c, n, test);
    check_xpath(c, n, rw);
    char *id = attr(n, "id"), *role = attr(n, "role"), *flag = attr(n, "flag");
    const char *sev = severity_word(role);
    if (sev == NULL)
        sev = pattern_severity;
    cg_buf_puts(b, "<xsl:if");
    if (is_assert) {
        char *neg = cg_xasprintf("not(%s)", rw);
        put_attr(b, "test", neg);
        free(neg);
    } else
        put_attr(b, "test", rw);
    cg_buf_printf(b, "><svrl:%s", is_assert ? "failed-assert" : "successful-report");
    put_lit_attr(b, "test", test);
    if (id)
        put_lit_attr(b, "id", id);
    else if (c->pattern_id)
        put_lit_attr(b, "cg:pattern", c->pattern_id); /* names an assert that has no id */
    if (role)
        put_lit_attr(b, "role", role);
    if (flag)
        put_lit_attr(b, "flag", flag);
    put_lit_attr(b, "cg:severity", sev);
    cg_buf_puts(b, c->opt->portable ? LOCATION_PORTABLE : LOCATION_NATIVE);
    cg_buf_puts(b, "<svrl:text>");
    emit_message(c, b, n);
    cg_buf_puts(b, "</svrl:text>");
    char *diags = attr(n, "diagnostics");
    if (diags) {
        char *save = NULL;
        for (char *d = strtok_r(diags, " \t\n", &save); d; d = strtok_r(NULL, " \t\n", &save)) {
            xmlNodePtr dn = find_by_id(c, c->root->children, "diagnostic", d, 0);
            if (dn == NULL) {
                fail(c, CG_EINVAL, n, "unknown diagnostic '%s'", d ? d : "");
                continue;
            }
            cg_buf_puts(b, "<svrl:diagnostic-reference");
            put_lit_attr(b, "diagnostic", d);
            cg_buf_puts(b, ">");
            emit_message(c, b, dn);
            cg_buf_puts(b, "</svrl:diagnostic-reference>");
        }
        free(diags);
    }
    cg_buf_printf(b, "</svrl:%s></xsl:if>\n", is_assert ? "failed-assert" : "successful-report");
    if (is_assert)
        c->stats->asserts++;
    else
        c->stats->reports++;
    free(rw);
    free(test);
    free(id);
    free(role);
    free(flag);
}

static void
emit_let(compiler *c, cg_buf *b, xmlNodePtr n)
{
    char *name = attr(n, "name"), *value = attr(n, "value");
    if (name == NULL || value == NULL) {
        fail(c, CG_EINVAL, n, "sch:let needs name and value attributes");
    } else {
        char *rw = rewrite_expr(c, n, value);
        check_xpath(c, n, rw);
        cg_buf_puts(b, "<xsl:variable");
        put_attr(b, "name", name);
        put_attr(b, "select", rw);
        cg_buf_puts(b, "/>\n");
        free(rw);
    }
    free(name);
    free(value);
}

static void
emit_rule_body(compiler *c, cg_buf *b, xmlNodePtr rule, const char *severity, int depth)
{
    if (depth > 32) {
        fail(c, CG_EINVAL, rule, "sch:extends nests deeper than 32 rules (a cycle?)");
        return;
    }
    for (xmlNodePtr n = rule->children; n; n = n->next) {
        if (is_sch(n, "let"))
            emit_let(c, b, n);
        else if (is_sch(n, "assert") || is_sch(n, "report"))
            emit_check(c, b, n, severity);
        else if (is_sch(n, "extends")) {
            char *ref = attr(n, "rule");
            xmlNodePtr abs = ref ? find_by_id(c, c->root->children, "rule", ref, 1) : NULL;
            if (abs == NULL)
                fail(c, CG_EINVAL, n, "sch:extends names no abstract rule '%s'", ref ? ref : "");
            else
                emit_rule_body(c, b, abs, severity, depth + 1);
            free(ref);
        }
    }
}

static void
pattern_phases(compiler *c, const char *pid, cg_buf *test, const char **severity)
{
    *severity = NULL;
    cg_buf_puts(test, "$phase='#ALL'");
    for (xmlNodePtr ph = c->root->children; ph; ph = ph->next) {
        if (!is_sch(ph, "phase"))
            continue;
        char *phid = attr(ph, "id");
        int active = 0;
        for (xmlNodePtr a = ph->children; a && phid; a = a->next) {
            if (!is_sch(a, "active"))
                continue;
            char *p = attr(a, "pattern");
            active = p && strcmp(p, pid) == 0;
            free(p);
            if (active)
                break;
        }
        if (active) {
            cg_buf_printf(test, " or $phase='%s'", phid);
            for (const char *const *m = c->opt->phase_severity; m && m[0] && m[1]; m += 2)
                if (*severity == NULL && strcmp(m[0], phid) == 0)
                    *severity = m[1];
        }
        free(phid);
    }
    if (*severity == NULL)
        *severity = "error";
}

static int
is_concrete_rule(xmlNodePtr r)
{
    if (!is_sch(r, "rule"))
        return 0;
    char *rabs = attr(r, "abstract");
    int concrete = rabs == NULL || strcmp(rabs, "true") != 0;
    free(rabs);
    return concrete;
}

/* One alternative of a rule context, as the compiler will visit it. */
typedef struct alt_info {
    char *exact;        /* selects exactly the matched nodes, or NULL */
    char *outer, *inner; /* the two-level form of exact, or NULL */
    cg_strv chain;      /* local names of the node, its parent, ... as far as they are known */
    int chain_ok;
} alt_info;

typedef struct rule_info {
    xmlNodePtr node;
    char *ctx;
    alt_info *alts;
    size_t nalts;
    int all_exact;
} rule_info;

/* The names an alternative requires of the node and its nearest ancestors: the last step's
 * local name, then its parent's while the steps are joined by '/', and so on. */
static int
alternative_chain(const char *alt, cg_strv *out)
{
    cg_xpath_path p;
    if (cg_xpath_split_steps(&p, alt) != 0 || p.n == 0)
        return -1;
    int rc = 0;
    for (size_t i = p.n; i-- > 0;) {
        const char *t = p.steps[i].test;
        if (strncmp(t, "child::", 7) == 0)
            t += 7;
        if (!cg_xpath_is_qname(t)) {
            rc = out->n ? 0 : -1;
            break;
        }
        const char *colon = strchr(t, ':');
        /* the local name, then the step's @attr='literal' requirements: "name\001a=v\001..." */
        cg_buf e;
        cg_buf_init(&e, (size_t)1 << 20);
        cg_buf_puts(&e, colon ? colon + 1 : t);
        for (size_t q = 0; q < p.steps[i].preds.n; q++) {
            cg_strv conj = {0}, disj = {0};
            cg_xpath_split_word(&disj, p.steps[i].preds.v[q], "or");
            size_t ndisj = disj.n;
            cg_strv_dispose(&disj);
            if (ndisj > 1)
                continue; /* 'or' binds looser than 'and': no requirement to read off */
            cg_xpath_split_word(&conj, p.steps[i].preds.v[q], "and");
            for (size_t m = 0; m < conj.n; m++) {
                char *an = NULL, *lit = NULL;
                if (attr_equals_literal(conj.v[m], &an, &lit))
                    cg_buf_printf(&e, "\001%s=%s", an, lit);
                free(an);
                free(lit);
            }
            cg_strv_dispose(&conj);
        }
        cg_strv_push(out, cg_buf_detach(&e));
        if (strcmp(p.steps[i].sep, "/") != 0)
            break;
    }
    cg_xpath_path_dispose(&p);
    return rc;
}

/* Can two alternatives never match the same node? True when at some depth both require an
 * element and the names differ. */
static int
steps_exclusive(const char *x, const char *y)
{
    size_t xn = strcspn(x, "\001"), yn = strcspn(y, "\001");
    if (xn != yn || strncmp(x, y, xn) != 0)
        return 1; /* different names */
    /* the same attribute required to have two different values */
    for (const char *a = strchr(x, '\001'); a; a = strchr(a + 1, '\001')) {
        const char *eq = strchr(a + 1, '=');
        size_t alen = (size_t)(eq - a - 1), vlen = strcspn(eq + 1, "\001");
        for (const char *b = strchr(y, '\001'); b; b = strchr(b + 1, '\001')) {
            const char *eq2 = strchr(b + 1, '=');
            if ((size_t)(eq2 - b - 1) == alen && strncmp(a + 1, b + 1, alen) == 0 &&
                (strcspn(eq2 + 1, "\001") != vlen || strncmp(eq + 1, eq2 + 1, vlen) != 0))
                return 1;
        }
    }
    return 0;
}

static int
alternatives_disjoint(const alt_info *a, const alt_info *b)
{
    if (!a->chain_ok || !b->chain_ok)
        return 0;
    for (size_t i = 0; i < a->chain.n && i < b->chain.n; i++)
        if (steps_exclusive(a->chain.v[i], b->chain.v[i]))
            return 1;
    return 0;
}

/* Analyses one rule context: per alternative its exact and two-level forms and its name chain;
 * the loose (superset) candidates are appended to `loose` for template-driven patterns. */
static void
rule_candidates(compiler *c, rule_info *ri, cg_buf *loose)
{
    cg_strv alts = {0};
    int any_scan = 0;
    cg_xpath_split_char(&alts, ri->ctx, '|');
    ri->alts = cg_xcalloc(alts.n ? alts.n : 1, sizeof *ri->alts);
    ri->nalts = alts.n;
    ri->all_exact = 1;
    for (size_t a = 0; a < alts.n; a++) {
        alt_info *ai = &ri->alts[a];
        char *l = NULL;
        alternative_candidates(c, alts.v[a], &l, &ai->exact, &ai->outer, &ai->inner);
        if (loose->len)
            cg_buf_puts(loose, " | ");
        cg_buf_puts(loose, l);
        any_scan |= strncmp(l, "(key(", 5) != 0 && strncmp(l, "key(", 4) != 0 &&
                    strncmp(l, "(cg:", 4) != 0 && strncmp(l, "cg:", 3) != 0;
        ri->all_exact &= ai->exact != NULL;
        ai->chain_ok = alternative_chain(alts.v[a], &ai->chain) == 0;
        free(l);
    }
    cg_strv_dispose(&alts);
    if (any_scan)
        c->stats->scanned_rules++;
    else
        c->stats->keyed_rules++;
}

static void
rule_info_dispose(rule_info *ri)
{
    for (size_t a = 0; a < ri->nalts; a++) {
        free(ri->alts[a].exact);
        free(ri->alts[a].outer);
        free(ri->alts[a].inner);
        cg_strv_dispose(&ri->alts[a].chain);
    }
    free(ri->alts);
    free(ri->ctx);
}

/* Are all alternatives of rules i < j (or of one rule, i == j) pairwise disjoint? */
static int
rules_disjoint(const rule_info *x, const rule_info *y)
{
    for (size_t a = 0; a < x->nalts; a++)
        for (size_t b = (x == y ? a + 1 : 0); b < y->nalts; b++)
            if (!alternatives_disjoint(&x->alts[a], &y->alts[b]))
                return 0;
    return 1;
}

static void
emit_for_each(compiler *c, xmlNodePtr rule, const char *select, const char *inner,
              const char *severity)
{
    check_xpath(c, rule, select);
    cg_buf_puts(c->current, "<xsl:for-each");
    put_attr(c->current, "select", select);
    cg_buf_puts(c->current, ">");
    if (inner) {
        check_xpath(c, rule, inner);
        cg_buf_puts(c->current, "<xsl:for-each");
        put_attr(c->current, "select", inner);
        cg_buf_puts(c->current, ">");
    }
    cg_buf_puts(c->current, "\n");
    emit_rule_body(c, c->current, rule, severity, 0);
    if (inner)
        cg_buf_puts(c->current, "</xsl:for-each>");
    cg_buf_puts(c->current, "</xsl:for-each>");
}

static void
emit_pattern(compiler *c, xmlNodePtr pat, unsigned mode)
{
    char *pid = attr(pat, "id");
    char *abs = attr(pat, "abstract");
    char *isa = attr(pat, "is-a");
    rule_info *rules = NULL;
    size_t nrules = 0, rcap = 0;
    cg_buf test, cand;
    cg_buf_init(&test, (size_t)1 << 20);
    cg_buf_init(&cand, (size_t)16 << 20);
    if ((abs && strcmp(abs, "true") == 0) || isa) {
        fail(c, CG_EINVAL, pat, "abstract patterns (pattern '%s') are not supported", pid ? pid : "");
        goto done;
    }
    if (pid == NULL)
        pid = cg_xasprintf("pattern-%u", mode);
    const char *severity;
    pattern_phases(c, pid, &test, &severity);

    int direct = !c->opt->naive;
    for (xmlNodePtr r = pat->children; r; r = r->next) {
        if (!is_concrete_rule(r))
            continue;
        char *ctx = attr(r, "context");
        if (ctx == NULL) {
            fail(c, CG_EINVAL, r, "sch:rule without context");
            continue;
        }
        check_xpath(c, r, ctx);
        c->stats->rules++;
        rules = cg_xgrow(rules, &rcap, nrules + 1, sizeof *rules);
        rule_info *ri = &rules[nrules++];
        memset(ri, 0, sizeof *ri);
        ri->node = r;
        ri->ctx = ctx;
        if (!c->opt->naive)
            rule_candidates(c, ri, &cand);
        direct &= ri->all_exact;
    }
    /* Direct: each rule visits exactly its own nodes with xsl:for-each, no template matching.
     * Allowed when first-match order cannot matter: one rule, or rules that can never match the
     * same node. Otherwise templates in this pattern's mode, priorities in rule order. */
    for (size_t i = 0; direct && i < nrules; i++)
        for (size_t j = i + 1; direct && j < nrules; j++)
            direct = rules_disjoint(&rules[i], &rules[j]);
    direct &= nrules > 0;

    /* Patterns active in the same phases share one test of $phase (see cg_sch_compile). */
    size_t g = 0;
    while (g < c->group_test.n && strcmp(c->group_test.v[g], test.data) != 0)
        g++;
    if (g == c->group_test.n) {
        size_t cap = c->group_cap;
        cg_strv_push(&c->group_test, cg_xstrdup(test.data));
        c->group_body = cg_xgrow(c->group_body, &c->group_cap, g + 1, sizeof *c->group_body);
        c->group_active = cg_xgrow(c->group_active, &cap, g + 1, sizeof *c->group_active);
        cg_buf_init(&c->group_body[g], (size_t)256 << 20);
        cg_buf_init(&c->group_active[g], (size_t)64 << 20);
    }
    c->current = &c->group_body[g];
    c->pattern_id = pid;
    /* listed together at the head of the group, and only when SVRL is wanted ($cg-svrl):
     * 433 result elements per document are not free */
    cg_buf_puts(&c->group_active[g], "<svrl:active-pattern");
    put_lit_attr(&c->group_active[g], "id", pid);
    cg_buf_puts(&c->group_active[g], "/>");
    for (size_t i = 0; i < nrules; i++) {
        rule_info *ri = &rules[i];
        if (direct && rules_disjoint(ri, ri)) {
            /* alternatives that never meet are visited one by one */
            for (size_t a = 0; a < ri->nalts; a++) {
                alt_info *ai = &ri->alts[a];
                if (ai->outer && ai->inner)
                    emit_for_each(c, ri->node, ai->outer, ai->inner, severity);
                else
                    emit_for_each(c, ri->node, ai->exact, NULL, severity);
            }
            continue;
        }
        if (direct) {
            cg_buf u;
            cg_buf_init(&u, (size_t)64 << 20);
            for (size_t a = 0; a < ri->nalts; a++)
                cg_buf_printf(&u, "%s%s", a ? " | " : "", ri->alts[a].exact);
            emit_for_each(c, ri->node, u.data, NULL, severity);
            cg_buf_dispose(&u);
            continue;
        }
        cg_buf_puts(&c->rules, "<xsl:template");
        put_attr(&c->rules, "match", ri->ctx);
        cg_buf_printf(&c->rules, " priority=\"%zu\" mode=\"M%u\">\n", 1000 + nrules - i, mode);
        emit_rule_body(c, &c->rules, ri->node, severity, 0);
        if (c->opt->naive)
            cg_buf_printf(&c->rules, "<xsl:apply-templates select=\"@*|*\" mode=\"M%u\"/>\n", mode);
        cg_buf_puts(&c->rules, "</xsl:template>\n");
    }
    if (!direct) {
        if (c->opt->naive)
            cg_buf_printf(&c->rules,
                          "<xsl:template match=\"*\" mode=\"M%u\" priority=\"-1000\">"
                          "<xsl:apply-templates select=\"@*|*\" mode=\"M%u\"/></xsl:template>\n"
                          "<xsl:template match=\"@*|text()|comment()|processing-instruction()\" "
                          "mode=\"M%u\" priority=\"-1000\"/>\n",
                          mode, mode, mode);
        else
            cg_buf_printf(&c->rules,
                          "<xsl:template match=\"/|@*|node()\" mode=\"M%u\" priority=\"-1000\"/>\n",
                          mode);
        if (c->opt->naive)
            cg_buf_printf(c->current, "<xsl:apply-templates select=\"/\" mode=\"M%u\"/>", mode);
        else if (cand.len) {
            /* exact candidates where every rule has them: fewer nodes to match templates on */
            int all_exact = 1;
            for (size_t i = 0; i < nrules; i++)
                all_exact &= rules[i].all_exact;
            if (all_exact) {
                cg_buf_reset(&cand);
                for (size_t i = 0; i < nrules; i++)
                    for (size_t a = 0; a < rules[i].nalts; a++)
                        cg_buf_printf(&cand, "%s%s", cand.len ? " | " : "", rules[i].alts[a].exact);
            }
            check_xpath(c, pat, cand.data);
            cg_buf_puts(c->current, "<xsl:apply-templates");
            put_attr(c->current, "select", cand.data);
            cg_buf_printf(c->current, " mode=\"M%u\"/>", mode);
        }
    }
    cg_buf_puts(c->current, "\n");
    c->current = NULL;
    c->pattern_id = NULL;
    c->stats->patterns++;
done:
    for (size_t i = 0; i < nrules; i++)
        rule_info_dispose(&rules[i]);
    free(rules);
    cg_buf_dispose(&test);
    cg_buf_dispose(&cand);
    free(pid);
    free(abs);
    free(isa);
}

static const char location_template[] =
    "<xsl:template name=\"cg-location\">"
    "<xsl:for-each select=\"ancestor-or-self::*\">"
    "<xsl:text>/</xsl:text><xsl:value-of select=\"local-name()\"/><xsl:text>[</xsl:text>"
    "<xsl:value-of select=\"1 + count(preceding-sibling::*[local-name() = local-name(current())])\"/>"
    "<xsl:text>]</xsl:text></xsl:for-each>"
    "<xsl:choose><xsl:when test=\"count(. | ../@*) = count(../@*)\">"
    "<xsl:text>/@</xsl:text><xsl:value-of select=\"local-name()\"/></xsl:when>"
    "<xsl:when test=\"not(ancestor-or-self::*)\"><xsl:text>/</xsl:text></xsl:when></xsl:choose>"
    "</xsl:template>\n";

static size_t
count_in(const cg_buf *b, const char *needle)
{
    size_t n = 0, nl = strlen(needle);
    for (const char *p = b->data; p && (p = strstr(p, needle)) != NULL; p += nl)
        n++;
    return n;
}

/* How often "prefix:" occurs in the generated expressions (a ranking, not an exact count). */
static size_t
count_prefix_uses(const compiler *c, const char *prefix)
{
    char *needle = cg_xasprintf("%s:", prefix);
    size_t n = count_in(&c->head, needle) + count_in(&c->rules, needle);
    for (size_t g = 0; g < c->group_test.n; g++)
        n += count_in(&c->group_body[g], needle);
    free(needle);
    return n;
}

static const char *const reserved_prefixes[] = {"xsl", "svrl", "exsl", "cg", NULL};

int
cg_sch_compile(cg_buf *out, xmlDocPtr sch, const cg_sch_options *opt, cg_sch_stats *stats,
               cg_err *err)
{
    compiler c;
    cg_sch_stats local_stats;
    memset(&c, 0, sizeof c);
    memset(&local_stats, 0, sizeof local_stats);
    c.opt = opt;
    c.stats = stats ? stats : &local_stats;
    memset(c.stats, 0, sizeof *c.stats);
    c.err = err;
    c.sch = sch;
    c.root = xmlDocGetRootElement(sch);
    cg_buf_init(&c.head, (size_t)64 << 20);
    cg_buf_init(&c.rules, (size_t)256 << 20);
    if (!is_sch(c.root, "schema")) {
        fail(&c, CG_EINVAL, c.root, "the root element is not an ISO Schematron sch:schema");
        goto done;
    }
    char *qb = attr(c.root, "queryBinding");
    if (qb && strcmp(qb, "xslt") != 0 && strcmp(qb, "xslt1") != 0 && strcmp(qb, "xpath") != 0) {
        fail(&c, CG_EINVAL, c.root, "queryBinding '%s' is not supported (XSLT 1.0 only)", qb ? qb : "");
        free(qb);
        goto done;
    }
    free(qb);
    for (xmlNodePtr n = c.root->children; n; n = n->next) {
        if (is_sch(n, "include")) {
            fail(&c, CG_EINVAL, n, "sch:include is not supported: give the profile one file");
            goto done;
        }
        if (!is_sch(n, "ns"))
            continue;
        char *p = attr(n, "prefix"), *u = attr(n, "uri");
        if (p == NULL || u == NULL) {
            fail(&c, CG_EINVAL, n, "sch:ns needs prefix and uri");
            free(p);
            free(u);
            goto done;
        }
        for (const char *const *r = reserved_prefixes; *r; r++)
            if (strcmp(p, *r) == 0)
                fail(&c, CG_EINVAL, n, "namespace prefix '%s' is reserved by the compiler", p ? p : "");
        cg_strv_push(&c.ns_prefix, p);
        cg_strv_push(&c.ns_uri, u);
    }
    if (c.rc != CG_OK)
        goto done;

    char *default_phase = attr(c.root, "defaultPhase");
    /* Schema-, phase- and pattern-level lets are evaluated once per document with the root as
     * context: global variables. Their names must then be unique. */
    cg_strv global_lets = {0};
    for (xmlNodePtr n = c.root->children; n; n = n->next) {
        xmlNodePtr lets = is_sch(n, "let") ? n : (is_sch(n, "phase") || is_sch(n, "pattern")) ? n->children : NULL;
        for (xmlNodePtr l = lets; l; l = l == n ? NULL : l->next) {
            if (!is_sch(l, "let"))
                continue;
            char *name = attr(l, "name");
            for (size_t i = 0; name && i < global_lets.n; i++)
                if (strcmp(global_lets.v[i], name) == 0)
                    fail(&c, CG_EINVAL, l, "let '%s' is declared twice at schema, phase or pattern level", name);
            if (name && strcmp(name, "phase") == 0)
                fail(&c, CG_EINVAL, l, "let 'phase' would hide the phase parameter");
            if (name)
                cg_strv_push(&global_lets, name);
            emit_let(&c, &c.head, l);
        }
    }
    cg_strv_dispose(&global_lets);
    unsigned mode = 0;
    for (xmlNodePtr n = c.root->children; n && c.rc == CG_OK; n = n->next)
        if (is_sch(n, "pattern"))
            emit_pattern(&c, n, ++mode);
    if (c.rc != CG_OK) {
        free(default_phase);
        goto done;
    }

    cg_buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    cg_buf_puts(out, "<!-- Generated by the cdagate Schematron compiler (" CG_SCH_COMPILER_VERSION
                     "). Do not edit. -->\n");
    /* libxml2 resolves a prefix in XPath by a linear search of the in-scope declarations, in
     * document order: declare the schema's namespaces first, the most used first. */
    size_t *order = cg_xcalloc(c.ns_prefix.n + 1, sizeof *order);
    size_t *uses = cg_xcalloc(c.ns_prefix.n + 1, sizeof *uses);
    for (size_t i = 0; i < c.ns_prefix.n; i++) {
        order[i] = i;
        uses[i] = count_prefix_uses(&c, c.ns_prefix.v[i]);
    }
    for (size_t i = 1; i < c.ns_prefix.n; i++)
        for (size_t j = i; j > 0 && uses[order[j]] > uses[order[j - 1]]; j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    cg_buf_puts(out, "<xsl:stylesheet version=\"1.0\"");
    for (size_t i = 0; i < c.ns_prefix.n; i++) {
        char *decl = cg_xasprintf("xmlns:%s", c.ns_prefix.v[order[i]]);
        put_attr(out, decl, c.ns_uri.v[order[i]]);
        free(decl);
    }
    free(order);
    free(uses);
    cg_buf_puts(out, " xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\""
                     " xmlns:svrl=\"" CG_SVRL_NS "\""
                     " xmlns:exsl=\"http://exslt.org/common\""
                     " xmlns:cg=\"" CG_SVRL_EXT_NS "\"");
    cg_buf_puts(out, " extension-element-prefixes=\"exsl\" exclude-result-prefixes=\"exsl");
    for (size_t i = 0; i < c.ns_prefix.n; i++)
        cg_buf_printf(out, " %s", c.ns_prefix.v[i]);
    cg_buf_puts(out, "\">\n<xsl:output method=\"xml\" encoding=\"UTF-8\" indent=\"no\"/>\n");
    cg_buf_puts(out, "<xsl:param name=\"cg-svrl\" select=\"true()\"/>\n");
    cg_buf_puts(out, "<xsl:param name=\"phase\"");
    char *ph = cg_xasprintf("'%s'", default_phase ? default_phase : "#ALL");
    put_attr(out, "select", ph);
    free(ph);
    free(default_phase);
    cg_buf_puts(out, "/>\n");
    cg_buf_append(out, c.head.data ? c.head.data : "", c.head.len);
    cg_buf_puts(out, location_template);
    cg_buf_puts(out, "<xsl:template match=\"/\"><svrl:schematron-output");
    char *title = NULL;
    for (xmlNodePtr n = c.root->children; n; n = n->next)
        if (is_sch(n, "title")) {
            xmlChar *t = xmlNodeGetContent(n);
            title = cg_xstrdup(t ? (const char *)t : "");
            xmlFree(t);
            break;
        }
    if (title)
        put_lit_attr(out, "title", title);
    free(title);
    cg_buf_puts(out, "><xsl:attribute name=\"phase\"><xsl:value-of select=\"$phase\"/>"
                     "</xsl:attribute>\n");
    /* an unknown phase is an error, not a silent "no findings" */
    cg_buf known;
    cg_buf_init(&known, (size_t)1 << 20);
    cg_buf_puts(&known, "not($phase='#ALL'");
    for (xmlNodePtr n = c.root->children; n; n = n->next)
        if (is_sch(n, "phase")) {
            char *id = attr(n, "id");
            if (id && strchr(id, '\'') == NULL)
                cg_buf_printf(&known, " or $phase='%s'", id);
            free(id);
        }
    cg_buf_puts(&known, ")");
    cg_buf_puts(out, "<xsl:if");
    put_attr(out, "test", known.data);
    cg_buf_puts(out, "><xsl:message terminate=\"yes\">unknown Schematron phase '<xsl:value-of "
                     "select=\"$phase\"/>'</xsl:message></xsl:if>\n");
    cg_buf_dispose(&known);
    for (size_t i = 0; i < c.ns_prefix.n; i++) {
        cg_buf_puts(out, "<svrl:ns-prefix-in-attribute-values");
        put_lit_attr(out, "prefix", c.ns_prefix.v[i]);
        put_lit_attr(out, "uri", c.ns_uri.v[i]);
        cg_buf_puts(out, "/>");
    }
    cg_buf_puts(out, "\n");
    for (size_t g = 0; g < c.group_test.n; g++) {
        cg_buf_puts(out, "<xsl:if");
        put_attr(out, "test", c.group_test.v[g]);
        cg_buf_puts(out, "><xsl:if test=\"$cg-svrl\">");
        cg_buf_append(out, c.group_active[g].data ? c.group_active[g].data : "", c.group_active[g].len);
        cg_buf_puts(out, "</xsl:if>\n");
        cg_buf_append(out, c.group_body[g].data ? c.group_body[g].data : "", c.group_body[g].len);
        cg_buf_puts(out, "</xsl:if>\n");
    }
    cg_buf_puts(out, "</svrl:schematron-output></xsl:template>\n");
    cg_buf_append(out, c.rules.data ? c.rules.data : "", c.rules.len);
    if (cg_buf_puts(out, "</xsl:stylesheet>\n") != CG_OK)
        fail(&c, CG_ETOOBIG, NULL, "the compiled stylesheet exceeds its size limit");
done:
    for (size_t i = 0; i < c.ndocs; i++) {
        free(c.docs[i].href);
        xmlFreeDoc(c.docs[i].doc);
    }
    free(c.docs);
    cg_strv_dispose(&c.ns_prefix);
    cg_strv_dispose(&c.ns_uri);
    cg_strv_dispose(&c.key_sig);
    cg_strv_dispose(&c.inline_sig);
    for (size_t g = 0; g < c.group_test.n; g++) {
        cg_buf_dispose(&c.group_body[g]);
        cg_buf_dispose(&c.group_active[g]);
    }
    free(c.group_body);
    free(c.group_active);
    cg_strv_dispose(&c.group_test);
    cg_buf_dispose(&c.head);
    cg_buf_dispose(&c.rules);
    return c.rc;
}
