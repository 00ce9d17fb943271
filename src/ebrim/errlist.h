/* errlist: the IHE errors and warnings one request collects.
 * Owns: the list of (severity, IHE error code, context, location) that a transaction answers with
 * in its RegistryErrorList; the RegistryResponse status it implies. Does not own: the SOAP
 * encoding of that list (ebrim/write) or SOAP faults (transport). */
#ifndef CG_EBRIM_ERRLIST_H
#define CG_EBRIM_ERRLIST_H

#include <stddef.h>

#include "util/pool.h"

/* IHE error codes used across modules (ITI TF-3 Table 4.2.4.1-2 and ebRS 3.0). */
#define CG_XDS_REGISTRY_ERROR "XDSRegistryError"
#define CG_XDS_REGISTRY_METADATA_ERROR "XDSRegistryMetadataError"
#define CG_XDS_REPOSITORY_ERROR "XDSRepositoryError"
#define CG_XDS_REPOSITORY_METADATA_ERROR "XDSRepositoryMetadataError"
#define CG_XDS_MISSING_DOCUMENT "XDSMissingDocument"
#define CG_XDS_MISSING_DOCUMENT_METADATA "XDSMissingDocumentMetadata"
#define CG_XDS_PATIENT_ID_DOES_NOT_MATCH "XDSPatientIdDoesNotMatch"
#define CG_XDS_UNKNOWN_PATIENT_ID "XDSUnknownPatientId"
#define CG_XDS_DUPLICATE_UNIQUE_ID_IN_REGISTRY "XDSDuplicateUniqueIdInRegistry"
#define CG_XDS_DUPLICATE_UNIQUE_ID_IN_MESSAGE "XDSRegistryDuplicateUniqueIdInMessage"
#define CG_XDS_NON_IDENTICAL_HASH "XDSNonIdenticalHash"
#define CG_XDS_NON_IDENTICAL_SIZE "XDSNonIdenticalSize"
#define CG_XDS_UNRESOLVED_REFERENCE "UnresolvedReferenceException"
#define CG_XDS_DEPRECATED_DOCUMENT "XDSRegistryDeprecatedDocumentError"
#define CG_XDS_EXTRA_METADATA_NOT_SAVED "XDSExtraMetadataNotSaved"
#define CG_XDS_REGISTRY_NOT_AVAILABLE "XDSRegistryNotAvailable"
#define CG_XDS_REGISTRY_BUSY "XDSRegistryBusy"
#define CG_XDS_DOCUMENT_UNIQUE_ID_ERROR "XDSDocumentUniqueIdError"
#define CG_XDS_UNKNOWN_REPOSITORY_ID "XDSUnknownRepositoryId"
#define CG_XDS_REGISTRY_OUT_OF_RESOURCES "XDSRegistryOutOfResources"
#define CG_XDS_REPOSITORY_OUT_OF_RESOURCES "XDSRepositoryOutOfResources"
#define CG_XDS_INVALID_REQUEST "XDSInvalidRequestException"
#define CG_XDS_INVALID_DOCUMENT_CONTENT "InvalidDocumentContent"
/* ITI-62 Delete Document Set (ebRS 3.0 and the XDS Metadata Update supplement) */
#define CG_XDS_REFERENCES_EXIST "ReferencesExistException"
#define CG_XDS_UNREFERENCED_OBJECT "XDSUnreferencedObjectException"
/* ITI-57 Metadata Update (ITI TF-2b 3.57.4.1.3.4) */
#define CG_XDS_METADATA_UPDATE_ERROR "XDSMetadataUpdateError"
#define CG_XDS_METADATA_VERSION_ERROR "XDSMetadataVersionError"
#define CG_XDS_METADATA_UPDATE_OPERATION_ERROR "XDSMetadataUpdateOperationError"
#define CG_XDS_PATIENT_ID_RECONCILIATION_ERROR "XDSPatientIDReconciliationError"
/* XCA (ITI TF-2b 3.38, 3.39) */
#define CG_XDS_UNKNOWN_COMMUNITY "XDSUnknownCommunity"
#define CG_XDS_MISSING_HOME_COMMUNITY_ID "XDSMissingHomeCommunityId"
#define CG_XDS_UNAVAILABLE_COMMUNITY "XDSUnavailableCommunity"

/* Named apart from validate/report.h's finding severities: both meet in the repository. */
typedef enum cg_ihe_severity { CG_IHE_WARNING = 1, CG_IHE_ERROR = 2 } cg_ihe_severity;

typedef struct cg_ihe_error {
    cg_ihe_severity severity;
    const char *code;     /* an IHE error code (the constants above) */
    const char *context;  /* codeContext: what was wrong, naming the object */
    const char *location; /* optional: the object id, or our homeCommunityId for XCA */
} cg_ihe_error;

typedef struct cg_errlist {
    cg_pool *pool; /* strings and entries live here */
    cg_ihe_error *items;
    size_t count;
    size_t cap;
    size_t errors; /* entries with CG_IHE_ERROR */
} cg_errlist;

void cg_errlist_init(cg_errlist *list, cg_pool *pool);
/* Appends an entry; context is printf-style and copied into the pool. */
void cg_errlist_add(cg_errlist *list, cg_ihe_severity sev, const char *code, const char *location,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int cg_errlist_has_code(const cg_errlist *list, const char *code);

/* RegistryResponse status implied by the list: Success when no errors, Failure otherwise;
 * PartialSuccess only when the caller says some of the work succeeded. */
#define CG_RS_SUCCESS "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
#define CG_RS_FAILURE "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
#define CG_RS_PARTIAL "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess"
const char *cg_errlist_status(const cg_errlist *list, int some_succeeded);

#endif
