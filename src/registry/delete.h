/* delete: the Document Registry's half of ITI-62 Delete Document Set.
 * Owns: deleting registered objects (DocumentEntries, SubmissionSets, Folders, Associations) by
 * entryUUID, all or none, and the IHE error code of each refusal (UnresolvedReferenceException,
 * ReferencesExistException, XDSUnreferencedObjectException).
 * Does not own: SOAP and the RemoveObjectsRequest's shape (svc/xds), the checks themselves, made
 * inside the store's transaction (store), document bytes (ITI-86, repository). */
#ifndef CG_REGISTRY_DELETE_H
#define CG_REGISTRY_DELETE_H

#include <stddef.h>

#include "ebrim/errlist.h"
#include "registry/registry.h"

/* The patients of the objects a deletion names (as registered before it), for its audit record
 * (ITI TF-2b 3.62.5.1); an Association has none, and more than the bound are left out. */
#define CG_REGISTRY_DELETED_PATIENTS 16
typedef struct cg_registry_deleted {
    const char *patients[CG_REGISTRY_DELETED_PATIENTS];
    size_t npatients;
} cg_registry_deleted;

/* Deletes the objects the uuids name (ITI TF-2b 3.62.4.1.3), or nothing:
 * - a uuid naming no registered object: UnresolvedReferenceException;
 * - an object referred to by an Association that is not deleted with it:
 *   ReferencesExistException;
 * - an object that is not deleted but would lose the last Association referring to it (an
 *   Association deleted was it): XDSUnreferencedObjectException.
 * Every refusal is reported (not just the first). The deleted objects' metadata is gone from the
 * database; document bytes stay in the repository. A Folder that loses a member (a HasMember
 * from it deleted) has its lastUpdateTime advanced in the same transaction. deleted (may be
 * NULL) gets the patients of the objects named, whatever the outcome. pool: the request's,
 * for what is computed on the way. CG_OK when the request was processed (look at errs->errors
 * for the outcome); CG_EIO when the store failed (an XDSRegistryError is in errs, nothing was
 * deleted). */
int cg_registry_delete(cg_registry *reg, cg_pool *pool, const char *const *uuids, size_t n,
                       cg_registry_deleted *deleted, cg_errlist *errs);

#endif
