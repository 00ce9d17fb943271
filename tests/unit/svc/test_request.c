/* Tests cg_request_content (src/svc/request.c): the bytes of a Document element, from an
 * xop:Include resolved against the request's MIME parts (a %-escaped cid, a cid in <>, an
 * unknown cid) or from inline base64 (line breaks, SHA-1, malformed text), and the decoded-size
 * bound limits->max_part at the limit and one past it. */
#define _POSIX_C_SOURCE 200809L
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc/request.h"
#include "unit.h"
#include "util/alloc.h"
#include "xml/parse.h"

#define FOX "The quick brown fox jumps over the lazy dog"
#define FOX_SHA1 "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12" /* FIPS 180 test vector */
#define FOX_B64 "VGhlIHF1aWNrIGJyb3duIGZveCBqdW1wcyBvdmVyIHRoZSBsYXp5IGRvZw=="
#define HELLO_SHA1 "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d" /* sha1("hello") */

/* ---- a request with two MIME parts ----------------------------------------------------------- */

typedef struct req_env {
    cg_pool *pool;
    cg_part parts[2];
    cg_request_limits limits;
    cg_request req;
    xmlDocPtr doc;
    cg_err err;
} req_env;

static void
env_open(req_env *e, size_t max_part)
{
    memset(e, 0, sizeof(*e));
    e->pool = cg_pool_new(0);
    e->parts[0] = (cg_part){.content_id = "doc1@cdagate.test",
                            .content_type = "text/xml",
                            .data = (const unsigned char *)"hello",
                            .len = 5,
                            .sha1 = HELLO_SHA1};
    e->parts[1] = (cg_part){.content_id = "doc2@cdagate.test",
                            .content_type = "text/plain",
                            .data = (const unsigned char *)FOX,
                            .len = sizeof(FOX) - 1,
                            .sha1 = FOX_SHA1};
    e->limits.max_part = max_part;
    e->limits.max_parts = 100;
    e->limits.max_envelope = (size_t)1 << 20;
    e->limits.max_depth = 256;
    e->req.pool = e->pool;
    e->req.parts = e->parts;
    e->req.nparts = 2;
    e->req.limits = &e->limits;
    cg_err_init(&e->err);
}

static void
env_close(req_env *e)
{
    if (e->doc)
        xmlFreeDoc(e->doc);
    cg_pool_free(e->pool);
}

/* An xdsb:Document element parsed from its content as XML text. */
static xmlNodePtr
document_xml(req_env *e, const char *content)
{
    char *text = cg_xasprintf("<xdsb:Document xmlns:xdsb=\"urn:ihe:iti:xds-b:2007\" "
                              "xmlns:xop=\"http://www.w3.org/2004/08/xop/include\" "
                              "id=\"Document01\">%s</xdsb:Document>",
                              content);
    cg_err err;
    cg_err_init(&err);
    if (e->doc)
        xmlFreeDoc(e->doc);
    e->doc = NULL;
    int rc = cg_xml_parse(&e->doc, text, strlen(text), "document.xml", NULL, &err);
    free(text);
    CU_ASSERT_EQUAL_FATAL(rc, CG_OK);
    return xmlDocGetRootElement(e->doc);
}

/* An xdsb:Document element whose text is exactly `text` (no XML line-end normalisation). */
static xmlNodePtr
document_text(req_env *e, const char *text)
{
    if (e->doc)
        xmlFreeDoc(e->doc);
    e->doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = xmlNewDocNode(e->doc, NULL, BAD_CAST "Document", NULL);
    xmlNsPtr ns = xmlNewNs(root, BAD_CAST "urn:ihe:iti:xds-b:2007", BAD_CAST "xdsb");
    xmlSetNs(root, ns);
    xmlDocSetRootElement(e->doc, root);
    xmlNodeAddContent(root, BAD_CAST text);
    return root;
}

typedef struct got {
    int rc;
    const unsigned char *data;
    size_t len;
    char sha1[CG_SHA1_HEX_LEN + 1];
} got;

static got
content(req_env *e, xmlNodePtr element)
{
    got g;
    memset(&g, 0, sizeof(g));
    cg_err_init(&e->err);
    g.rc = cg_request_content(&e->req, element, &g.data, &g.len, g.sha1, &e->err);
    return g;
}

/* n bytes of a repeating pattern, base64-encoded, with '\n' after every `wrap` characters (0:
 * one line) and a final line end when wrapped (as `base64` writes it). */
static char *
b64_of(size_t n, size_t wrap, unsigned char **raw)
{
    unsigned char *bytes = cg_xmalloc(n + 1);
    for (size_t i = 0; i < n; i++)
        bytes[i] = (unsigned char)(i * 7 + 3);
    char *flat = cg_xmalloc(4 * (n / 3 + 1) + 1);
    EVP_EncodeBlock((unsigned char *)flat, bytes, (int)n);
    size_t flen = strlen(flat);
    char *out = cg_xmalloc(flen + flen / (wrap ? wrap : flen + 1) + 2);
    size_t o = 0;
    for (size_t i = 0; i < flen; i++) {
        out[o++] = flat[i];
        if (wrap && (i + 1) % wrap == 0)
            out[o++] = '\n';
    }
    if (wrap && o && out[o - 1] != '\n')
        out[o++] = '\n';
    out[o] = '\0';
    free(flat);
    if (raw)
        *raw = bytes;
    else
        free(bytes);
    return out;
}

/* ---- xop:Include ----------------------------------------------------------------------------- */

static void
test_include_escaped_cid(void)
{
    req_env e;
    env_open(&e, 1024);
    got g = content(&e, document_xml(&e, "<xop:Include href=\"cid:doc1%40cdagate.test\"/>"));
    CU_ASSERT_EQUAL(g.rc, CG_OK);
    CU_ASSERT_PTR_EQUAL(g.data, e.parts[0].data);
    CU_ASSERT_EQUAL(g.len, 5);
    CU_ASSERT_STRING_EQUAL(g.sha1, HELLO_SHA1);

    /* the second part, named unescaped; white space around the Include is allowed */
    g = content(&e, document_xml(&e, "\n  <xop:Include href=\"cid:doc2@cdagate.test\"/>\n"));
    CU_ASSERT_EQUAL(g.rc, CG_OK);
    CU_ASSERT_PTR_EQUAL(g.data, e.parts[1].data);
    CU_ASSERT_EQUAL(g.len, sizeof(FOX) - 1);
    CU_ASSERT_STRING_EQUAL(g.sha1, FOX_SHA1);
    env_close(&e);
}

static void
test_include_angle_brackets(void)
{
    req_env e;
    env_open(&e, 1024);
    got g = content(&e, document_xml(&e, "<xop:Include href=\"cid:&lt;doc2@cdagate.test&gt;\"/>"));
    CU_ASSERT_EQUAL(g.rc, CG_OK);
    CU_ASSERT_PTR_EQUAL(g.data, e.parts[1].data);
    CU_ASSERT_STRING_EQUAL(g.sha1, FOX_SHA1);

    g = content(&e, document_xml(&e, "<xop:Include href=\"cid:%3Cdoc1%40cdagate.test%3E\"/>"));
    CU_ASSERT_EQUAL(g.rc, CG_OK);
    CU_ASSERT_PTR_EQUAL(g.data, e.parts[0].data);
    env_close(&e);
}

static void
test_include_unknown_cid(void)
{
    req_env e;
    env_open(&e, 1024);
    got g = content(&e, document_xml(&e, "<xop:Include href=\"cid:nothing%40cdagate.test\"/>"));
    CU_ASSERT_EQUAL(g.rc, CG_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.err.msg, "nothing@cdagate.test"));

    /* a prefix of a real cid is not that cid */
    g = content(&e, document_xml(&e, "<xop:Include href=\"cid:doc1\"/>"));
    CU_ASSERT_EQUAL(g.rc, CG_ENOTFOUND);

    /* not a cid: URL, or no href at all: a bad reference */
    g = content(&e, document_xml(&e, "<xop:Include href=\"http://example.org/doc1\"/>"));
    CU_ASSERT_EQUAL(g.rc, CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.err.msg, "http://example.org/doc1"));
    g = content(&e, document_xml(&e, "<xop:Include/>"));
    CU_ASSERT_EQUAL(g.rc, CG_EINVAL);
    /* two Includes, or another element: refused, not the first one taken */
    g = content(&e, document_xml(&e, "<xop:Include href=\"cid:doc1@cdagate.test\"/>"
                                     "<xop:Include href=\"cid:doc2@cdagate.test\"/>"));
    CU_ASSERT_EQUAL(g.rc, CG_EINVAL);
    g = content(&e, document_xml(&e, "<other href=\"cid:doc1@cdagate.test\"/>"));
    CU_ASSERT_EQUAL(g.rc, CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.err.msg, "other"));
    env_close(&e);
}

/* ---- inline base64 --------------------------------------------------------------------------- */

static void
test_inline_base64(void)
{
    req_env e;
    env_open(&e, 1024);
    got g = content(&e, document_text(&e, FOX_B64));
    CU_ASSERT_EQUAL_FATAL(g.rc, CG_OK);
    CU_ASSERT_EQUAL(g.len, sizeof(FOX) - 1);
    CU_ASSERT(g.data && memcmp(g.data, FOX, sizeof(FOX) - 1) == 0);
    CU_ASSERT_STRING_EQUAL(g.sha1, FOX_SHA1);

    /* line breaks (LF and CRLF) and indentation inside the text */
    g = content(&e, document_text(&e, "\n    VGhlIHF1aWNrIGJyb3du\r\n    IGZveCBqdW1wcyBvdmVy\n"
                                      "\tIHRoZSBsYXp5IGRvZw==\r\n  "));
    CU_ASSERT_EQUAL_FATAL(g.rc, CG_OK);
    CU_ASSERT_EQUAL(g.len, sizeof(FOX) - 1);
    CU_ASSERT(g.data && memcmp(g.data, FOX, sizeof(FOX) - 1) == 0);
    CU_ASSERT_STRING_EQUAL(g.sha1, FOX_SHA1);

    /* the same through the XML parser, CR written as a character reference */
    g = content(&e, document_xml(&e, "VGhlIHF1aWNrIGJyb3du&#13;\nIGZveCBqdW1wcyBvdmVy\n"
                                     "IHRoZSBsYXp5IGRvZw=="));
    CU_ASSERT_EQUAL(g.rc, CG_OK);
    CU_ASSERT_STRING_EQUAL(g.sha1, FOX_SHA1);

    /* 1000 bytes as `base64` writes them (76 columns), below max_part */
    unsigned char *raw = NULL;
    char *b64 = b64_of(1000, 76, &raw);
    g = content(&e, document_text(&e, b64));
    CU_ASSERT_EQUAL(g.rc, CG_OK);
    CU_ASSERT_EQUAL(g.len, 1000);
    CU_ASSERT(g.data && memcmp(g.data, raw, 1000) == 0);
    free(b64);
    free(raw);
    env_close(&e);
}

static void
test_inline_bad_base64(void)
{
    req_env e;
    env_open(&e, 1024);
    got g = content(&e, document_text(&e, "VGhl*IHF1aWNr"));
    CU_ASSERT_EQUAL(g.rc, CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.err.msg, "base64"));
    g = content(&e, document_text(&e, "VGhlIA==VGhl")); /* data after the padding */
    CU_ASSERT_EQUAL(g.rc, CG_EINVAL);
    g = content(&e, document_text(&e, "VGhlI")); /* one character too many */
    CU_ASSERT_EQUAL(g.rc, CG_EINVAL);
    g = content(&e, document_text(&e, "VGhl===")); /* three padding characters */
    CU_ASSERT_EQUAL(g.rc, CG_EINVAL);
    g = content(&e, document_text(&e, "<ClinicalDocument/>")); /* escaped XML, not base64 */
    CU_ASSERT_EQUAL(g.rc, CG_EINVAL);
    env_close(&e);
}

/* ---- limits->max_part ------------------------------------------------------------------------ */

static void
expect_size(req_env *e, size_t n, size_t wrap, int want)
{
    unsigned char *raw = NULL;
    char *b64 = b64_of(n, wrap, &raw);
    got g = content(e, document_text(e, b64));
    if (g.rc != want)
        fprintf(stderr, "\n%zu bytes (base64 %s, max_part %zu): expected %s, got %s (%s)\n", n,
                wrap ? "wrapped at 76 columns" : "on one line", e->limits.max_part,
                cg_err_name(want), cg_err_name(g.rc), e->err.msg);
    CU_ASSERT_EQUAL(g.rc, want);
    if (want == CG_OK && g.rc == CG_OK) {
        CU_ASSERT_EQUAL(g.len, n);
        CU_ASSERT(g.data && memcmp(g.data, raw, n) == 0);
    }
    if (want == CG_ETOOBIG)
        CU_ASSERT_PTR_NOT_NULL(strstr(e->err.msg, "larger than"));
    free(b64);
    free(raw);
}

static void
test_max_part(void)
{
    req_env e;
    env_open(&e, 64);
    expect_size(&e, 64, 0, CG_OK);
    expect_size(&e, 65, 0, CG_ETOOBIG);
    expect_size(&e, 63, 0, CG_OK);
    env_close(&e);

    /* a larger limit, every remainder of 3 at and past it */
    env_open(&e, 3000);
    expect_size(&e, 3000, 0, CG_OK);
    expect_size(&e, 3001, 0, CG_ETOOBIG);
    expect_size(&e, 3002, 0, CG_ETOOBIG);
    expect_size(&e, 3003, 0, CG_ETOOBIG);
    env_close(&e);
}

/* The bound is on the decoded bytes: line breaks in the base64 text do not count. */
static void
test_max_part_wrapped(void)
{
    req_env e;
    env_open(&e, 3000);
    expect_size(&e, 3000, 76, CG_OK);
    expect_size(&e, 3001, 76, CG_ETOOBIG);
    env_close(&e);
}

/* A request without transport limits (limits NULL) has no bound on inline documents. */
static void
test_no_limits(void)
{
    req_env e;
    env_open(&e, 0);
    e.req.limits = NULL;
    got g = content(&e, document_text(&e, FOX_B64));
    if (g.rc != CG_OK)
        fprintf(stderr, "\nlimits NULL: %s (%s)\n", cg_err_name(g.rc), e.err.msg);
    CU_ASSERT_EQUAL(g.rc, CG_OK);
    CU_ASSERT_EQUAL(g.len, sizeof(FOX) - 1);
    CU_ASSERT_STRING_EQUAL(g.sha1, FOX_SHA1);
    env_close(&e);
}

void
cg_test_register_svc_request(void)
{
    CU_pSuite s = CU_add_suite("svc/request_content", NULL, NULL);
    CU_add_test(s, "xop:Include with a %-escaped cid resolves to its part",
                test_include_escaped_cid);
    CU_add_test(s, "xop:Include with a cid in <>", test_include_angle_brackets);
    CU_add_test(s, "unknown cid: CG_ENOTFOUND; not a cid: CG_EINVAL", test_include_unknown_cid);
    CU_add_test(s, "inline base64 with line breaks decodes, SHA-1 right", test_inline_base64);
    CU_add_test(s, "bad base64: CG_EINVAL", test_inline_bad_base64);
    CU_add_test(s, "decoded size at max_part ok, one past: CG_ETOOBIG", test_max_part);
    CU_add_test(s, "max_part counts decoded bytes, not line breaks", test_max_part_wrapped);
    CU_add_test(s, "no limits: no bound", test_no_limits);
}
