/* profile: validation profiles: a named set of third-party files (CDA schema, Schematron, value
 * sets) checked against a manifest we write, installed under a profile directory, with the
 * Schematron compiled once and cached by the hash of its inputs.
 * Owns: manifests, install, list, open (verify, load XSD, load or build the compiled Schematron).
 * Does not own: running checks on documents (validator.c). */
#ifndef CG_VALIDATE_PROFILE_H
#define CG_VALIDATE_PROFILE_H

#include <stdio.h>

#include "util/err.h"
#include "validate/schematron.h"
#include "validate/xsd.h"

#define CG_PROFILE_DEFAULT "ccda-r2.1"

typedef struct cg_manifest_file {
    char *path;   /* relative, no "..", no leading '/' */
    char sha256[65];
} cg_manifest_file;

typedef struct cg_manifest {
    char *name;
    char *title;
    char *root_ns, *root_name; /* the document element the profile validates */
    char *xsd;                 /* relative path of the XSD entry point, or NULL */
    char *schematron;          /* relative path of the .sch, or NULL */
    char **phase_severity;     /* NULL-terminated pairs: phase id, severity */
    size_t nphases;
    cg_manifest_file *files;
    size_t nfiles, cap;
} cg_manifest;

int cg_manifest_parse(cg_manifest *out, const char *text, const char *origin, cg_err *err);
int cg_manifest_load(cg_manifest *out, const char *path, cg_err *err);
void cg_manifest_dispose(cg_manifest *m);
/* The hash that names the compiled Schematron: compiler version, the manifest's file hashes,
 * and the phase severities. */
void cg_manifest_cache_key(const cg_manifest *m, char out[65]);

/* Where profiles live: the argument if given, else $CDAGATE_PROFILE_DIR, else the built-in
 * $(localstatedir)/lib/cdagate/profiles. */
const char *cg_profile_dir(const char *arg);
/* Finds the manifest we ship for a profile name: $CDAGATE_MANIFEST_DIR, the installed data
 * directory, then the source tree. Returns a path to free(), or NULL. */
char *cg_profile_find_manifest(const char *name);

typedef struct cg_install_stats {
    size_t files;
    unsigned long long bytes;
    cg_sch_stats sch;
    double compile_seconds;
} cg_install_stats;

/* Verifies every file under from_dir against the manifest, then installs atomically: on any
 * failure nothing changes in the profile directory. */
int cg_profile_install(const char *profile_dir, const char *manifest_path, const char *from_dir,
                       cg_install_stats *stats, cg_err *err);
/* Writes one line per installed profile. Returns the number listed. */
int cg_profile_list(FILE *out, const char *profile_dir, cg_err *err);

typedef struct cg_profile {
    cg_manifest manifest;
    char *dir;
    cg_xsd *xsd;
    cg_schematron *schematron;
    int compiled_now; /* 1 when the cache was empty and the Schematron was compiled by this open */
} cg_profile;

/* Opens an installed profile: checks file hashes, loads the XSD, loads the cached compiled
 * Schematron (compiling and caching it when absent). CG_ENOTFOUND when not installed. */
int cg_profile_open(cg_profile **out, const char *profile_dir, const char *name, cg_err *err);
void cg_profile_free(cg_profile *p);

#endif
