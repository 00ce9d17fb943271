/* errlist: the IHE errors and warnings one request collects (see errlist.h). */
#include "ebrim/errlist.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void cg_errlist_init(cg_errlist *list, cg_pool *pool)
{
    memset(list, 0, sizeof(*list));
    list->pool = pool;
}

void cg_errlist_add(cg_errlist *list, cg_ihe_severity sev, const char *code, const char *location,
                    const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    list->items = cg_pool_grow(list->pool, list->items, &list->cap, list->count + 1,
                               sizeof(*list->items));
    cg_ihe_error *e = &list->items[list->count++];
    e->severity = sev;
    e->code = code;
    e->context = cg_pool_strdup(list->pool, msg);
    e->location = cg_pool_strdup(list->pool, location);
    if (sev == CG_IHE_ERROR)
        list->errors++;
}

int cg_errlist_has_code(const cg_errlist *list, const char *code)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i].code, code) == 0)
            return 1;
    return 0;
}

const char *cg_errlist_status(const cg_errlist *list, int some_succeeded)
{
    if (list->errors == 0)
        return CG_RS_SUCCESS;
    return some_succeeded ? CG_RS_PARTIAL : CG_RS_FAILURE;
}
