/* repository: the XDS Document Repository's half of ITI-41 and ITI-43.
 * Owns: matching each submitted Document to its DocumentEntry, the size and SHA-1 checks and the
 * slots the repository sets (hash, size, repositoryUniqueId), the C-CDA content policy (validate
 * with the installed profile: reject, warn or off), holding documents while a remote registry
 * decides on their metadata, and retrieving stored bytes by uniqueId.
 * Does not own: metadata rules and registration (registry), SOAP and MTOM (transport, svc),
 * storage (store). */
#ifndef CG_REPOSITORY_REPOSITORY_H
#define CG_REPOSITORY_REPOSITORY_H

#include <stddef.h>

#include "ebrim/errlist.h"
#include "ebrim/model.h"
#include "store/store.h"
#include "util/id.h"
#include "validate/profile.h"

typedef enum cg_content_policy {
    CG_CONTENT_OFF = 0,    /* documents are stored as received */
    CG_CONTENT_WARN = 1,   /* validation errors come back as warnings; the document is stored */
    CG_CONTENT_REJECT = 2  /* validation errors refuse the submission (InvalidDocumentContent) */
} cg_content_policy;

typedef struct cg_repository_config {
    const char *repository_id;  /* our repositoryUniqueId (an OID) */
    cg_content_policy policy;
    const cg_profile *profile;  /* opened once, shared; NULL when no profile is installed */
    const char *profile_missing_reason;
    size_t max_document;        /* bytes of one document */
    unsigned max_depth;         /* XML nesting of a validated document */
    unsigned findings_in_context; /* validation findings quoted in codeContext (default 3) */
    unsigned validation_slots;    /* documents validated at once; more wait (0: no limit) */
} cg_repository_config;

typedef struct cg_repository cg_repository;

cg_repository *cg_repository_new(cg_store *store, const cg_repository_config *cfg);
void cg_repository_free(cg_repository *repo);
const char *cg_repository_id(const cg_repository *repo);

/* One Document of a ProvideAndRegisterDocumentSetRequest. */
typedef struct cg_repository_doc {
    const char *id;            /* the Document's id attribute: a DocumentEntry id */
    const unsigned char *data;
    size_t len;
    const char *sha1;          /* hex */
} cg_repository_doc;

/* Checks the documents against their DocumentEntries (XDSMissingDocument,
 * XDSMissingDocumentMetadata, XDSRepositoryMetadataError for a supplied hash or size that does
 * not match), applies the content policy, and sets hash, size and repositoryUniqueId slots on
 * each DocumentEntry. On success *out holds one cg_store_document per document (pool memory)
 * for the registry to commit with the metadata. Every problem found goes into errs. */
int cg_repository_accept(cg_repository *repo, cg_ebrim_submission *sub,
                         const cg_repository_doc *docs, size_t ndocs, cg_pool *pool,
                         cg_store_document **out, size_t *nout, cg_errlist *errs);

/* With a remote registry (ITI-41 forwarded as ITI-42), the accepted documents are held first:
 * stored durably but not retrievable, their uniqueIds taken. When the registry accepts the
 * metadata they are committed (retrievable from then on); when it refuses, or cannot be asked,
 * they are discarded. Documents a crash leaves held are never retrievable and are deleted at a
 * later start (cg_store_config.pending_max_age_s). */
typedef struct cg_repository_held {
    char owner[CG_UUID_URN_LEN + 1]; /* this attempt, a urn:uuid */
    const cg_store_document *docs;   /* borrowed from the caller (pool memory) */
    size_t ndocs;
} cg_repository_held;

/* Holds docs (cg_repository_accept's output). Refusals go into errs: the same uniqueId twice
 * (XDSRepositoryDuplicateUniqueIdInMessage), a uniqueId this repository already holds
 * (XDSNonIdenticalHash when the bytes differ, XDSDuplicateUniqueIdInRegistry otherwise) or
 * holds for another submission still waiting for its registry (XDSRepositoryBusy), a store
 * failure (XDSRepositoryError). CG_OK when held; then nothing is written otherwise. */
int cg_repository_hold(cg_repository *repo, cg_repository_held *out,
                       const cg_ebrim_submission *sub, const cg_store_document *docs,
                       size_t ndocs, cg_errlist *errs);
/* The registry accepted: the held documents become retrievable. XDSRepositoryError in errs
 * (and CG_EIO or CG_ENOTFOUND) when they could not be. */
int cg_repository_commit(cg_repository *repo, const cg_repository_held *held, cg_errlist *errs);
/* The registry refused or could not be asked: the held documents are deleted. A failure to
 * delete them is a warning in errs (they stay invisible until a later start deletes them). */
void cg_repository_discard(cg_repository *repo, const cg_repository_held *held, cg_errlist *errs);

/* A stored document. CG_ENOTFOUND when this repository does not hold it. */
int cg_repository_get(cg_repository *repo, const char *unique_id, cg_store_blob *out, cg_err *err);

/* ITI-86 Remove Documents: deletes these documents from this repository, in one durable
 * transaction (their metadata stays in the registry: that is ITI-62). CG_OK when all were
 * removed; CG_ENOTFOUND when some were not stored here (`missing` names them, kind
 * CG_CONFLICT_MISSING; the others are removed); CG_EIO: nothing changed. */
int cg_repository_remove(cg_repository *repo, const char *const *unique_ids, size_t n,
                         cg_store_conflicts *missing, cg_err *err);

#endif
