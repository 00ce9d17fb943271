/* view: documents for people over HTTP (see view.h). */
#define _POSIX_C_SOURCE 200809L
#include "svc/view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"
#include "util/base64.h"
#include "util/id.h"
#include "xml/parse.h"

#define VIEW_SECURITY_HEADERS                                                                      \
    "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n"                          \
    "Cache-Control: no-store\r\nX-Frame-Options: DENY"

char *cg_view_url_decode(cg_pool *pool, const char *src, size_t n, size_t max)
{
    char *out = cg_pool_alloc(pool, n + 1);
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '%') {
            int hi = i + 1 < n ? cg_hex_value(src[i + 1]) : -1;
            int lo = i + 2 < n ? cg_hex_value(src[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return NULL;
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        }
        if (c < 0x20 || c == 0x7f)
            return NULL;
        out[len++] = (char)c;
        if (len > max)
            return NULL;
    }
    out[len] = '\0';
    return out;
}

/* Appends text with &, <, >, " and ' escaped. */
static void put_escaped(cg_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': cg_buf_puts(b, "&amp;"); break;
        case '<': cg_buf_puts(b, "&lt;"); break;
        case '>': cg_buf_puts(b, "&gt;"); break;
        case '"': cg_buf_puts(b, "&quot;"); break;
        case '\'': cg_buf_puts(b, "&#39;"); break;
        default: cg_buf_putc(b, *s);
        }
    }
}

/* A random nonce for the page's inline <style>: 32 hex digits. */
static const char *new_nonce(cg_pool *pool)
{
    char urn[CG_UUID_URN_LEN + 1];
    char hex[33];
    size_t n = 0;
    cg_id_uuid_urn(urn);
    for (const char *p = urn + strlen("urn:uuid:"); *p && n < 32; p++)
        if (*p != '-')
            hex[n++] = *p;
    hex[n] = '\0';
    return cg_pool_strdup(pool, hex);
}

static void answer_buf(cg_http_answer *out, cg_pool *pool, int status, const char *type,
                       cg_buf *b, const char *headers)
{
    unsigned char *data = cg_pool_alloc(pool, b->len + 1);
    memcpy(data, b->data ? b->data : "", b->len);
    out->status = status;
    out->content_type = type;
    out->data = data;
    out->len = b->len;
    out->headers = headers;
}

/* A small page of our own (errors): escaped text, styled under a nonce. */
static void answer_page(cg_http_answer *out, cg_pool *pool, int status, const char *title,
                        const char *text)
{
    const char *nonce = new_nonce(pool);
    cg_buf b;
    cg_buf_init(&b, (size_t)64 << 10);
    cg_buf_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
    put_escaped(&b, title);
    cg_buf_printf(&b,
                  "</title><style nonce=\"%s\">body{font:15px/1.45 system-ui,sans-serif;"
                  "max-width:50em;margin:2em auto;padding:0 1em}</style></head><body><h1>",
                  nonce);
    put_escaped(&b, title);
    cg_buf_puts(&b, "</h1><p>");
    put_escaped(&b, text);
    cg_buf_puts(&b, "</p></body></html>\n");
    answer_buf(out, pool, status, "text/html; charset=utf-8", &b,
               cg_pool_printf(pool,
                              "Content-Security-Policy: default-src 'none'; style-src 'nonce-%s'; "
                              "base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n"
                              VIEW_SECURITY_HEADERS,
                              nonce));
    cg_buf_dispose(&b);
}

/* A media type as stored, if it has the shape type/subtype[;params] in safe characters. */
static const char *safe_media_type(const char *m)
{
    static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                             "!#$&^_.+-/;= \"";
    if (m == NULL || *m == '\0' || strlen(m) > 200 || strspn(m, ok) != strlen(m) ||
        !strchr(m, '/'))
        return "application/octet-stream";
    return m;
}

static int is_xml_type(const char *m)
{
    size_t n = strcspn(m, ";");
    while (n > 0 && m[n - 1] == ' ')
        n--;
    return (n == 8 && strncasecmp(m, "text/xml", 8) == 0) ||
           (n == 15 && strncasecmp(m, "application/xml", 15) == 0) ||
           (n > 4 && strncasecmp(m + n - 4, "+xml", 4) == 0);
}

static const char *extension_of(const char *m)
{
    if (is_xml_type(m))
        return "xml";
    if (strncasecmp(m, "application/pdf", 15) == 0)
        return "pdf";
    if (strncasecmp(m, "text/plain", 10) == 0)
        return "txt";
    return "bin";
}

/* The uniqueId in a file name: characters outside [A-Za-z0-9.-_] become '_'. */
static const char *file_name(cg_pool *pool, const char *id, const char *ext)
{
    char *f = cg_pool_printf(pool, "%s.%s", id, ext);
    for (char *p = f; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == '_'))
            *p = '_';
    return f;
}

/* "lang=fr&mask-ids=1": the two options a view takes; others are ignored. */
static void view_options(cg_render_options *opt, cg_pool *pool, const char *query)
{
    const char *p = query;
    while (p && *p) {
        size_t n = strcspn(p, "&");
        if (n > 5 && strncmp(p, "lang=", 5) == 0 && n - 5 <= 8) {
            char *v = cg_pool_strndup(pool, p + 5, n - 5);
            if (strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") == strlen(v))
                opt->lang = v;
        } else if (n == 10 && strncmp(p, "mask-ids=1", 10) == 0) {
            opt->mask_ids = 1;
        }
        p += n;
        if (*p == '&')
            p++;
    }
}

int cg_svc_documents(void *ctx, const cg_request *req, const char *rest, const char *query,
                     cg_http_answer *out)
{
    const cg_view *v = ctx;
    cg_pool *pool = req->pool;
    size_t n = strlen(rest);
    int view = 0;
    cg_audit_set_transaction(req->audit, CG_AUDIT_DOCUMENT_VIEW);
    if (n > 5 && strcmp(rest + n - 5, "/view") == 0) {
        view = 1;
        n -= 5;
    }
    char *id = n > 0 && n <= CG_VIEW_MAX_UNIQUE_ID * 3
                   ? cg_view_url_decode(pool, rest, n, CG_VIEW_MAX_UNIQUE_ID)
                   : NULL;
    if (id == NULL || *id == '\0' || strchr(id, '/')) {
        answer_page(out, pool, 400, "Bad document address",
                    "The address does not hold a document uniqueId (at most 128 characters, "
                    "%-encoded, no control characters): use /documents/{uniqueId} or "
                    "/documents/{uniqueId}/view.");
        return CG_OK;
    }
    cg_audit_add_document(req->audit, id, v->repository_id, NULL);
    cg_store_blob blob = {0};
    cg_err err;
    cg_err_init(&err);
    int rc = cg_store_document_get(v->store, v->repository_id, id, &blob, &err);
    if (rc == CG_ENOTFOUND) {
        answer_page(out, pool, 404, "Document not found",
                    cg_pool_printf(pool, "This repository holds no document with uniqueId %s.",
                                   id));
        return CG_OK;
    }
    if (rc != CG_OK) {
        answer_page(out, pool, 503, "Store unavailable",
                    "The document store could not be read; try again later.");
        return CG_OK;
    }
    const char *type = safe_media_type(blob.mime_type);
    if (!view) {
        /* The stored bytes as a download: never rendered by the browser in our origin (a
         * stored text/html would otherwise run there): attachment, sandboxed, nosniff. */
        unsigned char *data = cg_pool_alloc(pool, blob.len + 1);
        memcpy(data, blob.data ? blob.data : (unsigned char *)"", blob.len);
        out->status = 200;
        out->content_type = cg_pool_strdup(pool, type);
        out->data = data;
        out->len = blob.len;
        out->headers = cg_pool_printf(
            pool,
            "Content-Disposition: attachment; filename=\"%s\"\r\n"
            "Content-Security-Policy: default-src 'none'; sandbox\r\n" VIEW_SECURITY_HEADERS,
            file_name(pool, id, extension_of(type)));
        cg_store_blob_dispose(&blob);
        return CG_OK;
    }
    if (!is_xml_type(type)) {
        answer_page(out, pool, 415, "Not a CDA document",
                    cg_pool_printf(pool,
                                   "Document %s is %s, not XML: it is not rendered. Its bytes "
                                   "are at /documents/%s.",
                                   id, type, id));
        cg_store_blob_dispose(&blob);
        return CG_OK;
    }
    if (v->render == NULL) {
        answer_page(out, pool, 503, "Views unavailable",
                    v->render_missing ? v->render_missing : "no renderer");
        cg_store_blob_dispose(&blob);
        return CG_OK;
    }
    cg_render_options opt = {0};
    view_options(&opt, pool, query);
    opt.css_nonce = new_nonce(pool);
    cg_xml_limits lim;
    cg_xml_limits_default(&lim);
    if (v->max_document)
        lim.max_bytes = v->max_document;
    if (v->max_depth)
        lim.max_depth = v->max_depth;
    lim.read_only = 1;
    cg_buf html;
    cg_buf_init(&html, CG_RENDER_MAX_HTML);
    rc = cg_render_bytes(v->render, (const char *)blob.data, blob.len, id, &lim, &opt, &html,
                         &err);
    cg_store_blob_dispose(&blob);
    if (rc != CG_OK) {
        answer_page(out, pool, 422, "The document cannot be shown", err.msg);
        cg_buf_dispose(&html);
        return CG_OK;
    }
    answer_buf(out, pool, 200, "text/html; charset=utf-8", &html,
               cg_pool_printf(pool,
                              "Content-Security-Policy: default-src 'none'; style-src "
                              "'nonce-%s'; img-src data:; frame-src data:; base-uri 'none'; "
                              "form-action 'none'; frame-ancestors 'none'\r\n" VIEW_SECURITY_HEADERS,
                              opt.css_nonce));
    cg_buf_dispose(&html);
    return CG_OK;
}

/* ---- GET /patients/{patientId} ------------------------------------------------------------ */

#define SCHEME_TYPE "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
#define SCHEME_AUTHOR "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"
#define RIM_NS "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"

static int rim_is(xmlNodePtr n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns &&
           strcmp((const char *)n->ns->href, RIM_NS) == 0 &&
           strcmp((const char *)n->name, name) == 0;
}

static xmlNodePtr rim_child(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (rim_is(c, name))
            return c;
    return NULL;
}

/* The first LocalizedString value under n's Name, in the pool ("" when none). */
static const char *rim_name(cg_pool *pool, xmlNodePtr n)
{
    xmlNodePtr ls = rim_child(rim_child(n, "Name"), "LocalizedString");
    xmlChar *v = ls ? xmlGetNoNsProp(ls, (const xmlChar *)"value") : NULL;
    const char *r = cg_pool_strdup(pool, v ? (const char *)v : "");
    xmlFree(v);
    return r;
}

/* Appends the values of n's Slot called name to b, separated by sep, escaped. */
static void put_slot(cg_buf *b, xmlNodePtr n, const char *name, const char *sep, int xcn)
{
    int first = 1;
    for (xmlNodePtr s = n ? n->children : NULL; s; s = s->next) {
        if (!rim_is(s, "Slot"))
            continue;
        xmlChar *sn = xmlGetNoNsProp(s, (const xmlChar *)"name");
        int match = sn && strcmp((const char *)sn, name) == 0;
        xmlFree(sn);
        if (!match)
            continue;
        for (xmlNodePtr v = rim_child(rim_child(s, "ValueList"), "Value"); v; v = v->next) {
            if (!rim_is(v, "Value"))
                continue;
            xmlChar *t = xmlNodeGetContent(v);
            const char *text = t ? (const char *)t : "";
            if (!first)
                cg_buf_puts(b, sep);
            first = 0;
            if (xcn && strchr(text, '^')) {
                /* XCN: id^family^given^...: "given family" */
                char *copy = cg_xstrdup(text);
                char *f[4] = {0};
                char *p = copy;
                for (int i = 0; i < 4 && p; i++) {
                    f[i] = p;
                    p = strchr(p, '^');
                    if (p)
                        *p++ = '\0';
                }
                const char *given = f[2] ? f[2] : "", *family = f[1] ? f[1] : "";
                put_escaped(b, given);
                if (*given && *family)
                    cg_buf_putc(b, ' ');
                put_escaped(b, family);
                if (!*given && !*family)
                    put_escaped(b, text);
                free(copy);
            } else {
                put_escaped(b, text);
            }
            xmlFree(t);
        }
    }
}

/* "20140917190405" -> "2014-09-17 19:04" (as much as is there). */
static void put_dtm(cg_buf *b, xmlNodePtr eo)
{
    cg_buf raw;
    cg_buf_init(&raw, 256);
    put_slot(&raw, eo, "creationTime", "", 0);
    const char *d = raw.data ? raw.data : "";
    size_t n = strspn(d, "0123456789");
    if (n >= 8)
        cg_buf_printf(b, "%.4s-%.2s-%.2s", d, d + 4, d + 6);
    else
        cg_buf_puts(b, d);
    if (n >= 12)
        cg_buf_printf(b, " %.2s:%.2s", d + 8, d + 10);
    cg_buf_dispose(&raw);
}

/* A path segment %-encoded (everything but unreserved characters). */
static void put_encoded(cg_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~')
            cg_buf_putc(b, (char)c);
        else
            cg_buf_printf(b, "%%%02X", c);
    }
}

static const cg_store_row *row_by_uuid(const cg_store_rows *rows, const char *uuid)
{
    for (size_t i = 0; i < rows->count; i++)
        if (rows->items[i].uuid && strcmp(rows->items[i].uuid, uuid) == 0)
            return &rows->items[i];
    return NULL;
}

int cg_svc_patient_page(void *ctx, const cg_request *req, const char *rest, const char *query,
                        cg_http_answer *out)
{
    const cg_view *v = ctx;
    cg_pool *pool = req->pool;
    (void)query;
    size_t n = strlen(rest);
    char *pid = n > 0 && n <= CG_VIEW_MAX_PATIENT_ID * 3
                    ? cg_view_url_decode(pool, rest, n, CG_VIEW_MAX_PATIENT_ID)
                    : NULL;
    cg_audit_set_transaction(req->audit, CG_AUDIT_PATIENT_PAGE);
    cg_audit_add_patient(req->audit, pid);
    if (pid == NULL || *pid == '\0') {
        answer_page(out, pool, 400, "Bad patient address",
                    "Use /patients/{patientId} with the patient id as a %-encoded CX "
                    "(ID^^^&OID&ISO), at most 256 characters.");
        return CG_OK;
    }
    cg_store_rows docs = {0}, assocs = {0};
    cg_err err;
    cg_err_init(&err);
    const char *pids[] = {pid};
    cg_store_filter f = {0};
    f.kinds = CG_STORE_KIND_DOC;
    f.patient_ids = (cg_store_list){pids, 1};
    int rc = cg_store_find(v->store, &f, CG_VIEW_MAX_LISTED, 1, &docs, &err);
    const char **uuids = NULL;
    if (rc == CG_OK && docs.count > 0) {
        uuids = cg_pool_alloc(pool, docs.count * sizeof *uuids);
        for (size_t i = 0; i < docs.count; i++)
            uuids[i] = docs.items[i].uuid;
        static const char *const rplc[] = {"urn:ihe:iti:2007:AssociationType:RPLC",
                                           "urn:ihe:iti:2007:AssociationType:XFRM_RPLC"};
        cg_store_filter a = {0};
        a.kinds = CG_STORE_KIND_ASSOC;
        a.assoc_types = (cg_store_list){rplc, 2};
        a.targets = (cg_store_list){uuids, docs.count};
        rc = cg_store_find(v->store, &a, 0, 0, &assocs, &err);
    }
    if (rc != CG_OK) {
        answer_page(out, pool, 503, "Registry unavailable",
                    "The registry could not be read; try again later.");
        goto done;
    }
    const char *nonce = new_nonce(pool);
    cg_buf b;
    cg_buf_init(&b, (size_t)16 << 20);
    cg_buf_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"referrer\" content=\"no-referrer\"><title>Documents of ");
    put_escaped(&b, pid);
    cg_buf_printf(&b,
                  "</title><style nonce=\"%s\">body{font:15px/1.45 system-ui,sans-serif;"
                  "max-width:80em;margin:1em auto;padding:0 1em}table{border-collapse:collapse;"
                  "width:100%%}th,td{border:1px solid #b8c4d0;padding:.3em .5em;text-align:left;"
                  "vertical-align:top}th{background:#e8eef4}.old{color:#666}"
                  "@media print{a{color:inherit;text-decoration:none}}</style></head><body>"
                  "<h1>Documents of patient ",
                  nonce);
    put_escaped(&b, pid);
    cg_buf_puts(&b, "</h1>");
    if (docs.count == 0) {
        cg_buf_puts(&b, "<p>The registry holds no document for this patient.</p>");
    } else {
        size_t shown = docs.count > CG_VIEW_MAX_LISTED ? CG_VIEW_MAX_LISTED : docs.count;
        cg_buf_printf(&b, "<p>%zu document%s%s, newest registration first.</p>", shown,
                      shown == 1 ? "" : "s",
                      docs.count > CG_VIEW_MAX_LISTED ? " (the first 1000 registered)" : "");
        cg_buf_puts(&b, "<table><caption>Documents</caption><thead><tr>"
                        "<th scope=\"col\">Title</th><th scope=\"col\">Type</th>"
                        "<th scope=\"col\">Created</th><th scope=\"col\">Author</th>"
                        "<th scope=\"col\">Status</th><th scope=\"col\">Replaced by</th>"
                        "<th scope=\"col\">Open</th></tr></thead><tbody>");
        for (size_t k = shown; k-- > 0;) {
            const cg_store_row *r = &docs.items[k];
            xmlDocPtr x = NULL;
            cg_err xe;
            cg_err_init(&xe);
            if (r->xml == NULL || cg_xml_parse(&x, r->xml, r->xml_len, "entry", NULL, &xe) != CG_OK)
                continue;
            xmlNodePtr eo = xmlDocGetRootElement(x);
            const char *status = r->status ? strrchr(r->status, ':') : NULL;
            status = status ? status + 1 : (r->status ? r->status : "");
            int approved = strcmp(status, "Approved") == 0;
            cg_buf_printf(&b, "<tr%s><th scope=\"row\">", approved ? "" : " class=\"old\"");
            put_escaped(&b, rim_name(pool, eo));
            cg_buf_puts(&b, "</th><td>");
            for (xmlNodePtr c = eo->children; c; c = c->next) {
                if (!rim_is(c, "Classification"))
                    continue;
                xmlChar *scheme = xmlGetNoNsProp(c, (const xmlChar *)"classificationScheme");
                if (scheme && strcmp((const char *)scheme, SCHEME_TYPE) == 0)
                    put_escaped(&b, rim_name(pool, c));
                xmlFree(scheme);
            }
            cg_buf_puts(&b, "</td><td>");
            put_dtm(&b, eo);
            cg_buf_puts(&b, "</td><td>");
            int nauth = 0;
            for (xmlNodePtr c = eo->children; c; c = c->next) {
                if (!rim_is(c, "Classification"))
                    continue;
                xmlChar *scheme = xmlGetNoNsProp(c, (const xmlChar *)"classificationScheme");
                if (scheme && strcmp((const char *)scheme, SCHEME_AUTHOR) == 0) {
                    if (nauth++)
                        cg_buf_puts(&b, "<br>");
                    put_slot(&b, c, "authorPerson", ", ", 1);
                }
                xmlFree(scheme);
            }
            cg_buf_puts(&b, "</td><td>");
            put_escaped(&b, status);
            cg_buf_puts(&b, "</td><td>");
            for (size_t j = 0; j < assocs.count; j++) {
                const cg_store_row *a = &assocs.items[j];
                if (!a->target || strcmp(a->target, r->uuid) != 0)
                    continue;
                const cg_store_row *by = a->source ? row_by_uuid(&docs, a->source) : NULL;
                if (by && by->unique_id) {
                    cg_buf_puts(&b, "<a href=\"" CG_VIEW_PREFIX);
                    put_encoded(&b, by->unique_id);
                    cg_buf_puts(&b, "/view\">");
                    put_escaped(&b, by->unique_id);
                    cg_buf_puts(&b, "</a> ");
                } else if (a->source) {
                    put_escaped(&b, a->source);
                    cg_buf_putc(&b, ' ');
                }
            }
            cg_buf_puts(&b, "</td><td>");
            if (r->unique_id) {
                xmlChar *mime = xmlGetNoNsProp(eo, (const xmlChar *)"mimeType");
                if (mime && is_xml_type((const char *)mime)) {
                    cg_buf_puts(&b, "<a href=\"" CG_VIEW_PREFIX);
                    put_encoded(&b, r->unique_id);
                    cg_buf_puts(&b, "/view\">view</a> · ");
                }
                xmlFree(mime);
                cg_buf_puts(&b, "<a href=\"" CG_VIEW_PREFIX);
                put_encoded(&b, r->unique_id);
                cg_buf_puts(&b, "\">download</a><br><small>");
                put_escaped(&b, r->unique_id);
                cg_buf_puts(&b, "</small>");
            }
            cg_buf_puts(&b, "</td></tr>");
            xmlFreeDoc(x);
        }
        cg_buf_puts(&b, "</tbody></table>");
    }
    cg_buf_puts(&b, "</body></html>\n");
    answer_buf(out, pool, 200, "text/html; charset=utf-8", &b,
               cg_pool_printf(pool,
                              "Content-Security-Policy: default-src 'none'; style-src 'nonce-%s'; "
                              "base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n"
                              VIEW_SECURITY_HEADERS,
                              nonce));
    cg_buf_dispose(&b);
done:
    cg_store_rows_dispose(&docs);
    cg_store_rows_dispose(&assocs);
    return CG_OK;
}
