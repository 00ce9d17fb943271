/* Tests src/registry/delete.c: ITI-62 on a registry holding a real submission (a document filed
 * in a new folder, tests/fixtures/registry/folder.xml): each refusal with its IHE error code, the
 * object named as location and in the message, every refusal reported, nothing deleted; a
 * membership deleted alone; the whole submission deleted; a store failure as XDSRegistryError. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ebrim/model.h"
#include "registry/delete.h"
#include "registry/registry.h"
#include "unit.h"
#include "util/alloc.h"
#include "util/fs.h"
#include "xml/parse.h"

#define PID_TEXT "P-1001^^^&1.3.6.1.4.1.99999.3&ISO"

/* The registry with folder.xml registered, and the entryUUIDs it was given. */
typedef struct reg_env {
    char *dir;
    cg_store *store;
    cg_registry *reg;
    cg_pool *pool;
    const char *ss, *de, *fol, *ss_de, *ss_fol, *fol_de, *ss_fol_de;
} reg_env;

static void
env_open(reg_env *e)
{
    memset(e, 0, sizeof(*e));
    cg_err err;
    cg_err_init(&err);
    e->dir = cg_test_tmpdir();
    cg_store_config sc = {.data_dir = e->dir, .readers = 2};
    CU_ASSERT_EQUAL_FATAL(cg_store_open(&e->store, &sc, &err), CG_OK);
    CU_ASSERT_EQUAL(cg_store_patient_add(e->store, PID_TEXT, &err), CG_OK);
    e->reg = cg_registry_new(e->store, NULL);
    e->pool = cg_pool_new(0);

    char *path = cg_test_fixture("registry/folder.xml");
    char *text = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL_FATAL(cg_fs_read(&text, &len, path, 1 << 20, &err), CG_OK);
    free(path);
    xmlDocPtr doc = NULL;
    CU_ASSERT_EQUAL_FATAL(cg_xml_parse(&doc, text, len, "folder.xml", NULL, &err), CG_OK);
    free(text);
    cg_ebrim_pool_doc(e->pool, doc);
    cg_ebrim_submission sub;
    cg_errlist errs;
    cg_errlist_init(&errs, e->pool);
    CU_ASSERT_EQUAL_FATAL(
        cg_ebrim_parse_submission(&sub, xmlDocGetRootElement(doc), e->pool, &errs), CG_OK);
    CU_ASSERT_EQUAL_FATAL(cg_registry_submit(e->reg, &sub, NULL, 0, &errs), CG_OK);
    CU_ASSERT_EQUAL_FATAL(errs.errors, 0);
    e->ss = cg_ebrim_find(&sub, "SubmissionSet01")->uuid;
    e->de = cg_ebrim_find(&sub, "Document01")->uuid;
    e->fol = cg_ebrim_find(&sub, "Folder01")->uuid;
    e->ss_de = cg_ebrim_find(&sub, "as01")->uuid;
    e->ss_fol = cg_ebrim_find(&sub, "as-ss-fol")->uuid;
    e->fol_de = cg_ebrim_find(&sub, "as-fol-doc")->uuid;
    e->ss_fol_de = cg_ebrim_find(&sub, "as-ss-fd")->uuid;
}

static void
env_close(reg_env *e)
{
    cg_pool_free(e->pool);
    cg_registry_free(e->reg);
    cg_store_free(e->store);
    free(e->dir);
}

static int
registered(reg_env *e, const char *uuid)
{
    char *xml = NULL;
    cg_err err;
    cg_err_init(&err);
    int rc = cg_store_object_xml(e->store, uuid, &xml, NULL, &err);
    free(xml);
    return rc == CG_OK;
}

static int
all_registered(reg_env *e)
{
    const char *all[] = {e->ss, e->de, e->fol, e->ss_de, e->ss_fol, e->fol_de, e->ss_fol_de};
    for (size_t i = 0; i < 7; i++)
        if (!registered(e, all[i]))
            return 0;
    return 1;
}

/* cg_registry_delete on the uuids; its errors in errs (in e's pool). */
static int
run_delete(reg_env *e, cg_errlist *errs, const char *const *uuids, size_t n)
{
    cg_errlist_init(errs, e->pool);
    return cg_registry_delete(e->reg, e->pool, uuids, n, NULL, errs);
}

/* An error with that code, location and a context holding both parts. */
static int
has(const cg_errlist *errs, const char *code, const char *location, const char *part1,
    const char *part2)
{
    for (size_t i = 0; i < errs->count; i++) {
        const cg_ihe_error *x = &errs->items[i];
        if (x->severity == CG_IHE_ERROR && strcmp(x->code, code) == 0 && x->location &&
            strcmp(x->location, location) == 0 && strstr(x->context, part1) &&
            strstr(x->context, part2))
            return 1;
    }
    for (size_t i = 0; i < errs->count; i++)
        fprintf(stderr, "\n  %s @%s: %s", errs->items[i].code,
                errs->items[i].location ? errs->items[i].location : "-", errs->items[i].context);
    return 0;
}

static void
test_unresolved_reference(void)
{
    reg_env e;
    env_open(&e);
    cg_errlist errs;
    const char *uuids[] = {e.de, "urn:uuid:00000000-0000-0000-0000-00000000beef", e.ss_de,
                           "urn:uuid:00000000-0000-0000-0000-00000000cafe"};
    CU_ASSERT_EQUAL(run_delete(&e, &errs, uuids, 4), CG_OK);
    CU_ASSERT_EQUAL(errs.errors, 2); /* both named; nothing else is checked before they are */
    CU_ASSERT(has(&errs, CG_XDS_UNRESOLVED_REFERENCE,
                  "urn:uuid:00000000-0000-0000-0000-00000000beef", "names no object",
                  "nothing was deleted"));
    CU_ASSERT(has(&errs, CG_XDS_UNRESOLVED_REFERENCE,
                  "urn:uuid:00000000-0000-0000-0000-00000000cafe", "ObjectRef", ""));
    CU_ASSERT(all_registered(&e));
    env_close(&e);
}

static void
test_references_exist(void)
{
    reg_env e;
    env_open(&e);
    cg_errlist errs;
    /* the SubmissionSet alone (NIST 30003 remove_submissionset) */
    const char *ss[] = {e.ss};
    CU_ASSERT_EQUAL(run_delete(&e, &errs, ss, 1), CG_OK);
    CU_ASSERT_EQUAL(errs.errors, 1);
    CU_ASSERT(has(&errs, CG_XDS_REFERENCES_EXIST, e.ss, "SubmissionSet", "does not delete"));
    /* the Folder and the DocumentEntry without their memberships: both reported */
    const char *fol_de[] = {e.fol, e.de};
    CU_ASSERT_EQUAL(run_delete(&e, &errs, fol_de, 2), CG_OK);
    CU_ASSERT_EQUAL(errs.errors, 2);
    CU_ASSERT(has(&errs, CG_XDS_REFERENCES_EXIST, e.fol, "Folder", "Association"));
    CU_ASSERT(has(&errs, CG_XDS_REFERENCES_EXIST, e.de, "DocumentEntry", "Association"));
    CU_ASSERT(all_registered(&e));
    env_close(&e);
}

static void
test_unreferenced_object(void)
{
    reg_env e;
    env_open(&e);
    cg_errlist errs;
    /* everything but the SubmissionSet (NIST 30003 remove_folder_and documententry_only) */
    const char *but_ss[] = {e.ss_fol, e.ss_de, e.fol, e.de, e.ss_fol_de, e.fol_de};
    CU_ASSERT_EQUAL(run_delete(&e, &errs, but_ss, 6), CG_OK);
    CU_ASSERT_EQUAL(errs.errors, 1);
    CU_ASSERT(has(&errs, CG_XDS_UNREFERENCED_OBJECT, e.ss, "SubmissionSet", "no Association"));
    CU_ASSERT(all_registered(&e));
    env_close(&e);
}

/* The lastUpdateTime in a registered Folder's stored XML (heap), or NULL. */
static char *
folder_time(reg_env *e, const char *uuid)
{
    char *xml = NULL;
    cg_err err;
    cg_err_init(&err);
    if (cg_store_object_xml(e->store, uuid, &xml, NULL, &err) != CG_OK)
        return NULL;
    char *slot = strstr(xml, "name=\"lastUpdateTime\"");
    char *v = slot ? strstr(slot, "<rim:Value>") : NULL;
    char *out = v ? cg_xasprintf("%.14s", v + strlen("<rim:Value>")) : NULL;
    free(xml);
    return out;
}

static void
test_membership_then_everything(void)
{
    reg_env e;
    env_open(&e);
    cg_errlist errs;
    char *before = folder_time(&e, e.fol);
    CU_ASSERT_PTR_NOT_NULL_FATAL(before);
    struct timespec ts = {1, 100000000}; /* lastUpdateTime counts seconds */
    nanosleep(&ts, NULL);
    /* the Folder's membership and the SubmissionSet's hold on it (NIST 30003 remove_FD-DE-HM) */
    const char *membership[] = {e.fol_de, e.ss_fol_de};
    CU_ASSERT_EQUAL(run_delete(&e, &errs, membership, 2), CG_OK);
    CU_ASSERT_EQUAL(errs.count, 0);
    CU_ASSERT(!registered(&e, e.fol_de));
    CU_ASSERT(!registered(&e, e.ss_fol_de));
    CU_ASSERT(registered(&e, e.fol) && registered(&e, e.de) && registered(&e, e.ss));
    /* the Folder lost a member: its lastUpdateTime advanced */
    char *after = folder_time(&e, e.fol);
    CU_ASSERT(after && strcmp(after, before) > 0);
    free(before);
    free(after);
    const char *rest[] = {e.ss, e.ss_de, e.ss_fol, e.de, e.fol};
    CU_ASSERT_EQUAL(run_delete(&e, &errs, rest, 5), CG_OK);
    CU_ASSERT_EQUAL(errs.count, 0);
    cg_store_stats st;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_stats_get(e.store, &st, &err), CG_OK);
    CU_ASSERT_EQUAL(st.document_entries + st.submission_sets + st.folders + st.associations, 0);
    env_close(&e);
}

/* The patients of the objects named, for the audit record: none for Associations alone, the
 * patient once for a DocumentEntry, Folder and SubmissionSet of one patient, refused or not. */
static void
test_deleted_patients(void)
{
    reg_env e;
    env_open(&e);
    cg_errlist errs;
    cg_registry_deleted deleted = {.npatients = 99};
    const char *assocs[] = {e.fol_de, e.ss_fol_de};
    cg_errlist_init(&errs, e.pool);
    CU_ASSERT_EQUAL(cg_registry_delete(e.reg, e.pool, assocs, 2, &deleted, &errs), CG_OK);
    CU_ASSERT_EQUAL(errs.errors, 0);
    CU_ASSERT_EQUAL(deleted.npatients, 0);
    /* refused (the SubmissionSet's other HasMembers are kept), the patient still named */
    const char *objects[] = {e.de, e.fol, e.ss, e.ss_de};
    cg_errlist_init(&errs, e.pool);
    CU_ASSERT_EQUAL(cg_registry_delete(e.reg, e.pool, objects, 4, &deleted, &errs), CG_OK);
    CU_ASSERT(errs.errors > 0);
    CU_ASSERT_EQUAL(deleted.npatients, 1);
    CU_ASSERT(deleted.npatients == 1 && strcmp(deleted.patients[0], PID_TEXT) == 0);
    const char *rest[] = {e.ss, e.ss_de, e.ss_fol, e.de, e.fol};
    cg_errlist_init(&errs, e.pool);
    CU_ASSERT_EQUAL(cg_registry_delete(e.reg, e.pool, rest, 5, &deleted, &errs), CG_OK);
    CU_ASSERT_EQUAL(errs.errors, 0);
    CU_ASSERT(deleted.npatients == 1 && strcmp(deleted.patients[0], PID_TEXT) == 0);
    env_close(&e);
}

static void
test_store_failure(void)
{
    reg_env e;
    env_open(&e);
    cg_errlist errs;
    const char *membership[] = {e.fol_de, e.ss_fol_de};
    cg_store_debug_fail_after(e.store, 3);
    CU_ASSERT_EQUAL(run_delete(&e, &errs, membership, 2), CG_EIO);
    cg_store_debug_fail_after(e.store, 0);
    CU_ASSERT_EQUAL(errs.errors, 1);
    CU_ASSERT(errs.count == 1 && strcmp(errs.items[0].code, CG_XDS_REGISTRY_ERROR) == 0 &&
              strstr(errs.items[0].context, "cg_store_delete_objects") &&
              strstr(errs.items[0].context, "nothing was deleted"));
    CU_ASSERT(all_registered(&e));
    CU_ASSERT_EQUAL(run_delete(&e, &errs, membership, 2), CG_OK);
    CU_ASSERT_EQUAL(errs.errors, 0);
    env_close(&e);
}

void
cg_test_register_registry_delete(void)
{
    CU_pSuite s = CU_add_suite("registry/delete", NULL, NULL);
    CU_add_test(s, "unknown entryUUIDs: UnresolvedReferenceException each, nothing deleted",
                test_unresolved_reference);
    CU_add_test(s, "referred to by an Association kept: ReferencesExistException each",
                test_references_exist);
    CU_add_test(s, "an object left without references: XDSUnreferencedObjectException",
                test_unreferenced_object);
    CU_add_test(s, "a folder membership alone (the Folder's lastUpdateTime advanced), then all",
                test_membership_then_everything);
    CU_add_test(s, "a store failure: XDSRegistryError, nothing deleted", test_store_failure);
    CU_add_test(s, "the patients of the objects named, for the audit record",
                test_deleted_patients);
}
