/* Tests src/svc/xca.c's pieces that need no network: `home` set on stored objects (inserted,
 * replaced, only on ExtrinsicObject, RegistryPackage and ObjectRef, quotes and '>' in other
 * attributes), the patient id table (mapped, same id without a table, unknown: not asked), how
 * a retrieve is split by a partner's max_retrieve_documents (at the limit and one past), the
 * directory's checks (a bad quirk, a bad table entry), and the patient id parameters. */
#define _POSIX_C_SOURCE 200809L
#include <string.h>

#include "svc/xca.h"
#include "unit.h"

#define HOME "urn:oid:1.2.3.4.100.1"

static const char *
set_home(cg_pool *pool, const char *xml)
{
    size_t len = 0;
    const char *out = cg_xca_set_home(pool, xml, strlen(xml), HOME, &len);
    CU_ASSERT_EQUAL(len, strlen(out));
    return out;
}

static void
test_set_home(void)
{
    cg_pool *pool = cg_pool_new(0);
    CU_ASSERT_STRING_EQUAL(
        set_home(pool, "<rim:ExtrinsicObject xmlns:rim=\"urn:r\" id=\"a\"><rim:Slot/></rim:ExtrinsicObject>"),
        "<rim:ExtrinsicObject home=\"" HOME "\" xmlns:rim=\"urn:r\" id=\"a\"><rim:Slot/></rim:ExtrinsicObject>");
    /* an existing home is replaced, in single or double quotes */
    CU_ASSERT_STRING_EQUAL(set_home(pool, "<rim:RegistryPackage id='p' home='urn:oid:9'/>"),
                           "<rim:RegistryPackage id='p' home='" HOME "'/>");
    CU_ASSERT_STRING_EQUAL(set_home(pool, "<ObjectRef home=\"x\" id=\"o\"/>"),
                           "<ObjectRef home=\"" HOME "\" id=\"o\"/>");
    /* a '>' or "home=" inside another attribute's value is not the end of the tag or a home */
    CU_ASSERT_STRING_EQUAL(
        set_home(pool, "<rim:ExtrinsicObject title=\"a > b home='z'\" id=\"e\">t</rim:ExtrinsicObject>"),
        "<rim:ExtrinsicObject home=\"" HOME "\" title=\"a > b home='z'\" id=\"e\">t</rim:ExtrinsicObject>");
    /* other objects are left as they are */
    const char *assoc = "<rim:Association id=\"x\" sourceObject=\"a\"/>";
    CU_ASSERT_PTR_EQUAL(set_home(pool, assoc), assoc);
    const char *broken = "<rim:ExtrinsicObject id=\"unterminated";
    CU_ASSERT_PTR_EQUAL(set_home(pool, broken), broken);
    CU_ASSERT_PTR_EQUAL(set_home(pool, ""), "");
    cg_pool_free(pool);
}

static void
test_patient_params(void)
{
    CU_ASSERT_TRUE(cg_xca_is_patient_param("$XDSDocumentEntryPatientId"));
    CU_ASSERT_TRUE(cg_xca_is_patient_param("$XDSSubmissionSetPatientId"));
    CU_ASSERT_TRUE(cg_xca_is_patient_param("$XDSFolderPatientId"));
    CU_ASSERT_TRUE(cg_xca_is_patient_param("$patientId"));
    CU_ASSERT_FALSE(cg_xca_is_patient_param("$XDSDocumentEntryUniqueId"));
    CU_ASSERT_FALSE(cg_xca_is_patient_param("$XDSDocumentEntryPatientIdX"));
}

static cg_xca_community
community(const char *name, const char *home, const char *ids, const char *quirks, unsigned max)
{
    cg_xca_community c;
    memset(&c, 0, sizeof c);
    c.name = name;
    c.home_community_id = home;
    c.query_url = "http://127.0.0.1:9/xca/responding-gateway";
    c.retrieve_url = c.query_url;
    c.timeout_ms = 1000;
    c.max_retrieve = max;
    c.patient_ids = ids;
    c.quirks = quirks;
    return c;
}

static void
test_directory(void)
{
    cg_xca_community cs[2] = {
        community("a", "urn:oid:1.2.3.1", NULL, "missing_home, query_mtom", 1),
        community("c", "urn:oid:1.2.3.3", "P1^^^&1.2&ISO=Q9^^^&1.3&ISO  P2=Q2,P3=Q3", NULL, 3)};
    cg_xca_ig_config cfg = {.communities = cs, .ncommunities = 2};
    cg_xca_ig *ig = NULL;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL_FATAL(cg_xca_ig_new(&ig, &cfg, &err), CG_OK);
    /* no table: the same id; a table: its entry, or not asked */
    CU_ASSERT_STRING_EQUAL(cg_xca_map_patient(ig, 0, "P1^^^&1.2&ISO"), "P1^^^&1.2&ISO");
    CU_ASSERT_STRING_EQUAL(cg_xca_map_patient(ig, 1, "P1^^^&1.2&ISO"), "Q9^^^&1.3&ISO");
    CU_ASSERT_STRING_EQUAL(cg_xca_map_patient(ig, 1, "P3"), "Q3");
    CU_ASSERT_PTR_NULL(cg_xca_map_patient(ig, 1, "P4"));
    /* batches: at max_retrieve one, one past two */
    CU_ASSERT_EQUAL(cg_xca_retrieve_batches(ig, 0, 0), 0);
    CU_ASSERT_EQUAL(cg_xca_retrieve_batches(ig, 0, 1), 1);
    CU_ASSERT_EQUAL(cg_xca_retrieve_batches(ig, 0, 2), 2);
    CU_ASSERT_EQUAL(cg_xca_retrieve_batches(ig, 1, 3), 1);
    CU_ASSERT_EQUAL(cg_xca_retrieve_batches(ig, 1, 4), 2);
    cg_xca_ig_free(ig);

    cs[0] = community("bad", "urn:oid:1.2.3.1", NULL, "missing_home fast", 1);
    cfg.ncommunities = 1;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_xca_ig_new(&ig, &cfg, &err), CG_EINVAL);
    CU_ASSERT_PTR_NULL(ig);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "community.bad.quirks"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "fast"));
    cs[0] = community("bad", "urn:oid:1.2.3.1", "P1=Q1 P2", NULL, 1);
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_xca_ig_new(&ig, &cfg, &err), CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "community.bad.patient_ids"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "\"P2\""));
}

void
cg_test_register_svc_xca(void)
{
    CU_pSuite s = CU_add_suite("svc/xca", NULL, NULL);
    CU_add_test(s, "home set on stored ExtrinsicObject, RegistryPackage, ObjectRef only",
                test_set_home);
    CU_add_test(s, "patient id parameters", test_patient_params);
    CU_add_test(s, "directory: patient id table, retrieve batches, bad quirk or entry",
                test_directory);
}
