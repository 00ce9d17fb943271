/* schematron: a compiled Schematron, loaded once and run on many documents from many threads.
 * Owns: compiling a .sch file to stylesheet text (through sch_compile), loading stylesheet text,
 * running it under the XSLT security preferences, and turning its SVRL into findings with
 * line numbers. Does not own: where the stylesheet is cached (profile.c). */
#ifndef CG_VALIDATE_SCHEMATRON_H
#define CG_VALIDATE_SCHEMATRON_H

#include <libxml/tree.h>

#include "util/buf.h"
#include "util/err.h"
#include "validate/report.h"
#include "validate/sch_compile.h"

typedef struct cg_schematron cg_schematron;

/* Reads and compiles a Schematron file into stylesheet text appended to out. */
int cg_schematron_compile_file(cg_buf *out, const char *sch_path, const cg_sch_options *opt,
                               cg_sch_stats *stats, cg_err *err);
/* Loads compiled stylesheet text; base_uri is where document() calls resolve from. */
int cg_schematron_load(cg_schematron **out, const char *text, size_t len, const char *base_uri,
                       cg_err *err);
void cg_schematron_free(cg_schematron *s);

/* Runs the phase ("#ALL" or a phase id) on doc and adds its findings to report. With keep_svrl
 * the SVRL document is left in report->svrl. Safe to call from several threads at once. */
int cg_schematron_run(const cg_schematron *s, xmlDocPtr doc, const char *phase, cg_report *report,
                      int keep_svrl, cg_err *err);

#endif
