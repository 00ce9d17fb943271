/* audit: the IHE ATNA audit record of one transaction, as a DICOM audit message (PS3.15 A.5).
 * Owns: the event a request collects while it is served (transaction, outcome, the other side,
 * patients, submission set, documents, query), the table of IHE codes per transaction (ITI TF-2
 * "Security Considerations / Audit Record Considerations" of each transaction), and writing the
 * AuditMessage XML with libxml2. Does not own: where records go and how they survive restarts
 * (audit/sink), what a request body means (svc handlers fill the event). */
#ifndef CG_AUDIT_AUDIT_H
#define CG_AUDIT_AUDIT_H

#include <libxml/tree.h>
#include <stddef.h>
#include <time.h>

#include "util/buf.h"
#include "util/pool.h"

/* EventOutcomeIndicator (DICOM PS3.15 A.5.1, from RFC 3881). */
typedef enum cg_audit_outcome {
    CG_AUDIT_SUCCESS = 0,
    CG_AUDIT_MINOR_FAILURE = 4,   /* partly done: PartialSuccess, an ADT answered AE */
    CG_AUDIT_SERIOUS_FAILURE = 8, /* refused: RegistryResponse Failure, a Sender fault, 4xx */
    CG_AUDIT_MAJOR_FAILURE = 12   /* could not be served: a Receiver fault, 5xx */
} cg_audit_outcome;

/* Bounds on what one record carries (a record is one syslog message). */
#define CG_AUDIT_MAX_TEXT 1024      /* characters of one identifier or description */
#define CG_AUDIT_MAX_PATIENTS 16
#define CG_AUDIT_MAX_DOCUMENTS 10000
#define CG_AUDIT_MAX_QUERY 65536 /* bytes of query text recorded (more: cut, and said so) */

typedef struct cg_audit_document {
    const char *unique_id;     /* DocumentEntry uniqueId */
    const char *repository_id; /* repositoryUniqueId, may be NULL */
    const char *home;          /* homeCommunityId, may be NULL */
} cg_audit_document;

/* One transaction's audit event. The transport makes one per request (cg_audit_event_new, in
 * the request's pool) and the gateway emits it after the answer; handlers add what they know
 * through the setters below, which all accept a NULL event (a request made without auditing,
 * e.g. in unit tests) and copy and bound what they are given. */
typedef struct cg_audit_event {
    cg_pool *pool;
    struct timespec when;    /* when the request arrived (CLOCK_REALTIME) */
    const char *transaction; /* "ITI-41" ... (cg_audit_transaction), NULL: from the action */
    char action_code;        /* EventActionCode, 0: the transaction's */
    cg_audit_outcome outcome;
    const char *outcome_text; /* EventOutcomeDescription, NULL with success */
    /* the other side of the exchange */
    const char *peer_addr;    /* "192.0.2.7:51234" */
    const char *peer_subject; /* its TLS client certificate subject, NULL without mutual TLS */
    const char *peer_user;    /* its UserID: wsa:ReplyTo, or MSH-3|MSH-4 for HL7 v2 */
    /* this side */
    const char *endpoint;     /* our URL, e.g. "https://node:8443/xds/repository", or MSH-5|MSH-6 */
    const char *patients[CG_AUDIT_MAX_PATIENTS];
    size_t npatients;
    const char *submission_set; /* its uniqueId */
    cg_audit_document *documents;
    size_t ndocuments, documents_cap;
    const char **registry_objects; /* entryUUIDs of registry objects (ITI-62: those deleted) */
    size_t nregistry_objects, registry_objects_cap;
    const char *query_id;    /* the stored query's id (ITI-18, ITI-38) */
    const char *query_b64;   /* the query request (base64 of its XML) */
    int query_cut;           /* longer than CG_AUDIT_MAX_QUERY: only its start is recorded */
    const char *query_home;  /* homeCommunityId the query names, may be NULL */
    const char *hl7_control_id; /* MSH-10 of an HL7 v2 message (ITI-8) */
} cg_audit_event;

/* The IHE codes of one transaction. */
typedef struct cg_audit_transaction {
    const char *id;           /* EventTypeCode csd-code, "ITI-41"; NULL: no EventTypeCode */
    const char *action;       /* the request's wsa:Action, NULL when not SOAP */
    const char *name;         /* EventTypeCode originalText */
    const char *event_code;   /* EventID csd-code (DCM), e.g. "110107" */
    const char *event_name;   /* EventID originalText, e.g. "Import" */
    char action_code;         /* EventActionCode: C R U D E */
    int responder_is_source;  /* we play the Source Role (110153): we export (ITI-43, ITI-39) */
} cg_audit_transaction;

/* Names of the transactions that are not IHE ones (document views, unknown requests). */
#define CG_AUDIT_DOCUMENT_VIEW "document-view"
#define CG_AUDIT_PATIENT_PAGE "patient-page"
#define CG_AUDIT_UNKNOWN "unknown"

/* The row of a transaction id ("ITI-41", CG_AUDIT_DOCUMENT_VIEW ...), or the row of the
 * transaction whose request carries this wsa:Action; the CG_AUDIT_UNKNOWN row when none. */
const cg_audit_transaction *cg_audit_transaction_by_id(const char *id);
const cg_audit_transaction *cg_audit_transaction_by_action(const char *action);

cg_audit_event *cg_audit_event_new(cg_pool *pool);

void cg_audit_set_transaction(cg_audit_event *ev, const char *id);
void cg_audit_add_patient(cg_audit_event *ev, const char *patient_id);
void cg_audit_set_submission_set(cg_audit_event *ev, const char *unique_id);
void cg_audit_add_document(cg_audit_event *ev, const char *unique_id, const char *repository_id,
                           const char *home);
/* A registry object by its entryUUID (ITI TF-2b 3.62.5.1: each object an ITI-62 deletes). */
void cg_audit_add_registry_object(cg_audit_event *ev, const char *entry_uuid);
/* The query: its id and the request element (serialised with its namespaces, base64). */
void cg_audit_set_query(cg_audit_event *ev, const char *query_id, xmlNodePtr request,
                        const char *home);
void cg_audit_set_outcome(cg_audit_event *ev, cg_audit_outcome outcome, const char *text);

/* Who writes the records (AuditSourceIdentification, and our ActiveParticipant). */
typedef struct cg_audit_source {
    const char *source_id;       /* AuditSourceID */
    const char *enterprise_site; /* AuditEnterpriseSiteID, may be NULL */
    const char *host;            /* our NetworkAccessPointID (a host name) */
    long pid;                    /* our AlternativeUserID (the process id) */
} cg_audit_source;

/* Appends the event's AuditMessage (no XML declaration, no line breaks) to out. CG_OK, or
 * CG_ETOOBIG when out's cap is reached. */
int cg_audit_message(cg_buf *out, const cg_audit_event *ev, const cg_audit_source *src);

#endif
