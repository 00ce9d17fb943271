/* query (svc): the ITI-18 Registry Stored Query handler (and ITI-51's two queries, under the
 * ITI-18 action or ITI-51's own). Reads like ITI TF-2a 3.18: take the AdhocQueryRequest, hand its query id, return
 * type and slots to the registry's stored queries, answer an AdhocQueryResponse.
 * Owns: the AdhocQueryRequest/AdhocQueryResponse element shapes and the ITI-18 actions.
 * Does not own: what the queries mean (registry/query), HTTP and the envelope (transport). */
#ifndef CG_SVC_QUERY_H
#define CG_SVC_QUERY_H

#include "svc/request.h"

#define CG_ACTION_ITI18 "urn:ihe:iti:2007:RegistryStoredQuery"
#define CG_ACTION_ITI18_RESPONSE "urn:ihe:iti:2007:RegistryStoredQueryResponse"
/* ITI-51 Multi-Patient Stored Query: the same body and handler, its own action (ITI TF-2b
 * 3.51.5); its queries are answered only when registry.multi_patient_queries is on. */
#define CG_ACTION_ITI51 "urn:ihe:iti:2009:MultiPatientStoredQuery"
#define CG_ACTION_ITI51_RESPONSE "urn:ihe:iti:2009:MultiPatientStoredQueryResponse"

/* ctx: the gateway's cg_xds (its registry and home_community_id). */
int cg_svc_iti18(void *ctx, const cg_request *req, cg_response *resp);

struct cg_xds;
/* The AdhocQueryRequest of req answered from the local registry. xca_home: NULL for ITI-18;
 * for ITI-38 our homeCommunityId, set as `home` on every returned ExtrinsicObject,
 * RegistryPackage and ObjectRef and as every RegistryError's location. */
int cg_svc_stored_query(const struct cg_xds *xds, const cg_request *req, cg_response *resp,
                        const char *xca_home);

#endif
