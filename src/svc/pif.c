/* svc/pif: ITI-8 Patient Identity Feed for the Document Registry (see pif.h).
 *
 * One message: parse (hl7v2/message) -> MSH checks (control id, processing id, version: AR when
 * they fail) -> the event (ADT A01/A04/A05/A08: register; A40: merge; anything else AE) -> the
 * identifiers of the accepted assigning authorities as "ID^^^&OID&ISO" -> the store -> ACK.
 * ITI TF-2a 3.8: the registry keeps only the patient identifier of its affinity domain; the
 * demographics of the message are not stored. */
#define _POSIX_C_SOURCE 200809L
#include "svc/pif.h"

#include <assert.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"
#include "util/id.h"

#define PIF_FIELD_MAX 512 /* one identifier component; a patient id is 256 at most */
#define PIF_MAX_REPS 64   /* repetitions of PID-3 or MRG-1 looked at */

/* HL7 table 0357, message error condition codes. */
enum {
    E_SEGMENT_SEQUENCE = 100,
    E_REQUIRED_FIELD = 101,
    E_DATA_TYPE = 102,
    E_TABLE_VALUE = 103,
    E_MESSAGE_TYPE = 200,
    E_EVENT_CODE = 201,
    E_PROCESSING_ID = 202,
    E_VERSION_ID = 203,
    E_UNKNOWN_KEY = 204,
    E_DUPLICATE_KEY = 205,
    E_INTERNAL = 207
};

struct cg_pif {
    cg_registry *reg;
    char **authorities;
    size_t nauthorities;
    char processing_ids[8];
    cg_hl7_limits limits;
    atomic_uint counter; /* our MSH-10 values */
};

cg_pif *
cg_pif_new(cg_registry *reg, const cg_pif_config *cfg)
{
    assert(reg && cfg);
    cg_pif *p = cg_xcalloc(1, sizeof(*p));
    p->reg = reg;
    if (cfg->nauthorities) {
        p->authorities = cg_xcalloc(cfg->nauthorities, sizeof(*p->authorities));
        for (size_t i = 0; i < cfg->nauthorities; i++)
            p->authorities[i] = cg_xstrdup(cfg->authorities[i]);
        p->nauthorities = cfg->nauthorities;
    }
    snprintf(p->processing_ids, sizeof p->processing_ids, "%s",
             cfg->processing_ids && *cfg->processing_ids ? cfg->processing_ids : "PDT");
    cg_hl7_limits_default(&p->limits);
    if (cfg->limits.max_bytes)
        p->limits.max_bytes = cfg->limits.max_bytes;
    if (cfg->limits.max_segments)
        p->limits.max_segments = cfg->limits.max_segments;
    if (cfg->limits.max_fields)
        p->limits.max_fields = cfg->limits.max_fields;
    atomic_init(&p->counter, 0);
    return p;
}

void
cg_pif_free(cg_pif *pif)
{
    if (pif == NULL)
        return;
    for (size_t i = 0; i < pif->nauthorities; i++)
        free(pif->authorities[i]);
    free(pif->authorities);
    free(pif);
}

/* ---- the acknowledgement ------------------------------------------------------------------- */

/* Where an error is: segment, its sequence (from 1), field (0: the segment itself). */
typedef struct err_loc {
    const char *seg;
    size_t seq;
    size_t field;
} err_loc;

/* One message's handling state. */
typedef struct pif_msg {
    cg_pif *pif;
    cg_hl7_message m;
    int parsed; /* m holds segments (else only m.d may be set) */
    const cg_hl7_segment *msh;
    char version[16]; /* MSH-12.1 as received ("" when absent) */
    char trigger[8];  /* MSH-9.2 */
    /* the outcome */
    const char *ack;
    int error;
    err_loc loc;
    char text[256];
    char patient[256], merged[256]; /* for cg_pif_outcome */
} pif_msg;

static int
is_version(const char *v, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(v, *list) == 0)
            return 1;
    return 0;
}

static const char *const supported_versions[] = {"2.3", "2.3.1", "2.4", "2.5", "2.5.1", NULL};
static const char *const err_v25[] = {"2.5", "2.5.1", NULL}; /* ERR-2/ERR-3/ERR-4 */

/* The outcome (the first one set wins: the first error found is the one reported). */
static void outcome(pif_msg *pm, const char *ack, int error, err_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void
outcome(pif_msg *pm, const char *ack, int error, err_loc loc, const char *fmt, ...)
{
    if (pm->ack)
        return;
    pm->ack = ack;
    pm->error = error;
    pm->loc = loc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pm->text, sizeof pm->text, fmt, ap);
    va_end(ap);
}

static const char *
error_name(int code)
{
    switch (code) {
    case E_SEGMENT_SEQUENCE: return "Segment sequence error";
    case E_REQUIRED_FIELD: return "Required field missing";
    case E_DATA_TYPE: return "Data type error";
    case E_TABLE_VALUE: return "Table value not found";
    case E_MESSAGE_TYPE: return "Unsupported message type";
    case E_EVENT_CODE: return "Unsupported event code";
    case E_PROCESSING_ID: return "Unsupported processing id";
    case E_VERSION_ID: return "Unsupported version id";
    case E_UNKNOWN_KEY: return "Unknown key identifier";
    case E_DUPLICATE_KEY: return "Duplicate key identifier";
    default: return "Application internal error";
    }
}

/* A raw MSH field copied as it is (the answer uses the same delimiters), or "". */
static const char *
msh_raw(const pif_msg *pm, size_t n)
{
    return pm->msh ? cg_hl7_field(pm->msh, n) : "";
}

static void
write_ack(pif_msg *pm, cg_buf *ack, cg_pif_outcome *out)
{
    const cg_hl7_delims *d = &pm->m.d;
    const char *version = is_version(pm->version, supported_versions) ? pm->version : "2.5";
    int v25 = is_version(version, err_v25);
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y%m%d%H%M%S+0000", &tm);
    unsigned n = atomic_fetch_add(&pm->pif->counter, 1) % 100000;
    char f = d->field, c = d->comp;
    const char *proc = msh_raw(pm, 11);
    cg_buf_reset(ack);
    /* MSH: we answer as the application the message was sent to */
    cg_buf_printf(ack, "MSH%c%c%c%c%c%c", f, c, d->rep, d->esc, d->sub, f);
    const char *app = msh_raw(pm, 5);
    /* echoed fields are cut at 256 bytes: the answer stays small whatever was sent */
    cg_buf_printf(ack, "%.256s%c%.256s%c%.256s%c%.256s%c%s%c%c", *app ? app : "CDAGATE", f,
                  msh_raw(pm, 6), f, msh_raw(pm, 3), f, msh_raw(pm, 4), f, when, f, f);
    if (pm->trigger[0] && v25)
        cg_buf_printf(ack, "ACK%c%s%cACK", c, pm->trigger, c);
    else if (pm->trigger[0])
        cg_buf_printf(ack, "ACK%c%s", c, pm->trigger);
    else
        cg_buf_puts(ack, "ACK");
    cg_buf_printf(ack, "%cCG%lld%05u%c%s%c%s\r", f, (long long)now, n, f,
                  *proc && strlen(proc) <= 3 ? proc : "P", f, version);
    /* MSA: the code, the control id echoed, what happened */
    cg_buf_printf(ack, "MSA%c%s%c%.256s%c", f, pm->ack, f, msh_raw(pm, 10), f);
    cg_hl7_escape(ack, d, pm->text);
    cg_buf_putc(ack, '\r');
    if (pm->error) {
        cg_buf_printf(ack, "ERR%c", f);
        if (v25) /* ERR-2 location (ERL), ERR-3 code (CWE), ERR-4 severity */
            cg_buf_putc(ack, f);
        if (pm->loc.seg)
            cg_buf_printf(ack, "%s%c%zu", pm->loc.seg, c, pm->loc.seq);
        if (pm->loc.seg && pm->loc.field)
            cg_buf_printf(ack, "%c%zu", c, pm->loc.field);
        if (v25)
            cg_buf_printf(ack, "%c%d%c%s%cHL70357%cE\r", f, pm->error, c, error_name(pm->error), c,
                          f);
        else { /* ERR-1 (ELD): segment^sequence^field^code&text&HL70357 */
            size_t have = pm->loc.seg ? (pm->loc.field ? 3 : 2) : 0;
            for (size_t k = have ? have - 1 : 0; k < 3; k++)
                cg_buf_putc(ack, c);
            cg_buf_printf(ack, "%d%c%s%cHL70357\r", pm->error, d->sub, error_name(pm->error),
                          d->sub);
        }
    }
    if (out) {
        snprintf(out->ack, sizeof out->ack, "%s", pm->ack);
        out->error = pm->error;
        snprintf(out->text, sizeof out->text, "%s", pm->text);
    }
}

/* ---- identifiers ----------------------------------------------------------------------------- */

static int
authority_accepted(const cg_pif *pif, const char *oid)
{
    if (pif->nauthorities == 0)
        return 1;
    for (size_t i = 0; i < pif->nauthorities; i++)
        if (strcmp(pif->authorities[i], oid) == 0)
            return 1;
    return 0;
}

/* The identifiers of a CX field (PID-3, MRG-1) in accepted assigning authorities, as
 * "ID^^^&OID&ISO" (heap strings, at most cap of them); 0 found: the outcome says why. */
static size_t
identifiers(pif_msg *pm, const char *raw, err_loc loc, char **ids, char **oids, size_t cap)
{
    size_t nrep = cg_hl7_repetitions(&pm->m, raw), n = 0;
    if (nrep > PIF_MAX_REPS) /* each is found from the field's start: bounded work */
        nrep = PIF_MAX_REPS;
    int some_id = 0, some_authority = 0;
    char why[160] = "";
    for (size_t r = 1; r <= nrep && n < cap; r++) {
        char id[PIF_FIELD_MAX], oid[PIF_FIELD_MAX], type[16];
        int idn = cg_hl7_get(id, sizeof id, &pm->m, raw, r, 1, 0);
        int oidn = cg_hl7_get(oid, sizeof oid, &pm->m, raw, r, 4, 2);
        cg_hl7_get(type, sizeof type, &pm->m, raw, r, 4, 3);
        if (idn <= 0)
            continue;
        some_id = 1;
        if (oidn <= 0 || strcmp(type, "ISO") != 0 || !cg_id_is_oid(oid))
            continue; /* a local (namespace) authority: another domain's identifier */
        some_authority = 1;
        if (!authority_accepted(pm->pif, oid))
            continue;
        char *cx = cg_xasprintf("%s^^^&%s&ISO", id, oid);
        if (cg_registry_patient_id_check(cx, why, sizeof why) != CG_OK) {
            outcome(pm, "AE", E_DATA_TYPE, loc, "%s repetition %zu: %s", loc.seg, r, why);
            free(cx);
            continue;
        }
        ids[n] = cx;
        oids[n] = cg_xstrdup(oid);
        n++;
    }
    if (n == 0 && nrep == 0)
        outcome(pm, "AE", E_REQUIRED_FIELD, loc, "%s-%zu (patient identifier list) is empty",
                loc.seg, loc.field);
    else if (n == 0 && !some_id)
        outcome(pm, "AE", E_REQUIRED_FIELD, loc, "%s-%zu has no identifier (CX.1)", loc.seg,
                loc.field);
    else if (n == 0 && !some_authority)
        outcome(pm, "AE", E_TABLE_VALUE, loc,
                "%s-%zu has no identifier with an ISO OID assigning authority (CX.4.2, CX.4.3)",
                loc.seg, loc.field);
    else if (n == 0)
        outcome(pm, "AE", E_TABLE_VALUE, loc,
                "%s-%zu has no identifier of an assigning authority this registry accepts", loc.seg,
                loc.field);
    return n;
}

static void
free_ids(char **ids, char **oids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(ids[i]);
        free(oids[i]);
    }
}

/* ---- events ---------------------------------------------------------------------------------- */

#define PIF_MAX_IDS 16

static void
store_failed(pif_msg *pm, err_loc loc, const cg_err *err)
{
    outcome(pm, "AE", E_INTERNAL, loc, "the registry could not record it: %s", err->msg);
}

/* A01, A04, A05, A08: every accepted PID-3 identifier is registered (known already: kept). */
static void
register_patient(pif_msg *pm)
{
    cg_store *store = cg_registry_store(pm->pif->reg);
    const cg_hl7_segment *pid = cg_hl7_segment_find(&pm->m, "PID", 1);
    err_loc loc = {"PID", 1, 3};
    if (pid == NULL) {
        outcome(pm, "AE", E_SEGMENT_SEQUENCE, (err_loc){"PID", 1, 0}, "no PID segment");
        return;
    }
    char *ids[PIF_MAX_IDS], *oids[PIF_MAX_IDS];
    size_t n = identifiers(pm, cg_hl7_field(pid, 3), loc, ids, oids, PIF_MAX_IDS);
    if (n > 0)
        snprintf(pm->patient, sizeof pm->patient, "%s", ids[0]);
    for (size_t i = 0; i < n && !pm->ack; i++) {
        cg_err err;
        cg_err_init(&err);
        int known = 0;
        char *into = NULL;
        if (cg_store_patient_lookup(store, ids[i], &known, &into, &err) != CG_OK) {
            store_failed(pm, loc, &err);
        } else if (into) {
            outcome(pm, "AE", E_DUPLICATE_KEY, loc, "patient %s was merged into %s", ids[i], into);
        } else if (cg_store_patient_add(store, ids[i], &err) != CG_OK) {
            store_failed(pm, loc, &err);
        }
        free(into);
    }
    if (n > 0)
        outcome(pm, "AA", 0, (err_loc){0}, "%s %s", n > 1 ? "patients" : "patient", ids[0]);
    free_ids(ids, oids, n);
}

/* A40: each PID (surviving) and the MRG after it (subsumed). */
static void
merge_patients(pif_msg *pm)
{
    cg_store *store = cg_registry_store(pm->pif->reg);
    for (size_t k = 1; !pm->ack; k++) {
        size_t pairs = 0;
        const cg_hl7_segment *pid = cg_hl7_segment_find(&pm->m, "PID", k);
        const cg_hl7_segment *mrg = cg_hl7_segment_find(&pm->m, "MRG", k);
        if (pid == NULL && k > 1)
            break;
        if (pid == NULL || mrg == NULL) {
            outcome(pm, "AE", E_SEGMENT_SEQUENCE, (err_loc){pid ? "MRG" : "PID", k, 0},
                    "ADT^A40 needs a PID and an MRG segment for each merge");
            break;
        }
        char *sv[PIF_MAX_IDS], *svo[PIF_MAX_IDS], *sb[PIF_MAX_IDS], *sbo[PIF_MAX_IDS];
        err_loc ploc = {"PID", k, 3}, mloc = {"MRG", k, 1};
        size_t nsv = identifiers(pm, cg_hl7_field(pid, 3), ploc, sv, svo, PIF_MAX_IDS);
        size_t nsb = nsv ? identifiers(pm, cg_hl7_field(mrg, 1), mloc, sb, sbo, PIF_MAX_IDS) : 0;
        /* the prior identifier of each surviving identifier's domain */
        for (size_t i = 0; i < nsv && nsb && !pm->ack; i++) {
            for (size_t j = 0; j < nsb && !pm->ack; j++) {
                if (strcmp(svo[i], sbo[j]) != 0)
                    continue;
                cg_err err;
                cg_err_init(&err);
                int rc = cg_store_patient_merge(store, sv[i], sb[j], &err);
                if (rc == CG_ENOTFOUND)
                    outcome(pm, "AE", E_UNKNOWN_KEY, mloc, "%s", err.msg);
                else if (rc == CG_EINVAL)
                    outcome(pm, "AE", E_DUPLICATE_KEY, mloc, "%s", err.msg);
                else if (rc != CG_OK)
                    store_failed(pm, mloc, &err);
                else if (++pairs == 1)
                    snprintf(pm->text, sizeof pm->text, "%s merged into %s", sb[j], sv[i]);
                if (!pm->patient[0]) {
                    snprintf(pm->patient, sizeof pm->patient, "%s", sv[i]);
                    snprintf(pm->merged, sizeof pm->merged, "%s", sb[j]);
                }
            }
        }
        if (!pm->ack && nsv && nsb && pairs == 0)
            outcome(pm, "AE", E_TABLE_VALUE, mloc,
                    "MRG-1 has no identifier in the assigning authority of PID-3");
        free_ids(sv, svo, nsv);
        free_ids(sb, sbo, nsb);
    }
    if (!pm->ack) {
        char text[sizeof pm->text];
        snprintf(text, sizeof text, "%s", pm->text);
        outcome(pm, "AA", 0, (err_loc){0}, "%s", text);
    }
}

/* ---- one message ----------------------------------------------------------------------------- */

static void
check_msh(pif_msg *pm, cg_pif_outcome *out)
{
    char type[16] = "", proc[8] = "", control[64] = "";
    const char *f9 = msh_raw(pm, 9);
    cg_hl7_get(type, sizeof type, &pm->m, f9, 1, 1, 0);
    cg_hl7_get(pm->trigger, sizeof pm->trigger, &pm->m, f9, 1, 2, 0);
    cg_hl7_get(pm->version, sizeof pm->version, &pm->m, msh_raw(pm, 12), 1, 1, 0);
    cg_hl7_get(proc, sizeof proc, &pm->m, msh_raw(pm, 11), 1, 1, 0);
    cg_hl7_get(control, sizeof control, &pm->m, msh_raw(pm, 10), 1, 1, 0);
    if (out) {
        snprintf(out->event, sizeof out->event, "%s%s%s", type[0] ? type : "-",
                 pm->trigger[0] ? "^" : "", pm->trigger);
        snprintf(out->control_id, sizeof out->control_id, "%s", control[0] ? control : "-");
        char app[64] = "", fac[64] = "";
        cg_hl7_get(app, sizeof app, &pm->m, msh_raw(pm, 3), 1, 1, 0);
        cg_hl7_get(fac, sizeof fac, &pm->m, msh_raw(pm, 4), 1, 1, 0);
        snprintf(out->sender, sizeof out->sender, "%s|%s", app, fac);
        cg_hl7_get(app, sizeof app, &pm->m, msh_raw(pm, 5), 1, 1, 0);
        cg_hl7_get(fac, sizeof fac, &pm->m, msh_raw(pm, 6), 1, 1, 0);
        snprintf(out->receiver, sizeof out->receiver, "%s|%s", app, fac);
    }
    if (!control[0])
        outcome(pm, "AR", E_REQUIRED_FIELD, (err_loc){"MSH", 1, 10},
                "MSH-10 (message control id) is missing");
    else if (!type[0])
        outcome(pm, "AR", E_REQUIRED_FIELD, (err_loc){"MSH", 1, 9},
                "MSH-9 (message type) is missing");
    else if (!pm->version[0])
        outcome(pm, "AR", E_REQUIRED_FIELD, (err_loc){"MSH", 1, 12},
                "MSH-12 (version id) is missing");
    else if (!is_version(pm->version, supported_versions))
        outcome(pm, "AR", E_VERSION_ID, (err_loc){"MSH", 1, 12},
                "HL7 version %s is not supported (2.3, 2.3.1, 2.4, 2.5, 2.5.1)", pm->version);
    else if (!proc[0])
        outcome(pm, "AR", E_REQUIRED_FIELD, (err_loc){"MSH", 1, 11},
                "MSH-11 (processing id) is missing");
    else if (strlen(proc) != 1 || !strchr(pm->pif->processing_ids, proc[0]))
        outcome(pm, "AR", E_PROCESSING_ID, (err_loc){"MSH", 1, 11},
                "processing id %s is not accepted here (%s)", proc, pm->pif->processing_ids);
    else if (strcmp(type, "ADT") != 0)
        outcome(pm, "AE", E_MESSAGE_TYPE, (err_loc){"MSH", 1, 9},
                "message type %s is not supported: the patient identity feed takes ADT", type);
}

void
cg_pif_handle(cg_pif *pif, const char *msg, size_t len, int truncated, cg_buf *ack,
              cg_pif_outcome *out)
{
    assert(pif && (msg || len == 0) && ack);
    pif_msg pm;
    memset(&pm, 0, sizeof pm);
    pm.pif = pif;
    pm.m.d = (cg_hl7_delims){'|', '^', '~', '\\', '&'};
    if (out) {
        memset(out, 0, sizeof(*out));
        snprintf(out->event, sizeof out->event, "-");
        snprintf(out->control_id, sizeof out->control_id, "-");
    }
    cg_err err;
    cg_err_init(&err);
    int why = 0;
    if (truncated) {
        why = CG_HL7_TOO_BIG;
        cg_err_set(&err, CG_ETOOBIG, "the message is longer than the %zu bytes accepted", len);
    }
    if (!truncated && cg_hl7_parse(&pm.m, msg, len, &pif->limits, &why, &err) == CG_OK) {
        pm.parsed = 1;
        pm.msh = cg_hl7_segment_find(&pm.m, "MSH", 1);
        check_msh(&pm, out);
    } else if (why == CG_HL7_BAD_MSH) {
        pm.m.d = (cg_hl7_delims){'|', '^', '~', '\\', '&'};
        outcome(&pm, "AR", E_SEGMENT_SEQUENCE, (err_loc){"MSH", 1, 0}, "%s", err.msg);
    } else {
        /* the rest is unusable; MSH alone, to answer its control id */
        cg_hl7_delims d = pm.m.d;
        size_t first = 0;
        while (first < len && msg[first] != '\r' && msg[first] != '\n')
            first++;
        cg_err e2;
        cg_err_init(&e2);
        int why2;
        if (first > 0 && cg_hl7_parse(&pm.m, msg, first, &pif->limits, &why2, &e2) == CG_OK) {
            pm.parsed = 1;
            pm.msh = cg_hl7_segment_find(&pm.m, "MSH", 1);
            check_msh(&pm, out);
        } else {
            pm.m.d = d;
        }
        outcome(&pm, why == CG_HL7_TOO_BIG ? "AR" : "AE",
                why == CG_HL7_TOO_BIG ? E_INTERNAL : E_SEGMENT_SEQUENCE, (err_loc){0}, "%s",
                err.msg);
    }
    if (!pm.ack) {
        const char *t = pm.trigger;
        if (strcmp(t, "A01") == 0 || strcmp(t, "A04") == 0 || strcmp(t, "A05") == 0 ||
            strcmp(t, "A08") == 0)
            register_patient(&pm);
        else if (strcmp(t, "A40") == 0)
            merge_patients(&pm);
        else
            outcome(&pm, "AE", E_EVENT_CODE, (err_loc){"MSH", 1, 9},
                    "event %s is not supported: A01, A04, A05, A08 and A40 are",
                    t[0] ? t : "(none)");
    }
    write_ack(&pm, ack, out);
    if (out) {
        memcpy(out->patient, pm.patient, sizeof out->patient);
        memcpy(out->merged, pm.merged, sizeof out->merged);
    }
    cg_hl7_message_dispose(&pm.m);
}
