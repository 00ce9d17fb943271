/* envelope: SOAP 1.2 envelope reading and header/body text (see envelope.h). */
#define _POSIX_C_SOURCE 200809L
#include "transport/envelope.h"

#include <libxml/xmlsave.h>
#include <stdint.h>
#include <string.h>

#include "svc/request.h"

static void envelope_free_doc(void *doc)
{
    xmlFreeDoc(doc);
}

static int ns_is(const xmlNode *n, const char *ns)
{
    return n->ns && n->ns->href && strcmp((const char *)n->ns->href, ns) == 0;
}

static int name_is(const xmlNode *n, const char *ns, const char *name)
{
    return n->type == XML_ELEMENT_NODE && ns_is(n, ns) && strcmp((const char *)n->name, name) == 0;
}

static xmlNodePtr first_element(xmlNodePtr n)
{
    for (; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE)
            return n;
    return NULL;
}

/* The element's text content, trimmed, in the pool. */
static const char *text_of(cg_pool *pool, xmlNodePtr n)
{
    xmlChar *t = xmlNodeGetContent(n);
    if (!t)
        return cg_pool_strdup(pool, "");
    const char *s = (const char *)t;
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    size_t len = strlen(s);
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' ||
                       s[len - 1] == '\n'))
        len--;
    char *out = cg_pool_strndup(pool, s, len);
    xmlFree(t);
    return out;
}

static int must_understand(xmlNodePtr h)
{
    xmlChar *mu = xmlGetNsProp(h, (const xmlChar *)"mustUnderstand", (const xmlChar *)CG_NS_SOAP12);
    int yes = mu && (strcmp((const char *)mu, "true") == 0 || strcmp((const char *)mu, "1") == 0);
    xmlFree(mu);
    return yes;
}

static int wsa_name(const char *name)
{
    static const char *const names[] = {"Action", "MessageID", "To", "ReplyTo", "RelatesTo",
                                        "From", "FaultTo", NULL};
    for (int i = 0; names[i]; i++)
        if (strcmp(name, names[i]) == 0)
            return 1;
    return 0;
}

static void read_fault(cg_envelope *out, cg_pool *pool, xmlNodePtr fault)
{
    out->is_fault = 1;
    for (xmlNodePtr c = first_element(fault->children); c; c = first_element(c->next)) {
        if (name_is(c, CG_NS_SOAP12, "Code")) {
            for (xmlNodePtr v = first_element(c->children); v; v = first_element(v->next)) {
                if (name_is(v, CG_NS_SOAP12, "Value"))
                    out->fault_code = text_of(pool, v);
                else if (name_is(v, CG_NS_SOAP12, "Subcode")) {
                    for (xmlNodePtr s = first_element(v->children); s; s = first_element(s->next))
                        if (name_is(s, CG_NS_SOAP12, "Value"))
                            out->fault_subcode = text_of(pool, s);
                }
            }
        } else if (name_is(c, CG_NS_SOAP12, "Reason")) {
            xmlNodePtr t = first_element(c->children);
            if (t)
                out->fault_reason = text_of(pool, t);
        }
    }
}

int cg_envelope_read(cg_envelope *out, cg_pool *pool, const char *data, size_t len,
                     const cg_xml_limits *limits, cg_err *err)
{
    memset(out, 0, sizeof(*out));
    xmlDocPtr doc = NULL;
    int rc = cg_xml_parse(&doc, data, len, "envelope", limits, err);
    if (rc != CG_OK)
        return rc;
    cg_pool_cleanup(pool, envelope_free_doc, doc);
    out->doc = doc;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!root || strcmp((const char *)root->name, "Envelope") != 0)
        return cg_err_set(err, CG_EINVAL, "the root element is <%s>, not a SOAP Envelope",
                          root ? (const char *)root->name : "");
    if (!ns_is(root, CG_NS_SOAP12)) {
        out->version_mismatch = 1;
        out->soap11 = ns_is(root, CG_NS_SOAP11);
        return CG_OK;
    }
    xmlNodePtr header = NULL, body = NULL;
    for (xmlNodePtr c = first_element(root->children); c; c = first_element(c->next)) {
        if (name_is(c, CG_NS_SOAP12, "Header") && !header && !body)
            header = c;
        else if (name_is(c, CG_NS_SOAP12, "Body") && !body)
            body = c;
        else
            return cg_err_set(err, CG_EINVAL, "unexpected element <%s> in the SOAP Envelope",
                              (const char *)c->name);
    }
    if (!body)
        return cg_err_set(err, CG_EINVAL, "the SOAP Envelope has no Body");
    for (xmlNodePtr h = header ? first_element(header->children) : NULL; h;
         h = first_element(h->next)) {
        const char *name = (const char *)h->name;
        if (ns_is(h, CG_NS_WSA)) {
            if (strcmp(name, "Action") == 0)
                out->action = text_of(pool, h);
            else if (strcmp(name, "MessageID") == 0)
                out->message_id = text_of(pool, h);
            else if (strcmp(name, "To") == 0)
                out->to = text_of(pool, h);
            else if (strcmp(name, "RelatesTo") == 0)
                out->relates_to = text_of(pool, h);
            else if (strcmp(name, "ReplyTo") == 0) {
                for (xmlNodePtr a = first_element(h->children); a; a = first_element(a->next))
                    if (name_is(a, CG_NS_WSA, "Address"))
                        out->reply_to = text_of(pool, a);
            }
            continue;
        }
        if (ns_is(h, CG_NS_SOAP12) && wsa_name(name)) {
            if (strcmp(name, "Action") == 0)
                out->misplaced_action = text_of(pool, h);
            continue;
        }
        if (!out->not_understood && must_understand(h)) {
            out->not_understood = cg_pool_strdup(pool, name);
            out->not_understood_ns = h->ns ? cg_pool_strdup(pool, (const char *)h->ns->href) : NULL;
        }
    }
    out->body = first_element(body->children);
    if (out->body && name_is(out->body, CG_NS_SOAP12, "Fault"))
        read_fault(out, pool, out->body);
    return CG_OK;
}

int cg_envelope_put_text(cg_buf *out, const char *text)
{
    int rc = CG_OK;
    for (const char *p = text; *p && rc == CG_OK; p++) {
        switch (*p) {
        case '<':
            rc = cg_buf_puts(out, "&lt;");
            break;
        case '>':
            rc = cg_buf_puts(out, "&gt;");
            break;
        case '&':
            rc = cg_buf_puts(out, "&amp;");
            break;
        case '"':
            rc = cg_buf_puts(out, "&quot;");
            break;
        case '\'':
            rc = cg_buf_puts(out, "&apos;");
            break;
        default:
            rc = cg_buf_putc(out, *p);
        }
    }
    return rc;
}

static int put_wsa(cg_buf *out, const char *name, const char *value, int mu)
{
    if (!value)
        return CG_OK;
    int rc = cg_buf_printf(out, "<wsa:%s%s>", name, mu ? " SOAP-ENV:mustUnderstand=\"true\"" : "");
    if (rc == CG_OK)
        rc = cg_envelope_put_text(out, value);
    if (rc == CG_OK)
        rc = cg_buf_printf(out, "</wsa:%s>", name);
    return rc;
}

int cg_envelope_put_header(cg_buf *out, const char *action, const char *message_id,
                           const char *relates_to, const char *to)
{
    if (!action && !message_id && !relates_to && !to)
        return CG_OK;
    int rc = cg_buf_puts(out, "<SOAP-ENV:Header>");
    if (rc == CG_OK)
        rc = put_wsa(out, "Action", action, 1);
    if (rc == CG_OK)
        rc = put_wsa(out, "MessageID", message_id, 0);
    if (rc == CG_OK)
        rc = put_wsa(out, "RelatesTo", relates_to, 0);
    if (rc == CG_OK)
        rc = put_wsa(out, "To", to, 0);
    if (rc == CG_OK)
        rc = cg_buf_puts(out, "</SOAP-ENV:Header>");
    return rc;
}

int cg_envelope_put_body(cg_buf *out, xmlDocPtr body, size_t *splice_at)
{
    if (splice_at)
        *splice_at = SIZE_MAX;
    int rc = cg_buf_puts(out, "<SOAP-ENV:Body>");
    xmlNodePtr root = body ? xmlDocGetRootElement(body) : NULL;
    if (rc == CG_OK && root) {
        xmlBufferPtr xb = xmlBufferCreate();
        if (!xb)
            return CG_EIO;
        xmlSaveCtxtPtr save = xmlSaveToBuffer(xb, "UTF-8", XML_SAVE_NO_DECL);
        if (!save) {
            xmlBufferFree(xb);
            return CG_EIO;
        }
        xmlSaveTree(save, root);
        xmlSaveClose(save);
        const char *text = (const char *)xmlBufferContent(xb);
        size_t len = (size_t)xmlBufferLength(xb);
        /* the mark can only be the comment node: in text or attributes its '<' is escaped */
        const char *mark = splice_at ? strstr(text, "<!--" CG_SPLICE_MARK "-->") : NULL;
        if (mark) {
            size_t head = (size_t)(mark - text), marklen = strlen("<!--" CG_SPLICE_MARK "-->");
            rc = cg_buf_append(out, text, head);
            *splice_at = out->len;
            if (rc == CG_OK)
                rc = cg_buf_append(out, mark + marklen, len - head - marklen);
        } else {
            rc = cg_buf_append(out, text, len);
        }
        xmlBufferFree(xb);
    }
    if (rc == CG_OK)
        rc = cg_buf_puts(out, "</SOAP-ENV:Body>");
    return rc;
}
