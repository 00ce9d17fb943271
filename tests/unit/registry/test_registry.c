/* Tests src/registry (registry.c, rules.c): a valid submission registers into a real store with
 * entryUUIDs assigned and references rewritten; each rule refuses a small mutation of the base
 * fixture with its specific IHE error code and a message naming the object; every fault of a
 * submission is reported; nothing is stored after a failure. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ebrim/model.h"
#include "registry/registry.h"
#include "unit.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/id.h"
#include "xml/parse.h"

#define PID "P-1001^^^&amp;1.3.6.1.4.1.99999.3&amp;ISO" /* as written in the fixtures */
#define PID_TEXT "P-1001^^^&1.3.6.1.4.1.99999.3&ISO"
#define OTHER_PID_TEXT "P-2002^^^&1.3.6.1.4.1.99999.3&ISO"
#define HAS_MEMBER "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
#define SS_STATUS(v)                                                                               \
    "<rim:Slot name=\"SubmissionSetStatus\"><rim:ValueList><rim:Value>" v                          \
    "</rim:Value></rim:ValueList></rim:Slot>"
#define LIST_END "  </rim:RegistryObjectList>"

/* ---- the environment: a real store with the fixture's patient ----------------------------------
 */

typedef struct env {
    char *dir;
    cg_store *store;
    cg_registry *reg;
} env;

static void
env_open(env *e, int check_patients, int add_patient)
{
    cg_err err;
    cg_err_init(&err);
    e->dir = cg_test_tmpdir();
    cg_store_config sc = {.data_dir = e->dir, .readers = 2};
    CU_ASSERT_EQUAL_FATAL(cg_store_open(&e->store, &sc, &err), CG_OK);
    if (add_patient) {
        CU_ASSERT_EQUAL(cg_store_patient_add(e->store, PID_TEXT, &err), CG_OK);
        CU_ASSERT_EQUAL(cg_store_patient_add(e->store, OTHER_PID_TEXT, &err), CG_OK);
    }
    cg_registry_config rc;
    cg_registry_config_default(&rc);
    rc.check_patients = check_patients;
    e->reg = cg_registry_new(e->store, &rc);
}

static void
env_close(env *e)
{
    cg_registry_free(e->reg);
    cg_store_free(e->store);
    free(e->dir);
}

static cg_store_stats
stats(env *e)
{
    cg_store_stats st;
    cg_err err;
    cg_err_init(&err);
    memset(&st, 0, sizeof(st));
    CU_ASSERT_EQUAL(cg_store_stats_get(e->store, &st, &err), CG_OK);
    return st;
}

static void
expect_counts(env *e, int64_t des, int64_t sss, int64_t fols, int64_t assocs)
{
    cg_store_stats st = stats(e);
    CU_ASSERT_EQUAL(st.document_entries, des);
    CU_ASSERT_EQUAL(st.submission_sets, sss);
    CU_ASSERT_EQUAL(st.folders, fols);
    CU_ASSERT_EQUAL(st.associations, assocs);
}

/* ---- fixture text and its mutations ------------------------------------------------------------
 */

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

/* Replaces the one occurrence of `from` (there must be exactly one). */
static char *
edit(char *text, const char *from, const char *to)
{
    char *p = strstr(text, from);
    if (p == NULL || strstr(p + 1, from) != NULL) {
        fprintf(stderr, "\nfixture edit: \"%s\" is not there exactly once\n", from);
        CU_FAIL("fixture edit: the text to replace is not there exactly once");
        return text;
    }
    char *out = cg_xasprintf("%.*s%s%s", (int)(p - text), text, to, p + strlen(from));
    free(text);
    return out;
}

static char *
edit_all(char *text, const char *from, const char *to)
{
    size_t n = 0;
    for (char *p = strstr(text, from); p; p = strstr(p + strlen(from), from))
        n++;
    CU_ASSERT(n > 0);
    for (size_t i = 0; i < n; i++) {
        char *p = strstr(text, from);
        char *out = cg_xasprintf("%.*s%s%s", (int)(p - text), text, to, p + strlen(from));
        free(text);
        text = out;
    }
    return text;
}

/* Removes from `from` to the end of the first `until` after it. */
static char *
cut(char *text, const char *from, const char *until)
{
    char *p = strstr(text, from);
    char *q = p ? strstr(p, until) : NULL;
    if (q == NULL) {
        CU_FAIL("fixture cut: markers not found");
        return text;
    }
    char *out = cg_xasprintf("%.*s%s", (int)(p - text), text, q + strlen(until));
    free(text);
    return out;
}

/* The Classification with that id, as written in the fixtures. */
static char *
cut_classification(char *text, const char *id)
{
    char *from = cg_xasprintf("<rim:Classification id=\"%s\"", id);
    text = cut(text, from, "</rim:Classification>");
    free(from);
    return text;
}

static char *
cut_slot(char *text, const char *name)
{
    char *from = cg_xasprintf("<rim:Slot name=\"%s\">", name);
    text = cut(text, from, "</rim:Slot>");
    free(from);
    return text;
}

static char *
append_objects(char *text, const char *objects)
{
    char *to = cg_xasprintf("%s\n" LIST_END, objects);
    text = edit(text, LIST_END, to);
    free(to);
    return text;
}

/* ---- one submission -------------------------------------------------------------------------- */

typedef struct run {
    cg_pool *pool;
    xmlDocPtr doc;
    cg_ebrim_submission sub;
    cg_errlist errs;
    int parse_rc;
    int rc;
} run;

static void
run_docs(run *r, env *e, char *text, const cg_store_document *docs, size_t ndocs)
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
    r->parse_rc =
        cg_ebrim_parse_submission(&r->sub, xmlDocGetRootElement(r->doc), r->pool, &r->errs);
    CU_ASSERT_EQUAL(r->parse_rc, CG_OK);
    r->rc = r->parse_rc == CG_OK ? cg_registry_submit(e->reg, &r->sub, docs, ndocs, &r->errs)
                                 : CG_EINVAL;
}

static void
run_text(run *r, env *e, char *text)
{
    run_docs(r, e, text, NULL, 0);
}

static void
run_done(run *r)
{
    cg_pool_free(r->pool);
}

static void
dump(const run *r)
{
    for (size_t i = 0; i < r->errs.count; i++)
        fprintf(stderr, "\n  [%s] %s: %s", r->errs.items[i].severity == CG_IHE_ERROR ? "E" : "W",
                r->errs.items[i].code, r->errs.items[i].context);
    fputc('\n', stderr);
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

static size_t
count_code(const run *r, const char *code)
{
    size_t n = 0;
    for (size_t i = 0; i < r->errs.count; i++)
        n += strcmp(r->errs.items[i].code, code) == 0;
    return n;
}

/* Submits text into a fresh registry and expects it refused with code and a message containing
 * part, the request processed (CG_OK) and nothing stored. */
static void
refused(char *text, const char *code, const char *part)
{
    env e;
    env_open(&e, 1, 1);
    run r;
    run_text(&r, &e, text);
    CU_ASSERT_EQUAL(r.rc, CG_OK);
    CU_ASSERT(r.errs.errors > 0);
    expect(&r, code, part);
    expect_counts(&e, 0, 0, 0, 0);
    run_done(&r);
    env_close(&e);
}

static xmlNodePtr
find_rim(xmlNodePtr parent, const char *local)
{
    return cg_ebrim_child(parent, local, NULL);
}

static char *
prop(xmlNodePtr n, const char *name)
{
    xmlChar *v = xmlGetProp(n, BAD_CAST name);
    char *s = v ? cg_xstrdup((const char *)v) : NULL;
    xmlFree(v);
    return s;
}

static int
prop_is(xmlNodePtr n, const char *name, const char *value)
{
    char *v = prop(n, name);
    int eq = v && value && strcmp(v, value) == 0;
    free(v);
    return eq;
}

static char *
stored_xml(env *e, const char *uuid)
{
    char *xml = NULL;
    size_t len = 0;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_object_xml(e->store, uuid, &xml, &len, &err), CG_OK);
    return xml;
}

/* ---- success --------------------------------------------------------------------------------- */

static void
test_register_base(void)
{
    env e;
    env_open(&e, 1, 1);
    run r;
    run_text(&r, &e, load("registry/base.xml"));
    expect_success(&r);
    CU_ASSERT_EQUAL(r.errs.count, 0);
    expect_counts(&e, 1, 1, 0, 1);

    /* entryUUIDs assigned; the submitted ids stay in the model for messages */
    const cg_ebrim_object *doc = cg_ebrim_find(&r.sub, "Document01");
    const cg_ebrim_object *ss = cg_ebrim_find(&r.sub, "SubmissionSet01");
    const cg_ebrim_object *as = cg_ebrim_find(&r.sub, "as01");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ss);
    CU_ASSERT_PTR_NOT_NULL_FATAL(as);
    CU_ASSERT(cg_id_is_uuid_urn(doc->uuid));
    CU_ASSERT(cg_id_is_uuid_urn(ss->uuid));
    CU_ASSERT(cg_id_is_uuid_urn(as->uuid));
    CU_ASSERT_STRING_NOT_EQUAL(doc->uuid, ss->uuid);

    /* the tree: ids, references, lid, status, VersionInfo */
    CU_ASSERT(prop_is(doc->node, "id", doc->uuid));
    CU_ASSERT(prop_is(doc->node, "lid", doc->uuid));
    CU_ASSERT(prop_is(doc->node, "status", CG_STATUS_APPROVED));
    xmlNodePtr vi = find_rim(doc->node, "VersionInfo");
    CU_ASSERT_PTR_NOT_NULL(vi);
    CU_ASSERT(vi && prop_is(vi, "versionName", "1"));
    CU_ASSERT(prop_is(as->node, "sourceObject", ss->uuid));
    CU_ASSERT(prop_is(as->node, "targetObject", doc->uuid));
    CU_ASSERT(prop_is(as->node, "status", CG_STATUS_APPROVED));
    for (xmlNodePtr c = find_rim(doc->node, "Classification"); c;
         c = cg_ebrim_child(doc->node, "Classification", c)) {
        CU_ASSERT(prop_is(c, "classifiedObject", doc->uuid));
        char *id = prop(c, "id");
        CU_ASSERT(id && cg_id_is_uuid_urn(id));
        free(id);
    }
    for (xmlNodePtr x = find_rim(ss->node, "ExternalIdentifier"); x;
         x = cg_ebrim_child(ss->node, "ExternalIdentifier", x))
        CU_ASSERT(prop_is(x, "registryObject", ss->uuid));

    /* what the store holds: the amended element, standalone, with its namespace */
    char *xml = stored_xml(&e, doc->uuid);
    CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<rim:ExtrinsicObject xmlns:rim=\"" CG_NS_RIM "\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, doc->uuid));
    CU_ASSERT_PTR_NULL(strstr(xml, "Document01"));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "versionName=\"1\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, CG_STATUS_APPROVED));
    free(xml);
    xml = stored_xml(&e, as->uuid);
    CU_ASSERT_PTR_NOT_NULL(xml && strstr(xml, ss->uuid));
    free(xml);
    run_done(&r);
    env_close(&e);
}

static void
test_register_folder(void)
{
    env e;
    env_open(&e, 1, 1);
    run r;
    run_text(&r, &e, load("registry/folder.xml"));
    expect_success(&r);
    expect_counts(&e, 1, 1, 1, 4);
    const cg_ebrim_object *fol = cg_ebrim_find(&r.sub, "Folder01");
    const cg_ebrim_object *fd = cg_ebrim_find(&r.sub, "as-fol-doc");
    const cg_ebrim_object *ssfd = cg_ebrim_find(&r.sub, "as-ss-fd");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fol);
    /* lastUpdateTime set by the registry, a UTC DTM to the second */
    const char *lut = cg_ebrim_slot_value(fol, "lastUpdateTime");
    CU_ASSERT_PTR_NOT_NULL_FATAL(lut);
    CU_ASSERT_EQUAL(strlen(lut), 14);
    CU_ASSERT(strncmp(lut, "20", 2) == 0);
    /* an Association that targets an Association is rewritten too */
    CU_ASSERT(prop_is(ssfd->node, "targetObject", fd->uuid));
    CU_ASSERT(prop_is(fd->node, "sourceObject", fol->uuid));
    /* the standalone Folder Classification is folded into the stored Folder */
    char *xml = stored_xml(&e, fol->uuid);
    CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "classificationNode=\"" CG_UUID_FOLDER "\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "lastUpdateTime"));
    CU_ASSERT_PTR_NULL(strstr(xml, "\"Folder01\""));
    free(xml);
    run_done(&r);
    env_close(&e);
}

static void
test_register_standalone_ss_classification(void)
{
    char *text = load("registry/base.xml");
    text = edit(text,
                "<rim:Classification id=\"cl-ss\" classificationNode=\"urn:uuid:a54d6aa5-d40d-"
                "43f9-88c5-b4633d873bdd\"\n          classifiedObject=\"SubmissionSet01\"/>",
                "");
    text = append_objects(text,
                          "<rim:Classification id=\"cl-ss\" classifiedObject=\"SubmissionSet01\" "
                          "classificationNode=\"" CG_UUID_SUBMISSION_SET "\"/>");
    env e;
    env_open(&e, 1, 1);
    run r;
    run_text(&r, &e, text);
    expect_success(&r);
    expect_counts(&e, 1, 1, 0, 1);
    const cg_ebrim_object *ss = cg_ebrim_find(&r.sub, "SubmissionSet01");
    const cg_ebrim_object *cl = cg_ebrim_find(&r.sub, "cl-ss");
    CU_ASSERT_EQUAL(ss->kind, CG_EBRIM_SUBMISSION_SET);
    CU_ASSERT(prop_is(cl->node, "classifiedObject", ss->uuid));
    char *xml = stored_xml(&e, ss->uuid);
    CU_ASSERT_PTR_NOT_NULL(xml && strstr(xml, "classificationNode=\"" CG_UUID_SUBMISSION_SET "\""));
    CU_ASSERT_PTR_NOT_NULL(xml && strstr(xml, cl->uuid));
    free(xml);
    run_done(&r);
    env_close(&e);
}

#define DOC_UUID "urn:uuid:3b5e4c1a-8f2d-4e6b-9a7c-1d2e3f4a5b6c"
#define SS_UUID "urn:uuid:4c6f5d2b-9a3e-4f7c-8b8d-2e3f4a5b6c7d"
#define AS_UUID "urn:uuid:5d7a6e3c-ab4f-4a8d-9c9e-3f4a5b6c7d8e"

static char *
base_with_uuids(void)
{
    char *text = load("registry/base.xml");
    text = edit_all(text, "\"Document01\"", "\"" DOC_UUID "\"");
    text = edit_all(text, "\"SubmissionSet01\"", "\"" SS_UUID "\"");
    return edit_all(text, "\"as01\"", "\"" AS_UUID "\"");
}

static void
test_register_uuid_ids(void)
{
    env e;
    env_open(&e, 1, 1);
    run r;
    run_text(&r, &e, base_with_uuids());
    expect_success(&r);
    const cg_ebrim_object *doc = cg_ebrim_find(&r.sub, DOC_UUID);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_STRING_EQUAL(doc->uuid, DOC_UUID); /* kept */
    char *xml = stored_xml(&e, DOC_UUID);
    CU_ASSERT_PTR_NOT_NULL(xml);
    free(xml);
    xml = stored_xml(&e, AS_UUID);
    CU_ASSERT_PTR_NOT_NULL(xml && strstr(xml, "sourceObject=\"" SS_UUID "\""));
    free(xml);
    run_done(&r);

    /* the same entryUUIDs again (other uniqueIds): already registered */
    char *text = base_with_uuids();
    text = edit(text, "1.3.6.1.4.1.99999.5.1", "1.3.6.1.4.1.99999.5.2");
    text = edit(text, "1.3.6.1.4.1.99999.4.1^DOC-1", "1.3.6.1.4.1.99999.4.1^DOC-2");
    run_text(&r, &e, text);
    CU_ASSERT_EQUAL(r.rc, CG_OK);
    expect(&r, CG_XDS_REGISTRY_METADATA_ERROR,
           "DocumentEntry " DOC_UUID ": entryUUID " DOC_UUID " is already registered");
    expect_counts(&e, 1, 1, 0, 1);
    run_done(&r);
    env_close(&e);
}

static void
test_documents_go_with_the_submission(void)
{
    env e;
    env_open(&e, 1, 1);
    cg_store_document doc = {.repository_id = "1.3.6.1.4.1.99999.1.1",
                             .unique_id = "1.3.6.1.4.1.99999.4.1^DOC-1",
                             .mime_type = "text/xml",
                             .hash = "da39a3ee5e6b4b0d3255bfef95601890afd80709",
                             .data = (const unsigned char *)"",
                             .len = 0};
    run r;
    run_docs(&r, &e, load("registry/base.xml"), &doc, 1);
    expect_success(&r);
    CU_ASSERT_EQUAL(stats(&e).documents, 1);
    run_done(&r);
    /* refused submission: its document is not stored either */
    char *text = load("registry/base.xml");
    text = edit(text, "<rim:Value>20240105101500</rim:Value>", "<rim:Value>2024</rim:Value>");
    text = edit(text, "1.3.6.1.4.1.99999.5.1", "1.3.6.1.4.1.99999.5.9");
    text = edit(text, "objectType=\"urn:uuid:7edca82f", "objectType=\"urn:uuid:0000000f");
    doc.unique_id = "1.3.6.1.4.1.99999.4.1^DOC-9";
    run_docs(&r, &e, text, &doc, 1);
    CU_ASSERT(r.errs.errors > 0);
    CU_ASSERT_EQUAL(stats(&e).documents, 1);
    run_done(&r);
    env_close(&e);
}

static void
test_nested_ids_and_parents_filled(void)
{
    char *text = edit(load("registry/base.xml"),
                      "<rim:Classification id=\"cl-class\" "
                      "classificationScheme=\"urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a\"\n"
                      "          classifiedObject=\"Document01\" nodeRepresentation=\"18842-5\">",
                      "<rim:Classification classificationScheme=\"urn:uuid:41a5887f-8865-4c09-"
                      "adf7-e362475b143a\" nodeRepresentation=\"18842-5\">");
    text = edit(text, "<rim:ExternalIdentifier id=\"ei-de-uid\"", "<rim:ExternalIdentifier");
    text = edit(text,
                "\n          registryObject=\"Document01\" value=\"1.3.6.1.4.1.99999.4.1^DOC-1\"",
                " value=\"1.3.6.1.4.1.99999.4.1^DOC-1\"");
    env e;
    env_open(&e, 1, 1);
    run r;
    run_text(&r, &e, text);
    expect_success(&r);
    const cg_ebrim_object *doc = cg_ebrim_find(&r.sub, "Document01");
    int seen = 0;
    for (xmlNodePtr c = find_rim(doc->node, "Classification"); c;
         c = cg_ebrim_child(doc->node, "Classification", c)) {
        if (!prop_is(c, "classificationScheme", "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"))
            continue;
        seen = 1;
        char *id = prop(c, "id");
        CU_ASSERT(id && cg_id_is_uuid_urn(id));
        free(id);
        CU_ASSERT(prop_is(c, "classifiedObject", doc->uuid));
    }
    CU_ASSERT(seen);
    for (xmlNodePtr x = find_rim(doc->node, "ExternalIdentifier"); x;
         x = cg_ebrim_child(doc->node, "ExternalIdentifier", x))
        CU_ASSERT(prop_is(x, "registryObject", doc->uuid));
    run_done(&r);
    env_close(&e);
}

/* Many objects in one submission: nothing on the way is quadratic in practice, all registered. */
static void
test_many_document_entries(void)
{
    enum { N = 300 };
    char *base = load("registry/base.xml");
    const char *from = strstr(base, "    <rim:ExtrinsicObject");
    const char *to = strstr(base, "</rim:ExtrinsicObject>\n") + strlen("</rim:ExtrinsicObject>\n");
    char *block = cg_xstrndup(from, (size_t)(to - from));
    from = strstr(base, "    <rim:Association id=\"as01\"");
    char *as = cg_xstrndup(from, (size_t)(strstr(base, LIST_END) - from));
    cg_buf all;
    cg_buf_init(&all, (size_t)1 << 24);
    for (int i = 2; i <= N; i++) {
        char *d = cg_xasprintf("\"Document%03d\"", i);
        char *uid = cg_xasprintf("^DOC-%d\"", i);
        char *aid = cg_xasprintf("\"as%03d\"", i);
        char *one = edit(edit_all(cg_xstrdup(block), "\"Document01\"", d), "^DOC-1\"", uid);
        char *a = edit(edit(cg_xstrdup(as), "\"Document01\"", d), "\"as01\"", aid);
        CU_ASSERT_EQUAL(cg_buf_puts(&all, one), CG_OK);
        CU_ASSERT_EQUAL(cg_buf_puts(&all, a), CG_OK);
        free(one);
        free(a);
        free(d);
        free(uid);
        free(aid);
    }
    char *text = append_objects(base, all.data);
    cg_buf_dispose(&all);
    free(block);
    free(as);
    env e;
    env_open(&e, 1, 1);
    run r;
    run_text(&r, &e, text);
    expect_success(&r);
    CU_ASSERT_EQUAL(r.sub.count, 2 * N + 1);
    expect_counts(&e, N, 1, 0, N);
    run_done(&r);
    env_close(&e);
}

/* ---- structure (XDSRegistryMetadataError) ---------------------------------------------------- */

static void
test_submission_set_count(void)
{
    char *text = load("registry/base.xml");
    text = cut(text, "<rim:RegistryPackage id=\"SubmissionSet01\">", "</rim:RegistryPackage>");
    refused(text, CG_XDS_REGISTRY_METADATA_ERROR, "the submission has no SubmissionSet");

    text = load("registry/base.xml");
    text = append_objects(
        text, "<rim:RegistryPackage id=\"SubmissionSet02\"><rim:Classification id=\"c9\" "
              "classifiedObject=\"SubmissionSet02\" classificationNode=\"" CG_UUID_SUBMISSION_SET
              "\"/></rim:RegistryPackage>");
    refused(text, CG_XDS_REGISTRY_METADATA_ERROR,
            "SubmissionSet SubmissionSet02: is a second SubmissionSet");
}

static void
test_membership(void)
{
    char *text =
        cut(load("registry/base.xml"), "<rim:Association id=\"as01\"", "</rim:Association>");
    refused(text, CG_XDS_REGISTRY_METADATA_ERROR,
            "DocumentEntry Document01: is not the target of a HasMember association from the "
            "SubmissionSet");

    text = cut_slot(load("registry/base.xml"), "SubmissionSetStatus");
    refused(text, CG_XDS_REGISTRY_METADATA_ERROR,
            "Association as01: HasMember from the SubmissionSet to Document01 lacks the slot "
            "SubmissionSetStatus");

    text = edit(load("registry/base.xml"), "<rim:Value>Original</rim:Value>",
                "<rim:Value>Copy</rim:Value>");
    refused(text, CG_XDS_REGISTRY_METADATA_ERROR,
            "Association as01: SubmissionSetStatus \"Copy\" is neither Original nor Reference");

    text = edit(load("registry/base.xml"), "<rim:Value>Original</rim:Value>",
                "<rim:Value>Reference</rim:Value>");
    refused(text, CG_XDS_REGISTRY_METADATA_ERROR,
            "Association as01: SubmissionSetStatus is Reference, but DocumentEntry Document01 is "
            "submitted here");
}

static void
test_document_entry_attributes(void)
{
    refused(edit(load("registry/base.xml"), " mimeType=\"text/xml\"", ""),
            CG_XDS_REGISTRY_METADATA_ERROR, "DocumentEntry Document01: has no mimeType");
    refused(edit(load("registry/base.xml"), "mimeType=\"text/xml\"", "mimeType=\"textxml\""),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "DocumentEntry Document01: mimeType \"textxml\" is not a MIME type");
    refused(edit(load("registry/base.xml"), "objectType=\"urn:uuid:7edca82f",
                 "objectType=\"urn:uuid:0000000f"),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "DocumentEntry Document01: objectType \"urn:uuid:0000000f");
    refused(edit(load("registry/base.xml"),
                 "\n        objectType=\"urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1\"", ""),
            CG_XDS_REGISTRY_METADATA_ERROR, "DocumentEntry Document01: has no objectType");
}

static void
test_required_slots(void)
{
    const char *names[] = {"creationTime", "languageCode", "sourcePatientId",
                           "hash",         "size",         "repositoryUniqueId"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char *msg = cg_xasprintf("DocumentEntry Document01: lacks the required slot %s", names[i]);
        refused(cut_slot(load("registry/base.xml"), names[i]), CG_XDS_REGISTRY_METADATA_ERROR, msg);
        free(msg);
    }
    /* present but without a value */
    refused(edit(load("registry/base.xml"), "<rim:Value>en-US</rim:Value>", ""),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "DocumentEntry Document01: slot languageCode has no value");
}

static void
test_required_classifications(void)
{
    const char *ids[] = {"cl-class", "cl-conf", "cl-format", "cl-hcft", "cl-practice", "cl-type"};
    const char *attrs[] = {"classCode",           "confidentialityCode",
                           "formatCode",          "healthcareFacilityTypeCode",
                           "practiceSettingCode", "typeCode"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        char *msg = cg_xasprintf("DocumentEntry Document01: lacks the %s Classification", attrs[i]);
        refused(cut_classification(load("registry/base.xml"), ids[i]),
                CG_XDS_REGISTRY_METADATA_ERROR, msg);
        free(msg);
    }
    /* optional: author */
    env e;
    env_open(&e, 1, 1);
    run r;
    run_text(&r, &e, cut_classification(load("registry/base.xml"), "cl-author"));
    expect_success(&r);
    run_done(&r);
    env_close(&e);
}

static void
test_single_values_and_duplicates(void)
{
    refused(edit(load("registry/base.xml"), "<rim:Value>20240105101500</rim:Value>",
                 "<rim:Value>20240105101500</rim:Value><rim:Value>20240106</rim:Value>"),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "DocumentEntry Document01: slot creationTime has 2 values; it takes one");
    refused(edit(load("registry/base.xml"),
                 "<rim:Name><rim:LocalizedString value=\"Discharge summary\"/>",
                 "<rim:Slot name=\"languageCode\"><rim:ValueList><rim:Value>de</rim:Value>"
                 "</rim:ValueList></rim:Slot><rim:Name><rim:LocalizedString value=\"Discharge "
                 "summary\"/>"),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "DocumentEntry Document01: slot languageCode appears 2 times");
    refused(edit(load("registry/base.xml"), "nodeRepresentation=\"394802001\">",
                 "nodeRepresentation=\"394802001\"/><rim:Classification id=\"cl-class2\" "
                 "classificationScheme=\"urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a\" "
                 "classifiedObject=\"Document01\" nodeRepresentation=\"11488-4\">"),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "DocumentEntry Document01: has 2 classCode Classifications");
}

static void
test_coded_classifications(void)
{
    refused(edit(load("registry/base.xml"), "nodeRepresentation=\"N\"", ""),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "DocumentEntry Document01: confidentialityCode Classification cl-conf has no "
            "nodeRepresentation");
    refused(edit(load("registry/base.xml"),
                 "<rim:Slot "
                 "name=\"codingScheme\"><rim:ValueList><rim:Value>2.16.840.1.113883.5.25</"
                 "rim:Value></rim:ValueList></rim:Slot>",
                 ""),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "DocumentEntry Document01: confidentialityCode Classification cl-conf has 0 "
            "codingScheme values; it needs exactly one");
    refused(edit(load("registry/base.xml"), "<rim:Value>2.16.840.1.113883.5.25</rim:Value>",
                 "<rim:Value>2.16.840.1.113883.5.25</rim:Value><rim:Value>x</rim:Value>"),
            CG_XDS_REGISTRY_METADATA_ERROR, "cl-conf has 2 codingScheme values");
    char *text = load("registry/base.xml");
    text = cut_slot(text, "authorPerson"); /* the DocumentEntry's, the first */
    text = cut_slot(text, "authorInstitution");
    refused(text, CG_XDS_REGISTRY_METADATA_ERROR,
            "DocumentEntry Document01: author Classification cl-author has none of authorPerson");
}

static void
test_submission_set_attributes(void)
{
    refused(cut_slot(load("registry/base.xml"), "submissionTime"), CG_XDS_REGISTRY_METADATA_ERROR,
            "SubmissionSet SubmissionSet01: lacks the required slot submissionTime");
    refused(cut_classification(load("registry/base.xml"), "cl-content"),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "SubmissionSet SubmissionSet01: lacks the contentTypeCode Classification");
    refused(cut(load("registry/base.xml"), "<rim:ExternalIdentifier id=\"ei-ss-src\"", "/>"),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "SubmissionSet SubmissionSet01: lacks the sourceId ExternalIdentifier");
    refused(cut(load("registry/base.xml"), "<rim:ExternalIdentifier id=\"ei-ss-uid\"", "/>"),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "SubmissionSet SubmissionSet01: lacks the uniqueId ExternalIdentifier");
    refused(cut(load("registry/base.xml"), "<rim:ExternalIdentifier id=\"ei-ss-pid\"", "/>"),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "SubmissionSet SubmissionSet01: lacks the patientId ExternalIdentifier");
    refused(edit(load("registry/base.xml"), "value=\"1.3.6.1.4.1.99999.5.1\"",
                 "value=\"1.3.6.1.4.1.99999.5.1^X\""),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "SubmissionSet SubmissionSet01: uniqueId \"1.3.6.1.4.1.99999.5.1^X\" is not an OID");
    refused(edit(load("registry/base.xml"), "value=\"1.3.6.1.4.1.99999.6\"", "value=\"source-a\""),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "SubmissionSet SubmissionSet01: sourceId \"source-a\" is not an OID");
}

static void
test_folder_rules(void)
{
    refused(cut_classification(load("registry/folder.xml"), "cl-codelist"),
            CG_XDS_REGISTRY_METADATA_ERROR, "Folder Folder01: lacks the codeList Classification");
    refused(
        edit(load("registry/folder.xml"), "value=\"1.3.6.1.4.1.99999.7.1\"", "value=\"folder-1\""),
        CG_XDS_REGISTRY_METADATA_ERROR, "Folder Folder01: uniqueId \"folder-1\" is not an OID");
    refused(cut(load("registry/folder.xml"), "<rim:Association id=\"as-ss-fol\"", "/>"),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "Folder Folder01: is not the target of a HasMember association from the SubmissionSet");
    refused(cut(load("registry/folder.xml"), "<rim:Association id=\"as-ss-fd\"", "/>"),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "Association as-fol-doc: puts Document01 into Folder Folder01 but is not itself the "
            "target of a HasMember association from the SubmissionSet");
    refused(edit(load("registry/folder.xml"),
                 "sourceObject=\"Folder01\" targetObject=\"Document01\"",
                 "sourceObject=\"Folder01\" targetObject=\"SubmissionSet01\""),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "Association as-fol-doc: HasMember from Folder Folder01 "
            "to SubmissionSet SubmissionSet01");
}

/* ---- value formats (XDSRegistryMetadataError) -------------------------------------------------
 */

static void
test_formats(void)
{
    refused(edit(load("registry/base.xml"), "<rim:Value>20240105101500</rim:Value>",
                 "<rim:Value>2024-13-01</rim:Value>"),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "DocumentEntry Document01: slot creationTime \"2024-13-01\" is not a DTM");
    refused(edit(load("registry/base.xml"), "<rim:Value>20240105101500</rim:Value>",
                 "<rim:Value>20230229</rim:Value>"),
            CG_XDS_REGISTRY_METADATA_ERROR, "slot creationTime \"20230229\" is not a DTM");
    refused(edit(load("registry/base.xml"), "<rim:Value>202401050800</rim:Value>",
                 "<rim:Value>202401052500</rim:Value>"),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "DocumentEntry Document01: slot serviceStartTime \"202401052500\" is not a DTM");
    refused(edit(load("registry/base.xml"), "<rim:Value>20240105103000</rim:Value>",
                 "<rim:Value>yesterday</rim:Value>"),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "SubmissionSet SubmissionSet01: slot submissionTime \"yesterday\" is not a DTM");
    refused(edit(load("registry/base.xml"), "da39a3ee5e6b4b0d3255bfef95601890afd80709",
                 "da39a3ee5e6b4b0d"),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "DocumentEntry Document01: slot hash \"da39a3ee5e6b4b0d\" is not a SHA-1");
    refused(
        edit(load("registry/base.xml"), "<rim:Value>0</rim:Value>", "<rim:Value>12a</rim:Value>"),
        CG_XDS_REGISTRY_METADATA_ERROR,
        "DocumentEntry Document01: slot size \"12a\" is not a size in bytes");
    refused(
        edit(load("registry/base.xml"), "<rim:Value>en-US</rim:Value>",
             "<rim:Value>en_US</rim:Value>"),
        CG_XDS_REGISTRY_METADATA_ERROR,
        "DocumentEntry Document01: slot languageCode \"en_US\" is not an RFC 5646 language tag");
    refused(edit(load("registry/base.xml"), "<rim:Value>1.3.6.1.4.1.99999.1.1</rim:Value>",
                 "<rim:Value>repo-1</rim:Value>"),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "DocumentEntry Document01: slot repositoryUniqueId \"repo-1\" is not an OID");
    refused(edit(load("registry/base.xml"),
                 "<rim:Value>L-77^^^&amp;1.2.3.4.5.6&amp;ISO</rim:Value>",
                 "<rim:Value>L-77</rim:Value>"),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "DocumentEntry Document01: slot sourcePatientId \"L-77\" is not a CX patient id");
    refused(edit(load("registry/base.xml"), "registryObject=\"Document01\" value=\"" PID "\"",
                 "registryObject=\"Document01\" value=\"P-1001^^^1.3.6.1.4.1.99999.3&amp;ISO\""),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "DocumentEntry Document01: patientId \"P-1001^^^1.3.6.1.4.1.99999.3&ISO\" is not a CX "
            "patient id of the form ID^^^&OID&ISO: not of the form");
    refused(edit(load("registry/base.xml"), "1.3.6.1.4.1.99999.4.1^DOC-1",
                 "1.3.6.1.4.1.99999.4.1^0123456789abcdefg"),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "DocumentEntry Document01: uniqueId \"1.3.6.1.4.1.99999.4.1^0123456789abcdefg\" is not "
            "an OID or OID^extension");
}

static void
test_entry_uuid_and_lid(void)
{
    refused(edit_all(load("registry/base.xml"), "\"Document01\"", "\"urn:uuid:1234\""),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "DocumentEntry urn:uuid:1234: id \"urn:uuid:1234\" is not a well-formed urn:uuid");
    refused(edit(load("registry/base.xml"), "<rim:ExtrinsicObject id=\"Document01\"",
                 "<rim:ExtrinsicObject id=\"Document01\" lid=\"" DOC_UUID "\""),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "DocumentEntry Document01: lid \"" DOC_UUID "\" differs from its id");
    refused(append_objects(load("registry/base.xml"),
                           "<rim:ExtrinsicObject id=\"Document01\" mimeType=\"text/plain\"/>"),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "id \"Document01\" is already the id of DocumentEntry Document01");
}

static void
test_on_demand(void)
{
    char *text = edit(load("registry/base.xml"), "objectType=\"" CG_UUID_STABLE_DOCUMENT "\"",
                      "objectType=\"" CG_UUID_ONDEMAND_DOCUMENT "\"");
    refused(text, CG_XDS_REGISTRY_METADATA_ERROR,
            "DocumentEntry Document01: slot hash is not allowed on an On-Demand DocumentEntry");
    /* without hash, size and creationTime it is a valid On-Demand DocumentEntry */
    text = edit(load("registry/base.xml"), "objectType=\"" CG_UUID_STABLE_DOCUMENT "\"",
                "objectType=\"" CG_UUID_ONDEMAND_DOCUMENT "\"");
    text = cut_slot(cut_slot(cut_slot(text, "hash"), "size"), "creationTime");
    env e;
    env_open(&e, 1, 1);
    run r;
    run_text(&r, &e, text);
    expect_success(&r);
    expect_counts(&e, 1, 1, 0, 1);
    run_done(&r);
    env_close(&e);
}

/* ---- associations ---------------------------------------------------------------------------- */

static void
test_association_types(void)
{
    const char *relationships[] = {
        "urn:ihe:iti:2007:AssociationType:RPLC", "urn:ihe:iti:2007:AssociationType:APND",
        "urn:ihe:iti:2007:AssociationType:XFRM", "urn:ihe:iti:2007:AssociationType:XFRM_RPLC",
        "urn:ihe:iti:2007:AssociationType:signs"};
    for (size_t i = 0; i < sizeof(relationships) / sizeof(relationships[0]); i++) {
        /* taken, but their target must be a registered DocumentEntry */
        char *obj = cg_xasprintf("<rim:Association id=\"as-lc\" associationType=\"%s\" "
                                 "sourceObject=\"Document01\" targetObject=\"" DOC_UUID "\"/>",
                                 relationships[i]);
        refused(append_objects(load("registry/base.xml"), obj), CG_XDS_UNRESOLVED_REFERENCE,
                "Association as-lc: targetObject " DOC_UUID " names no registered DocumentEntry");
        free(obj);
    }
    refused(append_objects(load("registry/base.xml"),
                           "<rim:Association id=\"as-lc\" "
                           "associationType=\"urn:ihe:iti:2010:AssociationType:IsSnapshotOf\" "
                           "sourceObject=\"Document01\" targetObject=\"" DOC_UUID "\"/>"),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "Association as-lc: association type urn:ihe:iti:2010:AssociationType:IsSnapshotOf is "
            "not supported by this registry yet");
    refused(append_objects(load("registry/base.xml"),
                           "<rim:Association id=\"as-lc\" "
                           "associationType=\"urn:ihe:iti:2007:AssociationType:RPLC\" "
                           "sourceObject=\"SubmissionSet01\" targetObject=\"" DOC_UUID "\"/>"),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "the sourceObject must be a DocumentEntry of this submission");
    refused(append_objects(load("registry/base.xml"),
                           "<rim:Association id=\"as-x\" associationType=\"urn:example:Likes\" "
                           "sourceObject=\"Document01\" targetObject=\"SubmissionSet01\"/>"),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "Association as-x: association type \"urn:example:Likes\" is not an XDS association "
            "type");
    refused(append_objects(load("registry/base.xml"),
                           "<rim:Association id=\"as-x\" sourceObject=\"Document01\" "
                           "targetObject=\"SubmissionSet01\"/>"),
            CG_XDS_REGISTRY_METADATA_ERROR, "Association as-x: has no associationType");
}

static void
test_association_shapes(void)
{
    /* NIST 21000: a SubmissionSet HasMember itself */
    refused(
        append_objects(load("registry/base.xml"),
                       "<rim:Association id=\"as-self\" associationType=\"" HAS_MEMBER
                       "\" sourceObject=\"SubmissionSet01\" targetObject=\"SubmissionSet01\"/>"),
        CG_XDS_REGISTRY_METADATA_ERROR,
        "Association as-self: associates SubmissionSet01 with itself");
    refused(append_objects(load("registry/base.xml"),
                           "<rim:Association id=\"as-de\" associationType=\"" HAS_MEMBER
                           "\" sourceObject=\"Document01\" targetObject=\"SubmissionSet01\"/>"),
            CG_XDS_REGISTRY_METADATA_ERROR,
            "Association as-de: HasMember from DocumentEntry Document01: only a SubmissionSet or a "
            "Folder has members");
}

static void
test_unresolved_references(void)
{
    refused(edit(load("registry/base.xml"), "targetObject=\"Document01\"",
                 "targetObject=\"Document99\""),
            CG_XDS_UNRESOLVED_REFERENCE,
            "Association as01: targetObject \"Document99\" names no object of this submission");
    refused(append_objects(load("registry/base.xml"),
                           "<rim:Classification id=\"cl-x\" classifiedObject=\"Nobody\" "
                           "classificationNode=\"" CG_UUID_FOLDER "\"/>"),
            CG_XDS_UNRESOLVED_REFERENCE, "Classification cl-x: classifiedObject \"Nobody\"");
    /* a urn:uuid that names nothing registered: the store's conflict */
    refused(append_objects(load("registry/base.xml"),
                           "<rim:Association id=\"as-ref\" associationType=\"" HAS_MEMBER
                           "\" sourceObject=\"SubmissionSet01\" targetObject=\"" DOC_UUID
                           "\">" SS_STATUS("Reference") "</rim:Association>"),
            CG_XDS_UNRESOLVED_REFERENCE,
            "Association as-ref: targetObject \"" DOC_UUID "\" names neither an object of this "
            "submission nor a registered object");
    refused(append_objects(load("registry/base.xml"),
                           "<rim:Classification id=\"cl-y\" classifiedObject=\"" DOC_UUID "\" "
                           "classificationScheme=\"urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4\" "
                           "nodeRepresentation=\"X\"/>"),
            CG_XDS_UNRESOLVED_REFERENCE,
            "Classification cl-y: classifiedObject \"" DOC_UUID "\" names neither an object");
}

/* A second submission of the base (other uniqueIds) that refers to registered objects. */
static char *
second_submission(const char *extra)
{
    char *text = load("registry/base.xml");
    text = edit(text, "1.3.6.1.4.1.99999.5.1", "1.3.6.1.4.1.99999.5.2");
    text = edit(text, "1.3.6.1.4.1.99999.4.1^DOC-1", "1.3.6.1.4.1.99999.4.1^DOC-2");
    return append_objects(text, extra);
}

static void
test_references_to_registered_objects(void)
{
    env e;
    env_open(&e, 1, 1);
    run first;
    run_text(&first, &e, load("registry/folder.xml"));
    expect_success(&first);
    const char *doc = cg_ebrim_find(&first.sub, "Document01")->uuid;
    const char *fol = cg_ebrim_find(&first.sub, "Folder01")->uuid;

    /* the registered DocumentEntry by Reference, and the new one into the registered Folder */
    char *extra = cg_xasprintf(
        "<rim:Association id=\"as-ref\" associationType=\"" HAS_MEMBER
        "\" sourceObject=\"SubmissionSet01\" targetObject=\"%s\">" SS_STATUS(
            "Reference") "</rim:Association>"
                         "<rim:Association id=\"as-fd2\" associationType=\"" HAS_MEMBER
                         "\" sourceObject=\"%s\" targetObject=\"Document01\"/>"
                         "<rim:Association id=\"as-ss-fd2\" associationType=\"" HAS_MEMBER
                         "\" sourceObject=\"SubmissionSet01\" targetObject=\"as-fd2\"/>",
        doc, fol);
    run r;
    run_text(&r, &e, second_submission(extra));
    free(extra);
    expect_success(&r);
    expect_counts(&e, 2, 2, 1, 8);
    const cg_ebrim_object *fd2 = cg_ebrim_find(&r.sub, "as-fd2");
    CU_ASSERT(prop_is(fd2->node, "sourceObject", fol));
    CU_ASSERT(prop_is(fd2->node, "targetObject", cg_ebrim_find(&r.sub, "Document01")->uuid));
    run_done(&r);

    /* Original for an object that is not in the submission */
    extra = cg_xasprintf("<rim:Association id=\"as-ref\" associationType=\"" HAS_MEMBER
                         "\" sourceObject=\"SubmissionSet01\" targetObject=\"%s\">" SS_STATUS(
                             "Original") "</rim:Association>",
                         doc);
    run_text(&r, &e, second_submission(extra));
    free(extra);
    expect(&r, CG_XDS_REGISTRY_METADATA_ERROR,
           "Association as-ref: SubmissionSetStatus is Original, but");
    expect_counts(&e, 2, 2, 1, 8);
    run_done(&r);

    /* classifying a registered object is a metadata update: refused */
    extra = cg_xasprintf("<rim:Classification id=\"cl-y\" classifiedObject=\"%s\" "
                         "classificationScheme=\"urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4\" "
                         "nodeRepresentation=\"X\"/>",
                         doc);
    run_text(&r, &e, second_submission(extra));
    free(extra);
    expect(&r, CG_XDS_REGISTRY_METADATA_ERROR,
           "Classification cl-y: classifies the registered object");
    run_done(&r);
    run_done(&first);
    env_close(&e);
}

/* The lastUpdateTime a registered Folder's stored XML says (heap), or NULL. */
static char *
folder_time(env *e, const char *uuid)
{
    char *xml = stored_xml(e, uuid);
    char *slot = xml ? strstr(xml, "name=\"lastUpdateTime\"") : NULL;
    char *v = slot ? strstr(slot, "<rim:Value>") : NULL;
    char *out = v ? cg_xasprintf("%.14s", v + strlen("<rim:Value>")) : NULL;
    free(xml);
    return out;
}

/* Folders whose indexed lastUpdateTime is at least dtm. */
static size_t
folders_updated_since(env *e, const char *dtm)
{
    cg_store_filter f = {.kinds = CG_STORE_KIND_FOLDER};
    f.last_update.has_from = cg_store_dtm_key(dtm, &f.last_update.from);
    cg_store_rows rows = {0};
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_find(e->store, &f, 0, 0, &rows, &err), CG_OK);
    size_t n = rows.count;
    cg_store_rows_dispose(&rows);
    return n;
}

static void
next_second(void)
{
    struct timespec ts = {1, 100000000}; /* lastUpdateTime counts seconds */
    nanosleep(&ts, NULL);
}

/* The registry keeps a Folder's lastUpdateTime: a replacement carried over to it, and a later
 * submission filing a document in it, each advance it (its stored XML and its indexed value). */
static void
test_folder_last_update_time(void)
{
    env e;
    env_open(&e, 1, 1);
    run first;
    run_text(&first, &e, load("registry/folder.xml"));
    expect_success(&first);
    const char *doc = cg_ebrim_find(&first.sub, "Document01")->uuid;
    const char *fol = cg_ebrim_find(&first.sub, "Folder01")->uuid;
    char *t0 = folder_time(&e, fol);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t0);

    /* a replacement of the document the Folder holds: carried over, the Folder updated */
    next_second();
    char *extra = cg_xasprintf("<rim:Association id=\"as-rplc\" "
                               "associationType=\"urn:ihe:iti:2007:AssociationType:RPLC\" "
                               "sourceObject=\"Document01\" targetObject=\"%s\"/>",
                               doc);
    run r;
    run_text(&r, &e, second_submission(extra));
    free(extra);
    expect_success(&r);
    run_done(&r);
    char *t1 = folder_time(&e, fol);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t1);
    CU_ASSERT(strcmp(t1, t0) > 0);
    CU_ASSERT_EQUAL(folders_updated_since(&e, t1), 1);

    /* a new document filed in the registered Folder */
    next_second();
    extra = cg_xasprintf("<rim:Association id=\"as-fd3\" associationType=\"" HAS_MEMBER
                         "\" sourceObject=\"%s\" targetObject=\"Document01\"/>"
                         "<rim:Association id=\"as-ss-fd3\" associationType=\"" HAS_MEMBER
                         "\" sourceObject=\"SubmissionSet01\" targetObject=\"as-fd3\"/>",
                         fol);
    char *text = edit(second_submission(extra), "1.3.6.1.4.1.99999.5.2", "1.3.6.1.4.1.99999.5.3");
    run_text(&r, &e, edit(text, "^DOC-2", "^DOC-3"));
    free(extra);
    expect_success(&r);
    run_done(&r);
    char *t2 = folder_time(&e, fol);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t2);
    CU_ASSERT(strcmp(t2, t1) > 0);
    CU_ASSERT_EQUAL(folders_updated_since(&e, t2), 1);
    expect_counts(&e, 3, 3, 1, 10); /* 4, then 3 (HasMember, RPLC, carried over), then 3 */
    free(t0);
    free(t1);
    free(t2);
    run_done(&first);
    env_close(&e);
}

/* ---- patients -------------------------------------------------------------------------------- */

static void
test_patient_id_mismatch(void)
{
    refused(
        edit(load("registry/base.xml"), "registryObject=\"Document01\" value=\"" PID "\"",
             "registryObject=\"Document01\" value=\"P-2002^^^&amp;1.3.6.1.4.1.99999.3&amp;ISO\""),
        CG_XDS_PATIENT_ID_DOES_NOT_MATCH,
        "DocumentEntry Document01: patientId \"" OTHER_PID_TEXT "\" differs from the patientId "
        "\"" PID_TEXT "\" of SubmissionSet SubmissionSet01");
    refused(edit(load("registry/folder.xml"), "registryObject=\"Folder01\" value=\"" PID "\"",
                 "registryObject=\"Folder01\" value=\"P-2002^^^&amp;1.3.6.1.4.1.99999.3&amp;ISO\""),
            CG_XDS_PATIENT_ID_DOES_NOT_MATCH,
            "Folder Folder01: patientId \"" OTHER_PID_TEXT "\" differs");
}

static void
test_unknown_patient(void)
{
    env e;
    env_open(&e, 1, 0); /* no patient identity feed */
    run r;
    run_text(&r, &e, load("registry/base.xml"));
    CU_ASSERT_EQUAL(r.rc, CG_OK);
    expect(&r, CG_XDS_UNKNOWN_PATIENT_ID,
           "DocumentEntry Document01: patientId \"" PID_TEXT "\" is not known to this registry");
    CU_ASSERT_EQUAL(count_code(&r, CG_XDS_UNKNOWN_PATIENT_ID), 1); /* once per patient id */
    expect_counts(&e, 0, 0, 0, 0);
    run_done(&r);
    env_close(&e);

    env_open(&e, 0, 0); /* check off */
    run_text(&r, &e, load("registry/base.xml"));
    expect_success(&r);
    expect_counts(&e, 1, 1, 0, 1);
    run_done(&r);
    env_close(&e);
}

/* ---- uniqueIds ------------------------------------------------------------------------------- */

static void
test_duplicate_unique_id_in_message(void)
{
    refused(edit(load("registry/folder.xml"), "value=\"1.3.6.1.4.1.99999.7.1\"",
                 "value=\"1.3.6.1.4.1.99999.5.1\""),
            CG_XDS_DUPLICATE_UNIQUE_ID_IN_MESSAGE,
            "Folder Folder01: uniqueId \"1.3.6.1.4.1.99999.5.1\" is also the uniqueId of "
            "SubmissionSet SubmissionSet01");
}

static void
test_duplicate_unique_id_in_registry(void)
{
    env e;
    env_open(&e, 1, 1);
    run r;
    run_text(&r, &e, load("registry/base.xml"));
    expect_success(&r);
    run_done(&r);
    /* the SubmissionSet's uniqueId again (the document's is new) */
    run_text(&r, &e,
             edit(load("registry/base.xml"), "1.3.6.1.4.1.99999.4.1^DOC-1",
                  "1.3.6.1.4.1.99999.4.1^DOC-2"));
    CU_ASSERT_EQUAL(r.rc, CG_OK);
    expect(&r, CG_XDS_DUPLICATE_UNIQUE_ID_IN_REGISTRY,
           "SubmissionSet SubmissionSet01: uniqueId \"1.3.6.1.4.1.99999.5.1\" is already "
           "registered (by a SubmissionSet)");
    expect_counts(&e, 1, 1, 0, 1);
    run_done(&r);
    /* the document's uniqueId with the same hash, in a new submission set: the same document
     * resubmitted, accepted as a second DocumentEntry (NIST test 12004) */
    run_text(&r, &e,
             edit(load("registry/base.xml"), "1.3.6.1.4.1.99999.5.1", "1.3.6.1.4.1.99999.5.2"));
    expect_success(&r);
    expect_counts(&e, 2, 2, 0, 2);
    run_done(&r);
    env_close(&e);
}

static void
test_non_identical_hash(void)
{
    env e;
    env_open(&e, 1, 1);
    run r;
    run_text(&r, &e, load("registry/base.xml"));
    expect_success(&r);
    run_done(&r);
    char *text = edit(load("registry/base.xml"), "1.3.6.1.4.1.99999.5.1", "1.3.6.1.4.1.99999.5.2");
    text = edit(text, "da39a3ee5e6b4b0d3255bfef95601890afd80709",
                "0000000000000000000000000000000000000001");
    run_text(&r, &e, text);
    CU_ASSERT_EQUAL(r.rc, CG_OK);
    expect(&r, CG_XDS_NON_IDENTICAL_HASH,
           "DocumentEntry Document01: uniqueId \"1.3.6.1.4.1.99999.4.1^DOC-1\" is registered with "
           "hash da39a3ee5e6b4b0d3255bfef95601890afd80709; this document's hash is "
           "0000000000000000000000000000000000000001");
    CU_ASSERT_EQUAL(count_code(&r, CG_XDS_DUPLICATE_UNIQUE_ID_IN_REGISTRY), 0);
    expect_counts(&e, 1, 1, 0, 1);
    run_done(&r);
    env_close(&e);
}

/* ---- extra metadata -------------------------------------------------------------------------- */

static void
test_extra_metadata(void)
{
    char *text = edit(load("registry/base.xml"),
                      "<rim:Name><rim:LocalizedString value=\"Discharge summary\"/>",
                      "<rim:Slot name=\"urn:example:kept\"><rim:ValueList><rim:Value>k</rim:Value>"
                      "</rim:ValueList></rim:Slot>"
                      "<rim:Slot name=\"localNote\"><rim:ValueList><rim:Value>n</rim:Value>"
                      "</rim:ValueList></rim:Slot>"
                      "<rim:Slot name=\"urn:ihe:iti:xds:2099:invented\"><rim:ValueList><rim:Value>i"
                      "</rim:Value></rim:ValueList></rim:Slot>"
                      "<rim:Name><rim:LocalizedString value=\"Discharge summary\"/>");
    text = edit(text, "<rim:Name><rim:LocalizedString value=\"Discharge\"/>",
                "<rim:Slot name=\"comment\"><rim:ValueList><rim:Value>c</rim:Value></rim:ValueList>"
                "</rim:Slot><rim:Name><rim:LocalizedString value=\"Discharge\"/>");
    env e;
    env_open(&e, 1, 1);
    run r;
    run_text(&r, &e, text);
    expect_success(&r);
    CU_ASSERT_EQUAL(count_code(&r, CG_XDS_EXTRA_METADATA_NOT_SAVED), 3);
    expect(&r, CG_XDS_EXTRA_METADATA_NOT_SAVED,
           "DocumentEntry Document01: slot \"localNote\" is not XDS metadata and was not saved");
    expect(&r, CG_XDS_EXTRA_METADATA_NOT_SAVED, "slot \"urn:ihe:iti:xds:2099:invented\"");
    expect(&r, CG_XDS_EXTRA_METADATA_NOT_SAVED, "SubmissionSet SubmissionSet01: slot \"comment\"");
    for (size_t i = 0; i < r.errs.count; i++)
        CU_ASSERT_EQUAL(r.errs.items[i].severity, CG_IHE_WARNING);
    CU_ASSERT_STRING_EQUAL(cg_errlist_status(&r.errs, 0), CG_RS_SUCCESS);
    char *xml = stored_xml(&e, cg_ebrim_find(&r.sub, "Document01")->uuid);
    CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "urn:example:kept"));
    CU_ASSERT_PTR_NULL(strstr(xml, "localNote"));
    CU_ASSERT_PTR_NULL(strstr(xml, "2099:invented"));
    free(xml);
    xml = stored_xml(&e, cg_ebrim_find(&r.sub, "SubmissionSet01")->uuid);
    CU_ASSERT_PTR_NULL(xml && strstr(xml, "\"comment\""));
    free(xml);
    run_done(&r);
    env_close(&e);
}

/* A second DocumentEntry (its own uniqueIds) related to the registered DOC_UUID by TYPE. */
static char *
related(const char *type, const char *n, const char *pid)
{
    char *text = load("registry/base.xml");
    char *ss = cg_xasprintf("1.3.6.1.4.1.99999.5.%s", n);
    char *doc = cg_xasprintf("1.3.6.1.4.1.99999.4.1^DOC-%s", n);
    text = edit(text, "1.3.6.1.4.1.99999.5.1", ss);
    text = edit(text, "1.3.6.1.4.1.99999.4.1^DOC-1", doc);
    if (pid)
        text = edit_all(text, PID, pid);
    char *obj = cg_xasprintf("<rim:Association id=\"as-rel\" associationType=\"%s\" "
                             "sourceObject=\"Document01\" targetObject=\"" DOC_UUID "\"/>",
                             type);
    text = append_objects(text, obj);
    free(obj);
    free(ss);
    free(doc);
    return text;
}

static const char *
status_of(env *e, const char *uuid, cg_store_rows *rows)
{
    const char *uuids[] = {uuid};
    cg_store_filter f = {.uuids = {uuids, 1}};
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_find(e->store, &f, 1, 1, rows, &err), CG_OK);
    return rows->count == 1 ? rows->items[0].status : "(none)";
}

static void
test_relationships(void)
{
    env e;
    env_open(&e, 1, 1);
    run r;
    run_text(&r, &e, base_with_uuids());
    expect_success(&r);
    run_done(&r);

    /* another patient's document cannot replace it */
    run_text(&r, &e, related("urn:ihe:iti:2007:AssociationType:RPLC", "2",
                             "P-2002^^^&amp;1.3.6.1.4.1.99999.3&amp;ISO"));
    expect(&r, CG_XDS_PATIENT_ID_DOES_NOT_MATCH, "but targetObject " DOC_UUID);
    run_done(&r);
    cg_store_rows rows = {0};
    CU_ASSERT_STRING_EQUAL(status_of(&e, DOC_UUID, &rows), CG_STATUS_APPROVED);
    cg_store_rows_dispose(&rows);

    /* an addendum leaves it Approved */
    run_text(&r, &e, related("urn:ihe:iti:2007:AssociationType:APND", "3", NULL));
    expect_success(&r);
    run_done(&r);
    CU_ASSERT_STRING_EQUAL(status_of(&e, DOC_UUID, &rows), CG_STATUS_APPROVED);
    cg_store_rows_dispose(&rows);

    /* a replacement deprecates it: its status and its stored XML, in the same transaction */
    run_text(&r, &e, related("urn:ihe:iti:2007:AssociationType:RPLC", "4", NULL));
    expect_success(&r);
    run_done(&r);
    CU_ASSERT_STRING_EQUAL(status_of(&e, DOC_UUID, &rows), CG_STATUS_DEPRECATED);
    CU_ASSERT_PTR_NOT_NULL(rows.count ? strstr(rows.items[0].xml,
                                               "status=\"" CG_STATUS_DEPRECATED "\"")
                                      : NULL);
    CU_ASSERT_PTR_NULL(rows.count ? strstr(rows.items[0].xml, CG_STATUS_APPROVED) : "");
    cg_store_rows_dispose(&rows);
    expect_counts(&e, 3, 3, 0, 5);

    /* a deprecated document takes no more relationships, and nothing of the try is kept */
    run_text(&r, &e, related("urn:ihe:iti:2007:AssociationType:APND", "5", NULL));
    expect(&r, CG_XDS_DEPRECATED_DOCUMENT, "targetObject " DOC_UUID " is " CG_STATUS_DEPRECATED);
    run_done(&r);
    run_text(&r, &e, related("urn:ihe:iti:2007:AssociationType:RPLC", "6", NULL));
    expect(&r, CG_XDS_DEPRECATED_DOCUMENT, "only an Approved DocumentEntry takes");
    run_done(&r);
    expect_counts(&e, 3, 3, 0, 5);
    env_close(&e);
}

/* ---- all at once, and the store failing --------------------------------------------------------
 */

static void
test_several_faults_all_reported(void)
{
    char *text = load("registry/base.xml");
    text = edit(text, "<rim:Value>20240105101500</rim:Value>", "<rim:Value>2024-13-01</rim:Value>");
    text = cut_classification(text, "cl-class");
    text =
        edit(text, "registryObject=\"Document01\" value=\"" PID "\"",
             "registryObject=\"Document01\" value=\"P-2002^^^&amp;1.3.6.1.4.1.99999.3&amp;ISO\"");
    text = append_objects(text, "<rim:Association id=\"as-rplc\" "
                                "associationType=\"urn:ihe:iti:2007:AssociationType:RPLC\" "
                                "sourceObject=\"Document01\" targetObject=\"" DOC_UUID "\"/>"
                                "<rim:Association id=\"as-lost\" associationType=\"" HAS_MEMBER
                                "\" sourceObject=\"SubmissionSet01\" targetObject=\"Lost\"/>");
    env e;
    env_open(&e, 1, 1);
    run r;
    run_text(&r, &e, text);
    CU_ASSERT_EQUAL(r.rc, CG_OK);
    expect(&r, CG_XDS_REGISTRY_METADATA_ERROR, "slot creationTime \"2024-13-01\" is not a DTM");
    expect(&r, CG_XDS_REGISTRY_METADATA_ERROR, "lacks the classCode Classification");
    expect(&r, CG_XDS_PATIENT_ID_DOES_NOT_MATCH, "DocumentEntry Document01");
    expect(&r, CG_XDS_UNRESOLVED_REFERENCE, "as-lost: targetObject \"Lost\"");
    CU_ASSERT_EQUAL(r.errs.errors, 4); /* the RPLC's target is looked up only when all else holds */
    expect_counts(&e, 0, 0, 0, 0);
    /* the refused tree is left as submitted */
    CU_ASSERT(prop_is(cg_ebrim_find(&r.sub, "Document01")->node, "id", "Document01"));
    run_done(&r);
    env_close(&e);
}

static void
test_store_failure(void)
{
    env e;
    env_open(&e, 1, 1);
    cg_store_debug_fail_after(e.store, 1);
    run r;
    run_text(&r, &e, load("registry/base.xml"));
    CU_ASSERT_EQUAL(r.rc, CG_EIO);
    expect(&r, CG_XDS_REGISTRY_ERROR, "cg_store_submit");
    expect_counts(&e, 0, 0, 0, 0);
    run_done(&r);
    cg_store_debug_fail_after(e.store, 0);
    run_text(&r, &e, load("registry/base.xml"));
    expect_success(&r);
    expect_counts(&e, 1, 1, 0, 1);
    run_done(&r);
    env_close(&e);
}

/* ---- real senders' submissions (shared corpus; skipped when absent) -------------------------- */

static char *
shared_file(const char *rel)
{
    const char *shared = getenv("CDAGATE_SHARED");
    char *path = cg_xasprintf("%s/%s", shared ? shared : CG_SRCDIR "/../shared", rel);
    char *text = NULL;
    size_t len = 0;
    cg_err err;
    cg_err_init(&err);
    if (!cg_fs_is_file(path) || cg_fs_read(&text, &len, path, 1 << 22, &err) != CG_OK)
        text = NULL;
    free(path);
    return text;
}

static void
test_shared_samples(void)
{
    /* IPF's ITI-42 sample: valid, with urn: extra metadata that is kept */
    char *text = shared_file("conformance/ipf/submission-set.xml");
    if (text != NULL) {
        env e;
        env_open(&e, 1, 0);
        cg_err err;
        cg_err_init(&err);
        CU_ASSERT_EQUAL(cg_store_patient_add(e.store, "103^^^&2.3.4&ISO", &err), CG_OK);
        run r;
        run_text(&r, &e, text);
        expect_success(&r);
        CU_ASSERT_EQUAL(r.errs.count, 0);
        expect_counts(&e, 1, 1, 0, 1);
        run_done(&r);
        env_close(&e);
    }
    /* IPF's ebRS 3.0 sample lacks what ITI-42 requires of a registry submission (hash, size,
     * repositoryUniqueId), has a sourceId that is not an OID and carries an On-Demand
     * IsSnapshotOf association: exactly those */
    text = shared_file("conformance/ipf/SubmitObjectsRequest_ebrs30.xml");
    if (text != NULL) {
        env e;
        env_open(&e, 0, 0);
        run r;
        run_text(&r, &e, text);
        expect(&r, CG_XDS_REGISTRY_METADATA_ERROR, "Document01: lacks the required slot hash");
        expect(&r, CG_XDS_REGISTRY_METADATA_ERROR, "Document01: lacks the required slot size");
        expect(&r, CG_XDS_REGISTRY_METADATA_ERROR,
               "Document01: lacks the required slot repositoryUniqueId");
        expect(&r, CG_XDS_REGISTRY_METADATA_ERROR,
               "as02: association type urn:ihe:iti:2010:AssociationType:IsSnapshotOf is not "
               "supported");
        expect(&r, CG_XDS_REGISTRY_METADATA_ERROR,
               "SubmissionSet SubmissionSet01: sourceId \"3670984664\" is not an OID");
        if (r.errs.errors != 5)
            dump(&r);
        CU_ASSERT_EQUAL(r.errs.errors, 5);
        run_done(&r);
        env_close(&e);
    }
}

void
cg_test_register_registry(void)
{
    CU_pSuite s = CU_add_suite("registry/submit", NULL, NULL);
    CU_add_test(s, "the base submission registers: uuids, references, status, versions",
                test_register_base);
    CU_add_test(s, "a Folder registers, its standalone Classification folded in",
                test_register_folder);
    CU_add_test(s, "a standalone SubmissionSet Classification",
                test_register_standalone_ss_classification);
    CU_add_test(s, "UUID ids are kept; registering them twice is refused", test_register_uuid_ids);
    CU_add_test(s, "documents go into the same store submission",
                test_documents_go_with_the_submission);
    CU_add_test(s, "nested objects without id or parent reference get them",
                test_nested_ids_and_parents_filled);
    CU_add_test(s, "300 DocumentEntries in one submission", test_many_document_entries);
    CU_add_test(s, "exactly one SubmissionSet", test_submission_set_count);
    CU_add_test(s, "DocumentEntries are HasMember targets with SubmissionSetStatus",
                test_membership);
    CU_add_test(s, "DocumentEntry mimeType and objectType", test_document_entry_attributes);
    CU_add_test(s, "required DocumentEntry slots", test_required_slots);
    CU_add_test(s, "required DocumentEntry classifications", test_required_classifications);
    CU_add_test(s, "single-valued slots, duplicate slots, too many classifications",
                test_single_values_and_duplicates);
    CU_add_test(s, "coded classifications and authors", test_coded_classifications);
    CU_add_test(s, "SubmissionSet attributes", test_submission_set_attributes);
    CU_add_test(s, "Folder attributes and membership", test_folder_rules);
    CU_add_test(s, "value formats: DTM, CX, OID, uniqueId, hash, size, language", test_formats);
    CU_add_test(s, "entryUUIDs and lids", test_entry_uuid_and_lid);
    CU_add_test(s, "On-Demand DocumentEntries", test_on_demand);
    CU_add_test(s, "lifecycle and unknown association types are refused", test_association_types);
    CU_add_test(s, "HasMember sources and targets", test_association_shapes);
    CU_add_test(s, "UnresolvedReferenceException, in the message and in the store",
                test_unresolved_references);
    CU_add_test(s, "references to registered objects", test_references_to_registered_objects);
    CU_add_test(s, "XDSPatientIdDoesNotMatch", test_patient_id_mismatch);
    CU_add_test(s, "XDSUnknownPatientId, and the check off", test_unknown_patient);
    CU_add_test(s, "XDSRegistryDuplicateUniqueIdInMessage", test_duplicate_unique_id_in_message);
    CU_add_test(s, "a Folder's lastUpdateTime advances when a document is filed or carried in",
                test_folder_last_update_time);
    CU_add_test(s, "RPLC deprecates its target; APND keeps it; deprecated or other patient's "
                   "targets refused",
                test_relationships);
    CU_add_test(s, "XDSDuplicateUniqueIdInRegistry; the same document resubmitted is accepted",
                test_duplicate_unique_id_in_registry);
    CU_add_test(s, "XDSNonIdenticalHash on resubmission", test_non_identical_hash);
    CU_add_test(s, "extra metadata kept or dropped with XDSExtraMetadataNotSaved",
                test_extra_metadata);
    CU_add_test(s, "several faults are all reported, nothing stored",
                test_several_faults_all_reported);
    CU_add_test(s, "a store failure is XDSRegistryError and writes nothing", test_store_failure);
    CU_add_test(s, "real senders' submissions (shared corpus, skipped when absent)",
                test_shared_samples);
}
