/* registry: the XDS Document Registry's submission rules (ITI-42, and the registry half of ITI-41).
 * Owns: checking a submission against the XDS metadata rules with the specific IHE error code for
 * each failure, assigning entryUUIDs to symbolic ids and resolving references, registering the
 * accepted submission (with its documents when the repository is local) in one store transaction.
 * Does not own: SOAP, document bytes and hashes (repository), storage (store). */
#ifndef CG_REGISTRY_REGISTRY_H
#define CG_REGISTRY_REGISTRY_H

#include "ebrim/errlist.h"
#include "ebrim/model.h"
#include "store/store.h"

typedef struct cg_registry_config {
    int check_patients;            /* refuse unknown patient ids (XDSUnknownPatientId); default on */
    const char *home_community_id; /* urn:oid:..., NULL when not configured */
} cg_registry_config;

typedef struct cg_registry cg_registry;

cg_registry *cg_registry_new(cg_store *store, const cg_registry_config *cfg);
void cg_registry_free(cg_registry *reg);

/* Checks every rule, reporting every failure found (not just the first) into errs. When errs
 * holds no error afterwards, amends the tree (entryUUIDs, status Approved, references resolved)
 * and commits objects and `docs` atomically. Returns CG_OK when the request was processed
 * (look at errs->errors for the outcome) and CG_EIO when the store failed (an
 * XDSRegistryError is in errs, nothing was written). */
int cg_registry_submit(cg_registry *reg, cg_ebrim_submission *sub, const cg_store_document *docs,
                       size_t ndocs, cg_errlist *errs);

#endif
