/* xsd: XML Schema validation with a schema compiled once and shared by threads.
 * Owns: loading an XSD (includes resolved from local files only) and validating a parsed
 * document, each error a finding with line and location. Does not own: which schema a profile
 * uses (profile.c). */
#ifndef CG_VALIDATE_XSD_H
#define CG_VALIDATE_XSD_H

#include <libxml/tree.h>

#include "util/err.h"
#include "validate/report.h"

typedef struct cg_xsd cg_xsd;

int cg_xsd_load(cg_xsd **out, const char *path, cg_err *err);
void cg_xsd_free(cg_xsd *x);
/* Adds one finding per schema error; returns CG_OK whether or not the document is valid. The
 * limit caps how many errors are reported (the rest are counted in one closing finding). */
int cg_xsd_run(const cg_xsd *x, xmlDocPtr doc, cg_report *report, size_t limit, cg_err *err);

#endif
