/* config: the gateway's configuration (see config.h and docs/configuration.md). */
#include "gateway/config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/id.h"
#include "util/pool.h"

static void config_defaults(cg_gateway_config *c)
{
    c->listen = "127.0.0.1:8080";
    c->threads = 0; /* 12 x cores, at least 24 (gateway.c) */
    c->max_connections = 256;
    c->allow_plain_http = 0;
    c->access_log = "stderr";
    c->repository_path = "/xds/repository";
    c->registry_path = "/xds/registry";
    c->responding_gateway_path = "/xca/responding-gateway";
    c->initiating_gateway_path = "/xca/initiating-gateway";
    c->xca_query_local = 1;
    c->max_envelope = (size_t)16 << 20;
    c->max_attachment = (size_t)64 << 20;
    c->max_attachments = 100;
    c->max_xml_depth = 256;
    c->max_header = (size_t)64 << 10;
    c->max_retrieve = 100;
    c->recv_timeout = 30;
    c->send_timeout = 30;
    c->transfer_timeout = 300;
    c->keepalive_timeout = 15;
    c->keepalive_requests = 1000;
    c->tls_ciphers = NULL;
    c->tls13_only = 0;
    c->data_dir = NULL;
    c->store_readers = 8;
    c->commit_batch = 64;
    c->check_patients = 1;
    c->max_query_results = 1000;
    c->multi_patient_queries = 0;
    c->content_policy = CG_CONTENT_REJECT;
    c->profile = "ccda-r2.1";
    c->registry_timeout = 30;
    c->pif_max_message = (size_t)1 << 20;
    c->pif_max_connections = 16;
    c->pif_receive_timeout = 30;
    c->pif_idle_timeout = 300;
    c->audit_sink = "file";
    c->audit_spool_max = (size_t)1 << 30;
    c->audit_udp_max = 65507;
    c->audit_retry_max = 10;
    c->audit_delivery_ms = 1000;
}

/* [access]: roles need client certificates (mutual TLS). */
static int config_access(cg_gateway_config *c, cg_err *err)
{
    const char **roles[] = {&c->access_source, &c->access_consumer, &c->access_gateway_peer,
                            &c->access_admin};
    int any = 0;
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        if (*roles[i] && !**roles[i])
            *roles[i] = NULL;
        any |= *roles[i] != NULL;
    }
    if (any && !c->tls_client_ca)
        return cg_err_set(err, CG_EINVAL,
                          "[access] maps client certificates to roles: it needs mutual TLS "
                          "(tls.client_ca)");
    return CG_OK;
}

/* [audit]: the sink and what it needs. */
static int config_audit(cg_gateway_config *c, cg_err *err)
{
    const char **optional[] = {&c->audit_file,      &c->audit_address,   &c->audit_ca,
                               &c->audit_cert,      &c->audit_key,       &c->audit_spool_dir,
                               &c->audit_source_id, &c->audit_site_id};
    for (size_t i = 0; i < sizeof optional / sizeof optional[0]; i++)
        if (*optional[i] && !**optional[i])
            *optional[i] = NULL;
    const char *k = c->audit_sink;
    if (strcmp(k, "file") != 0 && strcmp(k, "udp") != 0 && strcmp(k, "tls") != 0 &&
        strcmp(k, "off") != 0)
        return cg_err_set(err, CG_EINVAL, "audit.sink = \"%s\": use file, udp, tls or off", k);
    int net = strcmp(k, "udp") == 0 || strcmp(k, "tls") == 0;
    if (net && !c->audit_address)
        return cg_err_set(err, CG_EINVAL, "audit.sink = %s needs audit.address (HOST:PORT)", k);
    if (!net && c->audit_address)
        return cg_err_set(err, CG_EINVAL, "audit.address is for audit.sink = udp or tls");
    if (strcmp(k, "tls") != 0 && (c->audit_ca || c->audit_cert || c->audit_key))
        return cg_err_set(err, CG_EINVAL, "audit.ca, audit.certificate and audit.key are for "
                                          "audit.sink = tls");
    if (c->audit_key && !c->audit_cert)
        return cg_err_set(err, CG_EINVAL, "audit.key needs audit.certificate");
    if (c->audit_file && strcmp(k, "file") != 0)
        return cg_err_set(err, CG_EINVAL, "audit.file is for audit.sink = file");
    if (c->audit_site_id && !cg_id_is_oid(c->audit_site_id))
        return cg_err_set(err, CG_EINVAL, "audit.enterprise_site_id = \"%s\" is not an OID",
                          c->audit_site_id);
    return CG_OK;
}

/* [pif]: the assigning authorities are OIDs; the processing ids P, D or T. */
static int config_pif(cg_gateway_config *c, cg_err *err)
{
    const char **optional[] = {&c->pif_listen, &c->pif_authorities, &c->pif_processing_ids};
    for (size_t i = 0; i < sizeof optional / sizeof optional[0]; i++)
        if (*optional[i] && !**optional[i])
            *optional[i] = NULL;
    for (const char *p = c->pif_authorities; p && *p;) {
        size_t n = strcspn(p, " ,");
        char oid[128];
        if (n >= sizeof oid)
            return cg_err_set(err, CG_EINVAL, "pif.assigning_authorities: \"%.*s\" is not an OID",
                              (int)(n > 64 ? 64 : n), p);
        memcpy(oid, p, n);
        oid[n] = '\0';
        if (n > 0 && !cg_id_is_oid(oid))
            return cg_err_set(err, CG_EINVAL, "pif.assigning_authorities: \"%s\" is not an OID",
                              oid);
        p += n;
        p += strspn(p, " ,");
    }
    if (c->pif_processing_ids &&
        (strlen(c->pif_processing_ids) > 3 || strspn(c->pif_processing_ids, "PDT") !=
                                                  strlen(c->pif_processing_ids)))
        return cg_err_set(err, CG_EINVAL,
                          "pif.processing_ids = \"%s\": use the letters P, D and T (e.g. P)",
                          c->pif_processing_ids);
    return CG_OK;
}

static int config_path(const char *key, const char *value, cg_err *err)
{
    if (value[0] != '/' || strchr(value, '?') || strchr(value, '#') || strchr(value, ' '))
        return cg_err_set(err, CG_EINVAL, "%s = \"%s\" is not an absolute URL path", key, value);
    return CG_OK;
}

/* http(s)://host[:port]/path, nothing a request line could not carry. */
static int config_url(const char *key, const char *value, cg_err *err)
{
    size_t scheme = strncasecmp(value, "http://", 7) == 0    ? 7
                    : strncasecmp(value, "https://", 8) == 0 ? 8
                                                             : 0;
    int bad = scheme == 0 || value[scheme] == '\0' || value[scheme] == '/' ||
              value[scheme] == ':' || strlen(value) > 2048;
    for (const char *p = value; !bad && *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '#')
            bad = 1;
    if (bad)
        return cg_err_set(err, CG_EINVAL, "%s = \"%s\" is not an http:// or https:// URL", key,
                          value);
    return CG_OK;
}

/* [community.NAME] sections: the Initiating Gateway's directory, in file order. */
static int config_communities(cg_gateway_config *c, cg_err *err)
{
    const cg_conf *f = &c->conf;
    int rc;
    for (size_t i = 0; i < f->n; i++) {
        const char *key = f->v[i].key;
        if (strncmp(key, "community.", 10) != 0)
            continue;
        const char *name = key + 10;
        const char *dot = strrchr(name, '.');
        if (!dot || dot == name)
            return cg_err_set(err, CG_EINVAL, "%s: use a [community.NAME] section", key);
        size_t nlen = (size_t)(dot - name);
        int seen = 0;
        for (size_t k = 0; k < c->ncommunities && !seen; k++)
            seen = strlen(c->communities[k].name) == nlen &&
                   strncmp(c->communities[k].name, name, nlen) == 0;
        if (seen)
            continue;
        if (c->ncommunities == CG_XCA_MAX_COMMUNITIES)
            return cg_err_set(err, CG_EINVAL, "more than %d [community.NAME] sections",
                              CG_XCA_MAX_COMMUNITIES);
        if (nlen > 64 || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789_-") < nlen)
            return cg_err_set(err, CG_EINVAL,
                              "[community.%.*s]: a name of letters, digits, _ and - (64 at most)",
                              (int)(nlen > 64 ? 64 : nlen), name);
        cg_xca_community *m = &c->communities[c->ncommunities++];
        memset(m, 0, sizeof *m);
        /* the name is kept in the key of this entry: "community.NAME.x" */
        char *nm = cg_pool_strndup(c->pool, name, nlen);
        m->name = nm;
        m->timeout_ms = 10000;
        m->max_retrieve = 100;
        char k[160];
#define CK(x) (snprintf(k, sizeof k, "community.%s." x, nm), k)
        cg_conf_string(f, CK("home_community_id"), &m->home_community_id);
        cg_conf_string(f, CK("query_url"), &m->query_url);
        cg_conf_string(f, CK("retrieve_url"), &m->retrieve_url);
        cg_conf_string(f, CK("tls_certificate"), &m->tls_cert);
        cg_conf_string(f, CK("tls_key"), &m->tls_key);
        cg_conf_string(f, CK("tls_ca"), &m->tls_ca);
        cg_conf_string(f, CK("patient_ids"), &m->patient_ids);
        cg_conf_string(f, CK("quirks"), &m->quirks);
        if ((rc = cg_conf_uint(f, CK("timeout_ms"), 1, 600000, &m->timeout_ms, err)) ||
            (rc = cg_conf_uint(f, CK("max_retrieve_documents"), 1, 10000, &m->max_retrieve, err)))
            return rc;
        const char **optional[] = {&m->retrieve_url, &m->tls_cert, &m->tls_key, &m->tls_ca,
                                   &m->patient_ids, &m->quirks};
        for (size_t o = 0; o < sizeof optional / sizeof optional[0]; o++)
            if (*optional[o] && !**optional[o])
                *optional[o] = NULL;
        if (!m->home_community_id || strncmp(m->home_community_id, "urn:oid:", 8) != 0 ||
            !cg_id_is_oid(m->home_community_id + 8))
            return cg_err_set(err, CG_EINVAL,
                              "community.%s.home_community_id must be a urn:oid: URI", nm);
        if (!m->query_url)
            return cg_err_set(err, CG_EINVAL, "community.%s.query_url is missing", nm);
        if (!m->retrieve_url)
            m->retrieve_url = m->query_url;
        if ((rc = config_url(CK("query_url"), m->query_url, err)) ||
            (rc = config_url(CK("retrieve_url"), m->retrieve_url, err)))
            return rc;
#undef CK
        if ((m->tls_cert || m->tls_key || m->tls_ca) &&
            (strncasecmp(m->query_url, "https://", 8) != 0 ||
             strncasecmp(m->retrieve_url, "https://", 8) != 0))
            return cg_err_set(err, CG_EINVAL,
                              "community.%s: tls_certificate, tls_key and tls_ca need https:// URLs",
                              nm);
        for (size_t k2 = 0; k2 + 1 < c->ncommunities; k2++)
            if (strcmp(c->communities[k2].home_community_id, m->home_community_id) == 0)
                return cg_err_set(err, CG_EINVAL, "communities %s and %s have the same "
                                  "home_community_id %s", c->communities[k2].name, nm,
                                  m->home_community_id);
    }
    return CG_OK;
}

static int config_read(cg_gateway_config *c, cg_err *err)
{
    const cg_conf *f = &c->conf;
    const char *policy = NULL;
    int rc = CG_OK;
    cg_conf_string(f, "server.listen", &c->listen);
    cg_conf_string(f, "server.access_log", &c->access_log);
    cg_conf_string(f, "endpoints.repository", &c->repository_path);
    cg_conf_string(f, "endpoints.registry", &c->registry_path);
    cg_conf_string(f, "endpoints.responding_gateway", &c->responding_gateway_path);
    cg_conf_string(f, "endpoints.initiating_gateway", &c->initiating_gateway_path);
    cg_conf_string(f, "tls.certificate", &c->tls_cert);
    cg_conf_string(f, "tls.key", &c->tls_key);
    cg_conf_string(f, "tls.key_password", &c->tls_key_password);
    cg_conf_string(f, "tls.client_ca", &c->tls_client_ca);
    cg_conf_string(f, "tls.ciphers", &c->tls_ciphers);
    cg_conf_string(f, "store.data_dir", &c->data_dir);
    cg_conf_string(f, "registry.home_community_id", &c->home_community_id);
    cg_conf_string(f, "repository.id", &c->repository_id);
    cg_conf_string(f, "repository.content_validation", &policy);
    cg_conf_string(f, "repository.profile", &c->profile);
    cg_conf_string(f, "repository.profile_dir", &c->profile_dir);
    cg_conf_string(f, "repository.registry_url", &c->registry_url);
    cg_conf_string(f, "repository.registry_tls_certificate", &c->registry_tls_cert);
    cg_conf_string(f, "repository.registry_tls_key", &c->registry_tls_key);
    cg_conf_string(f, "repository.registry_tls_ca", &c->registry_tls_ca);
    cg_conf_string(f, "pif.listen", &c->pif_listen);
    cg_conf_string(f, "pif.assigning_authorities", &c->pif_authorities);
    cg_conf_string(f, "pif.processing_ids", &c->pif_processing_ids);
    cg_conf_string(f, "audit.sink", &c->audit_sink);
    cg_conf_string(f, "audit.file", &c->audit_file);
    cg_conf_string(f, "audit.address", &c->audit_address);
    cg_conf_string(f, "audit.ca", &c->audit_ca);
    cg_conf_string(f, "audit.certificate", &c->audit_cert);
    cg_conf_string(f, "audit.key", &c->audit_key);
    cg_conf_string(f, "audit.spool_dir", &c->audit_spool_dir);
    cg_conf_string(f, "audit.source_id", &c->audit_source_id);
    cg_conf_string(f, "audit.enterprise_site_id", &c->audit_site_id);
    cg_conf_string(f, "access.source", &c->access_source);
    cg_conf_string(f, "access.consumer", &c->access_consumer);
    cg_conf_string(f, "access.gateway_peer", &c->access_gateway_peer);
    cg_conf_string(f, "access.admin", &c->access_admin);
    if ((rc = cg_conf_uint(f, "server.threads", 0, 1024, &c->threads, err)) ||
        (rc = cg_conf_uint(f, "server.max_connections", 1, 100000, &c->max_connections, err)) ||
        (rc = cg_conf_bool(f, "server.allow_plain_http", &c->allow_plain_http, err)) ||
        (rc = cg_conf_size(f, "limits.max_envelope_bytes", 4096, (size_t)1 << 30, &c->max_envelope, err)) ||
        (rc = cg_conf_size(f, "limits.max_attachment_bytes", 1024, (size_t)2 << 30, &c->max_attachment, err)) ||
        (rc = cg_conf_uint(f, "limits.max_attachments", 1, 10000, &c->max_attachments, err)) ||
        (rc = cg_conf_uint(f, "limits.max_xml_depth", 16, 10000, &c->max_xml_depth, err)) ||
        (rc = cg_conf_size(f, "limits.max_header_bytes", 1024, (size_t)1 << 20, &c->max_header, err)) ||
        (rc = cg_conf_uint(f, "limits.max_retrieve_documents", 1, 10000, &c->max_retrieve, err)) ||
        (rc = cg_conf_uint(f, "timeouts.receive", 1, 3600, &c->recv_timeout, err)) ||
        (rc = cg_conf_uint(f, "timeouts.send", 1, 3600, &c->send_timeout, err)) ||
        (rc = cg_conf_uint(f, "timeouts.transfer", 1, 86400, &c->transfer_timeout, err)) ||
        (rc = cg_conf_uint(f, "timeouts.keepalive", 1, 3600, &c->keepalive_timeout, err)) ||
        (rc = cg_conf_uint(f, "timeouts.keepalive_requests", 1, 1000000, &c->keepalive_requests, err)) ||
        (rc = cg_conf_bool(f, "tls.tls13_only", &c->tls13_only, err)) ||
        (rc = cg_conf_uint(f, "store.readers", 1, 256, &c->store_readers, err)) ||
        (rc = cg_conf_uint(f, "store.commit_batch", 1, 4096, &c->commit_batch, err)) ||
        (rc = cg_conf_bool(f, "registry.check_patients", &c->check_patients, err)) ||
        (rc = cg_conf_uint(f, "registry.max_query_results", 1, 1000000, &c->max_query_results, err)) ||
        (rc = cg_conf_bool(f, "registry.multi_patient_queries", &c->multi_patient_queries, err)) ||
        (rc = cg_conf_uint(f, "repository.registry_timeout", 1, 600, &c->registry_timeout, err)) ||
        (rc = cg_conf_uint(f, "repository.validation_threads", 0, 1024, &c->validation_threads, err)) ||
        (rc = cg_conf_bool(f, "pif.allow_plain", &c->pif_allow_plain, err)) ||
        (rc = cg_conf_size(f, "pif.max_message_bytes", 1024, (size_t)64 << 20, &c->pif_max_message, err)) ||
        (rc = cg_conf_uint(f, "pif.max_connections", 1, 1024, &c->pif_max_connections, err)) ||
        (rc = cg_conf_uint(f, "pif.receive_timeout", 1, 3600, &c->pif_receive_timeout, err)) ||
        (rc = cg_conf_uint(f, "pif.idle_timeout", 1, 86400, &c->pif_idle_timeout, err)) ||
        (rc = cg_conf_bool(f, "xca.query_local", &c->xca_query_local, err)) ||
        (rc = config_pif(c, err)) || (rc = config_communities(c, err)) ||
        (rc = cg_conf_size(f, "audit.spool_max_bytes", 1 << 20, (size_t)1 << 40, &c->audit_spool_max, err)) ||
        (rc = cg_conf_size(f, "audit.udp_max_bytes", 480, 65507, &c->audit_udp_max, err)) ||
        (rc = cg_conf_uint(f, "audit.retry_max", 1, 3600, &c->audit_retry_max, err)) ||
        (rc = cg_conf_uint(f, "audit.delivery_delay_ms", 0, 60000, &c->audit_delivery_ms, err)) ||
        (rc = config_audit(c, err)) || (rc = config_access(c, err)))
        return rc;
    if (policy) {
        if (strcmp(policy, "reject") == 0)
            c->content_policy = CG_CONTENT_REJECT;
        else if (strcmp(policy, "warn") == 0)
            c->content_policy = CG_CONTENT_WARN;
        else if (strcmp(policy, "off") == 0)
            c->content_policy = CG_CONTENT_OFF;
        else
            return cg_err_set(err, CG_EINVAL,
                              "repository.content_validation = \"%s\": use reject, warn or off",
                              policy);
    }
    if ((rc = config_path("endpoints.repository", c->repository_path, err)) ||
        (rc = config_path("endpoints.registry", c->registry_path, err)) ||
        (rc = config_path("endpoints.responding_gateway", c->responding_gateway_path, err)) ||
        (rc = config_path("endpoints.initiating_gateway", c->initiating_gateway_path, err)))
        return rc;
    if (!c->data_dir || !*c->data_dir)
        return cg_err_set(err, CG_EINVAL, "no data directory: give --data-dir DIR or store.data_dir");
    if (c->ncommunities > 0 && c->xca_query_local && !c->registry_url && !c->home_community_id)
        return cg_err_set(err, CG_EINVAL,
                          "the initiating gateway answers from the local registry too "
                          "(xca.query_local): give registry.home_community_id, or set "
                          "xca.query_local = false");
    if ((c->tls_cert == NULL) != (c->tls_key == NULL))
        return cg_err_set(err, CG_EINVAL, "tls.certificate and tls.key go together");
    if (c->tls_client_ca && !c->tls_cert)
        return cg_err_set(err, CG_EINVAL, "tls.client_ca needs tls.certificate and tls.key");
    if (c->home_community_id && *c->home_community_id &&
        (strncmp(c->home_community_id, "urn:oid:", 8) != 0 ||
         !cg_id_is_oid(c->home_community_id + 8)))
        return cg_err_set(err, CG_EINVAL,
                          "registry.home_community_id = \"%s\" must be a urn:oid: URI",
                          c->home_community_id);
    /* an empty value is no value (as --print-config writes an unset key) */
    const char **optional[] = {&c->registry_url, &c->registry_tls_cert, &c->registry_tls_key,
                               &c->registry_tls_ca};
    for (size_t i = 0; i < sizeof optional / sizeof optional[0]; i++)
        if (*optional[i] && !**optional[i])
            *optional[i] = NULL;
    if (c->registry_url && (rc = config_url("repository.registry_url", c->registry_url, err)))
        return rc;
    if ((c->registry_tls_cert || c->registry_tls_key || c->registry_tls_ca) &&
        (!c->registry_url || strncasecmp(c->registry_url, "https://", 8) != 0))
        return cg_err_set(err, CG_EINVAL,
                          "repository.registry_tls_certificate, registry_tls_key and "
                          "registry_tls_ca need an https:// repository.registry_url");
    if (c->registry_tls_key && !c->registry_tls_cert)
        return cg_err_set(err, CG_EINVAL,
                          "repository.registry_tls_key needs repository.registry_tls_certificate");
    return cg_conf_check_unused(f, err);
}

int cg_gateway_config_load(cg_gateway_config *out, const char *path, const char *const *overrides,
                           size_t noverrides, cg_err *err)
{
    memset(out, 0, sizeof(*out));
    cg_conf_init(&out->conf);
    out->pool = cg_pool_new(0);
    config_defaults(out);
    int rc = CG_OK;
    if (path && (rc = cg_conf_load(&out->conf, path, err)) != CG_OK)
        return rc;
    for (size_t i = 0; i < noverrides; i++) {
        const char *eq = strchr(overrides[i], '=');
        if (!eq || eq == overrides[i])
            return cg_err_set(err, CG_EINVAL, "override \"%s\" is not section.key=value",
                              overrides[i]);
        char key[256];
        size_t klen = (size_t)(eq - overrides[i]);
        if (klen >= sizeof(key))
            return cg_err_set(err, CG_EINVAL, "override key too long");
        memcpy(key, overrides[i], klen);
        key[klen] = '\0';
        cg_conf_set(&out->conf, key, eq + 1);
    }
    return config_read(out, err);
}

void cg_gateway_config_dispose(cg_gateway_config *cfg)
{
    cg_pool_free(cfg->pool);
    cg_conf_dispose(&cfg->conf);
}

void cg_gateway_config_print(const cg_gateway_config *c, void *file)
{
    FILE *out = file;
    static const char *const policy[] = {"off", "warn", "reject"};
#define S(v) ((v) ? (v) : "")
    fprintf(out, "[server]\nlisten = %s\nthreads = %u\nmax_connections = %u\nallow_plain_http = %s\naccess_log = %s\n\n",
            c->listen, c->threads, c->max_connections, c->allow_plain_http ? "true" : "false",
            c->access_log);
    fprintf(out, "[endpoints]\nrepository = %s\nregistry = %s\nresponding_gateway = %s\n"
            "initiating_gateway = %s\n\n", c->repository_path, c->registry_path,
            c->responding_gateway_path, c->initiating_gateway_path);
    fprintf(out,
            "[limits]\nmax_envelope_bytes = %zu\nmax_attachment_bytes = %zu\nmax_attachments = %u\n"
            "max_xml_depth = %u\nmax_header_bytes = %zu\nmax_retrieve_documents = %u\n\n",
            c->max_envelope, c->max_attachment, c->max_attachments, c->max_xml_depth,
            c->max_header, c->max_retrieve);
    fprintf(out, "[timeouts]\nreceive = %u\nsend = %u\ntransfer = %u\nkeepalive = %u\nkeepalive_requests = %u\n\n",
            c->recv_timeout, c->send_timeout, c->transfer_timeout, c->keepalive_timeout,
            c->keepalive_requests);
    fprintf(out, "[tls]\ncertificate = %s\nkey = %s\nclient_ca = %s\nciphers = %s\ntls13_only = %s\n\n",
            S(c->tls_cert), S(c->tls_key), S(c->tls_client_ca), S(c->tls_ciphers),
            c->tls13_only ? "true" : "false");
    fprintf(out, "[store]\ndata_dir = %s\nreaders = %u\ncommit_batch = %u\n\n", S(c->data_dir),
            c->store_readers, c->commit_batch);
    fprintf(out,
            "[registry]\ncheck_patients = %s\nhome_community_id = %s\nmax_query_results = %u\n"
            "multi_patient_queries = %s\n\n",
            c->check_patients ? "true" : "false", S(c->home_community_id), c->max_query_results,
            c->multi_patient_queries ? "true" : "false");
    fprintf(out,
            "[repository]\nid = %s\ncontent_validation = %s\nprofile = %s\nprofile_dir = %s\n"
            "validation_threads = %u\n",
            S(c->repository_id), policy[c->content_policy], S(c->profile), S(c->profile_dir),
            c->validation_threads);
    fprintf(out,
            "registry_url = %s\nregistry_timeout = %u\nregistry_tls_certificate = %s\n"
            "registry_tls_key = %s\nregistry_tls_ca = %s\n",
            S(c->registry_url), c->registry_timeout, S(c->registry_tls_cert),
            S(c->registry_tls_key), S(c->registry_tls_ca));
    fprintf(out,
            "\n[pif]\nlisten = %s\nallow_plain = %s\nmax_message_bytes = %zu\nmax_connections = %u\n"
            "receive_timeout = %u\nidle_timeout = %u\nassigning_authorities = %s\n"
            "processing_ids = %s\n",
            S(c->pif_listen), c->pif_allow_plain ? "true" : "false", c->pif_max_message,
            c->pif_max_connections, c->pif_receive_timeout, c->pif_idle_timeout,
            S(c->pif_authorities), S(c->pif_processing_ids));
    fprintf(out,
            "\n[audit]\nsink = %s\nfile = %s\naddress = %s\nca = %s\ncertificate = %s\nkey = %s\n"
            "spool_dir = %s\nspool_max_bytes = %zu\nudp_max_bytes = %zu\nretry_max = %u\n"
            "delivery_delay_ms = %u\nsource_id = %s\nenterprise_site_id = %s\n",
            c->audit_sink, S(c->audit_file), S(c->audit_address), S(c->audit_ca), S(c->audit_cert),
            S(c->audit_key), S(c->audit_spool_dir), c->audit_spool_max, c->audit_udp_max,
            c->audit_retry_max, c->audit_delivery_ms, S(c->audit_source_id), S(c->audit_site_id));
    fprintf(out, "\n[access]\nsource = %s\nconsumer = %s\ngateway_peer = %s\nadmin = %s\n",
            S(c->access_source), S(c->access_consumer), S(c->access_gateway_peer),
            S(c->access_admin));
    fprintf(out, "\n[xca]\nquery_local = %s\n", c->xca_query_local ? "true" : "false");
    for (size_t i = 0; i < c->ncommunities; i++) {
        const cg_xca_community *m = &c->communities[i];
        fprintf(out,
                "\n[community.%s]\nhome_community_id = %s\nquery_url = %s\nretrieve_url = %s\n"
                "tls_certificate = %s\ntls_key = %s\ntls_ca = %s\ntimeout_ms = %u\n"
                "max_retrieve_documents = %u\npatient_ids = %s\nquirks = %s\n",
                m->name, m->home_community_id, m->query_url, m->retrieve_url, S(m->tls_cert),
                S(m->tls_key), S(m->tls_ca), m->timeout_ms, m->max_retrieve, S(m->patient_ids),
                S(m->quirks));
    }
#undef S
}
