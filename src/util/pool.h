/* pool: a per-request arena with cleanup hooks.
 * Owns: memory that lives exactly as long as one request (strings, small structs, parsed values)
 * and the callbacks that release outside resources (libxml2 documents) with it. Does not own:
 * objects that outlive the request (configuration, compiled artefacts, store handles). */
#ifndef CG_UTIL_POOL_H
#define CG_UTIL_POOL_H

#include <stddef.h>

typedef struct cg_pool cg_pool;
typedef void (*cg_pool_cleanup_fn)(void *data);

cg_pool *cg_pool_new(size_t block_size);
/* Runs the cleanups (last registered first), then frees every block. NULL is allowed. */
void cg_pool_free(cg_pool *pool);
/* Runs the cleanups and keeps the first block for reuse (a keep-alive connection's next request). */
void cg_pool_reset(cg_pool *pool);

void *cg_pool_alloc(cg_pool *pool, size_t size);  /* 16-byte aligned, uninitialised */
void *cg_pool_calloc(cg_pool *pool, size_t count, size_t size);
char *cg_pool_strdup(cg_pool *pool, const char *s); /* NULL stays NULL */
char *cg_pool_strndup(cg_pool *pool, const char *s, size_t n);
char *cg_pool_printf(cg_pool *pool, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Grows a pool array (the old storage stays in the pool until the pool dies). */
void *cg_pool_grow(cg_pool *pool, void *ptr, size_t *cap, size_t need, size_t size);
void cg_pool_cleanup(cg_pool *pool, cg_pool_cleanup_fn fn, void *data);
/* Bytes handed out so far (for limits and metrics). */
size_t cg_pool_used(const cg_pool *pool);

#endif
