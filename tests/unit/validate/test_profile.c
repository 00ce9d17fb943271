/* Tests src/validate/profile.c: manifests are read strictly, a profile is installed only when
 * every file matches its hash and nothing is left behind when it is not, the compiled Schematron
 * is cached, and an installed profile that was changed afterwards refuses to open.
 * The profiles are tests/fixtures/profile/src (tiny-test) and tests/fixtures/profile/lookup
 * (lookup-test); their manifests are written at test time, so editing a fixture file never
 * breaks a hard-coded hash. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/hash.h"
#include "validate/profile.h"
#include "validate/validator.h"

#define PROFILE "tiny-test"

static const char *const profile_files[] = {"schema/cda.xsd", "schematron/tiny.sch",
                                            "schematron/valuesets.xml", NULL};

/* A syntactically good hash for manifests that are only parsed. */
#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Writes DIR/NAME.manifest: HEADER, then one file line for each of FILES under src with its hash
 * now; returns its path (free() it), or NULL. */
static char *
write_manifest_as(const char *dir, const char *src, const char *name, const char *header,
                  const char *const *files)
{
    cg_buf b;
    cg_err err;
    char *path = cg_xasprintf("%s/%s.manifest", dir, name);
    cg_buf_init(&b, 65536);
    cg_buf_puts(&b, "# written by tests/unit/validate/test_profile.c\n");
    cg_buf_puts(&b, header);
    for (size_t i = 0; files[i]; i++) {
        char hex[CG_SHA256_HEX_LEN + 1];
        char *f = cg_fs_join(src, files[i]);
        cg_err_init(&err);
        int rc = cg_sha256_file(hex, f, &err);
        CU_ASSERT_EQUAL(rc, CG_OK);
        free(f);
        if (rc != CG_OK)
            goto fail;
        cg_buf_printf(&b, "file %s %s\n", hex, files[i]);
    }
    cg_err_init(&err);
    if (cg_fs_write_atomic(path, b.data, b.len, &err) != CG_OK)
        goto fail;
    cg_buf_dispose(&b);
    return path;
fail:
    CU_FAIL("write_manifest_as");
    cg_buf_dispose(&b);
    free(path);
    return NULL;
}

/* Writes DIR/tiny-test.manifest listing the profile files under src with their hashes now;
 * returns its path (free() it), or NULL. */
static char *
write_manifest(const char *dir, const char *src)
{
    return write_manifest_as(dir, src, PROFILE,
                             "profile " PROFILE "\n"
                             "title Tiny synthetic profile for unit tests\n"
                             "root urn:hl7-org:v3 ClinicalDocument\n"
                             "xsd schema/cda.xsd\n"
                             "schematron schematron/tiny.sch\n"
                             "phase errors error\n"
                             "phase warnings warning\n",
                             profile_files);
}

/* Copies the fixture profile's files into DIR/src; returns that directory (free() it). */
static char *
copy_source(const char *dir)
{
    char *from = cg_test_fixture("profile/src");
    char *to = cg_fs_join(dir, "src");
    cg_err err;
    for (size_t i = 0; profile_files[i]; i++) {
        char *s = cg_fs_join(from, profile_files[i]), *d = cg_fs_join(to, profile_files[i]);
        char *parent = cg_xstrdup(d);
        *strrchr(parent, '/') = '\0';
        cg_err_init(&err);
        CU_ASSERT_EQUAL(cg_fs_mkdirs(parent, &err), CG_OK);
        CU_ASSERT_EQUAL(cg_fs_copy(s, d, (size_t)1 << 24, &err), CG_OK);
        free(parent);
        free(d);
        free(s);
    }
    free(from);
    return to;
}

/* Changes the middle byte of a file (same length, one character different). */
static void
tamper(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL_FATAL(cg_fs_read(&data, &len, path, (size_t)1 << 24, &err), CG_OK);
    CU_ASSERT_FATAL(len > 0);
    data[len / 2] = data[len / 2] == 'x' ? 'y' : 'x';
    CU_ASSERT_EQUAL(cg_fs_write_atomic(path, data, len, &err), CG_OK);
    free(data);
}

/* Names in dir (not . or ..), newline-joined in directory order; "" when empty or missing. */
static char *
dir_entries(const char *dir)
{
    cg_buf b;
    cg_buf_init(&b, 65536);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, ".."))
            cg_buf_printf(&b, "%s\n", e->d_name);
    if (d)
        closedir(d);
    return cg_buf_detach(&b);
}

/* Installs the fixture profile into tmp/profiles; returns that directory (free() it). */
static char *
install_fixture(const char *tmp, cg_install_stats *stats)
{
    char *src = cg_test_fixture("profile/src");
    char *manifest = write_manifest(tmp, src);
    char *profiles = cg_fs_join(tmp, "profiles");
    cg_err err;
    cg_err_init(&err);
    int rc = manifest ? cg_profile_install(profiles, manifest, src, stats, &err) : CG_EINVAL;
    CU_ASSERT_EQUAL(rc, CG_OK);
    if (rc != CG_OK)
        fprintf(stderr, "\ncg_profile_install: %s\n", err.msg);
    free(manifest);
    free(src);
    return profiles;
}

/* Removes profile NAME's compiled stylesheets (compiled/KEY.xsl); returns how many. */
static int
remove_compiled(const char *profiles, const char *name)
{
    char *cdir = cg_xasprintf("%s/%s/compiled", profiles, name);
    int n = 0;
    DIR *d = opendir(cdir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".xsl") == 0) {
            char *f = cg_fs_join(cdir, e->d_name);
            n += unlink(f) == 0;
            free(f);
        }
    }
    if (d)
        closedir(d);
    free(cdir);
    return n;
}

/* The text of profile NAME's compiled stylesheets (compiled/KEY.xsl), one after another. */
static char *
compiled_text(const char *profiles, const char *name)
{
    char *cdir = cg_xasprintf("%s/%s/compiled", profiles, name);
    cg_buf b;
    cg_buf_init(&b, (size_t)1 << 26);
    DIR *d = opendir(cdir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l <= 4 || strcmp(e->d_name + l - 4, ".xsl") != 0)
            continue;
        char *f = cg_fs_join(cdir, e->d_name);
        char *data = NULL;
        size_t len = 0;
        cg_err err;
        cg_err_init(&err);
        CU_ASSERT_EQUAL(cg_fs_read(&data, &len, f, (size_t)1 << 24, &err), CG_OK);
        if (data)
            cg_buf_append(&b, data, len);
        free(data);
        free(f);
    }
    if (d)
        closedir(d);
    free(cdir);
    return cg_buf_detach(&b);
}

static char *
list_text(const char *profiles, int *listed)
{
    char *text = NULL;
    size_t len = 0;
    cg_err err;
    cg_err_init(&err);
    FILE *f = open_memstream(&text, &len);
    *listed = cg_profile_list(f, profiles, &err);
    fclose(f);
    return text;
}

/* ---- manifests ------------------------------------------------------------------------------ */

static int
parse(cg_manifest *m, const char *text, cg_err *err)
{
    cg_err_init(err);
    return cg_manifest_parse(m, text, "m.manifest", err);
}

static void
test_manifest_good(void)
{
    cg_manifest m;
    cg_err err;
    const char *text = "# a comment\n"
                       "\n"
                       "profile tiny-test\n"
                       "title A tiny profile\r\n"
                       "root urn:hl7-org:v3 ClinicalDocument\n"
                       "xsd schema/cda.xsd\n"
                       "schematron schematron/tiny.sch\n"
                       "phase errors error\n"
                       "phase warnings warning\n"
                       "file " HEX64 " schema/cda.xsd\n"
                       "  file " HEX64 " schematron/tiny.sch\n"
                       "file " HEX64 " schematron/voc.xml"; /* no final newline */
    CU_ASSERT_EQUAL_FATAL(parse(&m, text, &err), CG_OK);
    CU_ASSERT_STRING_EQUAL(m.name, "tiny-test");
    CU_ASSERT_STRING_EQUAL(m.title, "A tiny profile"); /* CR of a CRLF line dropped */
    CU_ASSERT_STRING_EQUAL(m.root_ns, "urn:hl7-org:v3");
    CU_ASSERT_STRING_EQUAL(m.root_name, "ClinicalDocument");
    CU_ASSERT_STRING_EQUAL(m.xsd, "schema/cda.xsd");
    CU_ASSERT_STRING_EQUAL(m.schematron, "schematron/tiny.sch");
    CU_ASSERT_EQUAL_FATAL(m.nphases, 2);
    CU_ASSERT_STRING_EQUAL(m.phase_severity[0], "errors");
    CU_ASSERT_STRING_EQUAL(m.phase_severity[1], "error");
    CU_ASSERT_STRING_EQUAL(m.phase_severity[2], "warnings");
    CU_ASSERT_STRING_EQUAL(m.phase_severity[3], "warning");
    CU_ASSERT_PTR_NULL(m.phase_severity[4]);
    CU_ASSERT_EQUAL_FATAL(m.nfiles, 3);
    CU_ASSERT_STRING_EQUAL(m.files[2].path, "schematron/voc.xml");
    CU_ASSERT_STRING_EQUAL(m.files[2].sha256, HEX64);
    cg_manifest_dispose(&m);
}

/* A manifest made of the good lines with `line` inserted as line 3. */
static void
expect_bad(const char *line, const char *want1, const char *want2)
{
    cg_manifest m;
    cg_err err;
    char *text = cg_xasprintf("profile tiny-test\n"
                              "xsd schema/cda.xsd\n"
                              "%s\n"
                              "file " HEX64 " schema/cda.xsd\n",
                              line);
    CU_ASSERT_EQUAL(parse(&m, text, &err), CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want1));
    if (want2)
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want2));
    if (strstr(err.msg, want1) == NULL || (want2 && strstr(err.msg, want2) == NULL))
        fprintf(stderr, "\nmanifest line '%s': unexpected message: %s\n", line, err.msg);
    /* nothing half-parsed is left for the caller */
    CU_ASSERT_PTR_NULL(m.name);
    CU_ASSERT_EQUAL(m.nfiles, 0);
    free(text);
}

static void
test_manifest_bad_hash(void)
{
    /* 63 hex digits; a digit that is not hex */
    expect_bad("file " "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
               " schematron/tiny.sch",
               "m.manifest:3:", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde");
    expect_bad("file " "z123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
               " schematron/tiny.sch",
               "m.manifest:3:", "z123456789abcdef");
}

static void
test_manifest_dotdot_path(void)
{
    /* the message names the line, says why, and quotes the whole line */
    expect_bad("file " HEX64 " schematron/../../etc/passwd", "m.manifest:3: the path must be relative",
               "schematron/../../etc/passwd'");
    expect_bad("schematron ../tiny.sch", "m.manifest:3:", "../tiny.sch");
}

static void
test_manifest_absolute_path(void)
{
    expect_bad("file " HEX64 " /etc/passwd", "m.manifest:3: the path must be relative",
               " /etc/passwd'");
    expect_bad("schematron /etc/tiny.sch", "m.manifest:3:", "'schematron /etc/tiny.sch'");
}

static void
test_manifest_missing_profile(void)
{
    cg_manifest m;
    cg_err err;
    CU_ASSERT_EQUAL(parse(&m, "title no name\nfile " HEX64 " a.sch\n", &err), CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "m.manifest: no 'profile' line"));
}

static void
test_manifest_xsd_not_listed(void)
{
    cg_manifest m;
    cg_err err;
    CU_ASSERT_EQUAL(parse(&m, "profile p\nxsd schema/cda.xsd\nfile " HEX64 " schema/other.xsd\n",
                          &err),
                    CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "the xsd schema/cda.xsd is not listed as a file"));
}

static void
test_manifest_unknown_key(void)
{
    expect_bad("frobnicate yes", "m.manifest:3:", "'frobnicate yes'");
}

static void
test_manifest_file_line_messages(void)
{
    /* each bad file line says what is wrong with it, and quotes it */
    expect_bad("file " HEX64 " ../x", "m.manifest:3: the path must be relative",
               "'file " HEX64 " ../x'");
    expect_bad("file 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
               " schema/cda.xsd",
               "m.manifest:3: the SHA-256 must be 64 lowercase hex digits",
               "'file 0123456789ABCDEF");
    expect_bad("file nothex schema/cda.xsd", "64 lowercase hex digits",
               "'file nothex schema/cda.xsd'");
    /* expect_bad's own file line follows as line 4: the same path a second time */
    expect_bad("file " HEX64 " schema/cda.xsd", "m.manifest:4: the file is listed twice",
               "'file " HEX64 " schema/cda.xsd'");
}

/* ---- install, list, open -------------------------------------------------------------------- */

static void
test_install_list_open(void)
{
    char *tmp = cg_test_tmpdir();
    cg_install_stats stats;
    char *profiles = install_fixture(tmp, &stats);
    CU_ASSERT_EQUAL(stats.files, 3);
    CU_ASSERT(stats.bytes > 0);
    CU_ASSERT_EQUAL(stats.sch.patterns, 3);
    CU_ASSERT_EQUAL(stats.sch.asserts, 4);
    CU_ASSERT_EQUAL(stats.sch.inlined_lookups, 1);

    char *installed = cg_xasprintf("%s/" PROFILE "/schematron/valuesets.xml", profiles);
    CU_ASSERT(cg_fs_is_file(installed));
    free(installed);
    char *entries = dir_entries(profiles);
    CU_ASSERT_STRING_EQUAL(entries, PROFILE "\n"); /* no staging or old directories left */
    free(entries);

    int listed;
    char *text = list_text(profiles, &listed);
    CU_ASSERT_EQUAL(listed, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, PROFILE));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "Tiny synthetic profile for unit tests"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "schematron/tiny.sch (compiled)"));
    free(text);

    cg_profile *p = NULL;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_profile_open(&p, profiles, PROFILE, &err), CG_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->compiled_now, 0); /* compiled at install */
    CU_ASSERT_PTR_NOT_NULL(p->xsd);
    CU_ASSERT_PTR_NOT_NULL(p->schematron);
    CU_ASSERT_STRING_EQUAL(p->manifest.name, PROFILE);
    CU_ASSERT_STRING_EQUAL(p->manifest.root_name, "ClinicalDocument");
    cg_profile_free(p);
    free(profiles);
    free(tmp);
}

static void
test_compiled_cache(void)
{
    char *tmp = cg_test_tmpdir();
    char *profiles = install_fixture(tmp, NULL);
    cg_profile *p = NULL;
    cg_err err;
    int listed;

    CU_ASSERT_EQUAL(remove_compiled(profiles, PROFILE), 1);
    char *text = list_text(profiles, &listed);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "(not compiled yet)"));
    free(text);

    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_profile_open(&p, profiles, PROFILE, &err), CG_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->compiled_now, 1);
    CU_ASSERT_PTR_NOT_NULL(p->schematron);
    cg_profile_free(p);

    text = list_text(profiles, &listed);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "(compiled)"));
    free(text);

    p = NULL;
    CU_ASSERT_EQUAL(cg_profile_open(&p, profiles, PROFILE, &err), CG_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->compiled_now, 0);
    cg_profile_free(p);
    free(profiles);
    free(tmp);
}

static void
test_install_tampered_source(void)
{
    char *tmp = cg_test_tmpdir();
    /* a good install first: a failed reinstall must leave it as it was */
    char *profiles = install_fixture(tmp, NULL);
    char *pristine = cg_test_fixture("profile/src");
    char *manifest = write_manifest(tmp, pristine);
    char *src = copy_source(tmp);
    char *voc = cg_fs_join(src, "schematron/valuesets.xml");
    tamper(voc);

    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_profile_install(profiles, manifest, src, NULL, &err), CG_EINTEGRITY);
    CU_ASSERT_EQUAL(err.code, CG_EINTEGRITY);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "schematron/valuesets.xml"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "does not match"));
    char *entries = dir_entries(profiles);
    CU_ASSERT_STRING_EQUAL(entries, PROFILE "\n"); /* no staging directory */
    free(entries);
    cg_profile *p = NULL;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_profile_open(&p, profiles, PROFILE, &err), CG_OK);
    cg_profile_free(p);

    /* into an empty profile directory: nothing at all is created */
    char *fresh = cg_fs_join(tmp, "fresh");
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_fs_mkdirs(fresh, &err), CG_OK);
    CU_ASSERT_EQUAL(cg_profile_install(fresh, manifest, src, NULL, &err), CG_EINTEGRITY);
    entries = dir_entries(fresh);
    CU_ASSERT_STRING_EQUAL(entries, "");
    free(entries);

    free(fresh);
    free(voc);
    free(src);
    free(manifest);
    free(pristine);
    free(profiles);
    free(tmp);
}

static void
test_install_failing_compile_leaves_nothing(void)
{
    /* the hashes match (the manifest is written for this copy), but the Schematron does not
     * compile: the install fails after staging, and the staging directory goes away */
    char *tmp = cg_test_tmpdir();
    char *src = copy_source(tmp);
    char *sch = cg_fs_join(src, "schematron/tiny.sch");
    static const char bad[] =
        "<sch:schema xmlns:sch='http://purl.oclc.org/dsdl/schematron'>\n"
        "<sch:pattern id='p'><sch:rule context='*'>\n"
        "<sch:extends rule='missing'/>\n"
        "</sch:rule></sch:pattern></sch:schema>\n";
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_fs_write_atomic(sch, bad, sizeof bad - 1, &err), CG_OK);
    char *manifest = write_manifest(tmp, src);
    char *profiles = cg_fs_join(tmp, "profiles");
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_profile_install(profiles, manifest, src, NULL, &err), CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "schematron line 3:"));
    char *entries = dir_entries(profiles);
    CU_ASSERT_STRING_EQUAL(entries, "");
    free(entries);
    free(profiles);
    free(manifest);
    free(sch);
    free(src);
    free(tmp);
}

static void
test_open_tampered_install(void)
{
    char *tmp = cg_test_tmpdir();
    char *profiles = install_fixture(tmp, NULL);
    char *xsd = cg_xasprintf("%s/" PROFILE "/schema/cda.xsd", profiles);
    tamper(xsd);
    cg_profile *p = NULL;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_profile_open(&p, profiles, PROFILE, &err), CG_EINTEGRITY);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "schema/cda.xsd"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "does not match"));
    free(xsd);
    free(profiles);
    free(tmp);
}

/* The lookup-test profile: one document() look-up that is not inlined (tests/fixtures/profile/
 * lookup). */
#define LOOKUP "lookup-test"

static const char *const lookup_files[] = {"schematron/lookup.sch", "schematron/valuesets.xml", NULL};

/* Validates TEXT with profile p; returns the report's summary "id location line" lines, or
 * "(error: MESSAGE)" when the call fails (free() it). */
static char *
validate_summary(const cg_profile *p, const char *text)
{
    cg_validator_options o;
    cg_report r;
    cg_err err;
    cg_buf b;
    cg_validator_options_default(&o);
    o.profile = p;
    cg_err_init(&err);
    cg_report_init(&r, "doc.xml");
    cg_buf_init(&b, 65536);
    int rc = cg_validate_memory(&o, text, strlen(text), &r, &err);
    if (rc != CG_OK)
        cg_buf_printf(&b, "(error: %s)", err.msg);
    else {
        CU_ASSERT_EQUAL(r.schematron, CG_CHECK_RAN);
        for (size_t i = 0; i < r.n; i++)
            cg_buf_printf(&b, "%s %s %ld: %s\n", r.v[i].id ? r.v[i].id : "-",
                          r.v[i].location ? r.v[i].location : "-", r.v[i].line, r.v[i].message);
    }
    cg_report_dispose(&r);
    return cg_buf_detach(&b);
}

static void
lookup_finds(const cg_profile *p)
{
    /* 34133-9 is in value set .77; 11506-3 is only in .78 */
    char *in_set = validate_summary(p, "<ClinicalDocument xmlns='urn:hl7-org:v3'>\n"
                                       "  <code code='34133-9'/>\n"
                                       "</ClinicalDocument>\n");
    char *not_in_set = validate_summary(p, "<ClinicalDocument xmlns='urn:hl7-org:v3'>\n"
                                           "  <code code='11506-3'/>\n"
                                           "</ClinicalDocument>\n");
    CU_ASSERT_STRING_EQUAL(in_set, "");
    CU_ASSERT_STRING_EQUAL(not_in_set, "doc-code-vs /ClinicalDocument[1]/code[1] 2: The document "
                                       "code 11506-3 SHALL be from value set "
                                       "2.16.840.1.113883.1.11.77.\n");
    if (strcmp(in_set, "") != 0 || strstr(not_in_set, "doc-code-vs") == NULL)
        fprintf(stderr, "\nin the set:\n%s\nnot in the set:\n%s\n", in_set, not_in_set);
    free(in_set);
    free(not_in_set);
}

static void
test_install_lookup_not_inlined(void)
{
    char *tmp = cg_test_tmpdir();
    char *src = cg_test_fixture("profile/lookup");
    char *manifest = write_manifest_as(tmp, src, LOOKUP,
                                       "profile " LOOKUP "\n"
                                       "title A value-set look-up through a variable\n"
                                       "root urn:hl7-org:v3 ClinicalDocument\n"
                                       "schematron schematron/lookup.sch\n",
                                       lookup_files);
    char *profiles = cg_fs_join(tmp, "profiles");
    cg_install_stats stats;
    cg_profile *p = NULL;
    cg_err err;
    cg_err_init(&err);
    int rc = manifest ? cg_profile_install(profiles, manifest, src, &stats, &err) : CG_EINVAL;
    CU_ASSERT_EQUAL(rc, CG_OK);
    if (rc != CG_OK) {
        fprintf(stderr, "\ncg_profile_install: %s\n", err.msg);
        goto done;
    }
    CU_ASSERT_EQUAL(stats.sch.inlined_lookups, 0); /* its predicate uses $vs */

    /* compiled in the staging directory, which the install then renames: the stylesheet must
     * find valuesets.xml in the installed profile */
    char *xsl = compiled_text(profiles, LOOKUP);
    CU_ASSERT_PTR_NOT_NULL(strstr(xsl, "valuesets.xml"));
    CU_ASSERT_PTR_NULL(strstr(xsl, ".staging"));
    free(xsl);
    char *entries = dir_entries(profiles);
    CU_ASSERT_STRING_EQUAL(entries, LOOKUP "\n");
    free(entries);

    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_profile_open(&p, profiles, LOOKUP, &err), CG_OK);
    CU_ASSERT_PTR_NOT_NULL(p);
    if (p) {
        CU_ASSERT_EQUAL(p->compiled_now, 0);
        lookup_finds(p);
        cg_profile_free(p);
        p = NULL;
    }

    /* compiled again by open, in the installed directory: the same */
    CU_ASSERT_EQUAL(remove_compiled(profiles, LOOKUP), 1);
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_profile_open(&p, profiles, LOOKUP, &err), CG_OK);
    CU_ASSERT_PTR_NOT_NULL(p);
    if (p) {
        CU_ASSERT_EQUAL(p->compiled_now, 1);
        lookup_finds(p);
        cg_profile_free(p);
    }
done:
    free(profiles);
    free(manifest);
    free(src);
    free(tmp);
}

static void
test_open_not_installed(void)
{
    char *tmp = cg_test_tmpdir();
    cg_profile *p = NULL;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_profile_open(&p, tmp, "no-such-profile", &err), CG_ENOTFOUND);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'no-such-profile' is not installed"));
    free(tmp);
}

void
cg_test_register_profile(void)
{
    CU_pSuite s = CU_add_suite("validate/profile", NULL, NULL);
    CU_add_test(s, "manifest: a good one is read completely", test_manifest_good);
    CU_add_test(s, "manifest: bad SHA-256 hex refused", test_manifest_bad_hash);
    CU_add_test(s, "manifest: path with '..' refused", test_manifest_dotdot_path);
    CU_add_test(s, "manifest: absolute path refused", test_manifest_absolute_path);
    CU_add_test(s, "manifest: no 'profile' line refused", test_manifest_missing_profile);
    CU_add_test(s, "manifest: xsd not listed as a file refused", test_manifest_xsd_not_listed);
    CU_add_test(s, "manifest: unknown key refused", test_manifest_unknown_key);
    CU_add_test(s, "manifest: a bad file line says why and quotes the line",
                test_manifest_file_line_messages);
    CU_add_test(s, "install, list, open (compiled at install)", test_install_list_open);
    CU_add_test(s, "compiled Schematron cache rebuilt once when deleted", test_compiled_cache);
    CU_add_test(s, "tampered source: CG_EINTEGRITY, nothing installed or left",
                test_install_tampered_source);
    CU_add_test(s, "Schematron that does not compile: no staging left",
                test_install_failing_compile_leaves_nothing);
    CU_add_test(s, "installed file changed later: open refuses", test_open_tampered_install);
    CU_add_test(s, "profile not installed: CG_ENOTFOUND", test_open_not_installed);
    CU_add_test(s, "document() not inlined finds its value sets in the installed profile",
                test_install_lookup_not_inlined);
}
