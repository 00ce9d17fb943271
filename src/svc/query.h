/* query (svc): the ITI-18 Registry Stored Query handler (and ITI-51's two queries, which use the
 * same action). Reads like ITI TF-2a 3.18: take the AdhocQueryRequest, hand its query id, return
 * type and slots to the registry's stored queries, answer an AdhocQueryResponse.
 * Owns: the AdhocQueryRequest/AdhocQueryResponse element shapes and the ITI-18 actions.
 * Does not own: what the queries mean (registry/query), HTTP and the envelope (transport). */
#ifndef CG_SVC_QUERY_H
#define CG_SVC_QUERY_H

#include "svc/request.h"

#define CG_ACTION_ITI18 "urn:ihe:iti:2007:RegistryStoredQuery"
#define CG_ACTION_ITI18_RESPONSE "urn:ihe:iti:2007:RegistryStoredQueryResponse"

/* ctx: the gateway's cg_xds (its registry and home_community_id). */
int cg_svc_iti18(void *ctx, const cg_request *req, cg_response *resp);

#endif
