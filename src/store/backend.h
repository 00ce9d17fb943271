/* backend: what a storage backend (sqlite.c now, a PostgreSQL one later) gives the store.
 * Owns: the table of operations store.c calls. Does not own: the group-commit queue and the
 * writer thread (store.c), or any SQL (each backend's own file). Only store.c and the backends
 * include this header. */
#ifndef CG_STORE_BACKEND_H
#define CG_STORE_BACKEND_H

#include "store/store.h"

/* The writer operations are called from the store's one writer thread only, in this order for a
 * batch: begin, then apply_* for each queued job, then commit (or rollback), then maintain.
 * apply_* return CG_OK; CG_EINVAL when this job alone is refused (its changes are undone, the
 * transaction goes on); CG_EIO when the transaction cannot go on (store.c then calls rollback and
 * fails the whole batch). The read operations may be called from any thread at any time. */
enum { CG_STORE_DOCS_PENDING = 1, CG_STORE_DOCS_COMMIT, CG_STORE_DOCS_DISCARD, CG_STORE_DOCS_REMOVE };

typedef struct cg_store_backend {
    const char *name;
    int (*open)(void **out, const cg_store_config *cfg, cg_err *err);
    void (*close)(void *be);

    int (*begin)(void *be, cg_err *err);
    int (*apply_submission)(void *be, const cg_store_submission *sub, cg_store_conflicts *conflicts,
                            cg_err *err);
    int (*apply_patient)(void *be, const char *patient_id, cg_err *err);
    /* Pending repository documents (see cg_store_document_put_pending): op is one of
     * CG_STORE_DOCS_*. PENDING refuses with CG_EINVAL and conflicts like apply_submission;
     * COMMIT records in conflicts (CG_CONFLICT_MISSING) the documents not pending under owner
     * and returns CG_OK; DISCARD returns CG_OK; REMOVE deletes retrievable documents (owner
     * unused), recording those not found like COMMIT, and returns CG_OK. */
    int (*apply_documents)(void *be, int op, const cg_store_document *docs, size_t ndocs,
                           const char *owner, cg_store_conflicts *conflicts, cg_err *err);
    int (*commit)(void *be, cg_err *err);
    void (*rollback)(void *be);
    /* Between batches, after the callers were answered (e.g. a WAL checkpoint). */
    void (*maintain)(void *be);
    /* Tests: the Nth writer statement from now fails with an I/O error (0: none). */
    void (*fail_after)(void *be, long n);

    int (*document_get)(void *be, const char *repository_id, const char *unique_id,
                        cg_store_blob *out, cg_err *err);
    int (*object_xml)(void *be, const char *uuid, char **out, size_t *len, cg_err *err);
    int (*patient_known)(void *be, const char *patient_id, int *out, cg_err *err);
    int (*patient_list)(void *be, cg_store_patient_fn fn, void *ctx, cg_err *err);
    /* Patient merges (see cg_store_patient_merge): apply_merge is a writer operation like
     * apply_patient; CG_ENOTFOUND and CG_EINVAL refuse this job alone. */
    int (*apply_merge)(void *be, const char *surviving, const char *subsumed, cg_err *err);
    int (*patient_lookup)(void *be, const char *patient_id, int *known, char **merged_into,
                          cg_err *err);
    int (*patient_merges)(void *be, cg_store_merge_fn fn, void *ctx, cg_err *err);
    int (*patient_family)(void *be, const char *patient_id, cg_store_family_fn fn, void *ctx,
                          cg_err *err);
    /* One read transaction for the calling thread's reads (see cg_store_read_begin). */
    int (*read_begin)(void *be, cg_err *err);
    void (*read_end)(void *be);
    /* Stored queries (see cg_store_find). */
    int (*find)(void *be, const cg_store_filter *filter, size_t limit, int with_xml,
                cg_store_rows *out, cg_err *err);
    /* Fills the persistent counts and schema_version; store.c adds its own counters. */
    int (*stats)(void *be, cg_store_stats *out, cg_err *err);
    /* Deleting registered objects (see cg_store_delete_objects): a writer operation like
     * apply_submission (its own savepoint; CG_EINVAL with conflicts refuses this job alone). */
    int (*apply_delete)(void *be, const char *const *uuids, size_t n,
                        const cg_store_folder_update *updates, size_t nupdates,
                        cg_store_conflicts *conflicts, cg_err *err);
} cg_store_backend;

extern const cg_store_backend cg_store_sqlite_backend;

#endif
