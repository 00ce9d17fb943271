/* Tests for transport/mime: multipart/related bodies as real peers send them, fed whole and
 * byte by byte, and every limit at and past its value. */
#define _POSIX_C_SOURCE 200809L
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "transport/mime.h"
#include "unit.h"
#include "util/alloc.h"

static cg_mime_limits lim_default(void)
{
    cg_mime_limits l = {.max_root = 1 << 20, .max_part = 1 << 20, .max_parts = 10,
                        .max_header = 4096};
    return l;
}

/* Parses body with the given Content-Type, feeding chunk bytes at a time (0 = all at once). */
static int parse(cg_pool *pool, const char *ct, const char *body, size_t len, size_t chunk,
                 const cg_mime_limits *lim, cg_mime_message *msg, cg_err *err)
{
    cg_mime_reader *r = NULL;
    cg_err_init(err);
    int rc = cg_mime_reader_new(&r, ct, lim, pool, err);
    if (rc != CG_OK)
        return rc;
    size_t step = chunk ? chunk : len;
    for (size_t off = 0; off < len && rc == CG_OK; off += step)
        rc = cg_mime_reader_feed(r, body + off, len - off < step ? len - off : step, err);
    if (rc == CG_OK)
        rc = cg_mime_reader_finish(r, msg, err);
    cg_mime_reader_free(r);
    return rc;
}

static void sha1_hex(const void *data, size_t len, char out[41])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha1(), NULL);
    for (unsigned i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

#define ENV "<soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\"><soap:Body/></soap:Envelope>"
/* binary content with CR, LF, "--" and a near-boundary: none of it may end the part */
static const char BIN[] = "\x00\x01\r\n--MIMEBoundaryurn_uuid_X\r\n--\r\n\xff\xfe";

static void check_both_ways(const char *ct, const char *body, size_t len, const char *root_id,
                            size_t nparts, const char *part0_id, const void *part0,
                            size_t part0_len)
{
    for (int pass = 0; pass < 3; pass++) {
        size_t chunk = pass == 0 ? 0 : pass == 1 ? 1 : 7;
        cg_pool *pool = cg_pool_new(0);
        cg_mime_limits lim = lim_default();
        cg_mime_message msg;
        cg_err err;
        int rc = parse(pool, ct, body, len, chunk, &lim, &msg, &err);
        CU_ASSERT_EQUAL_FATAL(rc, CG_OK);
        if (rc != CG_OK) {
            fprintf(stderr, "%s\n", err.msg);
            cg_pool_free(pool);
            return;
        }
        CU_ASSERT_EQUAL(msg.root_len, strlen(ENV));
        CU_ASSERT(memcmp(msg.root, ENV, strlen(ENV)) == 0);
        if (root_id)
            CU_ASSERT_STRING_EQUAL(msg.root_content_id, root_id);
        CU_ASSERT_EQUAL(msg.nparts, nparts);
        if (nparts && part0_id) {
            CU_ASSERT_STRING_EQUAL(msg.parts[0].content_id, part0_id);
            CU_ASSERT_EQUAL(msg.parts[0].len, part0_len);
            CU_ASSERT(memcmp(msg.parts[0].data, part0, part0_len) == 0);
            char want[41];
            sha1_hex(part0, part0_len, want);
            CU_ASSERT_STRING_EQUAL(msg.parts[0].sha1, want);
        }
        cg_pool_free(pool);
    }
}

static void test_axis2(void)
{
    const char *ct = "multipart/related; boundary=MIMEBoundaryurn_uuid_76A2C3D9BCD3AECFF31217932910180; "
                     "type=\"application/xop+xml\"; start=\"<0.urn:uuid:76A2C3D9BCD3AECFF31217932910181@apache.org>\"; "
                     "start-info=\"application/soap+xml\"; action=\"urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b\"";
    cg_buf b;
    cg_buf_init(&b, 1 << 20);
    cg_buf_puts(&b, "\r\n--MIMEBoundaryurn_uuid_76A2C3D9BCD3AECFF31217932910180\r\n"
                    "Content-Type: application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"\r\n"
                    "Content-Transfer-Encoding: binary\r\n"
                    "Content-ID: <0.urn:uuid:76A2C3D9BCD3AECFF31217932910181@apache.org>\r\n\r\n" ENV
                    "\r\n--MIMEBoundaryurn_uuid_76A2C3D9BCD3AECFF31217932910180\r\n"
                    "Content-Type: text/xml\r\nContent-Transfer-Encoding: binary\r\n"
                    "Content-ID: <1.urn:uuid:76A2C3D9BCD3AECFF31217932910182@apache.org>\r\n\r\n");
    cg_buf_append(&b, BIN, sizeof(BIN) - 1);
    cg_buf_puts(&b, "\r\n--MIMEBoundaryurn_uuid_76A2C3D9BCD3AECFF31217932910180--\r\n");
    check_both_ways(ct, b.data, b.len, "0.urn:uuid:76A2C3D9BCD3AECFF31217932910181@apache.org", 1,
                    "1.urn:uuid:76A2C3D9BCD3AECFF31217932910182@apache.org", BIN, sizeof(BIN) - 1);
    cg_buf_dispose(&b);
}

static void test_cxf_start_info_text_xml(void)
{
    /* CXF: uuid: boundary, quoted; start-info="text/xml"; Content-ID without <> */
    const char *ct = "multipart/related; type=\"application/xop+xml\"; "
                     "boundary=\"uuid:6b62cda8-95b2-4a5b-8b6b-5c2f3c0f1e2d\"; "
                     "start=\"<root.message@cxf.apache.org>\"; start-info=\"text/xml\"";
    const char *body = "--uuid:6b62cda8-95b2-4a5b-8b6b-5c2f3c0f1e2d\r\n"
                       "Content-Type: application/xop+xml; charset=UTF-8; type=\"text/xml\"\r\n"
                       "Content-Transfer-Encoding: binary\r\n"
                       "Content-ID: <root.message@cxf.apache.org>\r\n\r\n" ENV "\r\n"
                       "--uuid:6b62cda8-95b2-4a5b-8b6b-5c2f3c0f1e2d\r\n"
                       "Content-Type: application/octet-stream\r\n"
                       "Content-Transfer-Encoding: binary\r\n"
                       "Content-ID: 5aeaa450-17f0-4484-b845-a8480c363444-1@cxf.apache.org\r\n\r\n"
                       "hello world\r\n"
                       "--uuid:6b62cda8-95b2-4a5b-8b6b-5c2f3c0f1e2d--";
    check_both_ways(ct, body, strlen(body), "root.message@cxf.apache.org", 1,
                    "5aeaa450-17f0-4484-b845-a8480c363444-1@cxf.apache.org", "hello world", 11);
}

static void test_missing_start_root_first(void)
{
    const char *ct = "multipart/related; boundary=b1; type=\"application/xop+xml\"";
    const char *body = "--b1\r\nContent-Type: application/xop+xml\r\nContent-ID: <r@x>\r\n\r\n" ENV
                       "\r\n--b1\r\nContent-ID: <a@x>\r\n\r\nAAA\r\n--b1--\r\n";
    check_both_ways(ct, body, strlen(body), "r@x", 1, "a@x", "AAA", 3);
}

static void test_root_not_first(void)
{
    const char *ct = "multipart/related; boundary=\"b2\"; start=\"<r@x>\"";
    const char *body = "preamble text\r\n--b2\r\nContent-ID: <a@x>\r\n\r\nAAA\r\n"
                       "--b2\r\nContent-ID: <r@x>\r\nContent-Type: application/xop+xml\r\n\r\n" ENV
                       "\r\n--b2--";
    check_both_ways(ct, body, strlen(body), "r@x", 1, "a@x", "AAA", 3);
}

static void test_lf_only(void)
{
    const char *ct = "multipart/related; boundary=lfb; start=<r@x>";
    const char *body = "--lfb\nContent-ID: <r@x>\nContent-Type: application/xop+xml\n\n" ENV
                       "\n--lfb\ncontent-id:<a@x>\n\nline1\nline2\n--lfb--\n";
    check_both_ways(ct, body, strlen(body), "r@x", 1, "a@x", "line1\nline2", 11);
}

static void test_base64_part(void)
{
    const char *ct = "multipart/related; boundary=b64";
    const char *body = "--b64\r\nContent-ID: <r@x>\r\n\r\n" ENV "\r\n"
                       "--b64\r\nContent-ID: <a@x>\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                       "aGVsbG8g\r\nd29ybGQ=\r\n--b64--\r\n";
    check_both_ways(ct, body, strlen(body), "r@x", 1, "a@x", "hello world", 11);
}

static int parse_rc(const char *ct, const char *body, size_t len, const cg_mime_limits *lim,
                    char *msgout, size_t msgcap)
{
    cg_pool *pool = cg_pool_new(0);
    cg_mime_message msg;
    cg_err err;
    int rc = parse(pool, ct, body, len, 0, lim, &msg, &err);
    int rc1 = parse(pool, ct, body, len, 1, lim, &msg, &err);
    CU_ASSERT_EQUAL(rc, rc1); /* the same verdict byte by byte */
    if (msgout)
        snprintf(msgout, msgcap, "%s", err.msg);
    cg_pool_free(pool);
    return rc;
}

static void test_refusals(void)
{
    cg_mime_limits lim = lim_default();
    char why[1024];
    /* truncated: no closing delimiter */
    const char *trunc = "--t\r\nContent-ID: <r@x>\r\n\r\n" ENV "\r\n--t\r\nContent-ID: <a@x>\r\n\r\nAA";
    CU_ASSERT_EQUAL(parse_rc("multipart/related; boundary=t", trunc, strlen(trunc), &lim, why,
                             sizeof(why)),
                    CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "truncated"));
    /* no boundary parameter */
    cg_pool *pool = cg_pool_new(0);
    cg_mime_reader *r = NULL;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_mime_reader_new(&r, "multipart/related; type=\"application/xop+xml\"",
                                       &lim, pool, &err),
                    CG_EINVAL);
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "boundary"));
    cg_pool_free(pool);
    /* a boundary that never comes */
    const char *nob = "just some bytes\r\n";
    CU_ASSERT_EQUAL(parse_rc("multipart/related; boundary=zz", nob, strlen(nob), &lim, NULL, 0),
                    CG_EINVAL);
    /* duplicate Content-ID */
    const char *dup = "--d\r\nContent-ID: <r@x>\r\n\r\n" ENV "\r\n--d\r\nContent-ID: <a@x>\r\n\r\n1\r\n"
                      "--d\r\nContent-ID: a@x\r\n\r\n2\r\n--d--";
    CU_ASSERT_EQUAL(parse_rc("multipart/related; boundary=d", dup, strlen(dup), &lim, why,
                             sizeof(why)),
                    CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "a@x"));
    /* start names no part */
    const char *nostart = "--s\r\nContent-ID: <r@x>\r\n\r\n" ENV "\r\n--s--";
    CU_ASSERT_EQUAL(parse_rc("multipart/related; boundary=s; start=\"<other@x>\"", nostart,
                             strlen(nostart), &lim, why, sizeof(why)),
                    CG_EINVAL);
    /* bad base64 */
    const char *bad64 = "--e\r\nContent-ID: <r@x>\r\n\r\n" ENV "\r\n--e\r\nContent-ID: <a@x>\r\n"
                        "Content-Transfer-Encoding: base64\r\n\r\n!!!!\r\n--e--";
    CU_ASSERT_EQUAL(parse_rc("multipart/related; boundary=e", bad64, strlen(bad64), &lim, NULL, 0),
                    CG_EINVAL);
}

static void test_too_many_parts(void)
{
    cg_mime_limits lim = lim_default();
    lim.max_parts = 2;
    const char *two = "--p\r\nContent-ID: <r@x>\r\n\r\n" ENV "\r\n--p\r\nContent-ID: <a@x>\r\n\r\n1\r\n"
                      "--p\r\nContent-ID: <b@x>\r\n\r\n2\r\n--p--";
    CU_ASSERT_EQUAL(parse_rc("multipart/related; boundary=p", two, strlen(two), &lim, NULL, 0), CG_OK);
    const char *three = "--p\r\nContent-ID: <r@x>\r\n\r\n" ENV "\r\n--p\r\nContent-ID: <a@x>\r\n\r\n1\r\n"
                        "--p\r\nContent-ID: <b@x>\r\n\r\n2\r\n--p\r\nContent-ID: <c@x>\r\n\r\n3\r\n--p--";
    char why[1024];
    CU_ASSERT_EQUAL(parse_rc("multipart/related; boundary=p", three, strlen(three), &lim, why,
                             sizeof(why)),
                    CG_ETOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "attachments"));
}

/* A message with one attachment of n bytes ('x' and some CR LF near the end). */
static char *with_part(size_t n, size_t *len)
{
    const char *head = "--L\r\nContent-ID: <r@x>\r\n\r\n" ENV "\r\n--L\r\nContent-ID: <a@x>\r\n\r\n";
    const char *tail = "\r\n--L--\r\n";
    size_t hl = strlen(head), tl = strlen(tail);
    char *b = cg_xmalloc(hl + n + tl + 1);
    memcpy(b, head, hl);
    memset(b + hl, 'x', n);
    if (n >= 2) {
        b[hl + n - 2] = '\r';
        b[hl + n - 1] = '\n';
    }
    memcpy(b + hl + n, tail, tl + 1);
    *len = hl + n + tl;
    return b;
}

static void test_part_limit(void)
{
    cg_mime_limits lim = lim_default();
    lim.max_part = 1000;
    size_t len;
    char *at = with_part(1000, &len);
    CU_ASSERT_EQUAL(parse_rc("multipart/related; boundary=L", at, len, &lim, NULL, 0), CG_OK);
    free(at);
    char *over = with_part(1001, &len);
    char why[1024];
    CU_ASSERT_EQUAL(parse_rc("multipart/related; boundary=L", over, len, &lim, why, sizeof(why)),
                    CG_ETOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "a@x"));
    free(over);
    /* the root part against its own limit */
    lim.max_part = 1 << 20;
    lim.max_root = strlen(ENV);
    char *ok = with_part(10, &len);
    CU_ASSERT_EQUAL(parse_rc("multipart/related; boundary=L", ok, len, &lim, NULL, 0), CG_OK);
    lim.max_root = strlen(ENV) - 1;
    CU_ASSERT_EQUAL(parse_rc("multipart/related; boundary=L", ok, len, &lim, NULL, 0), CG_ETOOBIG);
    free(ok);
}

static void test_params(void)
{
    cg_pool *pool = cg_pool_new(0);
    const char *h = "Multipart/Related ; type=\"application/xop+xml\";boundary=abc; "
                    "start=\"<a;b@x>\"; action=\"urn:x\\\"y\"";
    CU_ASSERT_STRING_EQUAL(cg_mime_type(pool, h), "multipart/related");
    CU_ASSERT_STRING_EQUAL(cg_mime_param(pool, h, "BOUNDARY"), "abc");
    CU_ASSERT_STRING_EQUAL(cg_mime_param(pool, h, "start"), "<a;b@x>");
    CU_ASSERT_STRING_EQUAL(cg_mime_param(pool, h, "action"), "urn:x\"y");
    CU_ASSERT_STRING_EQUAL(cg_mime_param(pool, h, "type"), "application/xop+xml");
    CU_ASSERT_PTR_NULL(cg_mime_param(pool, h, "charset"));
    CU_ASSERT_STRING_EQUAL(cg_mime_cid(pool, " <a@b> "), "a@b");
    CU_ASSERT_STRING_EQUAL(cg_mime_cid(pool, "a@b"), "a@b");
    cg_pool_free(pool);
}

void cg_test_register_transport_mime(void)
{
    CU_pSuite s = CU_add_suite("transport/mime", NULL, NULL);
    CU_add_test(s, "Axis2 message: boundary, start, binary part with CR LF and dashes", test_axis2);
    CU_add_test(s, "CXF message: uuid: boundary, start-info text/xml, Content-ID without <>",
                test_cxf_start_info_text_xml);
    CU_add_test(s, "no start parameter: the first part is the root", test_missing_start_root_first);
    CU_add_test(s, "the root part after an attachment, and a preamble", test_root_not_first);
    CU_add_test(s, "bare LF line ends in headers and delimiters", test_lf_only);
    CU_add_test(s, "a base64 part is decoded and hashed decoded", test_base64_part);
    CU_add_test(s, "truncated body, missing boundary, duplicate Content-ID, bad start, bad base64",
                test_refusals);
    CU_add_test(s, "attachment count at the limit and past it", test_too_many_parts);
    CU_add_test(s, "attachment and root size at the limit and one byte past it", test_part_limit);
    CU_add_test(s, "Content-Type parameters: case, quotes, escapes, ';' in quotes", test_params);
}
