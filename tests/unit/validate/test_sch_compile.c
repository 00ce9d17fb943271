/* Tests src/validate/sch_compile.c (through schematron.c): small ISO Schematron fixtures under
 * tests/fixtures/sch are compiled, loaded and run on tests/fixtures/sch/doc.xml, and the findings
 * (severity, id, location, line, message) are what the Schematron says they should be. */
#define _POSIX_C_SOURCE 200809L
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <libxslt/extensions.h>
#include <libxslt/transform.h>
#include <libxslt/xsltInternals.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "validate/report.h"
#include "validate/sch_compile.h"
#include "validate/schematron.h"
#include "xml/parse.h"

#define STYLESHEET_MAX ((size_t)16 << 20)

/* Nodes of tests/fixtures/sch/doc.xml, with their lines. */
#define DOC "/ClinicalDocument[1]"
#define SEC DOC "/component[1]/structuredBody[1]/component[1]/section[1]"
#define OBS_A1 SEC "/entry[1]/observation[1]"
#define OBS_B2 SEC "/entry[2]/observation[1]"
#define OBS_C3 OBS_B2 "/entryRelationship[1]/observation[1]"
#define OBS_D4 SEC "/entry[3]/observation[1]"
#define LINE_DOC 4
#define LINE_SEC 13
#define LINE_A1 17
#define LINE_A1_VALUE 20
#define LINE_B2 24
#define LINE_B2_VALUE 27
#define LINE_C3 29
#define LINE_D4 37
#define LINE_D4_AUTHOR2 44

static const char *const severities[] = {"errors", "error", "warnings", "warning", NULL};

static void
options(cg_sch_options *opt, char **base_dir)
{
    memset(opt, 0, sizeof *opt);
    *base_dir = cg_test_fixture("sch");
    opt->base_dir = *base_dir;
    opt->phase_severity = severities;
}

/* Compiles tests/fixtures/sch/NAME into out. */
static int
compile(cg_buf *out, const char *name, const cg_sch_options *opt, cg_sch_stats *stats, cg_err *err)
{
    char *rel = cg_xasprintf("sch/%s", name);
    char *path = cg_test_fixture(rel);
    cg_err_init(err);
    int rc = cg_schematron_compile_file(out, path, opt, stats, err);
    free(path);
    free(rel);
    return rc;
}

static const char *doc_fixture = "sch/doc.xml";

static xmlDocPtr
load_doc(void)
{
    char *path = cg_test_fixture(doc_fixture);
    xmlDocPtr doc = NULL;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_xml_parse_file(&doc, path, NULL, &err), CG_OK);
    free(path);
    return doc;
}

/* Compiles, loads and runs the fixture NAME on doc.xml in PHASE; findings go to r (sorted). */
static int
run_opt(cg_report *r, const char *name, const cg_sch_options *opt, const char *phase,
        int keep_svrl)
{
    cg_buf text;
    cg_err err;
    cg_schematron *s = NULL;
    xmlDocPtr doc = NULL;
    cg_buf_init(&text, STYLESHEET_MAX);
    cg_report_init(r, "doc.xml");
    int rc = compile(&text, name, opt, NULL, &err);
    CU_ASSERT_EQUAL(rc, CG_OK);
    if (rc != CG_OK) {
        fprintf(stderr, "\n%s: %s\n", name, err.msg);
        goto done;
    }
    rc = cg_schematron_load(&s, text.data, text.len, name, &err);
    CU_ASSERT_EQUAL(rc, CG_OK);
    if (rc != CG_OK)
        goto done;
    doc = load_doc();
    if (doc == NULL) {
        rc = CG_EINVAL;
        goto done;
    }
    rc = cg_schematron_run(s, doc, phase, r, keep_svrl, &err);
    CU_ASSERT_EQUAL(rc, CG_OK);
    cg_report_sort(r);
done:
    if (doc)
        xmlFreeDoc(doc);
    cg_schematron_free(s);
    cg_buf_dispose(&text);
    return rc;
}

static int
run(cg_report *r, const char *name, const char *phase)
{
    cg_sch_options opt;
    char *base;
    options(&opt, &base);
    int rc = run_opt(r, name, &opt, phase, 0);
    free(base);
    return rc;
}

/* The one finding with this id at this location, or NULL (also NULL when there are several). */
static const cg_finding *
finding(const cg_report *r, const char *id, const char *location)
{
    const cg_finding *hit = NULL;
    for (size_t i = 0; i < r->n; i++) {
        const cg_finding *f = &r->v[i];
        if (f->id && strcmp(f->id, id) == 0 && f->location && strcmp(f->location, location) == 0) {
            if (hit)
                return NULL;
            hit = f;
        }
    }
    return hit;
}

static size_t
count_id(const cg_report *r, const char *id)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += r->v[i].id && strcmp(r->v[i].id, id) == 0;
    return n;
}

/* One line per finding: "severity id location line", in report order; free() it. */
static char *
summary(const cg_report *r)
{
    cg_buf b;
    cg_buf_init(&b, (size_t)1 << 20);
    for (size_t i = 0; i < r->n; i++)
        cg_buf_printf(&b, "%s %s %s %ld\n", cg_severity_name(r->v[i].severity),
                      r->v[i].id ? r->v[i].id : "-", r->v[i].location ? r->v[i].location : "-",
                      r->v[i].line);
    return cg_buf_detach(&b);
}

/* ---- phases and severities ----------------------------------------------------------------- */

static void
test_phase_errors(void)
{
    cg_report r;
    if (run(&r, "phases.sch", "errors") == CG_OK) {
        CU_ASSERT_EQUAL(r.n, 2);
        const cg_finding *f = finding(&r, "e-setid", DOC);
        CU_ASSERT_PTR_NOT_NULL(f);
        if (f) {
            CU_ASSERT_EQUAL(f->severity, CG_SEV_ERROR); /* phase 'errors' maps to error */
            CU_ASSERT_EQUAL(f->source, CG_SRC_SCHEMATRON);
            CU_ASSERT_STRING_EQUAL(f->message, "SHALL contain exactly one setId.");
            CU_ASSERT_EQUAL(f->line, LINE_DOC);
        }
        f = finding(&r, "e-version-role-warning", DOC);
        CU_ASSERT_PTR_NOT_NULL(f);
        if (f) /* role="warning" wins over the pattern's severity */
            CU_ASSERT_EQUAL(f->severity, CG_SEV_WARNING);
        CU_ASSERT_EQUAL(count_id(&r, "w-language"), 0);
        CU_ASSERT_EQUAL(count_id(&r, "u-realm"), 0);
    }
    cg_report_dispose(&r);
}

static void
test_phase_warnings(void)
{
    cg_report r;
    if (run(&r, "phases.sch", "warnings") == CG_OK) {
        CU_ASSERT_EQUAL(r.n, 2);
        const cg_finding *f = finding(&r, "w-language", DOC);
        CU_ASSERT_PTR_NOT_NULL(f);
        if (f) /* phase 'warnings' maps to warning */
            CU_ASSERT_EQUAL(f->severity, CG_SEV_WARNING);
        f = finding(&r, "w-confidentiality-role-fatal", DOC);
        CU_ASSERT_PTR_NOT_NULL(f);
        if (f) /* role="fatal" is an error even in a warnings pattern */
            CU_ASSERT_EQUAL(f->severity, CG_SEV_ERROR);
        CU_ASSERT_EQUAL(count_id(&r, "e-setid"), 0);
        CU_ASSERT_EQUAL(count_id(&r, "u-realm"), 0);
    }
    cg_report_dispose(&r);
}

static void
test_phase_all(void)
{
    cg_report r;
    if (run(&r, "phases.sch", "#ALL") == CG_OK) {
        char *got = summary(&r);
        /* sorted: severity word, then id */
        CU_ASSERT_STRING_EQUAL(got, "error e-setid " DOC " 4\n"
                                    "error u-realm " DOC " 4\n"
                                    "error w-confidentiality-role-fatal " DOC " 4\n"
                                    "warning e-version-role-warning " DOC " 4\n"
                                    "warning w-language " DOC " 4\n");
        free(got);
    }
    cg_report_dispose(&r);
    /* a NULL phase is #ALL too */
    if (run(&r, "phases.sch", NULL) == CG_OK)
        CU_ASSERT_EQUAL(r.n, 5);
    cg_report_dispose(&r);
}

static void
test_phase_without_severity_map(void)
{
    cg_sch_options opt;
    char *base;
    cg_report r;
    options(&opt, &base);
    opt.phase_severity = NULL;
    if (run_opt(&r, "phases.sch", &opt, "warnings", 0) == CG_OK) {
        const cg_finding *f = finding(&r, "w-language", DOC);
        CU_ASSERT_PTR_NOT_NULL(f);
        if (f) /* without a phase->severity map every pattern reports errors */
            CU_ASSERT_EQUAL(f->severity, CG_SEV_ERROR);
    }
    cg_report_dispose(&r);
    free(base);
}

static void
test_unknown_phase_is_error(void)
{
    cg_sch_options opt;
    char *base;
    cg_buf text;
    cg_err err;
    cg_schematron *s = NULL;
    cg_report r;
    options(&opt, &base);
    cg_buf_init(&text, STYLESHEET_MAX);
    cg_report_init(&r, "doc.xml");
    xmlDocPtr doc = load_doc();
    CU_ASSERT_EQUAL_FATAL(compile(&text, "phases.sch", &opt, NULL, &err), CG_OK);
    CU_ASSERT_EQUAL_FATAL(cg_schematron_load(&s, text.data, text.len, "phases.sch", &err), CG_OK);
    /* a misspelt phase runs no pattern: that must not read as "no findings" */
    cg_err_init(&err);
    int rc = cg_schematron_run(s, doc, "nosuchphase", &r, 0, &err);
    CU_ASSERT_NOT_EQUAL(rc, CG_OK);
    CU_ASSERT_EQUAL(err.code, rc);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "unknown Schematron phase 'nosuchphase'"));
    CU_ASSERT_EQUAL(r.n, 0);
    /* the same stylesheet still runs a phase it has */
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_schematron_run(s, doc, "errors", &r, 0, &err), CG_OK);
    CU_ASSERT_EQUAL(r.n, 2);
    cg_report_dispose(&r);
    if (doc)
        xmlFreeDoc(doc);
    cg_schematron_free(s);
    cg_buf_dispose(&text);
    free(base);
}

/* ---- rules ----------------------------------------------------------------------------------- */

static void
test_abstract_rule_extends(void)
{
    cg_report r;
    if (run(&r, "abstract.sch", "#ALL") == CG_OK) {
        /* the abstract rule's assert runs in each extending rule's context, and nowhere else
         * (A1, B2 and C3 lack a statusCode too but no concrete rule matches them) */
        CU_ASSERT_EQUAL(r.n, 3);
        CU_ASSERT_EQUAL(count_id(&r, "abs-status"), 2);
        const cg_finding *f = finding(&r, "abs-status", SEC);
        CU_ASSERT_PTR_NOT_NULL(f);
        if (f) {
            CU_ASSERT_STRING_EQUAL(f->message, "The section SHALL contain a statusCode.");
            CU_ASSERT_EQUAL(f->line, LINE_SEC);
        }
        f = finding(&r, "abs-status", OBS_D4);
        CU_ASSERT_PTR_NOT_NULL(f);
        if (f) {
            CU_ASSERT_STRING_EQUAL(f->message, "The observation SHALL contain a statusCode.");
            CU_ASSERT_EQUAL(f->line, LINE_D4);
        }
        /* the extending rule's own assert still runs */
        CU_ASSERT_PTR_NOT_NULL(finding(&r, "own-title", SEC));
    }
    cg_report_dispose(&r);
}

static void
test_first_match_rule_order(void)
{
    cg_report r;
    if (run(&r, "order.sch", "#ALL") == CG_OK) {
        /* p-first: observations of template 1.2.3 (A1, B2 with an extension, nested C3) are taken
         * by the first rule only; D4 falls through to the second */
        CU_ASSERT_EQUAL(count_id(&r, "o-specific"), 3);
        CU_ASSERT_PTR_NOT_NULL(finding(&r, "o-specific", OBS_A1));
        CU_ASSERT_PTR_NOT_NULL(finding(&r, "o-specific", OBS_B2));
        CU_ASSERT_PTR_NOT_NULL(finding(&r, "o-specific", OBS_C3));
        CU_ASSERT_EQUAL(count_id(&r, "o-general"), 1);
        CU_ASSERT_PTR_NOT_NULL(finding(&r, "o-general", OBS_D4));
        /* p-second: another pattern checks every observation again */
        CU_ASSERT_EQUAL(count_id(&r, "o-second-pattern"), 4);
        CU_ASSERT_PTR_NOT_NULL(finding(&r, "o-second-pattern", OBS_A1));
        CU_ASSERT_PTR_NOT_NULL(finding(&r, "o-second-pattern", OBS_C3));
        CU_ASSERT_PTR_NOT_NULL(finding(&r, "o-second-pattern", OBS_D4));
        CU_ASSERT_EQUAL(r.n, 8);
    }
    cg_report_dispose(&r);
}

static void
test_let(void)
{
    cg_report r;
    if (run(&r, "messages.sch", "#ALL") == CG_OK) {
        const cg_finding *f = finding(&r, "let-doc-code", DOC);
        CU_ASSERT_PTR_NOT_NULL(f);
        if (f)
            CU_ASSERT_STRING_EQUAL(f->message, "The document code SHALL be 11506-3, not 34133-9.");
        /* a rule-level let is evaluated per context node: only B2 satisfies $c = 'B2' */
        CU_ASSERT_EQUAL(count_id(&r, "rep-nested"), 1);
        CU_ASSERT_PTR_NOT_NULL(finding(&r, "rep-nested", OBS_B2));
    }
    cg_report_dispose(&r);
}

static void
test_pattern_let(void)
{
    cg_report r;
    if (run(&r, "pattern_let.sch", "#ALL") == CG_OK) {
        /* the pattern's let is evaluated with the document root as context, so the rule on the
         * section sees the document's code */
        CU_ASSERT_EQUAL(r.n, 1);
        const cg_finding *f = finding(&r, "pl-doc-code", SEC);
        CU_ASSERT_PTR_NOT_NULL(f);
        if (f) {
            CU_ASSERT_STRING_EQUAL(f->message,
                                   "The section's document code SHALL be 11506-3, not 34133-9.");
            CU_ASSERT_EQUAL(f->line, LINE_SEC);
        }
    }
    cg_report_dispose(&r);
}

static void
test_report_is_a_finding(void)
{
    cg_report r;
    if (run(&r, "messages.sch", "#ALL") == CG_OK) {
        const cg_finding *f = finding(&r, "rep-nested", OBS_B2);
        CU_ASSERT_PTR_NOT_NULL(f);
        if (f) {
            CU_ASSERT_EQUAL(f->severity, CG_SEV_ERROR);
            CU_ASSERT_EQUAL(f->source, CG_SRC_SCHEMATRON);
            CU_ASSERT_EQUAL(f->line, LINE_B2);
        }
        /* the report's test is false on A1, C3 and D4: nothing for them */
        CU_ASSERT_PTR_NULL(finding(&r, "rep-nested", OBS_A1));
        CU_ASSERT_PTR_NULL(finding(&r, "rep-nested", OBS_D4));
    }
    cg_report_dispose(&r);
}

static void
test_value_of_and_name(void)
{
    cg_report r;
    if (run(&r, "messages.sch", "#ALL") == CG_OK) {
        const cg_finding *f = finding(&r, "rep-nested", OBS_B2);
        CU_ASSERT_PTR_NOT_NULL(f);
        if (f) /* sch:name, value-of of a variable, sch:name with a path */
            CU_ASSERT_STRING_EQUAL(f->message,
                                   "The observation coded B2 holds a nested observation.");
    }
    cg_report_dispose(&r);
}

static char *
svrl_string(xmlDocPtr svrl, const char *expr)
{
    char *s = NULL;
    xmlXPathContextPtr xp = xmlXPathNewContext(svrl);
    xmlXPathRegisterNs(xp, BAD_CAST "svrl", BAD_CAST CG_SVRL_NS);
    xmlXPathRegisterNs(xp, BAD_CAST "cg", BAD_CAST CG_SVRL_EXT_NS);
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, xp);
    if (o) {
        xmlChar *v = xmlXPathCastToString(o);
        s = cg_xstrdup((const char *)v);
        xmlFree(v);
        xmlXPathFreeObject(o);
    }
    xmlXPathFreeContext(xp);
    return s ? s : cg_xstrdup("");
}

static void
test_diagnostics(void)
{
    cg_sch_options opt;
    char *base;
    cg_report r;
    options(&opt, &base);
    if (run_opt(&r, "messages.sch", &opt, "#ALL", 1) == CG_OK) {
        CU_ASSERT_PTR_NOT_NULL(finding(&r, "diag-title", SEC));
        CU_ASSERT_PTR_NOT_NULL_FATAL(r.svrl);
        char *d1 = svrl_string(r.svrl, "normalize-space(//svrl:failed-assert[@id='diag-title']"
                                       "/svrl:diagnostic-reference[@diagnostic='d-title'])");
        char *d2 = svrl_string(r.svrl, "normalize-space(//svrl:failed-assert[@id='diag-title']"
                                       "/svrl:diagnostic-reference[@diagnostic='d-count'])");
        CU_ASSERT_STRING_EQUAL(d1, "Section coded 11450-4 has no title.");
        CU_ASSERT_STRING_EQUAL(d2, "It has 3 entries.");
        free(d1);
        free(d2);
    }
    cg_report_dispose(&r);
    free(base);
}

static void
test_unknown_diagnostic_is_compile_error(void)
{
    cg_sch_options opt;
    char *base;
    cg_buf text;
    cg_err err;
    options(&opt, &base);
    cg_buf_init(&text, STYLESHEET_MAX);
    CU_ASSERT_EQUAL(compile(&text, "err_diagnostic.sch", &opt, NULL, &err), CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "schematron line 7:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "unknown diagnostic 'd-missing'"));
    CU_ASSERT_EQUAL(text.len, 0); /* no half-written stylesheet */
    cg_buf_dispose(&text);
    free(base);
}

/* ---- document() inlining ------------------------------------------------------------------- */

static double svrl_number(xmlDocPtr svrl, const char *expr);

/* How many XPath expressions of the stylesheet (select, test, match, use) call document(). */
static int
document_calls(const cg_buf *text)
{
    xmlDocPtr d = xmlReadMemory(text->data, (int)text->len, "compiled.xsl", NULL, XML_PARSE_NONET);
    if (d == NULL)
        return -1;
    double n = svrl_number(d, "count(//xsl:*/@*[local-name() = 'select' or "
                              "local-name() = 'test' or local-name() = 'match' or "
                              "local-name() = 'use'][contains(., 'document(')])");
    xmlFreeDoc(d);
    return (int)n;
}

static void
test_valueset_inlined(void)
{
    cg_sch_options opt;
    char *base;
    cg_buf text;
    cg_err err;
    cg_sch_stats stats;
    cg_report inl, doc_call;
    options(&opt, &base);
    cg_buf_init(&text, STYLESHEET_MAX);
    CU_ASSERT_EQUAL_FATAL(compile(&text, "valueset.sch", &opt, &stats, &err), CG_OK);
    CU_ASSERT_EQUAL(stats.inlined_lookups, 1);
    /* no expression calls document() any more (svrl:failed-assert/@test keeps the source text) */
    CU_ASSERT_EQUAL(document_calls(&text), 0);
    /* the set's codes are in the stylesheet, another value set's are not */
    CU_ASSERT_PTR_NOT_NULL(strstr(text.data, "also-in-set"));
    CU_ASSERT_PTR_NULL(strstr(text.data, "other-code"));

    if (run_opt(&inl, "valueset.sch", &opt, "#ALL", 0) == CG_OK) {
        /* A1's value 'in-set' is in the value set; B2's 'other-code' is not */
        CU_ASSERT_EQUAL(inl.n, 1);
        const cg_finding *f = finding(&inl, "vs-code", OBS_B2 "/value[1]");
        CU_ASSERT_PTR_NOT_NULL(f);
        if (f) {
            CU_ASSERT_EQUAL(f->line, LINE_B2_VALUE);
            CU_ASSERT_STRING_EQUAL(f->message, "The value other-code SHALL be from value set "
                                               "2.16.840.1.113883.1.11.1.");
        }
        CU_ASSERT_PTR_NULL(finding(&inl, "vs-code", OBS_A1 "/value[1]"));
    }

    /* not inlined: document() stays, resolved against base_dir, with the same results */
    opt.no_inline = 1;
    cg_buf_reset(&text);
    CU_ASSERT_EQUAL_FATAL(compile(&text, "valueset.sch", &opt, &stats, &err), CG_OK);
    CU_ASSERT_EQUAL(stats.inlined_lookups, 0);
    CU_ASSERT_EQUAL(document_calls(&text), 1);
    char *abs_call = cg_xasprintf("document('%s/valuesets.xml')", base);
    CU_ASSERT_PTR_NOT_NULL(strstr(text.data, abs_call));
    free(abs_call);
    if (run_opt(&doc_call, "valueset.sch", &opt, "#ALL", 0) == CG_OK) {
        char *a = summary(&inl), *b = summary(&doc_call);
        CU_ASSERT_STRING_EQUAL(a, b);
        free(a);
        free(b);
    }
    cg_report_dispose(&inl);
    cg_report_dispose(&doc_call);
    cg_buf_dispose(&text);
    free(base);
}

/* ---- key-indexed candidates ---------------------------------------------------------------- */

/* Runs the fixture NAME with key-indexed candidates and in naive mode (every pattern walks the
 * whole document, attributes included): both must find exactly EXPECTED (summary() lines). */
static void
keyed_and_naive_find(const char *name, const char *expected)
{
    cg_sch_options opt;
    char *base;
    cg_report keyed, portable, naive;
    options(&opt, &base);
    int rk = run_opt(&keyed, name, &opt, "#ALL", 0); /* index functions */
    opt.portable = 1;
    int rp = run_opt(&portable, name, &opt, "#ALL", 0); /* xsl:key */
    opt.portable = 0;
    opt.naive = 1;
    int rn = run_opt(&naive, name, &opt, "#ALL", 0);
    CU_ASSERT(rk == CG_OK && rp == CG_OK && rn == CG_OK);
    if (rk == CG_OK && rp == CG_OK && rn == CG_OK) {
        char *k = summary(&keyed), *p = summary(&portable), *n = summary(&naive);
        CU_ASSERT_STRING_EQUAL(n, expected);
        CU_ASSERT_STRING_EQUAL(k, expected);
        CU_ASSERT_STRING_EQUAL(p, expected);
        if (strcmp(k, expected) != 0 || strcmp(n, expected) != 0 || strcmp(p, expected) != 0)
            fprintf(stderr, "\n%s keyed:\n%s\nportable:\n%s\nnaive:\n%s\nexpected:\n%s", name, k,
                    p, n, expected);
        free(k);
        free(p);
        free(n);
    }
    cg_report_dispose(&keyed);
    cg_report_dispose(&portable);
    cg_report_dispose(&naive);
    free(base);
}

static void
test_list_idiom_matches_naive(void)
{
    /* ' 1.2.3:2015-08-01 4.119: 9.9.1:X ' holds 1.2.3:2015-08-01, 4.119 without an extension,
     * 9.9.1:X, and across two entries the value "4.119: 9.9.1" + ":X"; "1.2" + ":3:2015-08-01"
     * is not a whole entry */
    doc_fixture = "sch/list-doc.xml";
    keyed_and_naive_find("list.sch", "error l-listed /ClinicalDocument[1]/templateId[1] 4\n"
                                     "error l-listed /ClinicalDocument[1]/templateId[3] 6\n"
                                     "error l-listed /ClinicalDocument[1]/templateId[5] 8\n"
                                     "error l-listed /ClinicalDocument[1]/templateId[6] 9\n"
                                     "error l-pair-same /ClinicalDocument[1] 3\n"
                                     "error l-root-listed /ClinicalDocument[1]/templateId[3] 6\n"
                                     "error l-root-listed /ClinicalDocument[1]/templateId[4] 7\n"
                                     "error l-root-listed /ClinicalDocument[1]/templateId[5] 8\n");
    doc_fixture = "sch/doc.xml";
}

static void
test_keyed_matches_naive(void)
{
    cg_sch_options opt;
    char *base;
    cg_buf text;
    cg_err err;
    cg_sch_stats stats;
    options(&opt, &base);
    cg_buf_init(&text, STYLESHEET_MAX);

    CU_ASSERT_EQUAL_FATAL(compile(&text, "keyed.sch", &opt, &stats, &err), CG_OK);
    CU_ASSERT_EQUAL(stats.rules, 14);
    CU_ASSERT(stats.keyed_rules > 0); /* the fast path is really taken */
    /* native: cdagate's index functions; portable: the same candidates through xsl:key */
    CU_ASSERT_PTR_NOT_NULL(strstr(text.data, "cg:parents('{urn:hl7-org:v3}templateId','root',"));
    CU_ASSERT_PTR_NULL(strstr(text.data, "<xsl:key "));
    opt.portable = 1;
    cg_buf_reset(&text);
    CU_ASSERT_EQUAL_FATAL(compile(&text, "keyed.sch", &opt, &stats, &err), CG_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(text.data, "<xsl:key "));
    CU_ASSERT_PTR_NULL(strstr(text.data, "cg:parents("));
    opt.portable = 0;
    opt.naive = 1;
    cg_buf_reset(&text);
    CU_ASSERT_EQUAL_FATAL(compile(&text, "keyed.sch", &opt, &stats, &err), CG_OK);
    CU_ASSERT_EQUAL(stats.keyed_rules, 0);
    CU_ASSERT_PTR_NULL(strstr(text.data, "<xsl:key "));
    cg_buf_dispose(&text);
    free(base);

    keyed_and_naive_find("keyed.sch", "error k-deep " OBS_A1 " 17\n"
                                      "error k-deep " OBS_B2 " 24\n"
                                      "error k-entry2 " OBS_B2 " 24\n"
                                      "error k-excl-comp " OBS_B2 "/entryRelationship[1] 28\n"
                                      "error k-ovl-first " OBS_B2 "/entryRelationship[1] 28\n"
                                      "error k-position-eq " OBS_D4 "/author[2] 44\n"
                                      "error k-position-last " OBS_D4 "/author[2] 44\n"
                                      "error k-positional " OBS_D4 "/author[2] 44\n"
                                      "error k-root-ext " OBS_B2 " 24\n"
                                      "error k-template " OBS_A1 " 17\n"
                                      "error k-template " OBS_B2 " 24\n"
                                      "error k-template " OBS_C3 " 29\n"
                                      "error k-two-first " OBS_A1 " 17\n"
                                      "error k-two-first " OBS_B2 " 24\n"
                                      "error k-two-first " OBS_C3 " 29\n"
                                      "error k-two-second " OBS_D4 " 37\n"
                                      "error k-union " SEC " 13\n"
                                      "error k-union " OBS_D4 " 37\n");
}

static void
test_keyed_position_predicates(void)
{
    cg_sch_options opt;
    char *base;
    cg_report r;
    options(&opt, &base);
    for (int naive = 0; naive <= 1; naive++) {
        opt.naive = naive;
        if (run_opt(&r, "keyed.sch", &opt, "#ALL", 0) == CG_OK) {
            /* position() counts among the same-named siblings, as in a match pattern; through
             * the key's parent axis it would be 1: [position()=2] would take no author and
             * [... and position()=last()] both */
            CU_ASSERT_EQUAL(count_id(&r, "k-position-eq"), 1);
            CU_ASSERT_PTR_NOT_NULL(finding(&r, "k-position-eq", OBS_D4 "/author[2]"));
            CU_ASSERT_EQUAL(count_id(&r, "k-position-last"), 1);
            CU_ASSERT_PTR_NOT_NULL(finding(&r, "k-position-last", OBS_D4 "/author[2]"));
        }
        cg_report_dispose(&r);
    }
    free(base);
}

static void
test_naive_visits_attributes(void)
{
    /* an attribute rule context: naive mode walks attributes too, so it finds what the keyed
     * candidates find */
    keyed_and_naive_find("attribute.sch", "error attr-code " OBS_A1 "/value[1]/@code 20\n"
                                          "error attr-code " OBS_B2 "/value[1]/@code 27\n");
}

static void
test_locations_and_lines(void)
{
    cg_report r;
    if (run(&r, "order.sch", "#ALL") == CG_OK) {
        /* 1-based position among same-named siblings: section has templateId and code before
         * its entries, yet the third entry is entry[3] */
        const cg_finding *f = finding(&r, "o-general", OBS_D4);
        CU_ASSERT_PTR_NOT_NULL(f);
        if (f)
            CU_ASSERT_EQUAL(f->line, LINE_D4);
        f = finding(&r, "o-specific", OBS_C3);
        CU_ASSERT_PTR_NOT_NULL(f);
        if (f)
            CU_ASSERT_EQUAL(f->line, LINE_C3);
        f = finding(&r, "o-specific", OBS_A1);
        CU_ASSERT_PTR_NOT_NULL(f);
        if (f)
            CU_ASSERT_EQUAL(f->line, LINE_A1);
    }
    cg_report_dispose(&r);
    if (run(&r, "attribute.sch", "#ALL") == CG_OK) {
        /* an attribute context: the element's path, then /@name, on the element's line */
        CU_ASSERT_EQUAL(r.n, 2);
        const cg_finding *f = finding(&r, "attr-code", OBS_A1 "/value[1]/@code");
        CU_ASSERT_PTR_NOT_NULL(f);
        if (f) {
            CU_ASSERT_EQUAL(f->line, LINE_A1_VALUE);
            CU_ASSERT_STRING_EQUAL(f->message, "value code in-set");
        }
        f = finding(&r, "attr-code", OBS_B2 "/value[1]/@code");
        CU_ASSERT_PTR_NOT_NULL(f);
        if (f)
            CU_ASSERT_EQUAL(f->line, LINE_B2_VALUE);
    }
    cg_report_dispose(&r);
    if (run(&r, "keyed.sch", "#ALL") == CG_OK) {
        const cg_finding *f = finding(&r, "k-positional", OBS_D4 "/author[2]");
        CU_ASSERT_PTR_NOT_NULL(f);
        if (f)
            CU_ASSERT_EQUAL(f->line, LINE_D4_AUTHOR2);
    }
    cg_report_dispose(&r);
}

/* ---- compile errors ------------------------------------------------------------------------ */

static void
expect_compile_error(const char *name, const char *what, const char *what2)
{
    cg_sch_options opt;
    char *base;
    cg_buf text;
    cg_err err;
    options(&opt, &base);
    cg_buf_init(&text, STYLESHEET_MAX);
    int rc = compile(&text, name, &opt, NULL, &err);
    CU_ASSERT_EQUAL(rc, CG_EINVAL);
    CU_ASSERT_EQUAL(err.code, CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, what));
    if (what2)
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, what2));
    if (strstr(err.msg, what) == NULL || (what2 && strstr(err.msg, what2) == NULL))
        fprintf(stderr, "\n%s: unexpected message: %s\n", name, err.msg);
    CU_ASSERT_EQUAL(text.len, 0);
    cg_buf_dispose(&text);
    free(base);
}

static void
test_error_not_schematron(void)
{
    expect_compile_error("err_not_schematron.sch", "not an ISO Schematron sch:schema", NULL);
}

static void
silent(void *ctx, const char *fmt, ...)
{
    (void)ctx;
    (void)fmt;
}

static void
test_error_invalid_xpath_names_line(void)
{
    /* libxml2 also prints the XPath parser's complaint; keep the test output clean */
    xmlSetGenericErrorFunc(NULL, silent);
    expect_compile_error("err_xpath.sch", "schematron line 8:", "cda:code[@code='1'");
    xmlSetGenericErrorFunc(NULL, NULL);
}

static void
test_error_extends_unknown_rule(void)
{
    expect_compile_error("err_extends.sch", "schematron line 8:", "'no-such-rule'");
}

static void
test_error_abstract_pattern(void)
{
    expect_compile_error("err_abstract_pattern.sch", "schematron line 5:",
                         "abstract patterns (pattern 'p-abstract') are not supported");
}

static void
test_error_let_declared_twice(void)
{
    /* schema- and pattern-level lets are both global variables: one name, one declaration */
    expect_compile_error("err_let_twice.sch", "schematron line 8:", "let 'code' is declared twice");
}

static void
test_error_let_named_phase(void)
{
    expect_compile_error("err_let_phase.sch", "schematron line 7:", "let 'phase'");
}

/* libxml2's reason for refusing an XPath expression, as it would print it. */
static void
keep_first_message(void *ctx, xmlErrorPtr e)
{
    cg_buf *b = ctx;
    if (b->len == 0 && e && e->message)
        cg_buf_puts(b, e->message);
}

static void
test_error_invalid_xpath_quiet_with_reason(void)
{
    static const char bad[] = "cda:code[@code='1'"; /* the broken test in err_xpath.sch */
    cg_buf why;
    cg_buf_init(&why, 4096);
    xmlSetStructuredErrorFunc(&why, keep_first_message);
    xmlXPathCompExprPtr comp = xmlXPathCompile(BAD_CAST bad);
    xmlSetStructuredErrorFunc(NULL, NULL);
    CU_ASSERT_PTR_NULL(comp);
    xmlXPathFreeCompExpr(comp);
    while (why.len && (why.data[why.len - 1] == '\n' || why.data[why.len - 1] == ' '))
        why.data[--why.len] = '\0';
    CU_ASSERT_FATAL(why.len > 0);

    /* compile with libxml2's default handlers and stderr sent to a file */
    xmlSetGenericErrorFunc(NULL, NULL);
    FILE *cap = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(cap);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    CU_ASSERT_FATAL(saved >= 0);
    dup2(fileno(cap), STDERR_FILENO);
    cg_sch_options opt;
    char *base;
    cg_buf text;
    cg_err err;
    options(&opt, &base);
    cg_buf_init(&text, STYLESHEET_MAX);
    int rc = compile(&text, "err_xpath.sch", &opt, NULL, &err);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);

    char printed[512];
    rewind(cap);
    size_t n = fread(printed, 1, sizeof printed - 1, cap);
    printed[n] = '\0';
    fclose(cap);
    CU_ASSERT_EQUAL(n, 0); /* the reason is in the error, not on stderr */
    if (n)
        fprintf(stderr, "\nprinted on stderr: %s\n", printed);
    CU_ASSERT_EQUAL(rc, CG_EINVAL);
    char *reason = cg_xasprintf("not a valid XPath 1.0 expression (%s): %s", why.data, bad);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, reason));
    if (strstr(err.msg, reason) == NULL)
        fprintf(stderr, "\nwanted '%s' in: %s\n", reason, err.msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "schematron line 8:"));
    free(reason);
    cg_buf_dispose(&text);
    cg_buf_dispose(&why);
    free(base);
}

/* ---- the stylesheet without cdagate's extension functions --------------------------------- */

/* Sorted, newline-joined @location of every failed-assert and successful-report; free() it. */
static char *
svrl_locations(xmlDocPtr svrl)
{
    cg_report tmp;
    cg_report_init(&tmp, NULL);
    xmlXPathContextPtr xp = xmlXPathNewContext(svrl);
    xmlXPathRegisterNs(xp, BAD_CAST "svrl", BAD_CAST CG_SVRL_NS);
    xmlXPathObjectPtr o = xmlXPathEvalExpression(
        BAD_CAST "//svrl:failed-assert/@location | //svrl:successful-report/@location", xp);
    for (int i = 0; o && o->nodesetval && i < o->nodesetval->nodeNr; i++) {
        xmlChar *v = xmlNodeGetContent(o->nodesetval->nodeTab[i]);
        cg_report_add(&tmp, CG_SEV_ERROR, CG_SRC_SCHEMATRON, "x", "", (const char *)v, 0);
        xmlFree(v);
    }
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(xp);
    cg_report_sort(&tmp);
    cg_buf b;
    cg_buf_init(&b, (size_t)1 << 20);
    for (size_t i = 0; i < tmp.n; i++)
        cg_buf_printf(&b, "%s\n", tmp.v[i].location);
    cg_report_dispose(&tmp);
    return cg_buf_detach(&b);
}

static char *
report_locations(const cg_report *r)
{
    cg_report tmp;
    cg_report_init(&tmp, NULL);
    for (size_t i = 0; i < r->n; i++)
        cg_report_add(&tmp, CG_SEV_ERROR, CG_SRC_SCHEMATRON, "x", "", r->v[i].location, 0);
    cg_report_sort(&tmp);
    cg_buf b;
    cg_buf_init(&b, (size_t)1 << 20);
    for (size_t i = 0; i < tmp.n; i++)
        cg_buf_printf(&b, "%s\n", tmp.v[i].location);
    cg_report_dispose(&tmp);
    return cg_buf_detach(&b);
}

static double
svrl_number(xmlDocPtr svrl, const char *expr)
{
    double d = -1;
    xmlXPathContextPtr xp = xmlXPathNewContext(svrl);
    xmlXPathRegisterNs(xp, BAD_CAST "svrl", BAD_CAST CG_SVRL_NS);
    xmlXPathRegisterNs(xp, BAD_CAST "cg", BAD_CAST CG_SVRL_EXT_NS);
    xmlXPathRegisterNs(xp, BAD_CAST "xsl", BAD_CAST "http://www.w3.org/1999/XSL/Transform");
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, xp);
    if (o) {
        d = xmlXPathCastToNumber(o);
        xmlXPathFreeObject(o);
    }
    xmlXPathFreeContext(xp);
    return d;
}

/* The stylesheet cdagate caches takes locations from cg:location(); compiled with `portable`,
 * the same schema runs on plain libxslt (no cdagate functions) with the same locations. */
static void
plain_libxslt_matches(const char *name)
{
    cg_sch_options opt;
    char *base;
    cg_buf text, native;
    cg_err err;
    cg_report r;
    options(&opt, &base);
    cg_buf_init(&text, STYLESHEET_MAX);
    cg_buf_init(&native, STYLESHEET_MAX);
    CU_ASSERT_EQUAL_FATAL(compile(&native, name, &opt, NULL, &err), CG_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(native.data, "cg:location()"));
    opt.portable = 1;
    CU_ASSERT_EQUAL_FATAL(compile(&text, name, &opt, NULL, &err), CG_OK);
    CU_ASSERT_PTR_NULL(strstr(text.data, "cg:location()"));
    opt.portable = 0;

    /* the reference: cg_schematron_run on the native stylesheet */
    if (run_opt(&r, name, &opt, "#ALL", 1) != CG_OK || r.svrl == NULL) {
        CU_FAIL("cg_schematron_run");
        goto done;
    }
    CU_ASSERT(r.n > 0);
    for (size_t i = 0; i < r.n; i++)
        CU_ASSERT(r.v[i].line > 0);

    /* hide cdagate's function (registered process-wide by cg_schematron_load) */
    const xmlChar *ns = BAD_CAST CG_SVRL_EXT_NS;
    xmlXPathFunction loc_fn = xsltExtModuleFunctionLookup(BAD_CAST "location", ns);
    xsltUnregisterExtModuleFunction(BAD_CAST "location", ns);

    xmlDocPtr sdoc = xmlReadMemory(text.data, (int)text.len, "plain.xsl", NULL, XML_PARSE_NONET);
    xsltStylesheetPtr style = sdoc ? xsltParseStylesheetDoc(sdoc) : NULL;
    xmlDocPtr doc = load_doc();
    xmlDocPtr svrl = style && doc ? xsltApplyStylesheet(style, doc, NULL) : NULL;
    CU_ASSERT_PTR_NOT_NULL(svrl);
    if (svrl) {
        char *plain = svrl_locations(svrl), *ours = report_locations(&r);
        CU_ASSERT_STRING_EQUAL(plain, ours);
        if (strcmp(plain, ours) != 0)
            fprintf(stderr, "\nplain libxslt:\n%s\ncg_schematron_run:\n%s", plain, ours);
        CU_ASSERT(svrl_number(svrl, "count(//svrl:failed-assert | //svrl:successful-report)") ==
                  (double)r.n);
        free(plain);
        free(ours);
        xmlFreeDoc(svrl);
    }
    if (doc)
        xmlFreeDoc(doc);
    if (style)
        xsltFreeStylesheet(style);
    else if (sdoc)
        xmlFreeDoc(sdoc);

    if (loc_fn)
        xsltRegisterExtModuleFunction(BAD_CAST "location", ns, loc_fn);
done:
    cg_report_dispose(&r);
    cg_buf_dispose(&text);
    cg_buf_dispose(&native);
    free(base);
}

static void
test_runs_on_plain_libxslt(void)
{
    plain_libxslt_matches("order.sch");  /* failed asserts on nested elements */
    plain_libxslt_matches("keyed.sch");  /* reports, keys, positions */
    plain_libxslt_matches("attribute.sch"); /* attribute contexts */
    plain_libxslt_matches("valueset.sch"); /* an inlined value set (exsl:node-set) */
}

void
cg_test_register_sch_compile(void)
{
    CU_pSuite s = CU_add_suite("validate/sch_compile", NULL, NULL);
    CU_add_test(s, "phase 'errors': its patterns, mapped severity, role overrides",
                test_phase_errors);
    CU_add_test(s, "phase 'warnings': its patterns, mapped severity, role overrides",
                test_phase_warnings);
    CU_add_test(s, "phase #ALL runs every pattern", test_phase_all);
    CU_add_test(s, "no phase->severity map: errors", test_phase_without_severity_map);
    CU_add_test(s, "unknown phase is an error, not an empty report", test_unknown_phase_is_error);
    CU_add_test(s, "abstract rule asserts fire in the extending rule's context",
                test_abstract_rule_extends);
    CU_add_test(s, "first matching rule wins within a pattern, not across patterns",
                test_first_match_rule_order);
    CU_add_test(s, "sch:let is evaluated per context node", test_let);
    CU_add_test(s, "pattern-level sch:let: the document root as context", test_pattern_let);
    CU_add_test(s, "sch:report that succeeds is a finding", test_report_is_a_finding);
    CU_add_test(s, "value-of and sch:name in messages", test_value_of_and_name);
    CU_add_test(s, "diagnostics resolve to their text", test_diagnostics);
    CU_add_test(s, "unknown diagnostic is a compile error",
                test_unknown_diagnostic_is_compile_error);
    CU_add_test(s, "document() value-set look-up is inlined and right", test_valueset_inlined);
    CU_add_test(s, "key-indexed rule contexts find what naive mode finds",
                test_keyed_matches_naive);
    CU_add_test(s, "list-membership idiom finds what naive mode finds",
                test_list_idiom_matches_naive);
    CU_add_test(s, "position() and last() on the keyed step count siblings",
                test_keyed_position_predicates);
    CU_add_test(s, "naive mode visits attribute contexts", test_naive_visits_attributes);
    CU_add_test(s, "locations are 1-based same-name paths, lines are right",
                test_locations_and_lines);
    CU_add_test(s, "compile error: root is not sch:schema", test_error_not_schematron);
    CU_add_test(s, "compile error: invalid XPath names the line",
                test_error_invalid_xpath_names_line);
    CU_add_test(s, "compile error: sch:extends to an unknown rule",
                test_error_extends_unknown_rule);
    CU_add_test(s, "compile error: abstract pattern refused", test_error_abstract_pattern);
    CU_add_test(s, "compile error: let declared at schema and pattern level",
                test_error_let_declared_twice);
    CU_add_test(s, "compile error: let named 'phase'", test_error_let_named_phase);
    CU_add_test(s, "compile error: invalid XPath gives libxml2's reason, prints nothing",
                test_error_invalid_xpath_quiet_with_reason);
    CU_add_test(s, "stylesheet runs on plain libxslt with the same locations",
                test_runs_on_plain_libxslt);
}
