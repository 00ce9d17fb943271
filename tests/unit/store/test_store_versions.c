/* Tests the store's handling of versions (ITI-57 Metadata Update): a new version of a logical
 * object keeps its uniqueId where a different object may not, the latest_only filter, and a
 * submission whose status change finds the previous version changed meanwhile is refused whole. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "unit.h"
#include "util/alloc.h"

#define APPROVED "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
#define DEPRECATED "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"
#define PATIENT "P1^^^&1.2.3.4&ISO"
#define LID "urn:uuid:10000000-0000-4000-8000-000000000001"
#define V2 "urn:uuid:10000000-0000-4000-8000-000000000002"
#define V3 "urn:uuid:10000000-0000-4000-8000-000000000003"
#define OTHER "urn:uuid:10000000-0000-4000-8000-000000000004"
#define UID "1.2.3.4.5.6"

static cg_store_object
entry(const char *uuid, const char *lid, int version, const char *status, const char *uid)
{
    char *xml = cg_xasprintf("<rim:ExtrinsicObject xmlns:rim=\"urn:oasis:names:tc:ebxml-regrep:"
                             "xsd:rim:3.0\" id=\"%s\" lid=\"%s\" status=\"%s\"/>",
                             uuid, lid, status);
    return (cg_store_object){.kind = CG_OBJ_DOCUMENT_ENTRY,
                             .uuid = uuid,
                             .lid = lid,
                             .version = version,
                             .status = status,
                             .patient_id = PATIENT,
                             .unique_id = uid,
                             .size = -1,
                             .xml = xml,
                             .xml_len = strlen(xml)};
}

static int
submit(cg_store *st, cg_store_object *o, const cg_store_status_change *ch, size_t nch,
       cg_store_conflicts *cf)
{
    cg_store_submission sub = {.objects = o, .nobjects = 1, .status_changes = ch,
                               .nstatus_changes = nch};
    cg_err err;
    cg_err_init(&err);
    memset(cf, 0, sizeof(*cf));
    int rc = cg_store_submit(st, &sub, cf, &err);
    free((char *)o->xml);
    return rc;
}

static size_t
find(cg_store *st, int latest_only, const char *first_status_of, char *status, size_t len)
{
    const char *lids[] = {LID};
    cg_store_filter f = {.kinds = CG_STORE_KIND_DOC, .lids = {lids, 1},
                         .latest_only = latest_only};
    cg_store_rows rows = {0};
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_find(st, &f, 0, 0, &rows, &err), CG_OK);
    size_t n = rows.count;
    for (size_t i = 0; status && first_status_of && i < rows.count; i++)
        if (strcmp(rows.items[i].uuid, first_status_of) == 0)
            snprintf(status, len, "%s", rows.items[i].status);
    if (latest_only && n == 1)
        snprintf(status, len, "%s", rows.items[0].uuid);
    cg_store_rows_dispose(&rows);
    return n;
}

static void
test_versions(void)
{
    char *dir = cg_test_tmpdir();
    cg_store_config cfg = {.data_dir = dir, .readers = 2};
    cg_store *st = NULL;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL_FATAL(cg_store_open(&st, &cfg, &err), CG_OK);
    cg_store_conflicts cf;
    cg_store_object o = entry(LID, LID, 1, APPROVED, UID);
    CU_ASSERT_EQUAL(submit(st, &o, NULL, 0, &cf), CG_OK);
    /* another logical object with the uniqueId: a conflict */
    o = entry(OTHER, OTHER, 1, APPROVED, UID);
    CU_ASSERT_EQUAL(submit(st, &o, NULL, 0, &cf), CG_EINVAL);
    CU_ASSERT_EQUAL_FATAL(cf.count, 1);
    CU_ASSERT_EQUAL(cf.items[0].kind, CG_CONFLICT_UNIQUE_ID);
    cg_store_conflicts_dispose(&cf);
    /* version 2 keeps it, and deprecates version 1 in the same transaction */
    cg_store_status_change ch = {.uuid = LID, .from = APPROVED, .to = DEPRECATED,
                                 .xml = "<rim:ExtrinsicObject/>",
                                 .xml_len = strlen("<rim:ExtrinsicObject/>")};
    o = entry(V2, LID, 2, APPROVED, UID);
    CU_ASSERT_EQUAL(submit(st, &o, &ch, 1, &cf), CG_OK);
    cg_store_conflicts_dispose(&cf);
    char got[128] = "";
    CU_ASSERT_EQUAL(find(st, 0, LID, got, sizeof(got)), 2);
    CU_ASSERT_STRING_EQUAL(got, DEPRECATED);
    CU_ASSERT_EQUAL(find(st, 1, NULL, got, sizeof(got)), 1);
    CU_ASSERT_STRING_EQUAL(got, V2);
    /* a second version 2 made from the same view of version 1: its status change finds version 1
     * deprecated already, and the whole submission is refused */
    o = entry(V3, LID, 2, APPROVED, UID);
    CU_ASSERT_EQUAL(submit(st, &o, &ch, 1, &cf), CG_EINVAL);
    CU_ASSERT_EQUAL_FATAL(cf.count, 1);
    CU_ASSERT_EQUAL(cf.items[0].kind, CG_CONFLICT_STATUS);
    cg_store_conflicts_dispose(&cf);
    CU_ASSERT_EQUAL(find(st, 0, LID, NULL, 0), 2);
    CU_ASSERT_EQUAL(find(st, 1, NULL, got, sizeof(got)), 1);
    CU_ASSERT_STRING_EQUAL(got, V2);
    cg_store_free(st);
    free(dir);
}

void
cg_test_register_store_versions(void)
{
    CU_pSuite s = CU_add_suite("store/versions", NULL, NULL);
    CU_add_test(s, "versions keep their uniqueId, latest_only, a stale update refused whole",
                test_versions);
}
