/* xsd: see xsd.h. */
#include "validate/xsd.h"

#include <libxml/xmlschemas.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "xml/path.h"

struct cg_xsd {
    xmlSchemaPtr schema;
};

typedef struct collect_state {
    cg_report *report;
    size_t limit, seen;
    cg_buf first; /* parser messages while loading */
} collect_state;

static void
on_parse_error(void *ctx, xmlErrorPtr e)
{
    collect_state *st = ctx;
    if (st->first.len == 0 && e && e->message)
        cg_buf_printf(&st->first, "%s:%d: %s", e->file ? e->file : "schema", e->line, e->message);
}

int
cg_xsd_load(cg_xsd **out, const char *path, cg_err *err)
{
    collect_state st = {0};
    int rc = CG_OK;
    *out = NULL;
    cg_buf_init(&st.first, 4096);
    xmlSchemaParserCtxtPtr pctx = xmlSchemaNewParserCtxt(path);
    if (pctx == NULL) {
        rc = cg_err_set(err, CG_EIO, "xmlSchemaNewParserCtxt(%s) failed", path);
        goto done;
    }
    xmlSchemaSetParserStructuredErrors(pctx, on_parse_error, &st);
    xmlSchemaPtr schema = xmlSchemaParse(pctx);
    xmlSchemaFreeParserCtxt(pctx);
    if (schema == NULL) {
        rc = cg_err_set(err, CG_EINVAL, "xmlSchemaParse(%s): %s", path,
                        st.first.len ? st.first.data : "cannot load the schema");
        goto done;
    }
    cg_xsd *x = cg_xcalloc(1, sizeof *x);
    x->schema = schema;
    *out = x;
done:
    cg_buf_dispose(&st.first);
    return rc;
}

void
cg_xsd_free(cg_xsd *x)
{
    if (x == NULL)
        return;
    xmlSchemaFree(x->schema);
    free(x);
}

static void
on_valid_error(void *ctx, xmlErrorPtr e)
{
    collect_state *st = ctx;
    if (e == NULL || e->level == XML_ERR_NONE)
        return;
    if (st->seen++ >= st->limit)
        return;
    cg_buf loc;
    cg_buf_init(&loc, (size_t)1 << 20);
    if (e->node)
        cg_xml_path_of(&loc, e->node);
    const char *msg = e->message ? e->message : "schema validity error";
    cg_report_add(st->report, e->level == XML_ERR_WARNING ? CG_SEV_WARNING : CG_SEV_ERROR,
                  CG_SRC_XSD, NULL, msg, loc.len ? loc.data : NULL,
                  e->node ? xmlGetLineNo(e->node) : e->line);
    cg_buf_dispose(&loc);
}

int
cg_xsd_run(const cg_xsd *x, xmlDocPtr doc, cg_report *report, size_t limit, cg_err *err)
{
    collect_state st = {.report = report, .limit = limit};
    xmlSchemaValidCtxtPtr vctx = xmlSchemaNewValidCtxt(x->schema);
    if (vctx == NULL)
        return cg_err_set(err, CG_EIO, "xmlSchemaNewValidCtxt failed");
    xmlSchemaSetValidStructuredErrors(vctx, on_valid_error, &st);
    int r = xmlSchemaValidateDoc(vctx, doc);
    xmlSchemaFreeValidCtxt(vctx);
    if (r < 0)
        return cg_err_set(err, CG_EIO, "xmlSchemaValidateDoc: internal error %d", r);
    if (r > 0 && st.seen == 0)
        cg_report_add(report, CG_SEV_ERROR, CG_SRC_XSD, NULL, "document is not valid against the schema",
                      NULL, 0);
    if (st.seen > limit) {
        char msg[128];
        snprintf(msg, sizeof msg, "%zu further schema errors not shown", st.seen - limit);
        cg_report_add(report, CG_SEV_ERROR, CG_SRC_XSD, NULL, msg, NULL, 0);
    }
    return CG_OK;
}
