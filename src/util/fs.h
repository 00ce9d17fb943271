/* fs: bounded file reads, durable atomic writes, directory creation.
 * Owns: every filesystem call the library makes for its own files. Does not own: the store's
 * database files (the store module) or network I/O. */
#ifndef CG_UTIL_FS_H
#define CG_UTIL_FS_H

#include <stddef.h>

#include "util/err.h"

/* Reads a whole file of at most `max` bytes; *out is NUL-terminated, free() it. */
int cg_fs_read(char **out, size_t *out_len, const char *path, size_t max, cg_err *err);
/* Writes through a temporary file, fsync and rename: readers see the old or the new file. */
int cg_fs_write_atomic(const char *path, const void *data, size_t len, cg_err *err);
/* mkdir -p with mode 0755. */
int cg_fs_mkdirs(const char *path, cg_err *err);
int cg_fs_is_dir(const char *path);
int cg_fs_is_file(const char *path);
/* Copies src to dst (atomically, durably). */
int cg_fs_copy(const char *src, const char *dst, size_t max, cg_err *err);
/* Removes a directory tree (used to replace an installed profile). */
int cg_fs_remove_tree(const char *path, cg_err *err);
/* Joins two path parts with one '/'; free() the result. */
char *cg_fs_join(const char *a, const char *b);

#endif
