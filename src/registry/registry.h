/* registry: the XDS Document Registry's submission rules (ITI-42, and the registry half of ITI-41).
 * Owns: checking a submission against the XDS metadata rules with the specific IHE error code for
 * each failure, assigning entryUUIDs to symbolic ids and resolving references, registering the
 * accepted submission (with its documents when the repository is local) in one store transaction.
 * Does not own: SOAP, document bytes and hashes (repository), storage (store). */
#ifndef CG_REGISTRY_REGISTRY_H
#define CG_REGISTRY_REGISTRY_H

#include <stddef.h>

#include "ebrim/errlist.h"
#include "ebrim/model.h"
#include "store/store.h"

typedef struct cg_registry_config {
    int check_patients;            /* refuse unknown patient ids (XDSUnknownPatientId); default on.
                                    * Ids merged into another (A40) are refused either way. */
    const char *home_community_id; /* urn:oid:..., NULL when not configured */
    size_t max_query_results;      /* stored queries: more objects is XDSTooManyResults (1000) */
    int multi_patient_queries;     /* ITI-51's two stored queries answered; default off */
} cg_registry_config;

/* check_patients on, no homeCommunityId, 1000 query results, ITI-51 off. */
void cg_registry_config_default(cg_registry_config *out);

typedef struct cg_registry cg_registry;

/* cfg NULL: the defaults. The store is borrowed and must outlive the registry; the registry is
 * read-only after creation and may be shared by threads. */
cg_registry *cg_registry_new(cg_store *store, const cg_registry_config *cfg);
void cg_registry_free(cg_registry *reg);
/* What the registry was made with (for its stored queries, registry/query). */
cg_store *cg_registry_store(const cg_registry *reg);
const cg_registry_config *cg_registry_config_of(const cg_registry *reg);

/* Checks every rule, reporting every failure found (not just the first) into errs. When errs
 * holds no error afterwards, amends the tree (entryUUIDs, status Approved, references resolved)
 * and commits objects and `docs` atomically. Returns CG_OK when the request was processed
 * (look at errs->errors for the outcome) and CG_EIO when the store failed (an
 * XDSRegistryError is in errs, nothing was written). */
int cg_registry_submit(cg_registry *reg, cg_ebrim_submission *sub, const cg_store_document *docs,
                       size_t ndocs, cg_errlist *errs);

/* ITI-57 Update Document Set (ITI TF-2b 3.57): a SubmissionSet with new versions of registered
 * DocumentEntries and Folders (same lid, PreviousVersion on their HasMember: the latest version,
 * which is deprecated when Approved; Folder memberships carried over unless
 * AssociationPropagation is no), UpdateAvailabilityStatus associations (OriginalStatus to
 * NewStatus of a registered object's latest version) and SubmitAssociation associations (a new
 * association between registered objects of one patient). Errors: XDSMetadataUpdateError,
 * XDSMetadataVersionError, XDSMetadataUpdateOperationError, XDSPatientIDReconciliationError,
 * and the metadata rules' codes. All or nothing, like cg_registry_submit; same return values. */
int cg_registry_update(cg_registry *reg, cg_ebrim_submission *sub, cg_errlist *errs);

/* Checks a patient id is an HL7 CX the registry accepts: "ID^^^&OID&ISO" (an ID, no other
 * components, an assigning authority with a valid OID and type ISO; 256 characters at most).
 * CG_EINVAL with the reason in why otherwise. Used by the metadata rules and by
 * `cdagate patient add`. */
int cg_registry_patient_id_check(const char *patient_id, char *why, size_t whylen);

#endif
