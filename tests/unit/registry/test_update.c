/* Tests ITI-57 Update Document Set in src/registry (cg_registry_update): a new version of a
 * registered DocumentEntry or Folder (lid, PreviousVersion, the previous version deprecated,
 * Folder memberships propagated or not), UpdateAvailabilityStatus, SubmitAssociation, each
 * refusal with its Metadata Update error code, and atomicity: a refused update changes nothing,
 * neither does one the store fails to write. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebrim/model.h"
#include "registry/registry.h"
#include "unit.h"
#include "util/alloc.h"
#include "util/fs.h"
#include "xml/parse.h"

#define PID_TEXT "P-1001^^^&1.3.6.1.4.1.99999.3&ISO"
#define OTHER_PID "P-2002^^^&amp;1.3.6.1.4.1.99999.3&amp;ISO"
#define OTHER_PID_TEXT "P-2002^^^&1.3.6.1.4.1.99999.3&ISO"
#define DOC_UUID "urn:uuid:0a7c4d2e-1b3f-4a5c-8d6e-7f8091a2b3c4"
#define FOL_UUID "urn:uuid:1b8d5e3f-2c4a-4b6d-9e7f-8091a2b3c4d5"
#define NEW1 "urn:uuid:2c9e6f4a-3d5b-4c7e-8f90-91a2b3c4d5e6"
#define NEW2 "urn:uuid:3daf7a5b-4e6c-4d8f-9a01-a2b3c4d5e6f7"
#define SS_STATUS_SLOT                                                                             \
    "<rim:Slot name=\"SubmissionSetStatus\"><rim:ValueList><rim:Value>Original</rim:Value>"       \
    "</rim:ValueList></rim:Slot>"
#define APPROVED "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
#define DEPRECATED "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"
#define LIST_END "  </rim:RegistryObjectList>"

typedef struct env {
    char *dir;
    cg_store *store;
    cg_registry *reg;
} env;

typedef struct run {
    cg_pool *pool;
    xmlDocPtr doc;
    cg_ebrim_submission sub;
    cg_errlist errs;
    int rc;
} run;

static char *
load(const char *rel)
{
    char *path = cg_test_fixture(rel);
    char *text = NULL;
    size_t len = 0;
    cg_err err;
    cg_err_init(&err);
    int rc = cg_fs_read(&text, &len, path, 1 << 20, &err);
    free(path);
    CU_ASSERT_EQUAL_FATAL(rc, CG_OK);
    return text;
}

/* Replaces every occurrence of `from` (there must be one at least). */
static char *
edit(char *text, const char *from, const char *to)
{
    CU_ASSERT_PTR_NOT_NULL(strstr(text, from));
    char *p;
    size_t at = 0;
    while ((p = strstr(text + at, from)) != NULL) {
        size_t off = (size_t)(p - text);
        char *out = cg_xasprintf("%.*s%s%s", (int)off, text, to, p + strlen(from));
        free(text);
        text = out;
        at = off + strlen(to);
    }
    return text;
}

/* Removes from `from` to the end of the first `until` after it. */
static char *
cut(char *text, const char *from, const char *until)
{
    char *p = strstr(text, from);
    char *q = p ? strstr(p, until) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    char *out = cg_xasprintf("%.*s%s", (int)(p - text), text, q + strlen(until));
    free(text);
    return out;
}

static char *
append_objects(char *text, const char *objects)
{
    char *to = cg_xasprintf("%s\n" LIST_END, objects);
    text = edit(text, LIST_END, to);
    free(to);
    return text;
}

static void
dump(const run *r)
{
    for (size_t i = 0; i < r->errs.count; i++)
        fprintf(stderr, "\n  [%s] %s: %s", r->errs.items[i].severity == CG_IHE_ERROR ? "E" : "W",
                r->errs.items[i].code, r->errs.items[i].context);
    fputc('\n', stderr);
}

/* Parses text (freed) and registers it (update 0: ITI-42) or updates with it (ITI-57). */
static void
send(run *r, env *e, char *text, int update)
{
    cg_err err;
    cg_err_init(&err);
    r->pool = cg_pool_new(0);
    cg_errlist_init(&r->errs, r->pool);
    r->doc = NULL;
    int prc = cg_xml_parse(&r->doc, text, strlen(text), "submission.xml", NULL, &err);
    free(text);
    CU_ASSERT_EQUAL_FATAL(prc, CG_OK);
    cg_ebrim_pool_doc(r->pool, r->doc);
    CU_ASSERT_EQUAL_FATAL(
        cg_ebrim_parse_submission(&r->sub, xmlDocGetRootElement(r->doc), r->pool, &r->errs),
        CG_OK);
    r->rc = update ? cg_registry_update(e->reg, &r->sub, &r->errs)
                   : cg_registry_submit(e->reg, &r->sub, NULL, 0, &r->errs);
}

static int
has(const run *r, const char *code, const char *part)
{
    for (size_t i = 0; i < r->errs.count; i++)
        if (strcmp(r->errs.items[i].code, code) == 0 && strstr(r->errs.items[i].context, part))
            return 1;
    return 0;
}

static void
expect(const run *r, const char *code, const char *part)
{
    if (!has(r, code, part)) {
        fprintf(stderr, "\nexpected %s containing \"%s\"; got:", code, part);
        dump(r);
    }
    CU_ASSERT(has(r, code, part));
}

static void
expect_success(const run *r)
{
    CU_ASSERT_EQUAL(r->rc, CG_OK);
    if (r->errs.errors != 0) {
        fprintf(stderr, "\nexpected success; got:");
        dump(r);
    }
    CU_ASSERT_EQUAL(r->errs.errors, 0);
}

static void
done(run *r)
{
    cg_pool_free(r->pool);
}

/* A store with both patients and folder.xml registered: DocumentEntry DOC_UUID in Folder
 * FOL_UUID. */
static void
env_open(env *e)
{
    cg_err err;
    cg_err_init(&err);
    e->dir = cg_test_tmpdir();
    cg_store_config sc = {.data_dir = e->dir, .readers = 2};
    CU_ASSERT_EQUAL_FATAL(cg_store_open(&e->store, &sc, &err), CG_OK);
    CU_ASSERT_EQUAL(cg_store_patient_add(e->store, PID_TEXT, &err), CG_OK);
    CU_ASSERT_EQUAL(cg_store_patient_add(e->store, OTHER_PID_TEXT, &err), CG_OK);
    e->reg = cg_registry_new(e->store, NULL);
    char *text = load("registry/folder.xml");
    text = edit(text, "\"Document01\"", "\"" DOC_UUID "\"");
    text = edit(text, "\"Folder01\"", "\"" FOL_UUID "\"");
    run r;
    send(&r, e, text, 0);
    expect_success(&r);
    done(&r);
}

static void
env_close(env *e)
{
    cg_registry_free(e->reg);
    cg_store_free(e->store);
    free(e->dir);
}

/* A new version `id` of the registered DocumentEntry `lid`, following version `prev`, in a
 * SubmissionSet of its own (uniqueId ...5.<ss>). */
static char *
doc_update(const char *id, const char *lid, const char *prev, int ss)
{
    char *text = load("registry/base.xml");
    char *eo = cg_xasprintf("id=\"%s\" lid=\"%s\" mimeType", id, lid);
    text = edit(text, "id=\"Document01\" mimeType", eo);
    free(eo);
    char *q = cg_xasprintf("\"%s\"", id);
    text = edit(text, "\"Document01\"", q);
    free(q);
    char *uid = cg_xasprintf("\"1.3.6.1.4.1.99999.5.%d\"", ss);
    text = edit(text, "\"1.3.6.1.4.1.99999.5.1\"", uid);
    free(uid);
    text = edit(text, "Discharge summary", "Discharge summary (corrected)");
    if (prev != NULL) {
        char *slots = cg_xasprintf(SS_STATUS_SLOT "<rim:Slot name=\"PreviousVersion\">"
                                                  "<rim:ValueList><rim:Value>%s</rim:Value>"
                                                  "</rim:ValueList></rim:Slot>",
                                   prev);
        text = edit(text, SS_STATUS_SLOT, slots);
        free(slots);
    }
    return text;
}

/* A SubmissionSet alone (uniqueId ...5.<ss>) with these associations. */
static char *
ss_with(const char *objects, int ss)
{
    char *text = load("registry/base.xml");
    text = cut(text, "<rim:ExtrinsicObject", "</rim:ExtrinsicObject>");
    text = cut(text, "<rim:Association id=\"as01\"", "</rim:Association>");
    char *uid = cg_xasprintf("\"1.3.6.1.4.1.99999.5.%d\"", ss);
    text = edit(text, "\"1.3.6.1.4.1.99999.5.1\"", uid);
    free(uid);
    return append_objects(text, objects);
}

static char *
status_assoc(const char *target, const char *from, const char *to)
{
    return cg_xasprintf(
        "<rim:Association id=\"ua01\" associationType="
        "\"urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus\" "
        "sourceObject=\"SubmissionSet01\" targetObject=\"%s\">"
        "<rim:Slot name=\"OriginalStatus\"><rim:ValueList><rim:Value>%s</rim:Value>"
        "</rim:ValueList></rim:Slot>"
        "<rim:Slot name=\"NewStatus\"><rim:ValueList><rim:Value>%s</rim:Value>"
        "</rim:ValueList></rim:Slot></rim:Association>",
        target, from, to);
}

/* The registered object's status and stored XML. */
static char *
object(env *e, const char *uuid, char *status, size_t status_len)
{
    const char *uuids[] = {uuid};
    cg_store_filter f = {.uuids = {uuids, 1}};
    cg_store_rows rows = {0};
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL_FATAL(cg_store_find(e->store, &f, 0, 1, &rows, &err), CG_OK);
    char *xml = NULL;
    status[0] = '\0';
    if (rows.count == 1) {
        snprintf(status, status_len, "%s", rows.items[0].status);
        xml = cg_xstrdup(rows.items[0].xml);
    }
    cg_store_rows_dispose(&rows);
    return xml;
}

static size_t
count(env *e, unsigned kinds, const char *lid, const char *source, const char *target)
{
    const char *l[] = {lid}, *s[] = {source}, *t[] = {target};
    cg_store_filter f = {.kinds = kinds};
    if (lid)
        f.lids = (cg_store_list){l, 1};
    if (source)
        f.sources = (cg_store_list){s, 1};
    if (target)
        f.targets = (cg_store_list){t, 1};
    cg_store_rows rows = {0};
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_find(e->store, &f, 0, 0, &rows, &err), CG_OK);
    size_t n = rows.count;
    cg_store_rows_dispose(&rows);
    return n;
}

static int64_t
objects_total(env *e)
{
    cg_store_stats st;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_stats_get(e->store, &st, &err), CG_OK);
    return st.document_entries + st.submission_sets + st.folders + st.associations;
}

/* ---- new versions ---------------------------------------------------------------------------- */

static void
test_document_entry_version(void)
{
    env e;
    env_open(&e);
    run r;
    send(&r, &e, doc_update(NEW1, DOC_UUID, "1", 2), 1);
    expect_success(&r);
    done(&r);
    char st[128];
    char *xml = object(&e, DOC_UUID, st, sizeof(st));
    CU_ASSERT_STRING_EQUAL(st, DEPRECATED);
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "status=\"" DEPRECATED "\""));
    free(xml);
    xml = object(&e, NEW1, st, sizeof(st));
    CU_ASSERT_STRING_EQUAL(st, APPROVED);
    CU_ASSERT_PTR_NOT_NULL(xml);
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "lid=\"" DOC_UUID "\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "versionName=\"2\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "Discharge summary (corrected)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "1.3.6.1.4.1.99999.4.1^DOC-1")); /* the same uniqueId */
    free(xml);
    CU_ASSERT_EQUAL(count(&e, CG_STORE_KIND_DOC, DOC_UUID, NULL, NULL), 2);
    /* the Folder holding version 1 holds version 2 as well (AssociationPropagation) */
    CU_ASSERT_EQUAL(count(&e, CG_STORE_KIND_ASSOC, NULL, FOL_UUID, NEW1), 1);
    CU_ASSERT_EQUAL(count(&e, CG_STORE_KIND_ASSOC, NULL, FOL_UUID, DOC_UUID), 1);
    /* the latest only */
    const char *lids[] = {DOC_UUID};
    cg_store_filter f = {.kinds = CG_STORE_KIND_DOC, .lids = {lids, 1}, .latest_only = 1};
    cg_store_rows rows = {0};
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_find(e.store, &f, 0, 0, &rows, &err), CG_OK);
    CU_ASSERT_EQUAL_FATAL(rows.count, 1);
    CU_ASSERT_STRING_EQUAL(rows.items[0].uuid, NEW1);
    cg_store_rows_dispose(&rows);
    /* version 3 follows version 2, without propagation */
    char *text = doc_update(NEW2, DOC_UUID, "2", 3);
    text = edit(text, "<rim:Slot name=\"PreviousVersion\">",
                "<rim:Slot name=\"AssociationPropagation\"><rim:ValueList><rim:Value>no"
                "</rim:Value></rim:ValueList></rim:Slot><rim:Slot name=\"PreviousVersion\">");
    send(&r, &e, text, 1);
    expect_success(&r);
    done(&r);
    xml = object(&e, NEW2, st, sizeof(st));
    CU_ASSERT_PTR_NOT_NULL(xml && strstr(xml, "versionName=\"3\""));
    free(xml);
    free(object(&e, NEW1, st, sizeof(st)));
    CU_ASSERT_STRING_EQUAL(st, DEPRECATED);
    CU_ASSERT_EQUAL(count(&e, CG_STORE_KIND_ASSOC, NULL, FOL_UUID, NEW2), 0);
    env_close(&e);
}

static void
test_folder_version(void)
{
    env e;
    env_open(&e);
    char *text = load("registry/folder.xml");
    text = cut(text, "<rim:ExtrinsicObject", "</rim:ExtrinsicObject>");
    text = cut(text, "<rim:Association id=\"as01\"", "</rim:Association>");
    text = cut(text, "<rim:Association id=\"as-fol-doc\"", "/>");
    text = cut(text, "<rim:Association id=\"as-ss-fd\"", "/>");
    text = edit(text, "<rim:RegistryPackage id=\"Folder01\">",
                "<rim:RegistryPackage id=\"Folder01\" lid=\"" FOL_UUID "\">");
    text = edit(text, "\"1.3.6.1.4.1.99999.5.1\"", "\"1.3.6.1.4.1.99999.5.2\"");
    text = edit(text, "Admission 2024-01", "Admission 2024-01 (renamed)");
    text = edit(text, "sourceObject=\"SubmissionSet01\" targetObject=\"Folder01\"/>",
                "sourceObject=\"SubmissionSet01\" targetObject=\"Folder01\">" SS_STATUS_SLOT
                "<rim:Slot name=\"PreviousVersion\"><rim:ValueList><rim:Value>1</rim:Value>"
                "</rim:ValueList></rim:Slot></rim:Association>");
    run r;
    send(&r, &e, text, 1);
    expect_success(&r);
    done(&r);
    CU_ASSERT_EQUAL(count(&e, CG_STORE_KIND_FOLDER, FOL_UUID, NULL, NULL), 2);
    char st[128];
    free(object(&e, FOL_UUID, st, sizeof(st)));
    CU_ASSERT_STRING_EQUAL(st, DEPRECATED);
    /* the new Folder version holds the DocumentEntry too */
    const char *lids[] = {FOL_UUID};
    cg_store_filter f = {.kinds = CG_STORE_KIND_FOLDER, .lids = {lids, 1}, .latest_only = 1};
    cg_store_rows rows = {0};
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_find(e.store, &f, 0, 1, &rows, &err), CG_OK);
    CU_ASSERT_EQUAL_FATAL(rows.count, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(rows.items[0].xml, "Admission 2024-01 (renamed)"));
    CU_ASSERT_EQUAL(count(&e, CG_STORE_KIND_ASSOC, NULL, rows.items[0].uuid, DOC_UUID), 1);
    cg_store_rows_dispose(&rows);
    env_close(&e);
}

/* Each refusal: its code, and the registry as it was. */
static void
refused(env *e, char *text, const char *code, const char *part)
{
    int64_t before = objects_total(e);
    run r;
    send(&r, e, text, 1);
    CU_ASSERT_EQUAL(r.rc, CG_OK);
    CU_ASSERT(r.errs.errors > 0);
    expect(&r, code, part);
    done(&r);
    CU_ASSERT_EQUAL(objects_total(e), before);
    char st[128];
    free(object(e, DOC_UUID, st, sizeof(st)));
    CU_ASSERT_STRING_EQUAL(st, APPROVED);
}

static void
test_version_rules(void)
{
    env e;
    env_open(&e);
    refused(&e, doc_update(NEW1, DOC_UUID, "2", 2), CG_XDS_METADATA_VERSION_ERROR,
            "PreviousVersion is 2 but the latest version of " DOC_UUID " is 1");
    refused(&e, doc_update(NEW1, NEW2, "1", 2), CG_XDS_METADATA_VERSION_ERROR,
            "lid " NEW2 " names no registered DocumentEntry");
    refused(&e, doc_update(NEW1, FOL_UUID, "1", 2), CG_XDS_METADATA_UPDATE_ERROR,
            "names a registered Folder, not a DocumentEntry");
    refused(&e, doc_update(NEW1, DOC_UUID, NULL, 2), CG_XDS_METADATA_UPDATE_ERROR,
            "needs the slot PreviousVersion");
    refused(&e, doc_update(NEW1, DOC_UUID, "one", 2), CG_XDS_METADATA_UPDATE_ERROR,
            "needs the slot PreviousVersion");
    refused(&e, doc_update(NEW1, NEW1, "1", 2), CG_XDS_METADATA_UPDATE_ERROR,
            "has no lid naming a registered DocumentEntry");
    refused(&e,
            edit(doc_update(NEW1, DOC_UUID, "1", 2), "1.3.6.1.4.1.99999.4.1^DOC-1",
                 "1.3.6.1.4.1.99999.4.1^DOC-9"),
            CG_XDS_METADATA_UPDATE_ERROR, "a new version keeps the uniqueId");
    refused(&e,
            edit(doc_update(NEW1, DOC_UUID, "1", 2), "<rim:Slot name=\"PreviousVersion\">",
                 "<rim:Slot name=\"AssociationPropagation\"><rim:ValueList><rim:Value>maybe"
                 "</rim:Value></rim:ValueList></rim:Slot><rim:Slot name=\"PreviousVersion\">"),
            CG_XDS_METADATA_UPDATE_ERROR, "AssociationPropagation takes one value");
    /* an incomplete new version: the metadata rules' own code */
    refused(&e,
            cut(doc_update(NEW1, DOC_UUID, "1", 2), "<rim:Slot name=\"languageCode\">",
                "</rim:Slot>"),
            CG_XDS_REGISTRY_METADATA_ERROR, "lacks the required slot languageCode");
    /* ITI-42 still refuses a lid that is not the id */
    run r;
    send(&r, &e, doc_update(NEW1, DOC_UUID, "1", 2), 0);
    expect(&r, CG_XDS_REGISTRY_METADATA_ERROR, "new versions are ITI-57 Update Document Set");
    done(&r);
    /* a SubmissionSet that updates nothing */
    refused(&e, ss_with("", 2), CG_XDS_METADATA_UPDATE_ERROR, "holds no update");
    /* once version 2 is registered, a second update of version 1 is refused */
    send(&r, &e, doc_update(NEW1, DOC_UUID, "1", 2), 1);
    expect_success(&r);
    done(&r);
    int64_t before = objects_total(&e);
    send(&r, &e, doc_update(NEW2, DOC_UUID, "1", 3), 1);
    expect(&r, CG_XDS_METADATA_VERSION_ERROR, "the latest version of " DOC_UUID " is 2");
    done(&r);
    CU_ASSERT_EQUAL(objects_total(&e), before);
    env_close(&e);
}

/* ---- UpdateAvailabilityStatus ---------------------------------------------------------------- */

static void
test_status_update(void)
{
    env e;
    env_open(&e);
    char *a = status_assoc(DOC_UUID, APPROVED, DEPRECATED);
    run r;
    send(&r, &e, ss_with(a, 2), 1);
    free(a);
    expect_success(&r);
    done(&r);
    char st[128];
    char *xml = object(&e, DOC_UUID, st, sizeof(st));
    CU_ASSERT_STRING_EQUAL(st, DEPRECATED);
    CU_ASSERT_PTR_NOT_NULL(xml && strstr(xml, "status=\"" DEPRECATED "\""));
    free(xml);
    /* and back */
    a = status_assoc(DOC_UUID, DEPRECATED, APPROVED);
    send(&r, &e, ss_with(a, 3), 1);
    free(a);
    expect_success(&r);
    done(&r);
    free(object(&e, DOC_UUID, st, sizeof(st)));
    CU_ASSERT_STRING_EQUAL(st, APPROVED);
    env_close(&e);
}

static void
test_status_update_rules(void)
{
    env e;
    env_open(&e);
    struct {
        char *assoc;
        const char *code, *part;
    } cases[] = {
        {status_assoc(DOC_UUID, DEPRECATED, APPROVED), CG_XDS_METADATA_UPDATE_OPERATION_ERROR,
         "OriginalStatus is " DEPRECATED " but targetObject " DOC_UUID " is " APPROVED},
        {status_assoc(DOC_UUID, APPROVED, APPROVED), CG_XDS_METADATA_UPDATE_OPERATION_ERROR,
         "nothing to change"},
        {status_assoc(DOC_UUID, APPROVED, "urn:oasis:names:tc:ebxml-regrep:StatusType:Gone"),
         CG_XDS_METADATA_UPDATE_OPERATION_ERROR, "needs one OriginalStatus and one NewStatus"},
        {status_assoc(NEW2, APPROVED, DEPRECATED), CG_XDS_UNRESOLVED_REFERENCE,
         "targetObject " NEW2 " names no registered object"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        refused(&e, ss_with(cases[i].assoc, 2), cases[i].code, cases[i].part);
        free(cases[i].assoc);
    }
    /* a slot other than OriginalStatus and NewStatus */
    char *a = status_assoc(DOC_UUID, APPROVED, DEPRECATED);
    a = edit(a, "<rim:Slot name=\"NewStatus\">",
             "<rim:Slot name=\"Reason\"><rim:ValueList><rim:Value>x</rim:Value></rim:ValueList>"
             "</rim:Slot><rim:Slot name=\"NewStatus\">");
    refused(&e, ss_with(a, 2), CG_XDS_METADATA_UPDATE_OPERATION_ERROR, "not \"Reason\"");
    free(a);
    /* a registered SubmissionSet's status does not change */
    const char *ss_uuid = NULL;
    {
        cg_store_filter f = {.kinds = CG_STORE_KIND_SS};
        cg_store_rows rows = {0};
        cg_err err;
        cg_err_init(&err);
        CU_ASSERT_EQUAL(cg_store_find(e.store, &f, 0, 0, &rows, &err), CG_OK);
        CU_ASSERT_EQUAL_FATAL(rows.count, 1);
        ss_uuid = cg_xstrdup(rows.items[0].uuid);
        cg_store_rows_dispose(&rows);
    }
    a = status_assoc(ss_uuid, APPROVED, DEPRECATED);
    refused(&e, ss_with(a, 2), CG_XDS_METADATA_UPDATE_OPERATION_ERROR, "is a SubmissionSet");
    free(a);
    free((char *)ss_uuid);
    /* only the latest version's status changes */
    run r;
    send(&r, &e, doc_update(NEW1, DOC_UUID, "1", 3), 1);
    expect_success(&r);
    done(&r);
    a = status_assoc(DOC_UUID, DEPRECATED, APPROVED);
    send(&r, &e, ss_with(a, 4), 1);
    free(a);
    expect(&r, CG_XDS_METADATA_UPDATE_OPERATION_ERROR, "is not the latest version");
    done(&r);
    env_close(&e);
}

/* ---- atomicity ------------------------------------------------------------------------------- */

static void
test_refused_update_changes_nothing(void)
{
    env e;
    env_open(&e);
    /* a good new version and a bad status change in one submission: neither happens */
    char *a = status_assoc(FOL_UUID, DEPRECATED, APPROVED);
    char *text = append_objects(doc_update(NEW1, DOC_UUID, "1", 2), a);
    free(a);
    refused(&e, text, CG_XDS_METADATA_UPDATE_OPERATION_ERROR, "OriginalStatus is " DEPRECATED);
    CU_ASSERT_EQUAL(count(&e, CG_STORE_KIND_DOC, DOC_UUID, NULL, NULL), 1);
    char st[128];
    free(object(&e, FOL_UUID, st, sizeof(st)));
    CU_ASSERT_STRING_EQUAL(st, APPROVED);
    /* two new versions of one logical object */
    text = doc_update(NEW1, DOC_UUID, "1", 2);
    char *second = doc_update(NEW2, DOC_UUID, "1", 2);
    char *eo = strstr(second, "<rim:ExtrinsicObject");
    char *end = strstr(second, "</rim:ExtrinsicObject>");
    char *as = strstr(second, "<rim:Association id=\"as01\"");
    char *as_end = as ? strstr(as, "</rim:Association>") : NULL;
    CU_ASSERT_FATAL(eo && end && as && as_end);
    char *objs = cg_xasprintf("%.*s%.*s", (int)(end + 22 - eo), eo,
                              (int)(as_end + 18 - as), as);
    free(second);
    objs = edit(objs, "id=\"as01\"", "id=\"as02\"");
    text = append_objects(text, objs);
    free(objs);
    refused(&e, text, CG_XDS_METADATA_UPDATE_ERROR, "is a second new version of " DOC_UUID);
    /* the store fails while writing: XDSRegistryError, nothing written */
    int64_t before = objects_total(&e);
    cg_store_debug_fail_after(e.store, 2);
    run r;
    send(&r, &e, doc_update(NEW1, DOC_UUID, "1", 2), 1);
    CU_ASSERT_EQUAL(r.rc, CG_EIO);
    expect(&r, CG_XDS_REGISTRY_ERROR, "cg_store_submit");
    done(&r);
    cg_store_debug_fail_after(e.store, 0);
    CU_ASSERT_EQUAL(objects_total(&e), before);
    free(object(&e, DOC_UUID, st, sizeof(st)));
    CU_ASSERT_STRING_EQUAL(st, APPROVED);
    /* and then the same update goes through */
    send(&r, &e, doc_update(NEW1, DOC_UUID, "1", 2), 1);
    expect_success(&r);
    done(&r);
    env_close(&e);
}

/* ---- SubmitAssociation ----------------------------------------------------------------------- */

static char *
submit_assoc(const char *type, const char *source, const char *target)
{
    return cg_xasprintf("<rim:Association id=\"sa01\" associationType="
                        "\"urn:ihe:iti:2010:AssociationType:SubmitAssociation\" "
                        "sourceObject=\"SubmissionSet01\" targetObject=\"x01\"/>"
                        "<rim:Association id=\"x01\" associationType=\"%s\" "
                        "sourceObject=\"%s\" targetObject=\"%s\"/>",
                        type, source, target);
}

static void
test_submit_association(void)
{
    env e;
    env_open(&e);
    /* a second DocumentEntry of the patient, and one of another patient */
    char *text = load("registry/base.xml");
    text = edit(text, "\"Document01\"", "\"" NEW1 "\"");
    text = edit(text, "1.3.6.1.4.1.99999.4.1^DOC-1", "1.3.6.1.4.1.99999.4.1^DOC-2");
    text = edit(text, "\"1.3.6.1.4.1.99999.5.1\"", "\"1.3.6.1.4.1.99999.5.2\"");
    run r;
    send(&r, &e, text, 0);
    expect_success(&r);
    done(&r);
    text = load("registry/base.xml");
    text = edit(text, "\"Document01\"", "\"" NEW2 "\"");
    text = edit(text, "1.3.6.1.4.1.99999.4.1^DOC-1", "1.3.6.1.4.1.99999.4.1^DOC-3");
    text = edit(text, "\"1.3.6.1.4.1.99999.5.1\"", "\"1.3.6.1.4.1.99999.5.3\"");
    text = edit(text, "P-1001^^^&amp;1.3.6.1.4.1.99999.3&amp;ISO", OTHER_PID);
    send(&r, &e, text, 0);
    expect_success(&r);
    done(&r);
    /* the Folder takes the second DocumentEntry */
    char *a = submit_assoc("urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember", FOL_UUID,
                           NEW1);
    send(&r, &e, ss_with(a, 4), 1);
    free(a);
    expect_success(&r);
    done(&r);
    CU_ASSERT_EQUAL(count(&e, CG_STORE_KIND_ASSOC, NULL, FOL_UUID, NEW1), 1);
    /* again: it is registered already */
    a = submit_assoc("urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember", FOL_UUID, NEW1);
    refused(&e, ss_with(a, 5), CG_XDS_METADATA_UPDATE_OPERATION_ERROR, "is registered already");
    free(a);
    /* another patient's DocumentEntry */
    a = submit_assoc("urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember", FOL_UUID, NEW2);
    refused(&e, ss_with(a, 5), CG_XDS_PATIENT_ID_RECONCILIATION_ERROR, "has patientId");
    free(a);
    a = submit_assoc("urn:ihe:iti:2007:AssociationType:APND", NEW2, DOC_UUID);
    refused(&e, ss_with(a, 5), CG_XDS_PATIENT_ID_RECONCILIATION_ERROR, "has patientId");
    free(a);
    /* not an association XDS relates registered objects with */
    a = submit_assoc("urn:example:Likes", NEW1, DOC_UUID);
    refused(&e, ss_with(a, 5), CG_XDS_METADATA_UPDATE_OPERATION_ERROR,
            "submits a Folder's HasMember or a relationship");
    free(a);
    env_close(&e);
}

void
cg_test_register_registry_update(void)
{
    CU_pSuite s = CU_add_suite("registry/update (ITI-57)", NULL, NULL);
    CU_add_test(s, "a new DocumentEntry version: lid, version, statuses, propagation",
                test_document_entry_version);
    CU_add_test(s, "a new Folder version holds the previous one's DocumentEntries",
                test_folder_version);
    CU_add_test(s, "version rules: XDSMetadataVersionError, XDSMetadataUpdateError",
                test_version_rules);
    CU_add_test(s, "UpdateAvailabilityStatus both ways", test_status_update);
    CU_add_test(s, "UpdateAvailabilityStatus rules: XDSMetadataUpdateOperationError",
                test_status_update_rules);
    CU_add_test(s, "a refused or unwritable update changes nothing",
                test_refused_update_changes_nothing);
    CU_add_test(s, "SubmitAssociation: duplicates, XDSPatientIDReconciliationError",
                test_submit_association);
}
