/* sch_compile: the Schematron compiler. ISO Schematron (XSLT 1.0 query binding) in, one XSLT 1.0
 * stylesheet out, which libxslt (or any XSLT 1.0 processor with EXSLT) runs to produce SVRL.
 * Owns: phases, patterns, abstract rules and extends, let, ns, assert and report, diagnostics,
 * value-of and name in messages, first-match rule order within a pattern, and the speed-ups
 * (key-indexed rule candidates, compile-time value-set inlining). Does not own: running the
 * stylesheet or reading SVRL (schematron.c), nor where the files live (profile.c). */
#ifndef CG_VALIDATE_SCH_COMPILE_H
#define CG_VALIDATE_SCH_COMPILE_H

#include <libxml/tree.h>

#include "util/buf.h"
#include "util/err.h"

/* Bumped whenever the generated stylesheet changes, so cached stylesheets are recompiled. */
#define CG_SCH_COMPILER_VERSION "cdagate-sch-20"

/* The namespace of cdagate's own attributes on SVRL elements (cg:severity). */
#define CG_SVRL_EXT_NS "urn:x-cdagate:svrl"
#define CG_SVRL_NS "http://purl.oclc.org/dsdl/svrl"
#define CG_SCH_NS "http://purl.oclc.org/dsdl/schematron"

typedef struct cg_sch_options {
    /* Directory against which document('...') and sch:include hrefs are resolved. */
    const char *base_dir;
    /* Phase id -> severity word, as NULL-terminated pairs: {"errors","error","warnings",
     * "warning",NULL}. A pattern takes the severity of the first listed phase that activates it;
     * an assert's own role of fatal/error/warning/info wins; otherwise "error". */
    const char *const *phase_severity;
    /* Inline document() look-ups whose path is constant (value sets). On by default. */
    int no_inline;
    /* Where a document() look-up that is not inlined points at run time, when not base_dir: a
     * relative path resolves against the compiled stylesheet's own location. */
    const char *link_base;
    /* Portable: locations computed by an XSLT template, so any XSLT 1.0 processor with EXSLT
     * runs the stylesheet; otherwise they come from cdagate's cg:location() (faster). */
    int portable;
    /* Naive mode: every pattern visits the whole document (the ISO skeleton's strategy); kept for
     * cross-checking and benchmarks. */
    int naive;
} cg_sch_options;

typedef struct cg_sch_stats {
    unsigned patterns, rules, asserts, reports, keyed_rules, scanned_rules, inlined_lookups;
} cg_sch_stats;

/* Compiles the Schematron in `sch` into stylesheet text appended to `out`. */
int cg_sch_compile(cg_buf *out, xmlDocPtr sch, const cg_sch_options *opt, cg_sch_stats *stats,
                   cg_err *err);

#endif
