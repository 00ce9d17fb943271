/* rules: the XDS metadata rules one Register Document Set-b submission must pass (ITI TF-3 4.1
 * and 4.2). Owns: structure, required attributes and their shapes, associations and references
 * inside the message, patient id consistency, uniqueIds within the message, extra metadata.
 * Does not own: checks that need the store (known patients, registered ids and references) or
 * changing the tree; both are registry.c's. */
#ifndef CG_REGISTRY_RULES_H
#define CG_REGISTRY_RULES_H

#include "ebrim/errlist.h"
#include "ebrim/model.h"

/* What the checks learnt about one object of the submission (parallel to sub->objects). */
typedef struct cg_rules_object {
    xmlNodePtr *classifications; /* nested ones and standalone ones naming this object */
    size_t nclassifications;
    size_t classifications_cap;
    xmlNodePtr *fold; /* the standalone ones: copied into the object's stored XML */
    size_t nfold;
    size_t fold_cap;
    const char **dropped; /* names of Slots that are not saved (XDSExtraMetadataNotSaved) */
    size_t ndropped;
    size_t dropped_cap;
} cg_rules_object;

typedef struct cg_rules_result {
    cg_rules_object *objects;
    cg_ebrim_object *submission_set; /* the one SubmissionSet, NULL when not exactly one */
    /* standalone Classifications naming a urn:uuid outside the submission: the registry asks the
     * store whether that object exists (UnresolvedReferenceException) */
    cg_ebrim_object **outside;
    size_t noutside;
    size_t outside_cap;
} cg_rules_result;

/* Checks every rule, adding each failure to errs (XDSRegistryMetadataError,
 * XDSPatientIdDoesNotMatch, XDSRegistryDuplicateUniqueIdInMessage, UnresolvedReferenceException)
 * and each unsaved Slot as an XDSExtraMetadataNotSaved warning. Messages name the object:
 * "DocumentEntry Document01: slot creationTime \"2024-13-01\" is not a DTM". */
void cg_rules_check(cg_rules_result *out, const cg_ebrim_submission *sub, cg_errlist *errs);

/* The same rules for an ITI-57 Update Document Set submission: DocumentEntries and Folders
 * carry the lid of the logical object they are a new version of, and UpdateAvailabilityStatus
 * and SubmitAssociation associations are taken (the registry checks them against the store). */
void cg_rules_check_update(cg_rules_result *out, const cg_ebrim_submission *sub,
                           cg_errlist *errs);

/* RPLC, APND, XFRM, XFRM_RPLC and signs: associations from a new DocumentEntry to a registered
 * one. Of them, RPLC and XFRM_RPLC deprecate their target. */
int cg_rules_is_relationship(const char *assoc_type);
int cg_rules_is_replacement(const char *assoc_type);

/* Adds "<Kind> <id>: <message>" to errs with the object's id as location (o NULL: the message
 * alone); quoted values cut to fit stay whole UTF-8 characters. */
void cg_rules_add(cg_errlist *errs, cg_ihe_severity sev, const char *code, const cg_ebrim_object *o,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A classification scheme XDS defines for an object type. */
typedef struct cg_rules_scheme {
    cg_ebrim_kind kind;
    const char *uuid; /* classificationScheme */
    const char *attr; /* classCode ... (the store's cg_store_code.attr), or "author" */
    unsigned min;
    unsigned max; /* 0: any number */
    int coded;    /* 1: nodeRepresentation and one codingScheme value; 0: author */
} cg_rules_scheme;

/* The scheme for that object type, NULL when XDS defines none of that uuid for it. */
const cg_rules_scheme *cg_rules_scheme_find(cg_ebrim_kind kind, const char *uuid);

#endif
