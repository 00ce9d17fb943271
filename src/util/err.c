/* err: see err.h. */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>

void
cg_err_init(cg_err *err)
{
    err->code = CG_OK;
    err->msg[0] = '\0';
}

int
cg_err_set(cg_err *err, int code, const char *fmt, ...)
{
    if (err == NULL || err->msg[0] != '\0')
        return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

const char *
cg_err_name(int code)
{
    switch (code) {
    case CG_OK: return "ok";
    case CG_EINVAL: return "invalid input";
    case CG_EIO: return "I/O error";
    case CG_ETOOBIG: return "limit exceeded";
    case CG_ENOTFOUND: return "not found";
    case CG_EUNSAFE: return "unsafe input refused";
    case CG_EINTEGRITY: return "checksum mismatch";
    default: return "unknown error";
    }
}
