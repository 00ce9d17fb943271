/* config: the gateway's configuration: every key, its default, its bounds.
 * Owns: turning a configuration file plus command-line overrides into one checked, immutable
 * cg_gateway_config (the only global state cdagate has). Does not own: the file syntax
 * (util/conf) or acting on the values (gateway). docs/configuration.md lists every key. */
#ifndef CG_GATEWAY_CONFIG_H
#define CG_GATEWAY_CONFIG_H

#include <stddef.h>

#include "repository/repository.h"
#include "svc/xca.h"
#include "util/conf.h"
#include "util/err.h"

typedef struct cg_gateway_config {
    /* [server] */
    const char *listen;
    unsigned threads;
    unsigned max_connections;
    int allow_plain_http;
    const char *access_log; /* "stderr", "off" or a file path */
    /* [endpoints] */
    const char *repository_path;
    const char *registry_path;
    const char *responding_gateway_path; /* ITI-38/39, served with registry.home_community_id */
    const char *initiating_gateway_path; /* ITI-18/43 fanned out, served with communities */
    /* [xca] and [community.NAME] */
    int xca_query_local; /* the Initiating Gateway answers from the local registry too */
    cg_xca_community communities[CG_XCA_MAX_COMMUNITIES];
    size_t ncommunities;
    /* [limits] */
    size_t max_envelope;
    size_t max_attachment;
    unsigned max_attachments;
    unsigned max_xml_depth;
    size_t max_header;
    unsigned max_retrieve;
    /* [timeouts] (seconds) */
    unsigned recv_timeout, send_timeout, transfer_timeout, keepalive_timeout;
    unsigned keepalive_requests;
    /* [tls] */
    const char *tls_cert, *tls_key, *tls_key_password, *tls_client_ca, *tls_ciphers;
    int tls13_only;
    /* [store] */
    const char *data_dir;
    unsigned store_readers;
    unsigned commit_batch;
    /* [registry] */
    int check_patients;
    const char *home_community_id;
    unsigned max_query_results; /* stored queries: more is XDSTooManyResults */
    int multi_patient_queries;  /* ITI-51 FindDocuments/FindFoldersForMultiplePatients */
    /* [repository] */
    const char *repository_id; /* NULL: the one kept in the data directory (made at first start) */
    cg_content_policy content_policy;
    const char *profile;
    const char *profile_dir;
    const char *registry_url; /* NULL: the local registry; else ITI-41 registers there (ITI-42) */
    unsigned registry_timeout; /* seconds */
    unsigned validation_threads; /* documents validated at once (0: one per core) */
    const char *registry_tls_cert, *registry_tls_key, *registry_tls_ca;
    /* [pif] the patient identity feed (ITI-8, HL7 v2 over MLLP) */
    const char *pif_listen;       /* NULL: no MLLP listener */
    int pif_allow_plain;          /* a non-loopback pif_listen */
    size_t pif_max_message;
    unsigned pif_max_connections;
    unsigned pif_receive_timeout, pif_idle_timeout; /* seconds */
    const char *pif_authorities;  /* OIDs separated by spaces or commas; NULL: all */
    const char *pif_processing_ids; /* MSH-11 values accepted, e.g. "P"; NULL: P, D, T */
    /* [audit] the ATNA audit trail (docs/operations.md, "Audit trail") */
    const char *audit_sink;       /* "file" (default), "udp", "tls" or "off" */
    const char *audit_file;       /* file sink; NULL: DATA_DIR/audit/audit.log */
    const char *audit_address;    /* udp, tls: HOST:PORT of the audit record repository */
    const char *audit_ca, *audit_cert, *audit_key; /* tls */
    const char *audit_spool_dir;  /* NULL: DATA_DIR/audit */
    size_t audit_spool_max;
    size_t audit_udp_max;
    unsigned audit_retry_max;     /* seconds */
    unsigned audit_delivery_ms;
    const char *audit_source_id;  /* AuditSourceID; NULL: the host name */
    const char *audit_site_id;    /* AuditEnterpriseSiteID; NULL: none */
    /* [access] client certificate subjects per role ('|' between subjects, "*": any client
     * certificate); all NULL: no access control (every authenticated client may do anything) */
    const char *access_source, *access_consumer, *access_gateway_peer, *access_admin;
    /* the parsed file and overrides; strings above point into it or into pool */
    cg_conf conf;
    struct cg_pool *pool;
} cg_gateway_config;

/* Defaults, then the file (when path is not NULL), then overrides ("section.key=value" each).
 * CG_EINVAL names the file, line and key of any bad or unknown value. */
int cg_gateway_config_load(cg_gateway_config *out, const char *path, const char *const *overrides,
                           size_t noverrides, cg_err *err);
void cg_gateway_config_dispose(cg_gateway_config *cfg);
/* Writes the effective configuration in the file syntax (for `cdagate serve --print-config`). */
void cg_gateway_config_print(const cg_gateway_config *cfg, void *file);

#endif
