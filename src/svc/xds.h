/* xds: the XDS.b transaction handlers: ITI-41 Provide and Register, ITI-42 Register,
 * ITI-43 Retrieve. Each reads like the transaction in ITI TF-2: take the request body, hand the
 * metadata and documents to the repository and registry, answer with their verdict. With a
 * remote registry, ITI-41's registry half is an ITI-42 request to it (the forwarder).
 * Owns: request and response element shapes of these transactions and their actions; the
 * forwarder's keep-alive client connections and reading the remote registry's answer.
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
#define CG_ACTION_ITI86 "urn:ihe:iti:2017:RemoveDocuments"
#define CG_ACTION_ITI86_RESPONSE "urn:ihe:iti:2017:RemoveDocumentsResponse"
#define CG_NS_RMD "urn:ihe:iti:rmd:2017"
#define CG_ACTION_ITI62 "urn:ihe:iti:2010:DeleteDocumentSet"
#define CG_ACTION_ITI62_RESPONSE "urn:ihe:iti:2010:DeleteDocumentSetResponse"
#define CG_ACTION_ITI57 "urn:ihe:iti:2010:UpdateDocumentSet"
#define CG_ACTION_ITI57_RESPONSE "urn:ihe:iti:2010:UpdateDocumentSetResponse"

/* ITI-42 to a remote registry: a small pool of keep-alive client connections, shared by the
 * worker threads (each call takes a connection of its own). */
typedef struct cg_xds_forward cg_xds_forward;
typedef struct cg_xds_forward_config {
    const char *url;      /* http(s)://host[:port]/path of the registry's ITI-42 endpoint */
    int timeout_s;        /* bounds connecting, and each read and write of one exchange */
    const char *tls_cert; /* https: client certificate for mutual TLS, may be NULL */
    const char *tls_key;  /* its key (NULL: in tls_cert) */
    const char *tls_ca;   /* CA bundle that signs the registry's certificate (NULL: system's) */
    unsigned max_idle;    /* connections kept open between requests (0: 1) */
} cg_xds_forward_config;

/* Checks the URL and the TLS files (no connection is made yet). CG_EINVAL with the reason. */
int cg_xds_forward_new(cg_xds_forward **out, const cg_xds_forward_config *cfg, cg_err *err);
void cg_xds_forward_free(cg_xds_forward *fw);
struct cg_client_answer;
/* One exchange on a connection of the pool (an idle one, else a new one), given back for reuse
 * when the exchange ended cleanly. As cg_client_call. */
int cg_xds_forward_call(cg_xds_forward *fw, cg_pool *pool, const char *action, xmlDocPtr body,
                        const cg_out_part *parts, size_t nparts, int mtom,
                        struct cg_client_answer *out, cg_err *err);
/* Copies the RegistryErrors of a RegistryResponse (or AdhocQueryResponse) into errs as they are
 * (severity, errorCode, codeContext, location; location when they have none); with a Success
 * status errors become warnings. At most 256; the rest are counted in one warning. */
void cg_xds_relay_errors(xmlNodePtr response, int success, const char *location, cg_pool *pool,
                         cg_errlist *errs);

typedef struct cg_xds {
    cg_registry *registry;         /* NULL: not a registry (forward is set) */
    cg_repository *repository;     /* NULL: not a repository */
    cg_xds_forward *forward;       /* not NULL: ITI-41 registers at this remote registry */
    const char *home_community_id; /* urn:oid:..., may be NULL */
    unsigned max_retrieve;         /* DocumentRequests per ITI-43 request */
} cg_xds;

int cg_svc_iti41(void *ctx, const cg_request *req, cg_response *resp);
int cg_svc_iti42(void *ctx, const cg_request *req, cg_response *resp);
/* ITI-57 Update Document Set (Metadata Update): cg_registry_update's verdict. */
int cg_svc_iti57(void *ctx, const cg_request *req, cg_response *resp);
int cg_svc_iti43(void *ctx, const cg_request *req, cg_response *resp);
/* The RetrieveDocumentSetRequest of req answered from the local repository. xca_home: NULL for
 * ITI-43; for ITI-39 our homeCommunityId: a DocumentRequest without HomeCommunityId is
 * XDSMissingHomeCommunityId, another community's XDSUnknownCommunity, and every RegistryError's
 * location is xca_home. */
int cg_svc_retrieve(const cg_xds *xds, const cg_request *req, cg_response *resp,
                    const char *xca_home);
/* ITI-86 Remove Documents (RMD): the documents named by RepositoryUniqueId and
 * DocumentUniqueId are deleted from this repository; an unknown repository is
 * XDSUnknownRepositoryId, a document not stored XDSDocumentUniqueIdError; PartialSuccess when
 * some were removed and some not. */
int cg_svc_iti86(void *ctx, const cg_request *req, cg_response *resp);
/* ITI-62 Delete Document Set (the registry's RemoveObjectsRequest): the objects its
 * ObjectRefList names are deleted from the registry, all or none (registry/delete.h); their
 * documents stay in the repository. */
int cg_svc_iti62(void *ctx, const cg_request *req, cg_response *resp);

#endif
