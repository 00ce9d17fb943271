/* Tests src/audit/audit.c: the DICOM audit message (PS3.15 A.5.1) of each transaction: element
 * order, the codes of the IHE tables, the participants on the right side, the participant
 * objects, and what is bounded or cleaned. */
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "unit.h"
#include "util/alloc.h"
#include "util/err.h"

static const cg_audit_source SRC = {"node-1", "1.2.3.4.5", "gateway.example.org", 4242};

/* The message of ev, parsed. */
static xmlDocPtr message(const cg_audit_event *ev)
{
    cg_buf b;
    cg_buf_init(&b, (size_t)16 << 20);
    CU_ASSERT_EQUAL_FATAL(cg_audit_message(&b, ev, &SRC), CG_OK);
    CU_ASSERT_PTR_NULL(strchr(b.data, '\n')); /* one line: one syslog message */
    xmlDocPtr doc = xmlReadMemory(b.data, (int)b.len, "audit.xml", NULL, XML_PARSE_NONET);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    cg_buf_dispose(&b);
    return doc;
}

/* The string value of an XPath expression over doc ("" when nothing). */
static char *xp(xmlDocPtr doc, const char *expr)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
    xmlChar *s = o ? xmlXPathCastToString(o) : NULL;
    char *out = cg_xstrdup(s ? (const char *)s : "");
    xmlFree(s);
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(ctx);
    return out;
}

#define CU_ASSERT_XP(doc, expr, want)                                                              \
    do {                                                                                           \
        char *got_ = xp(doc, expr);                                                                \
        CU_ASSERT_STRING_EQUAL(got_, want);                                                        \
        free(got_);                                                                                \
    } while (0)

static cg_audit_event *event(cg_pool *pool, const char *tx)
{
    cg_audit_event *ev = cg_audit_event_new(pool);
    cg_audit_set_transaction(ev, tx);
    ev->peer_addr = "192.0.2.7:51234";
    ev->peer_subject = "CN=ehr.general.test,O=General Hospital";
    ev->endpoint = "https://gateway.example.org:8443/xds/repository";
    return ev;
}

static void test_element_order_and_required_attributes(void)
{
    cg_pool *pool = cg_pool_new(4096);
    cg_audit_event *ev = event(pool, "ITI-41");
    cg_audit_add_patient(ev, "PT-1^^^&1.2.3&ISO");
    cg_audit_set_submission_set(ev, "1.2.3.9");
    xmlDocPtr doc = message(ev);
    /* AuditMessage: EventIdentification, ActiveParticipant+, AuditSourceIdentification,
     * ParticipantObjectIdentification* */
    CU_ASSERT_XP(doc, "concat(name(/*), ':', name(/*/*[1]), ',', name(/*/*[2]), ',', name(/*/*[3]), ',', name(/*/*[4]), ',', name(/*/*[5]), ',', name(/*/*[6]), ',', count(/*/*))",
                 "AuditMessage:EventIdentification,ActiveParticipant,ActiveParticipant,"
                 "AuditSourceIdentification,ParticipantObjectIdentification,"
                 "ParticipantObjectIdentification,6");
    CU_ASSERT_XP(doc, "count(//*[@csd-code][not(@codeSystemName) or not(@originalText)])", "0");
    CU_ASSERT_XP(doc, "count(/*/ActiveParticipant[not(@UserID) or not(@UserIsRequestor)])", "0");
    CU_ASSERT_XP(doc, "count(//EventIdentification[@EventDateTime and @EventOutcomeIndicator='0' and @EventActionCode='C'])", "1");
    CU_ASSERT_XP(doc, "string-length(//EventIdentification/@EventDateTime)", "24"); /* ms, Z */
    CU_ASSERT_XP(doc, "//AuditSourceIdentification/@AuditSourceID", "node-1");
    CU_ASSERT_XP(doc, "//AuditSourceIdentification/@AuditEnterpriseSiteID", "1.2.3.4.5");
    CU_ASSERT_XP(doc, "//AuditSourceIdentification/AuditSourceTypeCode/@csd-code", "4");
    xmlFreeDoc(doc);
    cg_pool_free(pool);
}

/* EventID and action of each transaction (ITI TF-2 audit tables) */
static void test_transaction_codes(void)
{
    static const struct {
        const char *tx, *event, *action, *type;
    } rows[] = {
        {"ITI-41", "110107", "C", "ITI-41"}, {"ITI-42", "110107", "C", "ITI-42"},
        {"ITI-43", "110106", "R", "ITI-43"}, {"ITI-18", "110112", "E", "ITI-18"},
        {"ITI-51", "110112", "E", "ITI-51"}, {"ITI-86", "110110", "D", "ITI-86"},
        {"ITI-62", "110110", "D", "ITI-62"}, {"ITI-57", "110110", "U", "ITI-57"},
        {"ITI-38", "110112", "E", "ITI-38"}, {"ITI-39", "110106", "R", "ITI-39"},
        {"ITI-8", "110110", "C", "ITI-8"},   {CG_AUDIT_DOCUMENT_VIEW, "110106", "R", ""},
        {NULL, "110100", "E", ""},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        cg_pool *pool = cg_pool_new(4096);
        xmlDocPtr doc = message(event(pool, rows[i].tx));
        CU_ASSERT_XP(doc, "//EventID/@csd-code", rows[i].event);
        CU_ASSERT_XP(doc, "//EventID/@codeSystemName", "DCM");
        CU_ASSERT_XP(doc, "//EventIdentification/@EventActionCode", rows[i].action);
        CU_ASSERT_XP(doc, "//EventTypeCode/@csd-code", rows[i].type);
        if (rows[i].type[0])
            CU_ASSERT_XP(doc, "//EventTypeCode/@codeSystemName", "IHE Transactions");
        xmlFreeDoc(doc);
        cg_pool_free(pool);
    }
    CU_ASSERT_STRING_EQUAL(cg_audit_transaction_by_action("urn:ihe:iti:2007:RetrieveDocumentSet")->id,
                           "ITI-43");
    CU_ASSERT_PTR_NULL(cg_audit_transaction_by_action("urn:example:nothing")->id);
    CU_ASSERT_PTR_NULL(cg_audit_transaction_by_action(NULL)->id);
}

/* The requestor is the Source Role for an import or a query; the repository is for ITI-43. */
static void test_participant_roles(void)
{
    cg_pool *pool = cg_pool_new(4096);
    cg_audit_event *ev = event(pool, "ITI-41");
    ev->peer_user = "http://source.example.org/replyto";
    xmlDocPtr doc = message(ev);
    CU_ASSERT_XP(doc, "/*/ActiveParticipant[RoleIDCode/@csd-code='110153']/@UserID",
                 "http://source.example.org/replyto");
    CU_ASSERT_XP(doc, "/*/ActiveParticipant[RoleIDCode/@csd-code='110153']/@UserIsRequestor", "true");
    CU_ASSERT_XP(doc, "/*/ActiveParticipant[RoleIDCode/@csd-code='110153']/@UserName",
                 "CN=ehr.general.test,O=General Hospital");
    CU_ASSERT_XP(doc, "/*/ActiveParticipant[RoleIDCode/@csd-code='110153']/@NetworkAccessPointID", "192.0.2.7");
    CU_ASSERT_XP(doc, "/*/ActiveParticipant[RoleIDCode/@csd-code='110153']/@NetworkAccessPointTypeCode", "2");
    CU_ASSERT_XP(doc, "/*/ActiveParticipant[RoleIDCode/@csd-code='110152']/@UserID",
                 "https://gateway.example.org:8443/xds/repository");
    CU_ASSERT_XP(doc, "/*/ActiveParticipant[RoleIDCode/@csd-code='110152']/@AlternativeUserID", "4242");
    CU_ASSERT_XP(doc, "/*/ActiveParticipant[RoleIDCode/@csd-code='110152']/@NetworkAccessPointTypeCode", "1");
    xmlFreeDoc(doc);

    ev = event(pool, "ITI-43"); /* no wsa:ReplyTo: the anonymous address */
    ev->peer_addr = "[2001:db8::7]:4000";
    doc = message(ev);
    CU_ASSERT_XP(doc, "/*/ActiveParticipant[1]/RoleIDCode/@csd-code", "110153");
    CU_ASSERT_XP(doc, "/*/ActiveParticipant[1]/@UserID", "https://gateway.example.org:8443/xds/repository");
    CU_ASSERT_XP(doc, "/*/ActiveParticipant[1]/@UserIsRequestor", "false");
    CU_ASSERT_XP(doc, "/*/ActiveParticipant[2]/@UserID", "http://www.w3.org/2005/08/addressing/anonymous");
    CU_ASSERT_XP(doc, "/*/ActiveParticipant[2]/@NetworkAccessPointID", "2001:db8::7");
    CU_ASSERT_XP(doc, "/*/ActiveParticipant[2]/@UserIsRequestor", "true");
    xmlFreeDoc(doc);
    cg_pool_free(pool);
}

static char *unbase64(const char *b64)
{
    size_t n = strlen(b64);
    unsigned char *out = cg_xcalloc(1, n + 1);
    int len = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
    if (len < 0) {
        free(out);
        return NULL;
    }
    while (n > 0 && b64[n - 1] == '=') { /* EVP_DecodeBlock counts the padding */
        len--;
        n--;
    }
    out[len] = '\0';
    return (char *)out;
}

static void test_participant_objects(void)
{
    cg_pool *pool = cg_pool_new(4096);
    cg_audit_event *ev = event(pool, "ITI-86");
    cg_audit_add_patient(ev, "PT-1^^^&1.2.3&ISO");
    cg_audit_add_patient(ev, "PT-1^^^&1.2.3&ISO"); /* once */
    cg_audit_add_document(ev, "1.2.3.4.1", "1.2.3.4.5.6.7", "urn:oid:1.2.3");
    cg_audit_add_document(ev, "1.2.3.4.2", "1.2.3.4.5.6.7", NULL);
    xmlDocPtr doc = message(ev);
    CU_ASSERT_XP(doc, "count(//ParticipantObjectIdentification[@ParticipantObjectTypeCode='1' and @ParticipantObjectTypeCodeRole='1'])", "1");
    CU_ASSERT_XP(doc, "//ParticipantObjectIdentification[@ParticipantObjectTypeCodeRole='1']/ParticipantObjectIDTypeCode/@csd-code", "2");
    CU_ASSERT_XP(doc, "count(//ParticipantObjectIdentification[@ParticipantObjectTypeCode='2' and @ParticipantObjectTypeCodeRole='3' and @ParticipantObjectDataLifeCycle='15'])", "2");
    CU_ASSERT_XP(doc, "//ParticipantObjectIdentification[@ParticipantObjectID='1.2.3.4.1']/ParticipantObjectIDTypeCode/@csd-code", "9");
    char *v = xp(doc, "//ParticipantObjectIdentification[@ParticipantObjectID='1.2.3.4.1']/ParticipantObjectDetail[@type='Repository Unique Id']/@value");
    char *plain = unbase64(v);
    CU_ASSERT_STRING_EQUAL(plain, "1.2.3.4.5.6.7");
    free(plain);
    free(v);
    v = xp(doc, "//ParticipantObjectIdentification[@ParticipantObjectID='1.2.3.4.1']/ParticipantObjectDetail[@type='ihe:homeCommunityID']/@value");
    plain = unbase64(v);
    CU_ASSERT_STRING_EQUAL(plain, "urn:oid:1.2.3");
    free(plain);
    free(v);
    CU_ASSERT_XP(doc, "count(//ParticipantObjectIdentification[@ParticipantObjectID='1.2.3.4.2']/ParticipantObjectDetail)", "1");
    xmlFreeDoc(doc);

    ev = event(pool, "ITI-41");
    cg_audit_set_submission_set(ev, "1.2.3.99");
    doc = message(ev);
    CU_ASSERT_XP(doc, "//ParticipantObjectIdentification[@ParticipantObjectTypeCodeRole='20']/@ParticipantObjectID", "1.2.3.99");
    CU_ASSERT_XP(doc, "//ParticipantObjectIdentification[@ParticipantObjectTypeCodeRole='20']/ParticipantObjectIDTypeCode/@csd-code",
                 "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd");
    CU_ASSERT_XP(doc, "//ParticipantObjectIdentification[@ParticipantObjectTypeCodeRole='20']/ParticipantObjectIDTypeCode/@codeSystemName",
                 "IHE XDS Metadata");
    xmlFreeDoc(doc);
    cg_pool_free(pool);
}

/* The query: its id, the request with the namespaces declared outside it, UTF-8. */
static void test_query(void)
{
    static const char env[] =
        "<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope' "
        "xmlns:query='urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0' "
        "xmlns:rim='urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0'><s:Body>"
        "<query:AdhocQueryRequest><rim:AdhocQuery id='urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d'/>"
        "</query:AdhocQueryRequest></s:Body></s:Envelope>";
    xmlDocPtr in = xmlReadMemory(env, sizeof env - 1, "env.xml", NULL, XML_PARSE_NONET);
    xmlNodePtr req = xmlDocGetRootElement(in)->children->children;
    cg_pool *pool = cg_pool_new(4096);
    cg_audit_event *ev = event(pool, "ITI-18");
    cg_audit_set_query(ev, "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d", req, "urn:oid:1.2.3");
    xmlDocPtr doc = message(ev);
    CU_ASSERT_XP(doc, "//ParticipantObjectIdentification[@ParticipantObjectTypeCodeRole='24']/@ParticipantObjectID",
                 "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d");
    CU_ASSERT_XP(doc, "//ParticipantObjectIdentification[@ParticipantObjectTypeCodeRole='24']/ParticipantObjectIDTypeCode/@csd-code", "ITI-18");
    char *q = xp(doc, "//ParticipantObjectQuery");
    char *text = unbase64(q);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    xmlDocPtr qd = xmlReadMemory(text, (int)strlen(text), "q.xml", NULL, XML_PARSE_NONET);
    CU_ASSERT_PTR_NOT_NULL(qd); /* well-formed: its prefixes are declared */
    CU_ASSERT_XP(qd, "local-name(/*)", "AdhocQueryRequest");
    CU_ASSERT_XP(qd, "namespace-uri(/*/*)", "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0");
    xmlFreeDoc(qd);
    free(text);
    free(q);
    char *enc = xp(doc, "//ParticipantObjectDetail[@type='QueryEncoding']/@value");
    text = unbase64(enc);
    CU_ASSERT_STRING_EQUAL(text, "UTF-8");
    free(text);
    free(enc);
    CU_ASSERT_XP(doc, "count(//ParticipantObjectDetail[@type='urn:ihe:iti:xca:2010:homeCommunityId'])", "1");
    xmlFreeDoc(doc);
    xmlFreeDoc(in);
    cg_pool_free(pool);
}

/* Outcome; identifiers cut and cleaned; setters with no event do nothing. */
static void test_outcome_and_bounds(void)
{
    cg_pool *pool = cg_pool_new(4096);
    cg_audit_event *ev = event(pool, "ITI-42");
    cg_audit_set_outcome(ev, CG_AUDIT_SERIOUS_FAILURE, "XDSUnknownPatientId:\nline two");
    char big[CG_AUDIT_MAX_TEXT + 100];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cg_audit_add_patient(ev, big);
    for (int i = 0; i < CG_AUDIT_MAX_PATIENTS + 5; i++)
        cg_audit_add_patient(ev, cg_pool_printf(pool, "P%d^^^&1.2&ISO", i));
    xmlDocPtr doc = message(ev);
    CU_ASSERT_XP(doc, "//EventIdentification/@EventOutcomeIndicator", "8");
    CU_ASSERT_XP(doc, "//EventOutcomeDescription", "XDSUnknownPatientId: line two");
    CU_ASSERT_XP(doc, "string-length(//ParticipantObjectIdentification[1]/@ParticipantObjectID)", "1024");
    char *n = xp(doc, "count(//ParticipantObjectIdentification[@ParticipantObjectTypeCodeRole='1'])");
    CU_ASSERT_EQUAL((int)strtol(n, NULL, 10), CG_AUDIT_MAX_PATIENTS);
    free(n);
    xmlFreeDoc(doc);
    /* none of these may crash: a request made without an event */
    cg_audit_add_patient(NULL, "x");
    cg_audit_add_document(NULL, "x", NULL, NULL);
    cg_audit_set_submission_set(NULL, "x");
    cg_audit_set_query(NULL, "x", NULL, NULL);
    cg_audit_set_outcome(NULL, CG_AUDIT_MAJOR_FAILURE, "x");
    cg_audit_set_transaction(NULL, "ITI-41");
    cg_pool_free(pool);
}

void cg_test_register_audit(void)
{
    CU_pSuite s = CU_add_suite("audit/audit", NULL, NULL);
    CU_add_test(s, "element order and required attributes", test_element_order_and_required_attributes);
    CU_add_test(s, "EventID and action of each transaction", test_transaction_codes);
    CU_add_test(s, "participants: who is the Source Role", test_participant_roles);
    CU_add_test(s, "participant objects: patient, submission set, documents", test_participant_objects);
    CU_add_test(s, "the query in base64 with its namespaces", test_query);
    CU_add_test(s, "outcome; identifiers bounded and on one line", test_outcome_and_bounds);
}
