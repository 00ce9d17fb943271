/* gateway: one running cdagate server, put together from its configuration (see gateway.h). */
#define _POSIX_C_SOURCE 200809L
#include "gateway/gateway.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "registry/registry.h"
#include "render/render.h"
#include "repository/repository.h"
#include "store/store.h"
#include "svc/query.h"
#include "svc/view.h"
#include "svc/pif.h"
#include "svc/xca.h"
#include "svc/xds.h"
#include "transport/mllp.h"
#include "transport/server.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "validate/profile.h"

#define REPOSITORY_ID_FILE "repository-id"
/* Documents held for a remote registry's answer longer than this at start-up were left by a
 * process that died waiting: deleted. Well past the longest wait (connect, send and receive,
 * each up to registry_timeout), so that nothing still waited for is touched. */
#define PENDING_MAX_AGE_MIN_S 600
#define PENDING_MAX_AGE_TIMEOUTS 10

struct cg_gateway {
    const cg_gateway_config *cfg;
    char repository_id[CG_OID_MAX + 1];
    cg_store *store;
    cg_profile *profile;
    char *profile_missing;
    cg_registry *registry; /* NULL when a remote registry is used */
    cg_repository *repository;
    cg_xds_forward *forward; /* ITI-42 to the remote registry, NULL without one */
    cg_xca_ig *ig;           /* the XCA Initiating Gateway, NULL without communities */
    cg_xds xds;
    cg_route routes[10];
    cg_server_wsdl wsdl[4];
    cg_render *render; /* the document views' stylesheet; NULL when it could not be loaded */
    char *render_missing;
    cg_view view;
    cg_get_route get_routes[2];
    cg_server *server;
    FILE *access_log;
    int own_access_log;
    pthread_mutex_t log_lock;
    cg_pif *pif;   /* the patient identity feed (ITI-8), NULL without pif.listen */
    cg_mllp *mllp; /* its listener */
};

int cg_gateway_repository_id(char out[CG_OID_MAX + 1], const char *data_dir,
                             const char *configured, cg_err *err)
{
    char *path = cg_xasprintf("%s/%s", data_dir, REPOSITORY_ID_FILE);
    char *text = NULL;
    size_t len = 0;
    int rc = CG_OK;
    if (configured && !cg_id_is_oid(configured)) {
        rc = cg_err_set(err, CG_EINVAL, "repository id \"%s\" is not an OID", configured);
        goto done;
    }
    if (cg_fs_is_file(path)) {
        if ((rc = cg_fs_read(&text, &len, path, 256, err)) != CG_OK)
            goto done;
        while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
            text[--len] = '\0';
        if (!cg_id_is_oid(text)) {
            rc = cg_err_set(err, CG_EINVAL, "%s does not hold an OID", path);
            goto done;
        }
        if (configured && strcmp(configured, text) != 0) {
            rc = cg_err_set(err, CG_EINVAL,
                            "repository id %s differs from %s recorded in %s: the documents "
                            "stored there carry the recorded one",
                            configured, text, path);
            goto done;
        }
        memcpy(out, text, len + 1);
        goto done;
    }
    if (configured)
        snprintf(out, CG_OID_MAX + 1, "%s", configured);
    else
        cg_id_oid(out);
    char line[CG_OID_MAX + 2];
    int n = snprintf(line, sizeof(line), "%s\n", out);
    rc = cg_fs_write_atomic(path, line, (size_t)n, err);
done:
    free(text);
    free(path);
    return rc;
}

static int gateway_health(void *ctx, cg_buf *out)
{
    cg_gateway *gw = ctx;
    cg_store_stats st;
    cg_err err;
    cg_err_init(&err);
    if (cg_store_stats_get(gw->store, &st, &err) != CG_OK) {
        cg_buf_printf(out, "{\"status\":\"unavailable\",\"store\":\"%s\"}", cg_err_name(err.code));
        return 503;
    }
    cg_buf_printf(out,
                  "{\"status\":\"ok\",\"repositoryUniqueId\":\"%s\",\"documentEntries\":%lld,"
                  "\"submissionSets\":%lld,\"documents\":%lld,\"patients\":%lld,"
                  "\"pendingDocuments\":%lld}",
                  gw->repository_id, (long long)st.document_entries, (long long)st.submission_sets,
                  (long long)st.documents, (long long)st.patients,
                  (long long)st.pending_documents);
    return 200;
}

/* The RegistryResponse status of an answer: on the root (ITI-41, ITI-42) or on its first
 * element child (ITI-43's RetrieveDocumentSetResponse/RegistryResponse). */
static const char *gateway_outcome(xmlNodePtr root)
{
    for (int depth = 0; root && depth < 2; depth++) {
        xmlChar *st = xmlGetProp(root, (const xmlChar *)"status");
        if (st) {
            const char *o = strstr((const char *)st, "PartialSuccess") ? "partial"
                            : strstr((const char *)st, "Success")      ? "success"
                                                                       : "failure";
            xmlFree(st);
            return o;
        }
        xmlNodePtr c = root->children;
        while (c && c->type != XML_ELEMENT_NODE)
            c = c->next;
        root = c;
    }
    return "ok";
}

/* One access-log line per request: time, peer, certificate subject, action, outcome, ms. */
static void gateway_log(void *ctx, const cg_request *req, const cg_response *resp, int status,
                        double ms)
{
    cg_gateway *gw = ctx;
    if (!gw->access_log)
        return;
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    const char *outcome = "-";
    if (resp && resp->fault)
        outcome = "fault";
    else if (resp && resp->body)
        outcome = gateway_outcome(xmlDocGetRootElement(resp->body));
    pthread_mutex_lock(&gw->log_lock);
    fprintf(gw->access_log, "%s %s \"%s\" %s %s %d %s %.1fms\n", when,
            req && req->peer_addr ? req->peer_addr : "-",
            req && req->peer_subject ? req->peer_subject : "-", req && req->path ? req->path : "-",
            req && req->action ? req->action : "-", status, outcome, ms);
    fflush(gw->access_log);
    pthread_mutex_unlock(&gw->log_lock);
}

/* The WSDL files: $CDAGATE_WSDL_DIR, else the installed copy, else the source tree's. */
static const char *gateway_wsdl_dir(void)
{
    const char *env = getenv("CDAGATE_WSDL_DIR");
    if (env && *env)
        return env;
    if (cg_fs_is_file(CG_DATADIR "/wsdl/repository.wsdl"))
        return CG_DATADIR "/wsdl";
    return CG_SRCDIR "/wsdl";
}

static unsigned gateway_threads(unsigned configured)
{
    if (configured)
        return configured;
    /* Workers mostly wait on the disk (a submission waits for its group commit): one commit
     * carries as many submissions as workers are waiting, so many more workers than cores keep
     * the single writer's fsyncs full. Validation, the CPU-heavy part, has its own smaller
     * limit (repository.validation_threads). Idle keep-alive connections do not hold a worker,
     * so this does not bound the number of clients. */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = cores > 0 ? (unsigned)cores * 12 : 24;
    return n < 24 ? 24 : n;
}

/* Validation is CPU work: more validations at once than cores only adds the memory of each
 * parsed document and its Schematron working set. */
static unsigned gateway_validation_threads(const cg_gateway_config *cfg)
{
    if (cfg->validation_threads)
        return cfg->validation_threads;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? (unsigned)cores : 1;
}

/* One ITI-8 message from the MLLP listener: the feed's answer, and one access-log line. */
static void gateway_pif_message(void *ctx, const char *peer, const char *msg, size_t len,
                                int truncated, cg_buf *answer)
{
    cg_gateway *gw = ctx;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cg_pif_outcome o;
    cg_pif_handle(gw->pif, msg, len, truncated, answer, &o);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!gw->access_log)
        return;
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1000.0 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    pthread_mutex_lock(&gw->log_lock);
    fprintf(gw->access_log, "%s %s \"-\" mllp %s %d %s %.1fms control=%s: %s\n", when, peer,
            o.event, o.error, o.ack, ms, o.control_id, o.text);
    fflush(gw->access_log);
    pthread_mutex_unlock(&gw->log_lock);
}

/* The patient identity feed: its configuration, and the MLLP listener bound (not yet accepting). */
static int gateway_pif_open(cg_gateway *gw, cg_err *err)
{
    const cg_gateway_config *cfg = gw->cfg;
    if (!gw->registry)
        return cg_err_set(err, CG_EINVAL,
                          "pif.listen needs the local registry: this node forwards to "
                          "repository.registry_url (point the feed at that registry)");
    cg_pif_config pc;
    memset(&pc, 0, sizeof pc);
    char *list = cfg->pif_authorities ? cg_xstrdup(cfg->pif_authorities) : NULL;
    const char *oids[64];
    size_t n = 0;
    for (char *p = list; p && *p && n < sizeof oids / sizeof oids[0];) {
        size_t len = strcspn(p, " ,");
        char *next = p + len;
        if (*next)
            *next++ = '\0';
        if (len)
            oids[n++] = p;
        p = next + strspn(next, " ,");
    }
    pc.authorities = oids;
    pc.nauthorities = n;
    pc.processing_ids = cfg->pif_processing_ids;
    pc.limits.max_bytes = cfg->pif_max_message;
    gw->pif = cg_pif_new(gw->registry, &pc);
    free(list);
    cg_mllp_config mc = {.listen = cfg->pif_listen,
                         .allow_plain = cfg->pif_allow_plain,
                         .max_message = cfg->pif_max_message,
                         .max_connections = cfg->pif_max_connections,
                         .receive_timeout_s = (int)cfg->pif_receive_timeout,
                         .idle_timeout_s = (int)cfg->pif_idle_timeout,
                         .handler = gateway_pif_message,
                         .ctx = gw};
    cg_err merr;
    cg_err_init(&merr);
    if (cg_mllp_open(&gw->mllp, &mc, &merr) != CG_OK)
        return cg_err_set(err, merr.code, "pif.listen %s: %s", cfg->pif_listen, merr.msg);
    return CG_OK;
}

int cg_gateway_open(cg_gateway **out, const cg_gateway_config *cfg, cg_err *err)
{
    cg_gateway *gw = cg_xcalloc(1, sizeof(*gw));
    int rc;
    gw->cfg = cfg;
    pthread_mutex_init(&gw->log_lock, NULL);
    *out = NULL;
    /* Routes and the listener first: a configuration the server cannot serve (an address that
     * cannot be bound, plain HTTP off loopback, unusable TLS files) fails before the data
     * directory is touched. Nothing is accepted until cg_gateway_run. */
    gw->xds.home_community_id = cfg->home_community_id;
    gw->xds.max_retrieve = cfg->max_retrieve;
    gw->routes[0] = (cg_route){cfg->repository_path, CG_ACTION_ITI41, cg_svc_iti41, &gw->xds,
                               CG_NS_XDSB, "ProvideAndRegisterDocumentSetRequest"};
    gw->routes[1] = (cg_route){cfg->repository_path, CG_ACTION_ITI43, cg_svc_iti43, &gw->xds,
                               CG_NS_XDSB, "RetrieveDocumentSetRequest"};
    gw->routes[2] = (cg_route){cfg->repository_path, CG_ACTION_ITI86, cg_svc_iti86, &gw->xds,
                               CG_NS_RMD, "RemoveDocumentsRequest"};
    gw->routes[3] = (cg_route){cfg->registry_path, CG_ACTION_ITI42, cg_svc_iti42, &gw->xds,
                               CG_NS_LCM, "SubmitObjectsRequest"};
    gw->routes[4] = (cg_route){cfg->registry_path, CG_ACTION_ITI18, cg_svc_iti18, &gw->xds,
                               CG_NS_QUERY, "AdhocQueryRequest"};
    gw->routes[5] = (cg_route){cfg->registry_path, CG_ACTION_ITI51, cg_svc_iti18, &gw->xds, NULL,
                               NULL};
    /* With a remote registry this node is a repository only: no registry endpoint. */
    size_t nroutes = cfg->registry_url ? 3 : 6, nwsdl = 0;
    gw->wsdl[nwsdl++] = (cg_server_wsdl){cfg->repository_path, "repository.wsdl"};
    if (!cfg->registry_url)
        gw->wsdl[nwsdl++] = (cg_server_wsdl){cfg->registry_path, "registry.wsdl"};
    /* XCA Responding Gateway: ours are the local registry's and repository's documents. */
    if (!cfg->registry_url && cfg->home_community_id) {
        gw->routes[nroutes++] = (cg_route){cfg->responding_gateway_path, CG_ACTION_ITI38,
                                           cg_svc_iti38, &gw->xds, CG_NS_QUERY,
                                           "AdhocQueryRequest"};
        gw->routes[nroutes++] = (cg_route){cfg->responding_gateway_path, CG_ACTION_ITI39,
                                           cg_svc_iti39, &gw->xds, CG_NS_XDSB,
                                           "RetrieveDocumentSetRequest"};
        gw->wsdl[nwsdl++] = (cg_server_wsdl){cfg->responding_gateway_path,
                                             "responding-gateway.wsdl"};
    }
    /* XCA Initiating Gateway: local consumers' ITI-18 and ITI-43, fanned out to the directory */
    if (cfg->ncommunities > 0) {
        cg_xca_ig_config ic = {.communities = cfg->communities,
                               .ncommunities = cfg->ncommunities,
                               .local = cfg->xca_query_local && !cfg->registry_url ? &gw->xds
                                                                                   : NULL,
                               .local_home = cfg->home_community_id,
                               .max_retrieve = cfg->max_retrieve,
                               .max_results = cfg->max_query_results,
                               .max_idle = 8};
        if ((rc = cg_xca_ig_new(&gw->ig, &ic, err)) != CG_OK)
            goto fail;
        gw->routes[nroutes++] = (cg_route){cfg->initiating_gateway_path, CG_ACTION_ITI18,
                                           cg_svc_ig_query, gw->ig, CG_NS_QUERY,
                                           "AdhocQueryRequest"};
        gw->routes[nroutes++] = (cg_route){cfg->initiating_gateway_path, CG_ACTION_ITI43,
                                           cg_svc_ig_retrieve, gw->ig, CG_NS_XDSB,
                                           "RetrieveDocumentSetRequest"};
        gw->wsdl[nwsdl++] = (cg_server_wsdl){cfg->initiating_gateway_path,
                                             "initiating-gateway.wsdl"};
    }
    unsigned threads = gateway_threads(cfg->threads);
    if (cfg->registry_url) {
        cg_xds_forward_config fc = {.url = cfg->registry_url,
                                    .timeout_s = (int)cfg->registry_timeout,
                                    .tls_cert = cfg->registry_tls_cert,
                                    .tls_key = cfg->registry_tls_key,
                                    .tls_ca = cfg->registry_tls_ca,
                                    .max_idle = threads};
        cg_err ferr;
        cg_err_init(&ferr);
        if (cg_xds_forward_new(&gw->forward, &fc, &ferr) != CG_OK) {
            rc = cg_err_set(err, ferr.code, "repository.registry_url %s: %s", cfg->registry_url,
                            ferr.msg);
            goto fail;
        }
    }

    if (strcmp(cfg->access_log, "stderr") == 0) {
        gw->access_log = stderr;
    } else if (strcmp(cfg->access_log, "off") != 0) {
        gw->access_log = fopen(cfg->access_log, "a");
        if (!gw->access_log) {
            rc = cg_err_set(err, CG_EIO, "fopen(%s): cannot open the access log", cfg->access_log);
            goto fail;
        }
        gw->own_access_log = 1;
    }

    cg_server_config sv = {0};
    sv.listen = cfg->listen;
    sv.threads = threads;
    sv.max_connections = cfg->max_connections;
    sv.max_envelope = cfg->max_envelope;
    sv.max_part = cfg->max_attachment;
    sv.max_parts = cfg->max_attachments;
    sv.max_header = cfg->max_header;
    sv.max_depth = cfg->max_xml_depth;
    sv.recv_timeout_s = (int)cfg->recv_timeout;
    sv.send_timeout_s = (int)cfg->send_timeout;
    sv.transfer_timeout_s = (int)cfg->transfer_timeout;
    sv.keepalive_timeout_s = (int)cfg->keepalive_timeout;
    sv.keepalive_max = cfg->keepalive_requests;
    sv.tls_cert = cfg->tls_cert;
    sv.tls_key = cfg->tls_key;
    sv.tls_key_password = cfg->tls_key_password;
    sv.tls_ca = cfg->tls_client_ca;
    sv.tls_ciphers = cfg->tls_ciphers;
    sv.tls13_only = cfg->tls13_only;
    sv.allow_plain = cfg->allow_plain_http;
    sv.routes = gw->routes;
    sv.nroutes = nroutes;
    gw->get_routes[0] = (cg_get_route){CG_VIEW_PREFIX, cg_svc_documents, &gw->view};
    gw->get_routes[1] = (cg_get_route){CG_VIEW_PATIENT_PREFIX, cg_svc_patient_page, &gw->view};
    sv.get_routes = gw->get_routes;
    sv.nget_routes = cfg->registry_url ? 1 : 2; /* the patient page needs the local registry */
    sv.wsdl_dir = gateway_wsdl_dir();
    sv.wsdl_map = gw->wsdl;
    sv.nwsdl = nwsdl;
    sv.health = gateway_health;
    sv.health_ctx = gw;
    sv.on_request = gateway_log;
    sv.log_ctx = gw;
    if ((rc = cg_server_start(&gw->server, &sv, err)) != CG_OK)
        goto fail;

    if ((rc = cg_fs_mkdirs(cfg->data_dir, err)) != CG_OK ||
        (rc = cg_gateway_repository_id(gw->repository_id, cfg->data_dir, cfg->repository_id,
                                       err)) != CG_OK)
        goto fail;

    cg_store_config sc = {.data_dir = cfg->data_dir,
                          .readers = cfg->store_readers,
                          .commit_batch = cfg->commit_batch,
                          .busy_timeout_ms = 5000,
                          .pending_max_age_s = cfg->registry_timeout * PENDING_MAX_AGE_TIMEOUTS};
    if (sc.pending_max_age_s < PENDING_MAX_AGE_MIN_S)
        sc.pending_max_age_s = PENDING_MAX_AGE_MIN_S;
    if ((rc = cg_store_open(&gw->store, &sc, err)) != CG_OK)
        goto fail;

    if (cfg->content_policy != CG_CONTENT_OFF) {
        cg_err perr;
        cg_err_init(&perr);
        const char *dir = cg_profile_dir(cfg->profile_dir);
        if (cg_profile_open(&gw->profile, dir, cfg->profile, &perr) != CG_OK) {
            if (perr.code != CG_ENOTFOUND) {
                rc = cg_err_set(err, perr.code, "validation profile %s: %s", cfg->profile, perr.msg);
                goto fail;
            }
            gw->profile_missing = cg_xasprintf(
                "profile %s is not installed in %s (cdagate profile install)", cfg->profile, dir);
        }
    }

    if (!gw->forward) {
        cg_registry_config rc_cfg;
        cg_registry_config_default(&rc_cfg);
        rc_cfg.check_patients = cfg->check_patients;
        rc_cfg.home_community_id = cfg->home_community_id;
        rc_cfg.max_query_results = cfg->max_query_results;
        rc_cfg.multi_patient_queries = cfg->multi_patient_queries;
        gw->registry = cg_registry_new(gw->store, &rc_cfg);
    }
    cg_repository_config rp_cfg = {.repository_id = gw->repository_id,
                                   .policy = cfg->content_policy,
                                   .profile = gw->profile,
                                   .profile_missing_reason = gw->profile_missing,
                                   .max_document = cfg->max_attachment,
                                   .max_depth = cfg->max_xml_depth,
                                   .validation_slots = gateway_validation_threads(cfg)};
    gw->repository = cg_repository_new(gw->store, &rp_cfg);
    cg_err verr;
    cg_err_init(&verr);
    if (cg_render_open(&gw->render, NULL, &verr) != CG_OK)
        gw->render_missing = cg_xasprintf("document views are off: %s", verr.msg);
    gw->view = (cg_view){.store = gw->store,
                         .repository_id = gw->repository_id,
                         .render = gw->render,
                         .render_missing = gw->render_missing,
                         .max_document = cfg->max_attachment,
                         .max_depth = cfg->max_xml_depth};
    gw->xds.registry = gw->registry;
    gw->xds.repository = gw->repository;
    gw->xds.forward = gw->forward;
    if (cfg->pif_listen && (rc = gateway_pif_open(gw, err)) != CG_OK)
        goto fail;
    *out = gw;
    return CG_OK;
fail:
    cg_gateway_free(gw);
    return rc;
}

int cg_gateway_run(cg_gateway *gw)
{
    if (gw->mllp) {
        cg_err err;
        cg_err_init(&err);
        if (cg_mllp_start(gw->mllp, &err) != CG_OK) {
            fprintf(stderr, "cdagate: %s\n", err.msg);
            return CG_EIO;
        }
    }
    return cg_server_run(gw->server);
}

void cg_gateway_stop(cg_gateway *gw)
{
    cg_server_stop(gw->server);
}

int cg_gateway_port(const cg_gateway *gw)
{
    return cg_server_port(gw->server);
}

void cg_gateway_describe(const cg_gateway *gw, FILE *out)
{
    const cg_gateway_config *c = gw->cfg;
    const char *scheme = c->tls_cert ? "https" : "http";
    char host[256];
    snprintf(host, sizeof(host), "%s", c->listen);
    char *colon = strrchr(host, ':');
    if (colon)
        *colon = '\0';
    fprintf(out, "cdagate: listening on %s://%s:%d\n", scheme, host, cg_gateway_port(gw));
    if (gw->forward) {
        fprintf(out,
                "cdagate: repository %s (ITI-41, ITI-43, ITI-86); this node is a repository only: "
                "%s (ITI-42) is not served\n",
                c->repository_path, c->registry_path);
        fprintf(out, "cdagate: ITI-41 metadata is registered at %s (ITI-42, timeout %us)\n",
                c->registry_url, c->registry_timeout);
    } else {
        fprintf(out, "cdagate: repository %s (ITI-41, ITI-43, ITI-86), registry %s (ITI-42, ITI-18)\n",
                c->repository_path, c->registry_path);
    }
    fprintf(out, "cdagate: repositoryUniqueId %s\n", gw->repository_id);
    if (gw->ig)
        fprintf(out, "cdagate: XCA initiating gateway %s (ITI-18, ITI-43) to %zu communit%s%s\n",
                c->initiating_gateway_path, c->ncommunities, c->ncommunities == 1 ? "y" : "ies",
                c->xca_query_local && !c->registry_url ? " and the local registry" : "");
    if (!gw->forward && c->home_community_id)
        fprintf(out, "cdagate: XCA responding gateway %s (ITI-38, ITI-39), homeCommunityId %s\n",
                c->responding_gateway_path, c->home_community_id);
    if (gw->render_missing)
        fprintf(out, "cdagate: %s\n", gw->render_missing);
    else
        fprintf(out, "cdagate: documents at " CG_VIEW_PREFIX "{uniqueId}, as HTML at "
                     CG_VIEW_PREFIX "{uniqueId}/view%s\n",
                gw->forward ? "" : "; a patient's at " CG_VIEW_PATIENT_PREFIX "{patientId}");
    fprintf(out, "cdagate: data directory %s\n", c->data_dir);
    cg_store_stats st;
    cg_err err;
    cg_err_init(&err);
    if (cg_store_stats_get(gw->store, &st, &err) == CG_OK && st.purged_at_open > 0)
        fprintf(out,
                "cdagate: deleted %lld document(s) left waiting for a registry's answer by an "
                "interrupted submission (never retrievable)\n",
                (long long)st.purged_at_open);
    static const char *const policy[] = {"off", "warn", "reject"};
    if (c->content_policy == CG_CONTENT_OFF)
        fprintf(out, "cdagate: C-CDA content validation off\n");
    else if (gw->profile)
        fprintf(out, "cdagate: C-CDA content validation: %s, profile %s\n",
                policy[c->content_policy], c->profile);
    else
        fprintf(out, "cdagate: C-CDA content validation: %s, well-formedness only: %s\n",
                policy[c->content_policy], gw->profile_missing);
    if (gw->mllp)
        fprintf(out, "cdagate: patient identity feed (ITI-8, HL7 v2 over MLLP) on mllp://%.*s:%d\n",
                (int)(strrchr(c->pif_listen, ':') - c->pif_listen), c->pif_listen,
                cg_mllp_port(gw->mllp));
    fprintf(out, "cdagate: ready\n");
    fflush(out);
}

void cg_gateway_free(cg_gateway *gw)
{
    if (!gw)
        return;
    cg_mllp_free(gw->mllp); /* its connections answer before the registry goes */
    cg_pif_free(gw->pif);
    cg_server_free(gw->server);
    cg_xca_ig_free(gw->ig); /* waits for calls past their deadline */
    cg_xds_forward_free(gw->forward);
    cg_repository_free(gw->repository);
    cg_registry_free(gw->registry);
    cg_profile_free(gw->profile);
    cg_render_free(gw->render);
    free(gw->render_missing);
    free(gw->profile_missing);
    cg_store_free(gw->store);
    if (gw->own_access_log)
        fclose(gw->access_log);
    pthread_mutex_destroy(&gw->log_lock);
    free(gw);
}
