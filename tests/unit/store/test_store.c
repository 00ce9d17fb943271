/* Tests for store (SQLite backend): schema and reopen, one atomic submission with its document,
 * conflicts, group commit under concurrency, fault injection at every writer step, patients,
 * pending repository documents (invisible, commit, discard, purge at open, migration from
 * schema 1), and refusing a database newer than the code. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"
#include "unit.h"
#include "util/alloc.h"
#include "util/fs.h"

#define APPROVED "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
#define HAS_MEMBER "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
#define REPO "1.3.6.1.4.1.21367.2010.1.2.1125"
#define PATIENT "P1^^^&1.2.3.4&ISO"

static cg_store *
open_store(const char *dir, unsigned batch)
{
    cg_store_config cfg = {.data_dir = dir, .readers = 4, .commit_batch = batch};
    cg_store *st = NULL;
    cg_err err;
    cg_err_init(&err);
    int rc = cg_store_open(&st, &cfg, &err);
    if (rc != CG_OK)
        fprintf(stderr, "cg_store_open: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, CG_OK);
    return st;
}

/* One submission of the usual shape: a DocumentEntry, a SubmissionSet, the SubmissionSet's
 * HasMember association to the entry, a second association (entry -> SubmissionSet, to have
 * two), and the document's bytes. Everything is kept in this struct; names derive from tag. */
typedef struct sample {
    char de_uuid[64], ss_uuid[64], a1_uuid[64], a2_uuid[64];
    char de_uid[64], ss_uid[64];
    char de_xml[256], ss_xml[256], a1_xml[256], a2_xml[256];
    char hash[41];
    unsigned char *data;
    size_t len;
    const char *authors[2];
    cg_store_code codes[2];
    cg_store_object objects[4];
    cg_store_document doc;
    cg_store_submission sub;
} sample;

static void
fake_hash(char out[41], const unsigned char *data, size_t len)
{
    /* a stand-in digest (the store keeps what it is given): FNV-1a spread over 40 hex digits */
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ data[i]) * 1099511628211ULL;
    for (int i = 0; i < 40; i++) {
        out[i] = "0123456789abcdef"[h & 15];
        h = (h >> 4) | (h << 60);
        h ^= (uint64_t)i * 0x9e3779b97f4a7c15ULL;
    }
    out[40] = '\0';
}

static void
sample_init(sample *s, const char *tag, size_t doc_len)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->de_uuid, sizeof s->de_uuid, "urn:uuid:de-%s", tag);
    snprintf(s->ss_uuid, sizeof s->ss_uuid, "urn:uuid:ss-%s", tag);
    snprintf(s->a1_uuid, sizeof s->a1_uuid, "urn:uuid:a1-%s", tag);
    snprintf(s->a2_uuid, sizeof s->a2_uuid, "urn:uuid:a2-%s", tag);
    snprintf(s->de_uid, sizeof s->de_uid, "1.2.3.%s.1", tag);
    snprintf(s->ss_uid, sizeof s->ss_uid, "1.2.3.%s.2", tag);
    snprintf(s->de_xml, sizeof s->de_xml,
             "<rim:ExtrinsicObject xmlns:rim=\"urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0\" "
             "id=\"%s\"/>",
             s->de_uuid);
    snprintf(s->ss_xml, sizeof s->ss_xml, "<rim:RegistryPackage id=\"%s\"/>", s->ss_uuid);
    snprintf(s->a1_xml, sizeof s->a1_xml, "<rim:Association id=\"%s\"/>", s->a1_uuid);
    snprintf(s->a2_xml, sizeof s->a2_xml, "<rim:Association id=\"%s\"/>", s->a2_uuid);
    s->len = doc_len;
    s->data = cg_xmalloc(doc_len);
    for (size_t i = 0; i < doc_len; i++)
        s->data[i] = (unsigned char)(i * 31 + (unsigned char)tag[0] + strlen(tag));
    memcpy(s->data, tag, strlen(tag) < doc_len ? strlen(tag) : doc_len);
    fake_hash(s->hash, s->data, s->len);
    s->authors[0] = "^Smith^John";
    s->authors[1] = "^Doe^Jane";
    s->codes[0] = (cg_store_code){"classCode", "34133-9", "2.16.840.1.113883.6.1"};
    s->codes[1] = (cg_store_code){"confidentialityCode", "N", "2.16.840.1.113883.5.25"};

    cg_store_object *de = &s->objects[0];
    de->kind = CG_OBJ_DOCUMENT_ENTRY;
    de->uuid = s->de_uuid;
    de->lid = s->de_uuid;
    de->version = 1;
    de->status = APPROVED;
    de->patient_id = PATIENT;
    de->unique_id = s->de_uid;
    de->object_type = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1";
    de->mime_type = "text/xml";
    de->hash = s->hash;
    de->size = (int64_t)s->len;
    de->repository_id = REPO;
    de->creation_time = "20240315";
    de->service_start = "202403150830";
    de->author_persons = s->authors;
    de->nauthor_persons = 2;
    de->codes = s->codes;
    de->ncodes = 2;
    de->xml = s->de_xml;
    de->xml_len = strlen(s->de_xml);

    cg_store_object *ss = &s->objects[1];
    ss->kind = CG_OBJ_SUBMISSION_SET;
    ss->uuid = s->ss_uuid;
    ss->version = 1; /* lid NULL: the uuid */
    ss->status = APPROVED;
    ss->patient_id = PATIENT;
    ss->unique_id = s->ss_uid;
    ss->size = -1;
    ss->submission_time = "20240315101500";
    ss->source_id = "1.3.6.1.4.1.21367.2010.1.2";
    ss->xml = s->ss_xml;
    ss->xml_len = strlen(s->ss_xml);

    cg_store_object *a1 = &s->objects[2];
    a1->kind = CG_OBJ_ASSOCIATION;
    a1->uuid = s->a1_uuid;
    a1->version = 1;
    a1->status = APPROVED;
    a1->size = -1;
    a1->assoc_type = HAS_MEMBER;
    a1->source = s->ss_uuid;
    a1->target = s->de_uuid;
    a1->xml = s->a1_xml;
    a1->xml_len = strlen(s->a1_xml);

    cg_store_object *a2 = &s->objects[3];
    *a2 = *a1;
    a2->uuid = s->a2_uuid;
    a2->assoc_type = "urn:ihe:iti:2007:AssociationType:RPLC";
    a2->source = s->de_uuid;
    a2->target = s->ss_uuid;
    a2->xml = s->a2_xml;
    a2->xml_len = strlen(s->a2_xml);

    s->doc.repository_id = REPO;
    s->doc.unique_id = s->de_uid;
    s->doc.mime_type = "text/xml";
    s->doc.hash = s->hash;
    s->doc.data = s->data;
    s->doc.len = s->len;

    s->sub.objects = s->objects;
    s->sub.nobjects = 4;
    s->sub.documents = &s->doc;
    s->sub.ndocuments = 1;
}

static void
sample_dispose(sample *s)
{
    free(s->data);
    s->data = NULL;
}

static int
submit(cg_store *st, const cg_store_submission *sub, cg_store_conflicts *conflicts)
{
    cg_err err;
    cg_err_init(&err);
    cg_store_conflicts local;
    int rc = cg_store_submit(st, sub, conflicts ? conflicts : &local, &err);
    if (conflicts == NULL)
        cg_store_conflicts_dispose(&local);
    return rc;
}

static cg_store_stats
stats(cg_store *st)
{
    cg_store_stats s;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_stats_get(st, &s, &err), CG_OK);
    return s;
}

static int
object_exists(cg_store *st, const char *uuid)
{
    char *xml = NULL;
    size_t len = 0;
    cg_err err;
    cg_err_init(&err);
    int rc = cg_store_object_xml(st, uuid, &xml, &len, &err);
    free(xml);
    CU_ASSERT(rc == CG_OK || rc == CG_ENOTFOUND);
    return rc == CG_OK;
}

/* No CUnit assertion here: worker threads call it (CUnit is not thread-safe). */
static int
document_get_rc(cg_store *st, const char *unique_id)
{
    cg_store_blob blob;
    cg_err err;
    cg_err_init(&err);
    int rc = cg_store_document_get(st, REPO, unique_id, &blob, &err);
    cg_store_blob_dispose(&blob);
    return rc;
}

static int
document_exists(cg_store *st, const char *unique_id)
{
    int rc = document_get_rc(st, unique_id);
    CU_ASSERT(rc == CG_OK || rc == CG_ENOTFOUND);
    return rc == CG_OK;
}

static void
test_open_creates_schema_and_reopen_keeps_data(void)
{
    char *dir = cg_test_tmpdir();
    cg_store *st = open_store(dir, 0);
    char *path = cg_fs_join(dir, "registry.db");
    CU_ASSERT(cg_fs_is_file(path));
    cg_store_stats s = stats(st);
    CU_ASSERT_EQUAL(s.schema_version, 3);
    CU_ASSERT_EQUAL(s.document_entries + s.submission_sets + s.associations + s.documents, 0);

    sample a;
    sample_init(&a, "reopen", 1000);
    CU_ASSERT_EQUAL(submit(st, &a.sub, NULL), CG_OK);
    cg_store_free(st);

    /* the database is in WAL mode with the schema version set */
    sqlite3 *db = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q = NULL;
    CU_ASSERT_EQUAL(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_step(q), SQLITE_ROW);
    CU_ASSERT_STRING_EQUAL((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    sqlite3_close(db);

    st = open_store(dir, 0);
    s = stats(st);
    CU_ASSERT_EQUAL(s.schema_version, 3);
    CU_ASSERT_EQUAL(s.document_entries, 1);
    CU_ASSERT_EQUAL(s.submission_sets, 1);
    CU_ASSERT_EQUAL(s.associations, 2);
    CU_ASSERT_EQUAL(s.documents, 1);
    CU_ASSERT(object_exists(st, a.de_uuid));
    CU_ASSERT(document_exists(st, a.de_uid));
    cg_store_free(st);
    sample_dispose(&a);
    free(path);
    free(dir);
}

static void
test_submission_roundtrip(void)
{
    char *dir = cg_test_tmpdir();
    cg_store *st = open_store(dir, 0);
    sample a;
    sample_init(&a, "rt", 50 * 1024);
    cg_store_conflicts conflicts;
    CU_ASSERT_EQUAL(submit(st, &a.sub, &conflicts), CG_OK);
    CU_ASSERT_EQUAL(conflicts.count, 0);
    cg_store_conflicts_dispose(&conflicts);

    cg_store_blob blob;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL_FATAL(cg_store_document_get(st, REPO, a.de_uid, &blob, &err), CG_OK);
    CU_ASSERT_EQUAL(blob.len, a.len);
    CU_ASSERT(blob.len == a.len && memcmp(blob.data, a.data, a.len) == 0);
    CU_ASSERT_STRING_EQUAL(blob.hash, a.hash);
    CU_ASSERT_STRING_EQUAL(blob.mime_type, "text/xml");
    cg_store_blob_dispose(&blob);

    const char *uuids[4] = {a.de_uuid, a.ss_uuid, a.a1_uuid, a.a2_uuid};
    const char *xmls[4] = {a.de_xml, a.ss_xml, a.a1_xml, a.a2_xml};
    for (int i = 0; i < 4; i++) {
        char *xml = NULL;
        size_t len = 0;
        CU_ASSERT_EQUAL(cg_store_object_xml(st, uuids[i], &xml, &len, &err), CG_OK);
        CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
        CU_ASSERT_EQUAL(len, strlen(xmls[i]));
        CU_ASSERT_STRING_EQUAL(xml, xmls[i]);
        free(xml);
    }
    cg_store_stats s = stats(st);
    CU_ASSERT_EQUAL(s.document_entries, 1);
    CU_ASSERT_EQUAL(s.submission_sets, 1);
    CU_ASSERT_EQUAL(s.folders, 0);
    CU_ASSERT_EQUAL(s.associations, 2);
    CU_ASSERT_EQUAL(s.documents, 1);
    CU_ASSERT_EQUAL(s.commits, 1);
    CU_ASSERT_EQUAL(s.submissions, 1);

    /* a zero-length document is a document too */
    sample z;
    sample_init(&z, "zero", 0);
    CU_ASSERT_EQUAL(submit(st, &z.sub, NULL), CG_OK);
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_document_get(st, REPO, z.de_uid, &blob, &err), CG_OK);
    CU_ASSERT_EQUAL(blob.len, 0);
    cg_store_blob_dispose(&blob);
    sample_dispose(&z);

    cg_store_free(st);
    sample_dispose(&a);
    free(dir);
}

static void
test_unknown_document_and_object(void)
{
    char *dir = cg_test_tmpdir();
    cg_store *st = open_store(dir, 0);
    cg_store_blob blob;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_document_get(st, REPO, "1.2.3.nothing", &blob, &err), CG_ENOTFOUND);
    CU_ASSERT_PTR_NULL(blob.data);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "1.2.3.nothing"));
    cg_store_blob_dispose(&blob);
    char *xml = NULL;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_object_xml(st, "urn:uuid:nothing", &xml, NULL, &err), CG_ENOTFOUND);
    CU_ASSERT_PTR_NULL(xml);
    cg_store_free(st);
    free(dir);
}

static void
test_duplicate_unique_id(void)
{
    char *dir = cg_test_tmpdir();
    cg_store *st = open_store(dir, 0);
    sample a, b;
    sample_init(&a, "dupuid", 100);
    CU_ASSERT_EQUAL(submit(st, &a.sub, NULL), CG_OK);
    /* new uuids, the same DocumentEntry uniqueId, other bytes */
    sample_init(&b, "dupuid-2", 200);
    b.objects[0].unique_id = a.de_uid;
    b.doc.unique_id = a.de_uid;
    cg_store_stats before = stats(st);

    cg_store_conflicts c;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_submit(st, &b.sub, &c, &err), CG_EINVAL);
    CU_ASSERT_EQUAL_FATAL(c.count, 1); /* the entry's conflict, not again for its document */
    CU_ASSERT_EQUAL(c.items[0].kind, CG_CONFLICT_UNIQUE_ID);
    CU_ASSERT_STRING_EQUAL(c.items[0].id, a.de_uid);
    CU_ASSERT_EQUAL(c.items[0].existing_kind, CG_OBJ_DOCUMENT_ENTRY);
    CU_ASSERT_STRING_EQUAL(c.items[0].existing_hash, a.hash);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, a.de_uid));
    cg_store_conflicts_dispose(&c);

    /* nothing of the second submission is written */
    cg_store_stats after = stats(st);
    CU_ASSERT_EQUAL(after.document_entries, before.document_entries);
    CU_ASSERT_EQUAL(after.submission_sets, before.submission_sets);
    CU_ASSERT_EQUAL(after.associations, before.associations);
    CU_ASSERT_EQUAL(after.documents, before.documents);
    CU_ASSERT(!object_exists(st, b.ss_uuid));
    CU_ASSERT(!object_exists(st, b.de_uuid));
    cg_store_blob blob;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_document_get(st, REPO, a.de_uid, &blob, &err), CG_OK);
    CU_ASSERT_STRING_EQUAL(blob.hash, a.hash); /* still the first one's bytes */
    CU_ASSERT_EQUAL(blob.len, 100);
    cg_store_blob_dispose(&blob);

    /* a SubmissionSet's uniqueId reused by another kind is reported with its kind */
    sample d;
    sample_init(&d, "dupuid-3", 10);
    d.objects[0].unique_id = a.ss_uid;
    d.doc.unique_id = a.ss_uid;
    CU_ASSERT_EQUAL(submit(st, &d.sub, &c), CG_EINVAL);
    CU_ASSERT_EQUAL_FATAL(c.count, 1);
    CU_ASSERT_EQUAL(c.items[0].existing_kind, CG_OBJ_SUBMISSION_SET);
    CU_ASSERT_STRING_EQUAL(c.items[0].existing_hash, "");
    cg_store_conflicts_dispose(&c);

    cg_store_free(st);
    sample_dispose(&a);
    sample_dispose(&b);
    sample_dispose(&d);
    free(dir);
}

static void
test_duplicate_uuid(void)
{
    char *dir = cg_test_tmpdir();
    cg_store *st = open_store(dir, 0);
    sample a, b;
    sample_init(&a, "dupuuid", 100);
    CU_ASSERT_EQUAL(submit(st, &a.sub, NULL), CG_OK);
    sample_init(&b, "dupuuid-2", 100);
    b.objects[1].uuid = a.ss_uuid; /* the SubmissionSet's entryUUID again */
    b.objects[2].source = a.ss_uuid;
    b.objects[3].target = a.ss_uuid;
    cg_store_conflicts c;
    CU_ASSERT_EQUAL(submit(st, &b.sub, &c), CG_EINVAL);
    CU_ASSERT_EQUAL_FATAL(c.count, 1);
    CU_ASSERT_EQUAL(c.items[0].kind, CG_CONFLICT_UUID);
    CU_ASSERT_STRING_EQUAL(c.items[0].id, a.ss_uuid);
    CU_ASSERT_EQUAL(c.items[0].existing_kind, CG_OBJ_SUBMISSION_SET);
    cg_store_conflicts_dispose(&c);
    CU_ASSERT(!object_exists(st, b.de_uuid));
    CU_ASSERT(!document_exists(st, b.de_uid));

    /* the same entryUUID twice within one submission */
    sample d;
    sample_init(&d, "dupuuid-3", 100);
    d.objects[3].uuid = d.a1_uuid;
    CU_ASSERT_EQUAL(submit(st, &d.sub, &c), CG_EINVAL);
    CU_ASSERT_EQUAL_FATAL(c.count, 1);
    CU_ASSERT_EQUAL(c.items[0].kind, CG_CONFLICT_UUID);
    CU_ASSERT_EQUAL(c.items[0].existing_kind, CG_OBJ_ASSOCIATION);
    cg_store_conflicts_dispose(&c);
    CU_ASSERT(!object_exists(st, d.de_uuid));
    CU_ASSERT_EQUAL(stats(st).document_entries, 1);

    cg_store_free(st);
    sample_dispose(&a);
    sample_dispose(&b);
    sample_dispose(&d);
    free(dir);
}

static void
test_references(void)
{
    char *dir = cg_test_tmpdir();
    cg_store *st = open_store(dir, 0);
    sample a;
    sample_init(&a, "ref", 100);
    CU_ASSERT_EQUAL(submit(st, &a.sub, NULL), CG_OK);

    /* a new SubmissionSet whose HasMember association points at the stored entry */
    sample b;
    sample_init(&b, "ref-2", 0);
    b.objects[0] = b.objects[1]; /* SubmissionSet */
    b.objects[1] = b.objects[2]; /* SS -> a's entry */
    b.objects[1].target = a.de_uuid;
    b.sub.nobjects = 2;
    b.sub.ndocuments = 0;
    const char *refs[] = {a.de_uuid, b.ss_uuid}; /* one stored, one of this submission */
    b.sub.references = refs;
    b.sub.nreferences = 2;
    CU_ASSERT_EQUAL(submit(st, &b.sub, NULL), CG_OK);
    CU_ASSERT(object_exists(st, b.a1_uuid));

    /* a reference to nothing */
    sample c;
    sample_init(&c, "ref-3", 0);
    c.objects[0] = c.objects[1];
    c.objects[1] = c.objects[2];
    c.objects[1].target = "urn:uuid:nowhere";
    c.sub.nobjects = 2;
    c.sub.ndocuments = 0;
    const char *missing[] = {"urn:uuid:nowhere", a.ss_uuid};
    c.sub.references = missing;
    c.sub.nreferences = 2;
    cg_store_conflicts cf;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_submit(st, &c.sub, &cf, &err), CG_EINVAL);
    CU_ASSERT_EQUAL_FATAL(cf.count, 1);
    CU_ASSERT_EQUAL(cf.items[0].kind, CG_CONFLICT_MISSING);
    CU_ASSERT_STRING_EQUAL(cf.items[0].id, "urn:uuid:nowhere");
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "urn:uuid:nowhere"));
    cg_store_conflicts_dispose(&cf);
    CU_ASSERT(!object_exists(st, c.ss_uuid));
    cg_store_stats s = stats(st);
    CU_ASSERT_EQUAL(s.submission_sets, 2);
    CU_ASSERT_EQUAL(s.associations, 3);

    cg_store_free(st);
    sample_dispose(&a);
    sample_dispose(&b);
    sample_dispose(&c);
    free(dir);
}

/* ---- several submissions in one batch ---------------------------------------------------- */

typedef struct submitter {
    cg_store *st;
    const cg_store_submission *sub;
    int rc;
    size_t nconflicts;
    char msg[1024];
} submitter;

static void *
submitter_main(void *arg)
{
    submitter *t = arg;
    cg_store_conflicts c;
    cg_err err;
    cg_err_init(&err);
    t->rc = cg_store_submit(t->st, t->sub, &c, &err);
    t->nconflicts = c.count;
    cg_store_conflicts_dispose(&c);
    memcpy(t->msg, err.msg, sizeof t->msg);
    return NULL;
}

static void
wait_queued(cg_store *st, int64_t n)
{
    struct timespec ms = {0, 1000000};
    for (int i = 0; i < 10000 && stats(st).queued < n; i++)
        nanosleep(&ms, NULL);
    CU_ASSERT_EQUAL(stats(st).queued, n);
}

/* Runs n submissions as one batch: pause the writer, queue them all, unpause. */
static void
run_batch(cg_store *st, sample *samples, submitter *t, int n)
{
    pthread_t th[8];
    cg_store_debug_pause(st, 1);
    for (int i = 0; i < n; i++) {
        t[i] = (submitter){.st = st, .sub = &samples[i].sub};
        pthread_create(&th[i], NULL, submitter_main, &t[i]);
        wait_queued(st, i + 1); /* in this order */
    }
    cg_store_debug_pause(st, 0);
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
}

static void
test_batch_with_a_conflict(void)
{
    char *dir = cg_test_tmpdir();
    cg_store *st = open_store(dir, 0);
    sample first;
    sample_init(&first, "bc0", 10);
    CU_ASSERT_EQUAL(submit(st, &first.sub, NULL), CG_OK);
    sample s[3];
    submitter t[3];
    sample_init(&s[0], "bc1", 10);
    sample_init(&s[1], "bc2", 10);
    sample_init(&s[2], "bc3", 10);
    s[1].objects[0].unique_id = first.de_uid; /* refused */
    s[1].doc.unique_id = first.de_uid;
    run_batch(st, s, t, 3);
    CU_ASSERT_EQUAL(t[0].rc, CG_OK);
    CU_ASSERT_EQUAL(t[1].rc, CG_EINVAL);
    CU_ASSERT_EQUAL(t[1].nconflicts, 1);
    CU_ASSERT_EQUAL(t[2].rc, CG_OK);
    cg_store_stats x = stats(st);
    CU_ASSERT_EQUAL(x.commits, 2); /* the first submission, then one for the batch */
    CU_ASSERT_EQUAL(x.submissions, 3);
    CU_ASSERT_EQUAL(x.largest_batch, 3);
    CU_ASSERT_EQUAL(x.document_entries, 3);
    CU_ASSERT_EQUAL(x.documents, 3);
    CU_ASSERT(object_exists(st, s[0].ss_uuid));
    CU_ASSERT(!object_exists(st, s[1].ss_uuid));
    CU_ASSERT(object_exists(st, s[2].ss_uuid));
    for (int i = 0; i < 3; i++)
        sample_dispose(&s[i]);
    sample_dispose(&first);
    cg_store_free(st);
    free(dir);
}

/* cg_store_free answers the queued submissions before it stops the writer. */
static void
test_free_drains_the_queue(void)
{
    char *dir = cg_test_tmpdir();
    cg_store *st = open_store(dir, 0);
    sample s[2];
    submitter t[2];
    pthread_t th[2];
    cg_store_debug_pause(st, 1);
    for (int i = 0; i < 2; i++) {
        sample_init(&s[i], i ? "drain1" : "drain0", 100);
        t[i] = (submitter){.st = st, .sub = &s[i].sub};
        pthread_create(&th[i], NULL, submitter_main, &t[i]);
        wait_queued(st, i + 1);
    }
    cg_store_free(st); /* paused, with two queued */
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        CU_ASSERT_EQUAL(t[i].rc, CG_OK);
    }
    st = open_store(dir, 0);
    CU_ASSERT_EQUAL(stats(st).document_entries, 2);
    CU_ASSERT(object_exists(st, s[1].a2_uuid));
    cg_store_free(st);
    sample_dispose(&s[0]);
    sample_dispose(&s[1]);
    free(dir);
}

/* Fault injection: the Nth writer statement fails, for every N a batch of three submissions
 * executes (BEGIN, each SAVEPOINT, check and insert, RELEASE, COMMIT). Every caller of the batch
 * gets CG_EIO and nothing of any of them is visible; then the next round works. */
static void
test_fault_injection_every_step(void)
{
    char *dir = cg_test_tmpdir();
    cg_store *st = open_store(dir, 0);
    cg_store_stats base = stats(st);
    int committed_round = 0;
    char last_failure[1024] = "";
    long n;
    for (n = 1; n < 500 && !committed_round; n++) {
        sample s[3];
        submitter t[3];
        for (int i = 0; i < 3; i++) {
            char tag[48];
            snprintf(tag, sizeof tag, "f%ld-%d", n, i);
            sample_init(&s[i], tag, 5000);
        }
        cg_store_debug_fail_after(st, n);
        run_batch(st, s, t, 3);
        cg_store_debug_fail_after(st, 0);
        if (t[0].rc == CG_OK) {
            /* n is past the batch's last statement: all three committed */
            committed_round = 1;
            for (int i = 0; i < 3; i++) {
                CU_ASSERT_EQUAL(t[i].rc, CG_OK);
                CU_ASSERT(object_exists(st, s[i].de_uuid));
                CU_ASSERT(document_exists(st, s[i].de_uid));
            }
        } else {
            memcpy(last_failure, t[0].msg, sizeof last_failure);
            for (int i = 0; i < 3; i++) {
                CU_ASSERT_EQUAL(t[i].rc, CG_EIO);
                CU_ASSERT_EQUAL(t[i].nconflicts, 0);
                CU_ASSERT_PTR_NOT_NULL(strstr(t[i].msg, "sqlite3_step("));
                CU_ASSERT_PTR_NOT_NULL(strstr(t[i].msg, "): disk I/O error"));
                CU_ASSERT(!object_exists(st, s[i].de_uuid));
                CU_ASSERT(!object_exists(st, s[i].ss_uuid));
                CU_ASSERT(!object_exists(st, s[i].a2_uuid));
                CU_ASSERT(!document_exists(st, s[i].de_uid));
            }
            cg_store_stats x = stats(st);
            CU_ASSERT_EQUAL(x.document_entries, base.document_entries);
            CU_ASSERT_EQUAL(x.associations, base.associations);
            CU_ASSERT_EQUAL(x.documents, base.documents);
            CU_ASSERT_EQUAL(x.submissions, base.submissions);
        }
        for (int i = 0; i < 3; i++)
            sample_dispose(&s[i]);
    }
    CU_ASSERT(committed_round);
    CU_ASSERT(n > 40); /* it failed at each of the batch's statements before that */
    /* the last statement that failed was the COMMIT itself */
    CU_ASSERT_STRING_EQUAL(last_failure, "sqlite3_step(commit): disk I/O error");

    /* the message names the failing statement */
    sample a;
    sample_init(&a, "after", 100);
    cg_store_debug_fail_after(st, 1);
    cg_err err;
    cg_err_init(&err);
    cg_store_conflicts c;
    CU_ASSERT_EQUAL(cg_store_submit(st, &a.sub, &c, &err), CG_EIO);
    CU_ASSERT_STRING_EQUAL(err.msg, "sqlite3_step(begin): disk I/O error");
    cg_store_conflicts_dispose(&c);
    CU_ASSERT_EQUAL(submit(st, &a.sub, NULL), CG_OK); /* the fault fired once; later ones work */
    CU_ASSERT_EQUAL(stats(st).document_entries, base.document_entries + 4);
    sample_dispose(&a);
    cg_store_free(st);
    free(dir);
}

/* ---- concurrency and group commit ----------------------------------------------------------- */

#define THREADS 8
#define PER_THREAD 50
#define DOC_BYTES (50 * 1024)

typedef struct worker {
    cg_store *st;
    int id;
    int failures;
} worker;

static void *
worker_main(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        char tag[48];
        snprintf(tag, sizeof tag, "w%d-%d", w->id, i);
        sample s;
        sample_init(&s, tag, DOC_BYTES);
        if (submit(w->st, &s.sub, NULL) != CG_OK)
            w->failures++;
        /* readers run beside the writer */
        if (document_get_rc(w->st, s.de_uid) != CG_OK)
            w->failures++;
        sample_dispose(&s);
    }
    return NULL;
}

static double
now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_concurrent_group_commit(void)
{
    char *dir = cg_test_tmpdir();
    cg_store *st = open_store(dir, 0);
    pthread_t th[THREADS];
    worker w[THREADS];
    double t0 = now_seconds();
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.st = st, .id = i};
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    double secs = now_seconds() - t0;
    int failures = 0;
    for (int i = 0; i < THREADS; i++)
        failures += w[i].failures;
    CU_ASSERT_EQUAL(failures, 0);
    cg_store_stats s = stats(st);
    CU_ASSERT_EQUAL(s.submissions, THREADS * PER_THREAD);
    CU_ASSERT_EQUAL(s.document_entries, THREADS * PER_THREAD);
    CU_ASSERT_EQUAL(s.submission_sets, THREADS * PER_THREAD);
    CU_ASSERT_EQUAL(s.associations, 2 * THREADS * PER_THREAD);
    CU_ASSERT_EQUAL(s.documents, THREADS * PER_THREAD);
    CU_ASSERT(s.commits < s.submissions); /* commits were shared */
    CU_ASSERT(s.largest_batch > 1);
    if (getenv("CG_TEST_STORE_TIMING"))
        fprintf(stderr,
                "\n    store: %d submissions (50 KB documents), %d threads: %.0f/s, "
                "%lld commits, largest batch %lld\n",
                THREADS * PER_THREAD, THREADS, THREADS * PER_THREAD / secs, (long long)s.commits,
                (long long)s.largest_batch);
    /* every one is there, distinct */
    for (int i = 0; i < THREADS; i++) {
        char tag[48];
        snprintf(tag, sizeof tag, "w%d-%d", i, PER_THREAD - 1);
        sample x;
        sample_init(&x, tag, DOC_BYTES);
        cg_store_blob blob;
        cg_err err;
        cg_err_init(&err);
        CU_ASSERT_EQUAL(cg_store_document_get(st, REPO, x.de_uid, &blob, &err), CG_OK);
        CU_ASSERT(blob.len == x.len && memcmp(blob.data, x.data, x.len) == 0);
        cg_store_blob_dispose(&blob);
        sample_dispose(&x);
    }
    cg_store_free(st);
    free(dir);
}

/* ---- pending repository documents ----------------------------------------------------------- */

#define OWNER1 "urn:uuid:00000000-0000-4000-8000-000000000001"
#define OWNER2 "urn:uuid:00000000-0000-4000-8000-000000000002"

static cg_store *
open_store_aged(const char *dir, unsigned pending_max_age_s)
{
    cg_store_config cfg = {.data_dir = dir, .readers = 2, .pending_max_age_s = pending_max_age_s};
    cg_store *st = NULL;
    cg_err err;
    cg_err_init(&err);
    int rc = cg_store_open(&st, &cfg, &err);
    if (rc != CG_OK)
        fprintf(stderr, "cg_store_open: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, CG_OK);
    return st;
}

static int
put_pending(cg_store *st, const cg_store_document *docs, size_t n, const char *owner,
            cg_store_conflicts *conflicts)
{
    cg_err err;
    cg_err_init(&err);
    cg_store_conflicts local;
    int rc =
        cg_store_document_put_pending(st, docs, n, owner, conflicts ? conflicts : &local, &err);
    if (conflicts == NULL)
        cg_store_conflicts_dispose(&local);
    return rc;
}

/* Runs SQL on the database file beside the store (tests only: ageing rows, old schemas). */
static void
db_exec(const char *dir, const char *sql)
{
    char *path = cg_fs_join(dir, "registry.db");
    sqlite3 *db = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fprintf(stderr, "%s: %s\n", sql, msg ? msg : "?");
    CU_ASSERT_EQUAL(rc, SQLITE_OK);
    sqlite3_free(msg);
    sqlite3_close(db);
    free(path);
}

static void
test_pending_invisible_then_commit(void)
{
    char *dir = cg_test_tmpdir();
    cg_store *st = open_store(dir, 0);
    sample a, b;
    sample_init(&a, "pend-a", 3000);
    sample_init(&b, "pend-b", 0);
    cg_store_document docs[2] = {a.doc, b.doc};
    CU_ASSERT_EQUAL(put_pending(st, docs, 2, OWNER1, NULL), CG_OK);
    /* stored, but not retrievable, and not counted as a document */
    CU_ASSERT(!document_exists(st, a.de_uid));
    CU_ASSERT(!document_exists(st, b.de_uid));
    cg_store_stats s = stats(st);
    CU_ASSERT_EQUAL(s.pending_documents, 2);
    CU_ASSERT_EQUAL(s.documents, 0);

    /* another owner's commit touches nothing and names what it did not find */
    cg_store_conflicts missing;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_document_commit(st, docs, 2, OWNER2, &missing, &err), CG_ENOTFOUND);
    CU_ASSERT_EQUAL(missing.count, 2);
    CU_ASSERT_EQUAL(missing.items[0].kind, CG_CONFLICT_MISSING);
    CU_ASSERT_STRING_EQUAL(missing.items[0].id, a.de_uid);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no longer pending"));
    cg_store_conflicts_dispose(&missing);
    CU_ASSERT(!document_exists(st, a.de_uid));
    CU_ASSERT_EQUAL(stats(st).pending_documents, 2);

    /* the owner's commit: retrievable, exact bytes, counted */
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_document_commit(st, docs, 2, OWNER1, &missing, &err), CG_OK);
    CU_ASSERT_EQUAL(missing.count, 0);
    cg_store_conflicts_dispose(&missing);
    cg_store_blob blob;
    CU_ASSERT_EQUAL_FATAL(cg_store_document_get(st, REPO, a.de_uid, &blob, &err), CG_OK);
    CU_ASSERT(blob.len == a.len && memcmp(blob.data, a.data, a.len) == 0);
    CU_ASSERT_STRING_EQUAL(blob.hash, a.hash);
    cg_store_blob_dispose(&blob);
    CU_ASSERT(document_exists(st, b.de_uid));
    s = stats(st);
    CU_ASSERT_EQUAL(s.pending_documents, 0);
    CU_ASSERT_EQUAL(s.documents, 2);
    /* committing again: they are no longer pending */
    CU_ASSERT_EQUAL(cg_store_document_commit(st, docs, 1, OWNER1, NULL, &err), CG_ENOTFOUND);
    CU_ASSERT_EQUAL(stats(st).documents, 2);
    /* nothing to do is no error */
    CU_ASSERT_EQUAL(cg_store_document_commit(st, docs, 0, OWNER1, NULL, &err), CG_OK);
    cg_store_free(st);

    /* durable */
    st = open_store(dir, 0);
    CU_ASSERT(document_exists(st, a.de_uid));
    CU_ASSERT_EQUAL(stats(st).documents, 2);
    cg_store_free(st);
    sample_dispose(&a);
    sample_dispose(&b);
    free(dir);
}

static void
test_pending_discard_and_conflicts(void)
{
    char *dir = cg_test_tmpdir();
    cg_store *st = open_store(dir, 0);
    sample a, b, c;
    sample_init(&a, "disc-a", 100);
    sample_init(&b, "disc-b", 200);
    sample_init(&c, "disc-c", 300);
    CU_ASSERT_EQUAL(put_pending(st, &a.doc, 1, OWNER1, NULL), CG_OK);

    /* a pending uniqueId is taken: by another attempt (marked pending), by a submission */
    cg_store_conflicts cf;
    CU_ASSERT_EQUAL(put_pending(st, &a.doc, 1, OWNER2, &cf), CG_EINVAL);
    CU_ASSERT_EQUAL_FATAL(cf.count, 1);
    CU_ASSERT_EQUAL(cf.items[0].kind, CG_CONFLICT_UNIQUE_ID);
    CU_ASSERT_STRING_EQUAL(cf.items[0].id, a.de_uid);
    CU_ASSERT_EQUAL(cf.items[0].pending, 1);
    cg_store_conflicts_dispose(&cf);
    CU_ASSERT_EQUAL(submit(st, &a.sub, &cf), CG_EINVAL);
    CU_ASSERT_EQUAL(cf.count, 1);
    cg_store_conflicts_dispose(&cf);
    CU_ASSERT(!object_exists(st, a.de_uuid));

    /* all or nothing: b is free, c is registered, so neither is written */
    CU_ASSERT_EQUAL(submit(st, &c.sub, NULL), CG_OK);
    cg_store_document bc[2] = {b.doc, c.doc};
    CU_ASSERT_EQUAL(put_pending(st, bc, 2, OWNER2, &cf), CG_EINVAL);
    CU_ASSERT_EQUAL_FATAL(cf.count, 1);
    CU_ASSERT_STRING_EQUAL(cf.items[0].id, c.de_uid);
    CU_ASSERT_EQUAL(cf.items[0].pending, 0);
    CU_ASSERT_STRING_EQUAL(cf.items[0].existing_hash, c.hash);
    cg_store_conflicts_dispose(&cf);
    CU_ASSERT_EQUAL(stats(st).pending_documents, 1);
    /* the same uniqueId twice in one attempt */
    cg_store_document bb[2] = {b.doc, b.doc};
    CU_ASSERT_EQUAL(put_pending(st, bb, 2, OWNER2, &cf), CG_EINVAL);
    CU_ASSERT_EQUAL_FATAL(cf.count, 1);
    CU_ASSERT_EQUAL(cf.items[0].pending, 0);
    cg_store_conflicts_dispose(&cf);
    CU_ASSERT_EQUAL(stats(st).pending_documents, 1);

    /* another owner's discard leaves it; the owner's deletes it; the uniqueId is free again */
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_document_discard(st, &a.doc, 1, OWNER2, &err), CG_OK);
    CU_ASSERT_EQUAL(stats(st).pending_documents, 1);
    CU_ASSERT_EQUAL(cg_store_document_discard(st, &a.doc, 1, OWNER1, &err), CG_OK);
    CU_ASSERT_EQUAL(stats(st).pending_documents, 0);
    CU_ASSERT(!document_exists(st, a.de_uid));
    CU_ASSERT_EQUAL(cg_store_document_discard(st, &a.doc, 1, OWNER1, &err), CG_OK); /* again */
    CU_ASSERT_EQUAL(cg_store_document_commit(st, &a.doc, 1, OWNER1, NULL, &err), CG_ENOTFOUND);
    CU_ASSERT(!document_exists(st, a.de_uid));
    CU_ASSERT_EQUAL(submit(st, &a.sub, NULL), CG_OK);
    CU_ASSERT(document_exists(st, a.de_uid));
    /* a discard never deletes a committed document */
    CU_ASSERT_EQUAL(cg_store_document_discard(st, &c.doc, 1, OWNER2, &err), CG_OK);
    CU_ASSERT(document_exists(st, c.de_uid));
    CU_ASSERT_EQUAL(stats(st).documents, 2);

    /* an I/O error fails put_pending whole, then it works */
    cg_store_debug_fail_after(st, 4); /* begin, savepoint, find, then the insert fails */
    CU_ASSERT_EQUAL(put_pending(st, &b.doc, 1, OWNER2, NULL), CG_EIO);
    CU_ASSERT_EQUAL(stats(st).pending_documents, 0);
    CU_ASSERT_EQUAL(put_pending(st, &b.doc, 1, OWNER2, NULL), CG_OK);
    cg_store_debug_fail_after(st, 3); /* begin, savepoint, then the update fails */
    CU_ASSERT_EQUAL(cg_store_document_commit(st, &b.doc, 1, OWNER2, NULL, &err), CG_EIO);
    CU_ASSERT(!document_exists(st, b.de_uid));
    CU_ASSERT_EQUAL(cg_store_document_commit(st, &b.doc, 1, OWNER2, NULL, &err), CG_OK);
    CU_ASSERT(document_exists(st, b.de_uid));
    cg_store_free(st);
    sample_dispose(&a);
    sample_dispose(&b);
    sample_dispose(&c);
    free(dir);
}

/* A crash between put_pending and the registry's answer: the rows stay invisible, and a store
 * opened with pending_max_age_s deletes those older than that (and only those). */
static void
test_pending_purged_at_open(void)
{
    char *dir = cg_test_tmpdir();
    cg_store *st = open_store(dir, 0);
    sample a, b, c;
    sample_init(&a, "purge-a", 100);
    sample_init(&b, "purge-b", 100);
    sample_init(&c, "purge-c", 100);
    CU_ASSERT_EQUAL(put_pending(st, &a.doc, 1, OWNER1, NULL), CG_OK);
    CU_ASSERT_EQUAL(put_pending(st, &b.doc, 1, OWNER2, NULL), CG_OK);
    CU_ASSERT_EQUAL(put_pending(st, &c.doc, 1, OWNER2, NULL), CG_OK);
    cg_store_free(st); /* "the crash": nobody commits or discards */
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE documents SET pending_since = pending_since - 7200 WHERE unique_id = '%s'",
             a.de_uid);
    db_exec(dir, sql); /* a is two hours old */

    /* without an age (a `cdagate patient add` beside the server): nothing is touched */
    st = open_store(dir, 0);
    cg_store_stats s = stats(st);
    CU_ASSERT_EQUAL(s.pending_documents, 3);
    CU_ASSERT_EQUAL(s.purged_at_open, 0);
    cg_store_free(st);

    /* with 10 minutes: a goes, b and c (seconds old) stay, all invisible */
    st = open_store_aged(dir, 600);
    s = stats(st);
    CU_ASSERT_EQUAL(s.purged_at_open, 1);
    CU_ASSERT_EQUAL(s.pending_documents, 2);
    CU_ASSERT_EQUAL(s.documents, 0);
    CU_ASSERT(!document_exists(st, a.de_uid));
    CU_ASSERT(!document_exists(st, b.de_uid));
    /* a's uniqueId is free again; b's commit by its owner still works */
    CU_ASSERT_EQUAL(submit(st, &a.sub, NULL), CG_OK);
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_document_commit(st, &b.doc, 1, OWNER2, NULL, &err), CG_OK);
    CU_ASSERT(document_exists(st, b.de_uid));
    cg_store_free(st);

    /* a stale pending document gives way to a new attempt without waiting for a restart */
    snprintf(sql, sizeof sql,
             "UPDATE documents SET pending_since = pending_since - 7200 WHERE unique_id = '%s'",
             c.de_uid);
    db_exec(dir, sql);
    st = open_store(dir, 0); /* no age: c stays at open... */
    CU_ASSERT_EQUAL(stats(st).pending_documents, 1);
    CU_ASSERT_EQUAL(put_pending(st, &c.doc, 1, OWNER1, NULL), CG_EINVAL); /* ...and holds */
    cg_store_free(st);
    st = open_store_aged(dir, 600);
    CU_ASSERT_EQUAL(stats(st).purged_at_open, 1);
    CU_ASSERT_EQUAL(put_pending(st, &c.doc, 1, OWNER1, NULL), CG_OK);
    CU_ASSERT_EQUAL(cg_store_document_commit(st, &c.doc, 1, OWNER1, NULL, &err), CG_OK);
    s = stats(st);
    CU_ASSERT_EQUAL(s.documents, 3);
    CU_ASSERT_EQUAL(s.pending_documents, 0);
    cg_store_free(st);
    sample_dispose(&a);
    sample_dispose(&b);
    sample_dispose(&c);
    free(dir);
}

/* A database of schema 1 (made by taking schema 2's additions away again) upgrades at open:
 * its documents stay retrievable and its counts stay, and pending documents work after. */
static void
test_migration_from_v1(void)
{
    char *dir = cg_test_tmpdir();
    cg_store *st = open_store(dir, 0);
    sample a, b;
    sample_init(&a, "v1-a", 4000);
    sample_init(&b, "v1-b", 100);
    CU_ASSERT_EQUAL(submit(st, &a.sub, NULL), CG_OK);
    cg_store_free(st);
    db_exec(dir, "DROP INDEX patients_merged;" /* schema 3's additions */
                 "ALTER TABLE patients DROP COLUMN merged_at;"
                 "ALTER TABLE patients DROP COLUMN merged_into;"
                 "DROP INDEX documents_pending;"
                 "ALTER TABLE documents DROP COLUMN pending_owner;"
                 "ALTER TABLE documents DROP COLUMN pending_since;"
                 "ALTER TABLE documents DROP COLUMN state;"
                 "PRAGMA user_version = 1;");

    st = open_store(dir, 0);
    cg_store_stats s = stats(st);
    CU_ASSERT_EQUAL(s.schema_version, 3);
    CU_ASSERT_EQUAL(s.documents, 1);
    CU_ASSERT_EQUAL(s.document_entries, 1);
    CU_ASSERT_EQUAL(s.pending_documents, 0);
    cg_store_blob blob;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL_FATAL(cg_store_document_get(st, REPO, a.de_uid, &blob, &err), CG_OK);
    CU_ASSERT(blob.len == a.len && memcmp(blob.data, a.data, a.len) == 0);
    cg_store_blob_dispose(&blob);
    CU_ASSERT_EQUAL(put_pending(st, &b.doc, 1, OWNER1, NULL), CG_OK);
    CU_ASSERT(!document_exists(st, b.de_uid));
    CU_ASSERT_EQUAL(cg_store_document_commit(st, &b.doc, 1, OWNER1, NULL, &err), CG_OK);
    CU_ASSERT(document_exists(st, b.de_uid));
    cg_store_free(st);

    /* the file says version 3 now */
    char *path = cg_fs_join(dir, "registry.db");
    sqlite3 *db = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q = NULL;
    CU_ASSERT_EQUAL(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL), SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_step(q), SQLITE_ROW);
    CU_ASSERT_EQUAL(sqlite3_column_int(q, 0), 3);
    sqlite3_finalize(q);
    sqlite3_close(db);
    free(path);
    sample_dispose(&a);
    sample_dispose(&b);
    free(dir);
}

/* ---- patients, versions, time keys ---------------------------------------------------------- */

typedef struct listed {
    int n;
    char first[64];
    char added[32];
} listed;

static int
list_fn(void *ctx, const char *patient_id, const char *added_at)
{
    listed *l = ctx;
    if (l->n++ == 0) {
        snprintf(l->first, sizeof l->first, "%s", patient_id);
        snprintf(l->added, sizeof l->added, "%s", added_at);
    }
    return 0;
}

static int
stop_fn(void *ctx, const char *patient_id, const char *added_at)
{
    return 7;
}

static void
test_patients(void)
{
    char *dir = cg_test_tmpdir();
    cg_store *st = open_store(dir, 0);
    cg_err err;
    cg_err_init(&err);
    int known = -1;
    CU_ASSERT_EQUAL(cg_store_patient_known(st, PATIENT, &known, &err), CG_OK);
    CU_ASSERT_EQUAL(known, 0);
    CU_ASSERT_EQUAL(cg_store_patient_add(st, "Z9^^^&1.2.3.4&ISO", &err), CG_OK);
    CU_ASSERT_EQUAL(cg_store_patient_add(st, PATIENT, &err), CG_OK);
    CU_ASSERT_EQUAL(cg_store_patient_add(st, PATIENT, &err), CG_OK); /* again: not an error */
    CU_ASSERT_EQUAL(cg_store_patient_known(st, PATIENT, &known, &err), CG_OK);
    CU_ASSERT_EQUAL(known, 1);
    CU_ASSERT_EQUAL(cg_store_patient_known(st, "P2^^^&1.2.3.4&ISO", &known, &err), CG_OK);
    CU_ASSERT_EQUAL(known, 0);
    listed l = {0};
    CU_ASSERT_EQUAL(cg_store_patient_list(st, list_fn, &l, &err), CG_OK);
    CU_ASSERT_EQUAL(l.n, 2);
    CU_ASSERT_STRING_EQUAL(l.first, PATIENT); /* ordered by id */
    CU_ASSERT_EQUAL(strlen(l.added), 20);     /* YYYY-MM-DDThh:mm:ssZ */
    CU_ASSERT_EQUAL(l.added[10], 'T');
    CU_ASSERT_EQUAL(cg_store_patient_list(st, stop_fn, NULL, &err), 7);
    CU_ASSERT_EQUAL(stats(st).patients, 2);
    cg_store_free(st);
    /* durable */
    st = open_store(dir, 0);
    CU_ASSERT_EQUAL(cg_store_patient_known(st, PATIENT, &known, &err), CG_OK);
    CU_ASSERT_EQUAL(known, 1);
    CU_ASSERT_EQUAL(stats(st).patients, 2);
    cg_store_free(st);
    free(dir);
}

static void
test_future_schema_refused(void)
{
    char *dir = cg_test_tmpdir();
    cg_store *st = open_store(dir, 0);
    cg_store_free(st);
    char *path = cg_fs_join(dir, "registry.db");
    sqlite3 *db = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &db), SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    cg_store_config cfg = {.data_dir = dir};
    cg_err err;
    cg_err_init(&err);
    st = NULL;
    CU_ASSERT_EQUAL(cg_store_open(&st, &cfg, &err), CG_EINVAL);
    CU_ASSERT_PTR_NULL(st);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "schema version 999 is newer than this cdagate"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));

    /* and a file that is some other SQLite database */
    char *other = cg_test_tmpdir();
    char *opath = cg_fs_join(other, "registry.db");
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(opath, &db), SQLITE_OK);
    CU_ASSERT_EQUAL(
        sqlite3_exec(db, "CREATE TABLE t (x); PRAGMA user_version = 3", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    cfg.data_dir = other;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_open(&st, &cfg, &err), CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not a cdagate registry database"));

    cfg.backend = "oracle";
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_open(&st, &cfg, &err), CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "unknown store backend"));
    free(opath);
    free(other);
    free(path);
    free(dir);
}

static void
test_dtm_key(void)
{
    int64_t k = 0;
    CU_ASSERT(cg_store_dtm_key("2004", &k));
    CU_ASSERT_EQUAL(k, 20040000000000LL);
    CU_ASSERT(cg_store_dtm_key("200412251030", &k));
    CU_ASSERT_EQUAL(k, 20041225103000LL);
    CU_ASSERT(cg_store_dtm_key("20041225103059", &k));
    CU_ASSERT_EQUAL(k, 20041225103059LL);
    int64_t year, day;
    cg_store_dtm_key("2004", &year);
    cg_store_dtm_key("20040101", &day);
    CU_ASSERT(year < day); /* lower precision sorts first within its period */
    CU_ASSERT(!cg_store_dtm_key(NULL, &k));
    CU_ASSERT(!cg_store_dtm_key("", &k));
    CU_ASSERT(!cg_store_dtm_key("200", &k));
    CU_ASSERT(!cg_store_dtm_key("20041", &k));
    CU_ASSERT(!cg_store_dtm_key("2004122510305", &k));
    CU_ASSERT(!cg_store_dtm_key("200412251030591", &k));
    CU_ASSERT(!cg_store_dtm_key("2004-12-25", &k));
    CU_ASSERT(!cg_store_dtm_key("20041225+0100", &k));
}

/* DocumentEntries of PATIENT the store finds now. */
static size_t
entries_found(cg_store *st)
{
    const char *pid[] = {PATIENT};
    cg_store_filter f = {0};
    f.kinds = CG_STORE_KIND_DOC;
    f.patient_ids = (cg_store_list){pid, 1};
    cg_store_rows rows = {0};
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_find(st, &f, 0, 0, &rows, &err), CG_OK);
    size_t n = rows.count;
    cg_store_rows_dispose(&rows);
    return n;
}

static void
test_find_order(void)
{
    /* entries created in the reverse of their registration: the patient index yields them
     * newest-created first, a find answers in registration order, with each one's own XML */
    char *dir = cg_test_tmpdir();
    cg_store *st = open_store(dir, 0);
    sample s[3];
    static const char *const tags[] = {"order-a", "order-b", "order-c"};
    static const char *const created[] = {"20240303", "20240202", "20240101"};
    for (int i = 0; i < 3; i++) {
        sample_init(&s[i], tags[i], 10);
        s[i].objects[0].creation_time = created[i];
        CU_ASSERT_EQUAL(submit(st, &s[i].sub, NULL), CG_OK);
    }
    const char *pid[] = {PATIENT};
    cg_store_filter f = {0};
    f.kinds = CG_STORE_KIND_DOC;
    f.patient_ids = (cg_store_list){pid, 1};
    cg_err err;
    cg_err_init(&err);
    for (int any = 0; any < 2; any++) {
        f.limit_any = any;
        for (size_t limit = 0; limit < 3; limit++) {
            cg_store_rows rows = {0};
            CU_ASSERT_EQUAL(cg_store_find(st, &f, limit, 1, &rows, &err), CG_OK);
            /* at most limit + 1; without limit_any the first ones registered */
            size_t want = limit ? limit + 1 : 3;
            CU_ASSERT_EQUAL(rows.count, want);
            for (size_t i = 0; i < rows.count; i++) {
                const cg_store_row *r = &rows.items[i];
                CU_ASSERT_PTR_NOT_NULL_FATAL(r->xml);
                CU_ASSERT_PTR_NOT_NULL(strstr(r->xml, r->uuid));
                if (i > 0) /* registration order: the tags sort as registered */
                    CU_ASSERT(strcmp(rows.items[i - 1].uuid, r->uuid) < 0);
                if (!any)
                    CU_ASSERT_STRING_EQUAL(r->uuid, s[i].de_uuid);
            }
            cg_store_rows_dispose(&rows);
        }
    }
    cg_store_free(st);
    for (int i = 0; i < 3; i++)
        sample_dispose(&s[i]);
    free(dir);
}

static void
test_read_view(void)
{
    char *dir = cg_test_tmpdir();
    cg_store *st = open_store(dir, 0);
    sample a, b, c;
    sample_init(&a, "view-a", 100);
    sample_init(&b, "view-b", 100);
    sample_init(&c, "view-c", 100);
    CU_ASSERT_EQUAL(submit(st, &a.sub, NULL), CG_OK);

    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_store_read_begin(st, &err), CG_OK);
    CU_ASSERT_EQUAL(entries_found(st), 1);
    /* a submission committed while the view is held does not wait for it, and is not seen by
     * the view's reads (nor by a nested view) until the outer view ends */
    CU_ASSERT_EQUAL(submit(st, &b.sub, NULL), CG_OK);
    CU_ASSERT_EQUAL(entries_found(st), 1);
    CU_ASSERT(!object_exists(st, b.de_uuid));
    CU_ASSERT_EQUAL(cg_store_read_begin(st, &err), CG_OK);
    CU_ASSERT_EQUAL(entries_found(st), 1);
    cg_store_read_end(st);
    CU_ASSERT_EQUAL(entries_found(st), 1);
    cg_store_read_end(st);
    CU_ASSERT_EQUAL(entries_found(st), 2);
    CU_ASSERT(object_exists(st, b.de_uuid));

    /* the connection goes back to the pool out of its transaction: later reads are current */
    CU_ASSERT_EQUAL(cg_store_read_begin(st, &err), CG_OK);
    CU_ASSERT_EQUAL(entries_found(st), 2);
    cg_store_read_end(st);
    CU_ASSERT_EQUAL(submit(st, &c.sub, NULL), CG_OK);
    CU_ASSERT_EQUAL(entries_found(st), 3);

    /* a view held on one store leaves another store's reads current */
    char *dir2 = cg_test_tmpdir();
    cg_store *other = open_store(dir2, 0);
    CU_ASSERT_EQUAL(cg_store_read_begin(st, &err), CG_OK);
    CU_ASSERT_EQUAL(cg_store_read_begin(other, &err), CG_OK); /* not held: a no-op */
    CU_ASSERT_EQUAL(entries_found(other), 0);
    CU_ASSERT_EQUAL(submit(other, &a.sub, NULL), CG_OK);
    CU_ASSERT_EQUAL(entries_found(other), 1);
    cg_store_read_end(other);
    cg_store_read_end(st);
    cg_store_free(other);
    cg_store_free(st);
    sample_dispose(&a);
    sample_dispose(&b);
    sample_dispose(&c);
    free(dir2);
    free(dir);
}

void
cg_test_register_store(void)
{
    CU_pSuite s = CU_add_suite("store/store", NULL, NULL);
    CU_add_test(s, "open creates the schema; reopen keeps data and version",
                test_open_creates_schema_and_reopen_keeps_data);
    CU_add_test(s, "a submission with its document reads back exactly", test_submission_roundtrip);
    CU_add_test(s, "unknown document and object are not found", test_unknown_document_and_object);
    CU_add_test(s, "duplicate uniqueId: conflict with the existing hash, nothing written",
                test_duplicate_unique_id);
    CU_add_test(s, "duplicate entryUUID: conflict, nothing written", test_duplicate_uuid);
    CU_add_test(s, "references: stored ones satisfy, missing ones conflict", test_references);
    CU_add_test(s, "a refused submission in a batch does not stop the others",
                test_batch_with_a_conflict);
    CU_add_test(s, "free answers queued submissions first", test_free_drains_the_queue);
    CU_add_test(s, "an I/O error at any writer step fails the batch whole; later ones work",
                test_fault_injection_every_step);
    CU_add_test(s, "8 threads x 50 submissions: all committed, commits shared",
                test_concurrent_group_commit);
    CU_add_test(s, "patients: add is idempotent, known, list, durable", test_patients);
    CU_add_test(s, "a newer schema, a foreign database, an unknown backend are refused",
                test_future_schema_refused);
    CU_add_test(s, "DTM sortable keys", test_dtm_key);
    CU_add_test(s, "a find answers in registration order, with or without limit_any",
                test_find_order);
    CU_add_test(s, "a read view: one snapshot for its reads, nested, writes not held up",
                test_read_view);
    CU_add_test(s, "pending documents are invisible until their owner commits them",
                test_pending_invisible_then_commit);
    CU_add_test(s, "pending documents: conflicts, all or nothing, discard, I/O errors",
                test_pending_discard_and_conflicts);
    CU_add_test(s, "stale pending documents are purged at open, fresh ones kept",
                test_pending_purged_at_open);
    CU_add_test(s, "a schema 1 database upgrades to the current schema keeping its documents",
                test_migration_from_v1);
}
