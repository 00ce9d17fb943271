/* sqlite: the SQLite backend of the store (see store.h, backend.h); all of the store's SQL.
 * Owns: DATA_DIR/registry.db (WAL, synchronous=FULL, foreign keys), its schema and migrations,
 * the writer connection with its cached statements, and a pool of read-only connections.
 * Does not own: the group-commit queue and writer thread (store.c), XDS rules (registry).
 *
 * One database holds metadata and document bytes, so a submission is one transaction. The writer
 * connection is used only by the store's writer thread (and by cg_store_open/free before and
 * after it runs); each read takes a connection of its own from the pool, so with WAL readers
 * never wait for the writer. Every value goes through a bound parameter of a prepared
 * statement; the only SQL run by sqlite3_exec is the fixed text of this file. */
#define _POSIX_C_SOURCE 200809L
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "store/backend.h"
#include "store/sqlite_int.h"
#include "util/alloc.h"
#include "util/fs.h"

#define APPLICATION_ID 1667522919 /* 0x63646167, "cdag" in the database header: ours */
#define STR_(x) #x
#define STR(x) STR_(x)
#define CHECKPOINT_FRAMES 4000 /* checkpoint between batches once the WAL holds this many (64 MB of
                                 * 16 KiB pages: an index page written by many batches is copied
                                 * to the database once) */

/* ---- schema ---------------------------------------------------------------------------------
 * Migrations run in order at open, all in one transaction; PRAGMA user_version is the schema
 * version (each migration sets it). Append new migrations; never edit one that has shipped.
 *
 * objects: one row per registry object (every kind), the columns stored queries select and
 *   filter on. The XML lives apart in object_xml so that objects stays dense: scanning a
 *   patient's rows never reads XML pages. Rows are joined by integer rowid (objects.id).
 * Times: each DTM column keeps the value as given (creation_time ...) and beside it its
 *   sortable key (creation_key ...): YYYYMMDDhhmmss as an INTEGER with absent trailing parts
 *   zero, see cg_store_dtm_key. NULL when absent or not a well-formed DTM.
 * codes: one row per coded value (classCode, eventCodeList ...); the (attr, code, scheme)
 *   index finds objects by code, the primary key answers "has object X this code".
 * author_persons: authorPerson values of DocumentEntries (and SubmissionSets).
 * documents: repository content, bytes in the same database as the metadata. From version 2
 *   a document is committed (state 0: retrievable) or pending (state 1: stored while a remote
 *   registry decides on its metadata; invisible to reads, its uniqueId taken, pending_since in
 *   Unix seconds and pending_owner naming the attempt, both NULL once committed).
 * patients: the ids the registry knows; from version 3 merged_into names the surviving id a
 *   subsumed one was merged into (ITI-8 A40; one level: never an id that is merged itself).
 * tallies: counts per kind kept in the writing transaction, so stats never counts rows.
 * meta: a few facts about the database itself. */
/* clang-format off */
static const char *const migrations[] = {
    /* 1 */
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL"
    ") WITHOUT ROWID;"
    "INSERT INTO meta (key, value) VALUES"
    "  ('created_at', strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),"
    "  ('created_by', 'cdagate');"
    "CREATE TABLE objects ("
    "  id INTEGER PRIMARY KEY,"
    "  kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 4),"
    "  uuid TEXT NOT NULL UNIQUE,"
    "  lid TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  status TEXT,"
    "  patient_id TEXT,"
    "  unique_id TEXT,"
    "  object_type TEXT,"
    "  mime_type TEXT,"
    "  hash TEXT,"
    "  size INTEGER,"
    "  repository_id TEXT,"
    "  creation_time TEXT, creation_key INTEGER,"
    "  service_start TEXT, service_start_key INTEGER,"
    "  service_stop TEXT, service_stop_key INTEGER,"
    "  submission_time TEXT, submission_key INTEGER,"
    "  source_id TEXT,"
    "  last_update_time TEXT, last_update_key INTEGER,"
    "  assoc_type TEXT,"
    "  source TEXT,"
    "  target TEXT"
    ");"
    /* FindDocuments / FindSubmissionSets / FindFolders: a patient's objects of one kind and
     * status, with creationTime ranges answered from the index too. Every ITI-18 find query
     * names a patient, so the time keys need no index of their own for it. */
    "CREATE INDEX objects_patient ON objects (patient_id, kind, status, creation_key)"
    "  WHERE patient_id IS NOT NULL;"
    "CREATE INDEX objects_unique_id ON objects (unique_id) WHERE unique_id IS NOT NULL;"
    "CREATE INDEX objects_lid ON objects (lid, version);"
    "CREATE INDEX objects_source ON objects (source, assoc_type) WHERE source IS NOT NULL;"
    "CREATE INDEX objects_target ON objects (target, assoc_type) WHERE target IS NOT NULL;"
    "CREATE INDEX objects_submission_time ON objects (submission_key)"
    "  WHERE submission_key IS NOT NULL;"
    "CREATE TABLE object_xml ("
    "  object_id INTEGER PRIMARY KEY REFERENCES objects (id),"
    "  xml TEXT NOT NULL"
    ");"
    "CREATE TABLE codes ("
    "  object_id INTEGER NOT NULL REFERENCES objects (id),"
    "  attr TEXT NOT NULL,"
    "  code TEXT NOT NULL,"
    "  scheme TEXT NOT NULL,"
    "  PRIMARY KEY (object_id, attr, code, scheme)"
    ") WITHOUT ROWID;"
    "CREATE INDEX codes_value ON codes (attr, code, scheme);"
    "CREATE TABLE author_persons ("
    "  object_id INTEGER NOT NULL REFERENCES objects (id),"
    "  person TEXT NOT NULL,"
    "  PRIMARY KEY (object_id, person)"
    ") WITHOUT ROWID;"
    "CREATE TABLE documents ("
    "  id INTEGER PRIMARY KEY,"
    "  repository_id TEXT NOT NULL,"
    "  unique_id TEXT NOT NULL,"
    "  mime_type TEXT NOT NULL,"
    "  hash TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  content BLOB NOT NULL,"
    "  UNIQUE (repository_id, unique_id)"
    ");"
    "CREATE TABLE patients ("
    "  id INTEGER PRIMARY KEY,"
    "  patient_id TEXT NOT NULL UNIQUE,"
    "  added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))"
    ");"
    "CREATE TABLE tallies ("
    "  name TEXT PRIMARY KEY,"
    "  n INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "INSERT INTO tallies (name, n) VALUES ('DocumentEntry', 0), ('SubmissionSet', 0),"
    "  ('Folder', 0), ('Association', 0), ('document', 0), ('patient', 0);"
    "PRAGMA application_id = " STR(APPLICATION_ID) ";"
    "PRAGMA user_version = 1;",
    /* 2: pending repository documents (ITI-41 forwarded to a remote registry). Existing rows
     * are committed documents: the default. */
    "ALTER TABLE documents ADD COLUMN state INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 1));"
    "ALTER TABLE documents ADD COLUMN pending_since INTEGER;"
    "ALTER TABLE documents ADD COLUMN pending_owner TEXT;"
    "CREATE INDEX documents_pending ON documents (pending_since) WHERE state = 1;"
    "PRAGMA user_version = 2;",
    /* 3: patient merges (ITI-8 A40): a subsumed id names the id it was merged into. */
    "ALTER TABLE patients ADD COLUMN merged_into TEXT;"
    "ALTER TABLE patients ADD COLUMN merged_at TEXT;"
    "CREATE INDEX patients_merged ON patients (merged_into) WHERE merged_into IS NOT NULL;"
    "PRAGMA user_version = 3;",
};
/* clang-format on */
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* tallies rows, indexed by cg_obj_kind; then the documents and patients rows */
enum { TALLY_DOCUMENTS = 5, TALLY_PATIENTS = 6, TALLY_COUNT = 7 };
static const char *const tally_names[TALLY_COUNT] = {
    NULL, "DocumentEntry", "SubmissionSet", "Folder", "Association", "document", "patient"};

/* ---- statements ------------------------------------------------------------------------------ */
enum {
    W_BEGIN,
    W_COMMIT,
    W_ROLLBACK,
    W_SAVEPOINT,
    W_RELEASE,
    W_ROLLBACK_TO,
    W_FIND_UUID,
    W_FIND_UNIQUE_ID,
    W_FIND_DOCUMENT,
    W_INSERT_OBJECT,
    W_INSERT_XML,
    W_INSERT_CODE,
    W_INSERT_AUTHOR,
    W_INSERT_DOCUMENT,
    W_DELETE_STALE,
    W_COMMIT_DOCUMENT,
    W_DISCARD_DOCUMENT,
    W_REMOVE_DOCUMENT,
    W_PURGE_PENDING,
    W_INSERT_PATIENT,
    W_PATIENT_STATE,
    W_MERGE_PATIENT,
    W_REPOINT_MERGED,
    W_TALLY,
    W_SET_STATUS,
    W_SET_XML,
    W_DEL_LOOKUP,
    W_DEL_REFERRERS,
    W_DEL_CODES,
    W_DEL_AUTHORS,
    W_DEL_XML,
    W_DEL_OBJECT,
    W_SET_LAST_UPDATE,
    W_COUNT
};

static const struct {
    const char *name; /* what error messages call it */
    const char *sql;
} wsql[W_COUNT] = {
    [W_BEGIN] = {"begin", "BEGIN IMMEDIATE"},
    [W_COMMIT] = {"commit", "COMMIT"},
    [W_ROLLBACK] = {"rollback", "ROLLBACK"},
    [W_SAVEPOINT] = {"savepoint", "SAVEPOINT submission"},
    [W_RELEASE] = {"release", "RELEASE submission"},
    [W_ROLLBACK_TO] = {"rollback_to", "ROLLBACK TO submission"},
    [W_FIND_UUID] = {"find_uuid", "SELECT kind FROM objects WHERE uuid = ?1"},
    /* a new version of the same logical object (same lid) may keep the uniqueId */
    [W_FIND_UNIQUE_ID] = {"find_unique_id",
                          "SELECT kind, hash FROM objects WHERE unique_id = ?1 AND lid <> ?2 "
                          "LIMIT 1"},
    [W_FIND_DOCUMENT] = {"find_document",
                         "SELECT hash, state, pending_since, pending_owner FROM documents "
                         "WHERE repository_id = ?1 AND unique_id = ?2"},
    [W_INSERT_OBJECT] = {"insert_object",
                         "INSERT INTO objects (kind, uuid, lid, version, status, patient_id, "
                         "unique_id, object_type, mime_type, hash, size, repository_id, "
                         "creation_time, creation_key, service_start, service_start_key, "
                         "service_stop, service_stop_key, submission_time, submission_key, "
                         "source_id, last_update_time, last_update_key, assoc_type, source, "
                         "target) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                         "?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)"},
    [W_INSERT_XML] = {"insert_xml", "INSERT INTO object_xml (object_id, xml) VALUES (?1, ?2)"},
    [W_INSERT_CODE] = {"insert_code",
                       "INSERT INTO codes (object_id, attr, code, scheme) VALUES (?1, ?2, ?3, ?4) "
                       "ON CONFLICT DO NOTHING"},
    [W_INSERT_AUTHOR] = {"insert_author",
                         "INSERT INTO author_persons (object_id, person) VALUES (?1, ?2) "
                         "ON CONFLICT DO NOTHING"},
    [W_INSERT_DOCUMENT] = {"insert_document",
                           "INSERT INTO documents (repository_id, unique_id, mime_type, hash, "
                           "size, content, state, pending_since, pending_owner) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"},
    [W_DELETE_STALE] = {"delete_stale", "DELETE FROM documents WHERE repository_id = ?1 AND "
                                        "unique_id = ?2 AND state = 1 AND pending_since < ?3"},
    [W_COMMIT_DOCUMENT] = {"commit_document",
                           "UPDATE documents SET state = 0, pending_since = NULL, "
                           "pending_owner = NULL WHERE repository_id = ?1 AND unique_id = ?2 "
                           "AND state = 1 AND pending_owner = ?3"},
    [W_DISCARD_DOCUMENT] = {"discard_document",
                            "DELETE FROM documents WHERE repository_id = ?1 AND unique_id = ?2 "
                            "AND state = 1 AND pending_owner = ?3"},
    [W_REMOVE_DOCUMENT] = {"remove_document",
                           "DELETE FROM documents WHERE repository_id = ?1 AND unique_id = ?2 "
                           "AND state = 0"},
    [W_PURGE_PENDING] = {"purge_pending",
                         "DELETE FROM documents WHERE state = 1 AND pending_since < ?1"},
    [W_INSERT_PATIENT] = {"insert_patient", "INSERT INTO patients (patient_id) VALUES (?1) "
                                            "ON CONFLICT (patient_id) DO NOTHING"},
    [W_PATIENT_STATE] = {"patient_state", "SELECT merged_into FROM patients WHERE patient_id = ?1"},
    [W_MERGE_PATIENT] = {"merge_patient",
                         "UPDATE patients SET merged_into = ?1, "
                         "merged_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE patient_id = ?2"},
    [W_REPOINT_MERGED] = {"repoint_merged",
                          "UPDATE patients SET merged_into = ?1 WHERE merged_into = ?2"},
    [W_TALLY] = {"tally", "UPDATE tallies SET n = n + ?2 WHERE name = ?1"},
    [W_SET_STATUS] = {"set_status",
                      "UPDATE objects SET status = ?3 WHERE uuid = ?1 AND status = ?2 RETURNING id"},
    [W_SET_XML] = {"set_xml", "UPDATE object_xml SET xml = ?2 WHERE object_id = ?1"},
    /* ITI-62: an object to delete, the Associations referring to one (by the source and target
     * indexes), and its rows, children first (foreign keys) */
    [W_DEL_LOOKUP] = {"del_lookup", "SELECT id, kind, source, target FROM objects WHERE uuid = ?1"},
    [W_DEL_REFERRERS] = {"del_referrers", "SELECT uuid FROM objects WHERE source = ?1 "
                                          "UNION SELECT uuid FROM objects WHERE target = ?1"},
    [W_DEL_CODES] = {"del_codes", "DELETE FROM codes WHERE object_id = ?1"},
    [W_DEL_AUTHORS] = {"del_authors", "DELETE FROM author_persons WHERE object_id = ?1"},
    [W_DEL_XML] = {"del_xml", "DELETE FROM object_xml WHERE object_id = ?1"},
    [W_DEL_OBJECT] = {"del_object", "DELETE FROM objects WHERE id = ?1"},
    [W_SET_LAST_UPDATE] = {"set_last_update",
                           "UPDATE objects SET last_update_time = ?2, last_update_key = ?3 "
                           "WHERE uuid = ?1 AND kind = 3 RETURNING id"},
};

enum { R_DOCUMENT, R_OBJECT_XML, R_PATIENT_KNOWN, R_PATIENT_LIST, R_TALLIES, R_PENDING,
       R_PATIENT_LOOKUP, R_PATIENT_MERGES, R_PATIENT_FAMILY, R_BEGIN, R_COMMIT, R_COUNT };

static const struct {
    const char *name;
    const char *sql;
} rsql[R_COUNT] = {
    [R_DOCUMENT] = {"document_get", "SELECT mime_type, hash, content FROM documents "
                                    "WHERE repository_id = ?1 AND unique_id = ?2 AND state = 0"},
    [R_OBJECT_XML] = {"object_xml",
                      "SELECT x.xml FROM objects o JOIN object_xml x ON x.object_id = o.id "
                      "WHERE o.uuid = ?1"},
    /* a merged (subsumed) id is no longer an identity submissions may use */
    [R_PATIENT_KNOWN] = {"patient_known", "SELECT 1 FROM patients WHERE patient_id = ?1 "
                                          "AND merged_into IS NULL"},
    [R_PATIENT_LIST] = {"patient_list",
                        "SELECT patient_id, added_at FROM patients ORDER BY patient_id"},
    [R_TALLIES] = {"stats", "SELECT name, n FROM tallies"},
    [R_PENDING] = {"pending_count", "SELECT count(*) FROM documents WHERE state = 1"},
    [R_PATIENT_LOOKUP] = {"patient_lookup",
                          "SELECT merged_into FROM patients WHERE patient_id = ?1"},
    [R_PATIENT_MERGES] = {"patient_merges",
                          /* by the partial index: the merged ids only, not every patient
                           * (the planner would rather walk the whole table in id order) */
                          "SELECT patient_id, merged_into, merged_at FROM patients "
                          "INDEXED BY patients_merged WHERE merged_into IS NOT NULL "
                          "ORDER BY patient_id"},
    /* the id ?1 stands for now (1), then the ids merged into that one (0): the primary key,
     * then the partial index */
    [R_PATIENT_FAMILY] = {"patient_family",
                          "WITH now(id) AS (SELECT coalesce((SELECT merged_into FROM patients "
                          "WHERE patient_id = ?1), ?1)) "
                          "SELECT id, 1 FROM now UNION ALL "
                          "SELECT p.patient_id, 0 FROM patients p, now WHERE p.merged_into = now.id"},
    /* a thread's reads as one (sq_read_begin) */
    [R_BEGIN] = {"read_begin", "BEGIN"},
    [R_COMMIT] = {"read_end", "COMMIT"},
};

/* Statements of variable SQL (stored queries) a read connection keeps, least recently used
 * replaced; SQL longer than STMT_CACHE_SQL_MAX (long value lists) is prepared each time. */
#define STMT_CACHE 24
#define STMT_CACHE_SQL_MAX 4096

typedef struct cached_stmt {
    char *sql;
    sqlite3_stmt *st;
    uint64_t used; /* the reader's tick when last lent; 0: empty slot */
    int busy;
} cached_stmt;

typedef struct reader {
    struct reader *next;
    sqlite3 *db;
    sqlite3_stmt *st[R_COUNT];
    cached_stmt cache[STMT_CACHE];
    uint64_t tick;
} reader;

typedef struct sq_store {
    char *path;
    int busy_timeout_ms;
    int version;               /* schema version after the migrations */
    int64_t pending_max_age_s; /* 0: pending documents are never stale */
    int64_t purged;            /* stale pending documents deleted at open */
    sqlite3 *wdb;
    sqlite3_stmt *wst[W_COUNT];
    atomic_long fail_after;
    int wal_frames; /* writer thread only (set by the WAL hook during COMMIT) */
    int64_t tally[TALLY_COUNT]; /* writer: the batch's new rows, counted once before COMMIT */
    pthread_mutex_t rlock;
    reader *idle;
    unsigned nidle, readers;
} sq_store;

/* ---- helpers --------------------------------------------------------------------------------- */

static void
copy_bounded(char *dst, size_t size, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= size)
        n = size - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Which CG code an SQLite failure of one statement is: a refused value concerns that job alone;
 * anything else (I/O, full disk, corruption, lock timeout) ends the transaction. */
static int
code_of(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE: return CG_EINVAL;
    case SQLITE_TOOBIG: return CG_ETOOBIG;
    default: return CG_EIO;
    }
}

/* Binding: the first failure is kept and reported when the statement would run. */
typedef struct binder {
    sqlite3_stmt *st;
    int rc;
} binder;

static void
b_text(binder *b, int i, const char *s)
{
    int rc = s ? sqlite3_bind_text(b->st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(b->st, i);
    if (b->rc == SQLITE_OK)
        b->rc = rc;
}

static void
b_int(binder *b, int i, int64_t v)
{
    int rc = sqlite3_bind_int64(b->st, i, v);
    if (b->rc == SQLITE_OK)
        b->rc = rc;
}

static void
b_null(binder *b, int i)
{
    int rc = sqlite3_bind_null(b->st, i);
    if (b->rc == SQLITE_OK)
        b->rc = rc;
}

/* A DTM as given (parameter i) and its sortable key (parameter i + 1). */
static void
b_dtm(binder *b, int i, const char *dtm)
{
    int64_t key;
    b_text(b, i, dtm);
    if (cg_store_dtm_key(dtm, &key))
        b_int(b, i + 1, key);
    else
        b_null(b, i + 1);
}

static int
sq_prepare(sqlite3 *db, const char *name, const char *sql, sqlite3_stmt **out, cg_err *err)
{
    int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
    if (rc != SQLITE_OK)
        return cg_err_set(err, CG_EIO, "sqlite3_prepare_v3(%s): %s", name, sqlite3_errmsg(db));
    return CG_OK;
}

/* ---- the writer connection ------------------------------------------------------------------- */

/* Binding failed for statement id: CG code, message set. */
static int
w_bindfail(sq_store *s, int id, int rc, cg_err *err)
{
    sqlite3_reset(s->wst[id]);
    return cg_err_set(err, code_of(rc), "sqlite3_bind(%s): %s", wsql[id].name, sqlite3_errstr(rc));
}

/* Steps writer statement id: SQLITE_ROW (the caller reads, then resets), SQLITE_DONE (reset
 * already), or a negative CG code with the message set. Honours cg_store_debug_fail_after. */
static int
w_step(sq_store *s, int id, cg_err *err)
{
    sqlite3_stmt *st = s->wst[id];
    if (atomic_load(&s->fail_after) > 0 && atomic_fetch_sub(&s->fail_after, 1) == 1) {
        sqlite3_reset(st);
        return cg_err_set(err, CG_EIO, "sqlite3_step(%s): %s", wsql[id].name,
                          sqlite3_errstr(SQLITE_IOERR));
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return rc;
    if (rc == SQLITE_DONE) {
        sqlite3_reset(st);
        return rc;
    }
    cg_err_set(err, code_of(rc), "sqlite3_step(%s): %s", wsql[id].name, sqlite3_errmsg(s->wdb));
    sqlite3_reset(st);
    return code_of(rc);
}

/* Runs a statement that returns no row. */
static int
w_exec(sq_store *s, int id, cg_err *err)
{
    int rc = w_step(s, id, err);
    if (rc == SQLITE_ROW) {
        sqlite3_reset(s->wst[id]);
        return CG_OK;
    }
    return rc == SQLITE_DONE ? CG_OK : rc;
}

static cg_store_conflict *
add_conflict(cg_store_conflicts *c, size_t *cap, cg_conflict_kind kind, const char *id,
             int existing_kind, const char *existing_hash)
{
    c->items = cg_xgrow(c->items, cap, c->count + 1, sizeof(*c->items));
    cg_store_conflict *x = &c->items[c->count++];
    memset(x, 0, sizeof(*x));
    x->kind = kind;
    copy_bounded(x->id, sizeof x->id, id);
    x->existing_kind = (cg_obj_kind)existing_kind;
    copy_bounded(x->existing_hash, sizeof x->existing_hash, existing_hash);
    return x;
}

static int
has_unique_id_conflict(const cg_store_conflicts *c, const char *unique_id)
{
    for (size_t i = 0; i < c->count; i++)
        if (c->items[i].kind == CG_CONFLICT_UNIQUE_ID && strcmp(c->items[i].id, unique_id) == 0)
            return 1;
    return 0;
}

/* The kind of the object registered under uuid: > 0 found, 0 none, < 0 a CG error. */
static int
find_uuid(sq_store *s, const char *uuid, cg_err *err)
{
    binder b = {s->wst[W_FIND_UUID], SQLITE_OK};
    b_text(&b, 1, uuid);
    if (b.rc != SQLITE_OK)
        return w_bindfail(s, W_FIND_UUID, b.rc, err);
    int rc = w_step(s, W_FIND_UUID, err);
    if (rc == SQLITE_ROW) {
        int kind = sqlite3_column_int(s->wst[W_FIND_UUID], 0);
        sqlite3_reset(s->wst[W_FIND_UUID]);
        return kind > 0 ? kind : 1;
    }
    return rc == SQLITE_DONE ? 0 : rc;
}

static int
insert_object(sq_store *s, const cg_store_object *o, cg_err *err)
{
    int rc;
    const char *lid = o->lid ? o->lid : o->uuid;
    binder b = {s->wst[W_INSERT_OBJECT], SQLITE_OK};
    b_int(&b, 1, o->kind);
    b_text(&b, 2, o->uuid);
    b_text(&b, 3, lid);
    b_int(&b, 4, o->version > 0 ? o->version : 1);
    b_text(&b, 5, o->status);
    b_text(&b, 6, o->patient_id);
    b_text(&b, 7, o->unique_id);
    b_text(&b, 8, o->object_type);
    b_text(&b, 9, o->mime_type);
    b_text(&b, 10, o->hash);
    if (o->kind == CG_OBJ_DOCUMENT_ENTRY && o->size >= 0)
        b_int(&b, 11, o->size);
    else
        b_null(&b, 11);
    b_text(&b, 12, o->repository_id);
    b_dtm(&b, 13, o->creation_time);
    b_dtm(&b, 15, o->service_start);
    b_dtm(&b, 17, o->service_stop);
    b_dtm(&b, 19, o->submission_time);
    b_text(&b, 21, o->source_id);
    b_dtm(&b, 22, o->last_update_time);
    b_text(&b, 24, o->assoc_type);
    b_text(&b, 25, o->source);
    b_text(&b, 26, o->target);
    if (b.rc != SQLITE_OK)
        return w_bindfail(s, W_INSERT_OBJECT, b.rc, err);
    if ((rc = w_exec(s, W_INSERT_OBJECT, err)) != CG_OK)
        return rc;
    sqlite3_int64 id = sqlite3_last_insert_rowid(s->wdb);

    b = (binder){s->wst[W_INSERT_XML], SQLITE_OK};
    b_int(&b, 1, id);
    if (b.rc == SQLITE_OK)
        b.rc = sqlite3_bind_text64(b.st, 2, o->xml, o->xml_len, SQLITE_STATIC, SQLITE_UTF8);
    if (b.rc != SQLITE_OK)
        return w_bindfail(s, W_INSERT_XML, b.rc, err);
    if ((rc = w_exec(s, W_INSERT_XML, err)) != CG_OK)
        return rc;

    for (size_t i = 0; i < o->ncodes; i++) {
        const cg_store_code *c = &o->codes[i];
        assert(c->attr && c->code);
        b = (binder){s->wst[W_INSERT_CODE], SQLITE_OK};
        b_int(&b, 1, id);
        b_text(&b, 2, c->attr);
        b_text(&b, 3, c->code);
        b_text(&b, 4, c->scheme ? c->scheme : "");
        if (b.rc != SQLITE_OK)
            return w_bindfail(s, W_INSERT_CODE, b.rc, err);
        if ((rc = w_exec(s, W_INSERT_CODE, err)) != CG_OK)
            return rc;
    }
    for (size_t i = 0; i < o->nauthor_persons; i++) {
        assert(o->author_persons[i]);
        b = (binder){s->wst[W_INSERT_AUTHOR], SQLITE_OK};
        b_int(&b, 1, id);
        b_text(&b, 2, o->author_persons[i]);
        if (b.rc != SQLITE_OK)
            return w_bindfail(s, W_INSERT_AUTHOR, b.rc, err);
        if ((rc = w_exec(s, W_INSERT_AUTHOR, err)) != CG_OK)
            return rc;
    }
    return CG_OK;
}

/* A DocumentEntry whose uniqueId is registered by another DocumentEntry with the same hash is
 * the same document submitted again (ITI TF-3 4.2.1.4: only a different hash is an error,
 * XDSNonIdenticalHash); a registry keeps both entries. */
static int
resubmission(const cg_store_object *o, int existing_kind, const char *existing_hash)
{
    return o->kind == CG_OBJ_DOCUMENT_ENTRY && existing_kind == CG_OBJ_DOCUMENT_ENTRY && o->hash &&
           existing_hash && strcasecmp(o->hash, existing_hash) == 0;
}

/* Checks and inserts one object: CG_OK (inserted or a conflict recorded) or a CG error. */
static int
put_object(sq_store *s, const cg_store_object *o, cg_store_conflicts *conflicts, size_t *cap,
           int64_t *tally, cg_err *err)
{
    assert(o->kind >= CG_OBJ_DOCUMENT_ENTRY && o->kind <= CG_OBJ_ASSOCIATION);
    assert(o->uuid && o->xml);
    int refused = 0;
    int kind = find_uuid(s, o->uuid, err);
    if (kind < 0)
        return kind;
    if (kind > 0) {
        add_conflict(conflicts, cap, CG_CONFLICT_UUID, o->uuid, kind, NULL);
        refused = 1;
    }
    if (o->unique_id) {
        sqlite3_stmt *st = s->wst[W_FIND_UNIQUE_ID];
        binder b = {st, SQLITE_OK};
        b_text(&b, 1, o->unique_id);
        b_text(&b, 2, o->lid ? o->lid : o->uuid);
        if (b.rc != SQLITE_OK)
            return w_bindfail(s, W_FIND_UNIQUE_ID, b.rc, err);
        int rc = w_step(s, W_FIND_UNIQUE_ID, err);
        if (rc == SQLITE_ROW && resubmission(o, sqlite3_column_int(st, 0),
                                             (const char *)sqlite3_column_text(st, 1))) {
            sqlite3_reset(st); /* the same document again, in a new DocumentEntry: accepted */
        } else if (rc == SQLITE_ROW) {
            int existing = sqlite3_column_int(st, 0);
            add_conflict(conflicts, cap, CG_CONFLICT_UNIQUE_ID, o->unique_id, existing,
                         existing == CG_OBJ_DOCUMENT_ENTRY
                             ? (const char *)sqlite3_column_text(st, 1)
                             : NULL);
            sqlite3_reset(st);
            refused = 1;
        } else if (rc != SQLITE_DONE) {
            return rc;
        }
    }
    if (refused)
        return CG_OK; /* insert nothing more of it; the savepoint is rolled back anyway */
    int rc = insert_object(s, o, err);
    if (rc == CG_OK)
        tally[o->kind]++;
    return rc;
}

/* Whether a document's uniqueId is free in its repository: 0 free (a stale pending document
 * in the way was deleted), 1 taken (a conflict recorded, unless its DocumentEntry's already is),
 * 2 the same bytes are stored already (a submission's resubmitted document: nothing to store),
 * < 0 a CG error. owner: the attempt putting pending documents, NULL for a submission. */
static int
document_slot(sq_store *s, const cg_store_document *d, const char *owner,
              cg_store_conflicts *conflicts, size_t *cap, int64_t now, cg_err *err)
{
    sqlite3_stmt *st = s->wst[W_FIND_DOCUMENT];
    binder b = {st, SQLITE_OK};
    b_text(&b, 1, d->repository_id);
    b_text(&b, 2, d->unique_id);
    if (b.rc != SQLITE_OK)
        return w_bindfail(s, W_FIND_DOCUMENT, b.rc, err);
    int rc = w_step(s, W_FIND_DOCUMENT, err);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return rc;
    int pending = sqlite3_column_int(st, 1) == 1;
    int64_t since = sqlite3_column_int64(st, 2);
    const char *holder = (const char *)sqlite3_column_text(st, 3);
    int same_owner = pending && owner && holder && strcmp(owner, holder) == 0;
    const char *stored_hash = (const char *)sqlite3_column_text(st, 0);
    if (!pending && owner == NULL && stored_hash && strcasecmp(stored_hash, d->hash) == 0) {
        sqlite3_reset(st);
        return 2;
    }
    if (pending && !same_owner && s->pending_max_age_s > 0 && since < now - s->pending_max_age_s) {
        /* left by an attempt that never finished (a crash): it gives way */
        sqlite3_reset(st);
        b = (binder){s->wst[W_DELETE_STALE], SQLITE_OK};
        b_text(&b, 1, d->repository_id);
        b_text(&b, 2, d->unique_id);
        b_int(&b, 3, now - s->pending_max_age_s);
        if (b.rc != SQLITE_OK)
            return w_bindfail(s, W_DELETE_STALE, b.rc, err);
        rc = w_exec(s, W_DELETE_STALE, err);
        return rc == CG_OK ? 0 : rc;
    }
    /* the bytes of a registered (or pending) document: name it as its DocumentEntry's
     * conflict; the same uniqueId twice in one attempt is a plain duplicate */
    if (!has_unique_id_conflict(conflicts, d->unique_id)) {
        cg_store_conflict *c =
            add_conflict(conflicts, cap, CG_CONFLICT_UNIQUE_ID, d->unique_id, CG_OBJ_DOCUMENT_ENTRY,
                         (const char *)sqlite3_column_text(st, 0));
        c->pending = pending && !same_owner;
    }
    sqlite3_reset(st);
    return 1;
}

/* Inserts a document: committed (owner NULL) or pending under owner since now. */
static int
insert_document(sq_store *s, const cg_store_document *d, const char *owner, int64_t now,
                cg_err *err)
{
    binder b = {s->wst[W_INSERT_DOCUMENT], SQLITE_OK};
    b_text(&b, 1, d->repository_id);
    b_text(&b, 2, d->unique_id);
    b_text(&b, 3, d->mime_type);
    b_text(&b, 4, d->hash);
    b_int(&b, 5, (int64_t)d->len);
    if (b.rc == SQLITE_OK)
        b.rc = d->len ? sqlite3_bind_blob64(b.st, 6, d->data, d->len, SQLITE_STATIC)
                      : sqlite3_bind_zeroblob(b.st, 6, 0);
    b_int(&b, 7, owner ? 1 : 0);
    if (owner)
        b_int(&b, 8, now);
    else
        b_null(&b, 8);
    b_text(&b, 9, owner);
    if (b.rc != SQLITE_OK)
        return w_bindfail(s, W_INSERT_DOCUMENT, b.rc, err);
    return w_exec(s, W_INSERT_DOCUMENT, err);
}

static int
put_document(sq_store *s, const cg_store_document *d, cg_store_conflicts *conflicts, size_t *cap,
             int64_t *tally, cg_err *err)
{
    assert(d->repository_id && d->unique_id && d->mime_type && d->hash);
    assert(d->len == 0 || d->data);
    int rc = document_slot(s, d, NULL, conflicts, cap, (int64_t)time(NULL), err);
    if (rc != 0)
        return rc < 0 ? rc : CG_OK; /* taken (a conflict) or stored already (nothing to do) */
    if ((rc = insert_document(s, d, NULL, 0, err)) != CG_OK)
        return rc;
    tally[TALLY_DOCUMENTS]++;
    return CG_OK;
}

/* Counts a job's new rows into its batch's tallies: written by one statement per tally at the
 * batch's COMMIT (write_tallies), not by several per job. A job adds them only once it cannot
 * be refused any more; a batch that fails is rolled back whole, its tallies with it. */
static void
add_tallies(sq_store *s, const int64_t *tally)
{
    for (int i = 1; i < TALLY_COUNT; i++)
        s->tally[i] += tally[i];
}

static int
write_tallies(sq_store *s, cg_err *err)
{
    for (int i = 1; i < TALLY_COUNT; i++) {
        if (s->tally[i] == 0)
            continue;
        binder b = {s->wst[W_TALLY], SQLITE_OK};
        b_text(&b, 1, tally_names[i]);
        b_int(&b, 2, s->tally[i]);
        if (b.rc != SQLITE_OK)
            return w_bindfail(s, W_TALLY, b.rc, err);
        int rc = w_exec(s, W_TALLY, err);
        if (rc != CG_OK)
            return rc;
    }
    return CG_OK;
}

/* A registered object's status (and its XML) changed, if it is still in status `from`. */
static int
change_status(sq_store *s, const cg_store_status_change *c, cg_store_conflicts *conflicts,
              size_t *cap, cg_err *err)
{
    assert(c->uuid && c->from && c->to && c->xml);
    sqlite3_stmt *st = s->wst[W_SET_STATUS];
    binder b = {st, SQLITE_OK};
    b_text(&b, 1, c->uuid);
    b_text(&b, 2, c->from);
    b_text(&b, 3, c->to);
    if (b.rc != SQLITE_OK)
        return w_bindfail(s, W_SET_STATUS, b.rc, err);
    int rc = w_step(s, W_SET_STATUS, err);
    if (rc == SQLITE_DONE) {
        add_conflict(conflicts, cap, CG_CONFLICT_STATUS, c->uuid, 0, NULL);
        return CG_OK;
    }
    if (rc != SQLITE_ROW)
        return rc;
    sqlite3_int64 id = sqlite3_column_int64(st, 0);
    /* RETURNING: the update completes at the statement's last step; uuid is unique */
    if ((rc = w_step(s, W_SET_STATUS, err)) == SQLITE_ROW) {
        sqlite3_reset(st);
        return cg_err_set(err, CG_EIO, "sqlite3_step(set_status): more than one %s", c->uuid);
    }
    if (rc != SQLITE_DONE)
        return rc;
    b = (binder){s->wst[W_SET_XML], SQLITE_OK};
    b_int(&b, 1, id);
    if (b.rc == SQLITE_OK)
        b.rc = sqlite3_bind_text64(b.st, 2, c->xml, c->xml_len, SQLITE_STATIC, SQLITE_UTF8);
    if (b.rc != SQLITE_OK)
        return w_bindfail(s, W_SET_XML, b.rc, err);
    return w_exec(s, W_SET_XML, err);
}

/* A registered Folder's lastUpdateTime (its column and its XML) advanced by a submission. */
static int
update_folder(sq_store *s, const cg_store_folder_update *u, cg_store_conflicts *conflicts,
              size_t *cap, cg_err *err)
{
    assert(u->uuid && u->last_update_time && u->xml);
    sqlite3_stmt *st = s->wst[W_SET_LAST_UPDATE];
    binder b = {st, SQLITE_OK};
    b_text(&b, 1, u->uuid);
    b_dtm(&b, 2, u->last_update_time);
    if (b.rc != SQLITE_OK)
        return w_bindfail(s, W_SET_LAST_UPDATE, b.rc, err);
    int rc = w_step(s, W_SET_LAST_UPDATE, err);
    if (rc == SQLITE_DONE) {
        add_conflict(conflicts, cap, CG_CONFLICT_MISSING, u->uuid, 0, NULL);
        return CG_OK;
    }
    if (rc != SQLITE_ROW)
        return rc;
    sqlite3_int64 id = sqlite3_column_int64(st, 0);
    if ((rc = w_step(s, W_SET_LAST_UPDATE, err)) == SQLITE_ROW) {
        sqlite3_reset(st);
        return cg_err_set(err, CG_EIO, "sqlite3_step(set_last_update): more than one %s", u->uuid);
    }
    if (rc != SQLITE_DONE)
        return rc;
    b = (binder){s->wst[W_SET_XML], SQLITE_OK};
    b_int(&b, 1, id);
    if (b.rc == SQLITE_OK)
        b.rc = sqlite3_bind_text64(b.st, 2, u->xml, u->xml_len, SQLITE_STATIC, SQLITE_UTF8);
    if (b.rc != SQLITE_OK)
        return w_bindfail(s, W_SET_XML, b.rc, err);
    return w_exec(s, W_SET_XML, err);
}

/* Everything of one submission, inside its savepoint. */
static int
put_submission(sq_store *s, const cg_store_submission *sub, cg_store_conflicts *conflicts,
               cg_err *err)
{
    int64_t tally[TALLY_COUNT] = {0};
    size_t cap = 0;
    int rc;
    for (size_t i = 0; i < sub->nobjects; i++)
        if ((rc = put_object(s, &sub->objects[i], conflicts, &cap, tally, err)) != CG_OK)
            return rc;
    for (size_t i = 0; i < sub->ndocuments; i++)
        if ((rc = put_document(s, &sub->documents[i], conflicts, &cap, tally, err)) != CG_OK)
            return rc;
    /* after the objects: a reference may also name an object of this submission */
    for (size_t i = 0; i < sub->nreferences; i++) {
        assert(sub->references[i]);
        int kind = find_uuid(s, sub->references[i], err);
        if (kind < 0)
            return kind;
        if (kind == 0)
            add_conflict(conflicts, &cap, CG_CONFLICT_MISSING, sub->references[i], 0, NULL);
    }
    for (size_t i = 0; i < sub->nstatus_changes; i++)
        if ((rc = change_status(s, &sub->status_changes[i], conflicts, &cap, err)) != CG_OK)
            return rc;
    for (size_t i = 0; i < sub->nfolder_updates; i++)
        if ((rc = update_folder(s, &sub->folder_updates[i], conflicts, &cap, err)) != CG_OK)
            return rc;
    if (conflicts->count > 0)
        return CG_EINVAL;
    add_tallies(s, tally);
    return CG_OK;
}

/* Ends the savepoint a job ran in: released when rc is CG_OK, rolled back to (the job alone
 * undone, the transaction going on) when the job was refused. CG_EIO ends the transaction. */
static int
savepoint_end(sq_store *s, int rc, cg_err *err)
{
    if (rc == CG_EIO)
        return CG_EIO; /* the caller rolls the whole transaction back */
    if (rc != CG_OK) {
        /* refused: undo this job alone; the transaction must still be open */
        if (sqlite3_get_autocommit(s->wdb)) {
            cg_err_init(err);
            return cg_err_set(err, CG_EIO, "sqlite3_step: the transaction was rolled back");
        }
        cg_err lerr;
        cg_err_init(&lerr);
        if (w_exec(s, W_ROLLBACK_TO, &lerr) != CG_OK || w_exec(s, W_RELEASE, &lerr) != CG_OK) {
            cg_err_init(err);
            return cg_err_set(err, CG_EIO, "%s", lerr.msg);
        }
        return rc;
    }
    if (w_exec(s, W_RELEASE, err) != CG_OK)
        return CG_EIO;
    return CG_OK;
}

static int
sq_apply_submission(void *be, const cg_store_submission *sub, cg_store_conflicts *conflicts,
                    cg_err *err)
{
    sq_store *s = be;
    if (w_exec(s, W_SAVEPOINT, err) != CG_OK)
        return CG_EIO;
    return savepoint_end(s, put_submission(s, sub, conflicts, err), err);
}

static int
put_pending(sq_store *s, const cg_store_document *docs, size_t ndocs, const char *owner,
            cg_store_conflicts *conflicts, cg_err *err)
{
    size_t cap = 0;
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < ndocs; i++) {
        const cg_store_document *d = &docs[i];
        assert(d->repository_id && d->unique_id && d->mime_type && d->hash);
        assert(d->len == 0 || d->data);
        int rc = document_slot(s, d, owner, conflicts, &cap, now, err);
        if (rc < 0)
            return rc;
        if (rc == 0 && (rc = insert_document(s, d, owner, now, err)) != CG_OK)
            return rc;
    }
    return conflicts->count > 0 ? CG_EINVAL : CG_OK;
}

/* Commits (or deletes) owner's pending documents, or removes retrievable ones (ITI-86); COMMIT
 * and REMOVE name the ones not found. */
static int
settle_pending(sq_store *s, int op, const cg_store_document *docs, size_t ndocs, const char *owner,
               cg_store_conflicts *conflicts, cg_err *err)
{
    int id = op == CG_STORE_DOCS_COMMIT    ? W_COMMIT_DOCUMENT
             : op == CG_STORE_DOCS_REMOVE ? W_REMOVE_DOCUMENT
                                          : W_DISCARD_DOCUMENT;
    int64_t tally[TALLY_COUNT] = {0};
    size_t cap = 0;
    for (size_t i = 0; i < ndocs; i++) {
        assert(docs[i].repository_id && docs[i].unique_id);
        binder b = {s->wst[id], SQLITE_OK};
        b_text(&b, 1, docs[i].repository_id);
        b_text(&b, 2, docs[i].unique_id);
        if (op != CG_STORE_DOCS_REMOVE)
            b_text(&b, 3, owner);
        if (b.rc != SQLITE_OK)
            return w_bindfail(s, id, b.rc, err);
        int rc = w_exec(s, id, err);
        if (rc != CG_OK)
            return rc;
        if (op == CG_STORE_DOCS_DISCARD)
            continue;
        if (sqlite3_changes(s->wdb) > 0)
            tally[TALLY_DOCUMENTS] += op == CG_STORE_DOCS_REMOVE ? -1 : 1;
        else
            add_conflict(conflicts, &cap, CG_CONFLICT_MISSING, docs[i].unique_id, 0, NULL);
    }
    add_tallies(s, tally);
    return CG_OK;
}

static int
sq_apply_documents(void *be, int op, const cg_store_document *docs, size_t ndocs, const char *owner,
                   cg_store_conflicts *conflicts, cg_err *err)
{
    sq_store *s = be;
    assert(owner);
    if (w_exec(s, W_SAVEPOINT, err) != CG_OK)
        return CG_EIO;
    int rc = op == CG_STORE_DOCS_PENDING
                 ? put_pending(s, docs, ndocs, owner, conflicts, err)
                 : settle_pending(s, op, docs, ndocs, owner, conflicts, err);
    return savepoint_end(s, rc, err);
}

static int
sq_apply_patient(void *be, const char *patient_id, cg_err *err)
{
    sq_store *s = be;
    binder b = {s->wst[W_INSERT_PATIENT], SQLITE_OK};
    b_text(&b, 1, patient_id);
    if (b.rc != SQLITE_OK)
        return w_bindfail(s, W_INSERT_PATIENT, b.rc, err);
    int rc = w_exec(s, W_INSERT_PATIENT, err);
    if (rc != CG_OK)
        return rc;
    if (sqlite3_changes(s->wdb) == 0)
        return CG_OK; /* already known */
    int64_t tally[TALLY_COUNT] = {0};
    tally[TALLY_PATIENTS] = 1;
    add_tallies(s, tally);
    return CG_OK;
}

/* Whether the writer knows a patient id (*known) and into what it was merged (heap, or NULL). */
static int
patient_state(sq_store *s, const char *patient_id, int *known, char **merged_into, cg_err *err)
{
    *known = 0;
    *merged_into = NULL;
    sqlite3_stmt *st = s->wst[W_PATIENT_STATE];
    binder b = {st, SQLITE_OK};
    b_text(&b, 1, patient_id);
    if (b.rc != SQLITE_OK)
        return w_bindfail(s, W_PATIENT_STATE, b.rc, err);
    int rc = w_step(s, W_PATIENT_STATE, err);
    if (rc == SQLITE_DONE)
        return CG_OK;
    if (rc != SQLITE_ROW)
        return rc;
    *known = 1;
    const char *into = (const char *)sqlite3_column_text(st, 0);
    if (into)
        *merged_into = cg_xstrdup(into);
    sqlite3_reset(st);
    return CG_OK;
}

/* Runs writer statement id with up to two text parameters. */
static int
w_exec_text(sq_store *s, int id, const char *p1, const char *p2, cg_err *err)
{
    binder b = {s->wst[id], SQLITE_OK};
    b_text(&b, 1, p1);
    if (p2)
        b_text(&b, 2, p2);
    if (b.rc != SQLITE_OK)
        return w_bindfail(s, id, b.rc, err);
    return w_exec(s, id, err);
}

static int
merge_patients(sq_store *s, const char *surviving, const char *subsumed, cg_err *err)
{
    char *sub_into = NULL, *surv_into = NULL;
    int sub_known = 0, surv_known = 0;
    int rc;
    if (strcmp(surviving, subsumed) == 0) {
        rc = cg_err_set(err, CG_EINVAL, "cannot merge patient %s into itself", subsumed);
        goto done;
    }
    if ((rc = patient_state(s, subsumed, &sub_known, &sub_into, err)) != CG_OK)
        goto done;
    if (!sub_known) {
        rc = cg_err_set(err, CG_ENOTFOUND, "patient %s is not known to the registry", subsumed);
        goto done;
    }
    if (sub_into) {
        if (strcmp(sub_into, surviving) != 0)
            rc = cg_err_set(err, CG_EINVAL, "patient %s was already merged into %s", subsumed,
                            sub_into);
        goto done; /* the same merge again: nothing to do */
    }
    if ((rc = patient_state(s, surviving, &surv_known, &surv_into, err)) != CG_OK)
        goto done;
    if (surv_into) {
        rc = cg_err_set(err, CG_EINVAL, "the surviving patient %s was itself merged into %s",
                        surviving, surv_into);
        goto done;
    }
    int64_t tally[TALLY_COUNT] = {0};
    if (!surv_known) {
        if ((rc = w_exec_text(s, W_INSERT_PATIENT, surviving, NULL, err)) != CG_OK)
            goto done;
        tally[TALLY_PATIENTS] = 1;
    }
    if ((rc = w_exec_text(s, W_MERGE_PATIENT, surviving, subsumed, err)) != CG_OK ||
        (rc = w_exec_text(s, W_REPOINT_MERGED, surviving, subsumed, err)) != CG_OK)
        goto done;
    add_tallies(s, tally);
done:
    free(sub_into);
    free(surv_into);
    return rc;
}

static int
sq_apply_merge(void *be, const char *surviving, const char *subsumed, cg_err *err)
{
    sq_store *s = be;
    if (w_exec(s, W_SAVEPOINT, err) != CG_OK)
        return CG_EIO;
    return savepoint_end(s, merge_patients(s, surviving, subsumed, err), err);
}

/* ---- deleting registered objects (ITI-62) ---------------------------------------------------- */

typedef struct del_obj {
    const char *uuid; /* the caller's */
    int64_t id;
    int kind;
    char *source, *target; /* Associations: heap copies */
} del_obj;

/* An end of an Association to delete that is not deleted itself. */
typedef struct del_end {
    const char *end, *assoc;
} del_end;

static int
cmp_del_obj(const void *a, const void *b)
{
    return strcmp(((const del_obj *)a)->uuid, ((const del_obj *)b)->uuid);
}

static int
cmp_del_end(const void *a, const void *b)
{
    const del_end *x = a, *y = b;
    int c = strcmp(x->end, y->end);
    return c ? c : strcmp(x->assoc, y->assoc);
}

/* Whether uuid is in the sorted set. */
static int
del_member(const del_obj *set, size_t n, const char *uuid)
{
    del_obj key = {.uuid = uuid};
    return bsearch(&key, set, n, sizeof(*set), cmp_del_obj) != NULL;
}

/* The first Association referring to uuid that is not in the set: 1 (*out, heap), 0 none, or a
 * CG error. */
static int
referrer_outside(sq_store *s, const del_obj *set, size_t n, const char *uuid, char **out,
                 cg_err *err)
{
    *out = NULL;
    sqlite3_stmt *st = s->wst[W_DEL_REFERRERS];
    binder b = {st, SQLITE_OK};
    b_text(&b, 1, uuid);
    if (b.rc != SQLITE_OK)
        return w_bindfail(s, W_DEL_REFERRERS, b.rc, err);
    int rc;
    while ((rc = w_step(s, W_DEL_REFERRERS, err)) == SQLITE_ROW) {
        const char *by = (const char *)sqlite3_column_text(st, 0);
        if (by && !del_member(set, n, by)) {
            *out = cg_xstrdup(by);
            sqlite3_reset(st);
            return 1;
        }
    }
    return rc == SQLITE_DONE ? 0 : rc;
}

static int
del_lookup(sq_store *s, del_obj *o, cg_err *err)
{
    sqlite3_stmt *st = s->wst[W_DEL_LOOKUP];
    binder b = {st, SQLITE_OK};
    b_text(&b, 1, o->uuid);
    if (b.rc != SQLITE_OK)
        return w_bindfail(s, W_DEL_LOOKUP, b.rc, err);
    int rc = w_step(s, W_DEL_LOOKUP, err);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return rc;
    o->id = sqlite3_column_int64(st, 0);
    o->kind = sqlite3_column_int(st, 1);
    const char *src = (const char *)sqlite3_column_text(st, 2);
    const char *tgt = (const char *)sqlite3_column_text(st, 3);
    o->source = src ? cg_xstrdup(src) : NULL;
    o->target = tgt ? cg_xstrdup(tgt) : NULL;
    sqlite3_reset(st);
    return 1;
}

/* Deletes one object's rows: its codes, authors, XML, then the object. */
static int
del_rows(sq_store *s, int64_t id, cg_err *err)
{
    static const int ids[] = {W_DEL_CODES, W_DEL_AUTHORS, W_DEL_XML, W_DEL_OBJECT};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        binder b = {s->wst[ids[i]], SQLITE_OK};
        b_int(&b, 1, id);
        if (b.rc != SQLITE_OK)
            return w_bindfail(s, ids[i], b.rc, err);
        int rc = w_exec(s, ids[i], err);
        if (rc != CG_OK)
            return rc;
    }
    return CG_OK;
}

/* The checks and the deletion, inside the job's savepoint. */
static int
delete_objects(sq_store *s, const char *const *uuids, size_t n,
               const cg_store_folder_update *updates, size_t nupdates,
               cg_store_conflicts *conflicts, cg_err *err)
{
    size_t cap = 0, nset = 0, nends = 0;
    int rc = CG_OK;
    del_obj *set = cg_xcalloc(n, sizeof(*set));
    del_end *ends = cg_xcalloc(2 * n, sizeof(*ends));
    for (size_t i = 0; i < n; i++) {
        assert(uuids[i]);
        set[i].uuid = uuids[i];
    }
    qsort(set, n, sizeof(*set), cmp_del_obj);
    for (size_t i = 0; i < n; i++) /* the same uuid twice counts once */
        if (nset == 0 || strcmp(set[i].uuid, set[nset - 1].uuid) != 0)
            set[nset++] = set[i];
    for (size_t i = 0; i < nset; i++) {
        int found = del_lookup(s, &set[i], err);
        if (found < 0) {
            rc = found;
            goto done;
        }
        if (found == 0)
            add_conflict(conflicts, &cap, CG_CONFLICT_MISSING, set[i].uuid, 0, NULL);
    }
    if (conflicts->count > 0) {
        rc = CG_EINVAL;
        goto done;
    }
    /* no Association that stays may refer to an object deleted */
    for (size_t i = 0; i < nset; i++) {
        char *by = NULL;
        int found = referrer_outside(s, set, nset, set[i].uuid, &by, err);
        if (found < 0) {
            rc = found;
            goto done;
        }
        if (found) {
            cg_store_conflict *c = add_conflict(conflicts, &cap, CG_CONFLICT_REFERENCED,
                                                set[i].uuid, set[i].kind, NULL);
            copy_bounded(c->related, sizeof c->related, by);
        }
        free(by);
        const char *both[2] = {set[i].source, set[i].target};
        for (int k = 0; k < 2 && set[i].kind == CG_OBJ_ASSOCIATION; k++)
            if (both[k] && !del_member(set, nset, both[k]))
                ends[nends++] = (del_end){both[k], set[i].uuid};
    }
    /* no object that stays may lose the last Association referring to it */
    qsort(ends, nends, sizeof(*ends), cmp_del_end);
    for (size_t i = 0; i < nends; i++) {
        if (i > 0 && strcmp(ends[i].end, ends[i - 1].end) == 0)
            continue;
        int kind = find_uuid(s, ends[i].end, err);
        if (kind < 0) {
            rc = kind;
            goto done;
        }
        if (kind == 0)
            continue; /* names nothing here: nothing is left behind */
        char *by = NULL;
        int found = referrer_outside(s, set, nset, ends[i].end, &by, err);
        free(by);
        if (found < 0) {
            rc = found;
            goto done;
        }
        if (!found) {
            cg_store_conflict *c = add_conflict(conflicts, &cap, CG_CONFLICT_UNREFERENCED,
                                                ends[i].end, kind, NULL);
            copy_bounded(c->related, sizeof c->related, ends[i].assoc);
        }
    }
    if (conflicts->count > 0) {
        rc = CG_EINVAL;
        goto done;
    }
    int64_t tally[TALLY_COUNT] = {0};
    for (size_t i = 0; i < nset; i++) {
        if ((rc = del_rows(s, set[i].id, err)) != CG_OK)
            goto done;
        if (set[i].kind >= CG_OBJ_DOCUMENT_ENTRY && set[i].kind <= CG_OBJ_ASSOCIATION)
            tally[set[i].kind]--;
    }
    for (size_t i = 0; i < nupdates; i++)
        if ((rc = update_folder(s, &updates[i], conflicts, &cap, err)) != CG_OK)
            goto done;
    if (conflicts->count > 0) {
        rc = CG_EINVAL;
        goto done;
    }
    add_tallies(s, tally);
done:
    for (size_t i = 0; i < nset; i++) {
        free(set[i].source);
        free(set[i].target);
    }
    free(ends);
    free(set);
    return rc;
}

static int
sq_apply_delete(void *be, const char *const *uuids, size_t n,
                const cg_store_folder_update *updates, size_t nupdates,
                cg_store_conflicts *conflicts, cg_err *err)
{
    sq_store *s = be;
    if (w_exec(s, W_SAVEPOINT, err) != CG_OK)
        return CG_EIO;
    return savepoint_end(s, delete_objects(s, uuids, n, updates, nupdates, conflicts, err), err);
}

static int
sq_begin(void *be, cg_err *err)
{
    sq_store *s = be;
    memset(s->tally, 0, sizeof s->tally);
    return w_exec(s, W_BEGIN, err) == CG_OK ? CG_OK : CG_EIO;
}

static int
sq_commit(void *be, cg_err *err)
{
    sq_store *s = be;
    if (write_tallies(s, err) != CG_OK)
        return CG_EIO;
    return w_exec(s, W_COMMIT, err) == CG_OK ? CG_OK : CG_EIO;
}

static void
sq_rollback(void *be)
{
    sq_store *s = be;
    if (sqlite3_get_autocommit(s->wdb))
        return; /* SQLite already rolled the transaction back */
    /* not through w_step: no fault is injected here, and a failure leaves nothing to do */
    sqlite3_step(s->wst[W_ROLLBACK]);
    sqlite3_reset(s->wst[W_ROLLBACK]);
}

static int
wal_hook(void *ctx, sqlite3 *db, const char *name, int frames)
{
    sq_store *s = ctx;
    s->wal_frames = frames;
    return SQLITE_OK;
}

static void
sq_maintain(void *be)
{
    sq_store *s = be;
    if (s->wal_frames < CHECKPOINT_FRAMES)
        return;
    /* PASSIVE: copies what no reader still needs, never waits; the next write transaction then
     * restarts the WAL from its beginning. A failure here only delays the checkpoint. */
    sqlite3_wal_checkpoint_v2(s->wdb, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    s->wal_frames = 0;
}

static void
sq_fail_after(void *be, long n)
{
    sq_store *s = be;
    atomic_store(&s->fail_after, n);
}

/* ---- the read pool --------------------------------------------------------------------------- */

static void
reader_close(reader *r)
{
    if (r == NULL)
        return;
    for (int i = 0; i < R_COUNT; i++)
        sqlite3_finalize(r->st[i]);
    for (int i = 0; i < STMT_CACHE; i++) {
        sqlite3_finalize(r->cache[i].st);
        free(r->cache[i].sql);
    }
    sqlite3_close(r->db);
    free(r);
}

static reader *
reader_open(sq_store *s, cg_err *err)
{
    reader *r = cg_xcalloc(1, sizeof(*r));
    int rc = sqlite3_open_v2(s->path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        cg_err_set(err, CG_EIO, "sqlite3_open_v2(%s, read-only): %s", s->path,
                   r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
        reader_close(r);
        return NULL;
    }
    sqlite3_extended_result_codes(r->db, 1);
    sqlite3_busy_timeout(r->db, s->busy_timeout_ms);
    for (int i = 0; i < R_COUNT; i++) {
        if (sq_prepare(r->db, rsql[i].name, rsql[i].sql, &r->st[i], err) != CG_OK) {
            reader_close(r);
            return NULL;
        }
    }
    return r;
}

/* The read connection a thread holds from sq_read_begin to sq_read_end, inside its read
 * transaction: that thread's reads of that store use it instead of one from the idle list. */
static _Thread_local struct {
    sq_store *s;
    reader *r;
    unsigned depth;
} held;

static reader *
reader_get(sq_store *s, cg_err *err)
{
    if (held.s == s)
        return held.r;
    pthread_mutex_lock(&s->rlock);
    reader *r = s->idle;
    if (r) {
        s->idle = r->next;
        s->nidle--;
    }
    pthread_mutex_unlock(&s->rlock);
    return r ? r : reader_open(s, err);
}

static void
reader_put(sq_store *s, reader *r)
{
    if (held.s == s && r == held.r)
        return; /* until sq_read_end */
    pthread_mutex_lock(&s->rlock);
    if (s->nidle < s->readers) {
        r->next = s->idle;
        s->idle = r;
        s->nidle++;
        r = NULL;
    }
    pthread_mutex_unlock(&s->rlock);
    reader_close(r); /* beyond `readers` idle connections */
}

/* One read transaction for the calling thread's reads until sq_read_end (cg_store_read_begin):
 * one snapshot, and the file lock and WAL look-up that begin each transaction once. Nested
 * calls for the same store count; a call for another store while one is held is a no-op. */
static int
sq_read_begin(void *be, cg_err *err)
{
    sq_store *s = be;
    if (held.s == s) {
        held.depth++;
        return CG_OK;
    }
    if (held.s != NULL)
        return CG_OK;
    reader *r = reader_get(s, err);
    if (r == NULL)
        return CG_EIO;
    int rc = sqlite3_step(r->st[R_BEGIN]);
    sqlite3_reset(r->st[R_BEGIN]);
    if (rc != SQLITE_DONE) {
        cg_err_set(err, CG_EIO, "sqlite3_step(read_begin): %s", sqlite3_errmsg(r->db));
        reader_put(s, r);
        return CG_EIO;
    }
    held.s = s;
    held.r = r;
    held.depth = 1;
    return CG_OK;
}

static void
sq_read_end(void *be)
{
    sq_store *s = be;
    if (held.s != s || --held.depth > 0)
        return;
    reader *r = held.r;
    held.s = NULL;
    held.r = NULL;
    sqlite3_step(r->st[R_COMMIT]);
    sqlite3_reset(r->st[R_COMMIT]);
    if (!sqlite3_get_autocommit(r->db)) { /* still in the transaction: not for the next user */
        reader_close(r);
        return;
    }
    reader_put(s, r);
}

/* The pool's connections lent to sqlite_query.c (see sqlite_int.h). */
sqlite3 *
cg_sq_reader_get(void *be, void **handle, cg_err *err)
{
    reader *r = reader_get(be, err);
    *handle = r;
    return r ? r->db : NULL;
}

void
cg_sq_reader_put(void *be, void *handle)
{
    reader_put(be, handle);
}

sqlite3_stmt *
cg_sq_reader_stmt(void *handle, const char *sql, cg_err *err)
{
    reader *r = handle;
    size_t len = strlen(sql);
    cached_stmt *victim = NULL;
    r->tick++;
    if (len <= STMT_CACHE_SQL_MAX) {
        for (int i = 0; i < STMT_CACHE; i++) {
            cached_stmt *c = &r->cache[i];
            if (c->used && !c->busy && strcmp(c->sql, sql) == 0) {
                c->used = r->tick;
                c->busy = 1;
                return c->st;
            }
            if (!c->busy && (victim == NULL || c->used < victim->used))
                victim = c;
        }
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(r->db, sql, (int)len + 1,
                                victim ? SQLITE_PREPARE_PERSISTENT : 0, &st, NULL);
    if (rc != SQLITE_OK) {
        cg_err_set(err, CG_EIO, "sqlite3_prepare_v3: %s", sqlite3_errmsg(r->db));
        sqlite3_finalize(st);
        return NULL;
    }
    if (victim) {
        sqlite3_finalize(victim->st);
        free(victim->sql);
        *victim = (cached_stmt){cg_xstrndup(sql, len), st, r->tick, 1};
    }
    return st;
}

void
cg_sq_reader_done(void *handle, sqlite3_stmt *st)
{
    reader *r = handle;
    if (st == NULL)
        return;
    for (int i = 0; i < STMT_CACHE; i++) {
        cached_stmt *c = &r->cache[i];
        if (c->st == st && c->busy) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            c->busy = 0;
            return;
        }
    }
    sqlite3_finalize(st);
}

static int
r_fail(reader *r, int id, int rc, cg_err *err)
{
    sqlite3_reset(r->st[id]);
    return cg_err_set(err, CG_EIO, "sqlite3_step(%s): %s", rsql[id].name,
                      rc == SQLITE_OK ? "bind failed" : sqlite3_errmsg(r->db));
}

static int
sq_document_get(void *be, const char *repository_id, const char *unique_id, cg_store_blob *out,
                cg_err *err)
{
    sq_store *s = be;
    reader *r = reader_get(s, err);
    if (r == NULL)
        return CG_EIO;
    sqlite3_stmt *st = r->st[R_DOCUMENT];
    int rc = CG_OK;
    binder b = {st, SQLITE_OK};
    b_text(&b, 1, repository_id);
    b_text(&b, 2, unique_id);
    int step = b.rc == SQLITE_OK ? sqlite3_step(st) : SQLITE_OK;
    if (step == SQLITE_DONE) {
        rc = cg_err_set(err, CG_ENOTFOUND, "no document %s in repository %s", unique_id,
                        repository_id);
    } else if (step != SQLITE_ROW) {
        rc = r_fail(r, R_DOCUMENT, step, err);
        goto done;
    } else {
        const char *mime = (const char *)sqlite3_column_text(st, 0);
        out->mime_type = cg_xstrdup(mime ? mime : "");
        copy_bounded(out->hash, sizeof out->hash, (const char *)sqlite3_column_text(st, 1));
        const void *data = sqlite3_column_blob(st, 2);
        out->len = (size_t)sqlite3_column_bytes(st, 2);
        out->data = cg_xmalloc(out->len);
        if (out->len)
            memcpy(out->data, data, out->len);
    }
    sqlite3_reset(st);
done:
    sqlite3_clear_bindings(st);
    reader_put(s, r);
    return rc;
}

static int
sq_object_xml(void *be, const char *uuid, char **out, size_t *len, cg_err *err)
{
    sq_store *s = be;
    reader *r = reader_get(s, err);
    if (r == NULL)
        return CG_EIO;
    sqlite3_stmt *st = r->st[R_OBJECT_XML];
    int rc = CG_OK;
    binder b = {st, SQLITE_OK};
    b_text(&b, 1, uuid);
    int step = b.rc == SQLITE_OK ? sqlite3_step(st) : SQLITE_OK;
    if (step == SQLITE_DONE) {
        rc = cg_err_set(err, CG_ENOTFOUND, "no registry object %s", uuid);
    } else if (step != SQLITE_ROW) {
        rc = r_fail(r, R_OBJECT_XML, step, err);
        goto done;
    } else {
        const char *xml = (const char *)sqlite3_column_text(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        *out = cg_xmalloc(n + 1);
        if (n)
            memcpy(*out, xml, n);
        (*out)[n] = '\0';
        if (len)
            *len = n;
    }
    sqlite3_reset(st);
done:
    sqlite3_clear_bindings(st);
    reader_put(s, r);
    return rc;
}

static int
sq_patient_known(void *be, const char *patient_id, int *out, cg_err *err)
{
    sq_store *s = be;
    reader *r = reader_get(s, err);
    if (r == NULL)
        return CG_EIO;
    sqlite3_stmt *st = r->st[R_PATIENT_KNOWN];
    int rc = CG_OK;
    binder b = {st, SQLITE_OK};
    b_text(&b, 1, patient_id);
    int step = b.rc == SQLITE_OK ? sqlite3_step(st) : SQLITE_OK;
    if (step == SQLITE_ROW || step == SQLITE_DONE) {
        *out = step == SQLITE_ROW;
        sqlite3_reset(st);
    } else {
        rc = r_fail(r, R_PATIENT_KNOWN, step, err);
    }
    sqlite3_clear_bindings(st);
    reader_put(s, r);
    return rc;
}

static int
sq_patient_list(void *be, cg_store_patient_fn fn, void *ctx, cg_err *err)
{
    sq_store *s = be;
    reader *r = reader_get(s, err);
    if (r == NULL)
        return CG_EIO;
    sqlite3_stmt *st = r->st[R_PATIENT_LIST];
    int rc = CG_OK;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        rc = fn(ctx, (const char *)sqlite3_column_text(st, 0),
                (const char *)sqlite3_column_text(st, 1));
        if (rc != 0)
            break;
    }
    if (rc == CG_OK && step != SQLITE_DONE)
        rc = r_fail(r, R_PATIENT_LIST, step, err);
    sqlite3_reset(st);
    reader_put(s, r);
    return rc;
}

static int
sq_patient_lookup(void *be, const char *patient_id, int *known, char **merged_into, cg_err *err)
{
    sq_store *s = be;
    reader *r = reader_get(s, err);
    if (r == NULL)
        return CG_EIO;
    sqlite3_stmt *st = r->st[R_PATIENT_LOOKUP];
    int rc = CG_OK;
    binder b = {st, SQLITE_OK};
    b_text(&b, 1, patient_id);
    int step = b.rc == SQLITE_OK ? sqlite3_step(st) : SQLITE_OK;
    if (step == SQLITE_ROW) {
        *known = 1;
        const char *into = (const char *)sqlite3_column_text(st, 0);
        if (into)
            *merged_into = cg_xstrdup(into);
        sqlite3_reset(st);
    } else if (step == SQLITE_DONE) {
        sqlite3_reset(st);
    } else {
        rc = r_fail(r, R_PATIENT_LOOKUP, step, err);
    }
    sqlite3_clear_bindings(st);
    reader_put(s, r);
    return rc;
}

static int
sq_patient_merges(void *be, cg_store_merge_fn fn, void *ctx, cg_err *err)
{
    sq_store *s = be;
    reader *r = reader_get(s, err);
    if (r == NULL)
        return CG_EIO;
    sqlite3_stmt *st = r->st[R_PATIENT_MERGES];
    int rc = CG_OK;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *at = (const char *)sqlite3_column_text(st, 2);
        rc = fn(ctx, (const char *)sqlite3_column_text(st, 0),
                (const char *)sqlite3_column_text(st, 1), at ? at : "");
        if (rc != 0)
            break;
    }
    if (rc == CG_OK && step != SQLITE_DONE)
        rc = r_fail(r, R_PATIENT_MERGES, step, err);
    sqlite3_reset(st);
    reader_put(s, r);
    return rc;
}

static int
sq_patient_family(void *be, const char *patient_id, cg_store_family_fn fn, void *ctx, cg_err *err)
{
    sq_store *s = be;
    reader *r = reader_get(s, err);
    if (r == NULL)
        return CG_EIO;
    sqlite3_stmt *st = r->st[R_PATIENT_FAMILY];
    binder b = {st, SQLITE_OK};
    b_text(&b, 1, patient_id);
    int rc = CG_OK;
    int step = SQLITE_OK;
    while (b.rc == SQLITE_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        rc = fn(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int(st, 1));
        if (rc != 0)
            break;
    }
    if (rc == CG_OK && step != SQLITE_DONE)
        rc = r_fail(r, R_PATIENT_FAMILY, b.rc == SQLITE_OK ? step : SQLITE_OK, err);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    reader_put(s, r);
    return rc;
}

static int
sq_stats(void *be, cg_store_stats *out, cg_err *err)
{
    sq_store *s = be;
    reader *r = reader_get(s, err);
    if (r == NULL)
        return CG_EIO;
    sqlite3_stmt *st = r->st[R_TALLIES];
    int rc = CG_OK;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        int64_t n = sqlite3_column_int64(st, 1);
        int64_t *to[TALLY_COUNT] = {NULL,          &out->document_entries, &out->submission_sets,
                                    &out->folders, &out->associations,     &out->documents,
                                    &out->patients};
        for (int i = 1; i < TALLY_COUNT; i++)
            if (name && strcmp(name, tally_names[i]) == 0)
                *to[i] = n;
    }
    if (step != SQLITE_DONE)
        rc = r_fail(r, R_TALLIES, step, err);
    sqlite3_reset(st);
    if (rc == CG_OK) {
        st = r->st[R_PENDING];
        step = sqlite3_step(st);
        if (step == SQLITE_ROW)
            out->pending_documents = sqlite3_column_int64(st, 0);
        else
            rc = r_fail(r, R_PENDING, step, err);
        sqlite3_reset(st);
    }
    out->purged_at_open = s->purged;
    out->schema_version = s->version;
    reader_put(s, r);
    return rc;
}

/* ---- open and close -------------------------------------------------------------------------- */

/* One integer PRAGMA of the writer connection. */
static int
pragma_int(sqlite3 *db, const char *sql, int *out, cg_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_prepare(db, sql, sql, &st, err);
    if (rc != CG_OK)
        return rc;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *out = sqlite3_column_int(st, 0);
    else
        rc = cg_err_set(err, CG_EIO, "sqlite3_step(%s): %s", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc;
}

static int
exec(sqlite3 *db, const char *what, const char *sql, cg_err *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        cg_err_set(err, CG_EIO, "sqlite3_exec(%s): %s", what, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return CG_EIO;
    }
    return CG_OK;
}

/* The database must be ours (or empty) and not newer than this code. */
static int
check_version(sq_store *s, int *version, cg_err *err)
{
    int app = 0;
    int rc = pragma_int(s->wdb, "PRAGMA application_id", &app, err);
    if (rc == CG_OK)
        rc = pragma_int(s->wdb, "PRAGMA user_version", version, err);
    if (rc != CG_OK)
        return rc;
    if (app != APPLICATION_ID && (app != 0 || *version != 0))
        return cg_err_set(err, CG_EINVAL, "%s: not a cdagate registry database", s->path);
    if (*version > SCHEMA_VERSION)
        return cg_err_set(err, CG_EINVAL,
                          "%s: schema version %d is newer than this cdagate knows (%d); "
                          "run the cdagate that wrote it, or a newer one",
                          s->path, *version, SCHEMA_VERSION);
    return CG_OK;
}

static int
migrate(sq_store *s, cg_err *err)
{
    int version = 0;
    int rc = exec(s->wdb, "begin migration", "BEGIN IMMEDIATE", err);
    if (rc != CG_OK)
        return rc;
    /* read again under the write lock: another process may have migrated meanwhile */
    if ((rc = check_version(s, &version, err)) != CG_OK)
        goto done;
    for (int v = version + 1; v <= SCHEMA_VERSION; v++) {
        char what[32];
        snprintf(what, sizeof what, "migration %d", v);
        if ((rc = exec(s->wdb, what, migrations[v - 1], err)) != CG_OK)
            goto done;
    }
    rc = exec(s->wdb, "commit migration", "COMMIT", err);
    if (rc == CG_OK)
        rc = pragma_int(s->wdb, "PRAGMA user_version", &s->version, err);
    if (rc == CG_OK && s->version != SCHEMA_VERSION)
        rc = cg_err_set(err, CG_EIO, "%s: schema version %d after migrating, expected %d", s->path,
                        s->version, SCHEMA_VERSION);
done:
    if (!sqlite3_get_autocommit(s->wdb))
        sqlite3_exec(s->wdb, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Makes the database file's directory entry durable (SQLite syncs its journals' entries). */
static int
sync_dir(const char *dir, cg_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return cg_err_set(err, CG_EIO, "open(%s): %s", dir, strerror(errno));
    int rc = CG_OK;
    if (fsync(fd) != 0)
        rc = cg_err_set(err, CG_EIO, "fsync(%s): %s", dir, strerror(errno));
    close(fd);
    return rc;
}

static void
sq_close(void *be)
{
    sq_store *s = be;
    if (s == NULL)
        return;
    while (s->idle) {
        reader *r = s->idle;
        s->idle = r->next;
        reader_close(r);
    }
    for (int i = 0; i < W_COUNT; i++)
        sqlite3_finalize(s->wst[i]);
    sqlite3_close(s->wdb); /* the last connection checkpoints and removes the WAL */
    pthread_mutex_destroy(&s->rlock);
    free(s->path);
    free(s);
}

static int
sq_open(void **out, const cg_store_config *cfg, cg_err *err)
{
    int rc = cg_fs_mkdirs(cfg->data_dir, err);
    if (rc != CG_OK)
        return rc;
    sq_store *s = cg_xcalloc(1, sizeof(*s));
    pthread_mutex_init(&s->rlock, NULL);
    atomic_init(&s->fail_after, 0);
    s->path = cg_fs_join(cfg->data_dir, "registry.db");
    s->busy_timeout_ms = cfg->busy_timeout_ms;
    s->readers = cfg->readers;
    s->pending_max_age_s = cfg->pending_max_age_s;

    int src = sqlite3_open_v2(
        s->path, &s->wdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (src != SQLITE_OK) {
        rc = cg_err_set(err, CG_EIO, "sqlite3_open_v2(%s): %s", s->path,
                        s->wdb ? sqlite3_errmsg(s->wdb) : sqlite3_errstr(src));
        goto done;
    }
    sqlite3_extended_result_codes(s->wdb, 1);
    sqlite3_busy_timeout(s->wdb, s->busy_timeout_ms);

    int version = 0;
    if ((rc = check_version(s, &version, err)) != CG_OK)
        goto done;
    /* A new database gets 16 KiB pages: a 50 KB discharge summary is 4 WAL frames (and write
     * calls) instead of 13. An existing database keeps its page size (this is a no-op there). */
    if ((rc = exec(s->wdb, "page_size", "PRAGMA page_size = 16384;", err)) != CG_OK)
        goto done;
    /* WAL: readers see the last commit and never wait for the writer. FULL: each COMMIT
     * fsyncs the WAL, so an acknowledged submission survives power loss. */
    sqlite3_stmt *st = NULL;
    if ((rc = sq_prepare(s->wdb, "journal_mode", "PRAGMA journal_mode = WAL", &st, err)) != CG_OK)
        goto done;
    src = sqlite3_step(st);
    const char *mode = src == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    if (mode == NULL || strcmp(mode, "wal") != 0)
        rc = cg_err_set(err, CG_EIO, "sqlite3_step(journal_mode): %s: cannot use WAL mode (%s)",
                        s->path, mode ? mode : sqlite3_errmsg(s->wdb));
    sqlite3_finalize(st);
    if (rc != CG_OK)
        goto done;
    if ((rc = exec(s->wdb, "pragmas",
                   "PRAGMA synchronous = FULL;"
                   "PRAGMA foreign_keys = ON;"
                   /* a removed document's bytes are overwritten, not left in free pages */
                   "PRAGMA secure_delete = ON;"
                   "PRAGMA journal_size_limit = 67108864;"
                   "PRAGMA cache_size = -8192;"
                   /* the statement journals of the per-submission savepoints: memory, not a
                    * file created and unlinked in /var/tmp at every commit (durability is the
                    * WAL's, not theirs) */
                   "PRAGMA temp_store = MEMORY;",
                   err)) != CG_OK)
        goto done;
    if ((rc = migrate(s, err)) != CG_OK)
        goto done;
    if ((rc = sync_dir(cfg->data_dir, err)) != CG_OK)
        goto done;
    for (int i = 0; i < W_COUNT; i++)
        if ((rc = sq_prepare(s->wdb, wsql[i].name, wsql[i].sql, &s->wst[i], err)) != CG_OK)
            goto done;
    /* Pending documents an attempt left (the process died before the registry answered):
     * never retrievable, deleted once surely stale. One statement, so all or none. */
    if (s->pending_max_age_s > 0) {
        binder b = {s->wst[W_PURGE_PENDING], SQLITE_OK};
        b_int(&b, 1, (int64_t)time(NULL) - s->pending_max_age_s);
        if (b.rc != SQLITE_OK) {
            rc = w_bindfail(s, W_PURGE_PENDING, b.rc, err);
            goto done;
        }
        if ((rc = w_exec(s, W_PURGE_PENDING, err)) != CG_OK)
            goto done;
        s->purged = sqlite3_changes(s->wdb);
    }
    /* checkpoints run between batches (sq_maintain), not inside a caller's COMMIT */
    sqlite3_wal_hook(s->wdb, wal_hook, s);

    /* one reader now, so a database readers cannot open fails at open, not at first read */
    reader *r = reader_open(s, err);
    if (r == NULL) {
        rc = CG_EIO;
        goto done;
    }
    reader_put(s, r);
done:
    if (rc != CG_OK) {
        sq_close(s);
        return rc;
    }
    *out = s;
    return CG_OK;
}

const cg_store_backend cg_store_sqlite_backend = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .apply_submission = sq_apply_submission,
    .apply_patient = sq_apply_patient,
    .apply_documents = sq_apply_documents,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .maintain = sq_maintain,
    .fail_after = sq_fail_after,
    .document_get = sq_document_get,
    .object_xml = sq_object_xml,
    .patient_known = sq_patient_known,
    .patient_list = sq_patient_list,
    .apply_merge = sq_apply_merge,
    .patient_lookup = sq_patient_lookup,
    .patient_merges = sq_patient_merges,
    .patient_family = sq_patient_family,
    .find = cg_sq_find,
    .read_begin = sq_read_begin,
    .read_end = sq_read_end,
    .stats = sq_stats,
    .apply_delete = sq_apply_delete,
};
