/* query: the XDS Document Registry's stored queries (ITI-18, and ITI-51's two).
 * Owns: the stored-query definitions as data (query id, name, parameters with their
 * required/one-of/multiple rules), parsing and checking parameter values (quoted strings,
 * ('a','b') lists, code^^^scheme, DTM bounds, author patterns), turning a query into store
 * finds, and assembling the result list with the ITI-18 error codes.
 * Does not own: SOAP or the AdhocQueryRequest element (svc/query), SQL (store). */
#ifndef CG_REGISTRY_QUERY_H
#define CG_REGISTRY_QUERY_H

#include <stddef.h>

#include "ebrim/errlist.h"
#include "registry/registry.h"
#include "store/store.h"

/* IHE error codes of ITI-18 (ITI TF-3 Table 4.2.4.1-2). */
#define CG_XDS_UNKNOWN_STORED_QUERY "XDSUnknownStoredQuery"
#define CG_XDS_SQ_MISSING_PARAM "XDSStoredQueryMissingParam"
#define CG_XDS_SQ_PARAM_NUMBER "XDSStoredQueryParamNumber"
#define CG_XDS_RESULT_NOT_SINGLE_PATIENT "XDSResultNotSinglePatient"
#define CG_XDS_TOO_MANY_RESULTS "XDSTooManyResults"

#define CG_SQ_FIND_DOCUMENTS "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
#define CG_SQ_GET_DOCUMENTS "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4"
#define CG_SQ_GET_SS_AND_CONTENTS "urn:uuid:e8e3cb2c-e39c-46b9-99e4-c12f57260b83"

/* One rim:Slot of the AdhocQuery: its name and the text of each of its rim:Value elements. */
typedef struct cg_query_param {
    const char *name;
    const char *const *values;
    size_t nvalues;
} cg_query_param;

typedef struct cg_query_request {
    const char *query_id; /* rim:AdhocQuery/@id */
    int leaf_class;       /* returnType LeafClass (1) or ObjectRef (0) */
    const cg_query_param *params;
    size_t nparams;
} cg_query_request;

typedef struct cg_query_object {
    cg_obj_kind kind;
    const char *uuid;
    const char *xml; /* LeafClass: the object exactly as registered; NULL for ObjectRef */
    size_t xml_len;
} cg_query_object;

typedef struct cg_query_result {
    cg_query_object *items; /* in the pool */
    size_t count;
} cg_query_result;

/* Runs a stored query. Every problem with the request (unknown query, a parameter missing, one
 * too many, a malformed value, too many results, several patients where one is required) is an
 * error in errs and the result is empty. Returns CG_OK when the query was answered (look at
 * errs->errors), CG_EIO when the store failed (an XDSRegistryError is in errs). */
int cg_registry_query(cg_registry *reg, const cg_query_request *req, cg_pool *pool,
                      cg_query_result *out, cg_errlist *errs);

/* The stored query's name ("FindDocuments") for an id, NULL when unknown. */
const char *cg_registry_query_name(const char *query_id);

#endif
