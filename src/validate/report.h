/* report: the findings of validating one document, and their output formats.
 * Owns: the finding record (severity, source, id, message, location, line), sorting, and
 * writing reports as text, JSON, TSV and SVRL. Does not own: producing findings (xsd.c,
 * schematron.c, validator.c). */
#ifndef CG_VALIDATE_REPORT_H
#define CG_VALIDATE_REPORT_H

#include <libxml/tree.h>
#include <stdio.h>

#include "util/buf.h"

typedef enum cg_severity { CG_SEV_ERROR = 0, CG_SEV_WARNING = 1, CG_SEV_INFO = 2 } cg_severity;

typedef enum cg_source {
    CG_SRC_XML = 0,       /* well-formedness, safety, size */
    CG_SRC_CDA = 1,       /* not a CDA document (root, namespace) */
    CG_SRC_XSD = 2,       /* XML Schema */
    CG_SRC_SCHEMATRON = 3 /* Schematron */
} cg_source;

typedef struct cg_finding {
    cg_severity severity;
    cg_source source;
    char *id;       /* assert id, or "[no-id] pattern=P"; NULL for non-Schematron findings */
    char *message;  /* white space normalised */
    char *location; /* /ClinicalDocument[1]/... or NULL */
    long line;      /* 0 when unknown */
} cg_finding;

/* Which checks ran. A check that was wanted but could not run is "skipped" with a reason. */
typedef enum cg_check_state { CG_CHECK_NOT_RUN = 0, CG_CHECK_RAN, CG_CHECK_SKIPPED } cg_check_state;

typedef struct cg_report {
    char *file;
    cg_finding *v;
    size_t n, cap;
    cg_check_state xsd, schematron;
    char *xsd_skip_reason, *schematron_skip_reason;
    char *profile; /* name of the profile used, or NULL */
    char *phase;
    xmlDocPtr svrl; /* the raw SVRL, kept only when asked for */
} cg_report;

typedef enum cg_format { CG_FMT_TEXT, CG_FMT_JSON, CG_FMT_TSV, CG_FMT_SVRL } cg_format;

void cg_report_init(cg_report *r, const char *file);
void cg_report_dispose(cg_report *r);
/* Adds a finding; takes copies of the strings; normalises the message's white space. */
void cg_report_add(cg_report *r, cg_severity sev, cg_source src, const char *id, const char *message,
                   const char *location, long line);
/* Sorts findings by source, then the TSV order (severity word, id, location). */
void cg_report_sort(cg_report *r);
size_t cg_report_count(const cg_report *r, cg_severity sev);
/* A document is valid when it has no error-severity finding. */
int cg_report_valid(const cg_report *r);

const char *cg_severity_name(cg_severity s);
const char *cg_source_name(cg_source s);
int cg_format_parse(cg_format *out, const char *name);

/* Writes one document's report. JSON writes one object (the caller frames arrays). */
void cg_report_write(FILE *out, const cg_report *r, cg_format fmt);
/* JSON string escaping, for callers that frame JSON. */
void cg_json_put_string(cg_buf *b, const char *s);

#endif
