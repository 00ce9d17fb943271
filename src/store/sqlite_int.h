/* sqlite_int: what the SQLite backend's files share (sqlite.c and sqlite_query.c).
 * Owns: lending a pooled read-only connection to the backend's other files.
 * Does not own: the schema or the writer (sqlite.c), stored-query SQL (sqlite_query.c).
 * Only the SQLite backend's own files include this header. */
#ifndef CG_STORE_SQLITE_INT_H
#define CG_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "store/backend.h"

/* A read-only connection of the pool (opened when none is idle); NULL with err set on failure.
 * *handle is what cg_sq_reader_put takes back. Any thread. */
sqlite3 *cg_sq_reader_get(void *be, void **handle, cg_err *err);
void cg_sq_reader_put(void *be, void *handle);
/* A prepared statement of sql on the lent connection `handle`: one of the connection's recently
 * used statements (a query of the same shape prepared before), or prepared now, and kept when
 * sql is short. NULL with err set on failure. Give it back with cg_sq_reader_done before the
 * connection goes back to the pool. */
sqlite3_stmt *cg_sq_reader_stmt(void *handle, const char *sql, cg_err *err);
/* Resets st and clears its bindings when the connection keeps it; finalizes it otherwise. */
void cg_sq_reader_done(void *handle, sqlite3_stmt *st);

/* backend.h's find (sqlite_query.c). */
int cg_sq_find(void *be, const cg_store_filter *filter, size_t limit, int with_xml,
               cg_store_rows *out, cg_err *err);

#endif
