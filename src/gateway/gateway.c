/* gateway: one running cdagate server, put together from its configuration (see gateway.h). */
#define _POSIX_C_SOURCE 200809L
#include "gateway/gateway.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/sink.h"
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
#define GATEWAY_ROUTES 12 /* SOAP routes (actions) this server can have */
/* Documents held for a remote registry's answer longer than this at start-up were left by a
 * process that died waiting: deleted. Well past the longest wait (connect, send and receive,
 * each up to registry_timeout), so that nothing still waited for is touched. */
#define PENDING_MAX_AGE_MIN_S 600
#define PENDING_MAX_AGE_TIMEOUTS 10

/* [access]: the roles a client certificate may hold (docs/configuration.md). */
typedef enum gateway_role {
    ROLE_SOURCE,       /* a Document Source: ITI-41, ITI-42 */
    ROLE_CONSUMER,     /* a Document Consumer: ITI-43, ITI-18, ITI-51, the document views */
    ROLE_GATEWAY_PEER, /* an Initiating Gateway: ITI-38, ITI-39 */
    ROLE_ADMIN         /* a Document Administrator: ITI-86, ITI-57, ITI-62, and every other */
} gateway_role;

/* A route with the role it requires: the route's own handler behind a check. */
typedef struct gateway_guard {
    cg_gateway *gw;
    gateway_role role;
    const char *transaction; /* for the refusal's audit record (GET routes) */
    cg_handler_fn fn;
    cg_get_fn get_fn;
    void *ctx;
} gateway_guard;

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
    cg_route routes[GATEWAY_ROUTES];
    gateway_guard guards[GATEWAY_ROUTES]; /* one per route (gateway_guard_routes) */
    cg_server_wsdl wsdl[4];
    cg_render *render; /* the document views' stylesheet; NULL when it could not be loaded */
    char *render_missing;
    cg_view view;
    cg_get_route get_routes[2];
    gateway_guard get_guards[2];
    int access_on; /* [access] has a role mapping: every route checks the client's role */
    cg_server *server;
    FILE *access_log;
    int own_access_log;
    pthread_mutex_t log_lock;
    cg_pif *pif;   /* the patient identity feed (ITI-8), NULL without pif.listen */
    cg_mllp *mllp; /* its listener */
    cg_audit_sink *audit; /* the audit trail, NULL with audit.sink = off */
    cg_audit_source audit_src;
    char audit_host[256];  /* our host name */
    char *audit_base;      /* "https://host:port": our endpoints' URLs start with it */
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
                  "\"pendingDocuments\":%lld",
                  gw->repository_id, (long long)st.document_entries, (long long)st.submission_sets,
                  (long long)st.documents, (long long)st.patients,
                  (long long)st.pending_documents);
    if (gw->audit) {
        /* the audit trail: undelivered bytes, records dropped (a full spool), the last failure */
        cg_audit_sink_stats as;
        cg_audit_sink_get_stats(gw->audit, &as);
        cg_buf_printf(out, ",\"audit\":{\"queuedBytes\":%llu,\"delivered\":%llu,"
                           "\"dropped\":%llu,\"lastSequenceId\":%lu,\"lastError\":\"",
                      (unsigned long long)as.queued_bytes, (unsigned long long)as.delivered,
                      (unsigned long long)as.dropped, (unsigned long)as.last_sequence);
        for (const char *p = as.last_error; *p; p++)
            if (*p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
                cg_buf_putc(out, *p);
        cg_buf_puts(out, "\"}");
    }
    cg_buf_putc(out, '}');
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

/* The first RegistryError of an answer (on the root or its first element child), as
 * "errorCode: codeContext", NULL when none. */
static const char *gateway_first_error(cg_pool *pool, xmlNodePtr root)
{
    for (int depth = 0; root && depth < 2; depth++) {
        for (xmlNodePtr l = root->children; l; l = l->next) {
            if (l->type != XML_ELEMENT_NODE || strcmp((const char *)l->name, "RegistryErrorList"))
                continue;
            for (xmlNodePtr e = l->children; e; e = e->next) {
                if (e->type != XML_ELEMENT_NODE)
                    continue;
                xmlChar *code = xmlGetProp(e, (const xmlChar *)"errorCode");
                xmlChar *ctx = xmlGetProp(e, (const xmlChar *)"codeContext");
                const char *t = cg_pool_printf(pool, "%s: %.600s", code ? (char *)code : "",
                                               ctx ? (char *)ctx : "");
                xmlFree(code);
                xmlFree(ctx);
                return t;
            }
        }
        xmlNodePtr c = root->children;
        while (c && c->type != XML_ELEMENT_NODE)
            c = c->next;
        root = c;
    }
    return NULL;
}

/* The audit record of one request (every routed GET and every POST, answered or refused),
 * written once, after the answer. What the handler did not set comes from the request and the
 * answer: the transaction from the action, the outcome from the status. */
static void gateway_audit(cg_gateway *gw, const cg_request *req, const cg_response *resp,
                          int status)
{
    cg_audit_event *ev = req->audit;
    if (!gw->audit || !ev)
        return;
    if (!ev->transaction)
        ev->transaction = cg_audit_transaction_by_action(req->action)->id;
    ev->peer_addr = req->peer_addr;
    ev->peer_subject = req->peer_subject;
    if (req->reply_to && !ev->peer_user)
        ev->peer_user = cg_pool_strndup(req->pool, req->reply_to, CG_AUDIT_MAX_TEXT);
    if (req->path)
        ev->endpoint = cg_pool_printf(req->pool, "%s%.*s", gw->audit_base, CG_AUDIT_MAX_TEXT,
                                      req->path);
    if (ev->outcome == CG_AUDIT_SUCCESS && !ev->outcome_text) {
        if (resp && resp->fault) {
            cg_audit_set_outcome(ev,
                                 resp->fault == CG_FAULT_RECEIVER ? CG_AUDIT_MAJOR_FAILURE
                                                                  : CG_AUDIT_SERIOUS_FAILURE,
                                 resp->fault_reason);
        } else if (resp && resp->body) {
            xmlNodePtr root = xmlDocGetRootElement(resp->body);
            const char *o = gateway_outcome(root);
            if (strcmp(o, "partial") == 0)
                cg_audit_set_outcome(ev, CG_AUDIT_MINOR_FAILURE,
                                     gateway_first_error(req->pool, root));
            else if (strcmp(o, "failure") == 0)
                cg_audit_set_outcome(ev, CG_AUDIT_SERIOUS_FAILURE,
                                     gateway_first_error(req->pool, root));
            else if (status >= 400)
                cg_audit_set_outcome(ev, CG_AUDIT_SERIOUS_FAILURE,
                                     cg_pool_printf(req->pool, "HTTP %d", status));
        } else if (status >= 400) {
            cg_audit_set_outcome(ev,
                                 status >= 500 ? CG_AUDIT_MAJOR_FAILURE : CG_AUDIT_SERIOUS_FAILURE,
                                 cg_pool_printf(req->pool, "HTTP %d", status));
        }
    }
    cg_buf msg;
    cg_buf_init(&msg, (size_t)15 << 20);
    if (cg_audit_message(&msg, ev, &gw->audit_src) == CG_OK)
        cg_audit_sink_put(gw->audit, msg.data, msg.len);
    else
        fprintf(stderr, "cdagate: audit: the record of a %s request could not be written\n",
                ev->transaction ? ev->transaction : "-");
    cg_buf_dispose(&msg);
}

/* One access-log line per request: time, peer, certificate subject, action, outcome, ms; and
 * the request's audit record. */
static void gateway_log(void *ctx, const cg_request *req, const cg_response *resp, int status,
                        double ms)
{
    cg_gateway *gw = ctx;
    if (req)
        gateway_audit(gw, req, resp, status);
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
    if (gw->audit) {
        /* ITI TF-2a 3.8.5.1: the Patient Identity Source (MSH-3|MSH-4) is the Source Role, the
         * registry (MSH-5|MSH-6) the Destination; one record per message, AE and AR too. A
         * merge is one record of the surviving patient and the merged one, action U. */
        cg_pool *pool = cg_pool_new(8192);
        cg_audit_event *ev = cg_audit_event_new(pool);
        cg_audit_set_transaction(ev, "ITI-8");
        ev->action_code = strstr(o.event, "A08") || strstr(o.event, "A40") ? 'U' : 'C';
        ev->peer_addr = peer;
        ev->peer_user = o.sender[0] ? cg_pool_strdup(pool, o.sender) : NULL;
        ev->endpoint = o.receiver[0] ? cg_pool_strdup(pool, o.receiver) : NULL;
        ev->hl7_control_id = strcmp(o.control_id, "-") ? cg_pool_strdup(pool, o.control_id) : NULL;
        cg_audit_add_patient(ev, o.patient);
        cg_audit_add_patient(ev, o.merged);
        if (strcmp(o.ack, "AA") != 0)
            cg_audit_set_outcome(ev, CG_AUDIT_SERIOUS_FAILURE,
                                 cg_pool_printf(pool, "%s %d: %s", o.ack, o.error, o.text));
        cg_buf rec;
        cg_buf_init(&rec, (size_t)1 << 20);
        if (cg_audit_message(&rec, ev, &gw->audit_src) == CG_OK)
            cg_audit_sink_put(gw->audit, rec.data, rec.len);
        cg_buf_dispose(&rec);
        cg_pool_free(pool);
    }
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

/* ---- access control ------------------------------------------------------------------------ */

static const char *const role_key[] = {"access.source", "access.consumer", "access.gateway_peer",
                                       "access.admin"};

/* The role an action requires; anything not listed (a transaction added without a row here)
 * is for administrators only. */
static gateway_role gateway_action_role(const char *action)
{
    static const struct {
        const char *action;
        gateway_role role;
    } table[] = {
        {"urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b", ROLE_SOURCE},
        {"urn:ihe:iti:2007:RegisterDocumentSet-b", ROLE_SOURCE},
        {"urn:ihe:iti:2007:RetrieveDocumentSet", ROLE_CONSUMER},
        {"urn:ihe:iti:2007:RegistryStoredQuery", ROLE_CONSUMER},
        {"urn:ihe:iti:2009:MultiPatientStoredQuery", ROLE_CONSUMER},
        {"urn:ihe:iti:2007:CrossGatewayQuery", ROLE_GATEWAY_PEER},
        {"urn:ihe:iti:2007:CrossGatewayRetrieve", ROLE_GATEWAY_PEER},
        {"urn:ihe:iti:2017:RemoveDocuments", ROLE_ADMIN},
        {"urn:ihe:iti:2010:UpdateDocumentSet", ROLE_ADMIN},
        {"urn:ihe:iti:2010:DeleteDocumentSet", ROLE_ADMIN},
    };
    for (size_t i = 0; action && i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].action, action) == 0)
            return table[i].role;
    return ROLE_ADMIN;
}

/* Whether subject is one of list's ('|' between subjects, spaces around them ignored; "*":
 * any certificate). */
static int gateway_listed(const char *list, const char *subject)
{
    for (const char *p = list; p && *p;) {
        const char *bar = strchr(p, '|');
        const char *end = bar ? bar : p + strlen(p);
        while (p < end && *p == ' ')
            p++;
        const char *e = end;
        while (e > p && e[-1] == ' ')
            e--;
        size_t n = (size_t)(e - p);
        if ((n == 1 && *p == '*') || (n == strlen(subject) && memcmp(p, subject, n) == 0))
            return 1;
        p = bar ? bar + 1 : end;
    }
    return 0;
}

static int gateway_allows(const cg_gateway *gw, const char *subject, gateway_role role)
{
    const cg_gateway_config *c = gw->cfg;
    const char *lists[] = {c->access_source, c->access_consumer, c->access_gateway_peer,
                           c->access_admin};
    if (!gw->access_on)
        return 1;
    if (!subject)
        return 0; /* mutual TLS makes this rare: a certificate without a subject */
    return gateway_listed(c->access_admin, subject) || gateway_listed(lists[role], subject);
}

static const char *gateway_denied(cg_pool *pool, const char *subject, gateway_role role)
{
    return cg_pool_printf(pool,
                          "access denied: the client certificate %s%.300s%s does not hold the role "
                          "this transaction requires (%s)",
                          subject ? "\"" : "", subject ? subject : "(none)", subject ? "\"" : "",
                          role_key[role]);
}

/* A SOAP route behind its role: a refusal is a Sender fault saying which role (the request's
 * audit record says the same, with outcome 8). */
static int gateway_guarded(void *ctx, const cg_request *req, cg_response *resp)
{
    gateway_guard *g = ctx;
    if (!gateway_allows(g->gw, req->peer_subject, g->role)) {
        cg_response_fault(resp, req->pool, CG_FAULT_SENDER, NULL, "%s",
                          gateway_denied(req->pool, req->peer_subject, g->role));
        return CG_OK;
    }
    return g->fn(g->ctx, req, resp);
}

/* A page behind its role: 403. */
static int gateway_guarded_get(void *ctx, const cg_request *req, const char *rest,
                               const char *query, cg_http_answer *out)
{
    gateway_guard *g = ctx;
    if (!gateway_allows(g->gw, req->peer_subject, g->role)) {
        const char *why = gateway_denied(req->pool, req->peer_subject, g->role);
        cg_audit_set_transaction(req->audit, g->transaction);
        cg_audit_set_outcome(req->audit, CG_AUDIT_SERIOUS_FAILURE, why);
        const char *text = cg_pool_printf(req->pool, "%s\n", why);
        out->status = 403;
        out->content_type = "text/plain; charset=utf-8";
        out->data = (const unsigned char *)text;
        out->len = strlen(text);
        out->headers = "Cache-Control: no-store";
        return CG_OK;
    }
    return g->get_fn(g->ctx, req, rest, query, out);
}

/* Every route (those added later too) behind the role its action requires. */
static void gateway_guard_routes(cg_gateway *gw, size_t nroutes, size_t nget)
{
    const cg_gateway_config *c = gw->cfg;
    gw->access_on = c->access_source || c->access_consumer || c->access_gateway_peer ||
                    c->access_admin;
    if (!gw->access_on)
        return;
    for (size_t i = 0; i < nroutes; i++) {
        gw->guards[i] = (gateway_guard){gw, gateway_action_role(gw->routes[i].action), NULL,
                                        gw->routes[i].fn, NULL, gw->routes[i].ctx};
        gw->routes[i].fn = gateway_guarded;
        gw->routes[i].ctx = &gw->guards[i];
    }
    for (size_t i = 0; i < nget; i++) {
        const char *tx = strcmp(gw->get_routes[i].prefix, CG_VIEW_PREFIX) == 0
                             ? CG_AUDIT_DOCUMENT_VIEW
                             : CG_AUDIT_PATIENT_PAGE;
        gw->get_guards[i] = (gateway_guard){gw, ROLE_CONSUMER, tx, NULL, gw->get_routes[i].fn,
                                            gw->get_routes[i].ctx};
        gw->get_routes[i].fn = gateway_guarded_get;
        gw->get_routes[i].ctx = &gw->get_guards[i];
    }
}

/* The audit trail: the sink of audit.sink, its spool in the data directory by default. */
static int gateway_audit_open(cg_gateway *gw, cg_err *err)
{
    const cg_gateway_config *cfg = gw->cfg;
    if (strcmp(cfg->audit_sink, "off") == 0)
        return CG_OK;
    if (gethostname(gw->audit_host, sizeof gw->audit_host - 1) != 0 || !gw->audit_host[0])
        snprintf(gw->audit_host, sizeof gw->audit_host, "localhost");
    char host[256];
    int port = 0;
    if (cg_listen_parse(cfg->listen, host, sizeof host, &port) != CG_OK)
        host[0] = '\0';
    int wildcard = !host[0] || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
    gw->audit_base = cg_xasprintf("%s://%s%s%s:%d", cfg->tls_cert ? "https" : "http",
                                  !wildcard && strchr(host, ':') ? "[" : "",
                                  wildcard ? gw->audit_host : host,
                                  !wildcard && strchr(host, ':') ? "]" : "",
                                  cg_server_port(gw->server));
    gw->audit_src = (cg_audit_source){.source_id = cfg->audit_source_id ? cfg->audit_source_id
                                                                        : gw->audit_host,
                                      .enterprise_site = cfg->audit_site_id,
                                      .host = gw->audit_host,
                                      .pid = (long)getpid()};
    char *spool = cfg->audit_spool_dir ? cg_xstrdup(cfg->audit_spool_dir)
                                       : cg_fs_join(cfg->data_dir, "audit");
    char *file = NULL;
    char ahost[256];
    cg_audit_sink_config sc = {.spool_dir = spool,
                               .spool_max = cfg->audit_spool_max,
                               .udp_max = cfg->audit_udp_max,
                               .retry_max_ms = cfg->audit_retry_max * 1000,
                               .delivery_ms = cfg->audit_delivery_ms,
                               .tls_ca = cfg->audit_ca,
                               .tls_cert = cfg->audit_cert,
                               .tls_key = cfg->audit_key,
                               .hostname = gw->audit_host};
    int rc = CG_OK;
    if (strcmp(cfg->audit_sink, "file") == 0) {
        sc.kind = CG_AUDIT_SINK_FILE;
        file = cfg->audit_file ? cg_xstrdup(cfg->audit_file) : cg_fs_join(spool, "audit.log");
        sc.file = file;
    } else {
        sc.kind = strcmp(cfg->audit_sink, "udp") == 0 ? CG_AUDIT_SINK_UDP : CG_AUDIT_SINK_TLS;
        if (cg_listen_parse(cfg->audit_address, ahost, sizeof ahost, &sc.port) != CG_OK ||
            !ahost[0] || sc.port == 0) {
            rc = cg_err_set(err, CG_EINVAL, "audit.address = \"%s\" is not HOST:PORT",
                            cfg->audit_address);
            goto done;
        }
        sc.host = ahost; /* copied by the sink */
    }
    cg_err serr;
    cg_err_init(&serr);
    if ((rc = cg_audit_sink_open(&gw->audit, &sc, &serr)) != CG_OK)
        rc = cg_err_set(err, rc, "audit: %s", serr.msg);
done:
    free(spool);
    free(file);
    return rc;
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
    gw->routes[6] = (cg_route){cfg->registry_path, CG_ACTION_ITI62, cg_svc_iti62, &gw->xds,
                               CG_NS_LCM, "RemoveObjectsRequest"};
    gw->routes[7] = (cg_route){cfg->registry_path, CG_ACTION_ITI57, cg_svc_iti57, &gw->xds,
                               CG_NS_LCM, "SubmitObjectsRequest"};
    /* With a remote registry this node is a repository only: no registry endpoint. */
    size_t nroutes = cfg->registry_url ? 3 : 8, nwsdl = 0;
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
    gateway_guard_routes(gw, sv.nroutes, sv.nget_routes);
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
    if ((rc = gateway_audit_open(gw, err)) != CG_OK)
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
                "%s (ITI-42, ITI-18, ITI-57, ITI-62) is not served\n",
                c->repository_path, c->registry_path);
        fprintf(out, "cdagate: ITI-41 metadata is registered at %s (ITI-42, timeout %us)\n",
                c->registry_url, c->registry_timeout);
    } else {
        fprintf(out,
                "cdagate: repository %s (ITI-41, ITI-43, ITI-86), registry %s (ITI-42, ITI-18, "
                "ITI-57, ITI-62)\n",
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
    if (!gw->audit)
        fprintf(out, "cdagate: audit trail off\n");
    else if (strcmp(c->audit_sink, "file") == 0)
        fprintf(out, "cdagate: audit trail (ATNA) to %s\n",
                c->audit_file ? c->audit_file : "DATA_DIR/audit/audit.log");
    else
        fprintf(out, "cdagate: audit trail (ATNA) to syslog over %s at %s\n",
                strcmp(c->audit_sink, "tls") == 0 ? "TLS" : "UDP", c->audit_address);
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
    cg_audit_sink_free(gw->audit); /* after the last request's record */
    free(gw->audit_base);
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
