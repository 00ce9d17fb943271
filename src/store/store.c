/* store: the backend-neutral half of the store (see store.h): choosing the backend, the one
 * writer thread with its group-commit queue, and passing reads straight to the backend.
 *
 * Group commit. Every write (a submission, a patient add, pending documents put, committed or
 * discarded) becomes a job on the caller's stack, queued here; the caller then waits on the
 * job's condition variable. The writer thread takes up
 * to commit_batch queued jobs, opens one transaction (begin), applies each job (the backend puts
 * each in its own savepoint, so a refused job is undone alone), commits once (one fsync for the
 * batch), and only then answers each caller with its own result. When the transaction cannot go
 * on (a failing statement, a failing COMMIT) the whole batch is rolled back and every caller of
 * it gets CG_EIO: nothing of theirs was written. Jobs queued meanwhile form the next batch, so
 * the busier the store, the more submissions share one fsync. */
#define _POSIX_C_SOURCE 200809L
#include "store/store.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/backend.h"
#include "util/alloc.h"

const char *
cg_store_kind_name(cg_obj_kind kind)
{
    switch (kind) {
    case CG_OBJ_DOCUMENT_ENTRY: return "DocumentEntry";
    case CG_OBJ_SUBMISSION_SET: return "SubmissionSet";
    case CG_OBJ_FOLDER: return "Folder";
    case CG_OBJ_ASSOCIATION: return "Association";
    }
    return "object";
}

enum { JOB_SUBMIT = 1, JOB_PATIENT, JOB_DOCUMENTS, JOB_MERGE, JOB_DELETE };

typedef struct store_job {
    struct store_job *next;
    int type;
    const cg_store_submission *sub;
    const char *patient_id;
    const char *subsumed; /* JOB_MERGE: patient_id is the surviving id */
    int docs_op; /* JOB_DOCUMENTS: CG_STORE_DOCS_* */
    const cg_store_document *docs;
    size_t ndocs;
    const char *owner;
    const char *const *uuids; /* JOB_DELETE */
    size_t nuuids;
    const cg_store_folder_update *updates;
    size_t nupdates;
    cg_store_conflicts conflicts;
    cg_err err;
    int rc;
    int done;
    pthread_cond_t cond;
} store_job;

struct cg_store {
    const cg_store_backend *be;
    void *impl;
    unsigned batch;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* the writer waits here for work or for the stop */
    pthread_cond_t left; /* cg_store_free waits here for the last caller to leave */
    size_t callers;      /* threads inside run_job */
    store_job *head, *tail;
    size_t queued;
    int stopping;
    int paused;
    int started;
    pthread_t writer;
    int64_t commits, submissions, largest_batch; /* under lock */
};

static const cg_store_backend *const backends[] = {&cg_store_sqlite_backend};

static void
conflicts_clear(cg_store_conflicts *c)
{
    free(c->items);
    c->items = NULL;
    c->count = 0;
}

static int
apply_job(cg_store *st, store_job *j)
{
    if (j->type == JOB_SUBMIT)
        return st->be->apply_submission(st->impl, j->sub, &j->conflicts, &j->err);
    if (j->type == JOB_DOCUMENTS)
        return st->be->apply_documents(st->impl, j->docs_op, j->docs, j->ndocs, j->owner,
                                       &j->conflicts, &j->err);
    if (j->type == JOB_MERGE)
        return st->be->apply_merge(st->impl, j->patient_id, j->subsumed, &j->err);
    if (j->type == JOB_DELETE)
        return st->be->apply_delete(st->impl, j->uuids, j->nuuids, j->updates, j->nupdates,
                                    &j->conflicts, &j->err);
    return st->be->apply_patient(st->impl, j->patient_id, &j->err);
}

/* Runs one batch (a list of jobs) in one transaction; sets every job's rc and err. */
static void
run_batch(cg_store *st, store_job *jobs, size_t njobs)
{
    cg_err err;
    cg_err_init(&err);
    store_job *failed = NULL;
    int began = 0;
    int rc = st->be->begin(st->impl, &err);
    if (rc == CG_OK) {
        began = 1;
        for (store_job *j = jobs; j; j = j->next) {
            j->rc = apply_job(st, j);
            if (j->rc == CG_EIO) {
                failed = j;
                cg_err_set(&err, CG_EIO, "%s", j->err.msg);
                rc = CG_EIO;
                break;
            }
        }
        if (rc == CG_OK)
            rc = st->be->commit(st->impl, &err);
    }
    if (rc != CG_OK) {
        if (began)
            st->be->rollback(st->impl);
        for (store_job *j = jobs; j; j = j->next) {
            conflicts_clear(&j->conflicts);
            cg_err_init(&j->err);
            j->rc = CG_EIO;
            if (failed == NULL || j == failed)
                cg_err_set(&j->err, CG_EIO, "%s", err.msg);
            else
                cg_err_set(&j->err, CG_EIO, "%s (rolled back with its commit group)", err.msg);
        }
        return;
    }
    int64_t committed = 0;
    for (store_job *j = jobs; j; j = j->next)
        if (j->type == JOB_SUBMIT && j->rc == CG_OK)
            committed++;
    pthread_mutex_lock(&st->lock);
    st->commits++;
    st->submissions += committed;
    if ((int64_t)njobs > st->largest_batch)
        st->largest_batch = (int64_t)njobs;
    pthread_mutex_unlock(&st->lock);
}

static void *
writer_main(void *arg)
{
    cg_store *st = arg;
    pthread_mutex_lock(&st->lock);
    for (;;) {
        while ((st->head == NULL || st->paused) && !st->stopping)
            pthread_cond_wait(&st->wake, &st->lock);
        if (st->head == NULL)
            break; /* stopping, and the queue is drained */
        store_job *jobs = st->head, *last = st->head;
        size_t n = 1;
        while (n < st->batch && last->next) {
            last = last->next;
            n++;
        }
        st->head = last->next;
        if (st->head == NULL)
            st->tail = NULL;
        last->next = NULL;
        st->queued -= n;
        pthread_mutex_unlock(&st->lock);

        run_batch(st, jobs, n);

        pthread_mutex_lock(&st->lock);
        for (store_job *j = jobs, *next; j; j = next) {
            next = j->next; /* the caller may return (and its job vanish) once done is set */
            j->done = 1;
            pthread_cond_signal(&j->cond);
        }
        pthread_mutex_unlock(&st->lock);
        st->be->maintain(st->impl);
        pthread_mutex_lock(&st->lock);
    }
    pthread_mutex_unlock(&st->lock);
    return NULL;
}

/* Queues a job and waits for the writer's answer. */
static void
run_job(cg_store *st, store_job *job)
{
    job->next = NULL;
    job->done = 0;
    cg_err_init(&job->err);
    pthread_cond_init(&job->cond, NULL);
    pthread_mutex_lock(&st->lock);
    if (st->stopping) {
        job->rc = cg_err_set(&job->err, CG_EIO, "cg_store: the store is closing");
    } else {
        st->callers++;
        if (st->tail)
            st->tail->next = job;
        else
            st->head = job;
        st->tail = job;
        st->queued++;
        pthread_cond_signal(&st->wake);
        while (!job->done)
            pthread_cond_wait(&job->cond, &st->lock);
        /* the store may be freed once the last caller has left it */
        if (--st->callers == 0 && st->stopping)
            pthread_cond_signal(&st->left);
    }
    pthread_mutex_unlock(&st->lock);
    pthread_cond_destroy(&job->cond);
}

int
cg_store_open(cg_store **out, const cg_store_config *cfg, cg_err *err)
{
    assert(out && cfg && cfg->data_dir);
    *out = NULL;
    const cg_store_backend *be = NULL;
    const char *name = cfg->backend ? cfg->backend : "sqlite";
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (strcmp(backends[i]->name, name) == 0)
            be = backends[i];
    if (be == NULL)
        return cg_err_set(err, CG_EINVAL, "cg_store_open: unknown store backend \"%s\"", name);

    cg_store_config c = *cfg;
    if (c.readers == 0)
        c.readers = 8;
    if (c.commit_batch == 0)
        c.commit_batch = 64;
    if (c.busy_timeout_ms <= 0)
        c.busy_timeout_ms = 5000;
    c.backend = be->name;

    void *impl = NULL;
    int rc = be->open(&impl, &c, err);
    if (rc != CG_OK)
        return rc;
    cg_store *st = cg_xcalloc(1, sizeof(*st));
    st->be = be;
    st->impl = impl;
    st->batch = c.commit_batch;
    pthread_mutex_init(&st->lock, NULL);
    pthread_cond_init(&st->wake, NULL);
    pthread_cond_init(&st->left, NULL);
    int e = pthread_create(&st->writer, NULL, writer_main, st);
    if (e != 0) {
        rc = cg_err_set(err, CG_EIO, "pthread_create(store writer): %s", strerror(e));
        cg_store_free(st);
        return rc;
    }
    st->started = 1;
    *out = st;
    return CG_OK;
}

void
cg_store_free(cg_store *store)
{
    if (store == NULL)
        return;
    if (store->started) {
        pthread_mutex_lock(&store->lock);
        store->stopping = 1;
        store->paused = 0;
        pthread_cond_signal(&store->wake);
        pthread_mutex_unlock(&store->lock);
        pthread_join(store->writer, NULL); /* the writer drains the queue first */
        pthread_mutex_lock(&store->lock);
        while (store->callers > 0) /* answered callers still returning from run_job */
            pthread_cond_wait(&store->left, &store->lock);
        pthread_mutex_unlock(&store->lock);
    }
    store->be->close(store->impl);
    pthread_cond_destroy(&store->left);
    pthread_cond_destroy(&store->wake);
    pthread_mutex_destroy(&store->lock);
    free(store);
}

static const char *
conflict_text(const cg_store_conflict *c)
{
    switch (c->kind) {
    case CG_CONFLICT_UNIQUE_ID: return "unique id already registered";
    case CG_CONFLICT_UUID: return "entryUUID already registered";
    case CG_CONFLICT_MISSING: return "referenced object not found";
    case CG_CONFLICT_STATUS: return "object no longer in the expected status";
    case CG_CONFLICT_REFERENCED: return "object referred to by an association that stays";
    case CG_CONFLICT_UNREFERENCED: return "object left without any association referring to it";
    }
    return "conflict";
}

int
cg_store_submit(cg_store *store, const cg_store_submission *sub, cg_store_conflicts *conflicts,
                cg_err *err)
{
    assert(store && sub);
    assert(sub->nobjects == 0 || sub->objects);
    assert(sub->ndocuments == 0 || sub->documents);
    assert(sub->nreferences == 0 || sub->references);
    if (conflicts) {
        conflicts->items = NULL;
        conflicts->count = 0;
    }
    store_job job;
    memset(&job, 0, sizeof job);
    job.type = JOB_SUBMIT;
    job.sub = sub;
    run_job(store, &job);
    if (job.rc == CG_EINVAL && job.conflicts.count > 0 && job.err.msg[0] == '\0')
        cg_err_set(&job.err, CG_EINVAL, "cg_store_submit: %zu conflict(s), first: %s: %s",
                   job.conflicts.count, conflict_text(&job.conflicts.items[0]),
                   job.conflicts.items[0].id);
    if (job.rc != CG_OK)
        cg_err_set(err, job.rc, "%s", job.err.msg);
    if (conflicts)
        *conflicts = job.conflicts;
    else
        conflicts_clear(&job.conflicts);
    return job.rc;
}

void
cg_store_conflicts_dispose(cg_store_conflicts *conflicts)
{
    if (conflicts)
        conflicts_clear(conflicts);
}

int
cg_store_document_get(cg_store *store, const char *repository_id, const char *unique_id,
                      cg_store_blob *out, cg_err *err)
{
    assert(store && repository_id && unique_id && out);
    memset(out, 0, sizeof(*out));
    return store->be->document_get(store->impl, repository_id, unique_id, out, err);
}

void
cg_store_blob_dispose(cg_store_blob *blob)
{
    if (blob == NULL)
        return;
    free(blob->data);
    free(blob->mime_type);
    memset(blob, 0, sizeof(*blob));
}

/* One pending-documents job (put_pending, commit, discard) through the writer. */
static int
documents_job(cg_store *store, int op, const char *what, const cg_store_document *docs,
              size_t ndocs, const char *owner, cg_store_conflicts *conflicts, cg_err *err)
{
    assert(store && owner && (ndocs == 0 || docs));
    assert(strlen(owner) <= 64);
    if (conflicts) {
        conflicts->items = NULL;
        conflicts->count = 0;
    }
    if (ndocs == 0)
        return CG_OK;
    store_job job;
    memset(&job, 0, sizeof job);
    job.type = JOB_DOCUMENTS;
    job.docs_op = op;
    job.docs = docs;
    job.ndocs = ndocs;
    job.owner = owner;
    run_job(store, &job);
    if (job.rc == CG_OK && op == CG_STORE_DOCS_COMMIT && job.conflicts.count > 0)
        job.rc = cg_err_set(&job.err, CG_ENOTFOUND,
                            "%s: %zu document(s) no longer pending under %s, first: %s", what,
                            job.conflicts.count, owner, job.conflicts.items[0].id);
    if (job.rc == CG_EINVAL && job.conflicts.count > 0 && job.err.msg[0] == '\0')
        cg_err_set(&job.err, CG_EINVAL, "%s: %zu conflict(s), first: %s: %s", what,
                   job.conflicts.count,
                   job.conflicts.items[0].pending ? "uniqueId pending in another submission"
                                                  : conflict_text(&job.conflicts.items[0]),
                   job.conflicts.items[0].id);
    if (job.rc != CG_OK)
        cg_err_set(err, job.rc, "%s", job.err.msg);
    if (conflicts)
        *conflicts = job.conflicts;
    else
        conflicts_clear(&job.conflicts);
    return job.rc;
}

int
cg_store_document_put_pending(cg_store *store, const cg_store_document *docs, size_t ndocs,
                              const char *owner, cg_store_conflicts *conflicts, cg_err *err)
{
    return documents_job(store, CG_STORE_DOCS_PENDING, "cg_store_document_put_pending", docs, ndocs,
                         owner, conflicts, err);
}

int
cg_store_document_commit(cg_store *store, const cg_store_document *docs, size_t ndocs,
                         const char *owner, cg_store_conflicts *missing, cg_err *err)
{
    return documents_job(store, CG_STORE_DOCS_COMMIT, "cg_store_document_commit", docs, ndocs,
                         owner, missing, err);
}

int
cg_store_document_discard(cg_store *store, const cg_store_document *docs, size_t ndocs,
                          const char *owner, cg_err *err)
{
    return documents_job(store, CG_STORE_DOCS_DISCARD, "cg_store_document_discard", docs, ndocs,
                         owner, NULL, err);
}

int
cg_store_document_remove(cg_store *store, const cg_store_document *docs, size_t ndocs,
                         cg_store_conflicts *missing, cg_err *err)
{
    int rc = documents_job(store, CG_STORE_DOCS_REMOVE, "cg_store_document_remove", docs, ndocs,
                           "", missing, err);
    return rc == CG_OK && missing->count > 0 ? CG_ENOTFOUND : rc;
}

int
cg_store_delete_objects(cg_store *store, const char *const *uuids, size_t n,
                        const cg_store_folder_update *updates, size_t nupdates,
                        cg_store_conflicts *conflicts, cg_err *err)
{
    assert(store && (n == 0 || uuids) && (nupdates == 0 || updates) && conflicts);
    conflicts->items = NULL;
    conflicts->count = 0;
    if (n == 0)
        return CG_OK;
    store_job job;
    memset(&job, 0, sizeof job);
    job.type = JOB_DELETE;
    job.uuids = uuids;
    job.nuuids = n;
    job.updates = updates;
    job.nupdates = nupdates;
    run_job(store, &job);
    if (job.rc == CG_EINVAL && job.conflicts.count > 0 && job.err.msg[0] == '\0')
        cg_err_set(&job.err, CG_EINVAL, "cg_store_delete_objects: %zu conflict(s), first: %s: %s",
                   job.conflicts.count, conflict_text(&job.conflicts.items[0]),
                   job.conflicts.items[0].id);
    if (job.rc != CG_OK)
        cg_err_set(err, job.rc, "%s", job.err.msg);
    *conflicts = job.conflicts;
    return job.rc;
}

int
cg_store_find(cg_store *store, const cg_store_filter *filter, size_t limit, int with_xml,
              cg_store_rows *out, cg_err *err)
{
    assert(store != NULL && filter != NULL && out != NULL);
    return store->be->find(store->impl, filter, limit, with_xml, out, err);
}

int
cg_store_patient_family(cg_store *store, const char *patient_id, cg_store_family_fn fn, void *ctx,
                        cg_err *err)
{
    assert(store && patient_id && fn);
    return store->be->patient_family(store->impl, patient_id, fn, ctx, err);
}

int
cg_store_read_begin(cg_store *store, cg_err *err)
{
    assert(store != NULL);
    return store->be->read_begin(store->impl, err);
}

void
cg_store_read_end(cg_store *store)
{
    assert(store != NULL);
    store->be->read_end(store->impl);
}

void
cg_store_rows_dispose(cg_store_rows *rows)
{
    if (rows == NULL)
        return;
    for (size_t i = 0; i < rows->count; i++) {
        cg_store_row *r = &rows->items[i];
        free(r->uuid);
        free(r->lid);
        free(r->status);
        free(r->patient_id);
        free(r->unique_id);
        free(r->object_type);
        free(r->assoc_type);
        free(r->source);
        free(r->target);
        free(r->xml);
    }
    free(rows->items);
    memset(rows, 0, sizeof(*rows));
}

int
cg_store_object_xml(cg_store *store, const char *uuid, char **out, size_t *len, cg_err *err)
{
    assert(store && uuid && out);
    *out = NULL;
    if (len)
        *len = 0;
    return store->be->object_xml(store->impl, uuid, out, len, err);
}

int
cg_store_patient_add(cg_store *store, const char *patient_id, cg_err *err)
{
    assert(store && patient_id);
    store_job job;
    memset(&job, 0, sizeof job);
    job.type = JOB_PATIENT;
    job.patient_id = patient_id;
    run_job(store, &job);
    if (job.rc != CG_OK)
        cg_err_set(err, job.rc, "%s", job.err.msg);
    return job.rc;
}

int
cg_store_patient_known(cg_store *store, const char *patient_id, int *out, cg_err *err)
{
    assert(store && patient_id && out);
    *out = 0;
    return store->be->patient_known(store->impl, patient_id, out, err);
}

int
cg_store_patient_list(cg_store *store, cg_store_patient_fn fn, void *ctx, cg_err *err)
{
    assert(store && fn);
    return store->be->patient_list(store->impl, fn, ctx, err);
}

int
cg_store_patient_merge(cg_store *store, const char *surviving, const char *subsumed, cg_err *err)
{
    assert(store && surviving && subsumed);
    store_job job;
    memset(&job, 0, sizeof job);
    job.type = JOB_MERGE;
    job.patient_id = surviving;
    job.subsumed = subsumed;
    run_job(store, &job);
    if (job.rc != CG_OK)
        cg_err_set(err, job.rc, "%s", job.err.msg);
    return job.rc;
}

int
cg_store_patient_lookup(cg_store *store, const char *patient_id, int *known, char **merged_into,
                        cg_err *err)
{
    assert(store && patient_id && known && merged_into);
    *known = 0;
    *merged_into = NULL;
    return store->be->patient_lookup(store->impl, patient_id, known, merged_into, err);
}

int
cg_store_patient_merges(cg_store *store, cg_store_merge_fn fn, void *ctx, cg_err *err)
{
    assert(store && fn);
    return store->be->patient_merges(store->impl, fn, ctx, err);
}

int
cg_store_stats_get(cg_store *store, cg_store_stats *out, cg_err *err)
{
    assert(store && out);
    memset(out, 0, sizeof(*out));
    int rc = store->be->stats(store->impl, out, err);
    pthread_mutex_lock(&store->lock);
    out->commits = store->commits;
    out->submissions = store->submissions;
    out->largest_batch = store->largest_batch;
    out->queued = (int64_t)store->queued;
    pthread_mutex_unlock(&store->lock);
    return rc;
}

int
cg_store_dtm_key(const char *dtm, int64_t *out)
{
    assert(out);
    if (dtm == NULL)
        return 0;
    size_t n = strlen(dtm);
    if (n < 4 || n > 14 || n % 2 != 0)
        return 0;
    int64_t key = 0;
    for (size_t i = 0; i < 14; i++) {
        int digit = 0;
        if (i < n) {
            if (dtm[i] < '0' || dtm[i] > '9')
                return 0;
            digit = dtm[i] - '0';
        }
        key = key * 10 + digit;
    }
    *out = key;
    return 1;
}

void
cg_store_debug_fail_after(cg_store *store, long n)
{
    assert(store && n >= 0);
    store->be->fail_after(store->impl, n);
}

void
cg_store_debug_pause(cg_store *store, int paused)
{
    assert(store);
    pthread_mutex_lock(&store->lock);
    store->paused = paused != 0;
    pthread_cond_signal(&store->wake);
    pthread_mutex_unlock(&store->lock);
}
