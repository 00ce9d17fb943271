/* str: small helpers over C strings.
 * Owns: ordering arrays of string pointers (the comparator qsort and bsearch take). Does not own:
 * what the strings mean or who frees them. */
#ifndef CG_UTIL_STR_H
#define CG_UTIL_STR_H

/* strcmp of two elements of an array of `const char *`: a qsort and bsearch comparator. */
int cg_str_ptr_cmp(const void *a, const void *b);

#endif
