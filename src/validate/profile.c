/* profile: see profile.h. */
#define _POSIX_C_SOURCE 200809L
#include "validate/profile.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/fs.h"
#include "util/hash.h"

#ifndef CG_PROFILE_DIR
#define CG_PROFILE_DIR "/var/lib/cdagate/profiles"
#endif
#ifndef CG_DATADIR
#define CG_DATADIR "/usr/share/cdagate"
#endif

#define MANIFEST_MAX ((size_t)1 << 20)
#define MANIFEST_LINE_MAX 4096
#define MANIFEST_FILES_MAX 10000
#define PROFILE_FILE_MAX ((size_t)512 << 20)
#define COMPILED_MAX ((size_t)256 << 20)

/* ---- manifests ----------------------------------------------------------------------------- */

void
cg_manifest_dispose(cg_manifest *m)
{
    free(m->name);
    free(m->title);
    free(m->root_ns);
    free(m->root_name);
    free(m->xsd);
    free(m->schematron);
    for (size_t i = 0; m->phase_severity && m->phase_severity[i]; i++)
        free(m->phase_severity[i]);
    free(m->phase_severity);
    for (size_t i = 0; i < m->nfiles; i++)
        free(m->files[i].path);
    free(m->files);
    memset(m, 0, sizeof *m);
}

static int
safe_relative_path(const char *p)
{
    if (*p == '\0' || *p == '/' || strstr(p, "..") || strchr(p, '\\'))
        return 0;
    for (; *p; p++)
        if ((unsigned char)*p < 0x20)
            return 0;
    return 1;
}

static int
is_hex64(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return 0;
    return n == 64;
}

static const cg_manifest_file *
manifest_file(const cg_manifest *m, const char *path)
{
    for (size_t i = 0; i < m->nfiles; i++)
        if (strcmp(m->files[i].path, path) == 0)
            return &m->files[i];
    return NULL;
}

int
cg_manifest_parse(cg_manifest *out, const char *text, const char *origin, cg_err *err)
{
    int rc = CG_OK, lineno = 0;
    size_t phcap = 0;
    memset(out, 0, sizeof *out);
    const char *p = text;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        lineno++;
        if (len >= MANIFEST_LINE_MAX) {
            rc = cg_err_set(err, CG_ETOOBIG, "%s:%d: line longer than %d bytes", origin, lineno,
                            MANIFEST_LINE_MAX);
            goto done;
        }
        char line[MANIFEST_LINE_MAX];
        memcpy(line, p, len);
        line[len] = '\0';
        p = eol ? eol + 1 : p + len;
        if (len && line[len - 1] == '\r')
            line[--len] = '\0';
        char original[MANIFEST_LINE_MAX];
        memcpy(original, line, len + 1);
        const char *why = "unknown key or repeated line";
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '\0' || *s == '#')
            continue;
        char *key = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
        if (*s)
            *s++ = '\0';
        while (*s == ' ' || *s == '\t')
            s++;
        char *rest = s;
        if (strcmp(key, "profile") == 0 && *rest && !out->name) {
            out->name = cg_xstrdup(rest);
        } else if (strcmp(key, "title") == 0 && !out->title) {
            out->title = cg_xstrdup(rest);
        } else if (strcmp(key, "root") == 0 && !out->root_ns) {
            char *sp = strchr(rest, ' ');
            why = "expected 'root NAMESPACE-URI LOCAL-NAME'";
            if (sp == NULL)
                goto bad;
            *sp = '\0';
            out->root_ns = cg_xstrdup(rest);
            out->root_name = cg_xstrdup(sp + 1);
        } else if ((strcmp(key, "xsd") == 0 || strcmp(key, "schematron") == 0) &&
                   !safe_relative_path(rest)) {
            why = "the path must be relative, without '..'";
            goto bad;
        } else if (strcmp(key, "xsd") == 0 && !out->xsd) {
            out->xsd = cg_xstrdup(rest);
        } else if (strcmp(key, "schematron") == 0 && !out->schematron) {
            out->schematron = cg_xstrdup(rest);
        } else if (strcmp(key, "phase") == 0) {
            char *sp = strchr(rest, ' ');
            why = "expected 'phase PHASE-ID error|warning|info'";
            if (sp == NULL)
                goto bad;
            *sp = '\0';
            const char *sev = sp + 1;
            if (strcmp(sev, "error") && strcmp(sev, "warning") && strcmp(sev, "info"))
                goto bad;
            out->phase_severity =
                cg_xgrow(out->phase_severity, &phcap, 2 * out->nphases + 3, sizeof(char *));
            out->phase_severity[2 * out->nphases] = cg_xstrdup(rest);
            out->phase_severity[2 * out->nphases + 1] = cg_xstrdup(sev);
            out->phase_severity[2 * out->nphases + 2] = NULL;
            out->nphases++;
        } else if (strcmp(key, "file") == 0) {
            char *sp = strchr(rest, ' ');
            why = "expected 'file SHA256 PATH'";
            if (sp == NULL)
                goto bad;
            *sp = '\0';
            char *path = sp + 1;
            why = !is_hex64(rest)            ? "the SHA-256 must be 64 lowercase hex digits"
                  : !safe_relative_path(path) ? "the path must be relative, without '..'"
                  : manifest_file(out, path)  ? "the file is listed twice"
                                              : NULL;
            if (why)
                goto bad;
            if (out->nfiles >= MANIFEST_FILES_MAX) {
                rc = cg_err_set(err, CG_ETOOBIG, "%s: more than %d files", origin,
                                MANIFEST_FILES_MAX);
                goto done;
            }
            out->files = cg_xgrow(out->files, &out->cap, out->nfiles + 1, sizeof *out->files);
            out->files[out->nfiles].path = cg_xstrdup(path);
            memcpy(out->files[out->nfiles].sha256, rest, 65);
            out->nfiles++;
        } else
            goto bad;
        continue;
    bad:
        rc = cg_err_set(err, CG_EINVAL, "%s:%d: %s: '%.200s'", origin, lineno, why, original);
        goto done;
    }
    if (out->name == NULL)
        rc = cg_err_set(err, CG_EINVAL, "%s: no 'profile' line", origin);
    else if (out->xsd && !manifest_file(out, out->xsd))
        rc = cg_err_set(err, CG_EINVAL, "%s: the xsd %s is not listed as a file", origin, out->xsd);
    else if (out->schematron && !manifest_file(out, out->schematron))
        rc = cg_err_set(err, CG_EINVAL, "%s: the schematron %s is not listed as a file", origin,
                        out->schematron);
done:
    if (rc != CG_OK)
        cg_manifest_dispose(out);
    return rc;
}

int
cg_manifest_load(cg_manifest *out, const char *path, cg_err *err)
{
    char *text = NULL;
    size_t len = 0;
    memset(out, 0, sizeof *out);
    int rc = cg_fs_read(&text, &len, path, MANIFEST_MAX, err);
    if (rc == CG_OK) {
        if (memchr(text, '\0', len))
            rc = cg_err_set(err, CG_EINVAL, "%s: not a text file", path);
        else
            rc = cg_manifest_parse(out, text, path, err);
    }
    free(text);
    return rc;
}

void
cg_manifest_cache_key(const cg_manifest *m, char out[65])
{
    cg_sha256 h;
    cg_sha256_init(&h);
    cg_sha256_update(&h, CG_SCH_COMPILER_VERSION "\n", strlen(CG_SCH_COMPILER_VERSION) + 1);
    for (size_t i = 0; i < m->nfiles; i++) {
        cg_sha256_update(&h, m->files[i].sha256, 64);
        cg_sha256_update(&h, m->files[i].path, strlen(m->files[i].path) + 1);
    }
    for (size_t i = 0; m->phase_severity && m->phase_severity[i]; i++)
        cg_sha256_update(&h, m->phase_severity[i], strlen(m->phase_severity[i]) + 1);
    if (m->schematron)
        cg_sha256_update(&h, m->schematron, strlen(m->schematron) + 1);
    cg_sha256_final(&h, out);
}

/* ---- locations ----------------------------------------------------------------------------- */

const char *
cg_profile_dir(const char *arg)
{
    if (arg && *arg)
        return arg;
    const char *env = getenv("CDAGATE_PROFILE_DIR");
    if (env && *env)
        return env;
    return CG_PROFILE_DIR;
}

static int
valid_profile_name(const char *name)
{
    if (name == NULL || *name == '\0' || strlen(name) > 64 || name[0] == '.')
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == '_'))
            return 0;
    return 1;
}

char *
cg_profile_find_manifest(const char *name)
{
    if (!valid_profile_name(name))
        return NULL;
    const char *dirs[4] = {getenv("CDAGATE_MANIFEST_DIR"), CG_DATADIR "/profiles", NULL, NULL};
#ifdef CG_SRCDIR
    dirs[2] = CG_SRCDIR "/schemas/profiles";
#endif
    for (size_t i = 0; i < 3; i++) {
        if (dirs[i] == NULL || *dirs[i] == '\0')
            continue;
        char *path = cg_xasprintf("%s/%s.manifest", dirs[i], name);
        if (cg_fs_is_file(path))
            return path;
        free(path);
    }
    return NULL;
}

/* ---- install ------------------------------------------------------------------------------- */

static int
verify_files(const cg_manifest *m, const char *dir, unsigned long long *bytes, cg_err *err)
{
    for (size_t i = 0; i < m->nfiles; i++) {
        char *path = cg_fs_join(dir, m->files[i].path);
        char got[65];
        int rc = cg_sha256_file(got, path, err);
        if (rc == CG_OK && strcmp(got, m->files[i].sha256) != 0)
            rc = cg_err_set(err, CG_EINTEGRITY,
                            "%s: SHA-256 %s does not match the manifest of profile '%s' (%s)", path,
                            got, m->name, m->files[i].sha256);
        else if (rc == CG_ENOTFOUND) {
            err->msg[0] = '\0';
            rc = cg_err_set(err, CG_ENOTFOUND, "%s: missing (profile '%s' needs it)", path, m->name);
        }
        if (rc == CG_OK && bytes) {
            FILE *f = fopen(path, "rb");
            if (f) {
                fseek(f, 0, SEEK_END);
                *bytes += (unsigned long long)ftell(f);
                fclose(f);
            }
        }
        free(path);
        if (rc != CG_OK)
            return rc;
    }
    return CG_OK;
}

static double
now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *
compiled_path(const char *dir, const cg_manifest *m)
{
    char key[65];
    cg_manifest_cache_key(m, key);
    return cg_xasprintf("%s/compiled/%s.xsl", dir, key);
}

/* Compiles the profile's Schematron (files already in dir) into the cache. */
static int
build_compiled(const char *dir, const cg_manifest *m, cg_sch_stats *stats, cg_err *err)
{
    int rc = CG_OK;
    cg_buf text;
    cg_buf_init(&text, COMPILED_MAX);
    char *sch = cg_fs_join(dir, m->schematron);
    char *sch_dir = cg_xstrdup(sch);
    char *slash = strrchr(sch_dir, '/');
    if (slash)
        *slash = '\0';
    char *cdir = cg_fs_join(dir, "compiled");
    char *out = compiled_path(dir, m);
    /* the stylesheet is compiled in the staging directory and run from DIR/compiled/: point
     * document() relative to that, never at the staging path */
    char *link = cg_xstrdup(m->schematron);
    char *ls = strrchr(link, '/');
    char *link_base = ls ? (*ls = '\0', cg_xasprintf("../%s", link)) : cg_xstrdup("..");
    free(link);
    cg_sch_options opt = {.base_dir = sch_dir, .link_base = link_base,
                          .phase_severity = (const char *const *)m->phase_severity};
    rc = cg_schematron_compile_file(&text, sch, &opt, stats, err);
    if (rc == CG_OK)
        rc = cg_fs_mkdirs(cdir, err);
    if (rc == CG_OK)
        rc = cg_fs_write_atomic(out, text.data, text.len, err);
    free(link_base);
    free(out);
    free(cdir);
    free(sch_dir);
    free(sch);
    cg_buf_dispose(&text);
    return rc;
}

int
cg_profile_install(const char *profile_dir, const char *manifest_path, const char *from_dir,
                   cg_install_stats *stats, cg_err *err)
{
    cg_manifest m;
    cg_install_stats local;
    char *stage = NULL, *final = NULL, *old = NULL;
    int rc = cg_manifest_load(&m, manifest_path, err);
    if (stats == NULL)
        stats = &local;
    memset(stats, 0, sizeof *stats);
    if (rc != CG_OK)
        return rc;
    if (!valid_profile_name(m.name)) {
        rc = cg_err_set(err, CG_EINVAL, "%s: profile name '%s' is not allowed", manifest_path, m.name);
        goto done;
    }
    if (!cg_fs_is_dir(from_dir)) {
        rc = cg_err_set(err, CG_ENOTFOUND, "%s: not a directory", from_dir);
        goto done;
    }
    rc = verify_files(&m, from_dir, &stats->bytes, err);
    if (rc != CG_OK)
        goto done;
    stats->files = m.nfiles;
    rc = cg_fs_mkdirs(profile_dir, err);
    if (rc != CG_OK)
        goto done;
    stage = cg_xasprintf("%s/.%s.staging-%ld", profile_dir, m.name, (long)getpid());
    final = cg_xasprintf("%s/%s", profile_dir, m.name);
    old = cg_xasprintf("%s/.%s.old-%ld", profile_dir, m.name, (long)getpid());
    cg_fs_remove_tree(stage, NULL);
    for (size_t i = 0; i < m.nfiles && rc == CG_OK; i++) {
        char *src = cg_fs_join(from_dir, m.files[i].path);
        char *dst = cg_fs_join(stage, m.files[i].path);
        char *parent = cg_xstrdup(dst);
        *strrchr(parent, '/') = '\0';
        rc = cg_fs_mkdirs(parent, err);
        if (rc == CG_OK)
            rc = cg_fs_copy(src, dst, PROFILE_FILE_MAX, err);
        free(parent);
        free(dst);
        free(src);
    }
    /* the copies are checked again: what is installed is what the manifest names */
    if (rc == CG_OK)
        rc = verify_files(&m, stage, NULL, err);
    if (rc == CG_OK) {
        char *dst = cg_fs_join(stage, "manifest");
        rc = cg_fs_copy(manifest_path, dst, MANIFEST_MAX, err);
        free(dst);
    }
    if (rc == CG_OK && m.schematron) {
        double t0 = now_seconds();
        rc = build_compiled(stage, &m, &stats->sch, err);
        stats->compile_seconds = now_seconds() - t0;
    }
    if (rc == CG_OK && m.xsd) {
        /* load the schema once now, so a broken schema fails the install, not the first use */
        char *xsd_path = cg_fs_join(stage, m.xsd);
        cg_xsd *x = NULL;
        rc = cg_xsd_load(&x, xsd_path, err);
        cg_xsd_free(x);
        free(xsd_path);
    }
    if (rc != CG_OK)
        goto done;
    if (cg_fs_is_dir(final) && rename(final, old) != 0) {
        rc = cg_err_set(err, CG_EIO, "rename(%s, %s): %s", final, old, strerror(errno));
        goto done;
    }
    if (rename(stage, final) != 0) {
        rc = cg_err_set(err, CG_EIO, "rename(%s, %s): %s", stage, final, strerror(errno));
        rename(old, final);
        goto done;
    }
    cg_fs_remove_tree(old, NULL);
done:
    if (rc != CG_OK && stage)
        cg_fs_remove_tree(stage, NULL);
    free(stage);
    free(final);
    free(old);
    cg_manifest_dispose(&m);
    return rc;
}

static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int
cg_profile_list(FILE *out, const char *profile_dir, cg_err *err)
{
    DIR *d = opendir(profile_dir);
    if (d == NULL) {
        if (errno == ENOENT)
            return 0;
        return cg_err_set(err, CG_EIO, "opendir(%s): %s", profile_dir, strerror(errno));
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        names = cg_xgrow(names, &cap, n + 1, sizeof *names);
        names[n++] = cg_xstrdup(e->d_name);
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_names);
    int listed = 0;
    for (size_t i = 0; i < n; i++) {
        char *dir = cg_fs_join(profile_dir, names[i]);
        char *mpath = cg_fs_join(dir, "manifest");
        cg_manifest m;
        cg_err e2;
        cg_err_init(&e2);
        if (cg_manifest_load(&m, mpath, &e2) == CG_OK) {
            char *cpath = m.schematron ? compiled_path(dir, &m) : NULL;
            fprintf(out, "%-16s %s\n", m.name, m.title ? m.title : "");
            fprintf(out, "%-16s   directory:  %s\n", "", dir);
            fprintf(out, "%-16s   xsd:        %s\n", "", m.xsd ? m.xsd : "(none)");
            fprintf(out, "%-16s   schematron: %s (%s)\n", "", m.schematron ? m.schematron : "(none)",
                    cpath == NULL            ? "-"
                    : cg_fs_is_file(cpath) ? "compiled"
                                           : "not compiled yet");
            fprintf(out, "%-16s   files:      %zu\n", "", m.nfiles);
            free(cpath);
            cg_manifest_dispose(&m);
            listed++;
        }
        free(mpath);
        free(dir);
        free(names[i]);
    }
    free(names);
    return listed;
}

/* ---- open ---------------------------------------------------------------------------------- */

void
cg_profile_free(cg_profile *p)
{
    if (p == NULL)
        return;
    cg_xsd_free(p->xsd);
    cg_schematron_free(p->schematron);
    cg_manifest_dispose(&p->manifest);
    free(p->dir);
    free(p);
}

int
cg_profile_open(cg_profile **out, const char *profile_dir, const char *name, cg_err *err)
{
    int rc = CG_OK;
    char *text = NULL, *mpath = NULL, *cpath = NULL;
    size_t len = 0;
    *out = NULL;
    if (!valid_profile_name(name))
        return cg_err_set(err, CG_EINVAL, "'%s' is not a profile name", name ? name : "");
    cg_profile *p = cg_xcalloc(1, sizeof *p);
    p->dir = cg_xasprintf("%s/%s", profile_dir, name);
    mpath = cg_fs_join(p->dir, "manifest");
    if (!cg_fs_is_file(mpath)) {
        rc = cg_err_set(err, CG_ENOTFOUND, "validation profile '%s' is not installed in %s", name,
                        profile_dir);
        goto done;
    }
    rc = cg_manifest_load(&p->manifest, mpath, err);
    if (rc == CG_OK)
        rc = verify_files(&p->manifest, p->dir, NULL, err);
    if (rc != CG_OK)
        goto done;
    if (p->manifest.xsd) {
        char *x = cg_fs_join(p->dir, p->manifest.xsd);
        rc = cg_xsd_load(&p->xsd, x, err);
        free(x);
        if (rc != CG_OK)
            goto done;
    }
    if (p->manifest.schematron) {
        cpath = compiled_path(p->dir, &p->manifest);
        if (!cg_fs_is_file(cpath)) {
            rc = build_compiled(p->dir, &p->manifest, NULL, err);
            if (rc != CG_OK)
                goto done;
            p->compiled_now = 1;
        }
        rc = cg_fs_read(&text, &len, cpath, COMPILED_MAX, err);
        if (rc == CG_OK)
            rc = cg_schematron_load(&p->schematron, text, len, cpath, err);
        if (rc != CG_OK)
            goto done;
    }
    *out = p;
    p = NULL;
done:
    cg_profile_free(p);
    free(text);
    free(mpath);
    free(cpath);
    return rc;
}
