/* delete: ITI-62 Delete Document Set in the registry (see delete.h): the store's verdict on a
 * set of objects to delete, turned into IHE error codes. */
#define _POSIX_C_SOURCE 200809L
#include "registry/delete.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ebrim/model.h"
#include "registry/folder.h"
#include "util/str.h"

#define FIND_CHUNK 500 /* uuids per store find (bound parameters) */

static void
report(const cg_store_conflict *c, cg_errlist *errs)
{
    switch (c->kind) {
    case CG_CONFLICT_MISSING:
        cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_UNRESOLVED_REFERENCE, c->id,
                       "ObjectRef %s names no object in this registry; nothing was deleted", c->id);
        return;
    case CG_CONFLICT_REFERENCED:
        cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REFERENCES_EXIST, c->id,
                       "%s %s is referred to by Association %s, which this request does not "
                       "delete; nothing was deleted",
                       cg_store_kind_name(c->existing_kind), c->id, c->related);
        return;
    case CG_CONFLICT_UNREFERENCED:
        cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_UNREFERENCED_OBJECT, c->id,
                       "deleting Association %s would leave %s %s with no Association referring "
                       "to it: delete it too, or keep the Association; nothing was deleted",
                       c->related, cg_store_kind_name(c->existing_kind), c->id);
        return;
    case CG_CONFLICT_UNIQUE_ID:
    case CG_CONFLICT_UUID:
    case CG_CONFLICT_STATUS: break; /* submissions only */
    }
    cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REGISTRY_ERROR, c->id,
                   "the store refused deleting %s; nothing was deleted", c->id);
}

/* Adds patient to the set (bounded; patients are few: one per submission as a rule). */
static void
add_patient(cg_pool *pool, const char *patient, cg_registry_deleted *out)
{
    if (!out || !patient || !*patient || out->npatients == CG_REGISTRY_DELETED_PATIENTS)
        return;
    for (size_t i = 0; i < out->npatients; i++)
        if (strcmp(out->patients[i], patient) == 0)
            return;
    out->patients[out->npatients++] = cg_pool_strdup(pool, patient);
}

/* What the deletion touches besides the objects named: the registered Folders whose contents
 * change (the sources of the HasMember associations deleted that are not deleted themselves;
 * registry/folder.h), and the patients of the objects named (for the audit record). */
static int
touched(cg_registry *reg, cg_pool *pool, const char *const *uuids, size_t n,
        cg_registry_folder_updates *folders, cg_registry_deleted *deleted, cg_errlist *errs)
{
    const char **sorted = cg_pool_calloc(pool, n, sizeof(*sorted));
    memcpy(sorted, uuids, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cg_str_ptr_cmp);
    char now[15];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof now, "%Y%m%d%H%M%S", &tm);
    int rc = CG_OK;
    for (size_t at = 0; rc == CG_OK && at < n; at += FIND_CHUNK) {
        cg_store_filter f = {.kinds = CG_STORE_KIND_DOC | CG_STORE_KIND_SS | CG_STORE_KIND_FOLDER |
                                      CG_STORE_KIND_ASSOC,
                             .uuids = {uuids + at, n - at < FIND_CHUNK ? n - at : FIND_CHUNK}};
        cg_store_rows rows = {0};
        cg_err err;
        cg_err_init(&err);
        if (cg_store_find(cg_registry_store(reg), &f, 0, 0, &rows, &err) != CG_OK) {
            cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REGISTRY_ERROR, NULL,
                           "the registry could not use its store (cg_store_find: %s); nothing "
                           "was deleted",
                           err.msg);
            rc = CG_EIO;
        }
        for (size_t i = 0; rc == CG_OK && i < rows.count; i++) {
            const cg_store_row *r = &rows.items[i];
            add_patient(pool, r->patient_id, deleted);
            const char *src = r->source;
            if (r->kind == CG_OBJ_ASSOCIATION && r->assoc_type &&
                strcmp(r->assoc_type, CG_ASSOC_HAS_MEMBER) == 0 && src &&
                !bsearch(&src, sorted, n, sizeof(*sorted), cg_str_ptr_cmp))
                rc = cg_registry_folder_touch(cg_registry_store(reg), pool, src, now, folders, errs);
        }
        cg_store_rows_dispose(&rows);
    }
    return rc;
}

int
cg_registry_delete(cg_registry *reg, cg_pool *pool, const char *const *uuids, size_t n,
                   cg_registry_deleted *deleted, cg_errlist *errs)
{
    assert(reg != NULL && pool != NULL && errs != NULL && (n == 0 || uuids != NULL));
    if (deleted)
        deleted->npatients = 0;
    cg_registry_folder_updates folders = {0};
    if (touched(reg, pool, uuids, n, &folders, deleted, errs) != CG_OK)
        return CG_EIO;
    cg_store_conflicts conflicts = {0};
    cg_err err;
    cg_err_init(&err);
    int rc = cg_store_delete_objects(cg_registry_store(reg), uuids, n, folders.v, folders.n,
                                     &conflicts, &err);
    if (rc == CG_EINVAL && conflicts.count > 0) {
        for (size_t i = 0; i < conflicts.count; i++)
            report(&conflicts.items[i], errs);
        rc = CG_OK;
    } else if (rc != CG_OK) {
        cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REGISTRY_ERROR, NULL,
                       "the registry could not use its store (cg_store_delete_objects: %s); "
                       "nothing was deleted",
                       err.msg[0] ? err.msg : cg_err_name(err.code));
        rc = CG_EIO;
    }
    cg_store_conflicts_dispose(&conflicts);
    return rc;
}
