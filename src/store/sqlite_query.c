/* sqlite_query: the stored-query reads of the SQLite backend (see store.h, cg_store_find).
 * Owns: turning a cg_store_filter into one SELECT over objects (with EXISTS on codes and
 * author_persons), binding every value, reading the rows. Does not own: the schema and the
 * connections (sqlite.c), what a stored query means (registry/query).
 *
 * The SQL text is made only of the fixed fragments of this file and "?" placeholders: the
 * filter decides which fragments and how many placeholders, never what text goes in; so the
 * shapes are few, and each read connection keeps the statements of the shapes it ran
 * (cg_sq_reader_stmt): a query is compiled once per shape and connection, not per request. The
 * indexes of schema version 1 answer each shape: objects_patient (patient_id, kind, status,
 * creation_key) the find queries, uuid/unique_id/lid their own, objects_source/objects_target
 * associations by end, and the primary keys of codes and author_persons the EXISTS tests. */
#define _POSIX_C_SOURCE 200809L
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "util/alloc.h"

/* A bound on placeholders in one statement, far under SQLite's (32766). */
#define MAX_BINDS 30000

typedef struct sqlbuf {
    char *s;
    size_t len, cap;
} sqlbuf;

static void
put(sqlbuf *b, const char *text)
{
    size_t n = strlen(text);
    b->s = cg_xgrow(b->s, &b->cap, b->len + n + 1, 1);
    memcpy(b->s + b->len, text, n + 1);
    b->len += n;
}

/* The values to bind, in placeholder order. */
typedef struct binds {
    const char **text; /* NULL entry: an integer from ints */
    int64_t *ints;
    size_t n, cap_t, cap_i;
} binds;

static void
bind_text(binds *b, const char *v)
{
    b->text = cg_xgrow(b->text, &b->cap_t, b->n + 1, sizeof(*b->text));
    b->ints = cg_xgrow(b->ints, &b->cap_i, b->n + 1, sizeof(*b->ints));
    b->text[b->n] = v;
    b->ints[b->n] = 0;
    b->n++;
}

static void
bind_int(binds *b, int64_t v)
{
    bind_text(b, NULL);
    b->ints[b->n - 1] = v;
}

/* " AND <column> IN (?, ...)" for a non-empty list. */
static void
in_list(sqlbuf *q, binds *b, const char *column, const cg_store_list *l)
{
    if (l->n == 0)
        return;
    put(q, " AND ");
    put(q, column);
    put(q, " IN (");
    for (size_t i = 0; i < l->n; i++) {
        put(q, i ? ",?" : "?");
        bind_text(b, l->v[i]);
    }
    put(q, ")");
}

static void
range(sqlbuf *q, binds *b, const char *column, const cg_store_time_range *r)
{
    if (r->has_from) {
        put(q, " AND ");
        put(q, column);
        put(q, " >= ?");
        bind_int(b, r->from);
    }
    if (r->has_to) {
        put(q, " AND ");
        put(q, column);
        put(q, " < ?");
        bind_int(b, r->to);
    }
}

/* The objects' stored texts: in registration order (ORDER BY), read after the SELECT one by one
 * by rowid (XML_SQL), as in the SELECT they would be copied into the sorter, 4 to 5 KB a row;
 * in any order (`joined`: all rows, or any limit + 1 of them will do), read by the SELECT itself
 * and the rows sorted here, which spares a statement a row (a third of a 50-entry find). */
static const char XML_SQL[] = "SELECT xml FROM object_xml WHERE object_id = ?";

static void
build(sqlbuf *q, binds *b, const cg_store_filter *f, size_t limit, int joined)
{
    put(q, "SELECT o.kind, o.uuid, o.lid, o.status, o.patient_id, o.unique_id, o.object_type, "
           "o.assoc_type, o.source, o.target, o.id");
    put(q, joined ? ", x.xml FROM objects o LEFT JOIN object_xml x ON x.object_id = o.id WHERE 1"
                  : " FROM objects o WHERE 1");
    if (f->kinds) {
        static const char *const kinds[] = {NULL, "1", "2", "3", "4"};
        int first = 1;
        put(q, " AND o.kind IN (");
        for (int k = CG_OBJ_DOCUMENT_ENTRY; k <= CG_OBJ_ASSOCIATION; k++) {
            if (!(f->kinds & (1u << k)))
                continue;
            put(q, first ? "" : ",");
            put(q, kinds[k]);
            first = 0;
        }
        put(q, ")");
    }
    in_list(q, b, "o.patient_id", &f->patient_ids);
    in_list(q, b, "o.uuid", &f->uuids);
    in_list(q, b, "o.unique_id", &f->unique_ids);
    in_list(q, b, "o.lid", &f->lids);
    in_list(q, b, "o.status", &f->statuses);
    in_list(q, b, "o.object_type", &f->object_types);
    in_list(q, b, "o.source_id", &f->source_ids);
    in_list(q, b, "o.assoc_type", &f->assoc_types);
    in_list(q, b, "o.source", &f->sources);
    in_list(q, b, "o.target", &f->targets);
    if (f->ends.n) {
        /* two IN lists joined by OR: SQLite answers each from its own index (a MULTI-INDEX
         * OR; a constant term in the OR, such as "0 OR", would make it scan the table) */
        put(q, " AND (");
        cg_store_list l = f->ends;
        for (int side = 0; side < 2; side++) {
            put(q, side ? " OR o.target IN (" : "o.source IN (");
            for (size_t i = 0; i < l.n; i++) {
                put(q, i ? ",?" : "?");
                bind_text(b, l.v[i]);
            }
            put(q, ")");
        }
        put(q, ")");
    }
    range(q, b, "o.creation_key", &f->creation);
    range(q, b, "o.service_start_key", &f->service_start);
    range(q, b, "o.service_stop_key", &f->service_stop);
    range(q, b, "o.submission_key", &f->submission);
    range(q, b, "o.last_update_key", &f->last_update);
    for (size_t g = 0; g < f->ncodes; g++) {
        const cg_store_code_group *cg = &f->codes[g];
        put(q, " AND EXISTS (SELECT 1 FROM codes c WHERE c.object_id = o.id AND c.attr = ? AND (0");
        bind_text(b, cg->attr);
        for (size_t i = 0; i < cg->n; i++) {
            if (cg->schemes && cg->schemes[i]) {
                put(q, " OR (c.code = ? AND c.scheme = ?)");
                bind_text(b, cg->codes[i]);
                bind_text(b, cg->schemes[i]);
            } else {
                put(q, " OR c.code = ?");
                bind_text(b, cg->codes[i]);
            }
        }
        put(q, "))");
    }
    for (size_t g = 0; g < f->nauthors; g++) {
        const cg_store_pattern_group *pg = &f->authors[g];
        put(q, " AND EXISTS (SELECT 1 FROM author_persons a WHERE a.object_id = o.id AND (0");
        for (size_t i = 0; i < pg->n; i++) {
            put(q, " OR a.person LIKE ?");
            bind_text(b, pg->patterns[i]);
        }
        put(q, "))");
    }
    for (size_t i = 0; i < f->xml_contains.n; i++) {
        put(q, " AND EXISTS (SELECT 1 FROM object_xml y WHERE y.object_id = o.id AND "
               "instr(y.xml, ?) > 0)");
        bind_text(b, f->xml_contains.v[i]);
    }
    if (f->latest_only)
        put(q, " AND NOT EXISTS (SELECT 1 FROM objects v WHERE v.lid = o.lid AND "
               "v.version > o.version)");
    /* "+ 0": registration order by sorting the (few) rows found, never by walking the whole
     * table in rowid order to spare the sort */
    if (!joined)
        put(q, " ORDER BY o.id + 0");
    if (limit > 0) {
        put(q, " LIMIT ?");
        bind_int(b, (int64_t)limit + 1);
    }
}

static char *
col_dup(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    return t ? cg_xstrndup(t, (size_t)sqlite3_column_bytes(st, i)) : NULL;
}

/* A row found by a joined SELECT, with its rowid, for the sort into registration order. */
typedef struct keyed_row {
    int64_t id;
    cg_store_row row;
} keyed_row;

static int
keyed_cmp(const void *a, const void *b)
{
    int64_t x = ((const keyed_row *)a)->id, y = ((const keyed_row *)b)->id;
    return (x > y) - (x < y);
}

/* Rows first..out->count of a joined SELECT (ids[i - first] their rowids) in rowid order. */
static void
sort_rows(cg_store_rows *out, size_t first, const int64_t *ids)
{
    size_t n = out->count - first;
    if (n < 2)
        return;
    keyed_row *k = cg_xmalloc(n * sizeof(*k));
    for (size_t i = 0; i < n; i++)
        k[i] = (keyed_row){ids[i], out->items[first + i]};
    qsort(k, n, sizeof(*k), keyed_cmp);
    for (size_t i = 0; i < n; i++)
        out->items[first + i] = k[i].row;
    free(k);
}

int
cg_sq_find(void *be, const cg_store_filter *f, size_t limit, int with_xml, cg_store_rows *out,
           cg_err *err)
{
    assert(be != NULL && f != NULL && out != NULL);
    sqlbuf q = {0};
    binds b = {0};
    sqlite3_stmt *st = NULL, *xst = NULL;
    void *handle = NULL;
    int rc = CG_OK;
    int joined = with_xml && (limit == 0 || f->limit_any);
    int64_t *ids = NULL;
    size_t first = out->count, ids_cap = 0;
    build(&q, &b, f, limit, joined);
    if (b.n > MAX_BINDS) {
        rc = cg_err_set(err, CG_ETOOBIG, "cg_store_find: %zu values in one query (at most %d)", b.n,
                        MAX_BINDS);
        goto done;
    }
    sqlite3 *db = cg_sq_reader_get(be, &handle, err);
    if (db == NULL) {
        rc = CG_EIO;
        goto done;
    }
    if ((st = cg_sq_reader_stmt(handle, q.s, err)) == NULL ||
        (with_xml && !joined && (xst = cg_sq_reader_stmt(handle, XML_SQL, err)) == NULL)) {
        rc = CG_EIO;
        goto done;
    }
    int src = SQLITE_OK;
    for (size_t i = 0; i < b.n && src == SQLITE_OK; i++)
        src = b.text[i] ? sqlite3_bind_text(st, (int)i + 1, b.text[i], -1, SQLITE_STATIC)
                        : sqlite3_bind_int64(st, (int)i + 1, b.ints[i]);
    if (src != SQLITE_OK) {
        rc = cg_err_set(err, CG_EIO, "sqlite3_bind(find): %s", sqlite3_errmsg(db));
        goto done;
    }
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        out->items = cg_xgrow(out->items, &out->cap, out->count + 1, sizeof(*out->items));
        cg_store_row *r = &out->items[out->count++];
        memset(r, 0, sizeof(*r));
        r->kind = (cg_obj_kind)sqlite3_column_int(st, 0);
        r->uuid = col_dup(st, 1);
        r->lid = col_dup(st, 2);
        r->status = col_dup(st, 3);
        r->patient_id = col_dup(st, 4);
        r->unique_id = col_dup(st, 5);
        r->object_type = col_dup(st, 6);
        r->assoc_type = col_dup(st, 7);
        r->source = col_dup(st, 8);
        r->target = col_dup(st, 9);
        if (joined) {
            ids = cg_xgrow(ids, &ids_cap, out->count - first, sizeof(*ids));
            ids[out->count - first - 1] = sqlite3_column_int64(st, 10);
            r->xml = col_dup(st, 11);
            r->xml_len = r->xml ? (size_t)sqlite3_column_bytes(st, 11) : 0;
        } else if (with_xml) {
            sqlite3_bind_int64(xst, 1, sqlite3_column_int64(st, 10));
            int xrc = sqlite3_step(xst);
            if (xrc == SQLITE_ROW) {
                r->xml = col_dup(xst, 0);
                r->xml_len = r->xml ? (size_t)sqlite3_column_bytes(xst, 0) : 0;
            } else if (xrc != SQLITE_DONE) {
                src = xrc;
                break;
            }
            sqlite3_reset(xst);
        }
    }
    if (src != SQLITE_DONE)
        rc = cg_err_set(err, CG_EIO, "sqlite3_step(find): %s", sqlite3_errmsg(db));
    else if (joined)
        sort_rows(out, first, ids);
done:
    if (handle) {
        cg_sq_reader_done(handle, st);
        cg_sq_reader_done(handle, xst);
        cg_sq_reader_put(be, handle);
    }
    free(ids);
    free(b.text);
    free(b.ints);
    free(q.s);
    return rc;
}
