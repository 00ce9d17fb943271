/* xds: the XDS.b transaction handlers: ITI-41 Provide and Register, ITI-42 Register,
 * ITI-43 Retrieve. Each reads like the transaction in ITI TF-2: take the request body, hand the
 * metadata and documents to the repository and registry, answer with their verdict.
 * Owns: request and response element shapes of these transactions and their actions.
 * Does not own: the rules (registry, repository), HTTP/MIME/envelope (transport). */
#ifndef CG_SVC_XDS_H
#define CG_SVC_XDS_H

#include "registry/registry.h"
#include "repository/repository.h"
#include "svc/request.h"

#define CG_ACTION_ITI41 "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
#define CG_ACTION_ITI41_RESPONSE "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse"
#define CG_ACTION_ITI42 "urn:ihe:iti:2007:RegisterDocumentSet-b"
#define CG_ACTION_ITI42_RESPONSE "urn:ihe:iti:2007:RegisterDocumentSet-bResponse"
#define CG_ACTION_ITI43 "urn:ihe:iti:2007:RetrieveDocumentSet"
#define CG_ACTION_ITI43_RESPONSE "urn:ihe:iti:2007:RetrieveDocumentSetResponse"

typedef struct cg_xds {
    cg_registry *registry;
    cg_repository *repository;     /* NULL: not a repository */
    const char *home_community_id; /* urn:oid:..., may be NULL */
    unsigned max_retrieve;         /* DocumentRequests per ITI-43 request */
} cg_xds;

int cg_svc_iti41(void *ctx, const cg_request *req, cg_response *resp);
int cg_svc_iti42(void *ctx, const cg_request *req, cg_response *resp);
int cg_svc_iti43(void *ctx, const cg_request *req, cg_response *resp);

#endif
