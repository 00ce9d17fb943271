/* request: transport-neutral request and response helpers (see request.h). */
#include "svc/request.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"
#include "util/base64.h"
#include "util/id.h"

void cg_response_fault(cg_response *resp, cg_pool *pool, cg_fault_code code, const char *subcode,
                       const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    resp->fault = code;
    resp->fault_subcode = cg_pool_strdup(pool, subcode);
    resp->fault_reason = cg_pool_strdup(pool, msg);
    resp->body = NULL;
}

int cg_response_wrong_body(cg_response *resp, const cg_request *req, const char *ns,
                           const char *name)
{
    cg_response_fault(resp, req->pool, CG_FAULT_SENDER, NULL,
                      "the body of this action must be {%s}%s, not <%s>", ns, name,
                      req->body ? (const char *)req->body->name : "(empty)");
    return CG_OK;
}

int cg_request_is_el(xmlNodePtr n, const char *ns, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns &&
           strcmp((const char *)n->ns->href, ns) == 0 && strcmp((const char *)n->name, name) == 0;
}

xmlNodePtr cg_request_child(xmlNodePtr parent, const char *ns, const char *name, xmlNodePtr after)
{
    for (xmlNodePtr c = after ? after->next : parent ? parent->children : NULL; c; c = c->next)
        if (cg_request_is_el(c, ns, name))
            return c;
    return NULL;
}

const char *cg_response_add_part(cg_response *resp, cg_pool *pool, const char *content_type,
                                 const unsigned char *data, size_t len)
{
    char uuid[CG_UUID_URN_LEN + 1];
    cg_id_uuid_urn(uuid);
    resp->parts = cg_pool_grow(pool, resp->parts, &resp->parts_cap, resp->nparts + 1,
                               sizeof(*resp->parts));
    cg_out_part *p = &resp->parts[resp->nparts++];
    p->content_id = cg_pool_printf(pool, "%s@cdagate", uuid + 9);
    p->content_type = cg_pool_strdup(pool, content_type ? content_type : "application/octet-stream");
    p->data = data;
    p->len = len;
    resp->mtom = 1;
    return p->content_id;
}

/* "cid:abc%40x" -> "abc@x"; also accepts "<abc@x>" forms some peers send. */
static char *request_cid(cg_pool *pool, const char *href)
{
    if (strncasecmp(href, "cid:", 4) != 0)
        return NULL;
    href += 4;
    size_t n = strlen(href);
    char *out = cg_pool_alloc(pool, n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (href[i] == '%' && i + 2 < n && cg_hex_value(href[i + 1]) >= 0 &&
            cg_hex_value(href[i + 2]) >= 0) {
            out[o++] = (char)(cg_hex_value(href[i + 1]) * 16 + cg_hex_value(href[i + 2]));
            i += 2;
        } else {
            out[o++] = href[i];
        }
    }
    out[o] = '\0';
    if (o >= 2 && out[0] == '<' && out[o - 1] == '>') {
        out[o - 1] = '\0';
        out++;
    }
    return out;
}

static void request_sha1(char out[CG_SHA1_HEX_LEN + 1], const unsigned char *data, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha1(), NULL);
    for (unsigned i = 0; i < mdlen && i < 20; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int request_base64(const cg_request *req, const char *text, const unsigned char **out,
                          size_t *len, cg_err *err)
{
    /* The text is already bounded by the envelope limit; the bound on the document is on its
     * decoded bytes (line breaks in the base64 do not count). */
    size_t n = strlen(text);
    size_t max = req->limits ? req->limits->max_part : (size_t)-1;
    unsigned char *buf = cg_pool_alloc(req->pool, n / 4 * 3 + 4);
    size_t o = cg_base64_decode(buf, (const unsigned char *)text, n);
    if (o == CG_BASE64_INVALID)
        return cg_err_set(err, CG_EINVAL, "document content is not base64");
    if (o > max)
        return cg_err_set(err, CG_ETOOBIG, "inline document larger than %zu bytes", max);
    *out = buf;
    *len = o;
    return CG_OK;
}

int cg_request_content(const cg_request *req, xmlNodePtr element, const unsigned char **out,
                       size_t *len, char sha1[CG_SHA1_HEX_LEN + 1], cg_err *err)
{
    xmlNodePtr include = NULL;
    for (xmlNodePtr c = element->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (include || !c->ns || strcmp((const char *)c->ns->href, "http://www.w3.org/2004/08/xop/include") != 0 ||
            strcmp((const char *)c->name, "Include") != 0)
            return cg_err_set(err, CG_EINVAL, "unexpected element <%s> in document content",
                              (const char *)c->name);
        include = c;
    }
    if (include) {
        xmlChar *href = xmlGetProp(include, (const xmlChar *)"href");
        char *cid = href ? request_cid(req->pool, (const char *)href) : NULL;
        int rc;
        if (!cid) {
            rc = cg_err_set(err, CG_EINVAL, "xop:Include href \"%s\" is not a cid: URL",
                            href ? (const char *)href : "");
            xmlFree(href);
            return rc;
        }
        xmlFree(href);
        for (size_t i = 0; i < req->nparts; i++) {
            if (strcmp(req->parts[i].content_id, cid) == 0) {
                *out = req->parts[i].data;
                *len = req->parts[i].len;
                memcpy(sha1, req->parts[i].sha1, CG_SHA1_HEX_LEN + 1);
                return CG_OK;
            }
        }
        return cg_err_set(err, CG_ENOTFOUND, "xop:Include refers to cid:%s, which no MIME part has",
                          cid);
    }
    xmlChar *text = xmlNodeGetContent(element);
    int rc = request_base64(req, text ? (const char *)text : "", out, len, err);
    xmlFree(text);
    if (rc == CG_OK)
        request_sha1(sha1, *out, *len);
    return rc;
}

const cg_route *cg_route_find(const cg_route *routes, size_t nroutes, const char *path,
                              const char *action, xmlNodePtr body)
{
    for (size_t i = 0; i < nroutes; i++) {
        const cg_route *r = &routes[i];
        if (strcmp(r->path, path) != 0)
            continue;
        if (action && *action) {
            if (strcmp(r->action, action) == 0)
                return r;
        } else if (body && r->body_name && body->ns && r->body_ns &&
                   strcmp((const char *)body->name, r->body_name) == 0 &&
                   strcmp((const char *)body->ns->href, r->body_ns) == 0) {
            return r;
        }
    }
    return NULL;
}

void cg_response_splice(cg_response *resp, xmlNodePtr parent, const cg_text_piece *pieces,
                        size_t n)
{
    xmlAddChild(parent, xmlNewDocComment(parent->doc, BAD_CAST CG_SPLICE_MARK));
    resp->splice = pieces;
    resp->nsplice = n;
}
