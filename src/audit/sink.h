/* sink: where audit records go, in order, and how none is lost across restarts.
 * Owns: the RFC 5424 syslog message around each record (MSGID IHE+RFC-3881, a meta sequenceId),
 * the on-disk spool every record is appended to before it is sent, the thread that drains the
 * spool to the configured sink (a local file; RFC 5426 syslog over UDP; RFC 5425 syslog over
 * TLS 1.2+ with octet-counting framing), reconnecting, and the position of the first record not
 * known to be delivered (kept on disk, so a restart resends from there).
 * Does not own: what a record says (audit/audit), when records are made (gateway). */
#ifndef CG_AUDIT_SINK_H
#define CG_AUDIT_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef enum cg_audit_sink_kind {
    CG_AUDIT_SINK_OFF = 0,
    CG_AUDIT_SINK_FILE,
    CG_AUDIT_SINK_UDP,
    CG_AUDIT_SINK_TLS
} cg_audit_sink_kind;

typedef struct cg_audit_sink_config {
    cg_audit_sink_kind kind;
    const char *spool_dir;  /* the spool and its position file live here (created) */
    size_t spool_max;       /* bytes the spool may hold unsent; past it records are dropped */
    const char *file;       /* FILE: the file records are appended to, one message per line */
    const char *host;       /* UDP, TLS: the audit repository's host name or address */
    int port;               /*           and port */
    const char *tls_ca;     /* TLS: CAs that may sign the repository's certificate (NULL: system) */
    const char *tls_cert;   /* TLS: our client certificate (optional), its key in tls_key */
    const char *tls_key;
    size_t udp_max;         /* UDP: bytes of one datagram; a longer message is cut (RFC 5426 3.2) */
    unsigned retry_max_ms;  /* the longest wait between reconnections (they start at 100 ms) */
    unsigned delivery_ms;   /* TLS: how long bytes must have sat on a connection that is still
                             * open before they count as delivered (see docs/operations.md) */
    const char *hostname;   /* HOSTNAME of the syslog header (NULL: gethostname) */
    const char *app_name;   /* APP-NAME (NULL: "cdagate") */
} cg_audit_sink_config;

typedef struct cg_audit_sink cg_audit_sink;

/* Opens (or creates) the spool, checks what an earlier process left in it (a record cut by a
 * crash is dropped), and starts the sending thread, which first resends what was not delivered.
 * CG_EINVAL: unusable TLS files; CG_EIO: the spool cannot be used. */
int cg_audit_sink_open(cg_audit_sink **out, const cg_audit_sink_config *cfg, cg_err *err);

/* Appends one record (the AuditMessage XML, one line) to the spool as a syslog message, in the
 * order of the calls, and wakes the sending thread. Thread-safe. The record is in the spool
 * file (the kernel's page cache: a crash of the process loses nothing) when this returns; the
 * sending thread fsyncs the spool (at most every 20 ms) before it sends what it holds.
 * CG_ETOOBIG: the spool is full (the record is dropped and counted); CG_EIO: the write failed. */
int cg_audit_sink_put(cg_audit_sink *s, const char *xml, size_t len);

typedef struct cg_audit_sink_stats {
    uint64_t queued_bytes;   /* spool bytes not yet delivered */
    uint64_t delivered;      /* records delivered since start */
    uint64_t dropped;        /* records dropped since start (spool full) */
    uint32_t last_sequence;  /* sequenceId of the last record put */
    int connected;           /* UDP, TLS: a connection (or socket) is open */
    char last_error[256];    /* the last sending failure, "" when none */
} cg_audit_sink_stats;

void cg_audit_sink_get_stats(cg_audit_sink *s, cg_audit_sink_stats *out);

/* Waits up to timeout_ms for every record put so far to be delivered. CG_OK, or CG_EIO. */
int cg_audit_sink_flush(cg_audit_sink *s, int timeout_ms);

/* Stops the thread (after up to 2 s for what is queued); undelivered records stay in the spool
 * for the next start. NULL is allowed. */
void cg_audit_sink_free(cg_audit_sink *s);

#endif
