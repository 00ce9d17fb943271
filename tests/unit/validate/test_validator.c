/* Tests src/validate/validator.c and the report formats of src/validate/report.c: one document
 * in, one report out, with the right findings, check states and skip reasons. The profile is the
 * synthetic tests/fixtures/profile/src, installed once for the suite; the documents are
 * in tests/fixtures/validator and small strings below. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/hash.h"
#include "validate/validator.h"

#define PROFILE "tiny-test"
#define DOC "/ClinicalDocument[1]"
#define SECTION(n) DOC "/component[1]/structuredBody[1]/component[" #n "]/section[1]"

static const char *const profile_files[] = {"schema/cda.xsd", "schematron/tiny.sch",
                                            "schematron/valuesets.xml", NULL};

static cg_profile *profile;
static char *suite_dir;

/* ---- suite set-up: install and open the fixture profile ------------------------------------- */

static char *
write_manifest(const char *dir, const char *src, cg_err *err)
{
    cg_buf b;
    char *path = cg_xasprintf("%s/" PROFILE ".manifest", dir);
    int rc = CG_OK;
    cg_buf_init(&b, 65536);
    cg_buf_puts(&b, "profile " PROFILE "\n"
                    "title Tiny synthetic profile for unit tests\n"
                    "root urn:hl7-org:v3 ClinicalDocument\n"
                    "xsd schema/cda.xsd\n"
                    "schematron schematron/tiny.sch\n"
                    "phase errors error\n"
                    "phase warnings warning\n");
    for (size_t i = 0; profile_files[i] && rc == CG_OK; i++) {
        char hex[CG_SHA256_HEX_LEN + 1];
        char *f = cg_fs_join(src, profile_files[i]);
        rc = cg_sha256_file(hex, f, err);
        if (rc == CG_OK)
            cg_buf_printf(&b, "file %s %s\n", hex, profile_files[i]);
        free(f);
    }
    if (rc == CG_OK)
        rc = cg_fs_write_atomic(path, b.data, b.len, err);
    cg_buf_dispose(&b);
    if (rc != CG_OK) {
        free(path);
        return NULL;
    }
    return path;
}

static int
suite_init(void)
{
    cg_err err;
    cg_err_init(&err);
    suite_dir = cg_test_tmpdir();
    char *src = cg_test_fixture("profile/src");
    char *manifest = write_manifest(suite_dir, src, &err);
    char *profiles = cg_fs_join(suite_dir, "profiles");
    int rc = manifest ? cg_profile_install(profiles, manifest, src, NULL, &err) : CG_EIO;
    if (rc == CG_OK)
        rc = cg_profile_open(&profile, profiles, PROFILE, &err);
    if (rc != CG_OK)
        fprintf(stderr, "validator suite: cannot set up the profile: %s\n", err.msg);
    free(profiles);
    free(manifest);
    free(src);
    return rc == CG_OK ? 0 : 1;
}

static int
suite_cleanup(void)
{
    cg_profile_free(profile);
    profile = NULL;
    free(suite_dir);
    suite_dir = NULL;
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------- */

static char *
read_fixture(const char *name, size_t *len)
{
    char *rel = cg_xasprintf("validator/%s", name);
    char *path = cg_test_fixture(rel);
    char *data = NULL;
    cg_err err;
    cg_err_init(&err);
    *len = 0;
    CU_ASSERT_EQUAL(cg_fs_read(&data, len, path, (size_t)1 << 20, &err), CG_OK);
    free(path);
    free(rel);
    return data ? data : cg_xstrdup("");
}

static void
options(cg_validator_options *o, const cg_profile *p)
{
    cg_validator_options_default(o);
    o->profile = p;
}

/* Validates a fixture with the suite's profile; the report is initialised here. */
static int
validate_fixture(cg_report *r, const char *name, const cg_validator_options *o)
{
    size_t len;
    char *data = read_fixture(name, &len);
    cg_err err;
    cg_err_init(&err);
    cg_report_init(r, name);
    int rc = cg_validate_memory(o, data, len, r, &err);
    CU_ASSERT_EQUAL(rc, CG_OK);
    free(data);
    return rc;
}

static int
validate_text(cg_report *r, const char *text, const cg_validator_options *o)
{
    cg_err err;
    cg_err_init(&err);
    cg_report_init(r, "doc.xml");
    int rc = cg_validate_memory(o, text, strlen(text), r, &err);
    CU_ASSERT_EQUAL(rc, CG_OK);
    return rc;
}

static size_t
count_source(const cg_report *r, cg_source src)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += r->v[i].source == src;
    return n;
}

static int
any_message_contains(const cg_report *r, const char *s)
{
    for (size_t i = 0; i < r->n; i++)
        if (strstr(r->v[i].message, s))
            return 1;
    return 0;
}

static char *
write_report(const cg_report *r, cg_format fmt)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cg_report_write(f, r, fmt);
    fclose(f);
    return text;
}

/* A strict JSON syntax check (RFC 8259 values; no extensions). */
typedef struct json_reader {
    const char *p;
    int depth;
} json_reader;

static int json_value(json_reader *j);

static void
json_ws(json_reader *j)
{
    while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
        j->p++;
}

static int
json_string(json_reader *j)
{
    if (*j->p != '"')
        return 0;
    for (j->p++; *j->p != '"'; j->p++) {
        unsigned char c = (unsigned char)*j->p;
        if (c == '\0' || c < 0x20)
            return 0;
        if (c != '\\')
            continue;
        j->p++;
        if (*j->p == 'u') {
            for (int i = 1; i <= 4; i++)
                if (!isxdigit((unsigned char)j->p[i]))
                    return 0;
            j->p += 4;
        } else if (*j->p == '\0' || strchr("\"\\/bfnrt", *j->p) == NULL)
            return 0;
    }
    j->p++;
    return 1;
}

static int
json_number(json_reader *j)
{
    const char *start = j->p;
    if (*j->p == '-')
        j->p++;
    if (!isdigit((unsigned char)*j->p))
        return 0;
    if (*j->p == '0')
        j->p++;
    else
        while (isdigit((unsigned char)*j->p))
            j->p++;
    if (*j->p == '.') {
        j->p++;
        if (!isdigit((unsigned char)*j->p))
            return 0;
        while (isdigit((unsigned char)*j->p))
            j->p++;
    }
    if (*j->p == 'e' || *j->p == 'E') {
        j->p++;
        if (*j->p == '+' || *j->p == '-')
            j->p++;
        if (!isdigit((unsigned char)*j->p))
            return 0;
        while (isdigit((unsigned char)*j->p))
            j->p++;
    }
    return j->p > start;
}

static int
json_literal(json_reader *j, const char *word)
{
    size_t n = strlen(word);
    if (strncmp(j->p, word, n) != 0)
        return 0;
    j->p += n;
    return 1;
}

static int
json_container(json_reader *j, char close)
{
    j->p++;
    if (++j->depth > 64)
        return 0;
    json_ws(j);
    if (*j->p == close) {
        j->p++;
        j->depth--;
        return 1;
    }
    for (;;) {
        json_ws(j);
        if (close == '}') {
            if (!json_string(j))
                return 0;
            json_ws(j);
            if (*j->p++ != ':')
                return 0;
        }
        if (!json_value(j))
            return 0;
        json_ws(j);
        if (*j->p == ',') {
            j->p++;
            continue;
        }
        if (*j->p != close)
            return 0;
        j->p++;
        j->depth--;
        return 1;
    }
}

static int
json_value(json_reader *j)
{
    json_ws(j);
    switch (*j->p) {
    case '{': return json_container(j, '}');
    case '[': return json_container(j, ']');
    case '"': return json_string(j);
    case 't': return json_literal(j, "true");
    case 'f': return json_literal(j, "false");
    case 'n': return json_literal(j, "null");
    default: return json_number(j);
    }
}

static int
json_parses(const char *s)
{
    json_reader j = {s, 0};
    if (!json_value(&j))
        return 0;
    json_ws(&j);
    return *j.p == '\0';
}

/* ---- documents ------------------------------------------------------------------------------ */

static void
test_valid_document(void)
{
    cg_validator_options o;
    cg_report r;
    options(&o, profile);
    if (validate_fixture(&r, "valid.xml", &o) == CG_OK) {
        CU_ASSERT_EQUAL(r.n, 0);
        CU_ASSERT(cg_report_valid(&r));
        CU_ASSERT_EQUAL(r.xsd, CG_CHECK_RAN);
        CU_ASSERT_EQUAL(r.schematron, CG_CHECK_RAN);
        CU_ASSERT_PTR_NULL(r.xsd_skip_reason);
        CU_ASSERT_PTR_NULL(r.schematron_skip_reason);
        CU_ASSERT_STRING_EQUAL(r.profile, PROFILE);
        CU_ASSERT_STRING_EQUAL(r.phase, "#ALL");
    }
    cg_report_dispose(&r);
}

static void
test_xsd_invalid(void)
{
    cg_validator_options o;
    cg_report r;
    options(&o, profile);
    if (validate_fixture(&r, "xsd_invalid.xml", &o) == CG_OK) {
        CU_ASSERT(!cg_report_valid(&r));
        CU_ASSERT_EQUAL(r.xsd, CG_CHECK_RAN);
        CU_ASSERT_EQUAL(r.schematron, CG_CHECK_RAN);
        CU_ASSERT_EQUAL(count_source(&r, CG_SRC_SCHEMATRON), 0);
        CU_ASSERT_EQUAL_FATAL(count_source(&r, CG_SRC_XSD), 1);
        const cg_finding *f = &r.v[0];
        CU_ASSERT_EQUAL(f->source, CG_SRC_XSD);
        CU_ASSERT_EQUAL(f->severity, CG_SEV_ERROR);
        CU_ASSERT_PTR_NULL(f->id);
        CU_ASSERT_EQUAL(f->line, 7);
        CU_ASSERT_STRING_EQUAL(f->location ? f->location : "", DOC "/title[1]");
        CU_ASSERT_PTR_NOT_NULL(strstr(f->message, "{urn:hl7-org:v3}title"));
        CU_ASSERT_PTR_NOT_NULL(strstr(f->message, "not expected"));
    }
    cg_report_dispose(&r);
}

static void
test_schematron_invalid(void)
{
    cg_validator_options o;
    cg_report r;
    options(&o, profile);
    o.keep_svrl = 1;
    if (validate_fixture(&r, "sch_invalid.xml", &o) == CG_OK) {
        CU_ASSERT(!cg_report_valid(&r));
        CU_ASSERT_EQUAL(r.xsd, CG_CHECK_RAN);
        CU_ASSERT_EQUAL(r.schematron, CG_CHECK_RAN);
        CU_ASSERT_EQUAL_FATAL(r.n, 1);
        const cg_finding *f = &r.v[0];
        CU_ASSERT_EQUAL(f->source, CG_SRC_SCHEMATRON);
        CU_ASSERT_EQUAL(f->severity, CG_SEV_ERROR);
        CU_ASSERT_STRING_EQUAL(f->id ? f->id : "", "doc-template");
        CU_ASSERT_STRING_EQUAL(f->location ? f->location : "", DOC);
        CU_ASSERT_EQUAL(f->line, 4);
        CU_ASSERT_STRING_EQUAL(f->message, "SHALL contain a templateId with "
                                           "@root=\"2.16.840.1.113883.10.20.22.1.1\".");
        char *svrl = write_report(&r, CG_FMT_SVRL);
        CU_ASSERT_PTR_NOT_NULL(strstr(svrl, "failed-assert"));
        CU_ASSERT_PTR_NOT_NULL(strstr(svrl, "doc-template"));
        free(svrl);
    }
    cg_report_dispose(&r);
    /* the assert belongs to phase 'errors': phase 'warnings' does not report it */
    o.phase = "warnings";
    if (validate_fixture(&r, "sch_invalid.xml", &o) == CG_OK) {
        CU_ASSERT_EQUAL(r.n, 0);
        CU_ASSERT_STRING_EQUAL(r.phase, "warnings");
    }
    cg_report_dispose(&r);
}

static void
test_unknown_phase(void)
{
    cg_validator_options o;
    cg_report r;
    cg_err err;
    size_t len;
    char *data = read_fixture("sch_invalid.xml", &len);
    options(&o, profile);
    o.phase = "nosuchphase";
    cg_err_init(&err);
    cg_report_init(&r, "sch_invalid.xml");
    /* no pattern is in that phase: the check could not run, which is not "valid" */
    int rc = cg_validate_memory(&o, data, len, &r, &err);
    CU_ASSERT_NOT_EQUAL(rc, CG_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "unknown Schematron phase 'nosuchphase'"));
    CU_ASSERT_NOT_EQUAL(r.schematron, CG_CHECK_RAN);
    CU_ASSERT_EQUAL(count_source(&r, CG_SRC_SCHEMATRON), 0);
    cg_report_dispose(&r);
    free(data);
}

static void
test_not_well_formed(void)
{
    cg_validator_options o;
    cg_report r;
    options(&o, profile);
    if (validate_text(&r, "<?xml version='1.0'?>\n"
                          "<ClinicalDocument xmlns='urn:hl7-org:v3'>\n"
                          "  <id root='1.2.3'/>\n"
                          "  <title>Summary</titel>\n"
                          "</ClinicalDocument>\n",
                      &o) == CG_OK) {
        CU_ASSERT_EQUAL_FATAL(r.n, 1);
        CU_ASSERT_EQUAL(r.v[0].source, CG_SRC_XML);
        CU_ASSERT_EQUAL(r.v[0].severity, CG_SEV_ERROR);
        CU_ASSERT_EQUAL(r.v[0].line, 4);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.v[0].message, "not well-formed"));
        CU_ASSERT_PTR_NOT_NULL(strstr(r.v[0].message, "titel"));
        /* the report names the file; the message does not repeat it */
        CU_ASSERT_PTR_NULL(strstr(r.v[0].message, "doc.xml"));
        CU_ASSERT_EQUAL(r.xsd, CG_CHECK_SKIPPED);
        CU_ASSERT_EQUAL(r.schematron, CG_CHECK_SKIPPED);
        CU_ASSERT_PTR_NOT_NULL(r.xsd_skip_reason);
        CU_ASSERT_PTR_NOT_NULL(r.schematron_skip_reason);
        CU_ASSERT(!cg_report_valid(&r));
    }
    cg_report_dispose(&r);
}

static void
test_xxe_refused(void)
{
    cg_validator_options o;
    cg_report r;
    options(&o, profile);
    if (validate_text(&r, "<?xml version='1.0'?>\n"
                          "<!DOCTYPE ClinicalDocument [\n"
                          "  <!ENTITY x SYSTEM 'file:///etc/passwd'>\n"
                          "]>\n"
                          "<ClinicalDocument xmlns='urn:hl7-org:v3'><title>&x;</title>"
                          "</ClinicalDocument>\n",
                      &o) == CG_OK) {
        CU_ASSERT_EQUAL_FATAL(r.n, 1);
        CU_ASSERT_EQUAL(r.v[0].source, CG_SRC_XML);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.v[0].message, "entity 'x'"));
        CU_ASSERT_EQUAL(r.v[0].line, 3);
        CU_ASSERT(!any_message_contains(&r, "root:")); /* /etc/passwd was never read */
        CU_ASSERT_EQUAL(r.xsd, CG_CHECK_SKIPPED);
        CU_ASSERT_EQUAL(r.schematron, CG_CHECK_SKIPPED);
    }
    cg_report_dispose(&r);
}

static void
test_not_cda(void)
{
    cg_validator_options o;
    cg_report r;
    options(&o, profile);
    /* the right name in no namespace */
    if (validate_text(&r, "<?xml version='1.0'?>\n"
                          "<ClinicalDocument><id root='1'/></ClinicalDocument>",
                      &o) == CG_OK) {
        CU_ASSERT_EQUAL_FATAL(r.n, 1);
        CU_ASSERT_EQUAL(r.v[0].source, CG_SRC_CDA);
        CU_ASSERT_EQUAL(r.v[0].line, 2);
        CU_ASSERT_STRING_EQUAL(r.v[0].message,
                               "the root element is {}ClinicalDocument, not "
                               "{urn:hl7-org:v3}ClinicalDocument: not a CDA document");
        CU_ASSERT_EQUAL(r.xsd, CG_CHECK_SKIPPED);
        CU_ASSERT_EQUAL(r.schematron, CG_CHECK_SKIPPED);
        CU_ASSERT_STRING_EQUAL(r.xsd_skip_reason ? r.xsd_skip_reason : "", "not a CDA document");
        CU_ASSERT_STRING_EQUAL(r.schematron_skip_reason ? r.schematron_skip_reason : "",
                               "not a CDA document");
    }
    cg_report_dispose(&r);
    /* the CDA namespace, another element */
    if (validate_text(&r, "<Document xmlns='urn:hl7-org:v3'/>", &o) == CG_OK) {
        CU_ASSERT_EQUAL_FATAL(r.n, 1);
        CU_ASSERT_EQUAL(r.v[0].source, CG_SRC_CDA);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.v[0].message, "{urn:hl7-org:v3}Document"));
        CU_ASSERT_EQUAL(r.xsd, CG_CHECK_SKIPPED);
    }
    cg_report_dispose(&r);
}

static void
test_no_profile(void)
{
    cg_validator_options o;
    cg_report r;
    options(&o, NULL);
    /* the Schematron would fail this document, but there is none to run */
    if (validate_fixture(&r, "sch_invalid.xml", &o) == CG_OK) {
        CU_ASSERT_EQUAL(r.n, 0);
        CU_ASSERT_PTR_NULL(r.profile);
        CU_ASSERT_EQUAL(r.xsd, CG_CHECK_SKIPPED);
        CU_ASSERT_EQUAL(r.schematron, CG_CHECK_SKIPPED);
        CU_ASSERT_STRING_EQUAL(r.xsd_skip_reason ? r.xsd_skip_reason : "", "no validation profile");
        CU_ASSERT_STRING_EQUAL(r.schematron_skip_reason ? r.schematron_skip_reason : "",
                               "no validation profile");
    }
    cg_report_dispose(&r);
    o.missing_profile_reason = "profile 'ccda-r2.1' is not installed";
    if (validate_fixture(&r, "valid.xml", &o) == CG_OK) {
        CU_ASSERT_STRING_EQUAL(r.xsd_skip_reason ? r.xsd_skip_reason : "",
                               "profile 'ccda-r2.1' is not installed");
        CU_ASSERT_STRING_EQUAL(r.schematron_skip_reason ? r.schematron_skip_reason : "",
                               "profile 'ccda-r2.1' is not installed");
    }
    cg_report_dispose(&r);
    /* the CDA root is still checked */
    if (validate_text(&r, "<ClinicalDocument/>", &o) == CG_OK) {
        CU_ASSERT_EQUAL(r.n, 1);
        CU_ASSERT_EQUAL(count_source(&r, CG_SRC_CDA), 1);
    }
    cg_report_dispose(&r);
}

static void
test_max_bytes(void)
{
    cg_validator_options o;
    cg_report r;
    cg_err err;
    size_t len;
    char *data = read_fixture("valid.xml", &len);
    options(&o, profile);
    o.limits.max_bytes = len;
    cg_err_init(&err);
    cg_report_init(&r, "valid.xml");
    CU_ASSERT_EQUAL(cg_validate_memory(&o, data, len, &r, &err), CG_OK);
    CU_ASSERT_EQUAL(r.n, 0);
    CU_ASSERT_EQUAL(r.schematron, CG_CHECK_RAN);
    cg_report_dispose(&r);

    o.limits.max_bytes = len - 1;
    char *limit = cg_xasprintf("exceeds the limit of %zu bytes", len - 1);
    cg_report_init(&r, "valid.xml");
    CU_ASSERT_EQUAL(cg_validate_memory(&o, data, len, &r, &err), CG_OK);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT_EQUAL(r.v[0].source, CG_SRC_XML);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.v[0].message, limit));
    CU_ASSERT_EQUAL(r.xsd, CG_CHECK_SKIPPED);
    CU_ASSERT_EQUAL(r.schematron, CG_CHECK_SKIPPED);
    CU_ASSERT(!cg_report_valid(&r));
    cg_report_dispose(&r);
    free(limit);
    free(data);
}

static void
test_max_bytes_file(void)
{
    cg_validator_options o;
    cg_report r;
    cg_err err;
    size_t len;
    char *data = read_fixture("valid.xml", &len);
    char *tmp = cg_test_tmpdir();
    char *path = cg_fs_join(tmp, "big.xml");
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_fs_write_atomic(path, data, len, &err), CG_OK);
    options(&o, profile);

    o.limits.max_bytes = len;
    cg_report_init(&r, path);
    CU_ASSERT_EQUAL(cg_validate_file(&o, path, &r, &err), CG_OK);
    CU_ASSERT_EQUAL(r.n, 0);
    CU_ASSERT_EQUAL(r.xsd, CG_CHECK_RAN);
    cg_report_dispose(&r);

    /* an oversize file is a finding about the document, not a failure of the call */
    o.limits.max_bytes = len - 1;
    char *limit = cg_xasprintf("exceeds the limit of %zu bytes", len - 1);
    cg_err_init(&err);
    cg_report_init(&r, path);
    CU_ASSERT_EQUAL(cg_validate_file(&o, path, &r, &err), CG_OK);
    CU_ASSERT_EQUAL(err.code, CG_OK);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT_EQUAL(r.v[0].source, CG_SRC_XML);
    CU_ASSERT_EQUAL(r.v[0].severity, CG_SEV_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.v[0].message, limit));
    CU_ASSERT(!cg_report_valid(&r));
    cg_report_dispose(&r);

    /* a file that is not there is a failure of the call */
    char *missing = cg_fs_join(tmp, "missing.xml");
    cg_err_init(&err);
    cg_report_init(&r, missing);
    CU_ASSERT_EQUAL(cg_validate_file(&o, missing, &r, &err), CG_ENOTFOUND);
    cg_report_dispose(&r);

    free(missing);
    free(limit);
    free(path);
    free(tmp);
    free(data);
}

/* ---- report formats ------------------------------------------------------------------------- */

static void
test_tsv_sorted(void)
{
    cg_validator_options o;
    cg_report r;
    options(&o, profile);
    /* tiny.sch lists its patterns in the opposite order: the output is sorted, not SVRL order */
    if (validate_fixture(&r, "findings.xml", &o) == CG_OK) {
        char *tsv = write_report(&r, CG_FMT_TSV);
        CU_ASSERT_STRING_EQUAL(tsv, "error\tdoc-title\t" DOC "\n"
                                    "error\tsection-code\t" SECTION(1) "\n"
                                    "error\tsection-code\t" SECTION(3) "\n"
                                    "warning\tsection-title\t" SECTION(1) "\n"
                                    "warning\tsection-title\t" SECTION(3) "\n");
        free(tsv);
    }
    cg_report_dispose(&r);

    /* sorting: severity word, then id, then location */
    cg_report_init(&r, "x.xml");
    cg_report_add(&r, CG_SEV_WARNING, CG_SRC_SCHEMATRON, "b", "m", "/x[1]", 1);
    cg_report_add(&r, CG_SEV_ERROR, CG_SRC_SCHEMATRON, "b", "m", "/y[1]", 2);
    cg_report_add(&r, CG_SEV_ERROR, CG_SRC_SCHEMATRON, "a", "m", "/z[1]", 3);
    cg_report_add(&r, CG_SEV_ERROR, CG_SRC_SCHEMATRON, "b", "m", "/a[1]", 4);
    cg_report_add(&r, CG_SEV_INFO, CG_SRC_SCHEMATRON, "a", "m", "/a[1]", 5);
    cg_report_sort(&r);
    char *tsv = write_report(&r, CG_FMT_TSV);
    CU_ASSERT_STRING_EQUAL(tsv, "error\ta\t/z[1]\n"
                                "error\tb\t/a[1]\n"
                                "error\tb\t/y[1]\n"
                                "info\ta\t/a[1]\n"
                                "warning\tb\t/x[1]\n");
    free(tsv);
    cg_report_dispose(&r);
}

static void
test_json(void)
{
    cg_validator_options o;
    cg_report r;
    cg_err err;
    size_t len;
    char *data = read_fixture("findings.xml", &len);
    options(&o, profile);
    cg_err_init(&err);
    /* a file name that needs escaping, too */
    cg_report_init(&r, "in \"quotes\"\\and\nnewline.xml");
    CU_ASSERT_EQUAL(cg_validate_memory(&o, data, len, &r, &err), CG_OK);
    /* a message as the report stores it: white space normalised, so no raw newline */
    cg_report_add(&r, CG_SEV_INFO, CG_SRC_SCHEMATRON, "id\nwith-newline",
                  "line one\n  line two \"quoted\" back\\slash bell\a", NULL, 0);
    char *json = write_report(&r, CG_FMT_JSON);
    CU_ASSERT(json_parses(json));
    if (!json_parses(json))
        fprintf(stderr, "\nnot JSON: %s\n", json);
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"file\":\"in \\\"quotes\\\"\\\\and\\nnewline.xml\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"valid\":false"));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"errors\":3"));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"warnings\":2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"profile\":\"" PROFILE "\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"xsd\":{\"state\":\"ran\",\"reason\":null}"));
    /* a quote from the document inside a quoted message */
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"message\":\"The section code \\\"say \\\"hi\\\"\\\" "
                                        "SHALL be from value set 2.16.840.1.113883.1.11.99.\""));
    /* a message written over two lines in the Schematron comes out on one */
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"message\":\"SHALL contain exactly one title.\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"id\":\"id\\nwith-newline\""));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(json, "\"message\":\"line one line two \\\"quoted\\\" back\\\\slash bell\\u0007\""));
    CU_ASSERT_PTR_NULL(strchr(json, '\n'));
    free(json);
    cg_report_dispose(&r);

    /* no profile: nulls and skip reasons */
    options(&o, NULL);
    cg_report_init(&r, "valid.xml");
    CU_ASSERT_EQUAL(cg_validate_memory(&o, data, len, &r, &err), CG_OK);
    json = write_report(&r, CG_FMT_JSON);
    CU_ASSERT(json_parses(json));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"valid\":true"));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"profile\":null"));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"schematron\":{\"state\":\"skipped\","
                                        "\"reason\":\"no validation profile\"}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"findings\":[]"));
    free(json);
    cg_report_dispose(&r);
    free(data);
}

static void
test_json_checker(void)
{
    /* the checker used above accepts JSON and refuses what is not */
    CU_ASSERT(json_parses("{\"a\":[1,-2.5e3,true,false,null,\"\\u00e9\\n\"],\"b\":{}}"));
    CU_ASSERT(!json_parses("{\"a\":\"raw\nnewline\"}"));
    CU_ASSERT(!json_parses("{\"a\":\"bad \\q escape\"}"));
    CU_ASSERT(!json_parses("{\"a\":1,}"));
    CU_ASSERT(!json_parses("{\"a\":1} x"));
    CU_ASSERT(!json_parses("{\"a\" 1}"));
}

void
cg_test_register_validator(void)
{
    CU_pSuite s = CU_add_suite("validate/validator", suite_init, suite_cleanup);
    CU_add_test(s, "valid document: no findings, both checks ran", test_valid_document);
    CU_add_test(s, "XML Schema error with line and location", test_xsd_invalid);
    CU_add_test(s, "Schematron assert fails; phase selects it", test_schematron_invalid);
    CU_add_test(s, "unknown phase: the call fails, no empty report", test_unknown_phase);
    CU_add_test(s, "not well-formed: one XML finding with the line, checks skipped",
                test_not_well_formed);
    CU_add_test(s, "entity declaration refused, nothing expanded", test_xxe_refused);
    CU_add_test(s, "wrong root or no namespace: CDA finding, checks skipped", test_not_cda);
    CU_add_test(s, "no profile: checks skipped with the reason", test_no_profile);
    CU_add_test(s, "max_bytes at the limit and one past it", test_max_bytes);
    CU_add_test(s, "oversize file: a finding, and CG_OK", test_max_bytes_file);
    CU_add_test(s, "TSV: severity, id, location, sorted", test_tsv_sorted);
    CU_add_test(s, "JSON: parseable, counts, escaping", test_json);
    CU_add_test(s, "JSON checker refuses broken JSON", test_json_checker);
}
