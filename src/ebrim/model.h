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

/* ExternalIdentifier schemes (ITI TF-3 4.2.5). */
#define CG_UUID_DE_PATIENT_ID "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
#define CG_UUID_DE_UNIQUE_ID "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
#define CG_UUID_SS_PATIENT_ID "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
#define CG_UUID_SS_UNIQUE_ID "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
#define CG_UUID_SS_SOURCE_ID "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
#define CG_UUID_FOLDER_PATIENT_ID "urn:uuid:f64ffdf0-4b97-4e06-b79f-a52b38ec2f8a"
#define CG_UUID_FOLDER_UNIQUE_ID "urn:uuid:75df8f67-9973-4fbe-a900-df66cefecc5a"

#define CG_STATUS_APPROVED "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
#define CG_STATUS_DEPRECATED "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"
#define CG_ASSOC_HAS_MEMBER "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
/* Document relationships (ITI TF-3 4.2.2): the new DocumentEntry is the sourceObject. */
#define CG_ASSOC_RPLC "urn:ihe:iti:2007:AssociationType:RPLC"
#define CG_ASSOC_APND "urn:ihe:iti:2007:AssociationType:APND"
#define CG_ASSOC_XFRM "urn:ihe:iti:2007:AssociationType:XFRM"
#define CG_ASSOC_XFRM_RPLC "urn:ihe:iti:2007:AssociationType:XFRM_RPLC"
#define CG_ASSOC_SIGNS "urn:ihe:iti:2007:AssociationType:signs"
/* ITI-57 Metadata Update operations */
#define CG_ASSOC_UPDATE_STATUS "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus"
#define CG_ASSOC_SUBMIT_ASSOCIATION "urn:ihe:iti:2010:AssociationType:SubmitAssociation"
#define CG_SEVERITY_ERROR "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"
#define CG_SEVERITY_WARNING "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Warning"

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
    xmlNodePtr list; /* rim:RegistryObjectList */
    size_t *index;   /* open-addressing table of object positions + 1 by id (cg_ebrim_find) */
    size_t index_cap;
} cg_ebrim_submission;

/* Collects the objects of an lcm:SubmitObjectsRequest element. Structural problems (not a
 * SubmitObjectsRequest, no RegistryObjectList, objects without id) are added to errs as
 * XDSRegistryMetadataError; returns CG_EINVAL then, CG_OK otherwise. Also structural: a
 * RegistryPackage classified as neither (or both) SubmissionSet and Folder, and list elements
 * XDS does not register (rim:ObjectRef is skipped silently). Every such problem is reported,
 * and the readable objects are still collected. Symbolic ids leave obj->uuid NULL. */
int cg_ebrim_parse_submission(cg_ebrim_submission *out, xmlNodePtr submit_objects_request,
                              cg_pool *pool, cg_errlist *errs);

/* First value of a Slot (NULL when the slot or value is absent); all values into *out. */
const char *cg_ebrim_slot_value(const cg_ebrim_object *obj, const char *name);
size_t cg_ebrim_slot_values(const cg_ebrim_object *obj, const char *name, cg_pool *pool,
                            const char ***out);
/* Replaces the Slot's values with one value, adding the Slot if it is absent. */
void cg_ebrim_slot_set(cg_ebrim_object *obj, const char *name, const char *value);

/* The same on any element with rim:Slot children (a nested Classification, an Association).
 * Values are the text of each rim:ValueList/rim:Value, pointing into the tree (a Value made
 * of several text nodes is merged into one first); an empty Value is "". When a name occurs
 * on more than one Slot, the first Slot counts (cg_ebrim_slot_count tells). */
const char *cg_ebrim_node_slot_value(xmlNodePtr node, const char *name);
size_t cg_ebrim_node_slot_values(xmlNodePtr node, const char *name, cg_pool *pool,
                                 const char ***out);
void cg_ebrim_node_slot_set(xmlNodePtr node, const char *name, const char *value);
/* How many rim:Slot children are named `name`. */
size_t cg_ebrim_slot_count(xmlNodePtr node, const char *name);
/* Removes every Slot named `name` from the object; returns how many were removed. */
size_t cg_ebrim_slot_remove(cg_ebrim_object *obj, const char *name);

/* The object whose id (as submitted) is `id`, NULL when there is none. */
cg_ebrim_object *cg_ebrim_find(const cg_ebrim_submission *sub, const char *id);
/* "DocumentEntry", "SubmissionSet", "Folder", "Association", "Classification". */
const char *cg_ebrim_kind_name(cg_ebrim_kind kind);
/* 1 when a names the UUID URN b, ignoring case and white space (real senders wrap long scheme
 * ids across lines: "urn:uuid:58a6f841-87b3-4a3e-92fd- a8ffeff98427"). */
int cg_ebrim_uuid_eq(const char *a, const char *b);
/* The next rim: element child of parent named `local` after `prev` (NULL: the first one);
 * local NULL matches every rim: element. */
xmlNodePtr cg_ebrim_child(xmlNodePtr parent, const char *local, xmlNodePtr prev);
/* The value of node's first rim:ExternalIdentifier with that identificationScheme (copied into
 * pool, NULL when there is none); cg_ebrim_external_id_count counts them. */
const char *cg_ebrim_external_id(cg_pool *pool, xmlNodePtr node, const char *scheme);
size_t cg_ebrim_external_id_count(xmlNodePtr node, const char *scheme);
/* An attribute's value copied into pool, NULL when absent. */
const char *cg_ebrim_attr(cg_pool *pool, xmlNodePtr node, const char *name);
/* Inserts child (a rim: element) under parent where ebRIM 3.0's content model wants it:
 * Slot, Name, Description, VersionInfo, Classification, ExternalIdentifier, then the rest. */
void cg_ebrim_insert(xmlNodePtr parent, xmlNodePtr child);

/* The element as a standalone XML text with every namespace it uses declared on it, and the
 * elements of `fold` (standalone Classifications of this object) copied into it in ebRIM order.
 * The text lives in pool. CG_OK, or CG_EINVAL when libxml2 cannot serialize the copy. */
int cg_ebrim_object_xml(const char **out, size_t *len, cg_pool *pool, xmlNodePtr node,
                        const xmlNodePtr *fold, size_t nfold);

/* A RegistryResponse (rs:) document carrying status and RegistryErrorList, freed with pool. */
xmlDocPtr cg_ebrim_registry_response(cg_pool *pool, const cg_errlist *errs, int some_succeeded);
/* An AdhocQueryResponse (query:, with rim: declared on it) holding an empty RegistryObjectList,
 * which *list gets; freed with pool. Its status and errors are the caller's to add. */
xmlDocPtr cg_ebrim_query_response(cg_pool *pool, xmlNodePtr *list);
/* Adds a RegistryErrorList for errs (if any) under parent, e.g. a RetrieveDocumentSetResponse's
 * RegistryResponse or an AdhocQueryResponse. */
void cg_ebrim_write_errors(xmlNodePtr parent, const cg_errlist *errs);

/* Registers pool cleanup for an xmlDoc (freed when the request ends). */
void cg_ebrim_pool_doc(cg_pool *pool, xmlDocPtr doc);

#endif
