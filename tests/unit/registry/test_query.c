/* Tests src/registry/query.c (and the store's find under it): parameter rules and their error
 * codes, value encodings, code/time/author filters, the result limit at and past its bound. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebrim/model.h"
#include "registry/query.h"
#include "unit.h"
#include "util/pool.h"

#define P1 "PQ-1^^^&1.2.3&ISO"
#define P2 "PQ-2^^^&1.2.3&ISO"
#define APPROVED "('" CG_STATUS_APPROVED "')"

static cg_store *store;
static char *dir;

/* A DocumentEntry with one classCode, creationTime and author, as the registry stores it. */
static void
put_doc(const char *uuid, const char *patient, const char *uid, const char *class_code,
        const char *creation, const char *author)
{
    cg_store_code codes[] = {{"classCode", class_code, "2.16.840.1.113883.6.1"},
                             {"confidentialityCode", "N", "2.16.840.1.113883.5.25"}};
    const char *authors[] = {author};
    char xml[512];
    snprintf(xml, sizeof xml, "<rim:ExtrinsicObject xmlns:rim=\"" CG_NS_RIM "\" id=\"%s\"/>", uuid);
    cg_store_object o = {.kind = CG_OBJ_DOCUMENT_ENTRY,
                         .uuid = uuid,
                         .status = CG_STATUS_APPROVED,
                         .patient_id = patient,
                         .unique_id = uid,
                         .object_type = CG_UUID_STABLE_DOCUMENT,
                         .size = -1,
                         .creation_time = creation,
                         .author_persons = authors,
                         .nauthor_persons = 1,
                         .codes = codes,
                         .ncodes = 2,
                         .xml = xml,
                         .xml_len = strlen(xml)};
    cg_store_submission sub = {.objects = &o, .nobjects = 1};
    cg_store_conflicts conflicts = {0};
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL_FATAL(cg_store_submit(store, &sub, &conflicts, &err), CG_OK);
    cg_store_conflicts_dispose(&conflicts);
}

static int
suite_init(void)
{
    dir = cg_test_tmpdir();
    cg_store_config sc = {
        .data_dir = dir, .readers = 2, .commit_batch = 8, .busy_timeout_ms = 5000};
    cg_err err;
    cg_err_init(&err);
    if (cg_store_open(&store, &sc, &err) != CG_OK)
        return 1;
    return 0;
}

static int
suite_clean(void)
{
    cg_store_free(store);
    free(dir);
    return 0;
}

static int loaded;
static void
load(void)
{
    if (loaded++)
        return;
    put_doc("urn:uuid:00000000-0000-4000-8000-000000000001", P1, "1.2.3.1", "18842-5",
            "20261120093000", "^Smith^John^^^");
    put_doc("urn:uuid:00000000-0000-4000-8000-000000000002", P1, "1.2.3.2", "34133-9", "2025",
            "^Jones^Ann^^^");
    put_doc("urn:uuid:00000000-0000-4000-8000-000000000003", P1, "1.2.3.3", "18842-5", "20240615",
            "^Smithers^Bo^^^");
    put_doc("urn:uuid:00000000-0000-4000-8000-000000000004", P2, "1.2.3.4", "18842-5",
            "20261120093000", "^Smith^John^^^");
}

/* Runs query id with slots "NAME=VALUE" (one rim:Value each); returns the result count, or -1
 * when the answer holds errors (their first code in *code). */
static long
run(size_t limit, const char *id, int leaf, const char **code, size_t n, const char **slots)
{
    load();
    cg_registry_config cfg;
    cg_registry_config_default(&cfg);
    cfg.max_query_results = limit;
    cg_registry *reg = cg_registry_new(store, &cfg);
    cg_pool *pool = cg_pool_new(0);
    cg_query_param params[8];
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(slots[i], '=');
        const char **v = cg_pool_calloc(pool, 1, sizeof(*v));
        v[0] = cg_pool_strdup(pool, eq + 1);
        params[i] =
            (cg_query_param){cg_pool_strndup(pool, slots[i], (size_t)(eq - slots[i])), v, 1};
    }
    cg_query_request req = {.query_id = id, .leaf_class = leaf, .params = params, .nparams = n};
    cg_errlist errs;
    cg_errlist_init(&errs, pool);
    cg_query_result res;
    CU_ASSERT_EQUAL(cg_registry_query(reg, &req, pool, &res, &errs), CG_OK);
    long got = (long)res.count;
    static char first[64];
    first[0] = '\0';
    for (size_t i = 0; i < errs.count; i++)
        if (errs.items[i].severity == CG_IHE_ERROR) {
            snprintf(first, sizeof first, "%s", errs.items[i].code);
            break;
        }
    if (errs.errors > 0)
        got = -1;
    if (leaf && got > 0)
        CU_ASSERT_PTR_NOT_NULL(res.items[0].xml);
    if (code)
        *code = first;
    cg_pool_free(pool);
    cg_registry_free(reg);
    return got;
}

#define FIND(...)                                                                                  \
    run(100, CG_SQ_FIND_DOCUMENTS, 0, &code,                                                       \
        sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *), (const char *[]){__VA_ARGS__})

static void
test_find_filters(void)
{
    const char *code;
    CU_ASSERT_EQUAL(
        FIND("$XDSDocumentEntryPatientId='" P1 "'", "$XDSDocumentEntryStatus=" APPROVED), 3);
    CU_ASSERT_EQUAL(FIND("$XDSDocumentEntryPatientId='" P1 "'", "$XDSDocumentEntryStatus=" APPROVED,
                         "$XDSDocumentEntryClassCode=('18842-5^^^2.16.840.1.113883.6.1')"),
                    2);
    CU_ASSERT_EQUAL(FIND("$XDSDocumentEntryPatientId='" P1 "'", "$XDSDocumentEntryStatus=" APPROVED,
                         "$XDSDocumentEntryClassCode=('18842-5^^2.16.840.1.113883.6.1', "
                         "'34133-9^^^2.16.840.1.113883.6.1')"),
                    3);
    /* From inclusive, To exclusive, lower precision sorting before its period */
    CU_ASSERT_EQUAL(FIND("$XDSDocumentEntryPatientId='" P1 "'", "$XDSDocumentEntryStatus=" APPROVED,
                         "$XDSDocumentEntryCreationTimeFrom=2025",
                         "$XDSDocumentEntryCreationTimeTo=20261120093000"),
                    1);
    CU_ASSERT_EQUAL(FIND("$XDSDocumentEntryPatientId='" P1 "'", "$XDSDocumentEntryStatus=" APPROVED,
                         "$XDSDocumentEntryCreationTimeTo=20261120093001"),
                    3);
    CU_ASSERT_EQUAL(FIND("$XDSDocumentEntryPatientId='" P1 "'", "$XDSDocumentEntryStatus=" APPROVED,
                         "$XDSDocumentEntryAuthorPerson=('^Smith%')"),
                    2);
    CU_ASSERT_EQUAL(FIND("$XDSDocumentEntryPatientId='" P1 "'", "$XDSDocumentEntryStatus=" APPROVED,
                         "$XDSDocumentEntryAuthorPerson=('^Smith^J_hn^^^')"),
                    1);
    /* quotes inside a value: '' is one quote, and it is only a value */
    CU_ASSERT_EQUAL(
        FIND("$XDSDocumentEntryPatientId='x'' OR 1=1 --'", "$XDSDocumentEntryStatus=" APPROVED), 0);
    /* the type: stable by default; on-demand asked for: none here */
    CU_ASSERT_EQUAL(FIND("$XDSDocumentEntryPatientId='" P1 "'", "$XDSDocumentEntryStatus=" APPROVED,
                         "$XDSDocumentEntryType=('" CG_UUID_ONDEMAND_DOCUMENT "')"),
                    0);
}

static void
test_errors(void)
{
    const char *code;
    CU_ASSERT_EQUAL(FIND("$XDSDocumentEntryStatus=" APPROVED), -1);
    CU_ASSERT_STRING_EQUAL(code, CG_XDS_SQ_MISSING_PARAM);
    CU_ASSERT_EQUAL(
        FIND("$XDSDocumentEntryPatientId=('" P1 "','" P2 "')", "$XDSDocumentEntryStatus=" APPROVED),
        -1);
    CU_ASSERT_STRING_EQUAL(code, CG_XDS_SQ_PARAM_NUMBER);
    CU_ASSERT_EQUAL(FIND("$XDSDocumentEntryPatientId='" P1 "'", "$XDSDocumentEntryStatus=" APPROVED,
                         "$XDSDocumentEntryClassCode=('a')"),
                    -1);
    CU_ASSERT_STRING_EQUAL(code, CG_XDS_REGISTRY_ERROR);
    CU_ASSERT_EQUAL(FIND("$XDSDocumentEntryPatientId='" P1 "'", "$XDSDocumentEntryStatus=" APPROVED,
                         "$XDSDocumentEntryCreationTimeFrom=2025-01-01"),
                    -1);
    CU_ASSERT_STRING_EQUAL(code, CG_XDS_REGISTRY_ERROR);
    const char *bad[] = {"'open", "('a',)", "('a' 'b')", "('a')x", "()"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char slot[64];
        snprintf(slot, sizeof slot, "$XDSDocumentEntryPatientId=%s", bad[i]);
        CU_ASSERT_EQUAL(FIND(slot, "$XDSDocumentEntryStatus=" APPROVED), -1);
        CU_ASSERT_STRING_EQUAL(code, CG_XDS_REGISTRY_ERROR);
    }
    const char *s1[] = {"$patientId='" P1 "'"};
    CU_ASSERT_EQUAL(run(100, "urn:uuid:00000000-0000-0000-0000-000000000000", 0, &code, 1, s1), -1);
    CU_ASSERT_STRING_EQUAL(code, CG_XDS_UNKNOWN_STORED_QUERY);
    const char *s2[] = {"$XDSDocumentEntryUniqueId=('1.2.3.1','1.2.3.4')"};
    CU_ASSERT_EQUAL(run(100, CG_SQ_GET_DOCUMENTS, 1, &code, 1, s2), -1);
    CU_ASSERT_STRING_EQUAL(code, CG_XDS_RESULT_NOT_SINGLE_PATIENT);
    const char *s3[] = {"$XDSDocumentEntryUniqueId=('1.2.3.1','1.2.3.2')"};
    CU_ASSERT_EQUAL(run(100, CG_SQ_GET_DOCUMENTS, 1, &code, 1, s3), 2);
    const char *s4[] = {
        "$XDSDocumentEntryUniqueId=('1.2.3.1')",
        "$XDSDocumentEntryEntryUUID=('urn:uuid:00000000-0000-4000-8000-000000000001')"};
    CU_ASSERT_EQUAL(run(100, CG_SQ_GET_DOCUMENTS, 1, &code, 2, s4), -1);
    CU_ASSERT_STRING_EQUAL(code, CG_XDS_SQ_PARAM_NUMBER);
}

static void
test_result_limit(void)
{
    const char *code;
    const char *s[] = {"$XDSDocumentEntryPatientId='" P1 "'", "$XDSDocumentEntryStatus=" APPROVED};
    CU_ASSERT_EQUAL(run(3, CG_SQ_FIND_DOCUMENTS, 1, &code, 2, s), 3);
    CU_ASSERT_EQUAL(run(2, CG_SQ_FIND_DOCUMENTS, 1, &code, 2, s), -1);
    CU_ASSERT_STRING_EQUAL(code, CG_XDS_TOO_MANY_RESULTS);
}

void
cg_test_register_registry_query(void)
{
    CU_pSuite s = CU_add_suite("registry/query", suite_init, suite_clean);
    CU_add_test(s, "FindDocuments: codes, time bounds, author patterns, type", test_find_filters);
    CU_add_test(s, "missing, repeated and malformed parameters; unknown query; one patient",
                test_errors);
    CU_add_test(s, "the result limit: at it Success, past it XDSTooManyResults", test_result_limit);
}
