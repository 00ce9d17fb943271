/* repository: the XDS Document Repository's half of ITI-41 and ITI-43 (see repository.h). */
#include "repository/repository.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"
#include "validate/validator.h"
#include "xml/memory.h"

/* ITI TF-3 Table 4.2.4.1-2 codes only the repository uses: too much activity to take the
 * request now; one uniqueId on more than one document of a submission. */
#define REPOSITORY_BUSY "XDSRepositoryBusy"
#define REPOSITORY_DUPLICATE_IN_MESSAGE "XDSRepositoryDuplicateUniqueIdInMessage"

struct cg_repository {
    cg_store *store;
    cg_repository_config cfg;
    char *repository_id;
    /* Validation slots: a validation is CPU and memory (the parsed document, the Schematron's
     * working set); workers beyond cfg.validation_slots wait here holding only the bytes. */
    pthread_mutex_t slot_lock;
    pthread_cond_t slot_free;
    unsigned slots_busy;
};

cg_repository *cg_repository_new(cg_store *store, const cg_repository_config *cfg)
{
    cg_repository *repo = cg_xcalloc(1, sizeof(*repo));
    repo->store = store;
    repo->cfg = *cfg;
    repo->repository_id = cg_xstrdup(cfg->repository_id);
    repo->cfg.repository_id = repo->repository_id;
    if (repo->cfg.findings_in_context == 0)
        repo->cfg.findings_in_context = 3;
    pthread_mutex_init(&repo->slot_lock, NULL);
    pthread_cond_init(&repo->slot_free, NULL);
    return repo;
}

void cg_repository_free(cg_repository *repo)
{
    if (!repo)
        return;
    pthread_cond_destroy(&repo->slot_free);
    pthread_mutex_destroy(&repo->slot_lock);
    free(repo->repository_id);
    free(repo);
}

const char *cg_repository_id(const cg_repository *repo)
{
    return repo->repository_id;
}

static const char *entry_name(const cg_ebrim_object *e)
{
    return e->id ? e->id : "(no id)";
}

static void slot_take(cg_repository *repo)
{
    if (repo->cfg.validation_slots == 0)
        return;
    pthread_mutex_lock(&repo->slot_lock);
    while (repo->slots_busy >= repo->cfg.validation_slots)
        pthread_cond_wait(&repo->slot_free, &repo->slot_lock);
    repo->slots_busy++;
    pthread_mutex_unlock(&repo->slot_lock);
}

static void slot_give(cg_repository *repo)
{
    if (repo->cfg.validation_slots == 0)
        return;
    pthread_mutex_lock(&repo->slot_lock);
    repo->slots_busy--;
    pthread_cond_signal(&repo->slot_free);
    pthread_mutex_unlock(&repo->slot_lock);
}

/* The first validation findings of a document, as one codeContext. */
static void repository_validate(cg_repository *repo, const cg_ebrim_object *entry,
                                const cg_repository_doc *doc, cg_errlist *errs)
{
    cg_validator_options o;
    cg_validator_options_default(&o);
    o.profile = repo->cfg.profile;
    o.missing_profile_reason = repo->cfg.profile_missing_reason;
    o.phase = "errors";
    if (repo->cfg.max_document)
        o.limits.max_bytes = repo->cfg.max_document;
    if (repo->cfg.max_depth)
        o.limits.max_depth = repo->cfg.max_depth;
    cg_report report;
    cg_report_init(&report, entry_name(entry));
    cg_err err;
    cg_err_init(&err);
    slot_take(repo);
    int rc = cg_validate_memory(&o, (const char *)doc->data, doc->len, &report, &err);
    slot_give(repo);
    cg_xml_memory_release(); /* the next validation may well run in another worker */
    size_t nerr = rc == CG_OK ? cg_report_count(&report, CG_SEV_ERROR) : 0;
    if (rc != CG_OK) {
        cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REPOSITORY_ERROR, entry->id,
                       "Document %s could not be validated: %s", entry_name(entry), err.msg);
    } else if (nerr > 0) {
        char context[2048];
        size_t used = (size_t)snprintf(context, sizeof(context),
                                       "Document %s fails C-CDA validation (%s): %zu error%s",
                                       entry_name(entry),
                                       report.profile ? report.profile : "well-formedness", nerr,
                                       nerr == 1 ? "" : "s");
        unsigned quoted = 0;
        for (size_t i = 0; i < report.n && quoted < repo->cfg.findings_in_context; i++) {
            const cg_finding *f = &report.v[i];
            if (f->severity != CG_SEV_ERROR || used >= sizeof(context))
                continue;
            used += (size_t)snprintf(context + used, sizeof(context) - used, "; %s%s%s%s%s",
                                     f->id ? f->id : "", f->id ? ": " : "", f->message,
                                     f->location ? " at " : "", f->location ? f->location : "");
            quoted++;
        }
        if (used >= sizeof(context))
            memcpy(context + sizeof(context) - 4, "...", 4);
        cg_ihe_severity sev = repo->cfg.policy == CG_CONTENT_REJECT ? CG_IHE_ERROR : CG_IHE_WARNING;
        cg_errlist_add(errs, sev, CG_XDS_INVALID_DOCUMENT_CONTENT, entry->id, "%s", context);
    }
    cg_report_dispose(&report);
}

int cg_repository_accept(cg_repository *repo, cg_ebrim_submission *sub,
                         const cg_repository_doc *docs, size_t ndocs, cg_pool *pool,
                         cg_store_document **out, size_t *nout, cg_errlist *errs)
{
    size_t before = errs->errors;
    cg_store_document *stored = cg_pool_calloc(pool, ndocs ? ndocs : 1, sizeof(*stored));
    const cg_repository_doc **doc_of = cg_pool_calloc(pool, sub->count + 1, sizeof(*doc_of));
    *out = NULL;
    *nout = 0;

    /* Every Document names a DocumentEntry of this submission, once. */
    for (size_t d = 0; d < ndocs; d++) {
        const cg_repository_doc *doc = &docs[d];
        size_t match = sub->count;
        for (size_t i = 0; i < sub->count; i++)
            if (sub->objects[i].kind == CG_EBRIM_DOCUMENT_ENTRY && sub->objects[i].id &&
                doc->id && strcmp(sub->objects[i].id, doc->id) == 0)
                match = i;
        if (match == sub->count) {
            cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_MISSING_DOCUMENT_METADATA, doc->id,
                           "Document %s has no DocumentEntry with that id in the submission",
                           doc->id ? doc->id : "(no id)");
            continue;
        }
        if (doc_of[match]) {
            cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REPOSITORY_METADATA_ERROR, doc->id,
                           "Document %s is sent more than once", doc->id);
            continue;
        }
        doc_of[match] = doc;
    }

    /* Every DocumentEntry has its Document; supplied hash and size agree with the bytes. */
    for (size_t i = 0; i < sub->count; i++) {
        cg_ebrim_object *entry = &sub->objects[i];
        if (entry->kind != CG_EBRIM_DOCUMENT_ENTRY)
            continue;
        if (entry->object_type && strcmp(entry->object_type, CG_UUID_ONDEMAND_DOCUMENT) == 0) {
            cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REPOSITORY_METADATA_ERROR, entry->id,
                           "DocumentEntry %s is an On-Demand entry, which Provide and Register "
                           "cannot carry",
                           entry_name(entry));
            continue;
        }
        const cg_repository_doc *doc = doc_of[i];
        if (!doc) {
            cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_MISSING_DOCUMENT, entry->id,
                           "DocumentEntry %s has no Document in the request", entry_name(entry));
            continue;
        }
        const char *hash = cg_ebrim_slot_value(entry, "hash");
        if (hash && strcasecmp(hash, doc->sha1) != 0)
            cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REPOSITORY_METADATA_ERROR, entry->id,
                           "DocumentEntry %s: hash %s does not match the document's SHA-1 %s",
                           entry_name(entry), hash, doc->sha1);
        const char *size = cg_ebrim_slot_value(entry, "size");
        char size_text[32];
        snprintf(size_text, sizeof(size_text), "%zu", doc->len);
        if (size && strcmp(size, size_text) != 0)
            cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REPOSITORY_METADATA_ERROR, entry->id,
                           "DocumentEntry %s: size %s does not match the document's %s bytes",
                           entry_name(entry), size, size_text);
        /* a repositoryUniqueId the source supplied is replaced by ours, not refused: the
         * repository "shall add or replace" it (ITI TF-2b 3.41.4.1.3; NIST 12344) */
        if (repo->cfg.policy != CG_CONTENT_OFF && entry->mime_type &&
            (strcmp(entry->mime_type, "text/xml") == 0 ||
             strcmp(entry->mime_type, "application/xml") == 0))
            repository_validate(repo, entry, doc, errs);
        if (errs->errors > before)
            continue;
        cg_ebrim_slot_set(entry, "hash", doc->sha1);
        cg_ebrim_slot_set(entry, "size", size_text);
        cg_ebrim_slot_set(entry, "repositoryUniqueId", repo->repository_id);
        cg_store_document *s = &stored[(*nout)++];
        s->repository_id = repo->repository_id;
        s->unique_id = entry->unique_id;
        s->mime_type = entry->mime_type;
        s->hash = cg_pool_strdup(pool, doc->sha1);
        s->data = doc->data;
        s->len = doc->len;
    }
    if (errs->errors > before) {
        *nout = 0;
        return CG_EINVAL;
    }
    *out = stored;
    return CG_OK;
}

/* The id of the DocumentEntry whose uniqueId is unique_id (the error location), or NULL. */
static const char *entry_of(const cg_ebrim_submission *sub, const char *unique_id)
{
    for (size_t i = 0; sub && i < sub->count; i++)
        if (sub->objects[i].kind == CG_EBRIM_DOCUMENT_ENTRY && sub->objects[i].unique_id &&
            strcmp(sub->objects[i].unique_id, unique_id) == 0)
            return sub->objects[i].id;
    return NULL;
}

static int cmp_unique_id(const void *a, const void *b)
{
    const cg_store_document *const *x = a, *const *y = b;
    return strcmp((*x)->unique_id, (*y)->unique_id);
}

int cg_repository_hold(cg_repository *repo, cg_repository_held *out,
                       const cg_ebrim_submission *sub, const cg_store_document *docs,
                       size_t ndocs, cg_errlist *errs)
{
    memset(out, 0, sizeof(*out));
    cg_id_uuid_urn(out->owner);
    out->docs = docs;
    out->ndocs = ndocs;
    if (ndocs == 0)
        return CG_OK;
    /* The same uniqueId twice: the registry would say so, but only after both were held. */
    const cg_store_document **sorted = cg_pool_calloc(errs->pool, ndocs, sizeof(*sorted));
    for (size_t i = 0; i < ndocs; i++)
        sorted[i] = &docs[i];
    qsort(sorted, ndocs, sizeof(*sorted), cmp_unique_id);
    size_t before = errs->errors;
    for (size_t i = 1; i < ndocs; i++)
        if (strcmp(sorted[i]->unique_id, sorted[i - 1]->unique_id) == 0 &&
            (i < 2 || strcmp(sorted[i]->unique_id, sorted[i - 2]->unique_id) != 0))
            cg_errlist_add(errs, CG_IHE_ERROR, REPOSITORY_DUPLICATE_IN_MESSAGE,
                           entry_of(sub, sorted[i]->unique_id),
                           "uniqueId \"%s\" names more than one document of this submission",
                           sorted[i]->unique_id);
    if (errs->errors > before)
        return CG_EINVAL;

    cg_store_conflicts conflicts;
    cg_err err;
    cg_err_init(&err);
    int rc = cg_store_document_put_pending(repo->store, docs, ndocs, out->owner, &conflicts, &err);
    if (rc == CG_EINVAL && conflicts.count > 0) {
        for (size_t i = 0; i < conflicts.count; i++) {
            const cg_store_conflict *c = &conflicts.items[i];
            const cg_store_document *d = NULL;
            for (size_t k = 0; k < ndocs && !d; k++)
                if (strcmp(docs[k].unique_id, c->id) == 0)
                    d = &docs[k];
            const char *where = entry_of(sub, c->id);
            if (c->pending)
                cg_errlist_add(errs, CG_IHE_ERROR, REPOSITORY_BUSY, where,
                               "document %s is held for another submission still waiting for "
                               "its registry's answer; try again later",
                               c->id);
            else if (d && c->existing_hash[0] && strcasecmp(d->hash, c->existing_hash) != 0)
                cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_NON_IDENTICAL_HASH, where,
                               "uniqueId \"%s\" is stored in repository %s with hash %s; this "
                               "document's hash is %s",
                               c->id, repo->repository_id, c->existing_hash, d->hash);
            else
                cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_DUPLICATE_UNIQUE_ID_IN_REGISTRY, where,
                               "uniqueId \"%s\" is already stored in repository %s (and "
                               "registered)",
                               c->id, repo->repository_id);
        }
    } else if (rc != CG_OK) {
        cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REPOSITORY_ERROR, NULL,
                       "the documents could not be stored: %s", err.msg);
    }
    cg_store_conflicts_dispose(&conflicts);
    return rc;
}

int cg_repository_commit(cg_repository *repo, const cg_repository_held *held, cg_errlist *errs)
{
    cg_store_conflicts missing;
    cg_err err;
    cg_err_init(&err);
    int rc = cg_store_document_commit(repo->store, held->docs, held->ndocs, held->owner, &missing,
                                      &err);
    if (rc == CG_ENOTFOUND) {
        for (size_t i = 0; i < missing.count; i++)
            cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REPOSITORY_ERROR, NULL,
                           "the registry accepted document %s, but repository %s no longer "
                           "held it (deleted as stale while the registry answered)",
                           missing.items[i].id, repo->repository_id);
    } else if (rc != CG_OK) {
        cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REPOSITORY_ERROR, NULL,
                       "the registry accepted the submission, but its documents could not be "
                       "made retrievable: %s",
                       err.msg);
    }
    cg_store_conflicts_dispose(&missing);
    return rc;
}

void cg_repository_discard(cg_repository *repo, const cg_repository_held *held, cg_errlist *errs)
{
    cg_err err;
    cg_err_init(&err);
    if (cg_store_document_discard(repo->store, held->docs, held->ndocs, held->owner, &err) !=
        CG_OK)
        cg_errlist_add(errs, CG_IHE_WARNING, CG_XDS_REPOSITORY_ERROR, NULL,
                       "the documents of this refused submission could not be deleted (%s); "
                       "they are not retrievable and go at a later start",
                       err.msg);
}

int cg_repository_get(cg_repository *repo, const char *unique_id, cg_store_blob *out, cg_err *err)
{
    return cg_store_document_get(repo->store, repo->repository_id, unique_id, out, err);
}

int cg_repository_remove(cg_repository *repo, const char *const *unique_ids, size_t n,
                         cg_store_conflicts *missing, cg_err *err)
{
    cg_store_document *docs = cg_xcalloc(n ? n : 1, sizeof(*docs));
    for (size_t i = 0; i < n; i++) {
        docs[i].repository_id = repo->repository_id;
        docs[i].unique_id = unique_ids[i];
    }
    int rc = cg_store_document_remove(repo->store, docs, n, missing, err);
    free(docs);
    return rc;
}
