/* xca: the XCA gateways (ITI TF-1 18, ITI TF-2b 3.38, 3.39). The Responding Gateway answers
 * ITI-38 Cross Gateway Query and ITI-39 Cross Gateway Retrieve from the local registry and
 * repository with our homeCommunityId on every answer; the Initiating Gateway takes ITI-18 and
 * ITI-43 from local document consumers and fans them out as ITI-38 and ITI-39 to the communities
 * of its directory in parallel (one thread per community, a deadline each), merging the answers.
 * Owns: the community directory at run time, the fan-out and merge, patient id mapping, the
 * per-partner client pools, the `home` attribute on stored objects.
 * Does not own: what a stored query means (registry/query), the ITI-18 and ITI-43 element shapes
 * (svc/query, svc/xds), the wire (transport/client). */
#ifndef CG_SVC_XCA_H
#define CG_SVC_XCA_H

#include <stddef.h>

#include "svc/request.h"
#include "svc/xds.h"
#include "util/pool.h"

#define CG_ACTION_ITI38 "urn:ihe:iti:2007:CrossGatewayQuery"
#define CG_ACTION_ITI38_RESPONSE "urn:ihe:iti:2007:CrossGatewayQueryResponse"
#define CG_ACTION_ITI39 "urn:ihe:iti:2007:CrossGatewayRetrieve"
#define CG_ACTION_ITI39_RESPONSE "urn:ihe:iti:2007:CrossGatewayRetrieveResponse"

/* ---- Initiating Gateway ---- */

/* One partner community (a [community.NAME] section of the configuration). */
#define CG_XCA_MAX_COMMUNITIES 64 /* bound on the directory, so on the fan-out width */
typedef struct cg_xca_community {
    const char *name;              /* NAME of the section */
    const char *home_community_id; /* urn:oid:... */
    const char *query_url;         /* its Responding Gateway's ITI-38 endpoint */
    const char *retrieve_url;      /* its ITI-39 endpoint (default: query_url) */
    const char *tls_cert, *tls_key, *tls_ca;
    unsigned timeout_ms;     /* deadline for its answer */
    unsigned max_retrieve;   /* DocumentRequests per ITI-39 request it takes */
    const char *patient_ids; /* "local=remote" pairs (white space or commas between); NULL: same */
    const char *quirks;      /* names separated by white space or commas: missing_home, query_mtom */
} cg_xca_community;

typedef struct cg_xca_ig_config {
    const cg_xca_community *communities;
    size_t ncommunities;
    const cg_xds *local;    /* answered from the local registry and repository too, or NULL */
    const char *local_home; /* our homeCommunityId (with local) */
    unsigned max_retrieve;  /* DocumentRequests per ITI-43 request taken */
    unsigned max_results;   /* objects relayed from one community's answer */
    unsigned max_idle;      /* keep-alive connections kept per partner endpoint */
} cg_xca_ig_config;

typedef struct cg_xca_ig cg_xca_ig;
/* Checks the directory (patient id tables, quirks, URLs, TLS files); no connection is made.
 * CG_EINVAL naming the community and what is wrong. The config must outlive the gateway. */
int cg_xca_ig_new(cg_xca_ig **out, const cg_xca_ig_config *cfg, cg_err *err);
/* Waits for calls still running past their deadline (bounded by their timeouts). */
void cg_xca_ig_free(cg_xca_ig *ig);

/* ctx: the cg_xca_ig. ITI-18 from a local consumer: the query to every community (the one its
 * AdhocQuery/@home names, else all) as ITI-38 in parallel, answers merged; a community that
 * fails or misses its deadline is a RegistryError (XDSUnavailableCommunity, location its
 * homeCommunityId) and the answer PartialSuccess. */
int cg_svc_ig_query(void *ctx, const cg_request *req, cg_response *resp);
/* ITI-43 from a local consumer: DocumentRequests routed by HomeCommunityId, split by each
 * partner's max_retrieve into ITI-39 requests sent in parallel, the documents reassembled. */
int cg_svc_ig_retrieve(void *ctx, const cg_request *req, cg_response *resp);

/* The patient id a community knows for ours: the table's entry, ours when the community has no
 * table, NULL when its table does not hold it (the community is not asked). */
const char *cg_xca_map_patient(const cg_xca_ig *ig, size_t community, const char *pid);
/* How many ITI-39 requests a retrieve of n documents from that community takes. */
size_t cg_xca_retrieve_batches(const cg_xca_ig *ig, size_t community, size_t n);

/* ---- Responding Gateway ---- */

/* ctx: a cg_xds whose home_community_id is set. */
int cg_svc_iti38(void *ctx, const cg_request *req, cg_response *resp);
int cg_svc_iti39(void *ctx, const cg_request *req, cg_response *resp);

/* A stored object's XML text (one element, as registered) with home="HOME" on its start tag
 * when it is an ExtrinsicObject, RegistryPackage or ObjectRef (an existing home is replaced);
 * other elements are returned as they are. home must need no escaping (a urn:oid: URI). */
const char *cg_xca_set_home(cg_pool *pool, const char *xml, size_t len, const char *home,
                            size_t *out_len);

/* A stored query parameter that carries a patient id ($XDSDocumentEntryPatientId, ...). */
int cg_xca_is_patient_param(const char *name);

#endif
