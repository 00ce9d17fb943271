/* conf: configuration files of "key = value" lines under "[section]" headers.
 * Owns: reading a bounded file into (section.key, value, line) entries, typed lookups that say
 * which line is wrong, and noticing keys nobody asked for. Does not own: what keys exist or
 * their defaults (the gateway's config module). */
#ifndef CG_UTIL_CONF_H
#define CG_UTIL_CONF_H

#include <stddef.h>

#include "util/err.h"

typedef struct cg_conf_entry {
    char *key;   /* "section.key" ("key" before any section) */
    char *value; /* trimmed; surrounding double quotes removed */
    int line;
    int used;
} cg_conf_entry;

typedef struct cg_conf {
    char *origin;
    cg_conf_entry *v;
    size_t n, cap;
} cg_conf;

void cg_conf_init(cg_conf *conf);
void cg_conf_dispose(cg_conf *conf);
/* Parses text ('#' and ';' start comments). CG_EINVAL names the line. A key given twice is an
 * error: a configuration must say one thing. */
int cg_conf_parse(cg_conf *conf, const char *text, const char *origin, cg_err *err);
int cg_conf_load(cg_conf *conf, const char *path, cg_err *err);
/* Sets a value (command-line options override the file). */
void cg_conf_set(cg_conf *conf, const char *key, const char *value);

/* Lookups leave *out unchanged when the key is absent and return CG_OK; a present but invalid
 * value returns CG_EINVAL naming origin, line and key. */
int cg_conf_string(const cg_conf *conf, const char *key, const char **out);
int cg_conf_bool(const cg_conf *conf, const char *key, int *out, cg_err *err);
int cg_conf_size(const cg_conf *conf, const char *key, size_t min, size_t max, size_t *out,
                 cg_err *err); /* accepts K, M, G suffixes (1024-based) */
int cg_conf_uint(const cg_conf *conf, const char *key, unsigned min, unsigned max, unsigned *out,
                 cg_err *err);
/* CG_EINVAL naming the first key no lookup has asked for (a typo must not pass silently). */
int cg_conf_check_unused(const cg_conf *conf, cg_err *err);

#endif
