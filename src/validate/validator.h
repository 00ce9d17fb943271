/* validator: validating one C-CDA document end to end: safe parse, CDA root check, XML Schema,
 * Schematron, into one report. Shared read-only by threads once created.
 * Owns: the order of checks and what is skipped when (a missing profile, a document that is not
 * CDA). Does not own: the checks themselves (xsd.c, schematron.c) or output (report.c). */
#ifndef CG_VALIDATE_VALIDATOR_H
#define CG_VALIDATE_VALIDATOR_H

#include "util/err.h"
#include "validate/profile.h"
#include "validate/report.h"
#include "xml/parse.h"

enum {
    CG_CHECK_XSD = 1 << 0,
    CG_CHECK_SCHEMATRON = 1 << 1,
    CG_CHECK_ALL = CG_CHECK_XSD | CG_CHECK_SCHEMATRON
};

typedef struct cg_validator_options {
    const cg_profile *profile; /* may be NULL: only well-formedness and the CDA root are checked */
    const char *missing_profile_reason; /* said in the report when profile is NULL */
    unsigned checks;           /* CG_CHECK_* */
    const char *phase;         /* "#ALL" (default), or a phase id such as "errors" */
    cg_xml_limits limits;
    size_t xsd_error_limit;    /* 0 = 1000 */
    int keep_svrl;
} cg_validator_options;

void cg_validator_options_default(cg_validator_options *o);

/* Validates bytes already in memory. Problems with the document are findings in the report;
 * the return value is CG_OK unless a check itself could not run. */
int cg_validate_memory(const cg_validator_options *o, const char *data, size_t len,
                       cg_report *report, cg_err *err);
/* Reads and validates a file: CG_ENOTFOUND / CG_EIO when it cannot be read. */
int cg_validate_file(const cg_validator_options *o, const char *path, cg_report *report,
                     cg_err *err);

#endif
