/* xslt: what every user of libxslt in cdagate needs around a stylesheet: its messages kept
 * instead of printed, and compiling a parsed stylesheet document.
 * Owns: collecting libxslt's and libxml2's error callbacks (bounded), the compile-and-check of
 * a stylesheet. Does not own: where stylesheets come from (validate, render), transformations. */
#ifndef CG_XML_XSLT_H
#define CG_XML_XSLT_H

#include <libxml/xmlerror.h>
#include <libxslt/xsltInternals.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

/* Messages libxslt (generic and transform callbacks) and libxml2 (structured callback, e.g.
 * XPath errors) report during one call, kept so the caller can say which call failed and why.
 * Once text holds `keep` bytes, further messages are dropped; a formatted one is cut at `line`
 * bytes (at most 1024, and not more than keep); text never exceeds 2 x keep. */
typedef struct cg_xslt_msgs {
    cg_buf text;
    size_t keep, line;
} cg_xslt_msgs;

void cg_xslt_msgs_init(cg_xslt_msgs *m, size_t keep, size_t line);
void cg_xslt_msgs_dispose(cg_xslt_msgs *m);
/* The messages, or `otherwise` when there are none. */
const char *cg_xslt_msgs_text(const cg_xslt_msgs *m, const char *otherwise);
/* The callbacks: ctx is a cg_xslt_msgs. */
void cg_xslt_msgs_generic(void *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cg_xslt_msgs_structured(void *ctx, xmlErrorPtr e);

/* Compiles doc as a stylesheet, libxslt's messages collected in m. doc is the stylesheet's from
 * then on, and freed when it cannot be compiled: CG_EINVAL with the messages, `name` in err. */
int cg_xslt_compile(xsltStylesheetPtr *out, xmlDocPtr doc, const char *name, cg_xslt_msgs *m,
                    cg_err *err);

#endif
