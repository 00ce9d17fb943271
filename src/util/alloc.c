/* alloc: see alloc.h. */
#include "util/alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
out_of_memory(size_t size)
{
    fprintf(stderr, "cdagate: out of memory (allocating %zu bytes); exiting\n", size);
    abort();
}

void *
cg_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (p == NULL)
        out_of_memory(size);
    return p;
}

void *
cg_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p == NULL)
        out_of_memory(count * size);
    return p;
}

void *
cg_xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (p == NULL)
        out_of_memory(size);
    return p;
}

void *
cg_xgrow(void *ptr, size_t *cap, size_t need, size_t size)
{
    size_t n = *cap ? *cap : 8;
    if (need <= *cap)
        return ptr;
    while (n < need) {
        if (n > ((size_t)-1) / 2 / size)
            out_of_memory((size_t)-1);
        n *= 2;
    }
    ptr = cg_xrealloc(ptr, n * size);
    *cap = n;
    return ptr;
}

char *
cg_xstrdup(const char *s)
{
    return cg_xstrndup(s, strlen(s));
}

char *
cg_xstrndup(const char *s, size_t n)
{
    char *p = cg_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *
cg_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        out_of_memory(0);
    char *p = cg_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}
