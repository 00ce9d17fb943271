/* alloc: the one place that calls the C allocator.
 * Owns: allocation with abort-on-exhaustion (cdagate is a supervised service; running out of
 * memory ends the process with one clear message). Does not own: object lifetimes or pools. */
#ifndef CG_UTIL_ALLOC_H
#define CG_UTIL_ALLOC_H

#include <stddef.h>

void *cg_xmalloc(size_t size);
void *cg_xcalloc(size_t count, size_t size);
void *cg_xrealloc(void *ptr, size_t size);
/* Grows an array of `count` elements of `size` bytes to hold at least `need` elements. */
void *cg_xgrow(void *ptr, size_t *cap, size_t need, size_t size);
char *cg_xstrdup(const char *s);
char *cg_xstrndup(const char *s, size_t n);
char *cg_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
