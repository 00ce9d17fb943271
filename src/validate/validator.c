/* validator: see validator.h. */
#include "validate/validator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/fs.h"

#define CDA_NS "urn:hl7-org:v3"

void
cg_validator_options_default(cg_validator_options *o)
{
    memset(o, 0, sizeof *o);
    o->checks = CG_CHECK_ALL;
    o->phase = "#ALL";
    cg_xml_limits_default(&o->limits);
    o->xsd_error_limit = 1000;
}

static void
skip(cg_report *r, int xsd, const char *reason)
{
    if (xsd) {
        r->xsd = CG_CHECK_SKIPPED;
        free(r->xsd_skip_reason);
        r->xsd_skip_reason = cg_xstrdup(reason);
    } else {
        r->schematron = CG_CHECK_SKIPPED;
        free(r->schematron_skip_reason);
        r->schematron_skip_reason = cg_xstrdup(reason);
    }
}

int
cg_validate_memory(const cg_validator_options *o, const char *data, size_t len, cg_report *r,
                   cg_err *err)
{
    int rc = CG_OK;
    xmlDocPtr doc = NULL;
    cg_err perr;
    cg_err_init(&perr);
    const cg_profile *p = o->profile;
    r->phase = cg_xstrdup(o->phase ? o->phase : "#ALL");
    if (p)
        r->profile = cg_xstrdup(p->manifest.name);

    cg_xml_limits limits = o->limits;
    limits.read_only = 1; /* validation only reads the document */
    if (cg_xml_parse(&doc, data, len, r->file, &limits, &perr) != CG_OK) {
        /* the parser's message starts with the file name; the report names the file already */
        const char *msg = perr.msg;
        size_t fl = strlen(r->file);
        long line = 0;
        if (strncmp(msg, r->file, fl) == 0 && msg[fl] == ':') {
            msg += fl + 1;
            char *end = NULL;
            line = strtol(msg, &end, 10);
            msg = (end && *end == ':') ? end + 1 : msg;
            while (*msg == ' ')
                msg++;
        }
        cg_report_add(r, CG_SEV_ERROR, CG_SRC_XML, NULL, msg, NULL, line);
        const char *why = perr.code == CG_EUNSAFE   ? "the document was refused as unsafe XML"
                          : perr.code == CG_ETOOBIG ? "the document exceeds a size or depth limit"
                                                    : "the document is not well-formed XML";
        if (o->checks & CG_CHECK_XSD)
            skip(r, 1, why);
        if (o->checks & CG_CHECK_SCHEMATRON)
            skip(r, 0, why);
        goto done;
    }
    xmlNodePtr root = xmlDocGetRootElement(doc);
    const char *want_ns = p && p->manifest.root_ns ? p->manifest.root_ns : CDA_NS;
    const char *want_name = p && p->manifest.root_name ? p->manifest.root_name : "ClinicalDocument";
    if (root == NULL || root->ns == NULL || !xmlStrEqual(root->ns->href, BAD_CAST want_ns) ||
        !xmlStrEqual(root->name, BAD_CAST want_name)) {
        char msg[600];
        snprintf(msg, sizeof msg, "the root element is {%s}%s, not {%s}%s: not a CDA document",
                 root && root->ns ? (const char *)root->ns->href : "",
                 root ? (const char *)root->name : "(none)", want_ns, want_name);
        cg_report_add(r, CG_SEV_ERROR, CG_SRC_CDA, NULL, msg, root ? "/" : NULL,
                      root ? xmlGetLineNo(root) : 0);
        if (o->checks & CG_CHECK_XSD)
            skip(r, 1, "not a CDA document");
        if (o->checks & CG_CHECK_SCHEMATRON)
            skip(r, 0, "not a CDA document");
        goto done;
    }
    if (o->checks & CG_CHECK_XSD) {
        if (p && p->xsd) {
            rc = cg_xsd_run(p->xsd, doc, r, o->xsd_error_limit ? o->xsd_error_limit : 1000, err);
            if (rc != CG_OK)
                goto done;
            r->xsd = CG_CHECK_RAN;
        } else
            skip(r, 1, p ? "the profile has no XML Schema" :
                           (o->missing_profile_reason ? o->missing_profile_reason : "no validation profile"));
    }
    if (o->checks & CG_CHECK_SCHEMATRON) {
        if (p && p->schematron) {
            rc = cg_schematron_run(p->schematron, doc, o->phase, r, o->keep_svrl, err);
            if (rc != CG_OK)
                goto done;
            r->schematron = CG_CHECK_RAN;
        } else
            skip(r, 0, p ? "the profile has no Schematron" :
                           (o->missing_profile_reason ? o->missing_profile_reason : "no validation profile"));
    }
done:
    cg_report_sort(r);
    if (doc)
        xmlFreeDoc(doc);
    return rc;
}

int
cg_validate_file(const cg_validator_options *o, const char *path, cg_report *r, cg_err *err)
{
    char *data = NULL;
    size_t len = 0;
    cg_err rerr;
    cg_err_init(&rerr);
    int rc = cg_fs_read(&data, &len, path, o->limits.max_bytes, &rerr);
    if (rc == CG_ETOOBIG) {
        /* an oversize document is a finding about the document, not an I/O failure */
        char msg[200];
        snprintf(msg, sizeof msg, "the document exceeds the limit of %zu bytes", o->limits.max_bytes);
        r->phase = cg_xstrdup(o->phase ? o->phase : "#ALL");
        if (o->profile)
            r->profile = cg_xstrdup(o->profile->manifest.name);
        cg_report_add(r, CG_SEV_ERROR, CG_SRC_XML, NULL, msg, NULL, 0);
        if (o->checks & CG_CHECK_XSD)
            skip(r, 1, "the document exceeds a size or depth limit");
        if (o->checks & CG_CHECK_SCHEMATRON)
            skip(r, 0, "the document exceeds a size or depth limit");
        return CG_OK;
    }
    if (rc != CG_OK) {
        free(data);
        return cg_err_set(err, rc, "%s", rerr.msg);
    }
    rc = cg_validate_memory(o, data, len, r, err);
    free(data);
    return rc;
}
