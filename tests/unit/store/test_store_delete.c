/* Tests cg_store_delete_objects (store.c and the SQLite backend's delete_objects): the checks
 * made inside the transaction (missing, referenced, left unreferenced), all or nothing, the
 * rows of a deleted object gone from every table of the database file, the tallies, and an I/O
 * error at every writer step undoing the whole deletion. */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "unit.h"
#include "util/alloc.h"
#include "util/fs.h"

#define APPROVED "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
#define HAS_MEMBER "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
#define PATIENT "P7^^^&1.2.3.4&ISO"

/* The graph: a SubmissionSet holding a DocumentEntry (a1) and a Folder (a2), the Folder holding
 * the DocumentEntry (a3), and the SubmissionSet holding that membership (a4): the shape of a
 * submission that files a new document in a new folder. */
enum { SS, DE, FOL, A1, A2, A3, A4, NOBJ };
static const char *const names[NOBJ] = {"ss", "de", "fol", "a1", "a2", "a3", "a4"};

typedef struct graph {
    char uuid[NOBJ][64];
    char xml[NOBJ][160];
    char de_uid[32], ss_uid[32], fol_uid[32];
    cg_store_code codes[2];
    const char *authors[1];
    cg_store_object objects[NOBJ];
} graph;

static void
assoc(graph *g, int i, int src, int tgt)
{
    cg_store_object *o = &g->objects[i];
    o->kind = CG_OBJ_ASSOCIATION;
    o->assoc_type = HAS_MEMBER;
    o->source = g->uuid[src];
    o->target = g->uuid[tgt];
}

static void
graph_init(graph *g, const char *tag)
{
    memset(g, 0, sizeof(*g));
    for (int i = 0; i < NOBJ; i++) {
        snprintf(g->uuid[i], sizeof g->uuid[i], "urn:uuid:%s-%s", names[i], tag);
        snprintf(g->xml[i], sizeof g->xml[i], "<rim:Object id=\"%s\" note=\"xml-of-%s-%s\"/>",
                 g->uuid[i], names[i], tag);
        cg_store_object *o = &g->objects[i];
        o->uuid = g->uuid[i];
        o->lid = g->uuid[i];
        o->version = 1;
        o->status = APPROVED;
        o->size = -1;
        o->xml = g->xml[i];
        o->xml_len = strlen(g->xml[i]);
    }
    snprintf(g->de_uid, sizeof g->de_uid, "1.2.7.%s.1", tag);
    snprintf(g->ss_uid, sizeof g->ss_uid, "1.2.7.%s.2", tag);
    snprintf(g->fol_uid, sizeof g->fol_uid, "1.2.7.%s.3", tag);
    g->codes[0] = (cg_store_code){"classCode", "deleted-class-code", "1.2.7"};
    g->codes[1] = (cg_store_code){"codeList", "deleted-folder-code", "1.2.7"};
    g->authors[0] = "^Deleted^Author";
    cg_store_object *de = &g->objects[DE];
    de->kind = CG_OBJ_DOCUMENT_ENTRY;
    de->patient_id = PATIENT;
    de->unique_id = g->de_uid;
    de->mime_type = "text/xml";
    de->hash = "0000000000000000000000000000000000000000";
    de->codes = &g->codes[0];
    de->ncodes = 1;
    de->author_persons = g->authors;
    de->nauthor_persons = 1;
    cg_store_object *ss = &g->objects[SS];
    ss->kind = CG_OBJ_SUBMISSION_SET;
    ss->patient_id = PATIENT;
    ss->unique_id = g->ss_uid;
    cg_store_object *fol = &g->objects[FOL];
    fol->kind = CG_OBJ_FOLDER;
    fol->patient_id = PATIENT;
    fol->unique_id = g->fol_uid;
    fol->codes = &g->codes[1];
    fol->ncodes = 1;
    assoc(g, A1, SS, DE);
    assoc(g, A2, SS, FOL);
    assoc(g, A3, FOL, DE);
    assoc(g, A4, SS, A3);
}

static cg_store *
open_with_graph(const char *dir, graph *g, const char *tag)
{
    cg_store_config cfg = {.data_dir = dir, .readers = 2};
    cg_store *st = NULL;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL_FATAL(cg_store_open(&st, &cfg, &err), CG_OK);
    graph_init(g, tag);
    cg_store_submission sub = {.objects = g->objects, .nobjects = NOBJ};
    cg_store_conflicts c;
    CU_ASSERT_EQUAL_FATAL(cg_store_submit(st, &sub, &c, &err), CG_OK);
    cg_store_conflicts_dispose(&c);
    return st;
}

static int
exists(cg_store *st, const char *uuid)
{
    char *xml = NULL;
    cg_err err;
    cg_err_init(&err);
    int rc = cg_store_object_xml(st, uuid, &xml, NULL, &err);
    free(xml);
    CU_ASSERT(rc == CG_OK || rc == CG_ENOTFOUND);
    return rc == CG_OK;
}

static int
count_existing(cg_store *st, const graph *g)
{
    int n = 0;
    for (int i = 0; i < NOBJ; i++)
        n += exists(st, g->uuid[i]);
    return n;
}

/* Deletes the objects of g listed in which (NOBJ-terminated), plus extra when not NULL. */
static int
del(cg_store *st, const graph *g, const int *which, const char *extra, cg_store_conflicts *c,
    cg_err *err)
{
    const char *uuids[NOBJ + 2];
    size_t n = 0;
    for (const int *w = which; *w != NOBJ; w++)
        uuids[n++] = g->uuid[*w];
    if (extra)
        uuids[n++] = extra;
    cg_err_init(err);
    return cg_store_delete_objects(st, uuids, n, NULL, 0, c, err);
}

static const cg_store_conflict *
conflict_of(const cg_store_conflicts *c, cg_conflict_kind kind, const char *id)
{
    for (size_t i = 0; i < c->count; i++)
        if (c->items[i].kind == kind && strcmp(c->items[i].id, id) == 0)
            return &c->items[i];
    return NULL;
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

/* Rows of a table in the database file (read by a connection of its own). */
static int64_t
rows(const char *dir, const char *sql)
{
    char *path = cg_fs_join(dir, "registry.db");
    sqlite3 *db = NULL;
    int64_t n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *stmt = NULL;
        if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
            sqlite3_step(stmt) == SQLITE_ROW)
            n = sqlite3_column_int64(stmt, 0);
        sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
    free(path);
    CU_ASSERT(n >= 0);
    return n;
}

static void
test_missing_refuses_all(void)
{
    char *dir = cg_test_tmpdir();
    graph g;
    cg_store *st = open_with_graph(dir, &g, "m");
    cg_store_conflicts c;
    cg_err err;
    const int all[] = {SS, DE, FOL, A1, A2, A3, A4, NOBJ};
    CU_ASSERT_EQUAL(del(st, &g, all, "urn:uuid:not-registered", &c, &err), CG_EINVAL);
    CU_ASSERT_EQUAL(c.count, 1);
    CU_ASSERT_PTR_NOT_NULL(conflict_of(&c, CG_CONFLICT_MISSING, "urn:uuid:not-registered"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "urn:uuid:not-registered"));
    CU_ASSERT_EQUAL(count_existing(st, &g), NOBJ);
    cg_store_conflicts_dispose(&c);
    cg_store_free(st);
    free(dir);
}

static void
test_referenced_and_unreferenced(void)
{
    char *dir = cg_test_tmpdir();
    graph g;
    cg_store *st = open_with_graph(dir, &g, "r");
    cg_store_conflicts c;
    cg_err err;

    /* the SubmissionSet alone: three Associations that stay refer to it; one conflict names one */
    const int ss_only[] = {SS, NOBJ};
    CU_ASSERT_EQUAL(del(st, &g, ss_only, NULL, &c, &err), CG_EINVAL);
    CU_ASSERT_EQUAL(c.count, 1);
    const cg_store_conflict *x = conflict_of(&c, CG_CONFLICT_REFERENCED, g.uuid[SS]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    CU_ASSERT_EQUAL(x->existing_kind, CG_OBJ_SUBMISSION_SET);
    CU_ASSERT(strcmp(x->related, g.uuid[A1]) == 0 || strcmp(x->related, g.uuid[A2]) == 0 ||
              strcmp(x->related, g.uuid[A4]) == 0);
    cg_store_conflicts_dispose(&c);

    /* an Association another Association refers to (the SubmissionSet's hold on a3) */
    const int a3_only[] = {A3, NOBJ};
    CU_ASSERT_EQUAL(del(st, &g, a3_only, NULL, &c, &err), CG_EINVAL);
    x = conflict_of(&c, CG_CONFLICT_REFERENCED, g.uuid[A3]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    CU_ASSERT_STRING_EQUAL(x->related, g.uuid[A4]);
    cg_store_conflicts_dispose(&c);

    /* everything but the SubmissionSet: it would be left with no Association referring to it */
    const int but_ss[] = {DE, FOL, A1, A2, A3, A4, NOBJ};
    CU_ASSERT_EQUAL(del(st, &g, but_ss, NULL, &c, &err), CG_EINVAL);
    CU_ASSERT_EQUAL(c.count, 1);
    x = conflict_of(&c, CG_CONFLICT_UNREFERENCED, g.uuid[SS]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    CU_ASSERT_EQUAL(x->existing_kind, CG_OBJ_SUBMISSION_SET);
    cg_store_conflicts_dispose(&c);

    /* the DocumentEntry and its SubmissionSet membership: a3 still refers to it (referenced),
     * and nothing is left unreferenced (the Folder's hold stays) */
    const int de_a1[] = {DE, A1, NOBJ};
    CU_ASSERT_EQUAL(del(st, &g, de_a1, NULL, &c, &err), CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(conflict_of(&c, CG_CONFLICT_REFERENCED, g.uuid[DE]));
    CU_ASSERT_EQUAL(c.count, 1);
    cg_store_conflicts_dispose(&c);

    CU_ASSERT_EQUAL(count_existing(st, &g), NOBJ);
    cg_store_stats s = stats(st);
    CU_ASSERT_EQUAL(s.associations, 4);
    cg_store_conflicts_dispose(&c);
    cg_store_free(st);
    free(dir);
}

static void
test_delete_is_gone_from_every_table(void)
{
    char *dir = cg_test_tmpdir();
    graph g;
    cg_store *st = open_with_graph(dir, &g, "g");
    cg_store_conflicts c;
    cg_err err;

    /* the Folder membership and its hold: both ends stay referenced */
    const int membership[] = {A3, A4, NOBJ};
    CU_ASSERT_EQUAL(del(st, &g, membership, NULL, &c, &err), CG_OK);
    CU_ASSERT_EQUAL(c.count, 0);
    CU_ASSERT(!exists(st, g.uuid[A3]));
    CU_ASSERT(!exists(st, g.uuid[A4]));
    CU_ASSERT_EQUAL(count_existing(st, &g), NOBJ - 2);
    cg_store_stats s = stats(st);
    CU_ASSERT_EQUAL(s.associations, 2);
    CU_ASSERT_EQUAL(s.folders, 1);

    /* the rest, the DocumentEntry named twice */
    const int rest[] = {SS, DE, FOL, A1, A2, DE, NOBJ};
    CU_ASSERT_EQUAL(del(st, &g, rest, NULL, &c, &err), CG_OK);
    CU_ASSERT_EQUAL(count_existing(st, &g), 0);
    s = stats(st);
    CU_ASSERT_EQUAL(s.document_entries, 0);
    CU_ASSERT_EQUAL(s.submission_sets, 0);
    CU_ASSERT_EQUAL(s.folders, 0);
    CU_ASSERT_EQUAL(s.associations, 0);
    /* stored queries no longer see it, by code either */
    const char *codes[] = {"deleted-class-code"};
    cg_store_code_group grp = {"classCode", codes, NULL, 1};
    cg_store_filter f = {.codes = &grp, .ncodes = 1};
    cg_store_rows found = {0};
    CU_ASSERT_EQUAL(cg_store_find(st, &f, 0, 0, &found, &err), CG_OK);
    CU_ASSERT_EQUAL(found.count, 0);
    cg_store_rows_dispose(&found);
    /* deleting it again: missing */
    const int de_only[] = {DE, NOBJ};
    CU_ASSERT_EQUAL(del(st, &g, de_only, NULL, &c, &err), CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(conflict_of(&c, CG_CONFLICT_MISSING, g.uuid[DE]));
    cg_store_conflicts_dispose(&c);
    cg_store_free(st); /* the last connection checkpoints: the file is all there is */

    CU_ASSERT_EQUAL(rows(dir, "SELECT count(*) FROM objects"), 0);
    CU_ASSERT_EQUAL(rows(dir, "SELECT count(*) FROM object_xml"), 0);
    CU_ASSERT_EQUAL(rows(dir, "SELECT count(*) FROM codes"), 0);
    CU_ASSERT_EQUAL(rows(dir, "SELECT count(*) FROM author_persons"), 0);
    /* and their bytes are not left in free pages (secure_delete) */
    char *path = cg_fs_join(dir, "registry.db");
    char *bytes = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL_FATAL(cg_fs_read(&bytes, &len, path, 64 << 20, &err), CG_OK);
    const char *needles[] = {"xml-of-de-g", "deleted-class-code", "^Deleted^Author", g.de_uid,
                             g.uuid[SS]};
    for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++) {
        int seen = 0;
        size_t nl = strlen(needles[i]);
        for (size_t k = 0; k + nl <= len && !seen; k++)
            seen = memcmp(bytes + k, needles[i], nl) == 0;
        if (seen)
            fprintf(stderr, "\n%s is still in %s\n", needles[i], path);
        CU_ASSERT(!seen);
    }
    free(bytes);
    free(path);
    free(dir);
}

/* The Nth writer statement of the deletion fails, for every N: CG_EIO, and every object is still
 * there with its tallies; once N is past the last statement the deletion is whole. */
static void
test_fault_injection_every_step(void)
{
    char *dir = cg_test_tmpdir();
    graph g;
    cg_store *st = open_with_graph(dir, &g, "f");
    const int all[] = {SS, DE, FOL, A1, A2, A3, A4, NOBJ};
    cg_store_conflicts c;
    cg_err err;
    long n;
    int done = 0;
    for (n = 1; n < 200 && !done; n++) {
        cg_store_debug_fail_after(st, n);
        int rc = del(st, &g, all, NULL, &c, &err);
        cg_store_debug_fail_after(st, 0);
        if (rc == CG_OK) {
            done = 1;
            CU_ASSERT_EQUAL(count_existing(st, &g), 0);
        } else {
            CU_ASSERT_EQUAL(rc, CG_EIO);
            CU_ASSERT_EQUAL(c.count, 0);
            CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "disk I/O error"));
            CU_ASSERT_EQUAL(count_existing(st, &g), NOBJ);
            cg_store_stats s = stats(st);
            CU_ASSERT_EQUAL(s.associations, 4);
            CU_ASSERT_EQUAL(s.document_entries, 1);
        }
        cg_store_conflicts_dispose(&c);
    }
    CU_ASSERT(done);
    CU_ASSERT(n > 30); /* lookups, checks, four deletes per object, tallies, commit */
    cg_store_free(st);
    free(dir);
}

void
cg_test_register_store_delete(void)
{
    CU_pSuite s = CU_add_suite("store/delete", NULL, NULL);
    CU_add_test(s, "an entryUUID naming nothing refuses the whole deletion",
                test_missing_refuses_all);
    CU_add_test(s, "referred to by an Association that stays, or left unreferenced: refused",
                test_referenced_and_unreferenced);
    CU_add_test(s, "deleted objects are gone from every table and from the file's bytes",
                test_delete_is_gone_from_every_table);
    CU_add_test(s, "an I/O error at any writer step undoes the whole deletion",
                test_fault_injection_every_step);
}
