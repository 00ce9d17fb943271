/* pool: a per-request arena with cleanup hooks (see pool.h). */
#define _POSIX_C_SOURCE 200809L
#include "util/pool.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

typedef struct pool_block {
    struct pool_block *next;
    size_t size;
    size_t used;
    _Alignas(16) unsigned char data[];
} pool_block;

typedef struct pool_hook {
    struct pool_hook *next;
    cg_pool_cleanup_fn fn;
    void *data;
} pool_hook;

struct cg_pool {
    pool_block *blocks; /* newest first; the last one is the first block */
    pool_hook *hooks;   /* newest first */
    size_t block_size;
    size_t used;
};

static pool_block *pool_block_new(size_t size)
{
    pool_block *b = cg_xmalloc(sizeof(*b) + size);
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

cg_pool *cg_pool_new(size_t block_size)
{
    cg_pool *pool = cg_xcalloc(1, sizeof(*pool));
    pool->block_size = block_size < 1024 ? 1024 : block_size;
    pool->blocks = pool_block_new(pool->block_size);
    return pool;
}

static void pool_run_hooks(cg_pool *pool)
{
    while (pool->hooks) {
        pool_hook *h = pool->hooks;
        pool->hooks = h->next; /* a hook may not register hooks, but unlink first anyway */
        h->fn(h->data);
    }
}

void cg_pool_reset(cg_pool *pool)
{
    pool_run_hooks(pool);
    pool_block *b = pool->blocks;
    while (b->next) {
        pool_block *next = b->next;
        free(b);
        b = next;
    }
    b->used = 0;
    pool->blocks = b;
    pool->used = 0;
}

void cg_pool_free(cg_pool *pool)
{
    if (!pool)
        return;
    cg_pool_reset(pool);
    free(pool->blocks);
    free(pool);
}

void *cg_pool_alloc(cg_pool *pool, size_t size)
{
    size_t need = (size + 15u) & ~(size_t)15u;
    if (need < size)
        abort(); /* overflow: a programming error, sizes are bounded long before this */
    pool_block *b = pool->blocks;
    if (b->size - b->used < need) {
        if (need > pool->block_size / 4) {
            /* a large object gets a block of its own, behind the current one */
            pool_block *big = pool_block_new(need);
            big->used = need;
            big->next = b->next;
            b->next = big;
            pool->used += need;
            return big->data;
        }
        b = pool_block_new(pool->block_size);
        b->next = pool->blocks;
        pool->blocks = b;
    }
    void *p = b->data + b->used;
    b->used += need;
    pool->used += need;
    return p;
}

void *cg_pool_calloc(cg_pool *pool, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        abort();
    void *p = cg_pool_alloc(pool, count * size);
    memset(p, 0, count * size);
    return p;
}

char *cg_pool_strndup(cg_pool *pool, const char *s, size_t n)
{
    if (!s)
        return NULL;
    size_t len = strnlen(s, n);
    char *p = cg_pool_alloc(pool, len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *cg_pool_strdup(cg_pool *pool, const char *s)
{
    return s ? cg_pool_strndup(pool, s, strlen(s)) : NULL;
}

char *cg_pool_printf(cg_pool *pool, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    char *p = cg_pool_alloc(pool, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void *cg_pool_grow(cg_pool *pool, void *ptr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return ptr;
    size_t ncap = *cap ? *cap * 2 : 8;
    while (ncap < need)
        ncap *= 2;
    void *p = cg_pool_calloc(pool, ncap, size);
    if (ptr && *cap)
        memcpy(p, ptr, *cap * size);
    *cap = ncap;
    return p;
}

void cg_pool_cleanup(cg_pool *pool, cg_pool_cleanup_fn fn, void *data)
{
    pool_hook *h = cg_pool_alloc(pool, sizeof(*h));
    h->fn = fn;
    h->data = data;
    h->next = pool->hooks;
    pool->hooks = h;
}

size_t cg_pool_used(const cg_pool *pool)
{
    return pool->used;
}
