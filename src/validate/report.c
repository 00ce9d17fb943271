/* report: see report.h. */
#include "validate/report.h"

#include <libxml/xmlsave.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

void
cg_report_init(cg_report *r, const char *file)
{
    memset(r, 0, sizeof *r);
    r->file = cg_xstrdup(file ? file : "-");
}

void
cg_report_dispose(cg_report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].id);
        free(r->v[i].message);
        free(r->v[i].location);
    }
    free(r->v);
    free(r->file);
    free(r->xsd_skip_reason);
    free(r->schematron_skip_reason);
    free(r->profile);
    free(r->phase);
    if (r->svrl)
        xmlFreeDoc(r->svrl);
    memset(r, 0, sizeof *r);
}

static char *
normalize_space(const char *s)
{
    size_t n = strlen(s);
    char *out = cg_xmalloc(n + 1), *o = out;
    int space = 0;
    for (; *s; s++) {
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
            space = o != out;
            continue;
        }
        if (space)
            *o++ = ' ';
        space = 0;
        *o++ = *s;
    }
    *o = '\0';
    return out;
}

void
cg_report_add(cg_report *r, cg_severity sev, cg_source src, const char *id, const char *message,
              const char *location, long line)
{
    r->v = cg_xgrow(r->v, &r->cap, r->n + 1, sizeof *r->v);
    cg_finding *f = &r->v[r->n++];
    f->severity = sev;
    f->source = src;
    f->id = id ? cg_xstrdup(id) : NULL;
    f->message = normalize_space(message ? message : "");
    f->location = location ? cg_xstrdup(location) : NULL;
    f->line = line;
}

static int
cmp_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

static int
cmp_finding(const void *pa, const void *pb)
{
    const cg_finding *a = pa, *b = pb;
    int c;
    if (a->source != b->source)
        return (int)a->source - (int)b->source;
    if ((c = strcmp(cg_severity_name(a->severity), cg_severity_name(b->severity))) != 0)
        return c;
    if ((c = cmp_str(a->id, b->id)) != 0)
        return c;
    if ((c = cmp_str(a->location, b->location)) != 0)
        return c;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    return cmp_str(a->message, b->message);
}

void
cg_report_sort(cg_report *r)
{
    if (r->n > 1)
        qsort(r->v, r->n, sizeof *r->v, cmp_finding);
}

size_t
cg_report_count(const cg_report *r, cg_severity sev)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += r->v[i].severity == sev;
    return n;
}

int
cg_report_valid(const cg_report *r)
{
    return cg_report_count(r, CG_SEV_ERROR) == 0;
}

const char *
cg_severity_name(cg_severity s)
{
    switch (s) {
    case CG_SEV_ERROR: return "error";
    case CG_SEV_WARNING: return "warning";
    default: return "info";
    }
}

const char *
cg_source_name(cg_source s)
{
    switch (s) {
    case CG_SRC_XML: return "xml";
    case CG_SRC_CDA: return "cda";
    case CG_SRC_XSD: return "xsd";
    default: return "schematron";
    }
}

int
cg_format_parse(cg_format *out, const char *name)
{
    static const struct {
        const char *name;
        cg_format fmt;
    } names[] = {{"text", CG_FMT_TEXT}, {"json", CG_FMT_JSON}, {"tsv", CG_FMT_TSV},
                 {"svrl", CG_FMT_SVRL}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].fmt;
            return 0;
        }
    return -1;
}

void
cg_json_put_string(cg_buf *b, const char *s)
{
    if (s == NULL) {
        cg_buf_puts(b, "null");
        return;
    }
    cg_buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': cg_buf_puts(b, "\\\""); break;
        case '\\': cg_buf_puts(b, "\\\\"); break;
        case '\n': cg_buf_puts(b, "\\n"); break;
        case '\r': cg_buf_puts(b, "\\r"); break;
        case '\t': cg_buf_puts(b, "\\t"); break;
        default:
            if (*p < 0x20)
                cg_buf_printf(b, "\\u%04x", *p);
            else
                cg_buf_putc(b, (char)*p);
        }
    }
    cg_buf_putc(b, '"');
}

static const char *
check_state_name(cg_check_state s)
{
    return s == CG_CHECK_RAN ? "ran" : s == CG_CHECK_SKIPPED ? "skipped" : "not-run";
}

static void
write_json(FILE *out, const cg_report *r)
{
    cg_buf b;
    cg_buf_init(&b, (size_t)1 << 30);
    cg_buf_puts(&b, "{\"file\":");
    cg_json_put_string(&b, r->file);
    cg_buf_printf(&b, ",\"valid\":%s,\"errors\":%zu,\"warnings\":%zu,\"profile\":",
                  cg_report_valid(r) ? "true" : "false", cg_report_count(r, CG_SEV_ERROR),
                  cg_report_count(r, CG_SEV_WARNING));
    cg_json_put_string(&b, r->profile);
    cg_buf_puts(&b, ",\"phase\":");
    cg_json_put_string(&b, r->phase);
    cg_buf_printf(&b, ",\"checks\":{\"xsd\":{\"state\":\"%s\",\"reason\":", check_state_name(r->xsd));
    cg_json_put_string(&b, r->xsd_skip_reason);
    cg_buf_printf(&b, "},\"schematron\":{\"state\":\"%s\",\"reason\":",
                  check_state_name(r->schematron));
    cg_json_put_string(&b, r->schematron_skip_reason);
    cg_buf_puts(&b, "}},\"findings\":[");
    for (size_t i = 0; i < r->n; i++) {
        const cg_finding *f = &r->v[i];
        cg_buf_printf(&b, "%s{\"severity\":\"%s\",\"source\":\"%s\",\"id\":", i ? "," : "",
                      cg_severity_name(f->severity), cg_source_name(f->source));
        cg_json_put_string(&b, f->id);
        cg_buf_puts(&b, ",\"location\":");
        cg_json_put_string(&b, f->location);
        cg_buf_printf(&b, ",\"line\":%ld,\"message\":", f->line);
        cg_json_put_string(&b, f->message);
        cg_buf_putc(&b, '}');
    }
    cg_buf_puts(&b, "]}");
    fwrite(b.data, 1, b.len, out);
    cg_buf_dispose(&b);
}

static void
write_text(FILE *out, const cg_report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        const cg_finding *f = &r->v[i];
        if (f->line > 0)
            fprintf(out, "%s:%ld: %s: ", r->file, f->line, cg_severity_name(f->severity));
        else
            fprintf(out, "%s: %s: ", r->file, cg_severity_name(f->severity));
        if (f->id)
            fprintf(out, "[%s] ", f->id);
        else
            fprintf(out, "[%s] ", cg_source_name(f->source));
        fprintf(out, "%s", f->message);
        if (f->location)
            fprintf(out, " (%s)", f->location);
        fputc('\n', out);
    }
    if (r->xsd == CG_CHECK_SKIPPED)
        fprintf(out, "%s: note: XML Schema check skipped: %s\n", r->file, r->xsd_skip_reason);
    if (r->schematron == CG_CHECK_SKIPPED)
        fprintf(out, "%s: note: Schematron check skipped: %s\n", r->file,
                r->schematron_skip_reason);
    fprintf(out, "%s: %s (%zu errors, %zu warnings)\n", r->file,
            cg_report_valid(r) ? "valid" : "INVALID", cg_report_count(r, CG_SEV_ERROR),
            cg_report_count(r, CG_SEV_WARNING));
}

static void
write_tsv(FILE *out, const cg_report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        const cg_finding *f = &r->v[i];
        if (f->source != CG_SRC_SCHEMATRON)
            continue;
        fprintf(out, "%s\t%s\t%s\n", cg_severity_name(f->severity), f->id ? f->id : "",
                f->location ? f->location : "");
    }
}

static void
write_svrl(FILE *out, const cg_report *r)
{
    if (r->svrl == NULL) {
        fprintf(out, "<!-- %s: no SVRL (Schematron did not run) -->\n", r->file);
        return;
    }
    xmlDocFormatDump(out, r->svrl, 1);
}

void
cg_report_write(FILE *out, const cg_report *r, cg_format fmt)
{
    switch (fmt) {
    case CG_FMT_JSON: write_json(out, r); break;
    case CG_FMT_TSV: write_tsv(out, r); break;
    case CG_FMT_SVRL: write_svrl(out, r); break;
    default: write_text(out, r); break;
    }
}
