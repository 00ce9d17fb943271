/* str: small helpers over C strings (see str.h). */
#include "util/str.h"

#include <string.h>

int
cg_str_ptr_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}
