/* model: XDS metadata (ebRIM 3.0) as C structures over the request's libxml2 tree.
 * Owns: finding the registry objects of a SubmitObjectsRequest (DocumentEntries, SubmissionSets,
 * Folders, Associations, standalone Classifications), their ids and key attributes, reading and
 * writing their Slots, and writing RegistryResponse. Does not own: the XDS rules (registry) or
 * storage (store). The tree stays the source of truth: objects point into it, and what is
 * registered is the (amended) element itself. */
#ifndef CG_EBRIM_MODEL_H
#define CG_EBRIM_MODEL_H

#include <libxml/tree.h>
#include <stddef.h>

#include "ebrim/errlist.h"
#include "util/pool.h"

#define CG_NS_RIM "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
#define CG_NS_RS "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
#define CG_NS_LCM "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
#define CG_NS_QUERY "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
#define CG_NS_XDSB "urn:ihe:iti:xds-b:2007"
#define CG_NS_XOP "http://www.w3.org/2004/08/xop/include"

/* XDS object types and classification schemes (ITI TF-3 4.2.5). */
#define CG_UUID_STABLE_DOCUMENT "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
#define CG_UUID_ONDEMAND_DOCUMENT "urn:uuid:34268e47-fdf5-41a6-ba33-82133c465248"
#define CG_UUID_SUBMISSION_SET "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
#define CG_UUID_FOLDER "urn:uuid:d9d542f3-6cc4-48b6-8870-ea235fbc94c2"

typedef enum cg_ebrim_kind {
    CG_EBRIM_DOCUMENT_ENTRY = 1,
    CG_EBRIM_SUBMISSION_SET = 2,
    CG_EBRIM_FOLDER = 3,
    CG_EBRIM_ASSOCIATION = 4,
    CG_EBRIM_CLASSIFICATION = 5 /* a standalone Classification (SubmissionSet/Folder marker) */
} cg_ebrim_kind;

typedef struct cg_ebrim_object {
    cg_ebrim_kind kind;
    xmlNodePtr node;        /* the element in the request tree */
    const char *id;         /* as submitted: symbolic ("Document01") or "urn:uuid:..." */
    const char *uuid;       /* assigned by the registry (== id when id is already a UUID) */
    const char *lid;        /* logical id, NULL when not given */
    const char *status;     /* as submitted, may be NULL */
    const char *object_type;
    const char *mime_type;
    const char *home;
    const char *patient_id; /* from the patientId ExternalIdentifier */
    const char *unique_id;  /* from the uniqueId ExternalIdentifier */
    /* Association */
    const char *assoc_type;
    const char *source;
    const char *target;
    /* Classification */
    const char *classified_object;
    const char *classification_node;
} cg_ebrim_object;

typedef struct cg_ebrim_submission {
    cg_pool *pool;
    xmlDocPtr doc;
    xmlNodePtr request; /* lcm:SubmitObjectsRequest */
    cg_ebrim_object *objects;
    size_t count;
    size_t cap;
} cg_ebrim_submission;

/* Collects the objects of an lcm:SubmitObjectsRequest element. Structural problems (not a
 * SubmitObjectsRequest, no RegistryObjectList, objects without id) are added to errs as
 * XDSRegistryMetadataError; returns CG_EINVAL then, CG_OK otherwise. */
int cg_ebrim_parse_submission(cg_ebrim_submission *out, xmlNodePtr submit_objects_request,
                              cg_pool *pool, cg_errlist *errs);

/* First value of a Slot (NULL when the slot or value is absent); all values into *out. */
const char *cg_ebrim_slot_value(const cg_ebrim_object *obj, const char *name);
size_t cg_ebrim_slot_values(const cg_ebrim_object *obj, const char *name, cg_pool *pool,
                            const char ***out);
/* Replaces the Slot's values with one value, adding the Slot if it is absent. */
void cg_ebrim_slot_set(cg_ebrim_object *obj, const char *name, const char *value);

/* A RegistryResponse (rs:) document carrying status and RegistryErrorList, freed with pool. */
xmlDocPtr cg_ebrim_registry_response(cg_pool *pool, const cg_errlist *errs, int some_succeeded);
/* Adds a RegistryErrorList for errs (if any) under parent, e.g. a RetrieveDocumentSetResponse's
 * RegistryResponse or an AdhocQueryResponse. */
void cg_ebrim_write_errors(xmlNodePtr parent, const cg_errlist *errs);

/* Registers pool cleanup for an xmlDoc (freed when the request ends). */
void cg_ebrim_pool_doc(cg_pool *pool, xmlDocPtr doc);

#endif
