/* folder: the registry's upkeep of a Folder's lastUpdateTime (ITI TF-3 4.1.1: the most recent
 * time the Folder's contents changed, kept by the registry).
 * Owns: the new stored XML and indexed value of a registered Folder whose contents change.
 * Does not own: deciding which Folders change (registry.c for submissions, delete.c for ITI-62),
 * writing them (store, in the transaction that changes the contents). */
#ifndef CG_REGISTRY_FOLDER_H
#define CG_REGISTRY_FOLDER_H

#include <stddef.h>

#include "ebrim/errlist.h"
#include "store/store.h"

/* Folders to update, in a request's pool. */
typedef struct cg_registry_folder_updates {
    cg_store_folder_update *v;
    size_t n, cap;
} cg_registry_folder_updates;

/* Adds the registered Folder `uuid` with lastUpdateTime `now` (a 14-digit UTC DTM) to out, once:
 * its stored XML with the lastUpdateTime slot set. Nothing when uuid names no registered Folder.
 * CG_OK; CG_EIO when the store cannot be read (an XDSRegistryError in errs). */
int cg_registry_folder_touch(cg_store *store, cg_pool *pool, const char *uuid, const char *now,
                             cg_registry_folder_updates *out, cg_errlist *errs);

#endif
