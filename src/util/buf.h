/* buf: a growable byte buffer with a hard size cap.
 * Owns: appending text and bytes up to `max`, always NUL-terminated. Does not own: encoding or
 * escaping (callers escape before appending). */
#ifndef CG_UTIL_BUF_H
#define CG_UTIL_BUF_H

#include <stddef.h>

typedef struct cg_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* CG_ETOOBIG past this many bytes */
} cg_buf;

void cg_buf_init(cg_buf *buf, size_t max);
void cg_buf_dispose(cg_buf *buf);
void cg_buf_reset(cg_buf *buf);
int cg_buf_append(cg_buf *buf, const void *data, size_t len);
int cg_buf_puts(cg_buf *buf, const char *s);
int cg_buf_putc(cg_buf *buf, char c);
int cg_buf_printf(cg_buf *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the bytes to the caller (free with free()) and leaves the buffer empty. */
char *cg_buf_detach(cg_buf *buf);

#endif
