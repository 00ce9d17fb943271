/* svc/pif: ITI-8 Patient Identity Feed, the Document Registry's side: one HL7 v2 ADT message in,
 * its acknowledgement out.
 * Owns: the ADT events a registry acts on (A01, A04, A05, A08 register or update a patient; A40
 * merges two), choosing the patient identifiers of the accepted assigning authorities, the
 * acknowledgement (MSA-1 AA/AE/AR, MSA-2 echoing MSH-10, ERR with the HL7 table 0357 code).
 * Does not own: the HL7 syntax (hl7v2/message), MLLP framing and sockets (transport/mllp), the
 * patient records (store, through the registry's store). */
#ifndef CG_SVC_PIF_H
#define CG_SVC_PIF_H

#include <stddef.h>

#include "hl7v2/message.h"
#include "registry/registry.h"
#include "util/buf.h"

typedef struct cg_pif_config {
    /* Assigning authorities (CX.4.2 universal ids, type ISO) whose identifiers are taken from
     * PID-3 and MRG-1; none (0): every ISO OID authority. */
    const char *const *authorities;
    size_t nauthorities;
    /* MSH-11 processing ids accepted, e.g. "P" or "PT"; NULL or "": P, D and T. */
    const char *processing_ids;
    cg_hl7_limits limits; /* zero fields: cg_hl7_limits_default */
} cg_pif_config;

typedef struct cg_pif cg_pif;

/* The registry is borrowed and must outlive the feed. Copies cfg. Thread-safe once made. */
cg_pif *cg_pif_new(cg_registry *reg, const cg_pif_config *cfg);
void cg_pif_free(cg_pif *pif);

/* What one message came to, for the log. */
typedef struct cg_pif_outcome {
    char ack[3];         /* "AA", "AE", "AR" */
    int error;           /* HL7 table 0357 code in ERR (0 with AA) */
    char event[16];      /* "ADT^A01", or "-" when MSH-9 could not be read */
    char control_id[64]; /* MSH-10 (cut), "-" when absent */
    char text[256];      /* what happened, for people */
    /* for the audit record: the patient registered (or surviving a merge) and the one merged
     * into it ("" when none), the sending and receiving application|facility (MSH-3|MSH-4,
     * MSH-5|MSH-6, their first components) */
    char patient[256], merged[256];
    char sender[128], receiver[128];
} cg_pif_outcome;

/* Handles one message (the content of one MLLP frame) and writes its acknowledgement, segments
 * ended by CR, into ack (which should hold 8 KiB). Always answers: a message that cannot be
 * parsed gets an AR with the delimiters it declared, or the default ones. truncated: msg is only
 * the start of a message longer than the transport takes: rejected (AR), MSH-10 echoed. */
void cg_pif_handle(cg_pif *pif, const char *msg, size_t len, int truncated, cg_buf *ack,
                   cg_pif_outcome *out);

#endif
