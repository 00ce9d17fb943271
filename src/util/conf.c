/* conf: configuration files of "key = value" lines (see conf.h). */
#include "util/conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"
#include "util/fs.h"

#define CONF_MAX_BYTES (1u << 20)
#define CONF_MAX_LINE 4096

void cg_conf_init(cg_conf *conf)
{
    memset(conf, 0, sizeof(*conf));
}

void cg_conf_dispose(cg_conf *conf)
{
    for (size_t i = 0; i < conf->n; i++) {
        free(conf->v[i].key);
        free(conf->v[i].value);
    }
    free(conf->v);
    free(conf->origin);
    memset(conf, 0, sizeof(*conf));
}

static cg_conf_entry *conf_find(const cg_conf *conf, const char *key)
{
    for (size_t i = 0; i < conf->n; i++)
        if (strcmp(conf->v[i].key, key) == 0)
            return &conf->v[i];
    return NULL;
}

static char *conf_trim(char *s, char *end)
{
    while (s < end && isspace((unsigned char)*s))
        s++;
    while (end > s && isspace((unsigned char)end[-1]))
        end--;
    *end = '\0';
    return s;
}

static void conf_add(cg_conf *conf, const char *key, const char *value, int line)
{
    conf->v = cg_xgrow(conf->v, &conf->cap, conf->n + 1, sizeof(*conf->v));
    cg_conf_entry *e = &conf->v[conf->n++];
    e->key = cg_xstrdup(key);
    e->value = cg_xstrdup(value);
    e->line = line;
    e->used = 0;
}

int cg_conf_parse(cg_conf *conf, const char *text, const char *origin, cg_err *err)
{
    free(conf->origin);
    conf->origin = cg_xstrdup(origin);
    char section[128] = "";
    int lineno = 0;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        if (len >= CONF_MAX_LINE)
            return cg_err_set(err, CG_EINVAL, "%s:%d: line longer than %d bytes", origin, lineno,
                              CONF_MAX_LINE);
        char line[CONF_MAX_LINE];
        memcpy(line, p, len);
        line[len] = '\0';
        p = nl ? nl + 1 : p + len;
        char *s = conf_trim(line, line + len);
        if (*s == '\0' || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (!close || close[1] != '\0' || close == s + 1 || (size_t)(close - s) >= sizeof(section))
                return cg_err_set(err, CG_EINVAL, "%s:%d: bad section header \"%s\"", origin,
                                  lineno, s);
            *close = '\0';
            char *name = conf_trim(s + 1, close);
            memcpy(section, name, strlen(name) + 1);
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq)
            return cg_err_set(err, CG_EINVAL, "%s:%d: expected \"key = value\", got \"%s\"",
                              origin, lineno, s);
        *eq = '\0';
        char *key = conf_trim(s, eq);
        char *value = conf_trim(eq + 1, eq + 1 + strlen(eq + 1));
        size_t vlen = strlen(value);
        if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
            value[vlen - 1] = '\0';
            value++;
        }
        if (*key == '\0')
            return cg_err_set(err, CG_EINVAL, "%s:%d: empty key", origin, lineno);
        char full[256];
        int n = section[0] ? snprintf(full, sizeof(full), "%s.%s", section, key)
                           : snprintf(full, sizeof(full), "%s", key);
        if (n < 0 || (size_t)n >= sizeof(full))
            return cg_err_set(err, CG_EINVAL, "%s:%d: key too long", origin, lineno);
        cg_conf_entry *dup = conf_find(conf, full);
        if (dup)
            return cg_err_set(err, CG_EINVAL, "%s:%d: %s is already set on line %d", origin,
                              lineno, full, dup->line);
        conf_add(conf, full, value, lineno);
    }
    return CG_OK;
}

int cg_conf_load(cg_conf *conf, const char *path, cg_err *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = cg_fs_read(&text, &len, path, CONF_MAX_BYTES, err);
    if (rc != CG_OK)
        return rc;
    if (memchr(text, '\0', len)) {
        free(text);
        return cg_err_set(err, CG_EINVAL, "%s: not a text file", path);
    }
    rc = cg_conf_parse(conf, text, path, err);
    free(text);
    return rc;
}

void cg_conf_set(cg_conf *conf, const char *key, const char *value)
{
    cg_conf_entry *e = conf_find(conf, key);
    if (e) {
        free(e->value);
        e->value = cg_xstrdup(value);
        e->line = 0;
        return;
    }
    conf_add(conf, key, value, 0);
}

static int conf_bad(const cg_conf *conf, const cg_conf_entry *e, cg_err *err, const char *what)
{
    if (e->line == 0)
        return cg_err_set(err, CG_EINVAL, "option %s: \"%s\" is not %s", e->key, e->value, what);
    return cg_err_set(err, CG_EINVAL, "%s:%d: %s = \"%s\" is not %s", conf->origin, e->line,
                      e->key, e->value, what);
}

int cg_conf_string(const cg_conf *conf, const char *key, const char **out)
{
    cg_conf_entry *e = conf_find(conf, key);
    if (e) {
        e->used = 1;
        *out = e->value;
    }
    return CG_OK;
}

int cg_conf_bool(const cg_conf *conf, const char *key, int *out, cg_err *err)
{
    cg_conf_entry *e = conf_find(conf, key);
    if (!e)
        return CG_OK;
    e->used = 1;
    const char *v = e->value;
    if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcmp(v, "1"))
        *out = 1;
    else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") ||
             !strcmp(v, "0"))
        *out = 0;
    else
        return conf_bad(conf, e, err, "a boolean (true/false)");
    return CG_OK;
}

static int conf_number(const char *v, int suffixes, unsigned long long *out)
{
    if (!isdigit((unsigned char)*v))
        return -1;
    errno = 0;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno)
        return -1;
    unsigned shift = 0;
    if (suffixes && *end) {
        switch (toupper((unsigned char)*end)) {
        case 'K': shift = 10; break;
        case 'M': shift = 20; break;
        case 'G': shift = 30; break;
        default: return -1;
        }
        end++;
        if (toupper((unsigned char)*end) == 'B' || toupper((unsigned char)*end) == 'I')
            end++;
        if (toupper((unsigned char)*end) == 'B')
            end++;
    }
    if (*end)
        return -1;
    if (shift && n > (~0ULL >> shift))
        return -1;
    *out = n << shift;
    return 0;
}

int cg_conf_size(const cg_conf *conf, const char *key, size_t min, size_t max, size_t *out,
                 cg_err *err)
{
    cg_conf_entry *e = conf_find(conf, key);
    if (!e)
        return CG_OK;
    e->used = 1;
    unsigned long long n;
    if (conf_number(e->value, 1, &n) != 0 || n < min || n > max) {
        char what[96];
        snprintf(what, sizeof(what), "a size between %zu and %zu bytes", min, max);
        return conf_bad(conf, e, err, what);
    }
    *out = (size_t)n;
    return CG_OK;
}

int cg_conf_uint(const cg_conf *conf, const char *key, unsigned min, unsigned max, unsigned *out,
                 cg_err *err)
{
    cg_conf_entry *e = conf_find(conf, key);
    if (!e)
        return CG_OK;
    e->used = 1;
    unsigned long long n;
    if (conf_number(e->value, 0, &n) != 0 || n < min || n > max) {
        char what[64];
        snprintf(what, sizeof(what), "a number between %u and %u", min, max);
        return conf_bad(conf, e, err, what);
    }
    *out = (unsigned)n;
    return CG_OK;
}

int cg_conf_check_unused(const cg_conf *conf, cg_err *err)
{
    for (size_t i = 0; i < conf->n; i++)
        if (!conf->v[i].used) {
            if (conf->v[i].line)
                return cg_err_set(err, CG_EINVAL, "%s:%d: unknown key %s", conf->origin,
                                  conf->v[i].line, conf->v[i].key);
            return cg_err_set(err, CG_EINVAL, "unknown option %s", conf->v[i].key);
        }
    return CG_OK;
}
