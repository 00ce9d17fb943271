/* Tests for transport/client against the in-process server: inline and MTOM calls, faults,
 * and mutual TLS with certificates made at test time. */
#define _POSIX_C_SOURCE 200809L
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "transport/client.h"
#include "unit.h"
#include "util/alloc.h"

static xmlDocPtr echo_doc(const char *name, int mtom)
{
    xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNodePtr root = xmlNewDocNode(doc, NULL, (const xmlChar *)name, NULL);
    xmlSetNs(root, xmlNewNs(root, (const xmlChar *)ECHO_NS, (const xmlChar *)"t"));
    if (mtom)
        xmlSetProp(root, (const xmlChar *)"mtom", (const xmlChar *)"1");
    xmlDocSetRootElement(doc, root);
    return doc;
}

static char *attr(xmlNodePtr n, const char *name)
{
    return n ? (char *)xmlGetProp(n, (const xmlChar *)name) : NULL;
}

static void test_calls(void)
{
    test_server ts;
    cg_server_config cfg;
    test_server_config(&cfg, &ts);
    test_server_start(&ts, &cfg);
    char *url = cg_xasprintf("http://127.0.0.1:%d%s", ts.port, ECHO_PATH);
    cg_client *c = NULL;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL_FATAL(cg_client_new(&c, url, NULL, 5, &err), CG_OK);
    cg_pool *pool = cg_pool_new(0);

    /* inline */
    xmlDocPtr body = echo_doc("Echo", 0);
    cg_client_answer ans;
    int rc = cg_client_call(c, pool, ECHO_ACTION, body, NULL, 0, 0, &ans, &err);
    if (rc != CG_OK)
        fprintf(stderr, "cg_client_call: %s\n", err.msg);
    CU_ASSERT_EQUAL(rc, CG_OK);
    CU_ASSERT_EQUAL(ans.http_status, 200);
    CU_ASSERT(!ans.fault);
    CU_ASSERT_PTR_NOT_NULL(ans.body);
    CU_ASSERT_STRING_EQUAL(ans.action ? ans.action : "", ECHO_RESPONSE_ACTION);
    CU_ASSERT_PTR_NOT_NULL(ans.relates_to);
    char *a = attr(ans.body, "action");
    CU_ASSERT_STRING_EQUAL(a ? a : "", ECHO_ACTION);
    xmlFree(a);
    xmlFreeDoc(body);
    cg_pool_reset(pool);

    /* MTOM both ways, on the same connection */
    static const unsigned char doc[] = "<ClinicalDocument/>\r\n--boundary-like\r\n\x00\xff";
    cg_out_part part = {"doc1@client", "text/xml", doc, sizeof(doc) - 1};
    body = echo_doc("Echo", 0);
    rc = cg_client_call(c, pool, ECHO_ACTION, body, &part, 1, 1, &ans, &err);
    CU_ASSERT_EQUAL(rc, CG_OK);
    CU_ASSERT_EQUAL(ans.http_status, 200);
    CU_ASSERT_EQUAL(ans.nparts, 1);
    xmlNodePtr p = ans.body ? xmlFirstElementChild(ans.body) : NULL;
    char *sha = attr(p, "sha1");
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    char want[41];
    EVP_Digest(doc, sizeof(doc) - 1, md, &n, EVP_sha1(), NULL);
    for (unsigned i = 0; i < n; i++)
        snprintf(want + 2 * i, 3, "%02x", md[i]);
    CU_ASSERT_STRING_EQUAL(sha ? sha : "", want);
    xmlFree(sha);
    char *id = attr(p, "id");
    CU_ASSERT_STRING_EQUAL(id ? id : "", "doc1@client");
    xmlFree(id);
    if (ans.nparts == 1)
        CU_ASSERT_EQUAL(ans.parts[0].len, 26);
    xmlFreeDoc(body);
    cg_pool_reset(pool);

    /* MTOM asked for with no parts: a multipart message with the root only */
    body = echo_doc("Echo", 0);
    rc = cg_client_call(c, pool, ECHO_ACTION, body, NULL, 0, 1, &ans, &err);
    CU_ASSERT_EQUAL(rc, CG_OK);
    CU_ASSERT_EQUAL(ans.http_status, 200);
    CU_ASSERT_EQUAL(ans.nparts, 0);
    CU_ASSERT_PTR_NOT_NULL(ans.body);
    xmlFreeDoc(body);
    cg_pool_reset(pool);

    /* a fault is an answer */
    body = echo_doc("Fail", 0);
    rc = cg_client_call(c, pool, ECHO_ACTION, body, NULL, 0, 0, &ans, &err);
    CU_ASSERT_EQUAL(rc, CG_OK);
    CU_ASSERT_EQUAL(ans.http_status, 500);
    CU_ASSERT(ans.fault);
    CU_ASSERT_PTR_NOT_NULL(ans.fault_code && strstr(ans.fault_code, "Receiver"));
    CU_ASSERT_STRING_EQUAL(ans.fault_reason ? ans.fault_reason : "", "asked to fail");
    xmlFreeDoc(body);
    cg_pool_reset(pool);

    body = echo_doc("Echo", 0);
    rc = cg_client_call(c, pool, "urn:unknown", body, NULL, 0, 0, &ans, &err);
    CU_ASSERT_EQUAL(rc, CG_OK);
    CU_ASSERT_EQUAL(ans.http_status, 400);
    CU_ASSERT_PTR_NOT_NULL(ans.fault_subcode && strstr(ans.fault_subcode, "ActionNotSupported"));
    xmlFreeDoc(body);

    cg_pool_free(pool);
    cg_client_free(c);
    free(url);
    test_server_stop(&ts);
}

static void test_mutual_tls(void)
{
    char *dir = cg_test_tmpdir();
    if (tls_make_certs(dir) != 0) {
        CU_FAIL("openssl could not make the test certificates");
        free(dir);
        return;
    }
    char *cert = cg_xasprintf("%s/server.pem", dir), *key = cg_xasprintf("%s/server.key", dir);
    char *ca = cg_xasprintf("%s/ca.pem", dir);
    char *ccert = cg_xasprintf("%s/client.pem", dir), *ckey = cg_xasprintf("%s/client.key", dir);
    char *rcert = cg_xasprintf("%s/rogue.pem", dir), *rkey = cg_xasprintf("%s/rogue.key", dir);
    test_server ts;
    cg_server_config cfg;
    test_server_config(&cfg, &ts);
    cfg.tls_cert = cert;
    cfg.tls_key = key;
    cfg.tls_ca = ca;
    test_server_start(&ts, &cfg);
    char *url = cg_xasprintf("https://127.0.0.1:%d%s", ts.port, ECHO_PATH);
    cg_pool *pool = cg_pool_new(0);
    cg_err err;

    /* with the client certificate: accepted, its subject reaches the handler */
    cg_client_tls tls = {.cert = ccert, .key = ckey, .ca = ca, .skip_host_check = 1};
    cg_client *c = NULL;
    cg_err_init(&err);
    CU_ASSERT_EQUAL_FATAL(cg_client_new(&c, url, &tls, 5, &err), CG_OK);
    xmlDocPtr body = echo_doc("Echo", 0);
    cg_client_answer ans;
    int rc = cg_client_call(c, pool, ECHO_ACTION, body, NULL, 0, 0, &ans, &err);
    if (rc != CG_OK)
        fprintf(stderr, "mTLS call: %s\n", err.msg);
    CU_ASSERT_EQUAL(rc, CG_OK);
    CU_ASSERT_EQUAL(ans.http_status, 200);
    char *subject = attr(ans.body, "subject");
    CU_ASSERT_PTR_NOT_NULL(subject && strstr(subject, "CN=cdagate-test-client"));
    CU_ASSERT_PTR_NOT_NULL(subject && strstr(subject, "O=cdagate tests"));
    xmlFree(subject);
    cg_client_free(c);
    cg_pool_reset(pool);

    /* without a client certificate: refused */
    cg_client_tls nocert = {.ca = ca, .skip_host_check = 1};
    cg_err_init(&err);
    CU_ASSERT_EQUAL_FATAL(cg_client_new(&c, url, &nocert, 5, &err), CG_OK);
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_client_call(c, pool, ECHO_ACTION, body, NULL, 0, 0, &ans, &err), CG_EIO);
    cg_client_free(c);
    cg_pool_reset(pool);

    /* with a certificate our CA did not sign: refused */
    cg_client_tls rogue = {.cert = rcert, .key = rkey, .ca = ca, .skip_host_check = 1};
    cg_err_init(&err);
    CU_ASSERT_EQUAL_FATAL(cg_client_new(&c, url, &rogue, 5, &err), CG_OK);
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_client_call(c, pool, ECHO_ACTION, body, NULL, 0, 0, &ans, &err), CG_EIO);
    cg_client_free(c);

    /* and the server still serves a good client */
    cg_err_init(&err);
    CU_ASSERT_EQUAL_FATAL(cg_client_new(&c, url, &tls, 5, &err), CG_OK);
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_client_call(c, pool, ECHO_ACTION, body, NULL, 0, 0, &ans, &err), CG_OK);
    cg_client_free(c);

    xmlFreeDoc(body);
    cg_pool_free(pool);
    test_server_stop(&ts);
    free(url);
    free(cert), free(key), free(ca), free(ccert), free(ckey), free(rcert), free(rkey);
    free(dir);
}

void cg_test_register_transport_client(void)
{
    CU_pSuite s = CU_add_suite("transport/client", NULL, NULL);
    CU_add_test(s, "inline and MTOM calls on one connection, faults as answers", test_calls);
    CU_add_test(s, "mutual TLS: good certificate in, none or a rogue one refused, subject passed",
                test_mutual_tls);
}
