/* Tests src/repository/repository.c: cg_repository_accept on ITI-41 submissions parsed from
 * tests/fixtures/xds/pnr.xml against a real store: a matching document gets its hash, size and
 * repositoryUniqueId slots (a supplied repositoryUniqueId replaced) and one store document; each
 * refusal (missing document, document without entry, document twice, hash/size mismatch,
 * On-Demand entry) has its IHE code and a message naming the values; the content policy
 * (reject, warn, off) with no profile installed; cg_repository_get after a registry submit, and
 * for an unknown id. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebrim/model.h"
#include "registry/registry.h"
#include "repository/repository.h"
#include "unit.h"
#include "util/alloc.h"
#include "util/fs.h"
#include "xml/parse.h"

#define REPO_ID "1.2.3.4.5.6.7.8.1"
#define DOC_UID "1.2.3.4.5.6.7.10.1"
#define PATIENT_XML "PT-1001^^^&amp;1.2.3.4.5.6.7&amp;ISO"
#define PATIENT_TEXT "PT-1001^^^&1.2.3.4.5.6.7&ISO"
/* A well-formed CDA root, and its SHA-1 (printf '%s' ... | sha1sum). */
#define CDA "<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><id root=\"1.2.3.4\"/></ClinicalDocument>"
#define CDA_SHA1 "36312bd4957886d06aa3d9ba19d7703b243844b7"
/* Not well-formed: <title> is never closed. */
#define BROKEN "<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><title>Discharge</ClinicalDocument>"
#define BROKEN_SHA1 "0123456789abcdef0123456789abcdef01234567" /* not checked by accept */

/* ---- the environment: a real store, a registry and the repository ---------------------------- */

typedef struct env {
    char *dir;
    cg_store *store;
    cg_registry *reg;
    cg_repository *repo;
} env;

static void
env_open(env *e, cg_content_policy policy)
{
    cg_err err;
    cg_err_init(&err);
    e->dir = cg_test_tmpdir();
    cg_store_config sc = {.data_dir = e->dir, .readers = 2};
    CU_ASSERT_EQUAL_FATAL(cg_store_open(&e->store, &sc, &err), CG_OK);
    CU_ASSERT_EQUAL(cg_store_patient_add(e->store, PATIENT_TEXT, &err), CG_OK);
    cg_registry_config rc;
    cg_registry_config_default(&rc);
    e->reg = cg_registry_new(e->store, &rc);
    cg_repository_config cfg = {.repository_id = REPO_ID,
                                .policy = policy,
                                .profile = NULL,
                                .profile_missing_reason = "no profile in this test"};
    e->repo = cg_repository_new(e->store, &cfg);
}

static void
env_close(env *e)
{
    cg_repository_free(e->repo);
    cg_registry_free(e->reg);
    cg_store_free(e->store);
    free(e->dir);
}

/* ---- the fixture, its placeholders and mutations --------------------------------------------- */

static char *
replace_all(char *text, const char *from, const char *to)
{
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

/* Replaces the one occurrence of `from`. */
static char *
edit(char *text, const char *from, const char *to)
{
    char *p = strstr(text, from);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_PTR_NULL(strstr(p + 1, from));
    char *out = cg_xasprintf("%.*s%s%s", (int)(p - text), text, to, p + strlen(from));
    free(text);
    return out;
}

/* pnr.xml with its placeholders filled; the Document element's content is not used by
 * cg_repository_accept (the caller resolves it), so it stays empty. */
static char *
pnr(void)
{
    char *path = cg_test_fixture("xds/pnr.xml");
    char *text = NULL;
    size_t len = 0;
    cg_err err;
    cg_err_init(&err);
    int rc = cg_fs_read(&text, &len, path, 1 << 20, &err);
    free(path);
    CU_ASSERT_EQUAL_FATAL(rc, CG_OK);
    text = replace_all(text, "@PATIENT@", PATIENT_XML);
    text = replace_all(text, "@DOCUID@", DOC_UID);
    text = replace_all(text, "@SSUID@", "1.2.3.4.5.6.7.9.1");
    text = replace_all(text, "@CONTENT@", "");
    return text;
}

/* Adds a Slot to the DocumentEntry (before creationTime). */
static char *
add_slot(char *text, const char *name, const char *value)
{
    char *slot = cg_xasprintf("<rim:Slot name=\"%s\"><rim:ValueList><rim:Value>%s</rim:Value>"
                              "</rim:ValueList></rim:Slot><rim:Slot name=\"creationTime\">",
                              name, value);
    text = edit(text, "<rim:Slot name=\"creationTime\">", slot);
    free(slot);
    return text;
}

/* ---- one call of cg_repository_accept -------------------------------------------------------- */

typedef struct run {
    cg_pool *pool;
    xmlDocPtr doc;
    cg_ebrim_submission sub;
    cg_errlist errs;
    cg_store_document *out;
    size_t nout;
    int rc;
} run;

static void
accept_run(run *r, env *e, char *text, const cg_repository_doc *docs, size_t ndocs)
{
    cg_err err;
    cg_err_init(&err);
    memset(r, 0, sizeof(*r));
    r->pool = cg_pool_new(0);
    cg_errlist_init(&r->errs, r->pool);
    int prc = cg_xml_parse(&r->doc, text, strlen(text), "pnr.xml", NULL, &err);
    free(text);
    CU_ASSERT_EQUAL_FATAL(prc, CG_OK);
    cg_ebrim_pool_doc(r->pool, r->doc);
    xmlNodePtr submit = NULL;
    for (xmlNodePtr c = xmlDocGetRootElement(r->doc)->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE &&
            strcmp((const char *)c->name, "SubmitObjectsRequest") == 0)
            submit = c;
    CU_ASSERT_PTR_NOT_NULL_FATAL(submit);
    CU_ASSERT_EQUAL_FATAL(cg_ebrim_parse_submission(&r->sub, submit, r->pool, &r->errs), CG_OK);
    CU_ASSERT_EQUAL_FATAL(r->errs.count, 0);
    static cg_store_document stale;
    r->out = &stale; /* accept must reset what the caller had */
    r->nout = 99;
    r->rc =
        cg_repository_accept(e->repo, &r->sub, docs, ndocs, r->pool, &r->out, &r->nout, &r->errs);
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

/* The entry with that code and severity whose context contains every one of parts (NULL-ended). */
static const cg_ihe_error *
find(const run *r, cg_ihe_severity sev, const char *code, const char *const *parts)
{
    for (size_t i = 0; i < r->errs.count; i++) {
        const cg_ihe_error *x = &r->errs.items[i];
        if (x->severity != sev || strcmp(x->code, code) != 0)
            continue;
        int all = 1;
        for (const char *const *p = parts; *p; p++)
            all = all && strstr(x->context, *p) != NULL;
        if (all)
            return x;
    }
    fprintf(stderr, "\nexpected %s %s containing", sev == CG_IHE_ERROR ? "error" : "warning", code);
    for (const char *const *p = parts; *p; p++)
        fprintf(stderr, " \"%s\"", *p);
    fprintf(stderr, "; got:");
    dump(r);
    return NULL;
}

/* The submission was refused: rc CG_EINVAL, nothing to store, exactly one error with that code
 * naming parts, and the repository's slots not set. */
static void
expect_refused(const run *r, const char *code, const char *const *parts)
{
    CU_ASSERT_EQUAL(r->rc, CG_EINVAL);
    CU_ASSERT_EQUAL(r->nout, 0);
    CU_ASSERT_PTR_NULL(r->out);
    CU_ASSERT_EQUAL(r->errs.errors, 1);
    CU_ASSERT_PTR_NOT_NULL(find(r, CG_IHE_ERROR, code, parts));
    const cg_ebrim_object *de = cg_ebrim_find(&r->sub, "Document01");
    CU_ASSERT_PTR_NOT_NULL_FATAL(de);
    const char *repo = cg_ebrim_slot_value(de, "repositoryUniqueId");
    CU_ASSERT(repo == NULL || strcmp(repo, REPO_ID) != 0);
}

static const cg_repository_doc cda_doc = {"Document01", (const unsigned char *)CDA, sizeof(CDA) - 1,
                                          CDA_SHA1};

/* ---- a matching document --------------------------------------------------------------------- */

static void
test_match(void)
{
    env e;
    env_open(&e, CG_CONTENT_REJECT);
    run r;
    accept_run(&r, &e, pnr(), &cda_doc, 1);
    if (r.errs.count)
        dump(&r);
    CU_ASSERT_EQUAL(r.rc, CG_OK);
    CU_ASSERT_EQUAL(r.errs.count, 0);
    CU_ASSERT_EQUAL_FATAL(r.nout, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.out);
    const cg_store_document *s = &r.out[0];
    CU_ASSERT_STRING_EQUAL(s->repository_id, REPO_ID);
    CU_ASSERT_STRING_EQUAL(s->unique_id, DOC_UID);
    CU_ASSERT_STRING_EQUAL(s->mime_type, "text/xml");
    CU_ASSERT_STRING_EQUAL(s->hash, CDA_SHA1);
    CU_ASSERT_EQUAL(s->len, sizeof(CDA) - 1);
    CU_ASSERT(s->data && memcmp(s->data, CDA, sizeof(CDA) - 1) == 0);

    const cg_ebrim_object *de = cg_ebrim_find(&r.sub, "Document01");
    CU_ASSERT_PTR_NOT_NULL_FATAL(de);
    char size[32];
    snprintf(size, sizeof(size), "%zu", sizeof(CDA) - 1);
    const char *v = cg_ebrim_slot_value(de, "hash");
    CU_ASSERT(v && strcmp(v, CDA_SHA1) == 0);
    v = cg_ebrim_slot_value(de, "size");
    CU_ASSERT(v && strcmp(v, size) == 0);
    v = cg_ebrim_slot_value(de, "repositoryUniqueId");
    CU_ASSERT(v && strcmp(v, REPO_ID) == 0);
    /* once each: set, not appended */
    CU_ASSERT_EQUAL(cg_ebrim_slot_count(de->node, "hash"), 1);
    CU_ASSERT_EQUAL(cg_ebrim_slot_count(de->node, "size"), 1);
    CU_ASSERT_EQUAL(cg_ebrim_slot_count(de->node, "repositoryUniqueId"), 1);
    run_done(&r);
    env_close(&e);
}

/* Supplied slots that agree with the bytes (hash in upper case) are accepted and kept once. */
static void
test_match_supplied_slots(void)
{
    env e;
    env_open(&e, CG_CONTENT_REJECT);
    run r;
    char size[32];
    snprintf(size, sizeof(size), "%zu", sizeof(CDA) - 1);
    char *text = add_slot(pnr(), "hash", "36312BD4957886D06AA3D9BA19D7703B243844B7");
    text = add_slot(text, "size", size);
    text = add_slot(text, "repositoryUniqueId", REPO_ID);
    accept_run(&r, &e, text, &cda_doc, 1);
    if (r.errs.count)
        dump(&r);
    CU_ASSERT_EQUAL(r.rc, CG_OK);
    CU_ASSERT_EQUAL(r.errs.count, 0);
    CU_ASSERT_EQUAL(r.nout, 1);
    const cg_ebrim_object *de = cg_ebrim_find(&r.sub, "Document01");
    CU_ASSERT_PTR_NOT_NULL_FATAL(de);
    CU_ASSERT_EQUAL(cg_ebrim_slot_count(de->node, "hash"), 1);
    CU_ASSERT_EQUAL(cg_ebrim_slot_count(de->node, "size"), 1);
    CU_ASSERT_EQUAL(cg_ebrim_slot_count(de->node, "repositoryUniqueId"), 1);
    run_done(&r);
    env_close(&e);
}

/* ---- documents and entries that do not pair up ----------------------------------------------- */

static void
test_missing_document(void)
{
    env e;
    env_open(&e, CG_CONTENT_OFF);
    run r;
    accept_run(&r, &e, pnr(), NULL, 0);
    const char *parts[] = {"Document01", "no Document", NULL};
    expect_refused(&r, CG_XDS_MISSING_DOCUMENT, parts);
    run_done(&r);
    env_close(&e);
}

static void
test_document_without_entry(void)
{
    env e;
    env_open(&e, CG_CONTENT_OFF);
    run r;
    cg_repository_doc docs[2] = {cda_doc, cda_doc};
    docs[1].id = "Document99";
    accept_run(&r, &e, pnr(), docs, 2);
    const char *parts[] = {"Document99", "no DocumentEntry", NULL};
    expect_refused(&r, CG_XDS_MISSING_DOCUMENT_METADATA, parts);
    run_done(&r);
    env_close(&e);
}

static void
test_document_twice(void)
{
    env e;
    env_open(&e, CG_CONTENT_OFF);
    run r;
    cg_repository_doc docs[2] = {cda_doc, cda_doc};
    accept_run(&r, &e, pnr(), docs, 2);
    const char *parts[] = {"Document01", "more than once", NULL};
    expect_refused(&r, CG_XDS_REPOSITORY_METADATA_ERROR, parts);
    run_done(&r);
    env_close(&e);
}

/* ---- supplied metadata that disagrees with the bytes ----------------------------------------- */

static void
test_hash_mismatch(void)
{
    env e;
    env_open(&e, CG_CONTENT_OFF);
    run r;
    accept_run(&r, &e, add_slot(pnr(), "hash", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
               &cda_doc, 1);
    const char *parts[] = {"Document01", "da39a3ee5e6b4b0d3255bfef95601890afd80709", CDA_SHA1,
                           NULL};
    expect_refused(&r, CG_XDS_REPOSITORY_METADATA_ERROR, parts);
    run_done(&r);
    env_close(&e);
}

static void
test_size_mismatch(void)
{
    env e;
    env_open(&e, CG_CONTENT_OFF);
    run r;
    char size[32];
    snprintf(size, sizeof(size), "%zu", sizeof(CDA) - 1);
    accept_run(&r, &e, add_slot(pnr(), "size", "4242"), &cda_doc, 1);
    const char *parts[] = {"Document01", "4242", size, NULL};
    expect_refused(&r, CG_XDS_REPOSITORY_METADATA_ERROR, parts);
    run_done(&r);
    env_close(&e);
}

static void
test_other_repository(void)
{
    env e;
    env_open(&e, CG_CONTENT_OFF);
    run r;
    accept_run(&r, &e, add_slot(pnr(), "repositoryUniqueId", "1.9.9.9"), &cda_doc, 1);
    CU_ASSERT_EQUAL(r.rc, CG_OK);
    CU_ASSERT_EQUAL(r.errs.count, 0);
    CU_ASSERT_EQUAL(r.nout, 1);
    const cg_ebrim_object *de = cg_ebrim_find(&r.sub, "Document01");
    CU_ASSERT_PTR_NOT_NULL_FATAL(de);
    const char *v = cg_ebrim_slot_value(de, "repositoryUniqueId");
    CU_ASSERT(v && strcmp(v, REPO_ID) == 0);
    CU_ASSERT_EQUAL(cg_ebrim_slot_count(de->node, "repositoryUniqueId"), 1);
    run_done(&r);
    env_close(&e);
}

static void
test_on_demand_entry(void)
{
    env e;
    env_open(&e, CG_CONTENT_OFF);
    run r;
    accept_run(&r, &e, edit(pnr(), CG_UUID_STABLE_DOCUMENT, CG_UUID_ONDEMAND_DOCUMENT), &cda_doc,
               1);
    const char *parts[] = {"Document01", "On-Demand", NULL};
    expect_refused(&r, CG_XDS_REPOSITORY_METADATA_ERROR, parts);
    run_done(&r);
    env_close(&e);
}

/* ---- the content policy, with no profile installed ------------------------------------------- */

static const cg_repository_doc broken_doc = {"Document01", (const unsigned char *)BROKEN,
                                             sizeof(BROKEN) - 1, BROKEN_SHA1};

static void
test_content_reject(void)
{
    env e;
    env_open(&e, CG_CONTENT_REJECT);
    run r;
    accept_run(&r, &e, pnr(), &broken_doc, 1);
    /* the parser's complaint: the tag that is not closed, and where */
    const char *parts[] = {"Document01", "title", NULL};
    expect_refused(&r, CG_XDS_INVALID_DOCUMENT_CONTENT, parts);
    run_done(&r);

    /* a well-formed document that is not CDA is refused too, saying so */
    static const char not_cda[] = "<html xmlns=\"http://www.w3.org/1999/xhtml\"/>";
    cg_repository_doc d = {"Document01", (const unsigned char *)not_cda, sizeof(not_cda) - 1,
                           BROKEN_SHA1};
    accept_run(&r, &e, pnr(), &d, 1);
    const char *parts2[] = {"Document01", "ClinicalDocument", NULL};
    expect_refused(&r, CG_XDS_INVALID_DOCUMENT_CONTENT, parts2);
    run_done(&r);
    env_close(&e);
}

static void
test_content_warn(void)
{
    env e;
    env_open(&e, CG_CONTENT_WARN);
    run r;
    accept_run(&r, &e, pnr(), &broken_doc, 1);
    CU_ASSERT_EQUAL(r.rc, CG_OK);
    CU_ASSERT_EQUAL(r.errs.errors, 0);
    CU_ASSERT_EQUAL(r.errs.count, 1);
    const char *parts[] = {"Document01", "title", NULL};
    CU_ASSERT_PTR_NOT_NULL(find(&r, CG_IHE_WARNING, CG_XDS_INVALID_DOCUMENT_CONTENT, parts));
    CU_ASSERT_EQUAL_FATAL(r.nout, 1);
    CU_ASSERT_EQUAL(r.out[0].len, sizeof(BROKEN) - 1);
    CU_ASSERT_STRING_EQUAL(r.out[0].hash, BROKEN_SHA1);
    const cg_ebrim_object *de = cg_ebrim_find(&r.sub, "Document01");
    const char *v = de ? cg_ebrim_slot_value(de, "repositoryUniqueId") : NULL;
    CU_ASSERT(v && strcmp(v, REPO_ID) == 0);
    run_done(&r);
    env_close(&e);
}

static void
test_content_off(void)
{
    env e;
    env_open(&e, CG_CONTENT_OFF);
    run r;
    accept_run(&r, &e, pnr(), &broken_doc, 1);
    if (r.errs.count)
        dump(&r);
    CU_ASSERT_EQUAL(r.rc, CG_OK);
    CU_ASSERT_EQUAL(r.errs.count, 0); /* no warning either: nothing was validated */
    CU_ASSERT_EQUAL(r.nout, 1);
    run_done(&r);
    env_close(&e);
}

/* ---- stored bytes ---------------------------------------------------------------------------- */

static void
test_get(void)
{
    env e;
    env_open(&e, CG_CONTENT_REJECT);
    run r;
    accept_run(&r, &e, pnr(), &cda_doc, 1);
    CU_ASSERT_EQUAL_FATAL(r.rc, CG_OK);
    CU_ASSERT_EQUAL(cg_registry_submit(e.reg, &r.sub, r.out, r.nout, &r.errs), CG_OK);
    if (r.errs.count)
        dump(&r);
    CU_ASSERT_EQUAL_FATAL(r.errs.errors, 0);
    run_done(&r);

    cg_err err;
    cg_err_init(&err);
    cg_store_blob blob;
    memset(&blob, 0, sizeof(blob));
    CU_ASSERT_EQUAL_FATAL(cg_repository_get(e.repo, DOC_UID, &blob, &err), CG_OK);
    CU_ASSERT_EQUAL(blob.len, sizeof(CDA) - 1);
    CU_ASSERT(blob.data && memcmp(blob.data, CDA, sizeof(CDA) - 1) == 0);
    CU_ASSERT_STRING_EQUAL(blob.hash, CDA_SHA1);
    CU_ASSERT(blob.mime_type && strcmp(blob.mime_type, "text/xml") == 0);
    cg_store_blob_dispose(&blob);

    cg_err_init(&err);
    memset(&blob, 0, sizeof(blob));
    CU_ASSERT_EQUAL(cg_repository_get(e.repo, "1.2.3.4.5.6.7.10.404", &blob, &err), CG_ENOTFOUND);
    cg_store_blob_dispose(&blob);
    CU_ASSERT_STRING_EQUAL(cg_repository_id(e.repo), REPO_ID);
    env_close(&e);
}

void
cg_test_register_repository(void)
{
    CU_pSuite s = CU_add_suite("repository/accept", NULL, NULL);
    CU_add_test(s, "a matching document: slots set, one store document", test_match);
    CU_add_test(s, "supplied hash, size and repositoryUniqueId that agree",
                test_match_supplied_slots);
    CU_add_test(s, "a DocumentEntry without its Document: XDSMissingDocument",
                test_missing_document);
    CU_add_test(s, "a Document naming no DocumentEntry: XDSMissingDocumentMetadata",
                test_document_without_entry);
    CU_add_test(s, "a Document sent twice: XDSRepositoryMetadataError", test_document_twice);
    CU_add_test(s, "a supplied hash that differs, both quoted", test_hash_mismatch);
    CU_add_test(s, "a supplied size that differs, both quoted", test_size_mismatch);
    CU_add_test(s, "another repository's repositoryUniqueId is replaced by ours",
                test_other_repository);
    CU_add_test(s, "an On-Demand DocumentEntry", test_on_demand_entry);
    CU_add_test(s, "content policy reject, no profile: InvalidDocumentContent",
                test_content_reject);
    CU_add_test(s, "content policy warn: a warning, the document accepted", test_content_warn);
    CU_add_test(s, "content policy off: no validation", test_content_off);
    CU_add_test(s, "cg_repository_get after a submit; unknown id: CG_ENOTFOUND", test_get);
}
