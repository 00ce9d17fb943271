/* xslt: see xslt.h. */
#include "xml/xslt.h"

#include <libxslt/xsltutils.h>
#include <stdarg.h>
#include <stdio.h>

void cg_xslt_msgs_init(cg_xslt_msgs *m, size_t keep, size_t line)
{
    cg_buf_init(&m->text, 2 * keep);
    m->keep = keep;
    m->line = line;
}

void cg_xslt_msgs_dispose(cg_xslt_msgs *m)
{
    cg_buf_dispose(&m->text);
}

const char *cg_xslt_msgs_text(const cg_xslt_msgs *m, const char *otherwise)
{
    return m->text.len ? m->text.data : otherwise;
}

void cg_xslt_msgs_generic(void *ctx, const char *fmt, ...)
{
    cg_xslt_msgs *m = ctx;
    if (m == NULL || m->text.len > m->keep)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, m->line < sizeof line ? m->line : sizeof line, fmt, ap);
    va_end(ap);
    cg_buf_puts(&m->text, line);
}

void cg_xslt_msgs_structured(void *ctx, xmlErrorPtr e)
{
    cg_xslt_msgs *m = ctx;
    if (m == NULL || e == NULL || e->message == NULL || m->text.len > m->keep)
        return;
    cg_buf_puts(&m->text, e->message);
}

int cg_xslt_compile(xsltStylesheetPtr *out, xmlDocPtr doc, const char *name, cg_xslt_msgs *m,
                    cg_err *err)
{
    xsltSetGenericErrorFunc(m, cg_xslt_msgs_generic);
    xsltStylesheetPtr style = xsltParseStylesheetDoc(doc);
    xsltSetGenericErrorFunc(NULL, NULL);
    int rc = CG_OK;
    if (style == NULL || style->errors > 0) {
        rc = cg_err_set(err, CG_EINVAL, "xsltParseStylesheetDoc(%s): %s", name,
                        cg_xslt_msgs_text(m, "invalid stylesheet"));
        if (style)
            xsltFreeStylesheet(style); /* frees doc too */
        else
            xmlFreeDoc(doc);
        style = NULL;
    }
    *out = style;
    return rc;
}
