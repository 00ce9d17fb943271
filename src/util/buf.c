/* buf: see buf.h. */
#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/err.h"

void
cg_buf_init(cg_buf *buf, size_t max)
{
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
    buf->max = max;
}

void
cg_buf_dispose(cg_buf *buf)
{
    free(buf->data);
    cg_buf_init(buf, buf->max);
}

void
cg_buf_reset(cg_buf *buf)
{
    buf->len = 0;
    if (buf->data)
        buf->data[0] = '\0';
}

int
cg_buf_append(cg_buf *buf, const void *data, size_t len)
{
    if (len > buf->max || buf->len > buf->max - len)
        return CG_ETOOBIG;
    if (buf->len + len + 1 > buf->cap)
        buf->data = cg_xgrow(buf->data, &buf->cap, buf->len + len + 1, 1);
    if (len)
        memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
    return CG_OK;
}

int
cg_buf_puts(cg_buf *buf, const char *s)
{
    return cg_buf_append(buf, s, strlen(s));
}

int
cg_buf_putc(cg_buf *buf, char c)
{
    return cg_buf_append(buf, &c, 1);
}

int
cg_buf_printf(cg_buf *buf, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return CG_EINVAL;
    if ((size_t)n < sizeof small)
        return cg_buf_append(buf, small, (size_t)n);
    char *big = cg_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = cg_buf_append(buf, big, (size_t)n);
    free(big);
    return rc;
}

char *
cg_buf_detach(cg_buf *buf)
{
    char *p = buf->data ? buf->data : cg_xstrdup("");
    cg_buf_init(buf, buf->max);
    return p;
}
