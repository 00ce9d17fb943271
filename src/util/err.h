/* err: cdagate's status codes and the per-call error record.
 * Owns: the stable numeric codes every function returns and the message a failing call leaves
 * for its caller. Does not own: IHE error codes in responses (the request's error list). */
#ifndef CG_UTIL_ERR_H
#define CG_UTIL_ERR_H

#include <stddef.h>

/* Stable codes: never renumber, only append. */
enum {
    CG_OK = 0,
    CG_EINVAL = -1,    /* the input is not acceptable (bad XML, bad manifest, bad argument) */
    CG_EIO = -2,       /* a file or socket operation failed */
    CG_ETOOBIG = -3,   /* a configured size or depth limit was exceeded */
    CG_ENOTFOUND = -4, /* a named thing does not exist */
    CG_EUNSAFE = -5,   /* input refused for safety (DTD entities, external references) */
    CG_EINTEGRITY = -6 /* a checksum did not match */
};

/* What a failing call says. Callers own it (usually on their stack); callees fill it once:
 * cg_err_set does not overwrite a message that is already set. */
typedef struct cg_err {
    int code;
    char msg[1024];
} cg_err;

void cg_err_init(cg_err *err);
/* Sets code and message (printf-style) unless a message is already there; returns `code`. */
int cg_err_set(cg_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *cg_err_name(int code);

#endif
